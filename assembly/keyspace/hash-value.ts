// HashValue: the value of a Redis hash, in one of Redis's two encodings (t_hash.c).
//
//  listpack   small hashes: one packed, managed block `lp` holding the pairs back to back,
//             in insertion order:
//                 [varint fieldLen][field bytes][varint valueLen][value bytes]  (x lpCount)
//             Lengths are unsigned LEB128 (7 bits a byte, low bits first), so a pair of
//             short strings costs 2 bytes of overhead (Redis's listpack spends 4). lpUsed
//             bytes of lp are in use; the rest is slack for appends. Lookups are linear
//             scans, which for <= hash-max-listpack-entries short pairs beat a table.
//  hashtable  `ht`: a Dict<HashField> (field -> value) plus `dense`, the same HashField
//             objects in an array (each knows its index), so HRANDFIELD draws a field
//             uniformly in O(1) (Redis's dictGetFairRandomKey only approximates this).
//             A HashField keeps its field and value in one block laid out exactly as a
//             listpack pair (`pair`), so a field costs one object and one buffer.
//
// A listpack turns into a hashtable once it holds more than hashMaxListpackEntries pairs, or
// before a field or value longer than hashMaxListpackValue bytes goes in; it never turns
// back (as in Redis, until a reload). The limits are the config directives
// hash-max-listpack-entries (128) and hash-max-listpack-value (64), set by the host.
//
// Reading a pair: find() / pairAt() leave the bytes' addresses in the module globals
// fieldPtr/fieldLen/valuePtr/valueLen (no tuple allocation). They point into the hash's own
// storage and stay valid only until the hash is next modified.

import { Dict } from "./dict";
import { hashBytes, copyBytes } from "./hash";
import { OBJECT_MAXSIZE } from "rt/common";

export let hashMaxListpackEntries: i64 = 128;
export let hashMaxListpackValue: i64 = 64;

/** CONFIG SET hash-max-listpack-entries / hash-max-listpack-value (and the ziplist aliases). */
export function setHashListpackLimits(entries: i64, value: i64): void {
  hashMaxListpackEntries = entries;
  hashMaxListpackValue = value;
}

/**
 * Redis's LISTPACK_MAX_SAFETY_SIZE: a listpack never grows past 1 GiB (it becomes a
 * hashtable first) - here just under, so the block stays one runtime object.
 */
export const LISTPACK_MAX_SAFE_BYTES: i64 = <i64>OBJECT_MAXSIZE;

export let fieldPtr: usize = 0;
export let fieldLen: usize = 0;
export let valuePtr: usize = 0;
export let valueLen: usize = 0;

export class HashField {
  next: HashField | null = null;
  /** Position in HashTable.dense. */
  idx: i32 = 0;
  /** pair: [varint fieldLen][field][varint valueLen][value], as in a listpack. */
  constructor(public pair: ArrayBuffer, public hash: u32) {}

  /** The Dict's key comparison: is the field [ptr, ptr+len)? */
  keyEquals(ptr: usize, len: usize): bool {
    const p = changetype<usize>(this.pair);
    const h = readVarint(p);
    return varint == len && memory.compare(p + h, ptr, len) == 0;
  }

  /** Loads the field and value into fieldPtr/fieldLen/valuePtr/valueLen. */
  load(): void { setPairAt(changetype<usize>(this.pair), 0); }
}

/** A new pair block for the hashtable encoding. */
function newPair(fptr: usize, flen: usize, vptr: usize, vlen: usize): ArrayBuffer {
  const buf = new ArrayBuffer(<i32>listpackPairBytes(flen, vlen));
  writePair(changetype<usize>(buf), fptr, flen, vptr, vlen);
  return buf;
}

/** Writes one pair at p; returns the bytes written. */
function writePair(p: usize, fptr: usize, flen: usize, vptr: usize, vlen: usize): usize {
  const start = p;
  writeVarint(p, flen);
  p += <usize>varintSize(flen);
  memory.copy(p, fptr, flen);
  p += flen;
  writeVarint(p, vlen);
  p += <usize>varintSize(vlen);
  memory.copy(p, vptr, vlen);
  return p + vlen - start;
}

/** The hashtable encoding: lookup by field, and a dense array for uniform random picks. */
export class HashTable {
  dict: Dict<HashField> = new Dict<HashField>();
  dense: Array<HashField> = new Array<HashField>();

  add(f: HashField): void {
    f.idx = this.dense.length;
    this.dense.push(f);
    this.dict.add(f);
  }
}

// A listpack with no pairs yet shares this block; the first write allocates its own.
const EMPTY_LISTPACK = new ArrayBuffer(0);

// pairAt()'s caches, for one listpack at a time (so a HashValue carries no fields for
// them): the pair index and byte offset last visited, and the offsets of every pair
// (buildIndex). Any change to the owner drops them.
let cursorOwner: HashValue | null = null;
let cursorIdx: i32 = 0;
let cursorOff: i32 = 0;
let indexOwner: HashValue | null = null;
let index: StaticArray<i32> = new StaticArray<i32>(0);

export class HashValue {
  /** The listpack block, or null once the hash is a hashtable. */
  lp: ArrayBuffer | null = EMPTY_LISTPACK;
  lpUsed: i32 = 0;
  lpCount: i32 = 0;
  ht: HashTable | null = null;

  get length(): i32 { return this.lp != null ? this.lpCount : this.ht!.dense.length; }
  get isListpack(): bool { return this.lp != null; }

  /** Looks a field up; on success its value is at valuePtr/valueLen. */
  find(ptr: usize, len: usize): bool {
    const lp = this.lp;
    if (lp != null) {
      const off = this.lpFind(ptr, len);
      if (off < 0) return false;
      setPairAt(changetype<usize>(lp), off);
      return true;
    }
    const f = this.ht!.dict.find(ptr, len, hashBytes(ptr, len));
    if (f == null) return false;
    f.load();
    return true;
  }

  /** Sets field to value; returns true if the field is new (Redis's hashTypeSet returns the opposite). */
  set(fptr: usize, flen: usize, vptr: usize, vlen: usize): bool {
    if (this.lp != null && (<i64>flen > hashMaxListpackValue || <i64>vlen > hashMaxListpackValue ||
        <i64>this.lpUsed + listpackPairBytes(flen, vlen) > LISTPACK_MAX_SAFE_BYTES)) {
      this.convertToHashtable();
    }
    if (this.lp != null) {
      const isNew = this.lpSet(fptr, flen, vptr, vlen);
      if (<i64>this.lpCount > hashMaxListpackEntries) this.convertToHashtable();
      return isNew;
    }
    const ht = this.ht!;
    const h = hashBytes(fptr, flen);
    const f = ht.dict.find(fptr, flen, h);
    if (f != null) {
      // Same size (so the same value length): rewrite in place; else a new block.
      if (<i64>f.pair.byteLength == listpackPairBytes(flen, vlen)) writePair(changetype<usize>(f.pair), fptr, flen, vptr, vlen);
      else f.pair = newPair(fptr, flen, vptr, vlen);
      return false;
    }
    ht.add(new HashField(newPair(fptr, flen, vptr, vlen), h));
    return true;
  }

  /**
   * Makes room in a listpack for `bytes` more bytes of pairs at once (HSET of many pairs),
   * so that building a hash costs one allocation instead of a chain of growing copies.
   */
  reserve(bytes: i64): void {
    if (this.lp == null || bytes <= 0 || bytes > <i64>i32.MAX_VALUE - <i64>this.lpUsed) return;
    this.lpReserve(this.lpUsed + <i32>bytes, true);
  }

  /** Removes a field; returns whether it was there. */
  remove(ptr: usize, len: usize): bool {
    if (this.lp != null) {
      const off = this.lpFind(ptr, len);
      if (off < 0) return false;
      this.lpDeleteAt(off);
      return true;
    }
    const ht = this.ht!;
    const f = ht.dict.remove(ptr, len, hashBytes(ptr, len));
    if (f == null) return false;
    const dense = ht.dense;
    const last = dense.pop();
    if (last !== f) {
      unchecked(dense[f.idx] = last);
      last.idx = f.idx;
    }
    return true;
  }

  /**
   * Loads pair i (0 <= i < length) into fieldPtr/fieldLen/valuePtr/valueLen. Visiting
   * 0, 1, 2... in order costs O(1) per pair in both encodings; for random access on a
   * listpack call buildIndex() first.
   */
  pairAt(i: i32): void {
    const lp = this.lp;
    if (lp == null) {
      unchecked(this.ht!.dense[i]).load();
      return;
    }
    const base = changetype<usize>(lp);
    let off: i32;
    if (indexOwner === this) {
      off = unchecked(index[i]);
    } else {
      let at = 0;
      off = 0;
      if (cursorOwner === this && cursorIdx <= i) { at = cursorIdx; off = cursorOff; }
      while (at < i) { off = nextPair(base, off); at++; }
      cursorOwner = this;
      cursorIdx = i;
      cursorOff = off;
    }
    setPairAt(base, off);
  }

  /** Makes pairAt() O(1) for any index on a listpack until the next change. */
  buildIndex(): void {
    const lp = this.lp;
    if (lp == null || indexOwner === this) return;
    const n = this.lpCount;
    if (index.length < n) index = new StaticArray<i32>(n);
    const base = changetype<usize>(lp);
    let off = 0;
    for (let i = 0; i < n; i++) {
      unchecked(index[i] = off);
      off = nextPair(base, off);
    }
    indexOwner = this;
  }

  /** Ends buildIndex()'s random access (call when the command that needed it is done). */
  dropIndex(): void {
    if (indexOwner === this) indexOwner = null;
    // A big index from a big listpack is not kept around.
    if (index.length > 1024) index = new StaticArray<i32>(0);
  }

  /** Walks a hashtable's buckets for HSCAN (Dict.scan's cursor); only for the hashtable encoding. */
  scan(cursor: u64, out: Array<HashField>): u64 {
    return this.ht!.dict.scan(cursor, out);
  }

  /** A deep copy with the same encoding (COPY). */
  clone(): HashValue {
    const c = new HashValue();
    const lp = this.lp;
    if (lp != null) {
      if (this.lpUsed > 0) {
        const copy = new ArrayBuffer(this.lpUsed);
        memory.copy(changetype<usize>(copy), changetype<usize>(lp), <usize>this.lpUsed);
        c.lp = copy;
      }
      c.lpUsed = this.lpUsed;
      c.lpCount = this.lpCount;
      return c;
    }
    c.lp = null;
    const ht = new HashTable();
    const dense = this.ht!.dense;
    for (let i = 0; i < dense.length; i++) {
      const f = unchecked(dense[i]);
      ht.add(new HashField(copyBytes(changetype<usize>(f.pair), <usize>f.pair.byteLength), f.hash));
    }
    c.ht = ht;
    return c;
  }

  /** Approximate bytes held by the value (MEMORY USAGE). */
  get memoryBytes(): i64 {
    const lp = this.lp;
    if (lp != null) return 40 + <i64>lp.byteLength;
    const ht = this.ht!;
    const dense = ht.dense;
    let total: i64 = 80 + <i64>ht.dict.t0.length * 4 + <i64>dense.length * 4;
    const t1 = ht.dict.t1;
    if (t1 != null) total += <i64>t1.length * 4;
    for (let i = 0; i < dense.length; i++) {
      total += 48 + 24 + <i64>unchecked(dense[i]).pair.byteLength;
    }
    return total;
  }

  convertToHashtable(): void {
    const lp = this.lp;
    if (lp == null) return;
    const ht = new HashTable();
    const base = changetype<usize>(lp);
    let off = 0;
    for (let i = 0; i < this.lpCount; i++) {
      // A listpack pair is already a HashField's block: copy its bytes as they are.
      setPairAt(base, off);
      const end = nextPair(base, off);
      ht.add(new HashField(copyBytes(base + <usize>off, <usize>(end - off)), hashBytes(fieldPtr, fieldLen)));
      off = end;
    }
    this.lpChanged();
    this.ht = ht;
    this.lp = null;
    this.lpUsed = 0;
    this.lpCount = 0;
  }

  // ---- listpack internals ----------------------------------------------------------

  /** Byte offset of the pair whose field is [ptr, ptr+len), or -1. */
  private lpFind(ptr: usize, len: usize): i32 {
    const base = changetype<usize>(this.lp!);
    let off = 0;
    for (let i = 0; i < this.lpCount; i++) {
      const p = base + <usize>off;
      const hdr = readVarint(p);
      if (varint == len && memory.compare(p + hdr, ptr, len) == 0) return off;
      const v = p + hdr + varint;
      off = <i32>(v + readVarint(v) + varint - base);
    }
    return -1;
  }

  private lpChanged(): void {
    if (cursorOwner === this) cursorOwner = null;
    if (indexOwner === this) indexOwner = null;
  }

  /**
   * Makes the block hold at least `need` bytes. Appends grow it by a quarter (amortised
   * O(1) copies, bounded slack); `exact` asks for just `need` (a known batch).
   */
  private lpReserve(need: i32, exact: bool = false): void {
    const lp = this.lp!;
    if (need <= lp.byteLength) return;
    let cap = exact ? need : lp.byteLength + (lp.byteLength >> 2);
    if (cap < need) cap = need;
    if (!exact) cap = min((cap + 7) & ~7, max(need, <i32>OBJECT_MAXSIZE));
    const grown = new ArrayBuffer(cap);
    memory.copy(changetype<usize>(grown), changetype<usize>(lp), <usize>this.lpUsed);
    this.lp = grown;
  }

  private lpSet(fptr: usize, flen: usize, vptr: usize, vlen: usize): bool {
    this.lpChanged();
    const off = this.lpFind(fptr, flen);
    if (off >= 0) {
      // Replace the value in place, moving the tail when its size changes.
      let base = changetype<usize>(this.lp!);
      const fhdr = readVarint(base + <usize>off);
      const voff = off + <i32>fhdr + <i32>varint;
      const oldHdr = <i32>readVarint(base + <usize>voff);
      const oldLen = <i32>varint;
      const newHdr = varintSize(vlen);
      const delta = (newHdr + <i32>vlen) - (oldHdr + oldLen);
      if (delta > 0) {
        this.lpReserve(this.lpUsed + delta);
        base = changetype<usize>(this.lp!);
      }
      const tail = voff + oldHdr + oldLen;
      if (delta != 0) memory.copy(base + <usize>(tail + delta), base + <usize>tail, <usize>(this.lpUsed - tail));
      const p = base + <usize>voff;
      writeVarint(p, vlen);
      memory.copy(p + <usize>newHdr, vptr, vlen);
      this.lpUsed += delta;
      return false;
    }
    const at = this.lpUsed;
    const fhdr = varintSize(flen);
    const vhdr = varintSize(vlen);
    const size = fhdr + <i32>flen + vhdr + <i32>vlen;
    this.lpReserve(at + size);
    let p = changetype<usize>(this.lp!) + <usize>at;
    writeVarint(p, flen);
    p += <usize>fhdr;
    memory.copy(p, fptr, flen);
    p += flen;
    writeVarint(p, vlen);
    memory.copy(p + <usize>vhdr, vptr, vlen);
    this.lpUsed = at + size;
    this.lpCount++;
    return true;
  }

  private lpDeleteAt(off: i32): void {
    this.lpChanged();
    const base = changetype<usize>(this.lp!);
    const end = nextPair(base, off);
    memory.copy(base + <usize>off, base + <usize>end, <usize>(this.lpUsed - end));
    this.lpUsed -= end - off;
    this.lpCount--;
    // Give memory back when a big listpack has mostly emptied.
    const cap = this.lp!.byteLength;
    if (cap > 256 && this.lpUsed < (cap >> 2)) {
      const shrunk = new ArrayBuffer((this.lpUsed + (this.lpUsed >> 2) + 7) & ~7);
      memory.copy(changetype<usize>(shrunk), base, <usize>this.lpUsed);
      this.lp = shrunk;
    }
  }
}

// ---- varint lengths (unsigned LEB128) ------------------------------------------------

/** The value readVarint() decoded. */
let varint: usize = 0;

/** Decodes the length at p into `varint`; returns how many bytes it took. */
@inline function readVarint(p: usize): usize {
  const b = <usize>load<u8>(p);
  if (b < 0x80) { varint = b; return 1; }
  return readVarintSlow(p, b);
}

function readVarintSlow(p: usize, first: usize): usize {
  let v = first & 0x7f;
  let shift: usize = 7;
  let i: usize = 1;
  while (true) {
    const b = <usize>load<u8>(p + i);
    v |= (b & 0x7f) << shift;
    i++;
    if (b < 0x80) break;
    shift += 7;
  }
  varint = v;
  return i;
}

@inline function varintSize(n: usize): i32 {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function writeVarint(p: usize, n: usize): void {
  while (n >= 0x80) {
    store<u8>(p, <u8>(n | 0x80));
    n >>= 7;
    p++;
  }
  store<u8>(p, <u8>n);
}

/** Bytes a pair takes in a listpack (HSET reserves room for its new pairs at once). */
export function listpackPairBytes(flen: usize, vlen: usize): i64 {
  return <i64>varintSize(flen) + <i64>flen + <i64>varintSize(vlen) + <i64>vlen;
}

/** Offset of the pair after the one at off. */
@inline function nextPair(base: usize, off: i32): i32 {
  let p = base + <usize>off;
  p += readVarint(p) + varint;
  p += readVarint(p) + varint;
  return <i32>(p - base);
}

@inline function setPairAt(base: usize, off: i32): void {
  const p = base + <usize>off;
  const fh = readVarint(p);
  fieldLen = varint;
  fieldPtr = p + fh;
  const v = fieldPtr + fieldLen;
  const vh = readVarint(v);
  valueLen = varint;
  valuePtr = v + vh;
}

/** OBJECT ENCODING of a hash: "listpack" or "hashtable". */
export function hashEncoding(h: HashValue): string {
  return h.isListpack ? "listpack" : "hashtable";
}
