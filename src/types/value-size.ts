// Bytes a host-held value (set, zset, stream) takes, for INFO used_memory and maxmemory
// eviction (src/server/maxmemory.ts) and MEMORY USAGE. Like MEMORY USAGE's SAMPLES, a large
// value is measured from a sample of its elements times its length, so sizing stays O(1).
//
// Per-element overheads are what V8 spends around an element's bytes: a string (header,
// then one byte a character for latin1 text), the array slot that holds it, and for sets and
// sorted sets their Map entry (and a skiplist node).
import type { HostValue } from "./value.js";
import { OBJ_SET, OBJ_ZSET, OBJ_STREAM } from "./value.js";
import type { SetValue } from "./set.js";
import type { ZSetValue } from "./zset.js";
import type { StreamValue } from "./stream.js";

/** The value object itself and its containers when empty. */
const VALUE_BASE = 96;
/** V8 string header + pointer slot, rounded. */
const STRING_OVERHEAD = 24;
/** An intset-encoded set's member: its string and array slot, and its Map entry. */
const SET_ELEMENT = STRING_OVERHEAD + 40;
const ZSET_ELEMENT = STRING_OVERHEAD + 40 + 72;
const SAMPLES = 16;

function sampledBytes(elems: readonly string[], length: number, perElement: number): number {
  if (length === 0 || elems.length === 0) return VALUE_BASE;
  let sum = 0;
  for (const e of elems) sum += e.length + perElement;
  return VALUE_BASE + Math.round((sum * length) / elems.length);
}

export function hostValueBytes(v: HostValue): number {
  switch (v.type) {
    case OBJ_SET: {
      const s = v as SetValue;
      // A hashtable-encoded set has no Map: its index is the dict's bucket heads and its
      // per-member links (src/types/set-dict.ts), counted as allocated.
      if (s.dict) return sampledBytes(s.values().slice(0, SAMPLES), s.length, STRING_OVERHEAD) + s.dict.bytes();
      return sampledBytes(s.values().slice(0, SAMPLES), s.length, SET_ELEMENT);
    }
    case OBJ_ZSET: {
      const z = v as ZSetValue;
      return sampledBytes(z.length ? z.rangeByRank(0, Math.min(z.length, SAMPLES) - 1).map((n) => n.ele) : [], z.length, ZSET_ELEMENT);
    }
    case OBJ_STREAM: {
      const st = v as StreamValue;
      const nodes = st.nodes;
      const k = Math.min(nodes.length, SAMPLES);
      let sampled = 0;
      for (let i = 0; i < k; i++) sampled += nodes[i].memoryUsage();
      const bytes = k ? Math.round((sampled * nodes.length) / k) : 0;
      return VALUE_BASE + bytes + st.groups.size * 256;
    }
  }
  return VALUE_BASE + v.length * STRING_OVERHEAD;
}
