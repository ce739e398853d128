// Garbage-collection sweeps over a large store whose stability stalls (src/replication/store.ts
// gcParked): a key whose key floor waits for a node's stability cannot lose anything until that
// stability rises, so sweeps pass over it until then. A peer that fell behind a burst of 1M SETs
// stalled the writer's stability, and each sweep went over every key written so far (and copied
// each into the snapshot of the anti-entropy answer under way): 62-70% of both nodes' CPU.
import { describe, it, expect } from "vitest";
import { CrdtStore, COARSE_RANGES } from "../../src/replication/store.js";
import { emptyKeyState, setStringDelta, delDelta } from "../../src/replication/key-state.js";
import type { Stable } from "../../src/replication/gc.js";

/** A store of n string keys (db 0), written by node "a" at ts 2..n+1 (each key floor: a at ts - 1, so none is stable at 0). */
function storeOf(n: number): CrdtStore {
  const st = new CrdtStore();
  for (let i = 0; i < n; i++) st.join(`0:k${i}`, setStringDelta(emptyKeyState(), "a", i + 2, Buffer.from(`v${i}`)));
  return st;
}

/** Stability: node "a" stable below aBelow, every other node below 0 (nothing). */
const stableBelow = (aBelow: number): Stable => (n: string) => (n === "a" ? aBelow : 0);

/** Keys a sweep looks at. */
function visited(st: CrdtStore, sweep: () => void): number {
  const before = st.gcStats.keysVisited;
  sweep();
  return st.gcStats.keysVisited - before;
}

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("GC sweeps pass over keys parked on a stalled node", () => {
  it("a key waiting for a node's stability is looked at again only once that stability rises", () => {
    const st = storeOf(1000);
    expect(st.gcCandidates.size).toBe(1000); // (a SET's floor carries the writer's stamp until it is stable)
    expect(visited(st, () => st.collectGarbage(stableBelow(0), undefined, undefined, undefined, false))).toBe(1000);
    // a's stability did not rise: the next sweeps look at nothing, and collect nothing
    for (let i = 0; i < 3; i++) expect(visited(st, () => st.collectGarbage(stableBelow(0), undefined, undefined, undefined, false))).toBe(0);
    expect(st.gcStats.keysCollected).toBe(0);
    // every key is still a candidate, and counted as one
    expect(st.tombstoneCount()).toBe(st.tombstoneRecount());
    // a's stability rises past half of them: all are looked at, those below it collected
    expect(visited(st, () => st.collectGarbage(stableBelow(501), undefined, undefined, undefined, false))).toBe(1000);
    expect(st.gcStats.keysCollected).toBe(500);
    expect(visited(st, () => st.collectGarbage(stableBelow(501), undefined, undefined, undefined, false))).toBe(0);
    // everything stable: the rest goes
    expect(visited(st, () => st.collectGarbage(stableBelow(Number.MAX_SAFE_INTEGER), undefined, undefined, undefined, false))).toBe(500);
    expect(st.gcStats.keysCollected).toBe(1000);
    expect(visited(st, () => st.collectGarbage(stableBelow(Number.MAX_SAFE_INTEGER), undefined, undefined, undefined, true))).toBe(0);
    expect(st.tombstoneCount()).toBe(0);
  });

  it("a rise of a node's stability looks again only at the keys parked on stamps near or below it", () => {
    // keys written over ~10 s of that node's clock (hlc.ts: ms * 1024 + logical)
    const st = new CrdtStore();
    for (let i = 0; i < 1000; i++) st.join(`0:k${i}`, setStringDelta(emptyKeyState(), "a", 1_000_000 + i * 10 * 1024, Buffer.from("v")));
    st.collectGarbage(stableBelow(0), undefined, undefined, undefined, false);
    // stability reaches key 100: the slices at or below it come back (a slice is ~1 s, ~100 keys here)
    const n = visited(st, () => st.collectGarbage(stableBelow(1_000_000 + 100 * 10 * 1024), undefined, undefined, undefined, false));
    expect(n).toBeGreaterThanOrEqual(100);
    expect(n).toBeLessThan(400);
    expect(st.gcStats.keysCollected).toBe(101); // (keys 0-100: each floor is its stamp - 1)
  });

  it("a full sweep looks at every parked key, and hears the node ids they name", () => {
    const st = storeOf(100);
    st.collectGarbage(stableBelow(0), undefined, undefined, undefined, false);
    const heard = new Set<string>();
    expect(visited(st, () => st.collectGarbage(stableBelow(0), (n) => heard.add(n), undefined, undefined, true))).toBe(100);
    expect([...heard]).toEqual(["a"]);
  });

  it("a parked key written again is looked at by the next sweep; a parked key dropped is no candidate", () => {
    const st = storeOf(100);
    st.collectGarbage(stableBelow(0), undefined, undefined, undefined, false);
    st.join("0:k5", setStringDelta(st.get("0:k5")!, "b", 5000, Buffer.from("again")));
    st.join("0:k6", delDelta(st.get("0:k6")!, "b", 5001));
    expect(visited(st, () => st.collectGarbage(stableBelow(0), undefined, undefined, undefined, false))).toBe(2);
    expect(st.tombstoneCount()).toBe(st.tombstoneRecount());
    // everything stable (b too): the deleted key is dropped, the rest collected
    // (the two keys written again are looked at twice: fresh, and in the slice they were parked in)
    expect(visited(st, () => st.collectGarbage(() => Number.MAX_SAFE_INTEGER, undefined, undefined, undefined, false))).toBe(100);
    expect(st.get("0:k6")).toBeUndefined();
    expect(st.gcStats.keysDropped).toBe(1);
    expect(st.tombstoneCount()).toBe(0);
  });

  it("a sweep while an anti-entropy answer is under way copies no key it cannot collect", () => {
    const st = storeOf(500);
    const snap = st.snapshot(all(COARSE_RANGES), COARSE_RANGES);
    st.collectGarbage(stableBelow(0)); // (a full sweep: it looks at every key, and collects none)
    expect(snap.before.size).toBe(0);
    st.release(snap);
  });
});
