// Version vectors: node id -> the greatest HLC timestamp of that node's writes a replica has
// observed (for one key, element or TTL). Merged by pointwise max. A removal records the
// vector of what it observed as a "floor": every write at or below it is dead, every write
// above it (concurrent, unseen) survives — the add-wins observed-remove rule.

export type VV = Map<string, number>;

export function vvGet(v: VV, node: string): number {
  return v.get(node) ?? 0;
}

/** Raises v[node] to ts if lower. */
export function vvRaise(v: VV, node: string, ts: number): void {
  if (ts > (v.get(node) ?? 0)) v.set(node, ts);
}

/** v := max(v, w) pointwise. */
export function vvJoinInto(v: VV, w: VV): void {
  for (const [n, ts] of w) vvRaise(v, n, ts);
}

export function vvCopy(v: VV): VV {
  return new Map(v);
}

/** v <= w pointwise (w has seen everything v has). */
export function vvLeq(v: VV, w: VV): boolean {
  for (const [n, ts] of v) if (ts > (w.get(n) ?? 0)) return false;
  return true;
}

export function vvEqual(v: VV, w: VV): boolean {
  return vvLeq(v, w) && vvLeq(w, v);
}

/** Pointwise minimum over several vectors (what all of them have seen). */
export function vvMin(vs: VV[]): VV {
  const out: VV = new Map();
  if (vs.length === 0) return out;
  for (const [n, ts] of vs[0]) {
    let m = ts;
    for (let i = 1; i < vs.length && m > 0; i++) m = Math.min(m, vs[i].get(n) ?? 0);
    if (m > 0) out.set(n, m);
  }
  return out;
}
