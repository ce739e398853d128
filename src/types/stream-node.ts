// StreamNode: one block of consecutive stream entries, packed into a single buffer the way
// Redis packs a stream's listpack node (t_stream.c), so a stream of millions of entries costs
// a few bytes per entry beyond its data, not a JS object per entry.
//
// The first entry is the node's master entry: its ID is the base the others' IDs are
// stored against, and its field names are shared by every later entry that has the same
// fields (Redis's STREAM_ITEM_FLAG_SAMEFIELDS), which then stores only its values. An entry:
//   flags        1 byte: DELETED (XDEL / trimming mark it in place), SAMEFIELDS
//   ms delta     varint: ms - master ms (IDs only grow within a node)
//   seq          varint: seq - master seq when the ms is the master's, else seq itself
//   SAMEFIELDS:  for each master field, its value (varint length + bytes)
//   otherwise:   varint element count, then field, value, ... (varint length + bytes each)
// Varints are unsigned LEB128; IDs are u64, so they go through BigInt only past 2^49.
// `offs` holds each entry's start so slots are reached in O(1) (binary search by ID).
// A node that stops being the stream's tail is sealed: its buffers shrink to their use.
import type { StreamID } from "./stream.js";

const DELETED = 1;
const SAMEFIELDS = 2;

export class StreamNode {
  private data: Buffer;
  private used = 0;
  private offs: Uint32Array;
  private count = 0;
  private masterMs = 0n;
  private masterSeq = 0n;
  /** The master entry's field names (views into data), shared by SAMEFIELDS entries. */
  private masterFields: Buffer[] = [];
  /** Entries not deleted (Redis's master entry "count"). */
  live = 0;
  /** Entries marked deleted (the master entry "deleted"). */
  tombstones = 0;
  /** Estimated listpack bytes (what closes a node at stream-node-max-bytes). */
  bytes = 7;

  constructor(cap = 8) {
    this.offs = new Uint32Array(Math.max(cap, 1));
    this.data = Buffer.allocUnsafe(Math.max(cap, 1) * 16);
  }

  get slots(): number { return this.count; }

  idAt(i: number): StreamID {
    const r = new VarReader(this.data, this.offs[i] + 1);
    const msDelta = r.big();
    const seq = r.big();
    return msDelta === 0n ? { ms: this.masterMs, seq: this.masterSeq + seq } : { ms: this.masterMs + msDelta, seq };
  }

  firstId(): StreamID { return this.idAt(0); }
  lastId(): StreamID { return this.idAt(this.count - 1); }

  isDeleted(i: number): boolean { return (this.data[this.offs[i]] & DELETED) !== 0; }
  markDeleted(i: number): void { this.data[this.offs[i]] |= DELETED; }

  /** The entry's field/value pairs (views into the node, valid for as long as they are held). */
  entry(i: number): Buffer[] {
    const r = new VarReader(this.data, this.offs[i]);
    const flags = this.data[r.pos++];
    r.skip();
    r.skip();
    if (flags & SAMEFIELDS) {
      const out = new Array<Buffer>(this.masterFields.length * 2);
      for (let f = 0; f < this.masterFields.length; f++) {
        out[2 * f] = this.masterFields[f];
        out[2 * f + 1] = r.bytes();
      }
      return out;
    }
    const n = r.num();
    const out = new Array<Buffer>(n);
    for (let k = 0; k < n; k++) out[k] = r.bytes();
    return out;
  }

  /** Appends an entry (elems: field, value, ...) whose ID is greater than the last one's. */
  push(id: StreamID, elems: Buffer[], bytes: number): void {
    const first = this.count === 0;
    if (first) {
      this.masterMs = id.ms;
      this.masterSeq = id.seq;
    }
    const same = !first && this.hasMasterFields(elems);
    let need = 1 + 10 + 10 + 5;
    for (const e of elems) need += 5 + e.length;
    this.reserve(need);
    if (this.count === this.offs.length) {
      const offs = new Uint32Array(this.offs.length * 2);
      offs.set(this.offs);
      this.offs = offs;
    }
    const start = this.used;
    const w = new VarWriter(this.data, start);
    this.data[w.pos++] = same ? SAMEFIELDS : 0;
    const msDelta = id.ms - this.masterMs;
    w.big(msDelta);
    w.big(msDelta === 0n ? id.seq - this.masterSeq : id.seq);
    if (same) {
      for (let k = 1; k < elems.length; k += 2) w.bytes(elems[k]);
    } else {
      w.num(elems.length);
      for (const e of elems) w.bytes(e);
    }
    this.used = w.pos;
    this.offs[this.count++] = start;
    if (first) this.masterFields = this.fieldNamesOfFirst();
    this.live++;
    this.bytes += bytes;
  }

  /** The first slot whose ID is >= id (slots when none). */
  lowerBound(id: StreamID): number {
    let lo = 0, hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const m = this.idAt(mid);
      if (m.ms < id.ms || (m.ms === id.ms && m.seq < id.seq)) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  /** Shrinks the buffers to what the entries use (the node is no longer the tail). */
  seal(): void {
    if (this.used < this.data.length) this.rebase(Buffer.allocUnsafeSlow(this.used));
    if (this.count < this.offs.length) this.offs = this.offs.slice(0, this.count);
  }

  /** Bytes this node holds (MEMORY USAGE): its buffers plus the object's own fields. */
  memoryUsage(): number {
    return this.data.length + this.offs.byteLength + 120 + this.masterFields.length * 8;
  }

  clone(): StreamNode {
    const n = new StreamNode(1);
    n.data = Buffer.allocUnsafeSlow(Math.max(this.used, 1));
    this.data.copy(n.data, 0, 0, this.used);
    n.used = this.used;
    n.offs = this.offs.slice(0, Math.max(this.count, 1));
    n.count = this.count;
    n.masterMs = this.masterMs;
    n.masterSeq = this.masterSeq;
    n.live = this.live;
    n.tombstones = this.tombstones;
    n.bytes = this.bytes;
    if (n.count) n.masterFields = n.fieldNamesOfFirst();
    return n;
  }

  private fieldNamesOfFirst(): Buffer[] {
    return this.entry(0).filter((_, k) => k % 2 === 0);
  }

  private hasMasterFields(elems: Buffer[]): boolean {
    const m = this.masterFields;
    if (elems.length !== m.length * 2) return false;
    for (let f = 0; f < m.length; f++) if (!elems[2 * f].equals(m[f])) return false;
    return true;
  }

  private reserve(extra: number): void {
    if (this.used + extra <= this.data.length) return;
    this.rebase(Buffer.allocUnsafeSlow(Math.max(this.data.length * 2, this.used + extra)));
  }

  /** Moves the entries into `to` and points masterFields at the copy. */
  private rebase(to: Buffer): void {
    this.data.copy(to, 0, 0, this.used);
    this.data = to;
    if (this.count) this.masterFields = this.fieldNamesOfFirst();
  }
}

class VarReader {
  constructor(private readonly b: Buffer, public pos: number) {}

  num(): number {
    let v = 0, mul = 1, byte: number;
    do {
      byte = this.b[this.pos++];
      v += (byte & 0x7f) * mul;
      mul *= 128;
    } while (byte & 0x80);
    return v;
  }

  /** A u64: read as a number while it has at most 7 bytes (49 bits), as a BigInt past that. */
  big(): bigint {
    const start = this.pos;
    let len = 0;
    while (this.b[start + len] & 0x80) len++;
    if (len < 7) return BigInt(this.num());
    let v = 0n, shift = 0n;
    for (let k = 0; k <= len; k++, shift += 7n) v |= BigInt(this.b[start + k] & 0x7f) << shift;
    this.pos = start + len + 1;
    return v;
  }

  skip(): void { while (this.b[this.pos++] & 0x80); }

  bytes(): Buffer {
    const len = this.num();
    const out = this.b.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }
}

const TWO_53 = 2n ** 53n;

class VarWriter {
  constructor(private readonly b: Buffer, public pos: number) {}

  num(v: number): void {
    while (v >= 128) {
      this.b[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.b[this.pos++] = v;
  }

  big(v: bigint): void {
    if (v < TWO_53) return this.num(Number(v));
    while (v >= 128n) {
      this.b[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.b[this.pos++] = Number(v);
  }

  bytes(e: Buffer): void {
    this.num(e.length);
    e.copy(this.b, this.pos);
    this.pos += e.length;
  }
}
