// Seq: a list as a sequence CRDT with fractional indexes. Every element a node pushes or
// inserts gets an id (the node's HLC stamp and node id, unique) and a position: a list of
// digits chosen strictly between the positions of its neighbours at the moment of the
// write. The list is the alive elements ordered by (position, stamp, node id) — the "full
// key" below — so it never depends on the order in which replicas received the inserts:
// concurrent pushes at the same spot interleave by their stamps, the same way everywhere.
//
// Unlike RGA, an element's place needs no anchor element, so a removed element is just a
// tombstone (removed = the stamp of its removal) that garbage collection drops once the
// removal is causally stable (gc.ts), exactly like a removed set member.
//
// A removal always wins over a concurrent LSET of the same element: a popped element stays
// popped. Concurrent pops of the same element (LPOP on two nodes) both return it to their
// clients, and the element is removed once: the list loses one element, not two. LSET is a
// last-writer-wins update of the element's value. DEL and type changes kill the elements
// they observed through the key floor / the seq floor (elements inserted concurrently on
// another node survive: add-wins, as for every type).
import { compareStamp } from "./hlc.js";
import { vvGet, type VV } from "./vv.js";

export interface ListElem {
  /** The position digits chosen at insertion (the id completes the order). */
  pos: number[];
  /** Creation stamp and node: the element's id. */
  ts: number;
  node: string;
  /** The value, last writer (vts, vnode) wins (LSET). */
  v: Buffer;
  vts: number;
  vnode: string;
  /** 0 while alive, else the stamp (rts, rnode) of the greatest removal seen. */
  rts: number;
  rnode: string;
}

export interface Seq {
  elems: Map<string, ListElem>;
  /** Elements at or below this floor (per creating node) were removed by a type change. */
  floor: VV;
}

export function seqNew(): Seq {
  return { elems: new Map(), floor: new Map() };
}

export function elemId(ts: number, node: string): string {
  return `${node}\u0000${ts}`;
}

/** Alive: not removed and created above both floors. */
export function elemAlive(e: ListElem, seq: Seq, keyFloor: VV): boolean {
  return e.rts === 0 && e.ts > vvGet(seq.floor, e.node) && e.ts > vvGet(keyFloor, e.node);
}

/** Whether an element is dead by a floor (then the canonical state drops it). */
function underFloor(e: ListElem, seq: Seq, keyFloor: VV): boolean {
  return e.ts <= vvGet(seq.floor, e.node) || e.ts <= vvGet(keyFloor, e.node);
}

export type FullKey = number[];

/** The total order of elements: position digits, then creation stamp, then node id characters. */
export function fullKey(e: ListElem): FullKey {
  const k = e.pos.slice();
  k.push(e.ts);
  for (let i = 0; i < e.node.length; i++) k.push(e.node.charCodeAt(i));
  return k;
}

export function compareKeys(a: FullKey, b: FullKey): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length - b.length;
}

const MAXD = Number.MAX_SAFE_INTEGER;
/** Spacing of consecutive pushes at one end: ~2^28 pushes before a position needs a second digit. */
const STEP = 2 ** 24;

/**
 * Position digits p with a < p < b (b undefined: no bound above), p not a prefix of b, so
 * that p followed by any id still sorts below b. Pushes at the tail step up from a, pushes
 * at the head (a empty) step down from b, inserts in the middle take the midpoint.
 */
export function between(a: FullKey, b: FullKey | undefined): number[] {
  const out: number[] = [];
  let bounded = b !== undefined;
  for (let i = 0; ; i++) {
    const lo = i < a.length ? a[i] : 0;
    const hi = bounded ? (i < b!.length ? b![i] : 0) : MAXD;
    const gap = hi - lo;
    if (i > 100_000) throw new Error("list positions out of order");
    if (gap > 1) {
      const half = Math.floor(gap / 2);
      if (!bounded && a.length === 0) out.push(lo + half); // the first element: in the middle
      else if (!bounded) out.push(lo + Math.min(STEP, half));
      else if (a.length === 0) out.push(hi - Math.min(STEP, half));
      else out.push(lo + half);
      return out;
    }
    out.push(lo);
    if (gap === 1) bounded = false; // below b from here on
  }
}

/**
 * The alive elements in list order, with their full keys: computed (a sort) when first asked
 * for, then kept up to date by seqJoinInto (a binary search per element inserted or removed)
 * until a floor rises, so a write to a long list does not sort it again. Not part of the
 * state (never encoded or compared); a Seq's elements change only through seqJoinInto and
 * collection of tombstones (which are not in it).
 */
interface OrderCache { keys: FullKey[]; elems: ListElem[] }
const orders = new WeakMap<Seq, OrderCache>();

function orderOf(seq: Seq, keyFloor: VV): OrderCache {
  const cached = orders.get(seq);
  if (cached) return cached;
  const alive: [FullKey, ListElem][] = [];
  for (const e of seq.elems.values()) if (elemAlive(e, seq, keyFloor)) alive.push([fullKey(e), e]);
  alive.sort((x, y) => compareKeys(x[0], y[0]));
  const c = { keys: alive.map((x) => x[0]), elems: alive.map((x) => x[1]) };
  orders.set(seq, c);
  return c;
}

/** The alive elements in list order (shared: callers must not modify the array). */
export function seqOrder(seq: Seq, keyFloor: VV): readonly ListElem[] {
  return orderOf(seq, keyFloor).elems;
}

/** An alive element's index in the list, or -1 (not alive, or not in this seq). */
export function seqIndexOf(seq: Seq, keyFloor: VV, e: ListElem): number {
  const c = orderOf(seq, keyFloor);
  const i = lowerBound(c.keys, fullKey(e));
  return i < c.elems.length && c.elems[i] === e ? i : -1;
}

/** The first index whose key is not below `k`. */
function lowerBound(keys: FullKey[], k: FullKey): number {
  let lo = 0, hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keys[mid], k) < 0) lo = mid + 1; else hi = mid;
  }
  return lo;
}

function orderInsert(c: OrderCache, e: ListElem): void {
  const k = fullKey(e);
  const i = lowerBound(c.keys, k);
  c.keys.splice(i, 0, k);
  c.elems.splice(i, 0, e);
}

/** Removes e from the order; false when it was not there (the cache is then dropped). */
function orderRemove(c: OrderCache, e: ListElem): boolean {
  const k = fullKey(e);
  const i = lowerBound(c.keys, k);
  if (i >= c.keys.length || c.elems[i] !== e) return false;
  c.keys.splice(i, 1);
  c.elems.splice(i, 1);
  return true;
}

/**
 * seq := seq ⊔ d, canonical under keyFloor (elements under a floor dropped); whether it
 * changed. `keyFloorRose`: whether the key floor rose in this join (then elements may die by
 * it; otherwise only d's own elements need checking).
 */
export function seqJoinInto(seq: Seq, d: Seq, keyFloor: VV, keyFloorRose = true): boolean {
  let changed = false;
  let floorRose = keyFloorRose;
  for (const [n, ts] of d.floor) if (ts > vvGet(seq.floor, n)) { seq.floor.set(n, ts); changed = true; floorRose = true; }
  if (floorRose) orders.delete(seq);
  let c = orders.get(seq);
  for (const [id, e] of d.elems) {
    const cur = seq.elems.get(id);
    if (!cur) {
      if (underFloor(e, seq, keyFloor)) continue;
      const added = { ...e };
      seq.elems.set(id, added);
      changed = true;
      if (c && added.rts === 0) orderInsert(c, added);
      continue;
    }
    // (a value update changes the element in place: the order holds the same object)
    if (compareStamp(e.vts, e.vnode, cur.vts, cur.vnode) > 0) { cur.v = e.v; cur.vts = e.vts; cur.vnode = e.vnode; changed = true; }
    if (e.rts !== 0 && (cur.rts === 0 || compareStamp(e.rts, e.rnode, cur.rts, cur.rnode) > 0)) {
      const wasAlive = cur.rts === 0;
      cur.rts = e.rts; cur.rnode = e.rnode; changed = true;
      if (c && wasAlive && !orderRemove(c, cur)) { orders.delete(seq); c = undefined; }
    }
  }
  if (floorRose) seqCanonical(seq, keyFloor);
  return changed;
}

export function seqCanonical(seq: Seq, keyFloor: VV): void {
  for (const [id, e] of seq.elems) if (underFloor(e, seq, keyFloor)) seq.elems.delete(id);
  for (const [n, ts] of seq.floor) if (ts <= vvGet(keyFloor, n)) seq.floor.delete(n);
}

export function seqEmpty(seq: Seq): boolean {
  return seq.elems.size === 0 && seq.floor.size === 0;
}

/** Whether any element is alive or any write could still be (anything but tombstones). */
export function seqHasEntries(seq: Seq): boolean {
  for (const e of seq.elems.values()) if (e.rts === 0) return true;
  return false;
}

/** The latest alive write (insert or LSET) as a stamp, or undefined. */
export function seqLatest(seq: Seq, keyFloor: VV): { ts: number; node: string } | undefined {
  let best: { ts: number; node: string } | undefined;
  for (const e of seq.elems.values()) {
    if (!elemAlive(e, seq, keyFloor)) continue;
    const st = compareStamp(e.vts, e.vnode, e.ts, e.node) > 0 ? { ts: e.vts, node: e.vnode } : { ts: e.ts, node: e.node };
    if (!best || compareStamp(st.ts, st.node, best.ts, best.node) > 0) best = st;
  }
  return best;
}

/** A removal of everything this replica sees of the list (a type change): the seq floor. */
export function seqRemoveAllDelta(seq: Seq): Seq {
  const d = seqNew();
  for (const e of seq.elems.values()) if (e.ts > vvGet(d.floor, e.node)) d.floor.set(e.node, e.ts);
  return d;
}

/** Observes every element's creating stamp into a floor (DEL). */
export function seqObserve(floor: VV, seq: Seq): void {
  for (const e of seq.elems.values()) if (e.ts > vvGet(floor, e.node)) floor.set(e.node, e.ts);
}

export function seqCopy(seq: Seq): Seq {
  const c = seqNew();
  for (const [n, t] of seq.floor) c.floor.set(n, t);
  for (const [id, e] of seq.elems) c.elems.set(id, { ...e });
  return c;
}

/**
 * LCS-based alignment of an old list (element ids + values) with a new list of values:
 * which old elements stay (matched), which go, where new ones come in. Common prefix and
 * suffix first (pushes, pops, LSET, LINSERT are all a single block there); the middle by a
 * subsequence check, then by dynamic programming when it is small enough, else replaced.
 * Returns, per new position, the matched old index or -1.
 */
export function alignLists(old: Buffer[], now: Buffer[]): number[] {
  const match = new Array<number>(now.length).fill(-1);
  let p = 0;
  while (p < old.length && p < now.length && old[p].equals(now[p])) { match[p] = p; p++; }
  let q = 0;
  while (q < old.length - p && q < now.length - p && old[old.length - 1 - q].equals(now[now.length - 1 - q])) {
    match[now.length - 1 - q] = old.length - 1 - q;
    q++;
  }
  const o0 = p, o1 = old.length - q, n0 = p, n1 = now.length - q;
  const on = o1 - o0, nn = n1 - n0;
  if (on === 0 || nn === 0) return match;
  // the new middle a subsequence of the old one (LREM, LTRIM...): greedy
  if (nn < on) {
    let i = o0;
    const m: number[] = [];
    for (let j = n0; j < n1; j++) {
      while (i < o1 && !old[i].equals(now[j])) i++;
      if (i === o1) break;
      m.push(i++);
    }
    if (m.length === nn) { for (let j = 0; j < nn; j++) match[n0 + j] = m[j]; return match; }
  }
  if ((on + 1) * (nn + 1) > 1_000_000) return match; // too big: replace the middle
  const w = nn + 1;
  const L = new Uint32Array((on + 1) * w);
  for (let i = on - 1; i >= 0; i--) {
    for (let j = nn - 1; j >= 0; j--) {
      L[i * w + j] = old[o0 + i].equals(now[n0 + j]) ? L[(i + 1) * w + j + 1] + 1 : Math.max(L[(i + 1) * w + j], L[i * w + j + 1]);
    }
  }
  let i = 0, j = 0;
  while (i < on && j < nn) {
    if (old[o0 + i].equals(now[n0 + j])) { match[n0 + j] = o0 + i; i++; j++; }
    else if (L[(i + 1) * w + j] >= L[i * w + j + 1]) i++;
    else j++;
  }
  return match;
}
