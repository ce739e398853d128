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
// sends them (store.ts encodeBatch), or COMPACT (below). SAVE and BGSAVE (and so an AOF's
// base) write COMPACT fields, SAVE 4,096 keys each, BGSAVE a range of slots each; an AOF's incr
// files write RECORDs, COMPACT's entries with a shorter header (filePieces; they wrote FORMAT,
// then COMPACT before, which a load still reads). SAVE encodes the store in the same synchronous pass as the keys; a
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
import type { Counter, KeyState } from "./key-state.js";
import { EMPTY, oneEntry, stringState } from "./compact-state.js";
import { FileStates, type FileState } from "./file-states.js";
import { Reader, Writer, writeKeyState, readKeyState } from "./codec.js";
import type { OrRegister } from "./or-register.js";
import type { VV } from "./vv.js";
import { log } from "../server/log.js";

/** The first byte of every aux value: the layout of what follows (FORMAT, or COMPACT: a SAVE's or BGSAVE's). */
const FORMAT = 1;
/** Keys per aux value of a SAVE (at most, of a BGSAVE). */
const SAVE_PIECE_KEYS = 4096;

/**
 * States a restarted node loaded from its file and has not joined yet (loaded-keys.ts waits
 * for its peers' states first), with that file's time. A save meanwhile writes them as they
 * are, with `since`: the next start treats its file as that old (what these states say is of
 * then), and a node restarted again before its peers answered still has them.
 */
export interface PendingStates { since: number; states: FileStates }

/** What a start-up load read: the states (joined per key) and the oldest `since` among them (0: none). */
export interface LoadedStates { since: number; states: FileStates }

function piece(batch: Buffer, since = 0): Buffer {
  const head = Buffer.alloc(9);
  head[0] = FORMAT;
  head.writeDoubleLE(since, 1);
  return Buffer.concat([head, batch]);
}

/**
 * A SAVE's pieces: FORMAT's header with the count and where the node table is, then per key its
 * name and either a string's state with node ids as numbers into that table (tag STRING: the
 * key's floor, the value register, the TTL register) or the bus's encoding (tag OTHER), then the
 * table. Most keys are strings: in the bus's encoding a SET's state is ~106 bytes for a 3-byte
 * value with a short node id (the id twice in full, the other parts' empty counts), here ~50,
 * and the SAVE's LZF compression, CRC64 and write go by the bytes (a CPU profile of SAVE with
 * 200k such keys: encoding the states 43% of its time, LZF 27%, CRC 14%).
 */
const COMPACT = 2;
/**
 * Tags of a COMPACT piece's entries. ELEMS (a set's, hash's or sorted set's state, written
 * 2026-11-29: those went as OTHER before, each member's register naming its node in full, so
 * 100k HSETs of 10 fields made a 243 MB incr file against 22.7 MB without replication): the
 * key's floor, the kind, then per member its name and register with node numbers, then the TTL
 * register. A file without it (an older LatticeKV's) holds OTHER for those and still loads; an
 * older LatticeKV leaves out a piece holding ELEMS (with a warning: keepLoadedState).
 */
const OTHER = 0, STRING = 1, ELEMS = 2;
/**
 * COUNTER (2026-11-29): a string's state with counters (INCR/DECR/INCRBY/INCRBYFLOAT, and the
 * reset points SET and DEL leave): the key's floor, the value register, the per-node totals
 * and reset points with node numbers and each total as units() (below), then the TTL register.
 * Such states went as OTHER, naming each node in full per counter and each total as 18+ digits
 * of decimal text: 100k INCRs made a 19.1 MB incr file against 2.7 MB without replication. A
 * file without it still loads; an older LatticeKV leaves out a piece holding COUNTER entries,
 * with its warning (keepLoadedState), as for ELEMS.
 */
const COUNTER = 3;
/**
 * SET (2026-11-29): the state a SET leaves when its node's own floor is all it observed (the
 * writer at ts - 1, setStringDelta; no TTL): the node and stamp once, and the value. As STRING
 * it named the node twice, the stamp twice, and counted five empty parts.
 */
const SET = 4;
/**
 * MEMBERS (2026-11-29), replacing ELEMS for the writer: the key's floor, the kind, the count,
 * then per member its name (uvar length, bytes), a byte saying how its register goes, and its
 * value (a field's: uvar length, bytes; a score: f64; a set member's: none). The byte is
 * NEXT_TICK for a register of one entry and no floor whose node is the previous member's and
 * whose stamp is the previous one's plus 1 (an HSET, SADD or ZADD of several members ticks the
 * clock once per member), ONE for one entry and no floor (node number and stamp follow), else
 * FULL (writeRegC, the value inside). ELEMS named node and stamp for each member and counted
 * empty floors: 100k HSETs of 10 fields made a 65.8 MB incr file, 22.7 MB without replication.
 */
const MEMBERS = 5;
const NEXT_TICK = 0, ONE = 1, FULL = 2;
const ELEM_KINDS = ["set", "hash", "zset"] as const;

/** A state with nothing but a value and a TTL (see COMPACT). */
function stringOnly(s: KeyState): boolean {
  return s.cnt.size === 0 && s.cntBase.size === 0 && s.list.elems.size === 0 && s.list.floor.size === 0 && s.set.size === 0 &&
    s.hash.size === 0 && s.hcnt.size === 0 && s.zset.size === 0 && s.zcnt.size === 0;
}

/** The one entry of a state SET can write (see SET), or null. */
function setOnly(s: KeyState): [string, { ts: number; v: Buffer }] | null {
  if (s.str.entries.size !== 1 || s.str.floor.size !== 0 || s.ttl.entries.size !== 0 || s.ttl.floor.size !== 0 || s.floor.size !== 1) return null;
  for (const [n, e] of s.str.entries) return s.floor.get(n) === e.ts - 1 ? [n, e] : null;
  return null;
}

/** A state with nothing but a value, counters and a TTL, with counters (COUNTER). */
function countersOnly(s: KeyState): boolean {
  return (s.cnt.size !== 0 || s.cntBase.size !== 0) && s.list.elems.size === 0 && s.list.floor.size === 0 && s.set.size === 0 &&
    s.hash.size === 0 && s.hcnt.size === 0 && s.zset.size === 0 && s.zcnt.size === 0;
}

/**
 * A counter's total (units of 10^-17, decimal.ts) as a byte of sign (bit 7) and trailing
 * decimal zeros left out (bits 0-4), then the rest's magnitude as a byte count and its bytes,
 * least significant first: INCR's 1 is 10^17 units, three bytes here against 22 as the bus's
 * decimal text.
 */
function writeUnits(w: Writer, total: bigint): void {
  let m = total < 0n ? -total : total;
  let zeros = 0;
  while (m !== 0n && zeros < 31 && m % 10n === 0n) { m /= 10n; zeros++; }
  w.u8((total < 0n ? 0x80 : 0) | zeros);
  const bytes: number[] = [];
  for (; m !== 0n; m >>= 8n) bytes.push(Number(m & 0xffn));
  if (bytes.length > 0xff) throw new RangeError("a counter total of over 255 bytes");
  w.u8(bytes.length);
  for (const b of bytes) w.u8(b);
}

function readUnits(r: Reader): bigint {
  const head = r.u8();
  let m = 0n;
  for (let n = r.u8(), shift = 0n; n > 0; n--, shift += 8n) m |= BigInt(r.u8()) << shift;
  m *= 10n ** BigInt(head & 0x1f);
  return head & 0x80 ? -m : m;
}

function writeCountersC(w: Writer, m: Map<string, Counter>, nodes: NodeNumbers): void {
  w.u16(m.size);
  for (const [n, c] of m) { w.u16(nodes.of(n)); w.f64(c.ts); writeUnits(w, c.total); w.f64(c.run); }
}

function readCountersC(r: Reader, node: () => string): Map<string, Counter> {
  const count = r.u16();
  if (count === 0) return EMPTY;
  const m = new Map<string, Counter>();
  for (let i = count; i > 0; i--) { const n = node(); const ts = r.f64(); const total = readUnits(r); m.set(n, { ts, total, run: r.f64() }); }
  return m;
}

/** The one kind of members a state holds with nothing but its floor and TTL besides (ELEMS), or -1. */
function elemsOnly(s: KeyState): number {
  if (s.str.entries.size !== 0 || s.str.floor.size !== 0 || s.cnt.size !== 0 || s.cntBase.size !== 0 || s.list.elems.size !== 0 ||
    s.list.floor.size !== 0 || s.hcnt.size !== 0 || s.zcnt.size !== 0) return -1;
  const kinds = (s.set.size !== 0 ? 1 : 0) + (s.hash.size !== 0 ? 1 : 0) + (s.zset.size !== 0 ? 1 : 0);
  if (kinds !== 1) return -1;
  return s.set.size !== 0 ? 0 : s.hash.size !== 0 ? 1 : 2;
}

/** Node ids as numbers into a piece's table (COMPACT; the store's packed states too, store.ts PackNodes). */
export class NodeNumbers {
  readonly ids = new Map<string, number>();
  of(id: string): number {
    let i = this.ids.get(id);
    if (i === undefined) this.ids.set(id, (i = this.ids.size));
    return i;
  }
}

function writeVVC(w: Writer, v: VV, nodes: NodeNumbers): void {
  w.u16(v.size);
  for (const [n, ts] of v) { w.u16(nodes.of(n)); w.f64(ts); }
}

function writeRegC<T>(w: Writer, reg: OrRegister<T>, nodes: NodeNumbers, val: (v: T) => void): void {
  w.u16(reg.entries.size);
  for (const [n, e] of reg.entries) { w.u16(nodes.of(n)); w.f64(e.ts); val(e.v); }
  writeVVC(w, reg.floor, nodes);
}

// (read as the store keeps a state, compact-state.ts: no map for an empty part, a OneEntry for
// a part of one entry; a loaded state waits in memory until it is joined, see keepLoadedState)
function readVVC(r: Reader, node: () => string): VV {
  const count = r.u16();
  if (count === 0) return EMPTY;
  if (count === 1) { const n = node(); return oneEntry(n, r.f64()); }
  const v: VV = new Map();
  for (let i = count; i > 0; i--) { const n = node(); v.set(n, r.f64()); }
  return v;
}

function readRegC<T>(r: Reader, node: () => string, val: () => T): OrRegister<T> {
  const count = r.u16();
  let entries: Map<string, { ts: number; v: T }> = EMPTY;
  if (count === 1) { const n = node(); const ts = r.f64(); entries = oneEntry(n, { ts, v: val() }); }
  else if (count > 1) {
    entries = new Map();
    for (let i = count; i > 0; i--) { const n = node(); const ts = r.f64(); entries.set(n, { ts, v: val() }); }
  }
  return { entries, floor: readVVC(r, node) };
}

/** One entry's tag and state (COMPACT's and RECORD's, and a packed state's: store.ts), its key written before it. */
export function writeEntry(w: Writer, s: KeyState | Buffer, nodes: NodeNumbers): void {
  let kind: number;
  if (Buffer.isBuffer(s)) {
    w.u8(OTHER);
    w.raw(s);
  } else if (stringOnly(s)) {
    const set = setOnly(s);
    if (set) {
      w.u8(SET);
      w.u16(nodes.of(set[0]));
      w.f64(set[1].ts);
      w.bytes(set[1].v);
      return;
    }
    w.u8(STRING);
    writeVVC(w, s.floor, nodes);
    writeRegC(w, s.str, nodes, (v) => w.bytes(v));
    writeRegC(w, s.ttl, nodes, (v) => w.f64(v));
  } else if (countersOnly(s)) {
    w.u8(COUNTER);
    writeVVC(w, s.floor, nodes);
    writeRegC(w, s.str, nodes, (v) => w.bytes(v));
    writeCountersC(w, s.cnt, nodes);
    writeCountersC(w, s.cntBase, nodes);
    writeRegC(w, s.ttl, nodes, (v) => w.f64(v));
  } else if ((kind = elemsOnly(s)) >= 0) {
    w.u8(MEMBERS);
    writeVVC(w, s.floor, nodes);
    w.u8(kind);
    const m = s[ELEM_KINDS[kind]] as Map<string, OrRegister<unknown>>;
    w.uvar(m.size);
    const val = kind === 0 ? () => {} : kind === 1 ? (v: unknown) => { w.uvar((v as Buffer).length); w.raw(v as Buffer); } : (v: unknown) => w.f64(v as number);
    let prevNode = "", prevTs = NaN;
    for (const [f, r] of m) {
      w.uvar(f.length);
      w.latin1(f);
      let one: [string, { ts: number; v: unknown }] | undefined;
      if (r.entries.size === 1 && r.floor.size === 0) for (const e of r.entries) one = e;
      if (!one) { w.u8(FULL); writeRegC(w, r, nodes, val); continue; }
      const [n, e] = one;
      if (n === prevNode && e.ts === prevTs + 1) w.u8(NEXT_TICK);
      else { w.u8(ONE); w.u16(nodes.of(n)); w.f64(e.ts); }
      val(e.v);
      prevNode = n;
      prevTs = e.ts;
    }
    writeRegC(w, s.ttl, nodes, (v) => w.f64(v));
  } else {
    w.u8(OTHER);
    writeKeyState(w, s);
  }
}

/** A piece's reader of node numbers (u16) into its table `nodes`. */
export function numberedNode(r: Reader, nodes: string[]): () => string {
  return () => {
    const id = nodes[r.u16()];
    if (id === undefined) throw new Error("bad node number");
    return id;
  };
}

/** A set's, hash's or sorted set's state (ELEMS, MEMBERS): its floor, members of kind `kind`, TTL. */
function membersState(floor: KeyState["floor"], kind: number, m: Map<string, OrRegister<unknown>>, ttl: KeyState["ttl"]): KeyState {
  const s = stringState(floor, { entries: EMPTY, floor: EMPTY }, ttl);
  (s as unknown as Record<string, Map<string, OrRegister<unknown>>>)[ELEM_KINDS[kind]] = m;
  return s;
}

/**
 * The greatest stamp of a live SET or MEMBERS entry at the reader, read past it (node numbers
 * checked, values skipped: nothing is decoded), or -1 with the reader where it was for any other
 * entry (another tag, or a MEMBERS entry with nothing alive: a tombstone is kept decoded). A
 * start-up load keeps a live state packed and needs of it only its greatest stamp
 * (file-states.ts): decoding each of 1M SET entries into a state, to read that and throw the
 * state away, was a tenth of the restart's CPU, and 100k hashes' states of 10 fields, with the
 * collections of what they allocated, near half of it.
 */
function skimEntry(r: Reader, value: Buffer, node: () => string): number {
  const at = r.pos;
  const tag = value[at];
  const skip = (n: number) => { if (r.remaining < n) throw new Error("truncated replication message"); r.pos += n; };
  if (tag === SET) {
    r.pos++;
    node();
    const ts = r.f64();
    skip(r.u32()); // (the value)
    return ts;
  }
  if (tag !== MEMBERS) return -1;
  r.pos++;
  let max = 0;
  let live = false;
  const vv = () => { for (let n = r.u16(); n > 0; n--) { node(); const ts = r.f64(); if (ts > max) max = ts; } };
  vv();
  const kind = r.u8();
  if (kind >= ELEM_KINDS.length) throw new Error(`members of kind ${kind}`);
  const val = kind === 0 ? () => {} : kind === 1 ? () => skip(r.uvar()) : () => skip(8);
  const reg = (v: () => void) => {
    const n = r.u16();
    if (n > 0) live = true;
    for (let i = n; i > 0; i--) { node(); const ts = r.f64(); if (ts > max) max = ts; v(); }
    vv();
  };
  let prev = false, prevTs = NaN;
  for (let n = r.uvar(); n > 0; n--) {
    skip(r.uvar()); // (the member's name)
    const how = r.u8();
    if (how === FULL) { reg(val); continue; }
    if (how === ONE) { node(); prevTs = r.f64(); prev = true; }
    else if (how === NEXT_TICK && prev) prevTs++;
    else throw new Error(`member register ${how}`);
    if (prevTs > max) max = prevTs;
    live = true;
    val();
  }
  reg(() => skip(8)); // (the TTL register)
  if (live) return max;
  r.pos = at;
  return -1;
}

/** One entry's state as writeEntry wrote it (its key read before it), in the store's form. */
export function readEntry(r: Reader, node: () => string): KeyState {
  const tag = r.u8();
  if (tag === OTHER) return readKeyState(r);
  if (tag === SET) {
    const n = node();
    const ts = r.f64();
    return stringState(oneEntry(n, ts - 1), { entries: oneEntry(n, { ts, v: r.bytes() }), floor: EMPTY }, { entries: EMPTY, floor: EMPTY });
  }
  if (tag === ELEMS) {
    const floor = readVVC(r, node);
    const kind = r.u8();
    if (kind >= ELEM_KINDS.length) throw new Error(`members of kind ${kind}`);
    const val: () => unknown = kind === 0 ? () => true : kind === 1 ? () => r.bytes() : () => r.f64();
    const m = new Map<string, OrRegister<unknown>>();
    for (let n = r.u32(); n > 0; n--) { const f = r.str(); m.set(f, readRegC(r, node, val)); }
    return membersState(floor, kind, m, readRegC(r, node, () => r.f64()));
  }
  if (tag === MEMBERS) {
    const floor = readVVC(r, node);
    const kind = r.u8();
    if (kind >= ELEM_KINDS.length) throw new Error(`members of kind ${kind}`);
    const val: () => unknown = kind === 0 ? () => true : kind === 1 ? () => r.take(r.uvar()) : () => r.f64();
    const m = new Map<string, OrRegister<unknown>>();
    let prevNode = "", prevTs = NaN;
    for (let n = r.uvar(); n > 0; n--) {
      const f = r.latin1(r.uvar());
      const how = r.u8();
      if (how === FULL) { m.set(f, readRegC(r, node, val)); continue; }
      if (how === ONE) { prevNode = node(); prevTs = r.f64(); }
      else if (how === NEXT_TICK && prevNode !== "") prevTs++;
      else throw new Error(`member register ${how}`);
      m.set(f, { entries: oneEntry(prevNode, { ts: prevTs, v: val() }), floor: EMPTY });
    }
    return membersState(floor, kind, m, readRegC(r, node, () => r.f64()));
  }
  if (tag === COUNTER) {
    const floor = readVVC(r, node);
    const str = readRegC(r, node, () => r.bytes());
    const cnt = readCountersC(r, node);
    const cntBase = readCountersC(r, node);
    const s = stringState(floor, str, readRegC(r, node, () => r.f64()));
    s.cnt = cnt;
    s.cntBase = cntBase;
    return s;
  }
  if (tag !== STRING) throw new Error(`tag ${tag}`);
  const floor = readVVC(r, node);
  const str = readRegC(r, node, () => r.bytes());
  return stringState(floor, str, readRegC(r, node, () => r.f64()));
}

/**
 * COMPACT pieces of SAVE_PIECE_KEYS entries at a time, each written once into its piece. A
 * state may come already encoded (a BGSAVE's snapshot keeps a changed key's state of before
 * as writeKeyState's bytes, and a packed key's: store.ts PackedState): it is decoded first.
 */
function pieces(entries: Iterable<[string, KeyState | Buffer]>, since: number, out: Buffer[]): Buffer[] {
  let w: Writer | undefined;
  let n = 0;
  let nodes = new NodeNumbers();
  const end = () => {
    w!.patchU32(9, n);
    w!.patchU32(13, w!.length);
    w!.u16(nodes.ids.size);
    for (const id of nodes.ids.keys()) w!.node(id);
    out.push(w!.done());
    w = undefined;
  };
  // (a BGSAVE's slot range holds a few hundred keys at most: a writer sized for a SAVE's 4,096
  // would be a fresh 256 KiB buffer per range)
  const size = (Array.isArray(entries) ? Math.min(entries.length, SAVE_PIECE_KEYS) : SAVE_PIECE_KEYS) * 64;
  for (const [k, v] of entries) {
    // (a Buffer: a state's encoding, which a snapshot keeps for a key changed since or packed
    // (store.ts PackedState); decoded so it goes in the compact form too)
    const s = Buffer.isBuffer(v) ? readKeyState(new Reader(v)) : v;
    if (!w) { w = new Writer(size); w.u8(COMPACT); w.f64(since); w.u32(0); w.u32(0); n = 0; nodes = new NodeNumbers(); }
    w.str(k);
    writeEntry(w, s, nodes);
    // (a piece's node numbers are u16; a key names a few nodes)
    if (++n === SAVE_PIECE_KEYS || nodes.ids.size > 0xff00) end();
  }
  if (w) end();
  return out;
}

/**
 * An AOF incr file's record of one write (RECORD, 2026-11-29): the format byte, the node table
 * (u16 count, ids), then per key its name (uvar length, bytes) and writeEntry's tag and state,
 * to the end. A record holds one write's keys, usually one: COMPACT's header (a time that is 0
 * here, a count, the table's offset: 17 bytes) and u32 lengths were a third of a SET's record.
 * An older LatticeKV leaves a RECORD out, with its warning, as a COMPACT piece holding ELEMS.
 */
const RECORD = 3;
const recordBody = new Writer(4096);

function records(entries: [string, KeyState][], out: Buffer[]): Buffer[] {
  for (let from = 0; from < entries.length;) {
    const nodes = new NodeNumbers();
    const body = recordBody;
    body.reset();
    let i = from;
    // (node numbers are u16; a key names a few nodes)
    for (; i < entries.length && i - from < SAVE_PIECE_KEYS && nodes.ids.size <= 0xff00; i++) {
      const [k, s] = entries[i];
      body.uvar(k.length);
      body.latin1(k);
      writeEntry(body, s, nodes);
    }
    from = i;
    const w = new Writer(3 + nodes.ids.size * 40 + body.length);
    w.u8(RECORD);
    w.u16(nodes.ids.size);
    for (const id of nodes.ids.keys()) w.node(id);
    w.raw(body.done());
    out.push(w.done()); // (w is this record's own, sized for it)
  }
  return out;
}

/**
 * A piece's entry as read: its key, its state (undefined for a live SET or MEMBERS entry, left
 * undecoded: skimEntry), where its bytes start and end in the piece, and (such an entry's) its
 * greatest stamp.
 */
type PieceEntry = [k: string, s: KeyState | undefined, start: number, end: number, stamp: number];

/** The entries of a RECORD, and its node table. */
function readRecord(value: Buffer): { nodes: string[]; entries: PieceEntry[] } {
  const r = new Reader(value);
  r.pos = 1;
  const nodes: string[] = [];
  for (let i = r.u16(); i > 0; i--) nodes.push(r.node());
  const node = numberedNode(r, nodes);
  const entries: PieceEntry[] = [];
  while (!r.atEnd) {
    const k = r.latin1(r.uvar());
    const start = r.pos;
    const stamp = skimEntry(r, value, node);
    entries.push([k, stamp < 0 ? readEntry(r, node) : undefined, start, r.pos, stamp]);
  }
  return { nodes, entries };
}

/** The entries of a COMPACT piece, and its node table. */
function readCompact(value: Buffer): { nodes: string[]; entries: PieceEntry[] } {
  const r = new Reader(value);
  r.pos = 9;
  const count = r.u32();
  const tableAt = r.u32();
  const t = new Reader(value);
  t.pos = tableAt;
  const nodes: string[] = [];
  for (let i = t.u16(); i > 0; i--) nodes.push(t.node());
  const node = numberedNode(r, nodes);
  const entries: PieceEntry[] = [];
  for (let i = 0; i < count; i++) {
    const k = r.str();
    const start = r.pos;
    const stamp = skimEntry(r, value, node);
    entries.push([k, stamp < 0 ? readEntry(r, node) : undefined, start, r.pos, stamp]);
  }
  if (r.pos !== tableAt) throw new Error("entries and node table disagree");
  return { nodes, entries };
}

/** SAVE: every key's state now, and the pending ones, SAVE_PIECE_KEYS per piece. */
export function savedStateNow(store: CrdtStore, pending?: PendingStates): Buffer[] {
  const out = pieces(store.states(), 0, []);
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
 * states of that moment (null at the end); COMPACT pieces, as SAVE's.
 */
export class SavedStateCursor {
  private slot = 0;
  private snap: Snapshot | null;
  /** Pieces made and not yet returned (a next() with more than SAVE_PIECE_KEYS keys makes several). */
  private readonly ready: Buffer[] = [];
  /** (a copy of the map, its states as kept: loaded-keys.ts drops entries as it joins or a client writes) */
  private readonly pending?: { since: number; entries: [string, FileState][]; states: FileStates };

  constructor(private readonly store: CrdtStore, pending?: PendingStates) {
    this.snap = store.snapshot([0], 1); // (one range: every slot)
    if (pending) this.pending = { since: pending.since, entries: [...pending.states.keptEntries()], states: pending.states };
  }

  next(): Buffer | null {
    while (!this.ready.length && this.snap && this.slot < SLOTS) {
      const slots = Array.from({ length: SLOTS_PER_PIECE }, (_, i) => this.slot + i);
      this.slot += SLOTS_PER_PIECE;
      const entries = this.store.takeSnapshot(this.snap, slots, SLOTS);
      if (entries.length) pieces(entries, 0, this.ready);
    }
    if (this.ready.length) return this.ready.shift()!;
    const p = this.pending;
    if (p && p.entries.length) {
      const some = p.entries.splice(0, CURSOR_PENDING_KEYS).map(([k, v]): [string, KeyState] => [k, p.states.state(v)]);
      return pieces(some, p.since, [])[0];
    }
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
 * The AOF's pieces for what Replicator.takeFile gave: the writes as RECORDs (COMPACT's entries:
 * 100k SETs made a 18.9 MB incr file in the bus's encoding, 3.3 MB without replication),
 * then each mark (an empty batch with the mark as its time; -1: the states before it were
 * joined, the file is as new as it looks).
 */
export function filePieces(taken: { entries: [string, KeyState][]; marks: number[] } | null): Buffer[] {
  if (!taken) return [];
  const out = taken.entries.length ? records(taken.entries, []) : [];
  for (const since of taken.marks) out.push(piece(encodeBatch([]), since));
  return out;
}

/** States read from the file at start-up, per server, until loaded-keys.ts takes them. */
const loaded = new WeakMap<Server, LoadedStates>();

/** One CRDT_AUX value of the file being loaded; a value it cannot read is left out, with a warning (those keys load as from a file without state). */
export function keepLoadedState(server: Server, value: Buffer): void {
  let read: { nodes: string[]; entries: PieceEntry[] } | undefined;
  let entries: [string, KeyState][] = [];
  let since: number;
  try {
    if (value[0] === RECORD) { since = 0; read = readRecord(value); }
    else {
      if (value[0] !== FORMAT && value[0] !== COMPACT) throw new Error(`format ${value[0]}`);
      since = value.readDoubleLE(1);
      if (value[0] === COMPACT) read = readCompact(value);
      else entries = decodeBatch(value.subarray(9));
    }
  } catch (e) {
    log("warning", `CRDT: left out a part of the replication state in the RDB file that this version cannot read (${(e as Error).message})`);
    return;
  }
  let l = loaded.get(server);
  if (!l) loaded.set(server, (l = { since: 0, states: new FileStates() }));
  if (since > 0 && (l.since === 0 || since < l.since)) l.since = since;
  else if (since < 0) l.since = 0; // (an AOF's mark: what came before was joined, see filePieces)
  // Kept packed, as the file holds them (file-states.ts), until the load-end check and the
  // decision about the file (loaded-keys.ts); a later record of the same key (an AOF's) is
  // joined into the key's state.
  const m = l.states;
  if (read) {
    const t = m.table(read.nodes);
    for (const [k, s, start, end, stamp] of read.entries) m.addEntry(k, s, stamp, value, start, end, t);
  }
  for (const [k, s] of entries) m.add(k, s);
}

/** The states the start-up load read (and forgets them here). */
export function takeLoadedStates(server: Server): LoadedStates {
  const l = loaded.get(server) ?? { since: 0, states: new FileStates() };
  loaded.delete(server);
  return l;
}
