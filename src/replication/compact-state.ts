// The key states the store keeps share one empty map for the parts they do not use.
//
// A KeyState has fourteen maps (the key floor, counters and their bases, members, fields, the
// string's, list's and TTL's entries and floors...) and a key uses two or three of them: a
// string written by SET holds a key floor and a string entry. An empty Map costs ~180 bytes
// of V8 heap, so a string key's CRDT state took ~3 KB, and a CRDT.PEER ADD on a node holding
// a million keys grew its heap towards V8's limit (2.7 GB at 810k keys), where it spent its
// time in full garbage collections: pings waited up to 23.7 s and the walk had not ended after
// 20 minutes. The store (store.ts) points the empty maps of the states it keeps at EMPTY
// (shrink) and gives a state its own map again where a join is about to write (unshareFor).
// EMPTY refuses writes, so a write that skips unshareFor fails loudly rather than filling the
// one map every key shares. Only the store's join and garbage collection write into stored
// states. A DEL's or SET's delta (key-state.ts delDelta, setStringDelta) is lean the same way
// (leanDelta: its floor and value its own, the rest shared): a join into one unshares first, as
// the outgoing batch's does (Replicator.emit), or goes into a copy (copyKeyState). States
// outside the store are otherwise ordinary.
//
// A map of one entry is kept as a OneEntry (two fields, ~40 bytes) rather than a Map (~180
// bytes with its hash table): a key one node wrote has a one-entry key floor and string entry,
// so these were most of the ~0.6 KB of a SET key's state and of the heap a 1M-key CRDT.PEER
// ADD walk grows. A OneEntry reads like a Map and takes a new value of its key and removals
// (garbage collection clears floors), but refuses a second key: unshareFor gives the state a
// Map where a join may add one, as for EMPTY.
import type { KeyState } from "./key-state.js";

class SharedEmptyMap<K, V> extends Map<K, V> {
  override set(): this {
    throw new Error("write into a stored CRDT state's shared empty map (CrdtStore must unshare it first)");
  }
}

/** The empty map the stored states' unused parts point at. */
export const EMPTY: Map<never, never> = new SharedEmptyMap();

/** A stored state's map of one entry (or none, after a removal), read like a Map. */
class OneEntry<K, V> {
  constructor(private k: K, private v: V, private full = true) {}
  get size(): number { return this.full ? 1 : 0; }
  get(k: K): V | undefined { return this.full && k === this.k ? this.v : undefined; }
  has(k: K): boolean { return this.full && k === this.k; }
  /** Its one key's value; a second key is refused (unshareFor gives a Map where a join may add one). */
  set(k: K, v: V): this {
    if (this.full && k !== this.k) throw new Error("write of a second key into a stored CRDT state's one-entry map (CrdtStore must unshare it first)");
    this.k = k; this.v = v; this.full = true;
    return this;
  }
  /** The key it holds (or would: undefined when empty). */
  get key(): K | undefined { return this.full ? this.k : undefined; }
  delete(k: K): boolean {
    if (!this.has(k)) return false;
    this.clear();
    return true;
  }
  clear(): void { this.full = false; this.k = undefined as K; this.v = undefined as V; }
  // (iterators over a copy: a loop may delete the entry it is at, as Map allows)
  entries(): IterableIterator<[K, V]> { return (this.full ? [[this.k, this.v] as [K, V]] : [])[Symbol.iterator](); }
  [Symbol.iterator](): IterableIterator<[K, V]> { return this.entries(); }
  keys(): IterableIterator<K> { return (this.full ? [this.k] : [])[Symbol.iterator](); }
  values(): IterableIterator<V> { return (this.full ? [this.v] : [])[Symbol.iterator](); }
  forEach(f: (v: V, k: K, m: Map<K, V>) => void): void { if (this.full) f(this.v, this.k, this as unknown as Map<K, V>); }
  get [Symbol.toStringTag](): string { return "Map"; }
}

/** A map of one entry as a stored state keeps it (a OneEntry: see above). */
export function oneEntry<K, V>(k: K, v: V): Map<K, V> {
  return new OneEntry(k, v) as unknown as Map<K, V>;
}

function asOneEntry(m: unknown): OneEntry<unknown, unknown> | undefined {
  return m instanceof OneEntry ? m : undefined;
}

function shared<M extends Map<unknown, unknown>>(m: M): M {
  if (m.size === 0) return EMPTY as unknown as M;
  if (m.size === 1 && !asOneEntry(m)) { const [[k, v]] = m; return new OneEntry(k, v) as unknown as M; }
  return m;
}

/**
 * A map of s that joinInto may add d's keys to: unchanged while it can take them (a Map, or a
 * OneEntry when d names its one key only), else a OneEntry (d names one key) or a Map. So a key
 * one node keeps writing is joined in place, with no Map made and dropped at each join.
 */
function own<M extends Map<unknown, unknown>>(m: M, d: Map<unknown, unknown>): M {
  if (d.size === 0) return m;
  if (m === (EMPTY as unknown)) return (d.size === 1 ? new OneEntry(undefined, undefined, false) : new Map()) as unknown as M;
  const one = asOneEntry(m);
  if (!one) return m;
  if (d.size === 1 && (one.size === 0 || d.has(one.key))) return m;
  return new Map(m as Map<unknown, unknown>) as M;
}

/**
 * The TTL register and the list sequence of a key that has neither (most keys): one shared,
 * frozen object each, so a write that skips unshareFor fails there too.
 */
const NO_TTL: KeyState["ttl"] = Object.freeze({ entries: EMPTY, floor: EMPTY });
const NO_LIST: KeyState["list"] = Object.freeze({ elems: EMPTY, floor: EMPTY });

/**
 * A state the store keeps, with the hash it last folded into its range's digest (store.ts
 * rehash): in the state's own object rather than a map of key -> [lo, hi] beside it, which
 * cost ~100 bytes a key (a map entry and a two-number array).
 */
export interface StoredState extends KeyState {
  /** Whether hlo/hhi are folded into the digests. */
  hashed: boolean;
  hlo: number;
  hhi: number;
}

/** A state for a key the store is about to join its first delta into: every part shared, nothing allocated but the state's own objects. */
export function emptyStored(): StoredState {
  const e = EMPTY as Map<never, never>;
  return {
    floor: e, str: { entries: e, floor: e }, cnt: e, cntBase: e, list: NO_LIST,
    set: e, hash: e, hcnt: e, zset: e, zcnt: e, ttl: NO_TTL, hashed: false, hlo: 0, hhi: 0,
  };
}

/**
 * The state of a key that has none, for the capture to read (Replicator.state): one shared,
 * frozen object whose parts are all shared, so a write into it fails loudly. A fresh
 * emptyKeyState (fourteen maps, ~2.3 KB) per SET of a new key was a sixth of what a node with a
 * peer allocated per SET.
 */
export const BLANK: KeyState = Object.freeze({
  floor: EMPTY, str: Object.freeze({ entries: EMPTY, floor: EMPTY }), cnt: EMPTY, cntBase: EMPTY, list: NO_LIST,
  set: EMPTY, hash: EMPTY, hcnt: EMPTY, zset: EMPTY, zcnt: EMPTY, ttl: NO_TTL,
}) as KeyState;

/**
 * A delta to build in: its key floor and string register its own (a DEL's and a SET's parts),
 * every other part shared (EMPTY, or the frozen TTL and list): a builder that writes elsewhere
 * gives that part a map of its own first. Its joins into the store and into the outgoing batch
 * unshare what they write (unshareFor), as for the store's states.
 */
export function leanDelta(): KeyState {
  const e = EMPTY as Map<never, never>;
  return {
    floor: new Map(), str: { entries: e, floor: e }, cnt: e, cntBase: e, list: NO_LIST,
    set: e, hash: e, hcnt: e, zset: e, zcnt: e, ttl: NO_TTL,
  };
}

/**
 * A string key's state as a stored state keeps it (every other part shared): the form a file's
 * loaded states are read into (saved-state.ts readCompact), made without the fourteen maps of
 * an emptyKeyState. Its maps should be EMPTY or oneEntry where they hold fewer than two entries.
 */
export function stringState(floor: KeyState["floor"], str: KeyState["str"], ttl: KeyState["ttl"]): KeyState {
  const e = EMPTY as Map<never, never>;
  return {
    floor, str, cnt: e, cntBase: e, list: NO_LIST, set: e, hash: e, hcnt: e, zset: e, zcnt: e,
    ttl: ttl.entries === EMPTY && ttl.floor === EMPTY ? NO_TTL : ttl,
  };
}

/** Points s's empty maps at EMPTY (a state the store keeps, after a join or a sweep). */
export function shrink(s: KeyState): void {
  s.floor = shared(s.floor);
  s.cnt = shared(s.cnt);
  s.cntBase = shared(s.cntBase);
  s.set = shared(s.set);
  s.hash = shared(s.hash);
  s.hcnt = shared(s.hcnt);
  s.zset = shared(s.zset);
  s.zcnt = shared(s.zcnt);
  s.str.entries = shared(s.str.entries);
  s.str.floor = shared(s.str.floor);
  if (s.ttl !== NO_TTL) {
    s.ttl.entries = shared(s.ttl.entries);
    s.ttl.floor = shared(s.ttl.floor);
    if (s.ttl.entries === EMPTY && s.ttl.floor === EMPTY) s.ttl = NO_TTL;
  }
  if (s.list !== NO_LIST) {
    s.list.elems = shared(s.list.elems);
    s.list.floor = shared(s.list.floor);
    if (s.list.elems === EMPTY && s.list.floor === EMPTY) s.list = NO_LIST;
  }
}

/**
 * Gives s its own map wherever joinInto(s, d) may write: joinInto adds only what d carries
 * (each of s's maps gains entries only from d's same map; everything else it does to s
 * removes), so a part of s that d leaves empty can stay shared.
 */
export function unshareFor(s: KeyState, d: KeyState): void {
  s.floor = own(s.floor, d.floor);
  s.cnt = own(s.cnt, d.cnt);
  s.cntBase = own(s.cntBase, d.cntBase);
  s.set = own(s.set, d.set);
  s.hash = own(s.hash, d.hash);
  s.hcnt = own(s.hcnt, d.hcnt);
  s.zset = own(s.zset, d.zset);
  s.zcnt = own(s.zcnt, d.zcnt);
  s.str.entries = own(s.str.entries, d.str.entries);
  s.str.floor = own(s.str.floor, d.str.floor);
  const ttl = d.ttl.entries.size > 0 || d.ttl.floor.size > 0;
  if (ttl && s.ttl === NO_TTL) s.ttl = { entries: EMPTY, floor: EMPTY };
  if (ttl) {
    s.ttl.entries = own(s.ttl.entries, d.ttl.entries);
    s.ttl.floor = own(s.ttl.floor, d.ttl.floor);
  }
  const list = d.list.elems.size > 0 || d.list.floor.size > 0;
  if (list && s.list === NO_LIST) s.list = { elems: EMPTY, floor: EMPTY };
  if (list) {
    s.list.elems = own(s.list.elems, d.list.elems);
    s.list.floor = own(s.list.floor, d.list.floor);
  }
}

type Elems = "set" | "hash" | "zset";
const ELEMS: Elems[] = ["set", "hash", "zset"];

/**
 * shrink, and the registers of s's members and fields and their counters too: the form a file's
 * loaded states wait in (saved-state.ts keepLoadedState; the store keeps those as Maps, as
 * before). A hash of 10 fields otherwise holds 20 maps besides its own, and 100k of them made a
 * restarted node's heap 0.9 GB. `touched`: only the members and fields it names (a join of it
 * into s: the others are as they were).
 */
export function shrinkDeep(s: KeyState, touched?: KeyState): void {
  shrink(s);
  for (const kind of ELEMS) {
    const m = s[kind] as Map<string, KeyState["str"]>;
    if (m.size === 0) continue;
    if (touched) for (const f of touched[kind].keys()) { const r = m.get(f); if (r) { r.entries = shared(r.entries); r.floor = shared(r.floor); } }
    else for (const r of m.values()) { r.entries = shared(r.entries); r.floor = shared(r.floor); }
  }
  for (const kind of ["hcnt", "zcnt"] as const) {
    const m = s[kind] as Map<string, { cnt: Map<string, unknown>; base: Map<string, unknown> }>;
    if (m.size === 0) continue;
    const fields = touched ? [...touched[kind].keys()] : [...m.keys()];
    for (const f of fields) { const c = m.get(f); if (c) { c.cnt = shared(c.cnt); c.base = shared(c.base); } }
  }
}

/** unshareFor, and the registers and counters of the members and fields of s that d writes into (see shrinkDeep). */
export function unshareDeepFor(s: KeyState, d: KeyState): void {
  unshareFor(s, d);
  for (const kind of ELEMS) {
    const m = s[kind] as Map<string, KeyState["str"]>;
    if (m.size === 0) continue;
    for (const [f, dr] of d[kind] as Map<string, KeyState["str"]>) {
      const r = m.get(f);
      if (r) { r.entries = own(r.entries, dr.entries); r.floor = own(r.floor, dr.floor); }
    }
  }
  for (const kind of ["hcnt", "zcnt"] as const) {
    const m = s[kind] as Map<string, { cnt: Map<string, unknown>; base: Map<string, unknown> }>;
    if (m.size === 0) continue;
    for (const [f, dc] of d[kind] as Map<string, { cnt: Map<string, unknown>; base: Map<string, unknown> }>) {
      const c = m.get(f);
      if (c) { c.cnt = own(c.cnt, dc.cnt); c.base = own(c.base, dc.base); }
    }
  }
}
