// KeyState: the replicated state of one key, and its merge (join). Everything a key can hold
// is kept as observed-remove registers (or-register.ts) under one key-level floor:
//
//   floor     version vector: DEL (and any overwrite) raises it to everything it observed,
//             so the key's observed contents die and concurrent, unseen writes survive.
//   str       the string value: last writer wins among alive entries.
//   cnt       per node, the running total of that node's INCR/DECR/INCRBY/DECRBY/INCRBYFLOAT
//             on the key, in units of 10^-17 (decimal.ts: exact decimal sums), with the
//             timestamp of its latest increment; merged by latest timestamp.
//   cntBase   per node, the total observed when the counter was last reset (SET, DEL):
//             a node contributes cnt - cntBase. So SET resets only the increments it saw
//             (observed reset): INCR on two nodes during a partition both count, and an INCR
//             concurrent with a SET is added to the SET's value.
//   list      a sequence CRDT (seq.ts): elements with fractional positions and ids, removed
//             elements kept as tombstones until garbage collection.
//   set       member -> register of presence (OR-set: add-wins).
//   hash      field -> register of value (add-wins per field, last writer wins per value).
//   hcnt      field -> counters (cnt, base) of HINCRBY on that field, as cnt/cntBase for
//             strings: HINCRBY on two nodes both count; HSET/HDEL/DEL reset what they saw.
//   zset      member -> register of score (add-wins per member, last writer wins per score).
//   zcnt      member -> counters (float totals) of ZINCRBY on that member: the score is the
//             ZADD winner (or 0) plus the increments no ZADD/ZREM/DEL has seen, so ZINCRBY
//             on two nodes both count.
//   ttl       register of absolute expiry ms (0 = persistent): of the alive entries a 0 wins
//             (PERSIST wins), else the greatest (the longer TTL wins).
//
// Type conflicts (a SET on one node, an SADD on another, concurrently): the visible type is
// the one whose latest alive write has the greatest (timestamp, node id); the loser's state
// stays hidden until a later local write on that key removes it.
//
// Joins are pointwise maxima, so merges commute, associate and are idempotent; the state is
// kept canonical (see or-register.ts) so equal states encode to equal bytes.
import { compareStamp } from "./hlc.js";
import { SCALE, formatUnits, parseDecimal, toUnits } from "./decimal.js";
import { vvGet, vvRaise, type VV } from "./vv.js";
// (compact-state.ts imports only types from here: no cycle at load)
import { leanDelta } from "./compact-state.js";
import {
  between, elemId, fullKey, seqEmpty, seqJoinInto, seqLatest, seqNew, seqObserve, seqOrder,
  seqRemoveAllDelta, type ListElem, type Seq,
} from "./seq.js";
import {
  orAlive, orCanonical, orEmpty, orJoinInto, orLatest, orNew, orRemoveDelta, orWinner, orWriteDelta,
  type OrRegister,
} from "./or-register.js";

/**
 * One node's running total of increments. `run` is the timestamp of the increment that
 * started this total: a node whose own total was reset away (or garbage-collected) starts a
 * new run from 0, and a reset point (base) applies only to totals of its own run
 * (base.ts >= run), so a base a replica still holds never cancels a later run's increments.
 */
export interface Counter<T = bigint> { ts: number; total: T; run: number }

/** HINCRBY totals of one hash field: per node running totals and reset points. */
export interface FieldCounters<T = bigint> { cnt: Map<string, Counter<T>>; base: Map<string, Counter<T>> }

export type ElemKind = "set" | "hash" | "zset";
export type KeyType = "string" | "list" | ElemKind;

export interface KeyState {
  floor: VV;
  str: OrRegister<Buffer>;
  cnt: Map<string, Counter>;
  cntBase: Map<string, Counter>;
  list: Seq;
  set: Map<string, OrRegister<true>>;
  hash: Map<string, OrRegister<Buffer>>;
  hcnt: Map<string, FieldCounters>;
  zset: Map<string, OrRegister<number>>;
  zcnt: Map<string, FieldCounters<number>>;
  ttl: OrRegister<number>;
}

export function emptyKeyState(): KeyState {
  return {
    floor: new Map(), str: orNew(), cnt: new Map(), cntBase: new Map(), list: seqNew(),
    set: new Map(), hash: new Map(), hcnt: new Map(), zset: new Map(), zcnt: new Map(), ttl: orNew(),
  };
}

// ---- join -------------------------------------------------------------------------------

function joinCounters<T>(into: Map<string, Counter<T>>, d: Map<string, Counter<T>>): boolean {
  let changed = false;
  for (const [n, c] of d) {
    const cur = into.get(n);
    if (!cur || c.ts > cur.ts) { into.set(n, c); changed = true; }
  }
  return changed;
}

function joinElems<T>(into: Map<string, OrRegister<T>>, d: Map<string, OrRegister<T>>, floor: VV, all: boolean): boolean {
  let changed = false;
  for (const [m, r] of d) {
    let cur = into.get(m);
    if (!cur) { cur = orNew<T>(); into.set(m, cur); }
    if (orJoinInto(cur, r, floor)) changed = true;
    if (orEmpty(cur)) into.delete(m);
  }
  if (!all) return changed;
  for (const [m, r] of into) {
    if (d.has(m)) continue;
    orCanonical(r, floor);
    if (orEmpty(r)) into.delete(m);
  }
  return changed;
}

/**
 * s := s ⊔ d, in place; s stays canonical. Returns whether s changed (conservatively: a
 * raised floor or counter base counts even when nothing visible changes).
 */
export function joinInto(s: KeyState, d: KeyState): boolean {
  let floorRose = false;
  for (const [n, ts] of d.floor) if (ts > vvGet(s.floor, n)) { s.floor.set(n, ts); floorRose = true; }
  let changed = floorRose;
  if (orJoinInto(s.str, d.str, s.floor)) changed = true;
  if (seqJoinInto(s.list, d.list, s.floor, floorRose)) changed = true;
  if (orJoinInto(s.ttl, d.ttl, s.floor)) changed = true;
  if (joinCounters(s.cntBase, d.cntBase)) changed = true;
  if (joinCounters(s.cnt, d.cnt)) changed = true;
  for (const [n, c] of s.cnt) if (c.ts <= (s.cntBase.get(n)?.ts ?? 0)) s.cnt.delete(n);
  if (joinElems(s.set, d.set, s.floor, floorRose)) changed = true;
  if (joinElems(s.hash, d.hash, s.floor, floorRose)) changed = true;
  if (joinFieldCounters(s.hcnt, d.hcnt)) changed = true;
  if (joinElems(s.zset, d.zset, s.floor, floorRose)) changed = true;
  if (joinFieldCounters(s.zcnt, d.zcnt)) changed = true;
  return changed;
}

function joinFieldCounters<T>(into: Map<string, FieldCounters<T>>, d: Map<string, FieldCounters<T>>): boolean {
  let changed = false;
  for (const [f, fc] of d) {
    let cur = into.get(f);
    if (!cur) { cur = { cnt: new Map(), base: new Map() }; into.set(f, cur); }
    if (joinCounters(cur.base, fc.base)) changed = true;
    if (joinCounters(cur.cnt, fc.cnt)) changed = true;
    for (const [n, c] of cur.cnt) if (c.ts <= (cur.base.get(n)?.ts ?? 0)) cur.cnt.delete(n);
    if (cur.cnt.size === 0 && cur.base.size === 0) into.delete(f);
  }
  return changed;
}

/** The canonical form of a state (deltas are built loosely, then made canonical). */
function canon(d: KeyState): KeyState {
  return copyKeyState(d);
}

export function copyKeyState(s: KeyState): KeyState {
  const c = emptyKeyState();
  joinInto(c, s);
  return c;
}

// ---- what a client sees -------------------------------------------------------------------

export type Visible =
  | { type: "string"; value: Buffer; expireAt: number }
  | { type: "list"; value: Buffer[]; expireAt: number }
  | { type: "set"; value: Buffer[]; expireAt: number }
  | { type: "hash"; value: [Buffer, Buffer][]; expireAt: number }
  | { type: "zset"; value: [Buffer, number][]; expireAt: number };

interface Stamp { ts: number; node: string }

function later(a: Stamp | undefined, b: Stamp | undefined): Stamp | undefined {
  if (!a) return b;
  if (!b) return a;
  return compareStamp(a.ts, a.node, b.ts, b.node) >= 0 ? a : b;
}

/** Per node, the counter increments not covered by a reset. */
function counterContributions(s: KeyState): [string, Counter, bigint][] {
  return contributions(s.cnt, s.cntBase);
}

function contributions(cnt: Map<string, Counter>, bases: Map<string, Counter>): [string, Counter, bigint][] {
  const out: [string, Counter, bigint][] = [];
  for (const [n, c] of cnt) {
    const base = bases.get(n);
    if (base && c.ts <= base.ts) continue;
    out.push([n, c, c.total - (base && base.ts >= c.run ? base.total : 0n)]);
  }
  return out;
}

function elemsLatest(m: Map<string, OrRegister<unknown>>, floor: VV): Stamp | undefined {
  let best: Stamp | undefined;
  for (const r of m.values()) best = later(best, orLatest(r, floor));
  return best;
}

/** The latest alive write of each type (absent when the type holds nothing alive). */
export function typeStamps(s: KeyState): Map<KeyType, Stamp> {
  const out = new Map<KeyType, Stamp>();
  let str = orLatest(s.str, s.floor);
  for (const [n, c] of counterContributions(s)) str = later(str, { ts: c.ts, node: n });
  if (str) out.set("string", str);
  const list = seqLatest(s.list, s.floor);
  if (list) out.set("list", list);
  for (const kind of ["set", "hash", "zset"] as const) {
    let st = elemsLatest(s[kind] as Map<string, OrRegister<unknown>>, s.floor);
    if (kind === "hash") for (const fc of s.hcnt.values()) for (const [n, c] of contributions(fc.cnt, fc.base)) st = later(st, { ts: c.ts, node: n });
    if (kind === "zset") for (const fc of s.zcnt.values()) for (const [n, c] of floatContributions(fc)) st = later(st, { ts: c.ts, node: n });
    if (st) out.set(kind, st);
  }
  return out;
}

/**
 * Whether the state holds alive content of a type other than `keep` (typeStamps has a type
 * other than it): a local write of `keep` then clears it first (clearTypesDelta). A state whose
 * other types' parts are all empty (every string key) answers without typeStamps' map and stamps.
 */
export function holdsOtherType(s: KeyState, keep: KeyType): boolean {
  if (s.list.elems.size === 0 && s.set.size === 0 && s.hash.size === 0 && s.hcnt.size === 0 && s.zset.size === 0 && s.zcnt.size === 0) {
    if (keep === "string" || (s.str.entries.size === 0 && s.cnt.size === 0)) return false;
  }
  for (const t of typeStamps(s).keys()) if (t !== keep) return true;
  return false;
}

/** The visible type: the one whose latest alive write is the greatest (type-conflict rule). */
export function visibleType(s: KeyState): KeyType | undefined {
  let best: [KeyType, Stamp] | undefined;
  for (const [t, st] of typeStamps(s)) {
    if (!best || compareStamp(st.ts, st.node, best[1].ts, best[1].node) > 0) best = [t, st];
  }
  return best?.[0];
}

const INT64 = /^(0|-?[1-9][0-9]*)$/;

/** The string value: the LWW winner, plus the counter contributions when it is an integer. */
export function visibleString(s: KeyState): Buffer | undefined {
  return withCounters(orWinner(s.str, s.floor), counterContributions(s));
}

/** A hash field's value: its LWW winner plus its HINCRBY contributions; undefined when absent. */
export function visibleField(s: KeyState, f: string): Buffer | undefined {
  const r = s.hash.get(f);
  const fc = s.hcnt.get(f);
  return withCounters(r ? orWinner(r, s.floor) : undefined, fc ? contributions(fc.cnt, fc.base) : []);
}

function withCounters(w: [string, { ts: number; v: Buffer }] | undefined, contrib: [string, Counter, bigint][]): Buffer | undefined {
  if (contrib.length === 0) return w?.[1].v;
  const baseText = w ? w[1].v.toString("latin1") : "0";
  let sum = 0n;
  for (const [, , d] of contrib) sum += d;
  // integers stay integers (INCR's text); anything with decimals is an exact decimal sum
  if (INT64.test(baseText) && sum % SCALE === 0n) return Buffer.from((BigInt(baseText) + sum / SCALE).toString(), "latin1");
  const base = parseDecimal(baseText);
  if (!base) return w![1].v; // a base that is not a number hides the increments
  return Buffer.from(formatUnits(toUnits(base) + sum), "latin1");
}

/** Per node, the ZINCRBY increments of a member not covered by a reset, in node order. */
function floatContributions(fc: FieldCounters<number>): [string, Counter<number>, number][] {
  const out: [string, Counter<number>, number][] = [];
  for (const n of [...fc.cnt.keys()].sort()) {
    const c = fc.cnt.get(n)!;
    const base = fc.base.get(n);
    if (base && c.ts <= base.ts) continue;
    out.push([n, c, c.total - (base && base.ts >= c.run ? base.total : 0)]);
  }
  return out;
}

/**
 * A zset member's score: its ZADD winner (0 without one) plus its ZINCRBY contributions,
 * summed in node order so every replica computes the same double; undefined when absent.
 */
export function visibleScore(s: KeyState, m: string): number | undefined {
  const r = s.zset.get(m);
  const w = r ? orWinner(r, s.floor) : undefined;
  const fc = s.zcnt.get(m);
  const contrib = fc ? floatContributions(fc) : [];
  if (!contrib.length) return w?.[1].v;
  let score = w ? w[1].v : 0;
  for (const [, , d] of contrib) score += d;
  return Number.isNaN(score) ? (w ? w[1].v : 0) : score;
}

/** Absolute expiry in ms, or 0 for none: PERSIST (0) wins, else the longest TTL. */
export function visibleExpireAt(s: KeyState): number {
  let best = 0;
  for (const [, e] of orAlive(s.ttl, s.floor)) {
    if (e.v === 0) return 0;
    if (e.v > best) best = e.v;
  }
  return best;
}

function latin(m: string): Buffer {
  return Buffer.from(m, "latin1");
}

/** What a client of a replica holding this state sees at the key, or undefined (no key). */
export function visible(s: KeyState): Visible | undefined {
  const type = visibleType(s);
  if (!type) return undefined;
  const expireAt = visibleExpireAt(s);
  switch (type) {
    case "string": return { type, value: visibleString(s)!, expireAt };
    case "list": return { type, value: seqOrder(s.list, s.floor).map((e) => e.v), expireAt };
    case "set": {
      const value: Buffer[] = [];
      for (const [m, r] of s.set) if (orAlive(r, s.floor).length) value.push(latin(m));
      return { type, value, expireAt };
    }
    case "hash": {
      const value: [Buffer, Buffer][] = [];
      for (const f of new Set([...s.hash.keys(), ...s.hcnt.keys()])) { const v = visibleField(s, f); if (v) value.push([latin(f), v]); }
      return { type, value, expireAt };
    }
    case "zset": {
      const value: [Buffer, number][] = [];
      for (const m of new Set([...s.zset.keys(), ...s.zcnt.keys()])) { const v = visibleScore(s, m); if (v !== undefined) value.push([latin(m), v]); }
      return { type, value, expireAt };
    }
  }
}

/** Whether the state carries nothing at all (no floor either): it can be forgotten. */
export function isBlank(s: KeyState): boolean {
  return s.floor.size === 0 && orEmpty(s.str) && s.cnt.size === 0 && s.cntBase.size === 0 && seqEmpty(s.list) &&
    s.set.size === 0 && s.hash.size === 0 && s.hcnt.size === 0 && s.zset.size === 0 && s.zcnt.size === 0 && orEmpty(s.ttl);
}

// ---- local writes: each returns the delta to join locally and send to peers ---------------

function observeReg(floor: VV, r: OrRegister<unknown>): void {
  for (const [n, e] of r.entries) vvRaise(floor, n, e.ts);
}

/** The latest total this replica knows of each node's counter (for a reset's base). */
function observedCounters(s: KeyState): Map<string, Counter> {
  const out = new Map(s.cntBase);
  joinCounters(out, s.cnt);
  return out;
}

/**
 * DEL: removes everything this replica observed at the key (an expiry is deleted the same
 * way). With `node`/`ts` (every local write passes them) the floor also carries the deleting
 * node's own stamp: it kills nothing more (a node has observed all its own writes), but it
 * lets garbage collection tell when the delete itself has reached every replica (gc.ts).
 */
export function delDelta(s: KeyState, node?: string, ts?: number): KeyState {
  // (a lean delta: its parts other than the floor are shared empties until written here; a
  // SET of a new key made two fourteen-map states, this and the capture's empty state)
  const d = leanDelta();
  if (node !== undefined && ts !== undefined) vvRaise(d.floor, node, ts);
  if (s.str.entries.size) observeReg(d.floor, s.str);
  if (s.list.elems.size) seqObserve(d.floor, s.list);
  if (s.ttl.entries.size) observeReg(d.floor, s.ttl);
  if (s.set.size) for (const r of s.set.values()) observeReg(d.floor, r);
  if (s.hash.size) for (const r of s.hash.values()) observeReg(d.floor, r);
  if (s.zset.size) for (const r of s.zset.values()) observeReg(d.floor, r);
  if (s.cnt.size || s.cntBase.size) d.cntBase = observedCounters(s);
  if (s.hcnt.size) {
    d.hcnt = new Map();
    for (const [f, fc] of s.hcnt) { const base = observedOf(fc); if (base.size) d.hcnt.set(f, { cnt: new Map(), base }); }
  }
  if (s.zcnt.size) {
    d.zcnt = new Map();
    for (const [m, fc] of s.zcnt) { const base = observedOf(fc); if (base.size) d.zcnt.set(m, { cnt: new Map(), base }); }
  }
  // Canonical as built (no canon copy: a CRDT.PEER ADD walk makes one per key): a floor,
  // counter bases, and field counters with a base only, which is what canon would keep.
  return d;
}

function observedFieldCounters(s: KeyState, f: string): Map<string, Counter> {
  return observedOf(s.hcnt.get(f));
}

/** The latest total this replica knows of each node's counter (a reset's base). */
function observedOf<T>(fc: FieldCounters<T> | undefined): Map<string, Counter<T>> {
  const out = new Map(fc?.base ?? []);
  if (fc) joinCounters(out, fc.cnt);
  return out;
}

/** ZINCRBY by on this node: the member's per-node total grows (a float counter). */
export function zincrDelta(s: KeyState, member: string, node: string, ts: number, by: number): KeyState {
  const d = clearTypesDelta(s, "zset", node, ts);
  const own = s.zcnt.get(member)?.cnt.get(node);
  const base = s.zcnt.get(member)?.base.get(node);
  // (as nextTotal: a total a base applies to continues as a new run of what it contributes)
  const c: Counter<number> = !own ? { ts, total: by, run: ts }
    : base && base.ts >= own.run ? { ts, total: own.total - base.total + by, run: ts }
    : { ts, total: own.total + by, run: own.run };
  d.zcnt.set(member, { cnt: new Map([[node, c]]), base: new Map() });
  return canon(d);
}

/** HINCRBY by on this node: the field's per-node total grows. */
export function hincrDelta(s: KeyState, field: string, node: string, ts: number, by: bigint): KeyState {
  return hincrUnitsDelta(s, field, node, ts, by * SCALE);
}

/** HINCRBY / HINCRBYFLOAT: the field's per-node total grows by `units` (10^-17, decimal.ts). */
export function hincrUnitsDelta(s: KeyState, field: string, node: string, ts: number, units: bigint): KeyState {
  const d = clearTypesDelta(s, "hash", node, ts);
  const fc = s.hcnt.get(field);
  d.hcnt.set(field, { cnt: new Map([[node, nextTotal(fc?.cnt.get(node), fc?.base.get(node), ts, units)]]), base: new Map() });
  return canon(d);
}

/** A string write that replaces the key (SET, APPEND, SETRANGE...: last writer wins on the whole value). */
export function setStringDelta(s: KeyState, node: string, ts: number, value: Buffer): KeyState {
  const d = delDelta(s, node, ts - 1); // (ts - 1: the floor must not kill the new value itself)
  const entries = new Map<string, { ts: number; v: Buffer }>();
  entries.set(node, { ts, v: value });
  d.str = { entries, floor: d.str.floor };
  // delDelta's state is canonical and the new entry is above every floor (this node's own
  // stamps are below ts), so d is too; canon only if a stamp says otherwise
  return ts > vvGet(d.floor, node) ? d : canon(d);
}

/** INCRBY by on this node: the node's running total grows; other types hidden here are removed. */
export function incrDelta(s: KeyState, node: string, ts: number, by: bigint): KeyState {
  return incrUnitsDelta(s, node, ts, by * SCALE);
}

/** INCRBY / INCRBYFLOAT: the node's running total grows by `units` (10^-17, decimal.ts). */
export function incrUnitsDelta(s: KeyState, node: string, ts: number, units: bigint): KeyState {
  const d = clearTypesDelta(s, "string", node, ts);
  d.cnt.set(node, nextTotal(s.cnt.get(node), s.cntBase.get(node), ts, units));
  return canon(d);
}

/**
 * The node's total after adding `by`: its alive total continues; with none alive (never
 * incremented, or reset) a new run starts at `by`, which no older base can cancel. A total
 * that a base (a reset concurrent with it) applies to continues as a new run holding what
 * it contributes (total - base): the value is the same, and the base then cancels nothing
 * alive, so garbage collection can drop it once the reset is stable (gc.ts).
 */
function nextTotal(own: Counter | undefined, base: Counter | undefined, ts: number, by: bigint): Counter {
  if (!own) return { ts, total: by, run: ts };
  if (base && base.ts >= own.run) return { ts, total: own.total - base.total + by, run: ts };
  return { ts, total: own.total + by, run: own.run };
}

/**
 * Local list edits, as one delta: `removed` elements (by id) die with this node's stamp,
 * `set` elements (id -> value) take a new value (LSET), and `inserted` runs of values come
 * in between their alive neighbours (`after`: the id of the element before the run, "" for
 * the head; `before`: the id after it, "" for the tail). Stamps come from `tick`, one per
 * new element, so ids are unique and later than everything this node has seen.
 */
export interface ListEdit {
  removed: string[];
  set: [string, Buffer][];
  inserted: { after: string; before: string; values: Buffer[] }[];
}

export function listEditDelta(s: KeyState, node: string, tick: () => number, edit: ListEdit): KeyState {
  const d = clearTypesDelta(s, "list", node, s.cnt.size || s.hcnt.size || s.zcnt.size ? tick() : undefined);
  const elems = s.list.elems;
  for (const id of edit.removed) {
    const e = elems.get(id);
    if (e) d.list.elems.set(id, { ...e, rts: tick(), rnode: node });
  }
  for (const [id, v] of edit.set) {
    const e = elems.get(id);
    if (e) d.list.elems.set(id, { ...e, v, vts: tick(), vnode: node });
  }
  for (const run of edit.inserted) {
    const bound = (id: string): number[] | undefined => { const e = elems.get(id); return e ? fullKey(e) : undefined; };
    let left = run.after ? bound(run.after) ?? [] : [];
    const right = run.before ? bound(run.before) : undefined;
    const mk = (v: Buffer, pos: number[]): ListElem => { const ts = tick(); return { pos, ts, node, v, vts: ts, vnode: node, rts: 0, rnode: "" }; };
    if (left.length === 0 && right !== undefined) {
      // at the head: place from the right end of the run leftwards, each just below the next
      const made: ListElem[] = [];
      let r: number[] = right;
      for (let i = run.values.length - 1; i >= 0; i--) { const e = mk(run.values[i], between([], r)); made.push(e); r = fullKey(e); }
      for (const e of made) d.list.elems.set(elemId(e.ts, e.node), e);
    } else {
      for (const v of run.values) { const e = mk(v, between(left, right)); d.list.elems.set(elemId(e.ts, e.node), e); left = fullKey(e); }
    }
  }
  return canon(d);
}

/** Adds (or re-adds) a set member / writes a hash field or zset score. */
export function elemWriteDelta<K extends ElemKind>(s: KeyState, kind: K, member: string, node: string, ts: number,
  value: K extends "set" ? true : K extends "hash" ? Buffer : number): KeyState {
  const d = clearTypesDelta(s, kind, node, ts);
  const cur = (s[kind] as Map<string, OrRegister<unknown>>).get(member);
  const reg = orWriteDelta(cur, node, ts, value);
  (d[kind] as Map<string, OrRegister<unknown>>).set(member, reg);
  if (kind === "hash" && s.hcnt.has(member)) d.hcnt.set(member, { cnt: new Map(), base: observedFieldCounters(s, member) });
  if (kind === "zset" && s.zcnt.has(member)) d.zcnt.set(member, { cnt: new Map(), base: observedOf(s.zcnt.get(member)) });
  // a reset of the member's counters carries the own stamp (gc.ts), as clearTypesDelta's does
  if ((kind === "hash" && s.hcnt.has(member)) || (kind === "zset" && s.zcnt.has(member))) vvRaise(reg.floor, node, ts - 1);
  return canon(d);
}

/** Removes a set member / hash field / zset member as observed here. */
export function elemRemoveDelta(s: KeyState, kind: ElemKind, member: string, node?: string, ts?: number): KeyState {
  const d = emptyKeyState();
  const cur = (s[kind] as Map<string, OrRegister<unknown>>).get(member);
  // A hash field written only by HINCRBY has no register yet: its removal gets one, to carry
  // the own stamp (garbage collection needs it).
  const stamp = node !== undefined && ts !== undefined;
  const counted = kind === "hash" ? s.hcnt.has(member) : kind === "zset" ? s.zcnt.has(member) : false;
  if (cur || (stamp && counted)) {
    const r = cur ? orRemoveDelta(cur) : orNew<unknown>();
    if (stamp) vvRaise(r.floor, node, ts); // own stamp, as delDelta
    (d[kind] as Map<string, OrRegister<unknown>>).set(member, r);
  }
  if (kind === "hash" && s.hcnt.has(member)) d.hcnt.set(member, { cnt: new Map(), base: observedFieldCounters(s, member) });
  if (kind === "zset" && s.zcnt.has(member)) d.zcnt.set(member, { cnt: new Map(), base: observedOf(s.zcnt.get(member)) });
  return canon(d);
}

/** Sets the TTL (absolute ms; 0 = PERSIST). */
export function ttlDelta(s: KeyState, node: string, ts: number, expireAt: number): KeyState {
  const d = emptyKeyState();
  d.ttl = orWriteDelta(s.ttl, node, ts, expireAt);
  return canon(d);
}

/**
 * Removes the TTL as observed here (a list emptied element by element: the key is gone, so
 * its expiry goes with it). The floor carries the removing node's own stamp, as every local
 * removal's does, so garbage collection can tell when the removal reached every replica.
 */
export function ttlRemoveDelta(s: KeyState, node: string, ts: number): KeyState {
  const d = emptyKeyState();
  d.ttl = orRemoveDelta(s.ttl);
  vvRaise(d.ttl.floor, node, ts);
  return canon(d);
}

/**
 * Removes observed content of every type but `keep` (a local write fixes the key's type).
 * With `node`/`ts` (local writes pass them), a reset of counters also carries the resetting
 * node's own stamp, as every removal does: garbage collection then knows when the reset
 * reached every replica (gc.ts). The stamp goes in the floor of a register this delta clears,
 * where it kills nothing more (this node's own entries there are all observed, so removed
 * anyway): the string register's, or the list's when the string is kept — in the string
 * register it would kill this node's own value, so an INCR after this node's SET, on a key
 * that still held a dead field counter, lost the SET's value (simulation seed 433).
 */
export function clearTypesDelta(s: KeyState, keep: KeyType, node?: string, ts?: number): KeyState {
  const d = emptyKeyState();
  if (keep !== "string") {
    d.str = orRemoveDelta(s.str);
    if (s.cnt.size) d.cntBase = observedCounters(s);
  }
  const resets = (keep !== "string" && s.cnt.size > 0) || (keep !== "hash" && s.hcnt.size > 0) || (keep !== "zset" && s.zcnt.size > 0);
  if (keep !== "list") d.list = seqRemoveAllDelta(s.list);
  if (resets && node !== undefined && ts !== undefined) vvRaise(keep === "string" ? d.list.floor : d.str.floor, node, ts - 1);
  for (const kind of ["set", "hash", "zset"] as const) {
    if (kind === keep) continue;
    const src = s[kind] as Map<string, OrRegister<unknown>>;
    const dst = d[kind] as Map<string, OrRegister<unknown>>;
    for (const [m, r] of src) if (r.entries.size) dst.set(m, orRemoveDelta(r));
    if (kind === "hash") for (const f of s.hcnt.keys()) d.hcnt.set(f, { cnt: new Map(), base: observedFieldCounters(s, f) });
    if (kind === "zset") for (const m of s.zcnt.keys()) d.zcnt.set(m, { cnt: new Map(), base: observedOf(s.zcnt.get(m)) });
  }
  return d;
}

/** The greatest timestamp anywhere in a state (a receiver's clock observes it). */
export function maxStamp(s: KeyState): number {
  let m = 0;
  const see = (ts: number) => { if (ts > m) m = ts; };
  for (const ts of s.floor.values()) see(ts);
  const reg = (r: OrRegister<unknown>) => { for (const e of r.entries.values()) see(e.ts); for (const ts of r.floor.values()) see(ts); };
  reg(s.str); reg(s.ttl);
  for (const e of s.list.elems.values()) { see(e.ts); see(e.vts); see(e.rts); }
  for (const ts of s.list.floor.values()) see(ts);
  for (const c of s.cnt.values()) see(c.ts);
  for (const c of s.cntBase.values()) see(c.ts);
  for (const fcs of [s.hcnt, s.zcnt] as Map<string, FieldCounters<unknown>>[]) {
    for (const fc of fcs.values()) { for (const c of fc.cnt.values()) see(c.ts); for (const c of fc.base.values()) see(c.ts); }
  }
  for (const m2 of [s.set, s.hash, s.zset] as Map<string, OrRegister<unknown>>[]) for (const r of m2.values()) reg(r);
  return m;
}
