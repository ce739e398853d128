// QuickList: a list value (Redis's OBJ_LIST), laid out like Redis's quicklist.
//
//   chunks: Ring<string[]>   a deque of chunks, each a plain array of up to CHUNK elements
//                            (middle inserts may grow one to 2*CHUNK before it splits)
//   length                   elements in all chunks; no chunk is ever empty
//
// Elements are binary strings held as latin1 JS strings (one char per byte): compact, and
// comparisons (LREM, LPOS, LINSERT's pivot) are plain ===. Push and pop at either end are
// O(1) (a new chunk every CHUNK elements); access by index walks chunks from the nearer end,
// O(n / CHUNK); insert/remove in the middle moves at most 2*CHUNK elements plus, on a split,
// the ring's shorter side.
import { Ring } from "./ring.js";
import { OBJ_LIST, ENC_QUICKLIST, type HostValue } from "./value.js";

const CHUNK = 128;

export class QuickList implements HostValue {
  readonly type = OBJ_LIST;
  length = 0;
  private chunks = new Ring<string[]>();
  // locate()'s result: chunk index and offset in it.
  private locC = 0;
  private locO = 0;

  static from(items: string[]): QuickList {
    const l = new QuickList();
    for (const v of items) l.pushTail(v);
    return l;
  }

  /** Redis 7.0 stores every list as a quicklist (listpack lists arrived in 7.2). */
  encoding(): number { return ENC_QUICKLIST; }

  /** One free per quicklist node, as quicklistRelease. */
  release(): void { this.releaseSome(Infinity); }

  /** Frees up to `budget` nodes (src/server/lazyfree.ts); whether the list is empty now. */
  releaseSome(budget: number): boolean {
    for (let n = 0; n < budget && this.chunks.length; n++) {
      const c = this.chunks.popBack()!;
      this.length -= c.length;
      c.length = 0;
    }
    return this.chunks.length === 0;
  }

  dup(): QuickList {
    const l = new QuickList();
    for (let c = 0; c < this.chunks.length; c++) l.chunks.pushBack(this.chunks.at(c).slice());
    l.length = this.length;
    return l;
  }

  pushHead(v: string): void {
    const c = this.chunks.first();
    if (c && c.length < CHUNK) c.unshift(v);
    else this.chunks.pushFront([v]);
    this.length++;
  }

  pushTail(v: string): void {
    const c = this.chunks.last();
    if (c && c.length < CHUNK) c.push(v);
    else this.chunks.pushBack([v]);
    this.length++;
  }

  popHead(): string | undefined {
    const c = this.chunks.first();
    if (!c) return undefined;
    const v = c.shift()!;
    if (c.length === 0) this.chunks.popFront();
    this.length--;
    return v;
  }

  popTail(): string | undefined {
    const c = this.chunks.last();
    if (!c) return undefined;
    const v = c.pop()!;
    if (c.length === 0) this.chunks.popBack();
    this.length--;
    return v;
  }

  /** The element at index i (0-based from the head; callers normalize negative indexes). */
  get(i: number): string | undefined {
    if (i < 0 || i >= this.length) return undefined;
    this.locate(i);
    return this.chunks.at(this.locC)[this.locO];
  }

  set(i: number, v: string): void {
    this.locate(i);
    this.chunks.at(this.locC)[this.locO] = v;
  }

  /** Inserts v so that it becomes the element at index i (0 <= i <= length). */
  insertAt(i: number, v: string): void {
    if (i === 0) return this.pushHead(v);
    if (i === this.length) return this.pushTail(v);
    this.locate(i);
    const c = this.chunks.at(this.locC);
    c.splice(this.locO, 0, v);
    this.length++;
    if (c.length > 2 * CHUNK) this.chunks.insertAt(this.locC + 1, c.splice(CHUNK));
  }

  /** Calls fn for elements [start, stop] (inclusive, in range) from the head; stops when fn returns false. */
  forEach(start: number, stop: number, fn: (v: string, i: number) => boolean | void): void {
    if (start > stop) return;
    this.locate(start);
    let c = this.locC, o = this.locO;
    for (let i = start; i <= stop; i++) {
      const chunk = this.chunks.at(c);
      if (fn(chunk[o], i) === false) return;
      if (++o === chunk.length) { c++; o = 0; }
    }
  }

  /** Calls fn for elements from index start down to stop (start >= stop); stops when fn returns false. */
  forEachReverse(start: number, stop: number, fn: (v: string, i: number) => boolean | void): void {
    if (start < stop) return;
    this.locate(start);
    let c = this.locC, o = this.locO;
    for (let i = start; i >= stop; i--) {
      if (fn(this.chunks.at(c)[o], i) === false) return;
      if (--o < 0 && --c >= 0) o = this.chunks.at(c).length - 1;
    }
  }

  /** Elements [start, stop] as an array (indexes in range). */
  range(start: number, stop: number): string[] {
    const out: string[] = [];
    this.forEach(start, stop, (v) => { out.push(v); });
    return out;
  }

  toArray(): string[] { return this.range(0, this.length - 1); }

  /** Keeps only elements [start, stop] (in range, start <= stop), as LTRIM. */
  trim(start: number, stop: number): void {
    let drop = start;
    while (drop > 0) {
      const c = this.chunks.first()!;
      if (c.length <= drop) { drop -= c.length; this.length -= c.length; this.chunks.popFront(); }
      else { c.splice(0, drop); this.length -= drop; drop = 0; }
    }
    drop = this.length - (stop - start + 1);
    while (drop > 0) {
      const c = this.chunks.last()!;
      if (c.length <= drop) { drop -= c.length; this.length -= c.length; this.chunks.popBack(); }
      else { c.length -= drop; this.length -= drop; drop = 0; }
    }
  }

  /**
   * Removes elements equal to v (LREM): the first `count` from the head when count > 0, the
   * last -count from the tail when count < 0, all when count is 0. Returns how many went.
   */
  remove(v: string, count: number): number {
    const limit = count === 0 ? Infinity : Math.abs(count);
    let removed = 0;
    const n = this.chunks.length;
    for (let k = 0; k < n && removed < limit; k++) {
      const ci = count < 0 ? n - 1 - k : k;
      const chunk = this.chunks.at(ci);
      // One pass per chunk: keep what stays (the limit may stop removal mid-chunk).
      const kept: string[] = [];
      if (count >= 0) {
        for (let o = 0; o < chunk.length; o++) {
          if (removed < limit && chunk[o] === v) removed++;
          else kept.push(chunk[o]);
        }
      } else {
        for (let o = chunk.length - 1; o >= 0; o--) {
          if (removed < limit && chunk[o] === v) removed++;
          else kept.push(chunk[o]);
        }
        kept.reverse();
      }
      if (kept.length !== chunk.length) this.chunks.setAt(ci, kept);
    }
    if (removed) {
      this.length -= removed;
      this.dropEmptyChunks();
    }
    return removed;
  }

  private dropEmptyChunks(): void {
    const kept = new Ring<string[]>();
    for (let c = 0; c < this.chunks.length; c++) {
      const chunk = this.chunks.at(c);
      if (chunk.length) kept.pushBack(chunk);
    }
    this.chunks = kept;
  }

  /** Sets locC/locO to the chunk and offset of index i (0 <= i < length), walking from the nearer end. */
  private locate(i: number): void {
    const chunks = this.chunks;
    if (i < this.length >> 1) {
      let c = 0;
      while (i >= chunks.at(c).length) i -= chunks.at(c++).length;
      this.locC = c;
      this.locO = i;
    } else {
      let back = this.length - 1 - i;
      let c = chunks.length - 1;
      while (back >= chunks.at(c).length) back -= chunks.at(c--).length;
      this.locC = c;
      this.locO = chunks.at(c).length - 1 - back;
    }
  }
}
