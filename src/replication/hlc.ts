// Hybrid logical clock (Kulkarni et al.): a timestamp that follows physical time (ms) but
// never goes backwards and always exceeds every timestamp this node has seen, so "later"
// in causality is always "greater" in timestamp. Ties between nodes are broken by node id
// (compareStamp), which makes last-writer-wins deterministic everywhere.
//
// A timestamp is one number: physical ms * 1024 + logical counter. Physical ms need ~41
// bits, so the whole fits in a double's 53-bit integer range. When the logical counter
// overflows it carries into the physical part, which keeps the clock monotonic.

import { buggify, buggifyInt, definePoint } from "../util/buggify.js";

export const LOGICAL_BITS = 1024;

definePoint("crdt-hlc-skew", "a node's hybrid logical clock jumps 1-250 ms ahead of physical time", 0.01);

export class Hlc {
  private last = 0;

  constructor(private readonly physicalMs: () => number) {}

  /** A new timestamp for a local event: greater than every timestamp seen so far. */
  tick(): number {
    // (buggify: clock skew between nodes — a node running ahead wins last-writer-wins ties
    // it "should" lose, which the merge rules must survive; it never runs backwards)
    if (buggify("crdt-hlc-skew")) this.last += buggifyInt(1, 250) * LOGICAL_BITS;
    const pt = Math.floor(this.physicalMs()) * LOGICAL_BITS;
    this.last = pt > this.last ? pt : this.last + 1;
    return this.last;
  }

  /** Folds in a timestamp received from a peer, so our next tick exceeds it. */
  observe(remote: number): void {
    if (remote > this.last) this.last = remote;
  }

  /** The greatest timestamp issued or observed. */
  get current(): number { return this.last; }
}

/** Wall-clock ms of a timestamp (for INFO lag figures). */
export function physicalOf(ts: number): number {
  return Math.floor(ts / LOGICAL_BITS);
}

/** Total order on (timestamp, node id): the last-writer-wins order. */
export function compareStamp(tsA: number, nodeA: string, tsB: number, nodeB: string): number {
  if (tsA !== tsB) return tsA < tsB ? -1 : 1;
  return nodeA < nodeB ? -1 : nodeA > nodeB ? 1 : 0;
}
