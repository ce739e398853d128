// SetValue: the value of a Redis set key, held by the host behind a kernel handle.
//
// Layout:
//   members  string[]             every member once, as a latin1 string (one char per byte,
//                                  so members are binary-safe and compare like memcmp)
//   index    Map<string, number>   member -> its position in `members`
//   enc      "intset" | "hashtable" what OBJECT ENCODING reports, by Redis 7.0's rules
//
// While the encoding is intset (every member is a canonical 64-bit integer and there are at
// most set-max-intset-entries of them) `members` is kept in ascending numeric order, as
// Redis's intset is, so SMEMBERS/SSCAN of a small integer set answer in Redis's order.
// Once a set becomes a hashtable it stays one (Redis never converts back); members are then
// removed by moving the last one into the hole (O(1)), which is what SSCAN's cursor relies on:
//
// SSCAN of a hashtable walks positions downward from the end. An existing member only ever
// moves from the last position to a lower one, so a member in the unvisited part [0, cursor)
// stays there until visited, and every member present for the whole scan is returned at
// least once (those moved down from the visited part may be returned twice, as Redis allows).

import { OBJ_SET, ENC_INTSET, ENC_HT, type HostValue } from "./value.js";

export type SetEncoding = "intset" | "hashtable";

/** Redis's set-max-intset-entries default. */
export const SET_MAX_INTSET_ENTRIES = 512;

const INT64_MIN = -9223372036854775808n;
const INT64_MAX = 9223372036854775807n;

/** Whether s is what Redis's string2ll accepts (so an intset could hold it). */
export function isIntsetMember(s: string): boolean {
  if (s.length === 0 || s.length > 20) return false;
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return false;
  if (s.length < 16) return true;
  const v = BigInt(s);
  return v >= INT64_MIN && v <= INT64_MAX;
}

/** Numeric order of two canonical integer strings (int64 range). */
function compareInts(a: string, b: string): number {
  const na = Number(a), nb = Number(b);
  if (Number.isSafeInteger(na) && Number.isSafeInteger(nb)) return na - nb;
  const ba = BigInt(a), bb = BigInt(b);
  return ba < bb ? -1 : ba > bb ? 1 : 0;
}

export interface ScanResult { cursor: number; members: string[] }

export class SetValue implements HostValue {
  private members: string[] = [];
  private index = new Map<string, number>();
  enc: SetEncoding = "intset";
  readonly type = OBJ_SET;

  /**
   * A new empty set encoded as Redis's setTypeCreate would encode one created for `first`
   * (intset when it is an integer); a set made by SINTERSTORE & co. starts as an intset.
   */
  static forFirstMember(first: string | undefined): SetValue {
    const s = new SetValue();
    if (first !== undefined && !isIntsetMember(first)) s.enc = "hashtable";
    return s;
  }

  get size(): number { return this.members.length; }
  get length(): number { return this.members.length; }
  encoding(): number { return this.enc === "intset" ? ENC_INTSET : ENC_HT; }
  dup(): SetValue { return this.clone(); }

  release(): void { this.releaseSome(Infinity); }

  /** Frees up to `budget` members (an intset is one allocation: all of it); whether the set is empty now. */
  releaseSome(budget: number): boolean {
    const members = this.members;
    if (this.enc !== "hashtable") {
      this.index.clear();
      members.length = 0;
      return true;
    }
    for (let n = 0; n < budget && members.length; n++) this.index.delete(members.pop()!);
    return members.length === 0;
  }

  has(m: string): boolean { return this.index.has(m); }

  /** Adds m; false when it was already a member. */
  add(m: string, maxIntsetEntries = SET_MAX_INTSET_ENTRIES): boolean {
    if (this.index.has(m)) return false;
    if (this.enc === "intset") {
      if (isIntsetMember(m)) {
        this.insertSorted(m);
        if (this.members.length > maxIntsetEntries) this.toHashtable();
        return true;
      }
      this.toHashtable();
    }
    this.index.set(m, this.members.length);
    this.members.push(m);
    return true;
  }

  /** Removes m; false when it was not a member. */
  remove(m: string): boolean {
    const i = this.index.get(m);
    if (i === undefined) return false;
    this.removeAt(this.enc === "intset" ? this.sortedPosition(m) : i);
    return true;
  }

  /** A uniformly random member (the set must not be empty). */
  random(rand: () => number = Math.random): string {
    return this.members[Math.floor(rand() * this.members.length)];
  }

  /** Removes and returns a uniformly random member (the set must not be empty). */
  pop(rand: () => number = Math.random): string {
    const i = Math.floor(rand() * this.members.length);
    const m = this.members[i];
    this.removeAt(i);
    return m;
  }

  /** Members in the set's iteration order (numeric for an intset). Do not mutate. */
  values(): readonly string[] { return this.members; }

  /** Member at a position of values() (random sampling without copying). */
  at(i: number): string { return this.members[i]; }

  /**
   * One SSCAN step. An intset is returned whole with cursor 0 (as Redis does for compact
   * encodings); a hashtable walks about `count` positions downward from the cursor.
   * Cursor 0 starts a scan; a returned 0 ends it.
   */
  scan(cursor: number, count: number): ScanResult {
    const n = this.members.length;
    if (this.enc === "intset") return { cursor: 0, members: this.members.slice() };
    let hi = cursor === 0 ? n : Math.min(cursor, n);
    const lo = Math.max(0, hi - Math.max(1, count));
    const out: string[] = [];
    while (hi > lo) out.push(this.members[--hi]);
    return { cursor: lo, members: out };
  }

  clone(): SetValue {
    const s = new SetValue();
    s.members = this.members.slice();
    s.index = new Map(this.index);
    s.enc = this.enc;
    return s;
  }

  /** Debug/test invariant: members and index agree; an intset is sorted integers. */
  checkInvariants(): void {
    if (this.members.length !== this.index.size) throw new Error("set: size mismatch");
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i];
      if (this.enc === "hashtable" && this.index.get(m) !== i) throw new Error("set: index mismatch at " + i);
      if (this.enc === "intset") {
        if (!this.index.has(m)) throw new Error("set: member missing from index");
        if (!isIntsetMember(m)) throw new Error("set: intset holds non-integer");
        if (i > 0 && compareInts(this.members[i - 1], m) >= 0) throw new Error("set: intset not sorted");
      }
    }
  }

  /** Where m is, or would be inserted, in an intset's sorted members. */
  private sortedPosition(m: string): number {
    let lo = 0, hi = this.members.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareInts(this.members[mid], m) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private insertSorted(m: string): void {
    this.members.splice(this.sortedPosition(m), 0, m);
    this.index.set(m, 0); // positions are not tracked while sorted (see removeAt)
  }

  private removeAt(i: number): void {
    const m = this.members[i];
    this.index.delete(m);
    if (this.enc === "intset") {
      this.members.splice(i, 1);
      return;
    }
    const last = this.members.pop()!;
    if (i < this.members.length) {
      this.members[i] = last;
      this.index.set(last, i);
    }
  }

  private toHashtable(): void {
    this.enc = "hashtable";
    for (let i = 0; i < this.members.length; i++) this.index.set(this.members[i], i);
  }
}
