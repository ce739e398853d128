// SRANDMEMBER and ZRANDMEMBER with a positive count below the collection's size: the two
// strategies of Redis's srandmemberWithCountCommand / zrandmemberWithCountCommand (t_set.c
// and t_zset.c, "CASE 3" and "CASE 4"), which pick by the same rule.

/** Redis's SRANDMEMBER_SUB_STRATEGY_MUL and ZRANDMEMBER_SUB_STRATEGY_MUL. */
const SUB_STRATEGY_MUL = 3;

/**
 * `count` distinct elements of a collection of `size` (> count). When count is near the size,
 * a copy of every element (`all` returns a fresh array) with random ones removed until count
 * remain, since random picks would mostly hit elements already picked; otherwise random picks
 * until count distinct ones.
 */
export function distinctRandomSample<T>(count: number, size: number, all: () => T[], random: () => T): T[] {
  if (count * SUB_STRATEGY_MUL > size) {
    const copy = all();
    let n = copy.length;
    while (n > count) {
      const i = Math.floor(Math.random() * n);
      copy[i] = copy[--n];
    }
    return copy.slice(0, count);
  }
  const picked = new Set<T>();
  while (picked.size < count) picked.add(random());
  return [...picked];
}
