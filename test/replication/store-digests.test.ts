// CrdtStore range digests hashed a slice at a time (store.ts hashSome; gossip.ts warmDigests
// calls it between anti-entropy rounds): folding changed keys in over several turns, with
// writes in between, gives the digests hashing them all at once gives.
import { describe, it, expect } from "vitest";
import { CrdtStore, COARSE_RANGES, SLOTS } from "../../src/replication/store.js";
import { emptyKeyState, setStringDelta, delDelta } from "../../src/replication/key-state.js";

function write(st: CrdtStore, i: number, ts: number): void {
  st.join(`0:k${i}`, setStringDelta(emptyKeyState(), "a", ts, Buffer.from(`v${i}@${ts}`)));
}

describe("CrdtStore digests hashed in slices", () => {
  it("equal the digests hashed at once, with writes and deletes between the slices", () => {
    const sliced = new CrdtStore(), whole = new CrdtStore();
    for (const st of [sliced, whole]) for (let i = 0; i < 500; i++) write(st, i, i + 1);
    let slices = 0;
    for (let round = 0; round < 5; round++) {
      let n = 0;
      const done = sliced.hashSome(() => ++n >= 37); // (37 keys per slice)
      slices++;
      expect(done).toBe(sliced.dirtyCount === 0);
      // writes between slices, to keys hashed already and to keys not yet hashed
      for (const st of [sliced, whole]) {
        write(st, round * 90, 1000 + round);
        write(st, 499 - round, 1000 + round);
        const k = `0:k${round * 90 + 1}`;
        st.join(k, delDelta(st.get(k)!, "a", 2000 + round));
      }
    }
    expect(sliced.dirtyCount).toBeGreaterThan(0);
    while (!sliced.hashSome(() => true)) slices++; // (one key per slice)
    expect(slices).toBeGreaterThan(100);
    expect(sliced.dirtyCount).toBe(0);
    for (const ranges of [SLOTS, COARSE_RANGES]) expect(sliced.digestsAt(ranges)).toEqual(whole.digestsAt(ranges));
    // and a key written again after being hashed is hashed again
    write(sliced, 7, 5000);
    expect(sliced.digestsAt(SLOTS)).not.toEqual(whole.digestsAt(SLOTS));
    write(whole, 7, 5000);
    expect(sliced.digestsAt(SLOTS)).toEqual(whole.digestsAt(SLOTS));
  });

  it("changedSince names every range whose digest moved since, hashed or not, and only those once all are hashed", () => {
    const st = new CrdtStore(), twin = new CrdtStore();
    for (const x of [st, twin]) for (let i = 0; i < 300; i++) write(x, i, i + 1);
    for (const [round, ranges] of [SLOTS, COARSE_RANGES].entries()) {
      const then = st.digestsAt(ranges);
      twin.digestsAt(ranges);
      for (let i = 0; i < 40; i++) for (const x of [st, twin]) write(x, i * 7, 3000 + 100 * round + i);
      const k = `0:k${299 - round}`;
      for (const x of [st, twin]) x.join(k, delDelta(x.get(k)!, "a", 4000 + round));
      let n = 0;
      st.hashSome(() => ++n >= 15); // (some hashed, the rest still waiting)
      expect(st.dirtyCount).toBeGreaterThan(0);
      const now = twin.digestsAt(ranges);
      const moved = new Set<number>();
      for (let r = 0; r < ranges; r++) if (now[2 * r] !== then[2 * r] || now[2 * r + 1] !== then[2 * r + 1]) moved.add(r);
      expect(moved.size).toBeGreaterThan(10);
      const named = st.changedSince(then, ranges);
      for (const r of moved) expect(named.has(r), `range ${r} of ${ranges}`).toBe(true);
      st.digestsAt(ranges);
      expect([...st.changedSince(then, ranges)].sort((a, b) => a - b)).toEqual([...moved].sort((a, b) => a - b));
    }
  });

  it("hashSome(enough, atLeast) hashes at least atLeast keys whatever the slice says", () => {
    const st = new CrdtStore();
    for (let i = 0; i < 100; i++) write(st, i, i + 1);
    st.hashSome(() => true, 30);
    expect(st.dirtyCount).toBe(70);
    st.hashSome(() => true);
    expect(st.dirtyCount).toBe(69);
    expect(st.dirtied).toBe(100);
  });
});
