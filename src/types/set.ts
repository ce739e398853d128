// SetValue: the value of a Redis set key, held by the host behind a kernel handle.
//
// Layout:
//   members  string[]             every member once, as a latin1 string (one char per byte,
//                                  so members are binary-safe and compare like memcmp)
//   enc      "intset" | "hashtable" what OBJECT ENCODING reports, by Redis 7.0's rules
//   index    Map<string, 0>       the intset encoding's membership index (null otherwise)
//   dict     SetDict              the hashtable encoding's index (null while an intset)
//
// While the encoding is intset (every member is a canonical 64-bit integer and there are at
// most set-max-intset-entries of them) `members` is kept in ascending numeric order, as
// Redis's intset is, so SMEMBERS/SSCAN of a small integer set answer in Redis's order.
// Once a set becomes a hashtable it stays one (Redis never converts back); `dict`
// (set-dict.ts) then holds the members' positions in Redis-shaped buckets and answers
// membership: SSCAN walks those buckets with dictScan's cursor (so its order, its cursors and
// its guarantee are Redis's), DEBUG HTSTATS-KEY counts them, and they grow, shrink and rehash
// by Redis's rules. A member is removed by moving the last one into its hole (O(1)), which the
// dict follows through its back links. Random picks come from the array (uniform).

import { OBJ_SET, ENC_INTSET, ENC_HT, type HostValue } from "./value.js";
import { SetDict, memberHash } from "./set-dict.js";

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
  /** The intset encoding's membership index (null once a hashtable). */
  private index: Map<string, number> | null = new Map<string, number>();
  /** The hashtable encoding's dict (null while an intset). */
  dict: SetDict | null = null;
  enc: SetEncoding = "intset";
  readonly type = OBJ_SET;

  /**
   * A new empty set encoded as Redis's setTypeCreate would encode one created for `first`
   * (intset when it is an integer); a set made by SINTERSTORE & co. starts as an intset.
   */
  static forFirstMember(first: string | undefined): SetValue {
    const s = new SetValue();
    if (first !== undefined && !isIntsetMember(first)) { s.enc = "hashtable"; s.index = null; s.dict = new SetDict(); }
    return s;
  }

  /**
   * A set holding `members` in this order (an intset's ascending), with its dict sized to them
   * as setTypeDup sizes a copy: a set the kernel held moving to the host (src/types/keyspace.ts).
   */
  static fromMembers(members: string[], intset: boolean): SetValue {
    const s = new SetValue();
    s.members = members;
    if (intset) s.index = new Map(members.map((m) => [m, 0]));
    else {
      s.enc = "hashtable";
      s.index = null;
      s.dict = SetDict.sized(members);
    }
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
    if (this.dict !== null && this.dict.size > 0) {
      // The tables are a few typed arrays: dropped at once, leaving an empty dict so the value
      // stays usable; nothing looks the remaining members up while they are freed in slices.
      this.dict = new SetDict();
    }
    if (this.enc !== "hashtable") {
      this.index?.clear();
      members.length = 0;
      return true;
    }
    for (let n = 0; n < budget && members.length; n++) members.pop();
    return members.length === 0;
  }

  has(m: string): boolean {
    const d = this.dict;
    if (d === null) return this.index!.has(m);
    if (d.rehashIdx >= 0) d.touch(); // dictFind's rehash step
    return d.find(m, memberHash(m), this.members) >= 0;
  }

  /** Adds m; false when it was already a member. */
  add(m: string, maxIntsetEntries = SET_MAX_INTSET_ENTRIES): boolean {
    let d = this.dict;
    if (d === null) {
      if (this.index!.has(m)) return false;
      if (isIntsetMember(m)) {
        this.insertSorted(m);
        if (this.members.length > maxIntsetEntries) this.toHashtable();
        return true;
      }
      d = this.toHashtable();
    }
    if (d.rehashIdx >= 0) d.touch(); // dictAddRaw's rehash step
    const h = memberHash(m);
    if (d.find(m, h, this.members) >= 0) return false;
    d.add(this.members.length, h);
    this.members.push(m);
    return true;
  }

  /** Removes m; false when it was not a member. */
  remove(m: string): boolean {
    const d = this.dict;
    if (d === null) {
      if (!this.index!.delete(m)) return false;
      this.members.splice(this.sortedPosition(m), 1);
      return true;
    }
    if (d.rehashIdx >= 0) d.touch(); // dictDelete's rehash step
    const i = d.find(m, memberHash(m), this.members);
    if (i < 0) return false;
    this.removeHashtableAt(d, i);
    return true;
  }

  /** A uniformly random member (the set must not be empty). */
  random(rand: () => number = Math.random): string {
    const d = this.dict;
    if (d !== null && d.rehashIdx >= 0) d.touch(15); // dictGetFairRandomKey's dictGetSomeKeys(15)
    return this.members[Math.floor(rand() * this.members.length)];
  }

  /** Removes and returns a uniformly random member (the set must not be empty). */
  pop(rand: () => number = Math.random): string {
    const d = this.dict;
    const i = Math.floor(rand() * this.members.length);
    const m = this.members[i];
    if (d === null) {
      this.index!.delete(m);
      this.members.splice(i, 1);
      return m;
    }
    // spopCommand: the random pick's rehash steps (dictGetFairRandomKey), then dictDelete's.
    if (d.rehashIdx >= 0) d.touch(16);
    this.removeHashtableAt(d, i);
    return m;
  }

  /** Members in the set's iteration order (numeric for an intset). Do not mutate. */
  values(): readonly string[] { return this.members; }

  /** Member at a position of values() (random sampling without copying). */
  at(i: number): string { return this.members[i]; }

  /**
   * One SSCAN step. An intset is returned whole with cursor 0 (as Redis does for compact
   * encodings); a hashtable is walked as Redis's scanGenericCommand walks its dict: dictScan
   * steps until `count` members or count*10 steps. Cursor 0 starts a scan; a returned 0 ends it.
   */
  scan(cursor: number, count: number): ScanResult {
    if (this.enc === "intset") return { cursor: 0, members: this.members.slice() };
    const out: string[] = [];
    const d = this.dict!;
    const emit = (p: number) => { out.push(this.members[p]); };
    let c = cursor >= 2 ** 32 ? 0 : cursor;
    let steps = count * 10;
    do c = d.scan(c, emit);
    while (c !== 0 && steps-- > 0 && out.length < count);
    return { cursor: c, members: out };
  }

  clone(): SetValue {
    const s = new SetValue();
    s.members = this.members.slice();
    s.enc = this.enc;
    if (this.dict !== null) {
      s.index = null;
      s.dict = SetDict.sized(s.members); // setTypeDup: dictExpand to the size, then add
    } else s.index = new Map(this.index!);
    return s;
  }

  /** Debug/test invariant: members and index agree; an intset is sorted integers. */
  checkInvariants(): void {
    if ((this.enc === "hashtable") !== (this.dict !== null) || (this.dict === null) !== (this.index !== null)) {
      throw new Error("set: encoding and index disagree");
    }
    if (this.dict) this.dict.check(this.members.length);
    else if (this.members.length !== this.index!.size) throw new Error("set: size mismatch");
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[i];
      if (this.dict && this.dict.find(m, memberHash(m), this.members) !== i) throw new Error("set: dict lookup mismatch at " + i);
      if (this.enc === "intset") {
        if (!this.index!.has(m)) throw new Error("set: member missing from index");
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
    this.index!.set(m, 0); // positions are not tracked while sorted
  }

  /** Removes the hashtable member at position i: unlink, move the last member into the hole. */
  private removeHashtableAt(d: SetDict, i: number): void {
    d.remove(i);
    const members = this.members;
    const last = members.pop()!;
    if (i < members.length) {
      members[i] = last;
      d.move(members.length, i);
    }
    d.resizeIfSparse(); // setTypeRemove: htNeedsResize, dictResize
  }

  /** setTypeConvert: a dict expanded to the set's size, then filled; the intset index goes. */
  private toHashtable(): SetDict {
    this.enc = "hashtable";
    this.index = null;
    const d = SetDict.sized(this.members);
    this.dict = d;
    return d;
  }
}
