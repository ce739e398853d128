// Model check of QuickList: seeded random operation sequences run against a QuickList and a
// plain array, and every result and the final contents must agree. Sequences are long enough
// to cross chunk boundaries at both ends and to split chunks with middle inserts; a failure
// prints its seed and step so it replays. (A seeded loop rather than fast-check: worktrees
// share one node_modules, and a new dependency there would break others' test runs.)
import { describe, it, expect } from "vitest";
import { QuickList } from "../../src/types/list.js";
import { mulberry32 } from "./prng.js";

function run(seed: number, steps: number): void {
  const rnd = mulberry32(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const l = new QuickList();
  let m: string[] = [];
  // Few distinct values, so LREM and searches find matches.
  const val = () => (rnd() < 0.5 ? `v${int(8)}` : `x${int(100000)}`);
  for (let step = 0; step < steps; step++) {
    const where = `seed ${seed} step ${step}`;
    const op = int(14);
    // Bias towards growth early, so lists get long (several chunks).
    const grow = step < steps / 2 ? 0.7 : 0.45;
    if (op < 4 && rnd() < grow) {
      const n = 1 + int(op < 2 ? 3 : 150);
      for (let k = 0; k < n; k++) {
        const v = val();
        if (op % 2 === 0) { l.pushHead(v); m.unshift(v); } else { l.pushTail(v); m.push(v); }
      }
    } else if (op < 6) {
      const n = 1 + int(op === 4 ? 3 : 120);
      for (let k = 0; k < n; k++) {
        const got = op === 4 ? l.popHead() : l.popTail();
        const want = op === 4 ? m.shift() : m.pop();
        expect(got, where).toBe(want);
      }
    } else if (op === 6) {
      const i = int(m.length + 2) - 1;
      expect(l.get(i), where).toBe(m[i]);
    } else if (op === 7 && m.length) {
      const i = int(m.length), v = val();
      l.set(i, v);
      m[i] = v;
    } else if (op === 8) {
      const n = 1 + int(200);
      for (let k = 0; k < n; k++) {
        const i = int(m.length + 1), v = val();
        l.insertAt(i, v);
        m.splice(i, 0, v);
      }
    } else if (op === 9) {
      const v = `v${int(8)}`, count = int(7) - 3;
      let removed = 0;
      const limit = count === 0 ? Infinity : Math.abs(count);
      const idx = m.map((x, i) => (x === v ? i : -1)).filter((i) => i >= 0);
      const drop = new Set(count < 0 ? idx.reverse().slice(0, limit) : idx.slice(0, limit));
      m = m.filter((_, i) => !(drop.has(i) && ++removed));
      expect(l.remove(v, count), where).toBe(removed);
    } else if (op === 10 && m.length && rnd() < 0.3) {
      const a = int(m.length), b = a + int(m.length - a);
      l.trim(a, b);
      m = m.slice(a, b + 1);
    } else if (op === 11 && m.length) {
      const a = int(m.length), b = a + int(m.length - a);
      expect(l.range(a, b), where).toEqual(m.slice(a, b + 1));
      const back: string[] = [];
      l.forEachReverse(b, a, (v) => { back.push(v); });
      expect(back, where).toEqual(m.slice(a, b + 1).reverse());
    } else if (op === 12) {
      const copy = l.dup();
      copy.pushHead("only-in-copy");
      if (m.length) copy.set(m.length, "changed");
      expect(l.toArray(), where).toEqual(m);
    }
    expect(l.length, where).toBe(m.length);
  }
  expect(l.toArray()).toEqual(m);
}

describe("QuickList agrees with an array under random operations", () => {
  for (const seed of [1, 2, 3, 42, 1234, 99991]) {
    it(`seed ${seed}`, () => run(seed, 2000));
  }
});
