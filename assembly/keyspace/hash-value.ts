// HashValue: the value of a Redis hash, in one of Redis's two encodings (t_hash.c).
//
//  listpack   small hashes: one packed, managed block `lp` holding the pairs back to back,
//             in insertion order:
//                 [u32 fieldLen][field bytes][u32 valueLen][value bytes]  (x lpCount)
//             lpUsed bytes of lp are in use; the rest is slack for appends. Lookups are
//             linear scans, which for <= hash-max-listpack-entries short pairs beat a table
//             and cost ~8 bytes of overhead per pair instead of an object per field.
//  hashtable  a Dict<HashField> (field -> value) plus `dense`, the same HashField objects in
//             an array (each knows its index), so HRANDFIELD draws a field uniformly in O(1)
//             (Redis's dictGetFairRandomKey only approximates this).
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

export let hashMaxListpackEntries: i64 = 128;
export let hashMaxListpackValue: i64 = 64;

/** CONFIG SET hash-max-listpack-entries / hash-max-listpack-value (and the ziplist aliases). */
export function setHashListpackLimits(entries: i64, value: i64): void {
  hashMaxListpackEntries = entries;
  hashMaxListpackValue = value;
}

export let fieldPtr: usize = 0;
export let fieldLen: usize = 0;
export let valuePtr: usize = 0;
export let valueLen: usize = 0;

export class HashField {
  next: HashField | null = null;
  /** Position in HashValue.dense. */
  idx: i32 = 0;
  constructor(public key: ArrayBuffer, public hash: u32, public value: ArrayBuffer) {}
}

export class HashValue {
  // listpack encoding (lp != null)
  lp: ArrayBuffer | null = null;
  lpUsed: i32 = 0;
  lpCount: i32 = 0;
  /** Sequential-access cache for pairAt(): the pair index and byte offset last visited. */
  private lpCursorIdx: i32 = -1;
  private lpCursorOff: i32 = 0;
  /** Byte offset of every pair, built on demand for random access (HRANDFIELD); dropped on change. */
  private lpIndex: StaticArray<i32> | null = null;

  // hashtable encoding (dict != null)
  dict: Dict<HashField> | null = null;
  dense: Array<HashField> | null = null;

  constructor() {
    this.lp = new ArrayBuffer(32);
  }

  get length(): i32 { return this.lp != null ? this.lpCount : this.dense!.length; }
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
    const f = this.dict!.find(ptr, len, hashBytes(ptr, len));
    if (f == null) return false;
    valuePtr = changetype<usize>(f.value);
    valueLen = <usize>f.value.byteLength;
    return true;
  }

  /** Sets field to value; returns true if the field is new (Redis's hashTypeSet returns the opposite). */
  set(fptr: usize, flen: usize, vptr: usize, vlen: usize): bool {
    if (this.lp != null && (<i64>flen > hashMaxListpackValue || <i64>vlen > hashMaxListpackValue)) {
      this.convertToHashtable();
    }
    if (this.lp != null) {
      const isNew = this.lpSet(fptr, flen, vptr, vlen);
      if (<i64>this.lpCount > hashMaxListpackEntries) this.convertToHashtable();
      return isNew;
    }
    const h = hashBytes(fptr, flen);
    const f = this.dict!.find(fptr, flen, h);
    if (f != null) {
      if (<usize>f.value.byteLength == vlen) memory.copy(changetype<usize>(f.value), vptr, vlen);
      else f.value = copyBytes(vptr, vlen);
      return false;
    }
    this.htAdd(new HashField(copyBytes(fptr, flen), h, copyBytes(vptr, vlen)));
    return true;
  }

  /** Removes a field; returns whether it was there. */
  remove(ptr: usize, len: usize): bool {
    if (this.lp != null) {
      const off = this.lpFind(ptr, len);
      if (off < 0) return false;
      this.lpDeleteAt(off);
      return true;
    }
    const f = this.dict!.remove(ptr, len, hashBytes(ptr, len));
    if (f == null) return false;
    const dense = this.dense!;
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
      const f = unchecked(this.dense![i]);
      fieldPtr = changetype<usize>(f.key);
      fieldLen = <usize>f.key.byteLength;
      valuePtr = changetype<usize>(f.value);
      valueLen = <usize>f.value.byteLength;
      return;
    }
    const base = changetype<usize>(lp);
    const index = this.lpIndex;
    let off: i32;
    if (index != null) {
      off = unchecked(index[i]);
    } else {
      let at = 0;
      off = 0;
      if (this.lpCursorIdx >= 0 && this.lpCursorIdx <= i) { at = this.lpCursorIdx; off = this.lpCursorOff; }
      while (at < i) { off = nextPair(base, off); at++; }
      this.lpCursorIdx = i;
      this.lpCursorOff = off;
    }
    setPairAt(base, off);
  }

  /** Makes pairAt() O(1) for any index on a listpack until the next change. */
  buildIndex(): void {
    const lp = this.lp;
    if (lp == null || this.lpIndex != null) return;
    const index = new StaticArray<i32>(this.lpCount);
    const base = changetype<usize>(lp);
    let off = 0;
    for (let i = 0; i < this.lpCount; i++) {
      unchecked(index[i] = off);
      off = nextPair(base, off);
    }
    this.lpIndex = index;
  }

  /** Drops buildIndex()'s array (call when the command that needed it is done). */
  dropIndex(): void { this.lpIndex = null; }

  /** A deep copy with the same encoding (COPY). */
  clone(): HashValue {
    const c = new HashValue();
    const lp = this.lp;
    if (lp != null) {
      const copy = new ArrayBuffer(max(this.lpUsed, 32));
      memory.copy(changetype<usize>(copy), changetype<usize>(lp), <usize>this.lpUsed);
      c.lp = copy;
      c.lpUsed = this.lpUsed;
      c.lpCount = this.lpCount;
      return c;
    }
    c.lp = null;
    c.dict = new Dict<HashField>();
    c.dense = new Array<HashField>();
    const dense = this.dense!;
    for (let i = 0; i < dense.length; i++) {
      const f = unchecked(dense[i]);
      c.htAdd(new HashField(copyBytes(changetype<usize>(f.key), <usize>f.key.byteLength), f.hash,
        copyBytes(changetype<usize>(f.value), <usize>f.value.byteLength)));
    }
    return c;
  }

  /** Approximate bytes held by the value (MEMORY USAGE). */
  get memoryBytes(): i64 {
    const lp = this.lp;
    if (lp != null) return 48 + <i64>lp.byteLength;
    const dense = this.dense!;
    const d = this.dict!;
    let total: i64 = 64 + <i64>d.t0.length * 4 + <i64>dense.length * 4;
    const t1 = d.t1;
    if (t1 != null) total += <i64>t1.length * 4;
    for (let i = 0; i < dense.length; i++) {
      const f = unchecked(dense[i]);
      total += 32 + 40 + <i64>f.key.byteLength + <i64>f.value.byteLength;
    }
    return total;
  }

  convertToHashtable(): void {
    const lp = this.lp;
    if (lp == null) return;
    this.dict = new Dict<HashField>();
    this.dense = new Array<HashField>();
    const base = changetype<usize>(lp);
    let off = 0;
    for (let i = 0; i < this.lpCount; i++) {
      setPairAt(base, off);
      this.htAdd(new HashField(copyBytes(fieldPtr, fieldLen), hashBytes(fieldPtr, fieldLen),
        copyBytes(valuePtr, valueLen)));
      off = nextPair(base, off);
    }
    this.lp = null;
    this.lpUsed = 0;
    this.lpCount = 0;
    this.lpIndex = null;
    this.lpCursorIdx = -1;
  }

  // ---- hashtable internals ---------------------------------------------------------

  private htAdd(f: HashField): void {
    const dense = this.dense!;
    f.idx = dense.length;
    dense.push(f);
    this.dict!.add(f);
  }

  // ---- listpack internals ----------------------------------------------------------

  /** Byte offset of the pair whose field is [ptr, ptr+len), or -1. */
  private lpFind(ptr: usize, len: usize): i32 {
    const base = changetype<usize>(this.lp!);
    let off = 0;
    for (let i = 0; i < this.lpCount; i++) {
      const flen = <usize>load<u32>(base + <usize>off);
      if (flen == len && memory.compare(base + <usize>off + 4, ptr, len) == 0) return off;
      off = nextPair(base, off);
    }
    return -1;
  }

  private lpChanged(): void {
    this.lpIndex = null;
    this.lpCursorIdx = -1;
  }

  /** Makes room for `need` bytes in use; growth by half again keeps appends amortised O(1). */
  private lpReserve(need: i32): void {
    const lp = this.lp!;
    if (need <= lp.byteLength) return;
    let cap = lp.byteLength + (lp.byteLength >> 1);
    if (cap < need) cap = need;
    cap = (cap + 7) & ~7;
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
      const voff = off + 4 + <i32>load<u32>(base + <usize>off);
      const oldLen = <i32>load<u32>(base + <usize>voff);
      const delta = <i32>vlen - oldLen;
      if (delta > 0) {
        this.lpReserve(this.lpUsed + delta);
        base = changetype<usize>(this.lp!);
      }
      const tail = voff + 4 + oldLen;
      if (delta != 0) memory.copy(base + <usize>(tail + delta), base + <usize>tail, <usize>(this.lpUsed - tail));
      store<u32>(base + <usize>voff, <u32>vlen);
      memory.copy(base + <usize>voff + 4, vptr, vlen);
      this.lpUsed += delta;
      return false;
    }
    const at = this.lpUsed;
    this.lpReserve(at + 8 + <i32>flen + <i32>vlen);
    const p = changetype<usize>(this.lp!) + <usize>at;
    store<u32>(p, <u32>flen);
    memory.copy(p + 4, fptr, flen);
    store<u32>(p + 4 + flen, <u32>vlen);
    memory.copy(p + 8 + flen, vptr, vlen);
    this.lpUsed = at + 8 + <i32>flen + <i32>vlen;
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
      const shrunk = new ArrayBuffer((this.lpUsed * 2 + 7) & ~7);
      memory.copy(changetype<usize>(shrunk), base, <usize>this.lpUsed);
      this.lp = shrunk;
    }
  }
}

/** Offset of the pair after the one at off. */
@inline function nextPair(base: usize, off: i32): i32 {
  off += 4 + <i32>load<u32>(base + <usize>off);
  return off + 4 + <i32>load<u32>(base + <usize>off);
}

@inline function setPairAt(base: usize, off: i32): void {
  const p = base + <usize>off;
  fieldLen = <usize>load<u32>(p);
  fieldPtr = p + 4;
  const v = fieldPtr + fieldLen;
  valueLen = <usize>load<u32>(v);
  valuePtr = v + 4;
}

/** OBJECT ENCODING of a hash: "listpack" or "hashtable". */
export function hashEncoding(h: HashValue): string {
  return h.isListpack ? "listpack" : "hashtable";
}
