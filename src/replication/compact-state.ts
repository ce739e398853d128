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
// one map every key shares. Deltas and states outside the store are ordinary: only the store's
// join and garbage collection write into stored states.
import type { KeyState } from "./key-state.js";

class SharedEmptyMap<K, V> extends Map<K, V> {
  override set(): this {
    throw new Error("write into a stored CRDT state's shared empty map (CrdtStore must unshare it first)");
  }
}

/** The empty map the stored states' unused parts point at. */
export const EMPTY: Map<never, never> = new SharedEmptyMap();

function shared<M extends Map<unknown, unknown>>(m: M): M {
  return m.size === 0 ? (EMPTY as unknown as M) : m;
}

function own<M extends Map<unknown, unknown>>(m: M, written: boolean): M {
  return written && m === (EMPTY as unknown) ? (new Map() as M) : m;
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
  s.ttl.entries = shared(s.ttl.entries);
  s.ttl.floor = shared(s.ttl.floor);
  s.list.elems = shared(s.list.elems);
  s.list.floor = shared(s.list.floor);
}

/**
 * Gives s its own map wherever joinInto(s, d) may write: joinInto adds only what d carries
 * (each of s's maps gains entries only from d's same map; everything else it does to s
 * removes), so a part of s that d leaves empty can stay shared.
 */
export function unshareFor(s: KeyState, d: KeyState): void {
  s.floor = own(s.floor, d.floor.size > 0);
  s.cnt = own(s.cnt, d.cnt.size > 0);
  s.cntBase = own(s.cntBase, d.cntBase.size > 0);
  s.set = own(s.set, d.set.size > 0);
  s.hash = own(s.hash, d.hash.size > 0);
  s.hcnt = own(s.hcnt, d.hcnt.size > 0);
  s.zset = own(s.zset, d.zset.size > 0);
  s.zcnt = own(s.zcnt, d.zcnt.size > 0);
  s.str.entries = own(s.str.entries, d.str.entries.size > 0);
  s.str.floor = own(s.str.floor, d.str.floor.size > 0);
  s.ttl.entries = own(s.ttl.entries, d.ttl.entries.size > 0);
  s.ttl.floor = own(s.ttl.floor, d.ttl.floor.size > 0);
  s.list.elems = own(s.list.elems, d.list.elems.size > 0);
  s.list.floor = own(s.list.floor, d.list.floor.size > 0);
}
