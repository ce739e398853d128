// Dict<E>: a chained hash table shaped like Redis's dict.c.
//
//  - Bucket tables are powers of two; a key's bucket is `hash & mask`.
//  - Growing or shrinking allocates a second table and moves entries over incrementally
//    (rehashStep: a few buckets per lookup/insert/delete), so no single command pauses
//    for a whole-table rehash. While rehashing, lookups check both tables and inserts go
//    to the new one.
//  - scan() uses Redis's reverse-binary cursor increment, which guarantees that an entry
//    present for a whole scan is returned at least once even if the table is resized
//    between calls (it may be returned twice).
//
// E is any class with `key: ArrayBuffer` (or a `keyEquals(ptr, len)` method), `hash: u32`
// and `next: E | null` (the chain link), so the keyspace and hash values share this code
// without boxing. An E without a `hash` field (the keyspace's Entry, which saves the 4
// bytes) has `keyPtr`/`keyLen` and a 5-bit tag of its hash (`tagMatches`): matching tests
// the tag, then compares the key, and moving it to a new table hashes its key again, as
// Redis's dict does.

import { bufEquals, hashBytes } from "./hash";

const INITIAL_SIZE: i32 = 4;
const REHASH_BUCKETS_PER_STEP: i32 = 4;
/** Shrink when fewer than 1 in this many buckets would be used (Redis's HASHTABLE_MIN_FILL). */
const MIN_FILL: i32 = 10;

// Redis's dict_can_resize, one setting for every dict (server.c updateDictResizePolicy): the
// host sets AVOID while a background job's child process runs (BGSAVE, AOF rewrite), as
// Redis does to spare its fork copy-on-write pages. AVOID: no shrink, and grow or keep
// rehashing only when the two sizes are dict_force_resize_ratio (5) or more apart. FORBID
// (Redis's fork child) stops all of it. A snapshot walk (persistence/bgsave.ts) needs none of
// it: it walks with scan()'s cursor, which tolerates resizes.
export const RESIZE_ENABLE: i32 = 0;
export const RESIZE_AVOID: i32 = 1;
export const RESIZE_FORBID: i32 = 2;
const FORCE_RESIZE_RATIO: i32 = 5;
let resizePolicy: i32 = RESIZE_ENABLE;
export function setDictResizePolicy(policy: i32): void { resizePolicy = policy; }
export function dictResizePolicy(): i32 { return resizePolicy; }

/** _dictExpandIfNeeded's test, for a full table (used >= buckets). */
function expandAllowed(used: i32, buckets: i32): bool {
  if (resizePolicy == RESIZE_ENABLE) return true;
  return resizePolicy != RESIZE_FORBID && used / buckets > FORCE_RESIZE_RATIO;
}

export class Dict<E> {
  t0: StaticArray<E | null> = new StaticArray<E | null>(INITIAL_SIZE);
  t1: StaticArray<E | null> | null = null;
  used0: i32 = 0;
  used1: i32 = 0;
  /** Next bucket of t0 to move into t1, or -1 when not rehashing. */
  rehashIdx: i32 = -1;

  get size(): i32 { return this.used0 + this.used1; }
  get isRehashing(): bool { return this.rehashIdx >= 0; }

  find(ptr: usize, len: usize, hash: u32): E | null {
    if (this.rehashIdx >= 0) this.rehashStep();
    let e = unchecked(this.t0[<i32>(hash & <u32>(this.t0.length - 1))]);
    while (e != null) {
      if (matches<E>(e, ptr, len, hash)) return e;
      e = e.next;
    }
    const t1 = this.t1;
    if (t1 != null) {
      e = unchecked(t1[<i32>(hash & <u32>(t1.length - 1))]);
      while (e != null) {
        if (matches<E>(e, ptr, len, hash)) return e;
        e = e.next;
      }
    }
    return null;
  }

  /** Inserts e, which must not be present. */
  add(e: E): void { this.addHashed(e, hashOf<E>(e)); }

  /** add() when the caller already has e's hash. */
  addHashed(e: E, hash: u32): void {
    if (this.rehashIdx >= 0) this.rehashStep();
    else if (this.used0 >= this.t0.length && expandAllowed(this.used0, this.t0.length)) this.startResize(this.used0 + 1);
    const t1 = this.t1;
    if (t1 != null) {
      const i = <i32>(hash & <u32>(t1.length - 1));
      e.next = unchecked(t1[i]);
      unchecked(t1[i] = e);
      this.used1++;
    } else {
      const t0 = this.t0;
      const i = <i32>(hash & <u32>(t0.length - 1));
      e.next = unchecked(t0[i]);
      unchecked(t0[i] = e);
      this.used0++;
    }
  }

  /** Unlinks and returns the entry for the key, or null. */
  remove(ptr: usize, len: usize, hash: u32): E | null {
    if (this.rehashIdx >= 0) this.rehashStep();
    let removed = this.unlinkFrom(this.t0, ptr, len, hash);
    if (removed != null) {
      this.used0--;
    } else {
      const t1 = this.t1;
      if (t1 != null) {
        removed = this.unlinkFrom(t1, ptr, len, hash);
        if (removed != null) this.used1--;
      }
    }
    if (removed != null) {
      removed.next = null;
      this.shrinkIfSparse();
    }
    return removed;
  }

  private unlinkFrom(t: StaticArray<E | null>, ptr: usize, len: usize, hash: u32): E | null {
    const i = <i32>(hash & <u32>(t.length - 1));
    let prev: E | null = null;
    let e = unchecked(t[i]);
    while (e != null) {
      if (matches<E>(e, ptr, len, hash)) {
        if (prev == null) unchecked(t[i] = e.next);
        else prev.next = e.next;
        return e;
      }
      prev = e;
      e = e.next;
    }
    return null;
  }

  clear(): void {
    this.t0 = new StaticArray<E | null>(INITIAL_SIZE);
    this.t1 = null;
    this.used0 = 0;
    this.used1 = 0;
    this.rehashIdx = -1;
  }

  private shrinkIfSparse(): void {
    if (this.rehashIdx >= 0 || resizePolicy != RESIZE_ENABLE) return;
    const buckets = this.t0.length;
    if (buckets > INITIAL_SIZE && this.used0 * MIN_FILL < buckets) this.startResize(this.used0);
  }

  /**
   * Redis's dictExpand: makes room for `n` entries up front (an RDB's RESIZEDB hint), so a
   * load adds a million keys without growing through twenty tables and rehashing each one.
   * An empty table is replaced at once; a non-empty one grows by the usual incremental
   * rehash. Never shrinks, and does nothing while a rehash or a child's resize policy is on.
   */
  reserve(n: i32): void {
    if (this.rehashIdx >= 0 || resizePolicy != RESIZE_ENABLE || n <= this.t0.length) return;
    if (this.size == 0) {
      let size = INITIAL_SIZE;
      while (size < n) size <<= 1;
      this.t0 = new StaticArray<E | null>(size);
      return;
    }
    this.startResize(n);
  }

  private startResize(minSize: i32): void {
    let size = INITIAL_SIZE;
    while (size < minSize) size <<= 1;
    if (size == this.t0.length) return;
    this.t1 = new StaticArray<E | null>(size);
    this.rehashIdx = 0;
  }

  /** Moves up to REHASH_BUCKETS_PER_STEP buckets (visiting at most 10x as many empty ones). */
  rehashStep(): void {
    const t1 = this.t1!;
    const t0 = this.t0;
    if (resizePolicy != RESIZE_ENABLE) {
      // dictRehash: a child is running; carry on only for an extreme size ratio.
      if (resizePolicy == RESIZE_FORBID) return;
      const s0 = t0.length, s1 = t1.length;
      if ((s1 > s0 && s1 / s0 < FORCE_RESIZE_RATIO) || (s1 < s0 && s0 / s1 < FORCE_RESIZE_RATIO)) return;
    }
    const mask1 = <u32>(t1.length - 1);
    let moved = 0;
    let emptyVisits = REHASH_BUCKETS_PER_STEP * 10;
    while (moved < REHASH_BUCKETS_PER_STEP && this.rehashIdx < t0.length) {
      let e = unchecked(t0[this.rehashIdx]);
      if (e == null) {
        this.rehashIdx++;
        if (--emptyVisits == 0) break;
        continue;
      }
      while (e != null) {
        const next = e.next;
        const i = <i32>(hashOf<E>(e) & mask1);
        e.next = unchecked(t1[i]);
        unchecked(t1[i] = e);
        this.used0--;
        this.used1++;
        e = next;
      }
      unchecked(t0[this.rehashIdx] = null);
      this.rehashIdx++;
      moved++;
    }
    if (this.rehashIdx >= t0.length) {
      this.t0 = t1;
      this.used0 = this.used1;
      this.used1 = 0;
      this.t1 = null;
      this.rehashIdx = -1;
    }
  }

  /**
   * Appends the entries of the bucket(s) at `cursor` to out and returns the next cursor
   * (0 when the scan is complete). Same algorithm as Redis's dictScan.
   */
  scan(cursor: u64, out: Array<E>): u64 {
    if (this.size == 0) return 0;
    let v = cursor;
    const t1 = this.t1;
    if (t1 == null) {
      const m0 = <u64>(this.t0.length - 1);
      emitChain<E>(unchecked(this.t0[<i32>(v & m0)]), out);
      v |= ~m0;
      v = reverseBits(v); v++; v = reverseBits(v);
      return v;
    }
    // Rehashing: visit the small table's bucket, then every bucket of the large table
    // that expands from it.
    let small = this.t0;
    let large = t1;
    if (small.length > large.length) { small = t1; large = this.t0; }
    const m0 = <u64>(small.length - 1);
    const m1 = <u64>(large.length - 1);
    emitChain<E>(unchecked(small[<i32>(v & m0)]), out);
    do {
      emitChain<E>(unchecked(large[<i32>(v & m1)]), out);
      v |= ~m1;
      v = reverseBits(v); v++; v = reverseBits(v);
    } while ((v & (m0 ^ m1)) != 0);
    return v;
  }

  /** A random entry (uniform over buckets, then over the chain), or null when empty. */
  random(rand: () => u32): E | null {
    if (this.size == 0) return null;
    let e: E | null = null;
    const t1 = this.t1;
    while (e == null) {
      if (t1 != null) {
        const total = this.t0.length + t1.length;
        const i = <i32>(rand() % <u32>total);
        e = i < this.t0.length ? unchecked(this.t0[i]) : unchecked(t1[i - this.t0.length]);
      } else {
        e = unchecked(this.t0[<i32>(rand() & <u32>(this.t0.length - 1))]);
      }
    }
    let n = 0;
    let c: E | null = e;
    while (c != null) { n++; c = c.next; }
    let pick = <i32>(rand() % <u32>n);
    c = e;
    while (pick-- > 0) c = c!.next;
    return c;
  }

  /** Appends every entry to out (KEYS, FLUSHDB's handle release). */
  collect(out: Array<E>): void {
    collectTable<E>(this.t0, out);
    const t1 = this.t1;
    if (t1 != null) collectTable<E>(t1, out);
  }
}

/**
 * Does e's key equal [ptr, ptr+len)? An entry type whose key is not a whole buffer of its
 * own (a hash field stored in one block with its value) provides keyEquals(ptr, len).
 */
@inline function keyEquals<E>(e: E, ptr: usize, len: usize): bool {
  if (isDefined(e.keyEquals)) return e.keyEquals(ptr, len);
  return bufEquals(e.key, ptr, len);
}

/** e's hash: its cached one, or its key's hashed again. */
@inline function hashOf<E>(e: E): u32 {
  if (isDefined(e.hash)) return e.hash;
  return hashBytes(e.keyPtr, <usize>e.keyLen);
}

/** Is e the entry for the key [ptr, ptr+len) whose hash is `hash`? */
@inline function matches<E>(e: E, ptr: usize, len: usize, hash: u32): bool {
  if (isDefined(e.hash)) return e.hash == hash && keyEquals<E>(e, ptr, len);
  // The keyspace's Entry keeps 5 bits of its hash (entry.ts typeTag).
  if (isDefined(e.tagMatches)) return e.tagMatches(hash) && keyEquals<E>(e, ptr, len);
  return keyEquals<E>(e, ptr, len);
}

function collectTable<E>(t: StaticArray<E | null>, out: Array<E>): void {
  for (let i = 0; i < t.length; i++) emitChain<E>(unchecked(t[i]), out);
}

@inline function emitChain<E>(e: E | null, out: Array<E>): void {
  while (e != null) {
    out.push(e);
    e = e.next;
  }
}

@inline function reverseBits(v: u64): u64 {
  // Bit reversal of a 64-bit word (swap halves, then progressively smaller groups).
  v = ((v >> 1) & 0x5555555555555555) | ((v & 0x5555555555555555) << 1);
  v = ((v >> 2) & 0x3333333333333333) | ((v & 0x3333333333333333) << 2);
  v = ((v >> 4) & 0x0f0f0f0f0f0f0f0f) | ((v & 0x0f0f0f0f0f0f0f0f) << 4);
  v = ((v >> 8) & 0x00ff00ff00ff00ff) | ((v & 0x00ff00ff00ff00ff) << 8);
  v = ((v >> 16) & 0x0000ffff0000ffff) | ((v & 0x0000ffff0000ffff) << 16);
  return (v >> 32) | (v << 32);
}
