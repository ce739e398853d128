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
});
