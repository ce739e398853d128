// CrdtStore: the replicated state of every key (db + key -> KeyState), with a digest per
// slot range for anti-entropy. A range's digest is the XOR of its keys' hashes (a key's
// hash covers its name and its canonical encoding), kept current on every join, so
// comparing two replicas costs one vector of range digests and only the ranges that
// differ are exchanged.
//
// Ranges come in two sizes, chosen per round by the node that starts it (Gossip): 256
// ranges of 64 slots, or one range per slot. A round sends every key of every range that
// differs, so a range's size is what a round costs per differing key: while a write flood
// goes on, the writes still in flight on the delta stream make ranges differ at every round,
// and with 256 ranges nearly all of them differed in a large store, so each round sent the
// whole store both ways (a 180k-key SET flood: 80% of both nodes' CPU in anti-entropy, ~1 ms
// of CPU per write). Per slot, a round sends the in-flight keys' slots only (~11 keys per
// slot at 180k keys), but its digest vector is 128 KiB, which small stores (and the
// simulator's thousands of rounds) need not pay. Both vectors are kept current (a coarse
// range's digest is the XOR of its slots').
//
// What a digest compares: a key's whole state, its removal metadata (floors, counter reset
// points, list tombstones) included. That metadata is not visible to clients, but it is what
// convergence needs: a floor is what makes a replica drop a removed write arriving late, and a
// round that finds two states equal is how a node learns that the peer holds all its writes
// and removals — the stability that tombstone collection rests on (gc.ts). So equal digests
// must mean equal states, and the one thing nodes change in their states on their own schedule,
// garbage collection, must be done alike on both sides of a comparison: a DIGEST carries the
// collection stability its sender collected with, and the peer takes it over and collects
// with it before it answers a digest that differs (gossip.ts learnGcStable, answerDigest).
// Before, a node collected whenever its own grace period for a fact ran out, counted from
// when it heard of it; the other side of a heal (or a node that lists no peer and never
// collected) kept the metadata, and every round sent every range it touched both ways.
import { hash } from "node:crypto";
import { keySlotLatin1 } from "../server/router.js";
import { encodeKeyState, Reader, Writer, readKeyState, writeKeyState } from "./codec.js";
import { joinInto, isBlank, type KeyState } from "./key-state.js";
import { EMPTY, emptyStored, shrink, unshareFor, type StoredState } from "./compact-state.js";
// (saved-state.ts imports this module too: only functions called later cross the cycle)
import { numberedNode, readEntry, writeEntry, type NodeNumbers } from "./saved-state.js";
import type { OrRegister } from "./or-register.js";
import { gcKeyState, hasTombstoneMeta, isDead, metaNodes, removalStamps, tombstones, unstableIn, type Acker, type Stable } from "./gc.js";

/** Whether gc.ts tombstones(s) is 0 without counting: a value (not dead), no list elements, members or fields. */
function holdsNoTombstone(s: KeyState): boolean {
  return (s.str.entries.size !== 0 || s.cnt.size !== 0) && s.list.elems.size === 0 && s.set.size === 0 && s.hash.size === 0 && s.zset.size === 0;
}

/** Slots, the finest anti-entropy ranges. */
export const SLOTS = 16384;
/** The coarse range count (64 slots per range). */
export const COARSE_RANGES = 256;

const SLOTS_PER_COARSE = SLOTS / COARSE_RANGES;

/** Whether a peer's message names one of the two range counts. */
export function validRangeCount(n: number): boolean {
  return n === COARSE_RANGES || n === SLOTS;
}

export function dbKey(db: number, key: Buffer): string {
  return `${db}:${key.toString("latin1")}`;
}

export function splitDbKey(k: string): { db: number; key: Buffer } {
  const i = k.indexOf(":");
  return { db: Number(k.slice(0, i)), key: Buffer.from(k.slice(i + 1), "latin1") };
}

export function slotOf(k: string): number {
  // (from the string: a Buffer made per call, as splitDbKey makes, was ~340 bytes allocated per SET)
  return keySlotLatin1(k, k.indexOf(":") + 1);
}

/** What hashInto hashes (the key's name, then its state's encoding), in one reused buffer. */
const scratch = new Writer();

/**
 * A stable key's state as the store keeps it (CrdtStore.pack): its hash (hlo, hhi: 8 bytes,
 * little-endian int32), then the state as a SAVE's pieces write an entry (saved-state.ts
 * writeEntry: a tag, node ids as numbers, here into the store's table, PackNodes, and a string's,
 * counter's or members' parts alone), as one latin1 string. A state object with its registers,
 * OneEntry maps, timestamps and value Buffers was ~500 bytes of heap for a string key and ~680
 * per hash field; the bus's encoding names each node in full (17+ bytes: name~incarnation) per
 * register, and counts every empty part.
 */
export type PackedState = string;

/**
 * The node ids a store's packed states name, numbered in the order first packed and never
 * removed (a node names a few incarnations); the numbers are u16: past 65,536 ids writeEntry
 * fails and the state goes in the bus's encoding (writePacked).
 */
export class PackNodes implements NodeNumbers {
  readonly ids = new Map<string, number>();
  readonly list: string[] = [];
  of(id: string): number {
    let i = this.ids.get(id);
    if (i === undefined) { this.ids.set(id, (i = this.list.length)); this.list.push(id); }
    return i;
  }
}

/** Writes a packed state's entry (after its hash; file-states.ts: after its table's number) into w. */
export function writePacked(w: Writer, s: KeyState, nodes: PackNodes): void {
  const at = w.length;
  try {
    writeEntry(w, s, nodes);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    w.truncate(at); // (a node number past u16: the bus's encoding, tag OTHER)
    w.u8(0);
    writeKeyState(w, s);
  }
}

/**
 * The state a PackedState holds, as read (readEntry's compact parts), for a reader alone: SAVE,
 * a snapshot, a hash (~0.4 us a string key against unpackState's ~1.5-2: a SAVE of a node whose
 * keys wait packed decodes every one). Nothing may write into it.
 */
function readPacked(p: PackedState, nodes: PackNodes): KeyState {
  const r = new Reader(Buffer.from(p, "latin1"));
  r.pos = 8;
  return readEntry(r, numberedNode(r, nodes.list));
}

/**
 * The state a PackedState holds, in the store's form (compact-state.ts shrink; members'
 * registers with maps of their own, as the store's joins make them: unshareFor gives only the
 * state's own parts theirs), hashed.
 */
function unpackState(p: PackedState, nodes: PackNodes): StoredState {
  const b = Buffer.from(p, "latin1");
  const r = new Reader(b);
  r.pos = 8;
  const d = readEntry(r, numberedNode(r, nodes.list));
  const s = emptyStored();
  s.floor = d.floor; s.str = d.str; s.cnt = d.cnt; s.cntBase = d.cntBase; s.list = d.list; s.set = d.set;
  s.hash = d.hash; s.hcnt = d.hcnt; s.zset = d.zset; s.zcnt = d.zcnt; s.ttl = d.ttl;
  for (const kind of ["set", "hash", "zset"] as const) {
    for (const reg of (s[kind] as Map<string, OrRegister<unknown>>).values()) {
      if (!(reg.entries instanceof Map) || reg.entries === EMPTY) reg.entries = new Map(reg.entries);
      if (!(reg.floor instanceof Map) || reg.floor === EMPTY) reg.floor = new Map(reg.floor);
    }
  }
  shrink(s);
  s.hashed = true;
  s.hlo = b.readInt32LE(0);
  s.hhi = b.readInt32LE(4);
  return s;
}

/** Sets s.hlo/s.hhi to the key's hash (the first 8 bytes of SHA-1 of its name and state). */
function hashInto(k: string, s: StoredState): void {
  // (one-shot crypto.hash over one buffer: a Hash object and a 256-byte buffer per key were
  // most of a key's hashing, and a walk or a full copy hashes every key)
  scratch.reset();
  scratch.latin1(k);
  writeKeyState(scratch, s);
  const h = hash("sha1", scratch.done(), "buffer");
  s.hlo = h.readInt32LE(0); // (int32: small integers inline in the object; XOR folds the same bits)
  s.hhi = h.readInt32LE(4);
}

/**
 * The states of some ranges as they were when it was taken, encoded a chunk at a time over
 * several event-loop turns (gossip.ts sends a large anti-entropy answer in slices, so
 * clients are served between them). An answer must be one moment's state: its chunks are
 * joined together on arrival so that nobody sees a node's write without the writes it had
 * seen before it (gossip.ts, causal delivery), and chunks read at different moments could
 * hold a later write to one key without the earlier write to another. So until its slot is
 * encoded, a key about to change keeps its state of that moment here (CrdtStore.preserve):
 * copy on write, paid only for keys written while an answer is under way.
 */
export class Snapshot {
  /** Per slot: 1 while it belongs to the snapshot and is not yet encoded. */
  readonly waiting = new Uint8Array(SLOTS);
  /** Per waiting slot: its keys that changed since, as they were (encoded state; null: absent then). */
  readonly before = new Map<number, Map<string, Buffer | null>>();
}

/** Candidate keys a sweep goes over between two looks at its slice's time (CrdtStore.sweepSome). */
const GC_CHUNK = 64;

/** Parked GC candidates are grouped by their blocking stamp in slices of this many ticks (~1 s: hlc.ts). */
const PARK_SLICE = 1 << 20;

export class CrdtStore {
  /**
   * The states, kept small (compact-state.ts): their empty maps are one shared map, so only
   * join and collectGarbage here may write into them (unshareFor first).
   */
  readonly keys = new Map<string, StoredState | PackedState>();
  /** Per slot: [lo, hi] XOR of its keys' hashes. */
  private readonly digestVec = new Uint32Array(SLOTS * 2);
  /** Per coarse range: the same, over its 64 slots. */
  private readonly coarseVec = new Uint32Array(COARSE_RANGES * 2);
  /** Keys per slot (a slot's set is made when its first key comes: most are empty in small stores). */
  private readonly bySlot: (Set<string> | undefined)[] = new Array(SLOTS);

  /** The key's state (a packed one is unpacked: the caller is about to write the key, or has just). */
  get(k: string): StoredState | undefined {
    const v = this.keys.get(k);
    return typeof v === "string" ? this.unpack(k, v) : v;
  }

  /** The key's state without unpacking it in the store (tests, checks: a packed one is decoded for the caller alone). */
  peek(k: string): KeyState | undefined {
    const v = this.keys.get(k);
    return typeof v === "string" ? readPacked(v, this.packNodes) : v;
  }

  /**
   * Every key's state; a packed one decoded for the caller alone (it stays packed): SAVE, the
   * simulator's checker. Nothing may write into them.
   */
  *states(): Generator<[string, KeyState]> {
    for (const [k, v] of this.keys) yield [k, typeof v === "string" ? readPacked(v, this.packNodes) : v];
  }

  /** The node ids packed states name (PackNodes). */
  private readonly packNodes = new PackNodes();

  /** Keys packed and unpacked so far (INFO crdt_packed_keys: those packed now). */
  readonly packStats = { packed: 0, unpacked: 0, now: 0 };

  /**
   * Keeps a key's state packed (PackedState): the sweep that finds it holds nothing left to
   * collect (every replica holds its writes and removals), or waiting for a node's stability
   * (parked), calls this, so a key nobody writes any more costs its encoding's bytes. Its hash
   * goes with it: a key changed since it was hashed (dirty) is hashed first, or with `lazy`
   * (parkSome: while nothing is stable, most often while no peer's link is up, when gossip.ts
   * warmDigests hashes nothing) packed unhashed: its old hash leaves the digests now, and
   * rehash folds the new one in once a digest needs it (a packed dirty key's hash bytes mean
   * nothing). Hashing it here cost ~2.6 us of CPU per key for digests nobody asked for. Its
   * tombstones (a dead key's 1, removed members) are counted in packedTombs meanwhile.
   */
  private pack(k: string, s: StoredState, lazy = false): void {
    if (this.dirty.has(k)) {
      if (!lazy) { this.rehash(k); this.dirty.delete(k); }
      else if (s.hashed) { this.fold(slotOf(k), s.hlo, s.hhi); s.hashed = false; }
    }
    scratch.reset();
    scratch.u32(s.hlo >>> 0);
    scratch.u32(s.hhi >>> 0);
    writePacked(scratch, s, this.packNodes);
    this.keys.set(k, scratch.done().toString("latin1"));
    this.packStats.packed++;
    this.packStats.now++;
    const n = tombstones(s);
    this.packedTombs += n;
    this.tombsChanged(k, null); // (not counted among the unpacked any more)
  }

  /**
   * Unpacks a key's state in place (a write or a merge is about to change it); it is a garbage
   * collection candidate again, so the next sweep packs it once it is stable.
   */
  private unpack(k: string, p: PackedState): StoredState {
    const s = unpackState(p, this.packNodes);
    if (this.dirty.has(k)) s.hashed = false; // (packed unhashed: pack)
    this.keys.set(k, s);
    this.gcCandidates.add(k);
    this.packStats.unpacked++;
    this.packStats.now--;
    const n = tombstones(s);
    if (n) { this.packedTombs -= n; this.tombsChanged(k, s); }
    return s;
  }

  /** Keys changed since their hash was last folded into the digests (hashed lazily). */
  private readonly dirty = new Set<string>();
  /** Keys that became dirty so far (a count that only grows: gossip.ts warmDigests keeps up with it). */
  dirtied = 0;

  private markDirty(k: string): void {
    const n = this.dirty.size;
    this.dirty.add(k);
    if (this.dirty.size > n) this.dirtied++;
  }

  /** Joins d into the key's state; returns whether the state changed. */
  join(k: string, d: KeyState): boolean {
    if (this.snapshots.size) this.preserve(k, slotOf(k));
    let s = this.get(k);
    if (!s) {
      if (isBlank(d)) return false;
      s = emptyStored();
      this.keys.set(k, s);
      (this.bySlot[slotOf(k)] ??= new Set()).add(k);
    }
    unshareFor(s, d);
    const changed = joinInto(s, d);
    shrink(s);
    if (!changed) return false;
    this.markDirty(k);
    this.gcCandidates.add(k);
    this.tombsChanged(k, s);
    return true;
  }

  /**
   * Keys that may hold tombstones garbage collection has not yet collected (gc.ts), for the
   * next sweep to look at; with the parked ones below, every such key.
   */
  readonly gcCandidates = new Set<string>();
  /**
   * Candidate keys a sweep found with a key floor not stable, by the node whose component of
   * it is not (unstableIn) and that component's stamp, in slices of PARK_SLICE; `at`: that
   * node's stability when its slices were last looked at. gcKeyState collects nothing in
   * such a key until that node's stability passes the stamp, so a sweep looks at a slice
   * again only once the node's stability has risen past its start (or when told `full`).
   * Before, every sweep looked at every candidate: while a peer fell behind a burst of 1M
   * SETs, the writer's stability stalled, and every sweep (one per anti-entropy period) went
   * over every key written so far, and copied each into the snapshot of the anti-entropy
   * answer under way (preserve): 62-70% of both nodes' CPU. A key written again, or dropped,
   * while parked stays in its slice (looked at again, or skipped, when the slice is).
   */
  private readonly gcParked = new Map<string, { at: number; slices: Map<number, Set<string>> }>();
  /** keysVisited: keys a sweep looked at (the parked ones it passed over are not counted). */
  readonly gcStats = { keysDropped: 0, keysCollected: 0, sweeps: 0, keysVisited: 0, parkSweeps: 0 };

  /**
   * Keys whose collection waits (a later sweep takes them): a restarted node's file states not
   * joined yet (Replicator.holdSaved). Stability says every replica holds the writes of the
   * node's earlier incarnation, which is not so for the ones only its file's states hold: a
   * tombstone collected here before they are joined could no longer remove them.
   */
  gcHold?: { has(k: string): boolean };
  /** The stability the last sweep used; incoming states are filtered by it (Replicator.receive). */
  gcStable?: Stable;

  /**
   * One garbage-collection sweep over the candidate keys with stability `st`: collects what
   * is stable, forgets keys with nothing left. Invisible to clients (only dead metadata goes).
   * `holders` hears every node id named by the metadata that stays; `dropping` each key state
   * about to be forgotten; `ack` says whose counter reset points this node acknowledges (gc.ts
   * dropBases).
   */
  collectGarbage(st: Stable, holders?: (node: string) => void, dropping?: (s: KeyState) => void, ack?: Acker, full = true): void {
    this.beginSweep(st, full);
    this.sweepSome(st, holders, dropping, ack);
  }

  /**
   * The candidate keys the sweep under way goes over (a live iterator: sweepSome goes on where
   * it stopped), and how many of them are left: those of its start, not keys a write makes
   * candidates meanwhile (the next sweep's; a sweep that chased them packed keys as they were
   * written, and the next write unpacked them: 1M SETs with a peer cost 40 s of CPU instead of 26).
   */
  private sweepIt?: IterableIterator<string>;
  private sweepLeft = 0;

  /**
   * Starts a sweep (collectGarbage, in slices: sweepSome): its parked keys whose node's
   * stability rose are candidates again.
   */
  beginSweep(st: Stable, full = true): void {
    this.gcStats.sweeps++;
    this.gcStable = st;
    if (this.parkedUnstable) { full = true; this.parkedUnstable = false; }
    // parked keys whose node's stability rose past their slice (all of them when full) are looked at again
    for (const [n, b] of this.gcParked) {
      const at = st(n);
      if (!full && !(at > b.at)) continue;
      b.at = at;
      for (const [slice, keys] of b.slices) {
        if (!full && !(slice * PARK_SLICE < at)) continue;
        b.slices.delete(slice);
        for (const k of keys) this.gcCandidates.add(k);
      }
      if (b.slices.size === 0) this.gcParked.delete(n);
    }
    this.startCandidates();
  }

  /** The sweep under way goes over the candidates there are now (sweepIt, sweepLeft). */
  private startCandidates(): void {
    this.sweepIt = this.gcCandidates.values();
    this.sweepLeft = this.gcCandidates.size;
  }

  /**
   * The sweep's next candidate key (sweepSome, parkSome); undefined when the candidates of its
   * start are done, null when `enough` says the slice has had its share (asked every GC_CHUNK
   * keys: `seen` counts the keys this call has gone over).
   */
  private nextCandidate(seen: number, enough?: () => boolean): string | null | undefined {
    if (enough !== undefined && seen % GC_CHUNK === 0 && enough()) return null;
    const next = this.sweepLeft-- > 0 ? this.sweepIt!.next() : undefined;
    return next === undefined || next.done ? undefined : next.value;
  }

  /**
   * Goes over the sweep's candidate keys (beginSweep) with stability `st`, until they are done
   * (true) or `enough` says a slice has had its share (false: the next call goes on from there;
   * it is asked every GC_CHUNK keys). A sweep over the keys of a burst was one event-loop turn:
   * 1.8 s with no client answered after 1M SETs with a peer (gossip.ts sweeps in slices).
   */
  sweepSome(st: Stable, holders?: (node: string) => void, dropping?: (s: KeyState) => void, ack?: Acker, enough?: () => boolean): boolean {
    if (this.sweepIt === undefined) return true;
    for (let seen = 1; ; seen++) {
      const k = this.nextCandidate(seen, enough);
      if (k === null) return false;
      if (k === undefined) break;
      const s = this.get(k);
      if (!s) { this.gcCandidates.delete(k); continue; }
      if (this.gcHold?.has(k)) continue;
      this.gcStats.keysVisited++;
      const blocker = unstableIn(s.floor, st);
      if (blocker !== undefined) {
        // (nothing to collect: parked until that node's stability passes the stamp; the ids
        // the key names are heard now)
        if (holders) metaNodes(s, holders);
        this.gcCandidates.delete(k);
        // (it waits packed: while a peer lags behind a burst, or is down after having been up,
        // every key written waits here, and unpacked its state was ~500 bytes of heap per string
        // key; a dead key too, its tombstone counted in packedTombs)
        this.park(k, s, blocker[0], blocker[1], st(blocker[0]));
        continue;
      }
      if (this.snapshots.size) this.preserve(k, slotOf(k));
      const r = gcKeyState(s, st, ack);
      if (r === "drop") { dropping?.(s); this.drop(k); this.gcStats.keysDropped++; continue; }
      if (r) { shrink(s); this.markDirty(k); this.gcStats.keysCollected++; this.tombsChanged(k, s); }
      if (!hasTombstoneMeta(s)) { this.gcCandidates.delete(k); this.tombsChanged(k, null); this.pack(k, s); }
      else if (holders) metaNodes(s, holders);
    }
    this.sweepIt = undefined;
    return true;
  }

  /** Parks candidate k (state s) on node n's stamp t (gcParked; `at`: n's stability now), packed (`lazy`: pack). */
  private park(k: string, s: StoredState, n: string, t: number, at: number, lazy = false): void {
    let b = this.gcParked.get(n);
    if (!b) this.gcParked.set(n, (b = { at, slices: new Map() }));
    const slice = Math.floor(t / PARK_SLICE);
    let keys = b.slices.get(slice);
    if (!keys) b.slices.set(slice, (keys = new Set()));
    keys.add(k);
    this.pack(k, s, lazy);
  }

  /**
   * Keys parked by parkSome, while nothing was stable: the next sweep (beginSweep) looks at
   * every parked key (as when told `full`), so each is parked again, or collected, by what a
   * sweep with stability decides.
   */
  private parkedUnstable = false;

  /**
   * Starts a sweep that only parks and packs (parkSome), for when nothing is known stable
   * (gossip.ts: no peer has ever been found to hold our writes: a peer configured and never
   * up, or every peer down since this node started). No sweep with stability runs then, and
   * every key written stayed a state object: 1M SETs, 535 MB of heap against 8 with no peer.
   */
  beginParking(): void {
    this.gcStats.parkSweeps++;
    this.startCandidates();
  }

  /**
   * Goes over the candidates of beginParking as sweepSome does, but with nothing stable:
   * nothing is collected, dropped or acknowledged (gcKeyState does not run), and no node id is
   * reported (no departed-incarnation detection); the store's gcStable is left as it is. A key
   * with removal metadata (a SET's key floor carries the writer's stamp until it is stable) is
   * parked packed on its key floor's first component, which is where a sweep with no stability
   * known (every node's 0) parks it, or else on its first removal stamp; a key with none is
   * packed and let go, as a sweep lets go a key with nothing to collect. `lazy`: changed keys
   * are packed unhashed (pack: while no peer's link is up no digest is coming; with one up,
   * hashing the state as it is packed costs less than from a decoded copy later). Returns as
   * sweepSome.
   */
  parkSome(enough?: () => boolean, lazy = true): boolean {
    if (this.sweepIt === undefined) return true;
    for (let seen = 1; ; seen++) {
      const k = this.nextCandidate(seen, enough);
      if (k === null) return false;
      if (k === undefined) break;
      const s = this.keys.get(k);
      if (s === undefined) { this.gcCandidates.delete(k); continue; }
      if (typeof s === "string" || this.gcHold?.has(k)) continue; // (a candidate is unpacked: unpack, pack)
      this.gcStats.keysVisited++;
      let at: [string, number] | undefined;
      for (const c of s.floor) { at = c; break; }
      if (at === undefined) removalStamps(s, (n, t) => { at ??= [n, t]; });
      if (at !== undefined) {
        this.gcCandidates.delete(k);
        this.parkedUnstable = true;
        this.park(k, s, at[0], at[1], 0, lazy);
      } else if (!hasTombstoneMeta(s) && !isDead(s)) {
        this.gcCandidates.delete(k);
        this.tombsChanged(k, null);
        this.pack(k, s, lazy);
      }
      // (else, metadata with no stamp to wait on, or dead with none: left to a sweep with stability)
    }
    this.sweepIt = undefined;
    return true;
  }

  /**
   * Per key holding tombstones, how many; their sum; the keys changed since they were counted
   * (tombstoneCount). Counting every candidate key at each INFO crdt held a 1M-key node's loop
   * for a pass over all of them (after a SET or a walk every key is a candidate: its floor
   * carries the writer's own stamp until it is stable), and a 1 s INFO poll was a quarter of
   * the node's CPU during a 100k-key CRDT.PEER ADD walk.
   */
  private readonly tombs = new Map<string, number>();
  private tombTotal = 0;
  private readonly tombsStale = new Set<string>();
  /** Whether every key must be counted again (more keys changed than are worth remembering one by one). */
  private tombsAllStale = false;

  /**
   * Key k's tombstones may have changed; `s`: its state now (null: none counted here: gone, or
   * packed, packedTombs counting it). A key counted 0 (no entry in tombs) that holds none now
   * needs no count: most changes are those (a key that holds a value and no members or list
   * elements holds no tombstone, gc.ts tombstones), and each made the next INFO count its key
   * again: every key after a burst of SETs, or after the sweep packed them (~0.1-2 s at 300k
   * keys). A key with no members, fields or list elements holds one (dead) or none, told at
   * once: counted now, not marked stale (a FLUSHALL's deletes of a million string keys, or the
   * load-end check's, made every INFO meanwhile count the store's candidates again).
   */
  private tombsChanged(k: string, s?: KeyState | null): void {
    if (this.tombsAllStale) return;
    if (s === null) { const was = this.tombs.get(k); if (was !== undefined) { this.tombTotal -= was; this.tombs.delete(k); } return; }
    if (s !== undefined && holdsNoTombstone(s) && !this.tombs.has(k)) return;
    if (s && s.list.elems.size === 0 && s.set.size === 0 && s.hash.size === 0 && s.zset.size === 0) {
      const n = isDead(s) ? 1 : 0;
      this.tombTotal += n - (this.tombs.get(k) ?? 0);
      if (n) this.tombs.set(k, n); else this.tombs.delete(k);
      return;
    }
    this.tombsStale.add(k);
    if (this.tombsStale.size > 1024 && this.tombsStale.size > this.keys.size / 4) { this.tombsAllStale = true; this.tombsStale.clear(); }
  }

  /**
   * The tombstones packed keys hold (a dead key parked packed, or one with removed members),
   * a running sum: added as a key is packed, taken off as it is unpacked or dropped, so INFO
   * neither decodes nor remembers them one by one. tombs and tombTotal count the unpacked keys.
   */
  private packedTombs = 0;
  /** Counts from scratch tombstoneCount made (every key changed was marked stale). */
  tombRecounts = 0;

  /** Dead keys and removed members still held (INFO crdt_tombstones). */
  tombstoneCount(): number {
    if (this.tombsAllStale) {
      this.tombsAllStale = false;
      this.tombRecounts++;
      this.tombs.clear();
      this.tombTotal = 0;
      for (const k of this.gcCandidates) this.countTombs(k);
      return this.tombTotal + this.packedTombs;
    }
    for (const k of this.tombsStale) this.countTombs(k);
    this.tombsStale.clear();
    return this.tombTotal + this.packedTombs;
  }

  /**
   * Counts k's tombstones again, if it is unpacked (a packed one's are in packedTombs). An
   * unpacked key that holds tombstones is a candidate (join and unpack make it one; a sweep
   * lets a key go only packed), so a count from scratch goes over the candidates alone.
   */
  private countTombs(k: string): void {
    const s = this.keys.get(k);
    const n = s && typeof s !== "string" ? tombstones(s) : 0;
    this.tombTotal += n - (this.tombs.get(k) ?? 0);
    if (n) this.tombs.set(k, n); else this.tombs.delete(k);
  }

  /** tombstoneCount, counted from scratch over every key, packed ones decoded (tests: the running counts agree with it). */
  tombstoneRecount(): number {
    let n = 0;
    for (const [, s] of this.states()) n += tombstones(s);
    return n;
  }

  /** Forgets a key: its hash leaves its range's digest. */
  private drop(k: string): void {
    const s = this.keys.get(k);
    if (typeof s === "string") {
      // (a packed dirty key's hash is not in the digests: pack)
      if (!this.dirty.has(k)) { const h = Buffer.from(s.slice(0, 8), "latin1"); this.fold(slotOf(k), h.readInt32LE(0), h.readInt32LE(4)); }
      this.packStats.now--;
      this.packedTombs -= tombstones(readPacked(s, this.packNodes));
    } else if (s?.hashed) this.fold(slotOf(k), s.hlo, s.hhi);
    this.dirty.delete(k);
    this.gcCandidates.delete(k);
    this.tombsChanged(k, null);
    this.keys.delete(k);
    this.bySlot[slotOf(k)]?.delete(k);
  }

  /** XORs a key hash into its slot's digest and its coarse range's. */
  private fold(slot: number, lo: number, hi: number): void {
    const c = Math.floor(slot / SLOTS_PER_COARSE);
    this.digestVec[2 * slot] ^= lo;
    this.digestVec[2 * slot + 1] ^= hi;
    this.coarseVec[2 * c] ^= lo;
    this.coarseVec[2 * c + 1] ^= hi;
  }

  /** Per range of `ranges` (validRangeCount): [lo, hi] XOR of its keys' hashes, current; a copy. */
  digestsAt(ranges: number): Uint32Array {
    for (const k of this.dirty) this.rehash(k);
    this.dirty.clear();
    return (ranges === SLOTS ? this.digestVec : this.coarseVec).slice();
  }

  /** Changed keys not yet folded into the digests. */
  get dirtyCount(): number {
    return this.dirty.size;
  }

  /**
   * Folds changed keys into the digests: at least `atLeast` of them, then until `enough()`
   * (gossip.ts warmDigests: a slice of an event-loop turn); returns whether none are left.
   */
  hashSome(enough: () => boolean, atLeast = 0): boolean {
    let n = 0;
    for (const k of this.dirty) {
      this.rehash(k);
      this.dirty.delete(k);
      if (++n >= atLeast && enough()) break;
    }
    return this.dirty.size === 0;
  }

  /**
   * The ranges (of `ranges`) whose state may differ from when digest vector `then` was taken
   * (every key was hashed then: digestsAt), without hashing what changed since: the ranges
   * whose hashed digest moved, and those of keys changed but not yet hashed. A superset at
   * most of the ranges that changed; it costs a slot computation per changed key instead of
   * a hash (gossip.ts sendBack, which used to hash them all in one turn).
   */
  changedSince(then: Uint32Array, ranges: number): Set<number> {
    const vec = ranges === SLOTS ? this.digestVec : this.coarseVec;
    const out = new Set<number>();
    for (let r = 0; r < ranges; r++) if (vec[2 * r] !== then[2 * r] || vec[2 * r + 1] !== then[2 * r + 1]) out.add(r);
    const per = SLOTS / ranges;
    for (const k of this.dirty) out.add(Math.floor(slotOf(k) / per));
    return out;
  }

  /** Replaces a changed key's hash in its range's digest. */
  private rehash(k: string): void {
    const slot = slotOf(k);
    const v = this.keys.get(k)!;
    if (typeof v === "string") {
      // (packed while dirty, its hash not in the digests: pack; hashed from a decoded copy, and
      // kept packed with its hash: unpacking it would wait for the next sweep to pack it again)
      const s = readPacked(v, this.packNodes) as StoredState; // (hashInto sets its hlo/hhi)
      hashInto(k, s);
      this.fold(slot, s.hlo, s.hhi);
      const b = Buffer.from(v, "latin1");
      b.writeInt32LE(s.hlo, 0);
      b.writeInt32LE(s.hhi, 4);
      this.keys.set(k, b.toString("latin1"));
      return;
    }
    if (v.hashed) this.fold(slot, v.hlo, v.hhi);
    hashInto(k, v);
    v.hashed = true;
    this.fold(slot, v.hlo, v.hhi);
  }

  /** Ranges whose digests differ from `other` (a peer's digest vector of `ranges` ranges). */
  differingRanges(other: Uint32Array, ranges: number): number[] {
    const mine = this.digestsAt(ranges);
    const out: number[] = [];
    for (let r = 0; r < ranges; r++) {
      if (mine[2 * r] !== other[2 * r] || mine[2 * r + 1] !== other[2 * r + 1]) out.push(r);
    }
    return out;
  }

  /** The slots of range r of `ranges` (out of bounds: none). */
  private slotsOf(r: number, ranges: number): [number, number] {
    const per = SLOTS / ranges;
    return r >= 0 && r < ranges ? [r * per, (r + 1) * per] : [0, 0];
  }

  /** How many keys range r of `ranges` holds. */
  keysInRange(r: number, ranges: number): number {
    let n = 0;
    const [from, to] = this.slotsOf(r, ranges);
    for (let slot = from; slot < to; slot++) n += this.bySlot[slot]?.size ?? 0;
    return n;
  }

  /** Snapshots not yet released (preserve keeps their keys' old states). */
  private readonly snapshots = new Set<Snapshot>();

  /** Takes a snapshot of the given ranges (of `ranges`); release it when done. */
  snapshot(list: number[], ranges: number): Snapshot {
    const snap = new Snapshot();
    for (const r of list) { const [from, to] = this.slotsOf(r, ranges); snap.waiting.fill(1, from, to); }
    this.snapshots.add(snap);
    return snap;
  }

  release(snap: Snapshot): void {
    this.snapshots.delete(snap);
  }

  /**
   * Every key's state in the given ranges as it was when `snap` was taken, encoded as a
   * batch; each slot once (it then leaves the snapshot).
   */
  encodeSnapshot(snap: Snapshot, list: number[], ranges: number): Buffer {
    const out = this.takeSnapshot(snap, list, ranges);
    const w = new Writer();
    w.u32(out.length);
    for (const [k, v] of out) { w.str(k); if (Buffer.isBuffer(v)) w.raw(v); else writeKeyState(w, v); }
    return w.done();
  }

  /**
   * The same states, not encoded: a key's live state, or the bytes (writeKeyState's) of the
   * state it had when `snap` was taken, kept when it changed since. The caller encodes them
   * before the next command can change a live one.
   */
  takeSnapshot(snap: Snapshot, list: number[], ranges: number): [string, KeyState | Buffer][] {
    const out: [string, KeyState | Buffer][] = [];
    for (const r of list) {
      const [from, to] = this.slotsOf(r, ranges);
      for (let slot = from; slot < to; slot++) {
        if (!snap.waiting[slot]) continue;
        snap.waiting[slot] = 0;
        const then = snap.before.get(slot);
        snap.before.delete(slot);
        for (const k of this.bySlot[slot] ?? []) {
          if (then?.has(k)) continue;
          const s = this.keys.get(k)!;
          out.push([k, typeof s === "string" ? readPacked(s, this.packNodes) : s]);
        }
        if (then) for (const [k, b] of then) if (b) out.push([k, b]);
      }
    }
    return out;
  }

  /** Key k (of `slot`) is about to change: every snapshot still to encode its slot keeps its state of before. */
  private preserve(k: string, slot: number): void {
    for (const snap of this.snapshots) {
      if (!snap.waiting[slot]) continue;
      let then = snap.before.get(slot);
      if (!then) snap.before.set(slot, (then = new Map()));
      if (then.has(k)) continue;
      const s = this.keys.get(k);
      then.set(k, s === undefined ? null : encodeKeyState(typeof s === "string" ? readPacked(s, this.packNodes) : s));
    }
  }
}

/** A batch of (db:key, state-or-delta): u32 n, n × (bytes dbkey, keystate). */
export function encodeBatch(entries: Iterable<[string, KeyState]>): Buffer {
  const w = new Writer();
  const list = [...entries];
  w.u32(list.length);
  for (const [k, s] of list) { w.str(k); writeKeyState(w, s); }
  return w.done();
}

export function decodeBatch(b: Buffer): [string, KeyState][] {
  const r = new Reader(b);
  const out: [string, KeyState][] = [];
  for (let n = r.u32(); n > 0; n--) { const k = r.str(); out.push([k, readKeyState(r)]); }
  return out;
}
