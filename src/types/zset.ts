// ZSetValue: the value of a Redis sorted set key, held by the host behind a kernel handle.
//
// Layout (Redis's zset: a dict plus a skip list, t_zset.c):
//   dict    Map<string, ZNode>   member -> its node (members are latin1 strings: one char
//                                 per byte, so they compare like Redis's sdscmp/memcmp)
//   header  ZNode                 skip list head; nodes ordered by (score, member); each
//                                 level keeps `span` (nodes skipped) so rank is O(log n)
//   tail    ZNode | null          last node (reverse iteration starts here)
//   nodes   ZNode[]               every node once; node.slot is its position. Removal moves
//                                 the last node into the hole, so ZRANDMEMBER is O(1) and
//                                 ZSCAN walks positions downward with SCAN's guarantee (see
//                                 SetValue in set.ts for the argument)
//   enc     "listpack" | "skiplist"  what OBJECT ENCODING reports, by Redis 7.0's rules
//                                 (zset-max-listpack-entries 128 / -value 64); the data
//                                 structure is the same either way.

import { strtod, string2d } from "../util/strtod.js";
import { OBJ_ZSET, ENC_LISTPACK, ENC_SKIPLIST, type HostValue } from "./value.js";

export type ZSetEncoding = "listpack" | "skiplist";

export const ZSET_MAX_LISTPACK_ENTRIES = 128;
export const ZSET_MAX_LISTPACK_VALUE = 64;

const ZSKIPLIST_MAXLEVEL = 32;
const ZSKIPLIST_P = 0.25;

export class ZNode {
  readonly forward: (ZNode | null)[];
  readonly span: number[];
  backward: ZNode | null = null;
  /** Position in ZSetValue.nodes. */
  slot = -1;
  constructor(public ele: string, public score: number, level: number) {
    this.forward = new Array<ZNode | null>(level).fill(null);
    this.span = new Array<number>(level).fill(0);
  }
  next(): ZNode | null { return this.forward[0]; }
}

/** A score interval (zrangespec): min/max with exclusive flags. */
export interface ScoreRange { min: number; max: number; minex: boolean; maxex: boolean }

/** The open ends of a lex range: "-" and "+". */
export const LEX_MIN: unique symbol = Symbol("lex-min");
export const LEX_MAX: unique symbol = Symbol("lex-max");
export type LexItem = string | typeof LEX_MIN | typeof LEX_MAX;
/** A lex interval (zlexrangespec). */
export interface LexRange { min: LexItem; max: LexItem; minex: boolean; maxex: boolean }

function cmpLex(a: LexItem, b: LexItem): number {
  if (a === b) return 0;
  if (a === LEX_MIN || b === LEX_MAX) return -1;
  if (a === LEX_MAX || b === LEX_MIN) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function scoreGteMin(v: number, r: ScoreRange): boolean { return r.minex ? v > r.min : v >= r.min; }
export function scoreLteMax(v: number, r: ScoreRange): boolean { return r.maxex ? v < r.max : v <= r.max; }
export function lexGteMin(v: string, r: LexRange): boolean { const c = cmpLex(v, r.min); return r.minex ? c > 0 : c >= 0; }
export function lexLteMax(v: string, r: LexRange): boolean { const c = cmpLex(v, r.max); return r.maxex ? c < 0 : c <= 0; }

// ---- argument parsing (Redis's own rules) -------------------------------------------------

/** A score argument (ZADD, ZINCRBY): Redis's string2d; null means "value is not a valid float". */
export function parseScore(s: string): number | null { return string2d(s); }

/** zslParseRange's item: "(" makes it exclusive; strtod, nothing trailing, not NaN. */
function parseRangeItem(s: string): { v: number; ex: boolean } | null {
  const ex = s.startsWith("(");
  const t = ex ? s.slice(1) : s;
  const r = strtod(t);
  if (r.end !== t.length || Number.isNaN(r.value)) return null;
  return { v: r.value, ex };
}

/** zslParseRange; null means "min or max is not a float". */
export function parseScoreRange(min: string, max: string): ScoreRange | null {
  const a = parseRangeItem(min), b = parseRangeItem(max);
  if (!a || !b) return null;
  return { min: a.v, max: b.v, minex: a.ex, maxex: b.ex };
}

function parseLexItem(s: string): { v: LexItem; ex: boolean } | null {
  switch (s[0]) {
    case "+": return s.length === 1 ? { v: LEX_MAX, ex: false } : null;
    case "-": return s.length === 1 ? { v: LEX_MIN, ex: false } : null;
    case "(": return { v: s.slice(1), ex: true };
    case "[": return { v: s.slice(1), ex: false };
    default: return null;
  }
}

/** zslParseLexRange; null means "min or max not valid string range item". */
export function parseLexRange(min: string, max: string): LexRange | null {
  const a = parseLexItem(min), b = parseLexItem(max);
  if (!a || !b) return null;
  return { min: a.v, max: b.v, minex: a.ex, maxex: b.ex };
}

// ---- the sorted set ---------------------------------------------------------------------

export interface ZScanResult { cursor: number; items: ZNode[] }

export class ZSetValue implements HostValue {
  private readonly dict = new Map<string, ZNode>();
  private readonly header = new ZNode("", 0, ZSKIPLIST_MAXLEVEL);
  private tail: ZNode | null = null;
  private level = 1;
  private nodes: ZNode[] = [];
  enc: ZSetEncoding = "listpack";
  readonly type = OBJ_ZSET;

  constructor(private readonly rand: () => number = Math.random) {}

  /** A new set encoded as Redis's zsetTypeCreate(sizeHint, maxLenHint) would create it. */
  static create(sizeHint: number, maxLenHint: number, maxEntries = ZSET_MAX_LISTPACK_ENTRIES,
                maxValue = ZSET_MAX_LISTPACK_VALUE): ZSetValue {
    const z = new ZSetValue();
    if (sizeHint > maxEntries || maxLenHint > maxValue || maxEntries === 0) z.enc = "skiplist";
    return z;
  }

  get size(): number { return this.dict.size; }
  get length(): number { return this.dict.size; }
  encoding(): number { return this.enc === "listpack" ? ENC_LISTPACK : ENC_SKIPLIST; }
  dup(): ZSetValue { return this.clone(); }

  release(): void { this.releaseSome(Infinity); }

  /**
   * Frees up to `budget` skiplist nodes (a listpack is one allocation: all of it); whether
   * the sorted set is empty now. Only for a value being freed: until it is empty, its order
   * is no longer kept.
   */
  releaseSome(budget: number): boolean {
    if (this.enc === "skiplist") {
      const nodes = this.nodes;
      for (let i = 0; i < budget && nodes.length; i++) {
        const n = nodes.pop()!;
        this.dict.delete(n.ele);
        n.forward.fill(null);
        n.backward = null;
      }
      if (nodes.length) return false;
    } else this.dict.clear();
    this.nodes.length = 0;
    this.header.forward.fill(null);
    this.header.span.fill(0);
    this.tail = null;
    this.level = 1;
    return true;
  }

  score(member: string): number | undefined { return this.dict.get(member)?.score; }

  has(member: string): boolean { return this.dict.has(member); }

  /**
   * Sets member's score (adding it when new); returns true when the member is new. The
   * encoding becomes skiplist when the set outgrows the listpack limits (never back).
   */
  set(member: string, score: number, maxEntries = ZSET_MAX_LISTPACK_ENTRIES,
      maxValue = ZSET_MAX_LISTPACK_VALUE): boolean {
    const node = this.dict.get(member);
    // A listpack keeps a score as its shortest string, in which -0 is 0 (Redis's ZSCORE of a
    // listpack-encoded -0 is "0"); a skiplist node keeps the double, -0 included. A member
    // whose addition converts the set to a skiplist is added after the conversion (zsetAdd).
    if (node) {
      if (node.score !== score) this.updateScore(node, score === 0 && this.enc === "listpack" ? 0 : score);
      return false;
    }
    if (score === 0 && this.enc === "listpack" && this.dict.size < maxEntries && member.length <= maxValue) score = 0;
    const n = this.insert(score, member);
    this.dict.set(member, n);
    n.slot = this.nodes.length;
    this.nodes.push(n);
    if (this.enc === "listpack" && (this.dict.size > maxEntries || member.length > maxValue)) {
      this.enc = "skiplist";
    }
    return true;
  }

  /** Removes member; false when absent. */
  remove(member: string): boolean {
    const node = this.dict.get(member);
    if (!node) return false;
    this.dict.delete(member);
    this.deleteNode(node);
    const last = this.nodes.pop()!;
    if (last !== node) {
      this.nodes[node.slot] = last;
      last.slot = node.slot;
    }
    return true;
  }

  /** zsetConvertToListpackIfNeeded: the store commands shrink the encoding back. */
  shrinkEncodingIfFits(maxEntries = ZSET_MAX_LISTPACK_ENTRIES, maxValue = ZSET_MAX_LISTPACK_VALUE): void {
    if (this.enc !== "skiplist" || this.dict.size > maxEntries) return;
    for (const m of this.dict.keys()) if (m.length > maxValue) return;
    this.enc = "listpack";
    // Written into a listpack, a -0 score becomes 0 (see set()); the order does not change.
    for (const n of this.nodes) if (Object.is(n.score, -0)) n.score = 0;
  }

  first(): ZNode | null { return this.header.forward[0]; }
  last(): ZNode | null { return this.tail; }
  /** The node before n in order (null at the start). */
  prev(n: ZNode): ZNode | null { return n.backward; }

  /** 0-based rank of member in ascending order, or undefined when absent. */
  rank(member: string): number | undefined {
    const node = this.dict.get(member);
    return node ? this.rankOf(node) : undefined;
  }

  /** 0-based rank of a node in this set (zslGetRank - 1). */
  rankOf(node: ZNode): number {
    let x = this.header;
    let rank = 0;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.forward[i]) && (f.score < node.score || (f.score === node.score && f.ele <= node.ele))) {
        rank += x.span[i];
        x = f;
      }
      if (x === node) return rank - 1;
    }
    throw new Error("zset: node not in list");
  }

  /** The node at 0-based rank (zslGetElementByRank), or null when out of range. */
  byRank(rank: number): ZNode | null {
    if (rank < 0 || rank >= this.dict.size) return null;
    const target = rank + 1;
    let x = this.header;
    let traversed = 0;
    for (let i = this.level - 1; i >= 0; i--) {
      while (x.forward[i] && traversed + x.span[i] <= target) {
        traversed += x.span[i];
        x = x.forward[i]!;
      }
      if (traversed === target) return x;
    }
    return null;
  }

  /** First node whose score is in range (zslFirstInRange). */
  firstInRange(r: ScoreRange): ZNode | null {
    if (!this.isInRange(r)) return null;
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.forward[i]) && !scoreGteMin(f.score, r)) x = f;
    }
    const n = x.forward[0];
    return n && scoreLteMax(n.score, r) ? n : null;
  }

  /** Last node whose score is in range (zslLastInRange). */
  lastInRange(r: ScoreRange): ZNode | null {
    if (!this.isInRange(r)) return null;
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.forward[i]) && scoreLteMax(f.score, r)) x = f;
    }
    return x !== this.header && scoreGteMin(x.score, r) ? x : null;
  }

  // The lex commands assume every member has the same score. When scores differ the order
  // is not the members' lex order and Redis's answer is whatever its walk gives: a listpack
  // is walked from one end (zzlFirstInLexRange, zzlLastInLexRange), a skiplist is descended
  // (zslFirstInLexRange...). Both walks are kept, so a listpack-encoded set answers as
  // Redis's does (a skiplist's answer depends on its random levels, in Redis too).

  /** zzlFirstInLexRange / zslFirstInLexRange: where a lex walk forward starts. */
  firstInLexRange(r: LexRange): ZNode | null {
    if (!this.isInLexRange(r)) return null;
    if (this.enc === "listpack") {
      for (let n = this.header.forward[0]; n; n = n.next()) {
        if (lexGteMin(n.ele, r)) return lexLteMax(n.ele, r) ? n : null;
      }
      return null;
    }
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.forward[i]) && !lexGteMin(f.ele, r)) x = f;
    }
    const n = x.forward[0];
    return n && lexLteMax(n.ele, r) ? n : null;
  }

  /** zzlLastInLexRange / zslLastInLexRange: where a lex walk backward starts. */
  lastInLexRange(r: LexRange): ZNode | null {
    if (!this.isInLexRange(r)) return null;
    if (this.enc === "listpack") {
      for (let n = this.tail; n; n = n.backward) {
        if (lexLteMax(n.ele, r)) return lexGteMin(n.ele, r) ? n : null;
      }
      return null;
    }
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.forward[i]) && lexLteMax(f.ele, r)) x = f;
    }
    return x !== this.header && lexGteMin(x.ele, r) ? x : null;
  }

  /** Number of members with a score in range (ZCOUNT), O(log n). */
  countInRange(r: ScoreRange): number {
    const a = this.firstInRange(r);
    if (!a) return 0;
    return this.rankOf(this.lastInRange(r)!) - this.rankOf(a) + 1;
  }

  /**
   * Number of members in a lex range (ZLEXCOUNT): a listpack counts forward from the first
   * while members stay at or below max; a skiplist subtracts ranks, O(log n), and counts to
   * the end when a backward descent finds no last member (possible only with mixed scores).
   */
  countInLexRange(r: LexRange): number {
    const a = this.firstInLexRange(r);
    if (!a) return 0;
    if (this.enc === "listpack") {
      let n = 0;
      for (let x: ZNode | null = a; x && lexLteMax(x.ele, r); x = x.next()) n++;
      return n;
    }
    const last = this.lastInLexRange(r);
    return (last ? this.rankOf(last) + 1 : this.size) - this.rankOf(a);
  }

  /** Nodes from rank start to end inclusive (0-based, already clamped), ascending. */
  rangeByRank(start: number, end: number): ZNode[] {
    const out: ZNode[] = [];
    let n = this.byRank(start);
    for (let i = start; i <= end && n; i++, n = n.forward[0]) out.push(n);
    return out;
  }

  /** A uniformly random node (the set must not be empty). */
  random(rand: () => number = this.rand): ZNode {
    return this.nodes[Math.floor(rand() * this.nodes.length)];
  }

  /** Every node in ascending (score, member) order. */
  *[Symbol.iterator](): IterableIterator<ZNode> {
    for (let n = this.header.forward[0]; n; n = n.forward[0]) yield n;
  }

  /**
   * One ZSCAN step: a listpack-encoded set is returned whole, in order, with cursor 0 (as
   * Redis does); a skiplist-encoded one walks about `count` positions down from the cursor.
   */
  scan(cursor: number, count: number): ZScanResult {
    if (this.enc === "listpack") return { cursor: 0, items: [...this] };
    const n = this.nodes.length;
    let hi = cursor === 0 ? n : Math.min(cursor, n);
    const lo = Math.max(0, hi - Math.max(1, count));
    const out: ZNode[] = [];
    while (hi > lo) out.push(this.nodes[--hi]);
    return { cursor: lo, items: out };
  }

  clone(): ZSetValue {
    const z = new ZSetValue(this.rand);
    for (const n of this) z.set(n.ele, n.score, Infinity, Infinity);
    z.enc = this.enc;
    return z;
  }

  /** Debug/test invariant: order, spans, back links, dict and slots all agree. */
  checkInvariants(): void {
    let count = 0;
    let prev: ZNode | null = null;
    for (let n = this.header.forward[0]; n; n = n.forward[0]) {
      if (n.backward !== prev) throw new Error("zset: bad backward link");
      if (prev && (prev.score > n.score || (prev.score === n.score && prev.ele >= n.ele))) throw new Error("zset: order");
      if (this.dict.get(n.ele) !== n) throw new Error("zset: dict mismatch");
      if (this.nodes[n.slot] !== n) throw new Error("zset: slot mismatch");
      prev = n;
      count++;
    }
    if (this.tail !== prev) throw new Error("zset: tail");
    if (count !== this.dict.size || count !== this.nodes.length) throw new Error("zset: size");
    for (let i = 0; i < this.level; i++) {
      let x: ZNode = this.header;
      let pos = 0;
      while (x.forward[i]) {
        const f = x.forward[i]!;
        const fpos = this.rankOf(f) + 1;
        if (fpos - pos !== x.span[i]) throw new Error("zset: span at level " + i);
        pos = fpos;
        x = f;
      }
    }
  }

  /** zslIsInRange: the range is not empty and overlaps the set's scores. */
  private isInRange(r: ScoreRange): boolean {
    if (r.min > r.max || (r.min === r.max && (r.minex || r.maxex))) return false;
    const first = this.header.forward[0];
    return first !== null && scoreGteMin(this.tail!.score, r) && scoreLteMax(first.score, r);
  }

  /** zslIsInLexRange. */
  private isInLexRange(r: LexRange): boolean {
    const c = cmpLex(r.min, r.max);
    if (c > 0 || (c === 0 && (r.minex || r.maxex))) return false;
    const first = this.header.forward[0];
    return first !== null && lexGteMin(this.tail!.ele, r) && lexLteMax(first.ele, r);
  }

  // ---- skip list internals (zslInsert, zslDeleteNode, zslUpdateScore) ----

  private randomLevel(): number {
    let level = 1;
    while (level < ZSKIPLIST_MAXLEVEL && Math.random() < ZSKIPLIST_P) level++;
    return level;
  }

  private insert(score: number, ele: string): ZNode {
    const update = new Array<ZNode>(ZSKIPLIST_MAXLEVEL);
    const rank = new Array<number>(ZSKIPLIST_MAXLEVEL);
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      rank[i] = i === this.level - 1 ? 0 : rank[i + 1];
      let f: ZNode | null;
      while ((f = x.forward[i]) && (f.score < score || (f.score === score && f.ele < ele))) {
        rank[i] += x.span[i];
        x = f;
      }
      update[i] = x;
    }
    const level = this.randomLevel();
    if (level > this.level) {
      for (let i = this.level; i < level; i++) {
        rank[i] = 0;
        update[i] = this.header;
        update[i].span[i] = this.dict.size;
      }
      this.level = level;
    }
    const n = new ZNode(ele, score, level);
    for (let i = 0; i < level; i++) {
      n.forward[i] = update[i].forward[i];
      update[i].forward[i] = n;
      n.span[i] = update[i].span[i] - (rank[0] - rank[i]);
      update[i].span[i] = rank[0] - rank[i] + 1;
    }
    for (let i = level; i < this.level; i++) update[i].span[i]++;
    n.backward = update[0] === this.header ? null : update[0];
    if (n.forward[0]) n.forward[0].backward = n;
    else this.tail = n;
    return n;
  }

  /** Unlinks node (already gone from dict) from the skip list. */
  private deleteNode(node: ZNode): void {
    const update = new Array<ZNode>(ZSKIPLIST_MAXLEVEL);
    let x = this.header;
    for (let i = this.level - 1; i >= 0; i--) {
      let f: ZNode | null;
      while ((f = x.forward[i]) && f !== node &&
             (f.score < node.score || (f.score === node.score && f.ele < node.ele))) x = f;
      update[i] = x;
    }
    for (let i = 0; i < this.level; i++) {
      if (update[i].forward[i] === node) {
        update[i].span[i] += node.span[i] - 1;
        update[i].forward[i] = node.forward[i];
      } else {
        update[i].span[i] -= 1;
      }
    }
    if (node.forward[0]) node.forward[0].backward = node.backward;
    else this.tail = node.backward;
    while (this.level > 1 && this.header.forward[this.level - 1] === null) this.level--;
  }

  private updateScore(node: ZNode, score: number): void {
    // When the node stays in place (its neighbours still bracket the new score), update it
    // in place, as zslUpdateScore does; otherwise remove and reinsert.
    const prev = node.backward, next = node.forward[0];
    if ((prev === null || prev.score < score || (prev.score === score && prev.ele < node.ele)) &&
        (next === null || next.score > score || (next.score === score && next.ele > node.ele))) {
      node.score = score;
      return;
    }
    this.deleteNode(node);
    const n = this.insert(score, node.ele);
    n.slot = node.slot;
    this.nodes[n.slot] = n;
    this.dict.set(n.ele, n);
  }
}
