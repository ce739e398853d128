// HashValue: the value of a Redis hash, in one of Redis's two encodings (t_hash.c).
//
//  listpack   small hashes: one packed, managed block `lp` holding, after an 8-byte header
//             (bytes of pairs in use: lpUsed, and pairs: lpCount; Redis's listpack header
//             holds the same two numbers), the pairs back to back, in insertion order:
//                 [varint fieldLen][field bytes][varint valueLen][value bytes]  (x lpCount)
//             Lengths are unsigned LEB128 (7 bits a byte, low bits first), so a pair of
//             short strings costs 2 bytes of overhead (Redis's listpack spends 4). The rest
//             of the block is slack for appends. Lookups are linear scans, which for
//             <= hash-max-listpack-entries short pairs beat a table.
//  hashtable  `ht`: a Dict<HashField> (field -> value) plus `dense`, the same HashField
//             objects in an array (each knows its index), so HRANDFIELD draws a field
//             uniformly in O(1) (Redis's dictGetFairRandomKey only approximates this).
//             A HashField keeps its field and value in one block laid out exactly as a
//             listpack pair (`pair`), so a field costs one object and one buffer.
//
// Neither encoding has an object of its own around it: the key's entry holds the listpack
// block or the HashTable in its value area (entry.ts), and HashValue is a view of that entry.
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
import { Entry } from "./entry";

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
export const LISTPACK_MAX_SAFE_BYTES: i64 = <i64>OBJECT_MAXSIZE - 8; // the block's header (LP_HEADER)

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

// A listpack with no pairs yet is no block at all (the entry holds nothing); reading it
// sees this one, which is never written.
const EMPTY_LISTPACK = new ArrayBuffer(0);

/** A listpack block starts with Redis's header: bytes of pairs in use (u32), pairs (u32). */
const LP_HEADER: i32 = 8;

// pairAt()'s caches, for one listpack block at a time: the pair index and byte offset last
// visited, and the offsets of every pair (buildIndex). They are keyed by the block itself
// (a reference, so its address cannot be reused while cached); every change to a block's
// pairs goes through lpChanged(), which drops them.
let cursorLp: ArrayBuffer | null = null;
let cursorIdx: i32 = 0;
let cursorOff: i32 = 0;
let indexLp: ArrayBuffer | null = null;
let index: StaticArray<i32> = new StaticArray<i32>(0);

/**
 * A hash's value, read and written through its key's Entry: `this` IS the entry
 * (changetype), so a hash costs no object of its own. The entry's value area (entry.ts)
 * holds, with bit REF, either the listpack block or (bit TABLE) the HashTable; no block
 * means an empty listpack.
 */
@unmanaged @final export class HashValue {
  /** Makes the entry's value an empty hash (listpack encoding). */
  static initIn(e: Entry): HashValue {
    e.clearValue();
    e.isHashTable = false;
    return changetype<HashValue>(e);
  }

  @inline private get entry(): Entry { return changetype<Entry>(this); }

  /** The listpack block (EMPTY_LISTPACK when it has no block yet), or null once the hash is a hashtable. */
  get lp(): ArrayBuffer | null {
    const e = this.entry;
    if (e.isHashTable) return null;
    const v = e.val;
    return v != null ? v : EMPTY_LISTPACK;
  }
  /** The hashtable, or null while the hash is a listpack. */
  get ht(): HashTable | null {
    const e = this.entry;
    return e.isHashTable ? changetype<HashTable>(e.val) : null;
  }
  /** Bytes of pairs in the listpack (0 for a hashtable). */
  get lpUsed(): i32 {
    const lp = this.lp;
    return lp == null || lp.byteLength == 0 ? 0 : load<i32>(changetype<usize>(lp));
  }
  /** Pairs in the listpack (0 for a hashtable). */
  get lpCount(): i32 {
    const lp = this.lp;
    return lp == null || lp.byteLength == 0 ? 0 : load<i32>(changetype<usize>(lp), 4);
  }

  get length(): i32 { return this.entry.isHashTable ? this.ht!.dense.length : this.lpCount; }
  get isListpack(): bool { return !this.entry.isHashTable; }

  /** Looks a field up; on success its value is at valuePtr/valueLen. */
  find(ptr: usize, len: usize): bool {
    const lp = this.lp;
    if (lp != null) {
      const off = this.lpFind(ptr, len);
      if (off < 0) return false;
      setPairAt(lpBase(lp), off);
      return true;
    }
    const f = this.ht!.dict.find(ptr, len, hashBytes(ptr, len));
    if (f == null) return false;
    f.load();
    return true;
  }

  /** Sets field to value; returns true if the field is new (Redis's hashTypeSet returns the opposite). */
  set(fptr: usize, flen: usize, vptr: usize, vlen: usize): bool {
    if (this.isListpack && (<i64>flen > hashMaxListpackValue || <i64>vlen > hashMaxListpackValue ||
        <i64>this.lpUsed + listpackPairBytes(flen, vlen) > LISTPACK_MAX_SAFE_BYTES)) {
      this.convertToHashtable();
    }
    if (this.isListpack) {
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
    if (!this.isListpack || bytes <= 0 || bytes > <i64>i32.MAX_VALUE - LP_HEADER - <i64>this.lpUsed) return;
    this.lpReserve(this.lpUsed + <i32>bytes, true);
  }

  /** Removes a field; returns whether it was there. */
  remove(ptr: usize, len: usize): bool {
    if (this.isListpack) {
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
    const base = lpBase(lp);
    let off: i32;
    if (indexLp === lp) {
      off = unchecked(index[i]);
    } else {
      let at = 0;
      off = 0;
      if (cursorLp === lp && cursorIdx <= i) { at = cursorIdx; off = cursorOff; }
      while (at < i) { off = nextPair(base, off); at++; }
      cursorLp = lp;
      cursorIdx = i;
      cursorOff = off;
    }
    setPairAt(base, off);
  }

  /** Makes pairAt() O(1) for any index on a listpack until the next change. */
  buildIndex(): void {
    const lp = this.lp;
    if (lp == null || indexLp === lp) return;
    const n = this.lpCount;
    if (index.length < n) index = new StaticArray<i32>(n);
    const base = lpBase(lp);
    let off = 0;
    for (let i = 0; i < n; i++) {
      unchecked(index[i] = off);
      off = nextPair(base, off);
    }
    indexLp = lp;
  }

  /** Ends buildIndex()'s random access (call when the command that needed it is done). */
  dropIndex(): void {
    indexLp = null;
    // A big index from a big listpack is not kept around.
    if (index.length > 1024) index = new StaticArray<i32>(0);
  }

  /** Walks a hashtable's buckets for HSCAN (Dict.scan's cursor); only for the hashtable encoding. */
  scan(cursor: u64, out: Array<HashField>): u64 {
    return this.ht!.dict.scan(cursor, out);
  }

  /** Makes `dst` (a hash entry) hold a deep copy of this hash, in the same encoding (COPY). */
  cloneInto(dst: Entry): void {
    const c = HashValue.initIn(dst);
    const lp = this.lp;
    if (lp != null) {
      const used = this.lpUsed;
      if (used > 0) {
        const copy = new ArrayBuffer(LP_HEADER + used);
        memory.copy(changetype<usize>(copy), changetype<usize>(lp), <usize>(LP_HEADER + used));
        c.holdListpack(copy);
      }
      return;
    }
    const ht = new HashTable();
    const dense = this.ht!.dense;
    for (let i = 0; i < dense.length; i++) {
      const f = unchecked(dense[i]);
      ht.add(new HashField(copyBytes(changetype<usize>(f.pair), <usize>f.pair.byteLength), f.hash));
    }
    c.holdTable(ht);
  }

  /** Approximate bytes held by the value (MEMORY USAGE); the entry itself is counted by the caller. */
  get memoryBytes(): i64 {
    const lp = this.lp;
    if (lp != null) return <i64>lp.byteLength;
    const ht = this.ht!;
    const dense = ht.dense;
    let total: i64 = 40 + <i64>ht.dict.t0.length * 4 + <i64>dense.length * 4;
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
    const base = lpBase(lp);
    const n = this.lpCount;
    let off = 0;
    for (let i = 0; i < n; i++) {
      // A listpack pair is already a HashField's block: copy its bytes as they are.
      setPairAt(base, off);
      const end = nextPair(base, off);
      ht.add(new HashField(copyBytes(base + <usize>off, <usize>(end - off)), hashBytes(fieldPtr, fieldLen)));
      off = end;
    }
    lpChanged(lp);
    this.holdTable(ht);
  }

  // ---- the entry's value area --------------------------------------------------------

  /** The entry holds this listpack block (pinned; entry.ts). */
  private holdListpack(buf: ArrayBuffer): void {
    this.entry.val = buf;
    this.entry.isHashTable = false;
  }

  private holdTable(ht: HashTable): void {
    this.entry.val = changetype<ArrayBuffer>(ht);
    this.entry.isHashTable = true;
  }

  // ---- listpack internals ----------------------------------------------------------

  /** Byte offset (from the first pair) of the pair whose field is [ptr, ptr+len), or -1. */
  private lpFind(ptr: usize, len: usize): i32 {
    const lp = this.lp!;
    const base = lpBase(lp);
    const n = this.lpCount;
    let off = 0;
    for (let i = 0; i < n; i++) {
      const p = base + <usize>off;
      const hdr = readVarint(p);
      if (varint == len && memory.compare(p + hdr, ptr, len) == 0) return off;
      const v = p + hdr + varint;
      off = <i32>(v + readVarint(v) + varint - base);
    }
    return -1;
  }

  /**
   * Makes the block hold at least `need` bytes of pairs. Appends grow it by a quarter
   * (amortised O(1) copies, bounded slack); `exact` asks for just `need` (a known batch).
   */
  private lpReserve(need: i32, exact: bool = false): void {
    const lp = this.lp!;
    const capNow = lp.byteLength - LP_HEADER; // -8 for the empty listpack: it has no header yet
    if (need <= capNow) return;
    let cap = exact ? need : capNow + (capNow >> 2);
    if (cap < need) cap = need;
    if (!exact) cap = min((cap + 7) & ~7, max(need, <i32>OBJECT_MAXSIZE - LP_HEADER));
    const grown = new ArrayBuffer(LP_HEADER + cap);
    if (lp.byteLength != 0) memory.copy(changetype<usize>(grown), changetype<usize>(lp), <usize>(LP_HEADER + this.lpUsed));
    else store<u64>(changetype<usize>(grown), 0);
    this.holdListpack(grown);
  }

  private lpSet(fptr: usize, flen: usize, vptr: usize, vlen: usize): bool {
    lpChanged(this.lp!);
    const off = this.lpFind(fptr, flen);
    const used = this.lpUsed;
    if (off >= 0) {
      // Replace the value in place, moving the tail when its size changes.
      let base = lpBase(this.lp!);
      const fhdr = readVarint(base + <usize>off);
      const voff = off + <i32>fhdr + <i32>varint;
      const oldHdr = <i32>readVarint(base + <usize>voff);
      const oldLen = <i32>varint;
      const newHdr = varintSize(vlen);
      const delta = (newHdr + <i32>vlen) - (oldHdr + oldLen);
      if (delta > 0) {
        this.lpReserve(used + delta);
        base = lpBase(this.lp!);
      }
      const tail = voff + oldHdr + oldLen;
      if (delta != 0) memory.copy(base + <usize>(tail + delta), base + <usize>tail, <usize>(used - tail));
      const p = base + <usize>voff;
      writeVarint(p, vlen);
      memory.copy(p + <usize>newHdr, vptr, vlen);
      store<i32>(base - LP_HEADER, used + delta);
      return false;
    }
    const fhdr = varintSize(flen);
    const vhdr = varintSize(vlen);
    const size = fhdr + <i32>flen + vhdr + <i32>vlen;
    this.lpReserve(used + size);
    const base = lpBase(this.lp!);
    let p = base + <usize>used;
    writeVarint(p, flen);
    p += <usize>fhdr;
    memory.copy(p, fptr, flen);
    p += flen;
    writeVarint(p, vlen);
    memory.copy(p + <usize>vhdr, vptr, vlen);
    store<i32>(base - LP_HEADER, used + size);
    store<i32>(base - LP_HEADER, load<i32>(base - LP_HEADER, 4) + 1, 4);
    return true;
  }

  private lpDeleteAt(off: i32): void {
    const lp = this.lp!;
    lpChanged(lp);
    const base = lpBase(lp);
    const end = nextPair(base, off);
    const used = this.lpUsed - (end - off);
    memory.copy(base + <usize>off, base + <usize>end, <usize>(used - off));
    store<i32>(base - LP_HEADER, used);
    store<i32>(base - LP_HEADER, this.lpCount - 1, 4);
    // Give memory back when a big listpack has mostly emptied.
    const cap = lp.byteLength - LP_HEADER;
    if (cap > 256 && used < (cap >> 2)) {
      const shrunk = new ArrayBuffer(LP_HEADER + ((used + (used >> 2) + 7) & ~7));
      memory.copy(changetype<usize>(shrunk), changetype<usize>(lp), <usize>(LP_HEADER + used));
      this.holdListpack(shrunk);
    }
  }
}

/** Where a listpack block's first pair starts. */
@inline function lpBase(lp: ArrayBuffer): usize { return changetype<usize>(lp) + <usize>LP_HEADER; }

/** A listpack block's pairs are about to change: pairAt()'s caches of it are stale. */
function lpChanged(lp: ArrayBuffer): void {
  if (cursorLp === lp) cursorLp = null;
  if (indexLp === lp) indexLp = null;
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
