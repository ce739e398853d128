// DEBUG HTSTATS / HTSTATS-KEY: the numbers Redis's _dictGetStatsHt (dict.c) prints for one
// table of a dict, counted over the real buckets. The host formats them (src/commands/
// debug-htstats.ts), so the kernel does no float formatting.
//
// Layout of the result (u32 each), read by the host at dictStatsPtr():
//   [0] table size (buckets)   [1] number of elements   [2] different slots (non-empty buckets)
//   [3] max chain length       [4] total chain length
//   [5 + i] buckets whose chain is i long, i < 49; [5 + 49] those of 49 or more
//   (DICT_STATS_VECTLEN = 50, as Redis's clvector)

import { Dict } from "./dict";

export const STATS_VECTLEN: i32 = 50;
const out = new StaticArray<u32>(5 + STATS_VECTLEN);

export function dictStatsPtr(): usize { return changetype<usize>(out); }

/**
 * Fills the result for table `htidx` of d (0: the main table, 1: the rehashing target) and
 * returns true, or false when d has no such table (not rehashing).
 */
export function dictTableStats<E>(d: Dict<E>, htidx: i32): bool {
  const t = htidx == 0 ? d.t0 : d.t1;
  if (t == null) return false;
  for (let i = 0; i < out.length; i++) unchecked(out[i] = 0);
  let slots: u32 = 0;
  let maxChain: u32 = 0;
  let total: u32 = 0;
  for (let i = 0; i < t.length; i++) {
    let e = unchecked(t[i]);
    let chain: u32 = 0;
    while (e != null) { chain++; e = e.next; }
    const at = chain < <u32>STATS_VECTLEN ? <i32>chain : STATS_VECTLEN - 1;
    unchecked(out[5 + at] = unchecked(out[5 + at]) + 1);
    if (chain == 0) continue;
    slots++;
    if (chain > maxChain) maxChain = chain;
    total += chain;
  }
  unchecked(out[0] = <u32>t.length);
  unchecked(out[1] = <u32>(htidx == 0 ? d.used0 : d.used1));
  unchecked(out[2] = slots);
  unchecked(out[3] = maxChain);
  unchecked(out[4] = total);
  return true;
}
