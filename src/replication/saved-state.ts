// SavedState: a node's CRDT state, saved in its RDB file with its keys and read back when it
// starts from that file.
//
// The state — each key's writes with their stamps, what its removals removed (floors, so
// tombstones of deleted keys too), counters' per-node totals and reset points — used to live
// in memory only. A node restarted from its file then held keys with no history, and when every
// node restarted at once none could tell "deleted" from "never seen": each sent the others the
// keys they lacked, so a deletion that had not reached a node before the stop came back from
// that node's file (issue #7's KeyDB failure mode), and counts made on two nodes were one
// node's value. Now the state of the file's moment is in the file: a tombstone comes back with
// its node and removes what it removed, a counter comes back as per-node totals.
//
// In the file: aux fields CRDT_AUX after the keys (rdb-file.ts crdtStateHook), each one
// FORMAT, a time (f64; see PendingStates, else 0), then a batch of (db:key, state) as the bus
// sends them (store.ts encodeBatch), a slot range's keys per field. SAVE encodes the store in the same synchronous pass as the keys; a
// BGSAVE takes a copy-on-write snapshot of the store in the turn the keyspace's snapshot starts
// (store.ts Snapshot, as an anti-entropy answer does) and encodes it after the keys, a range at
// a time. Loading at start-up keeps the states aside (takeLoadedStates); loaded-keys.ts joins
// them once the node knows its file does not predate a removal its peers collected.
//
// An AOF carries the same pieces (src/persistence/aof-crdt.ts): its RDB preamble as these aux
// fields, its incr files one piece per batch of CRDT writes after their commands (filePieces),
// read back in file order and joined per key as the RDB's are. Two marks go there too, as
// pieces with no key: a restarted node whose file's states wait for its peers marks the file
// as old as it was when loaded (its later writes append to it, which makes it look newer),
// and once those states are joined, a mark that the file is as new as it looks again.
import type { Server } from "../server/server.js";
import { SLOTS, type CrdtStore, type Snapshot, decodeBatch, encodeBatch } from "./store.js";
import type { KeyState } from "./key-state.js";
import { joinInto } from "./key-state.js";
import { Writer, writeKeyState } from "./codec.js";
import { log } from "../server/log.js";

/** The first byte of every aux value: the layout of what follows. */
const FORMAT = 1;
/** Keys per aux value of a SAVE (and of the pending states of a BGSAVE). */
const SAVE_PIECE_KEYS = 4096;

/**
 * States a restarted node loaded from its file and has not joined yet (loaded-keys.ts waits
 * for its peers' states first), with that file's time. A save meanwhile writes them as they
 * are, with `since`: the next start treats its file as that old (what these states say is of
 * then), and a node restarted again before its peers answered still has them.
 */
export interface PendingStates { since: number; states: Map<string, KeyState> }

/** What a start-up load read: the states (joined per key) and the oldest `since` among them (0: none). */
export interface LoadedStates { since: number; states: Map<string, KeyState> }

function piece(batch: Buffer, since = 0): Buffer {
  const head = Buffer.alloc(9);
  head[0] = FORMAT;
  head.writeDoubleLE(since, 1);
  return Buffer.concat([head, batch]);
}

/** piece(encodeBatch(...)) of SAVE_PIECE_KEYS entries at a time, each written once into its piece. */
function pieces(entries: Iterable<[string, KeyState]>, since: number, out: Buffer[]): Buffer[] {
  let w: Writer | undefined;
  let n = 0;
  for (const [k, s] of entries) {
    if (!w) { w = new Writer(SAVE_PIECE_KEYS * 160); w.u8(FORMAT); w.f64(since); w.u32(0); n = 0; }
    w.str(k);
    writeKeyState(w, s);
    if (++n === SAVE_PIECE_KEYS) { w.patchU32(9, n); out.push(w.done()); w = undefined; }
  }
  if (w) { w.patchU32(9, n); out.push(w.done()); }
  return out;
}

/** SAVE: every key's state now, and the pending ones, SAVE_PIECE_KEYS per piece. */
export function savedStateNow(store: CrdtStore, pending?: PendingStates): Buffer[] {
  const out = pieces(store.keys, 0, []);
  return pending ? pieces(pending.states, pending.since, out) : out;
}

/**
 * Slots per piece of a BGSAVE: what one next() encodes in one go (~1,000 keys at 1M keys), so
 * a slice of the save's encoding stays short however large the store.
 */
const SLOTS_PER_PIECE = 16;
/** Pending states per piece of a BGSAVE, likewise. */
const CURSOR_PENDING_KEYS = 1024;

/**
 * BGSAVE: the store's state when made, SLOTS_PER_PIECE slots per next(), then the pending
 * states of that moment (null at the end).
 */
export class SavedStateCursor {
  private slot = 0;
  private snap: Snapshot | null;
  /** (a copy of the map: loaded-keys.ts drops entries as it joins or a client writes) */
  private readonly pending?: { since: number; entries: [string, KeyState][] };

  constructor(private readonly store: CrdtStore, pending?: PendingStates) {
    this.snap = store.snapshot([0], 1); // (one range: every slot)
    if (pending) this.pending = { since: pending.since, entries: [...pending.states] };
  }

  next(): Buffer | null {
    while (this.snap && this.slot < SLOTS) {
      const slots = Array.from({ length: SLOTS_PER_PIECE }, (_, i) => this.slot + i);
      this.slot += SLOTS_PER_PIECE;
      const batch = this.store.encodeSnapshot(this.snap, slots, SLOTS);
      if (batch.readUInt32LE(0) > 0) return piece(batch);
    }
    const p = this.pending;
    if (p && p.entries.length) return piece(encodeBatch(p.entries.splice(0, CURSOR_PENDING_KEYS)), p.since);
    this.release();
    return null;
  }

  /** Stops keeping copies of changed keys for it (the save ended or was aborted). */
  release(): void {
    if (this.snap) this.store.release(this.snap);
    this.snap = null;
  }
}

/**
 * The AOF's pieces for what Replicator.takeFile gave: the batch, then each mark (an empty
 * batch with the mark as its time; -1: the states before it were joined, the file is as new
 * as it looks).
 */
export function filePieces(taken: { batch: Buffer | null; marks: number[] } | null): Buffer[] {
  if (!taken) return [];
  const out = taken.batch ? [piece(taken.batch)] : [];
  for (const since of taken.marks) out.push(piece(encodeBatch([]), since));
  return out;
}

/** States read from the file at start-up, per server, until loaded-keys.ts takes them. */
const loaded = new WeakMap<Server, LoadedStates>();

/** One CRDT_AUX value of the file being loaded; a value it cannot read is left out, with a warning (those keys load as from a file without state). */
export function keepLoadedState(server: Server, value: Buffer): void {
  let entries: [string, KeyState][];
  let since: number;
  try {
    if (value[0] !== FORMAT) throw new Error(`format ${value[0]}`);
    since = value.readDoubleLE(1);
    entries = decodeBatch(value.subarray(9));
  } catch (e) {
    log("warning", `CRDT: left out a part of the replication state in the RDB file that this version cannot read (${(e as Error).message})`);
    return;
  }
  let l = loaded.get(server);
  if (!l) loaded.set(server, (l = { since: 0, states: new Map() }));
  if (since > 0 && (l.since === 0 || since < l.since)) l.since = since;
  else if (since < 0) l.since = 0; // (an AOF's mark: what came before was joined, see filePieces)
  const m = l.states;
  for (const [k, s] of entries) {
    const cur = m.get(k);
    if (cur) joinInto(cur, s);
    else m.set(k, s);
  }
}

/** The states the start-up load read (and forgets them here). */
export function takeLoadedStates(server: Server): LoadedStates {
  const l = loaded.get(server) ?? { since: 0, states: new Map<string, KeyState>() };
  loaded.delete(server);
  return l;
}
