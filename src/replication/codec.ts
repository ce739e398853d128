// Binary encoding of key states and deltas (deltas are key states too: a delta is the small
// state a write produced). Maps are written in sorted order, so a canonical state always
// encodes to the same bytes — anti-entropy digests hash these bytes.
//
//   vv        u16 n, n × (node, f64 ts)
//   node      u8 len, utf8
//   bytes     u32 len, bytes
//   register  u32 n, n × (node, f64 ts, value), vv floor
//   counters  u16 n, n × (node, f64 ts, bytes total (decimal text, units of 10^-17), f64 run)
//   elems     u32 n, n × (bytes member, register)
//   keystate  vv floor, register<bytes> str, counters cnt, counters cntBase,
//             seq list, elems<presence> set, elems<bytes> hash,
//             u32 n × (bytes field, counters cnt, counters base) hcnt,
//             elems<f64> zset, register<f64> ttl,
//             u32 n × (bytes member, fcounters cnt, fcounters base) zcnt
//   seq       u32 n, n × (node, f64 ts, u16 k, k × f64 pos, bytes v, f64 vts, node vnode,
//             f64 rts, node rnode) in id order, vv floor
//   fcounters u16 n, n × (node, f64 ts, f64 total, f64 run)
import type { OrRegister } from "./or-register.js";
import type { Counter, KeyState } from "./key-state.js";
import type { VV } from "./vv.js";
import { seqNew, type Seq } from "./seq.js";

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Node ids as written (Writer.node): a state names the same few nodes over and over, and a
 * Buffer made per name was most of what a SAVE of the CRDT state allocated.
 */
const nodeBytes = new Map<string, Buffer>();
const NODE_BYTES_KEPT = 4096;

export class Writer {
  private buf: Buffer;
  private pos = 0;
  constructor(capacity = 256) { this.buf = Buffer.allocUnsafe(capacity); }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const nb = Buffer.allocUnsafe(cap);
    this.buf.copy(nb, 0, 0, this.pos);
    this.buf = nb;
  }

  u8(v: number): void { this.ensure(1); this.buf[this.pos++] = v; }
  // (byte stores rather than Buffer's checked writeUInt16LE/writeUInt32LE: a SAVE writes a
  // dozen counts per key)
  u16(v: number): void {
    if ((v & 0xffff) !== v) throw new RangeError(`${v} does not fit a u16`);
    this.ensure(2);
    const b = this.buf, p = this.pos;
    b[p] = v; b[p + 1] = v >>> 8;
    this.pos = p + 2;
  }
  u32(v: number): void {
    if (v >>> 0 !== v) throw new RangeError(`${v} does not fit a u32`);
    this.ensure(4);
    const b = this.buf, p = this.pos;
    b[p] = v; b[p + 1] = v >>> 8; b[p + 2] = v >>> 16; b[p + 3] = v >>> 24;
    this.pos = p + 4;
  }
  /** n zero bytes (the counts of a key state's empty parts). */
  zeros(n: number): void { this.ensure(n); this.buf.fill(0, this.pos, this.pos + n); this.pos += n; }
  /** Drops what was written after `at` (a length read before). */
  truncate(at: number): void { if (at < this.pos) this.pos = at; }
  /** Starts over, keeping the buffer (a scratch Writer; what done() returned before is overwritten). */
  reset(): void { this.pos = 0; }
  f64(v: number): void { this.ensure(8); this.buf.writeDoubleLE(v, this.pos); this.pos += 8; }
  /** A vector of u32 (little-endian), in one copy where the platform is little-endian (anti-entropy digests). */
  u32s(v: Uint32Array): void {
    if (!LITTLE_ENDIAN) { for (let i = 0; i < v.length; i++) this.u32(v[i]); return; }
    this.raw(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  i64(v: bigint): void { this.ensure(8); this.buf.writeBigInt64LE(BigInt.asIntN(64, v), this.pos); this.pos += 8; }
  bytes(b: Uint8Array): void { this.u32(b.length); this.ensure(b.length); this.buf.set(b, this.pos); this.pos += b.length; }
  /** Bytes already encoded by another Writer, without a length. */
  raw(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.pos); this.pos += b.length; }
  node(s: string): void {
    let b = nodeBytes.get(s);
    if (!b) {
      if (nodeBytes.size >= NODE_BYTES_KEPT) nodeBytes.clear();
      nodeBytes.set(s, (b = Buffer.from(s, "utf8")));
    }
    this.u8(b.length);
    this.raw(b);
  }
  /** A latin1 string (db:key, members), written in place. */
  str(s: string): void { this.u32(s.length); this.latin1(s); }
  /** A latin1 string's bytes alone, without a length. */
  latin1(s: string): void { this.ensure(s.length); this.pos += this.buf.write(s, this.pos, s.length, "latin1"); }
  /** A u32 in 7-bit groups, least significant first (1 byte below 128): lengths in AOF records. */
  uvar(v: number): void {
    if (v >>> 0 !== v) throw new RangeError(`${v} does not fit a u32`);
    for (; v >= 0x80; v >>>= 7) this.u8((v & 0x7f) | 0x80);
    this.u8(v);
  }
  /** Overwrites the u32 at `at` (a count written before the items it counts). */
  patchU32(at: number, v: number): void { this.buf.writeUInt32LE(v, at); }
  get length(): number { return this.pos; }
  done(): Buffer { return this.buf.subarray(0, this.pos); }
  /** What was written, as a latin1 string (no Buffer view made for it). */
  latin1String(): string { return this.buf.toString("latin1", 0, this.pos); }
}

export class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  private need(n: number): void { if (this.pos + n > this.buf.length) throw new Error("truncated replication message"); }
  get remaining(): number { return this.buf.length - this.pos; }
  u8(): number { this.need(1); return this.buf[this.pos++]; }
  u16(): number { this.need(2); const v = this.buf.readUInt16LE(this.pos); this.pos += 2; return v; }
  u32(): number { this.need(4); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  f64(): number { this.need(8); const v = this.buf.readDoubleLE(this.pos); this.pos += 8; return v; }
  /** n u32 (little-endian) into a new vector (Writer.u32s). */
  u32s(n: number): Uint32Array {
    this.need(4 * n);
    const out = new Uint32Array(n);
    if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(this.buf.subarray(this.pos, this.pos + 4 * n));
    else for (let i = 0; i < n; i++) out[i] = this.buf.readUInt32LE(this.pos + 4 * i);
    this.pos += 4 * n;
    return out;
  }
  i64(): bigint { this.need(8); const v = this.buf.readBigInt64LE(this.pos); this.pos += 8; return v; }
  bytes(): Buffer { const n = this.u32(); this.need(n); const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n)); this.pos += n; return b; }
  node(): string { const n = this.u8(); this.need(n); const s = this.buf.toString("utf8", this.pos, this.pos + n); this.pos += n; return s; }
  // (read in place: through bytes() each key of a loaded file's CRDT state was copied into a Buffer first)
  str(): string { return this.latin1(this.u32()); }
  /** Writer.uvar's u32. */
  uvar(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (shift > 28) throw new Error("bad length in replication message");
      const b = this.u8();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  }
  /** n bytes, copied. */
  take(n: number): Buffer { this.need(n); const b = Buffer.from(this.buf.subarray(this.pos, this.pos + n)); this.pos += n; return b; }
  /** n bytes as a latin1 string (Writer.latin1's). */
  latin1(n: number): string { this.need(n); const s = this.buf.toString("latin1", this.pos, this.pos + n); this.pos += n; return s; }
  /** Whether every byte was read. */
  get atEnd(): boolean { return this.pos === this.buf.length; }
}

/**
 * A map's entries in key order (equal states encode to equal bytes). Most maps of a state hold
 * none or one entry (a string key: one writer, an empty floor): those are iterated as they are,
 * with no array to sort (a SAVE of 100k keys spent 1.2 s of 5.6 s here, and more in the GC).
 */
const byKey = <T>(m: Map<string, T>): Iterable<[string, T]> =>
  m.size < 2 ? m : [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

/**
 * The Writer a one-entry map's forEach writes into (writeVV, writeReg), and the register's value
 * writer: forEach with a function made once allocates nothing, where for-of over a Map made an
 * iterator and an [k, v] array per entry; a map of one entry is in key order as it is. Hashing
 * and sending every SET's state went through here ~5 times per SET (~0.6 KB of the ~4 KB a SET
 * allocated with a peer).
 */
let oneW: Writer;
let oneVal: (w: Writer, v: unknown) => void;
function vvOne(ts: number, n: string): void { oneW.node(n); oneW.f64(ts); }
function regOne(e: { ts: number; v: unknown }, n: string): void { oneW.node(n); oneW.f64(e.ts); oneVal(oneW, e.v); }

/** Registers' value writers, made once (no closure per call). */
const noVal = (): void => {};
const bytesVal = (w: Writer, v: Buffer): void => w.bytes(v);
const f64Val = (w: Writer, v: number): void => w.f64(v);

export function writeVV(w: Writer, v: VV): void {
  w.u16(v.size);
  if (v.size === 0) return;
  if (v.size === 1) { oneW = w; v.forEach(vvOne); return; }
  for (const [n, ts] of byKey(v)) { w.node(n); w.f64(ts); }
}

export function readVV(r: Reader): VV {
  const v: VV = new Map();
  for (let i = r.u16(); i > 0; i--) { const n = r.node(); v.set(n, r.f64()); }
  return v;
}

/** A register, its values written by `val` (noVal, bytesVal, f64Val: made once). */
function writeReg<T>(w: Writer, reg: OrRegister<T>, val: (w: Writer, v: T) => void): void {
  const n = reg.entries.size;
  w.u32(n);
  if (n === 1) { oneW = w; oneVal = val as (w: Writer, v: unknown) => void; reg.entries.forEach(regOne); }
  else if (n > 1) for (const [node, e] of byKey(reg.entries)) { w.node(node); w.f64(e.ts); val(w, e.v); }
  writeVV(w, reg.floor);
}

function readReg<T>(r: Reader, val: () => T): OrRegister<T> {
  const entries = new Map<string, { ts: number; v: T }>();
  for (let i = r.u32(); i > 0; i--) { const n = r.node(); const ts = r.f64(); entries.set(n, { ts, v: val() }); }
  return { entries, floor: readVV(r) };
}

function writeCounters(w: Writer, m: Map<string, Counter>): void {
  w.u16(m.size);
  if (m.size === 0) return;
  for (const [n, c] of byKey(m)) { w.node(n); w.f64(c.ts); w.str(c.total.toString()); w.f64(c.run); }
}

function readCounters(r: Reader): Map<string, Counter> {
  const m = new Map<string, Counter>();
  for (let i = r.u16(); i > 0; i--) { const n = r.node(); const ts = r.f64(); const total = readBigInt(r); m.set(n, { ts, total, run: r.f64() }); }
  return m;
}

function writeElems<T>(w: Writer, m: Map<string, OrRegister<T>>, val: (w: Writer, v: T) => void): void {
  w.u32(m.size);
  if (m.size === 0) return;
  for (const [k, reg] of byKey(m)) { w.str(k); writeReg(w, reg, val); }
}

function readElems<T>(r: Reader, val: () => T): Map<string, OrRegister<T>> {
  const m = new Map<string, OrRegister<T>>();
  for (let i = r.u32(); i > 0; i--) { const k = r.str(); m.set(k, readReg(r, val)); }
  return m;
}

/** The bytes of the parts between str and ttl when all are empty: cnt, cntBase, list, set, hash, hcnt, zset. */
const EMPTY_MIDDLE = 2 + 2 + (4 + 2) + 4 + 4 + 4 + 4;

export function writeKeyState(w: Writer, s: KeyState): void {
  writeVV(w, s.floor);
  writeReg(w, s.str, bytesVal);
  if (s.cnt.size === 0 && s.cntBase.size === 0 && s.list.elems.size === 0 && s.list.floor.size === 0 && s.set.size === 0 &&
    s.hash.size === 0 && s.hcnt.size === 0 && s.zset.size === 0 && s.zcnt.size === 0) {
    // a string key (most keys): the empty parts' counts at once, with no closure or loop each
    w.zeros(EMPTY_MIDDLE);
    writeReg(w, s.ttl, f64Val);
    w.u32(0);
    return;
  }
  writeCounters(w, s.cnt);
  writeCounters(w, s.cntBase);
  writeSeq(w, s.list);
  writeElems(w, s.set, noVal);
  writeElems(w, s.hash, bytesVal);
  w.u32(s.hcnt.size);
  for (const [f, fc] of byKey(s.hcnt)) { w.str(f); writeCounters(w, fc.cnt); writeCounters(w, fc.base); }
  writeElems(w, s.zset, f64Val);
  writeReg(w, s.ttl, f64Val);
  w.u32(s.zcnt.size);
  for (const [m, fc] of byKey(s.zcnt)) { w.str(m); writeFloatCounters(w, fc.cnt); writeFloatCounters(w, fc.base); }
}

function writeFloatCounters(w: Writer, m: Map<string, Counter<number>>): void {
  w.u16(m.size);
  for (const [n, c] of byKey(m)) { w.node(n); w.f64(c.ts); w.f64(c.total); w.f64(c.run); }
}

function readFloatCounters(r: Reader): Map<string, Counter<number>> {
  const m = new Map<string, Counter<number>>();
  for (let i = r.u16(); i > 0; i--) { const n = r.node(); const ts = r.f64(); const total = r.f64(); m.set(n, { ts, total, run: r.f64() }); }
  return m;
}

export function readKeyState(r: Reader): KeyState {
  const floor = readVV(r);
  const str = readReg(r, () => r.bytes());
  const cnt = readCounters(r);
  const cntBase = readCounters(r);
  const list = readSeq(r);
  const set = readElems<true>(r, () => true);
  const hash = readElems(r, () => r.bytes());
  const hcnt = new Map<string, { cnt: Map<string, Counter>; base: Map<string, Counter> }>();
  for (let i = r.u32(); i > 0; i--) { const f = r.str(); const cnt = readCounters(r); hcnt.set(f, { cnt, base: readCounters(r) }); }
  const zset = readElems(r, () => r.f64());
  const ttl = readReg(r, () => r.f64());
  const zcnt = new Map<string, { cnt: Map<string, Counter<number>>; base: Map<string, Counter<number>> }>();
  for (let i = r.u32(); i > 0; i--) { const m = r.str(); const cnt = readFloatCounters(r); zcnt.set(m, { cnt, base: readFloatCounters(r) }); }
  return { floor, str, cnt, cntBase, list, set, hash, hcnt, zset, zcnt, ttl };
}

export function encodeKeyState(s: KeyState): Buffer {
  const w = new Writer();
  writeKeyState(w, s);
  return w.done();
}

export function decodeKeyState(b: Buffer): KeyState {
  return readKeyState(new Reader(b));
}

function writeSeq(w: Writer, q: Seq): void {
  w.u32(q.elems.size);
  for (const [, e] of byKey(q.elems)) {
    w.node(e.node); w.f64(e.ts);
    w.u16(e.pos.length); for (const p of e.pos) w.f64(p);
    w.bytes(e.v); w.f64(e.vts); w.node(e.vnode); w.f64(e.rts); w.node(e.rnode);
  }
  writeVV(w, q.floor);
}

function readSeq(r: Reader): Seq {
  const q = seqNew();
  for (let i = r.u32(); i > 0; i--) {
    const node = r.node(); const ts = r.f64();
    const pos: number[] = []; for (let k = r.u16(); k > 0; k--) pos.push(r.f64());
    const v = r.bytes(); const vts = r.f64(); const vnode = r.node(); const rts = r.f64(); const rnode = r.node();
    q.elems.set(`${node}\u0000${ts}`, { pos, ts, node, v, vts, vnode, rts, rnode });
  }
  q.floor = readVV(r);
  return q;
}

const BIGINT = /^-?[0-9]{1,20000}$/;

function readBigInt(r: Reader): bigint {
  const t = r.str();
  if (!BIGINT.test(t)) throw new Error("bad counter in replication message");
  return BigInt(t);
}
