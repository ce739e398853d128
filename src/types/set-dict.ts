// SetDict: the hash table of a hashtable-encoded set, shaped like Redis's dict.c. It indexes
// SetValue's member array (src/types/set.ts) by position and is the set's only index in that
// encoding: membership lookups walk its buckets, and it is what clients can observe of Redis's
// dict: SSCAN's order and cursor (dictScan's reverse-binary walk over the buckets), DEBUG
// HTSTATS-KEY's numbers, incremental rehashing and Redis's resize rules, including the resize
// policy while a background job's child runs (src/persistence/resize-policy.ts).
//
// Layout, by member position p (SetValue.members[p]), in one Int32Array `e` of 4 ints a member
// so that one cache line holds all of a member's links:
//   e[4p]     its hash (32-bit FNV-1a of the member's bytes)
//   e[4p + 1] the next position in its bucket's chain (-1 at the end)
//   e[4p + 2] the previous position in the chain (-1: it is its bucket's head)
//   e[4p + 3] the size of the table it is in (t0's and t1's sizes always differ, and when a
//             rehash ends t1 becomes t0 with its size, so this stays right with no rewrite)
// The back link makes unlinking and moving a member O(1) with no chain walk: SetValue removes a
// member by moving its last member into the hole, and only the moved member's neighbours (or
// its bucket head) are repointed. Buckets are Int32Array heads (-1: empty), powers of two, a
// member's bucket being hash & (size - 1). While rehashing, t0 is the old table, t1 the new
// one; rehashIdx is the next t0 bucket to move (every t0 bucket below it is empty), and new
// members go to t1 as in Redis. Rehash steps happen where Redis's do: one per add, delete and
// lookup, and 15 per random pick (dictGetFairRandomKey's dictGetSomeKeys).

export const RESIZE_ENABLE = 0;
export const RESIZE_AVOID = 1;
export const RESIZE_FORBID = 2;
/** Redis's dict_can_resize for the host's dicts (the kernel has its own copy, set alike). */
let resizePolicy = RESIZE_ENABLE;
export function setHostDictResizePolicy(p: number): void { resizePolicy = p; }

const INITIAL_SIZE = 4;
const FORCE_RESIZE_RATIO = 5;
/** htNeedsResize's HASHTABLE_MIN_FILL (percent). */
const MIN_FILL = 10;
/** Ints per member in `e`. */
const STRIDE = 4;
const HASH = 0, NEXT = 1, PREV = 2, TABLE = 3;

export function memberHash(m: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < m.length; i++) {
    h ^= m.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

function rev32(v: number): number {
  v = ((v >>> 1) & 0x55555555) | ((v & 0x55555555) << 1);
  v = ((v >>> 2) & 0x33333333) | ((v & 0x33333333) << 2);
  v = ((v >>> 4) & 0x0f0f0f0f) | ((v & 0x0f0f0f0f) << 4);
  v = ((v >>> 8) & 0x00ff00ff) | ((v & 0x00ff00ff) << 8);
  return ((v >>> 16) | (v << 16)) >>> 0;
}

/** dictScan's cursor step for mask m: v |= ~m; v = rev(v); v++; v = rev(v). */
function nextCursor(v: number, m: number): number {
  return rev32((rev32((v | ~m) >>> 0) + 1) >>> 0);
}

function emptyTable(size: number): Int32Array { return new Int32Array(size).fill(-1); }

export interface TableStats {
  size: number; used: number; slots: number; maxChain: number; totalChain: number; clvector: number[];
}

export class SetDict {
  t0: Int32Array;
  t1: Int32Array | null = null;
  used0 = 0;
  used1 = 0;
  rehashIdx = -1;
  /** Per-position links (see the layout above); capacity grows by doubling. */
  private e: Int32Array;

  constructor(tableSize = INITIAL_SIZE, capacity = 16) {
    this.t0 = emptyTable(tableSize);
    this.e = new Int32Array(Math.max(capacity, 4) * STRIDE);
  }

  get isRehashing(): boolean { return this.rehashIdx >= 0; }
  get size(): number { return this.used0 + this.used1; }

  /** A dict presized for `members` (dictExpand on an empty dict sets table 0), then filled. */
  static sized(members: readonly string[]): SetDict {
    let n = INITIAL_SIZE;
    while (n < members.length) n *= 2;
    const d = new SetDict(n, members.length);
    for (let i = 0; i < members.length; i++) d.insert(i, memberHash(members[i]));
    return d;
  }

  /** Bytes the table and the links take (MEMORY USAGE, src/types/value-size.ts). */
  bytes(): number { return this.e.byteLength + this.t0.byteLength + (this.t1?.byteLength ?? 0); }

  /** One rehash step when rehashing (_dictRehashStep), `steps` times at most. */
  touch(steps = 1): void {
    for (let i = 0; i < steps && this.rehashIdx >= 0; i++) this.rehashStep();
  }

  /**
   * The position holding m (hash h), or -1 (dictFind's lookup without its rehash step, which
   * the caller takes: a lookup, an add and a delete each take exactly one).
   */
  find(m: string, h: number, members: readonly string[]): number {
    const e = this.e;
    const t0 = this.t0;
    const b0 = h & (t0.length - 1);
    if (b0 >= this.rehashIdx) { // buckets below rehashIdx have moved to t1
      for (let p = t0[b0]; p >= 0; p = e[p * STRIDE + NEXT]) {
        if (e[p * STRIDE + HASH] === h && members[p] === m) return p;
      }
    }
    const t1 = this.t1;
    if (t1 !== null) {
      for (let p = t1[h & (t1.length - 1)]; p >= 0; p = e[p * STRIDE + NEXT]) {
        if (e[p * STRIDE + HASH] === h && members[p] === m) return p;
      }
    }
    return -1;
  }

  /** Grows when full (_dictExpandIfNeeded) and inserts position pos, hash h, at its bucket's head. */
  add(pos: number, h: number): void {
    if (this.rehashIdx < 0) this.expandIfNeeded();
    this.insert(pos, h);
  }

  /** Unlinks position pos: O(1) through its back link. */
  remove(pos: number): void {
    const e = this.e;
    const o = pos * STRIDE;
    const next = e[o + NEXT], prev = e[o + PREV];
    const inT0 = e[o + TABLE] === this.t0.length;
    if (prev >= 0) e[prev * STRIDE + NEXT] = next;
    else (inT0 ? this.t0 : this.t1!)[e[o + HASH] & (e[o + TABLE] - 1)] = next;
    if (next >= 0) e[next * STRIDE + PREV] = prev;
    if (inT0) this.used0--;
    else this.used1--;
  }

  /**
   * The member at `from` now lives at `to` (SetValue moved its last member into a hole whose
   * member was removed first): its links move with it, and its neighbours point at `to`.
   */
  move(from: number, to: number): void {
    const e = this.e;
    const f = from * STRIDE, t = to * STRIDE;
    const h = e[f + HASH], next = e[f + NEXT], prev = e[f + PREV], size = e[f + TABLE];
    e[t + HASH] = h;
    e[t + NEXT] = next;
    e[t + PREV] = prev;
    e[t + TABLE] = size;
    if (prev >= 0) e[prev * STRIDE + NEXT] = to;
    else (size === this.t0.length ? this.t0 : this.t1!)[h & (size - 1)] = to;
    if (next >= 0) e[next * STRIDE + PREV] = to;
  }

  /** htNeedsResize + dictResize, after a delete: shrink to fit when under 10% full. */
  resizeIfSparse(): void {
    const slots = this.t0.length + (this.t1 === null ? 0 : this.t1.length);
    if (slots <= INITIAL_SIZE) return;
    const used = this.used0 + this.used1;
    if ((used * 100) / slots >= MIN_FILL) return;
    if (resizePolicy !== RESIZE_ENABLE || this.rehashIdx >= 0) return;
    this.expand(Math.max(used, INITIAL_SIZE));
  }

  /**
   * dictScan: calls emit(pos) for each member of the bucket(s) at cursor and returns the next
   * cursor (0 when the walk is complete). Positions, not members: the caller reads them.
   */
  scan(cursor: number, emit: (pos: number) => void): number {
    if (this.used0 + this.used1 === 0) return 0;
    let v = cursor >>> 0;
    const t1 = this.t1;
    if (!t1) {
      const m0 = this.t0.length - 1;
      this.emitChain(this.t0[v & m0], emit);
      return nextCursor(v, m0);
    }
    let small = this.t0, large = t1;
    if (small.length > large.length) { small = t1; large = this.t0; }
    const m0 = small.length - 1, m1 = large.length - 1;
    this.emitChain(small[v & m0], emit);
    do {
      this.emitChain(large[v & m1], emit);
      v = nextCursor(v, m1);
    } while ((v & (m0 ^ m1)) !== 0);
    return v;
  }

  /** _dictGetStatsHt's numbers for table htidx, or null when there is no such table. */
  stats(htidx: number): TableStats | null {
    const t = htidx === 0 ? this.t0 : this.t1;
    if (!t) return null;
    const clvector = new Array<number>(50).fill(0);
    let slots = 0, maxChain = 0, totalChain = 0;
    for (let i = 0; i < t.length; i++) {
      let chain = 0;
      for (let p = t[i]; p >= 0; p = this.e[p * STRIDE + NEXT]) chain++;
      clvector[Math.min(chain, 49)]++;
      if (chain === 0) continue;
      slots++;
      maxChain = Math.max(maxChain, chain);
      totalChain += chain;
    }
    return { size: t.length, used: htidx === 0 ? this.used0 : this.used1, slots, maxChain, totalChain, clvector };
  }

  /** Debug/test invariant: every position 0..n-1 is linked exactly once, consistently. */
  check(n: number): void {
    if (this.used0 + this.used1 !== n) throw new Error("set dict: count mismatch");
    const seen = new Uint8Array(n);
    const walk = (t: Int32Array, used: number, from: number) => {
      let count = 0;
      for (let b = from; b < t.length; b++) {
        let prev = -1;
        for (let p = t[b]; p >= 0; p = this.e[p * STRIDE + NEXT]) {
          if (p >= n || seen[p]) throw new Error("set dict: bad or repeated position " + p);
          seen[p] = 1;
          if (this.e[p * STRIDE + PREV] !== prev) throw new Error("set dict: back link mismatch at " + p);
          if ((this.e[p * STRIDE + HASH] & (t.length - 1)) !== b) throw new Error("set dict: wrong bucket for " + p);
          if (this.e[p * STRIDE + TABLE] !== t.length) throw new Error("set dict: wrong table size for " + p);
          prev = p;
          count++;
        }
      }
      if (count !== used) throw new Error("set dict: table count mismatch");
    };
    walk(this.t0, this.used0, Math.max(this.rehashIdx, 0));
    if (this.t1) walk(this.t1, this.used1, 0);
  }

  private emitChain(p: number, emit: (pos: number) => void): void {
    for (; p >= 0; p = this.e[p * STRIDE + NEXT]) emit(p);
  }

  private insert(pos: number, h: number): void {
    if ((pos + 1) * STRIDE > this.e.length) this.growLinks(pos + 1);
    const e = this.e;
    const t = this.t1 ?? this.t0;
    const b = h & (t.length - 1);
    const head = t[b];
    const o = pos * STRIDE;
    e[o + HASH] = h;
    e[o + NEXT] = head;
    e[o + PREV] = -1;
    e[o + TABLE] = t.length;
    if (head >= 0) e[head * STRIDE + PREV] = pos;
    t[b] = pos;
    if (this.t1 !== null) this.used1++;
    else this.used0++;
  }

  /** _dictExpandIfNeeded. */
  private expandIfNeeded(): void {
    const size = this.t0.length;
    if ((resizePolicy === RESIZE_ENABLE && this.used0 >= size) ||
        (resizePolicy !== RESIZE_FORBID && Math.floor(this.used0 / size) > FORCE_RESIZE_RATIO)) {
      this.expand(this.used0 + 1);
    }
  }

  /** _dictExpand: a new table of the next power of two >= size, rehashed into incrementally. */
  private expand(size: number): void {
    if (this.rehashIdx >= 0 || this.used0 > size) return;
    let n = INITIAL_SIZE;
    while (n < size) n *= 2;
    if (n === this.t0.length) return;
    this.t1 = emptyTable(n);
    this.rehashIdx = 0;
  }

  /** dictRehash(d, 1): one bucket moved, visiting at most 10 empty ones. */
  private rehashStep(): void {
    const t0 = this.t0, t1 = this.t1!;
    if (resizePolicy === RESIZE_FORBID) return;
    if (resizePolicy === RESIZE_AVOID) {
      const s0 = t0.length, s1 = t1.length;
      if ((s1 > s0 && s1 / s0 < FORCE_RESIZE_RATIO) || (s1 < s0 && s0 / s1 < FORCE_RESIZE_RATIO)) return;
    }
    const e = this.e;
    let emptyVisits = 10;
    if (this.used0 !== 0) {
      while (t0[this.rehashIdx] === -1) {
        this.rehashIdx++;
        if (--emptyVisits === 0) return;
      }
      const m1 = t1.length - 1;
      let p = t0[this.rehashIdx];
      while (p >= 0) {
        const o = p * STRIDE;
        const nextP = e[o + NEXT];
        const b = e[o + HASH] & m1;
        const head = t1[b];
        e[o + NEXT] = head;
        e[o + PREV] = -1;
        e[o + TABLE] = m1 + 1;
        if (head >= 0) e[head * STRIDE + PREV] = p;
        t1[b] = p;
        this.used0--;
        this.used1++;
        p = nextP;
      }
      t0[this.rehashIdx] = -1;
      this.rehashIdx++;
    }
    if (this.used0 === 0) {
      this.t0 = t1;
      this.used0 = this.used1;
      this.used1 = 0;
      this.t1 = null;
      this.rehashIdx = -1;
    }
  }

  private growLinks(min: number): void {
    let cap = this.e.length / STRIDE;
    while (cap < min) cap *= 2;
    const e = new Int32Array(cap * STRIDE);
    e.set(this.e);
    this.e = e;
  }
}
