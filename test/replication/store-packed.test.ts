// Stable keys kept packed (src/replication/store.ts PackedState): a sweep that finds a key with
// nothing left to collect keeps its state as one latin1 string (its digest hash, then its
// encoding) instead of a state object with registers, maps, timestamps and value Buffers (~500
// bytes of heap for a string key, ~680 per hash field: bench/crdt-memory.mjs). The next write
// or merge unpacks it; digests, encodings and joins are as if it had never been packed.
import { describe, it, expect } from "vitest";
import { CrdtStore, COARSE_RANGES, SLOTS, unpackState } from "../../src/replication/store.js";
import { emptyKeyState, setStringDelta, elemWriteDelta, joinInto, copyKeyState, visible, incrDelta } from "../../src/replication/key-state.js";
import { encodeKeyState } from "../../src/replication/codec.js";
import type { Stable } from "../../src/replication/gc.js";

const stableBelow = (aBelow: number): Stable => (n: string) => (n === "a" ? aBelow : 0);
const ALL: Stable = () => Number.MAX_SAFE_INTEGER;
const sweep = (st: CrdtStore, s: Stable) => st.collectGarbage(s, undefined, undefined, undefined, true);

/** A store with a string key, a 10-field hash and a counter, written by node "a" at ts 10.. . */
function storeOf(): CrdtStore {
  const st = new CrdtStore();
  st.join("0:s", setStringDelta(emptyKeyState(), "a", 10, Buffer.from("v000000001")));
  let ts = 20;
  for (let f = 0; f < 10; f++) st.join("0:h", elemWriteDelta(st.get("0:h") ?? emptyKeyState(), "hash", `f${f}`, "a", ts++, Buffer.from("v000000001")));
  st.join("0:c", incrDelta(emptyKeyState(), "a", 40, 5n));
  return st;
}

const encodings = (st: CrdtStore) => new Map([...st.states()].map(([k, s]) => [k, encodeKeyState(s).toString("hex")]));

describe("stable keys kept packed", () => {
  it("a sweep packs a key once nothing in it is left to collect, and not before", () => {
    const st = storeOf();
    const before = encodings(st);
    const digests = [st.digestsAt(SLOTS), st.digestsAt(COARSE_RANGES)];
    // the string key's floor carries a's stamp (ts 9): not stable below 9, so it stays a state
    sweep(st, stableBelow(5));
    expect(typeof st.keys.get("0:s")).toBe("object");
    // the hash and the counter hold no removal metadata: packed at the first sweep
    expect(typeof st.keys.get("0:h")).toBe("string");
    expect(typeof st.keys.get("0:c")).toBe("string");
    sweep(st, ALL);
    expect(typeof st.keys.get("0:s")).toBe("string");
    expect(st.packStats.now).toBe(3);
    // the string's floor was collected (its encoding changed); the others are byte for byte as before
    const after = encodings(st);
    expect(after.get("0:h")).toBe(before.get("0:h"));
    expect(after.get("0:c")).toBe(before.get("0:c"));
    // digests: current, and what a store that never packed would say of the same states
    const plain = new CrdtStore();
    for (const [k, s] of st.states()) plain.join(k, s);
    expect(st.digestsAt(SLOTS)).toEqual(plain.digestsAt(SLOTS));
    expect(st.digestsAt(COARSE_RANGES)).toEqual(plain.digestsAt(COARSE_RANGES));
    expect(digests[0]).not.toEqual(st.digestsAt(SLOTS)); // (the collected floor moved the string's hash)
    // small: a string key's packed state is its encoding (~70 bytes) and the 8 hash bytes
    expect((st.keys.get("0:s") as string).length).toBeLessThan(90);
    expect((st.keys.get("0:h") as string).length).toBeLessThan(10 * 40 + 60);
  });

  it("a write or a merge into a packed key unpacks it and joins as into the state it holds", () => {
    const st = storeOf();
    sweep(st, ALL);
    for (const k of ["0:s", "0:h", "0:c"]) expect(typeof st.keys.get(k)).toBe("string");
    const d1 = setStringDelta(st.peek("0:s")!, "b", 100, Buffer.from("new"));
    const d2 = elemWriteDelta(st.peek("0:h")!, "hash", "f3", "b", 101, Buffer.from("x"));
    const d3 = incrDelta(st.peek("0:c")!, "b", 102, 2n);
    for (const [k, d] of [["0:s", d1], ["0:h", d2], ["0:c", d3]] as const) {
      const want = copyKeyState(st.peek(k)!);
      joinInto(want, d);
      expect(st.join(k, d)).toBe(true);
      expect(typeof st.keys.get(k)).toBe("object");
      expect(encodeKeyState(st.get(k)!).equals(encodeKeyState(want))).toBe(true);
    }
    expect(visible(st.get("0:c")!)).toMatchObject({ type: "string", value: Buffer.from("7") });
    expect(st.packStats).toMatchObject({ now: 0, unpacked: 3 });
    // unpacked keys are candidates again: packed by the next sweep that finds them stable
    sweep(st, ALL);
    expect(st.packStats.now).toBe(3);
    // a merge that changes nothing (a duplicate) unpacks, and the key is packed again at the next sweep
    expect(st.join("0:c", d3)).toBe(false);
    sweep(st, ALL);
    expect(typeof st.keys.get("0:c")).toBe("string");
    expect(unpackState(st.keys.get("0:c") as string).cnt.size).toBe(2);
  });

  it("snapshots and SAVE see a packed key's state as it is", () => {
    const st = storeOf();
    sweep(st, ALL);
    const snap = st.snapshot([0], 1);
    const taken = new Map(st.takeSnapshot(snap, [0], 1));
    st.release(snap);
    for (const [k, s] of st.states()) {
      const t = taken.get(k)!;
      expect(Buffer.isBuffer(t) ? t : encodeKeyState(t)).toEqual(encodeKeyState(s));
    }
  });
});
