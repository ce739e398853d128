// Stable keys kept packed (src/replication/store.ts PackedState): a sweep that finds a key with
// nothing left to collect keeps its state as one latin1 string (its digest hash, then its
// encoding) instead of a state object with registers, maps, timestamps and value Buffers (~500
// bytes of heap for a string key, ~680 per hash field: bench/crdt-memory.mjs). The next write
// or merge unpacks it; digests, encodings and joins are as if it had never been packed.
import { describe, it, expect } from "vitest";
import { CrdtStore, COARSE_RANGES, SLOTS } from "../../src/replication/store.js";
import {
  emptyKeyState, setStringDelta, elemWriteDelta, joinInto, copyKeyState, visible, incrDelta, ttlDelta, delDelta, type KeyState,
} from "../../src/replication/key-state.js";
import { encodeKeyState } from "../../src/replication/codec.js";
import type { Stable } from "../../src/replication/gc.js";

const stableBelow = (aBelow: number): Stable => (n: string) => (n === "a" ? aBelow : 0);
const ALL: Stable = () => Number.MAX_SAFE_INTEGER;
const sweep = (st: CrdtStore, s: Stable) => st.collectGarbage(s, undefined, undefined, undefined, true);

// (node ids as a server's are: name~incarnation)
const A = "a~0mfxk2l9qa1b2c3", B = "b~0mfxk2m1q9d8e7f";

/**
 * A store with a string key, a 10-field hash and a counter written by node A at ts 10.., and
 * keys of every packed form: a set, a sorted set and a hash written by two nodes, a string with
 * a TTL (and a removal floor from B), a list (the bus's encoding).
 */
function storeOf(): CrdtStore {
  const st = new CrdtStore();
  const w = (k: string, f: (s: KeyState) => KeyState) => st.join(k, f(st.peek(k) ?? emptyKeyState()));
  w("0:s", (s) => setStringDelta(s, A, 10, Buffer.from("v000000001")));
  let ts = 20;
  for (let f = 0; f < 10; f++) w("0:h", (s) => elemWriteDelta(s, "hash", `f${f}`, A, ts++, Buffer.from("v000000001")));
  w("0:c", (s) => incrDelta(s, A, 40, 5n));
  w("0:set", (s) => elemWriteDelta(s, "set", "m1", A, 50, true));
  w("0:set", (s) => elemWriteDelta(s, "set", "m2", B, 51, true));
  w("0:z", (s) => elemWriteDelta(s, "zset", "m1", A, 52, 1.5));
  w("0:z", (s) => elemWriteDelta(s, "zset", "m1", B, 53, -2));
  w("0:h2", (s) => elemWriteDelta(s, "hash", "f", A, 54, Buffer.from("x")));
  w("0:h2", (s) => elemWriteDelta(s, "hash", "g", B, 55, Buffer.from("y")));
  w("0:t", (s) => setStringDelta(s, A, 56, Buffer.from("old")));
  w("0:t", (s) => setStringDelta(s, B, 57, Buffer.from("new")));
  w("0:t", (s) => ttlDelta(s, A, 58, 9_999_999_999_999));
  st.join("0:l", { ...emptyKeyState(), list: { elems: new Map([["60:a", { pos: [1], ts: 60, node: A, v: Buffer.from("e"), vts: 60, vnode: A, rts: 0, rnode: "" }]]), floor: new Map() } });
  return st;
}

const encodings = (st: CrdtStore) => new Map([...st.states()].map(([k, s]) => [k, encodeKeyState(s).toString("hex")]));

describe("stable keys kept packed", () => {
  it("a sweep packs a key once nothing in it is left to collect, and not before", () => {
    const st = storeOf();
    const before = encodings(st);
    const digests = [st.digestsAt(SLOTS), st.digestsAt(COARSE_RANGES)];
    // the string key's floor carries a's stamp (ts 9): not stable below 9, so nothing is
    // collected; it waits for a's stability (parked) packed, as it was
    st.join("0:dead", delDelta(setStringDelta(emptyKeyState(), A, 8, Buffer.from("x")), A, 9));
    sweep(st, stableBelow(5));
    expect(typeof st.keys.get("0:s")).toBe("string");
    expect(encodings(st).get("0:s")).toBe(before.get("0:s"));
    // (a dead key waiting is packed too: the tombstone INFO counts is counted as it is packed)
    expect(typeof st.keys.get("0:dead")).toBe("string");
    expect(st.tombstoneCount()).toBe(1);
    expect(st.tombstoneRecount()).toBe(1);
    // the hash and the counter hold no removal metadata: packed at the first sweep
    expect(typeof st.keys.get("0:h")).toBe("string");
    expect(typeof st.keys.get("0:c")).toBe("string");
    sweep(st, ALL);
    expect(typeof st.keys.get("0:s")).toBe("string");
    expect(st.packStats.now).toBe(st.keys.size);
    // the string's floor was collected (its encoding changed); the others are byte for byte as before
    const after = encodings(st);
    // (0:z and 0:t held removal floors, collected)
    for (const k of ["0:h", "0:c", "0:set", "0:h2", "0:l"]) expect(after.get(k), k).toBe(before.get(k));
    // digests: current, and what a store that never packed would say of the same states
    const plain = new CrdtStore();
    for (const [k, s] of st.states()) plain.join(k, s);
    expect(st.digestsAt(SLOTS)).toEqual(plain.digestsAt(SLOTS));
    expect(st.digestsAt(COARSE_RANGES)).toEqual(plain.digestsAt(COARSE_RANGES));
    expect(digests[0]).not.toEqual(st.digestsAt(SLOTS)); // (the collected floor moved the string's hash)
    // small: node ids as numbers (a string key of a 10-byte value: 8 hash bytes, 1 tag, 2 + 2 +
    // (2 + 8 + 4 + 10) + 2 + 2 + 2; its bus encoding is 100 bytes with this node id), each field of
    // a hash its name, a node number, a stamp and its value
    expect((st.keys.get("0:s") as string).length).toBeLessThan(50);
    expect((st.keys.get("0:h") as string).length).toBeLessThan(10 * 16 + 30); // (saved-state.ts MEMBERS: name, a byte, the value; the bus encoding: 10 * 52 + 34)
  });

  it("a write or a merge into a packed key unpacks it and joins as into the state it holds", () => {
    const st = storeOf();
    sweep(st, ALL);
    for (const k of st.keys.keys()) expect(typeof st.keys.get(k)).toBe("string");
    const d1 = setStringDelta(st.peek("0:s")!, B, 100, Buffer.from("new"));
    const d2 = elemWriteDelta(st.peek("0:h")!, "hash", "f3", B, 101, Buffer.from("x"));
    const d3 = incrDelta(st.peek("0:c")!, B, 102, 2n);
    const d4 = elemWriteDelta(st.peek("0:z")!, "zset", "m1", A, 103, 7);
    const d5 = ttlDelta(st.peek("0:t")!, B, 104, 0);
    for (const [k, d] of [["0:s", d1], ["0:h", d2], ["0:c", d3], ["0:z", d4], ["0:t", d5]] as const) {
      const want = copyKeyState(st.peek(k)!);
      joinInto(want, d);
      expect(st.join(k, d)).toBe(true);
      expect(typeof st.keys.get(k)).toBe("object");
      expect(encodeKeyState(st.get(k)!).equals(encodeKeyState(want))).toBe(true);
    }
    expect(visible(st.get("0:c")!)).toMatchObject({ type: "string", value: Buffer.from("7") });
    expect(st.packStats).toMatchObject({ now: st.keys.size - 5, unpacked: 5 });
    // unpacked keys are candidates again: packed by the next sweep that finds them stable
    sweep(st, ALL);
    expect(st.packStats.now).toBe(st.keys.size);
    // a merge that changes nothing (a duplicate) unpacks, and the key is packed again at the next sweep
    expect(st.join("0:c", d3)).toBe(false);
    sweep(st, ALL);
    expect(typeof st.keys.get("0:c")).toBe("string");
    expect(st.peek("0:c")!.cnt.size).toBe(2);
  });

  it("past 65,536 node ids a packed state names its nodes in full (the bus's encoding)", () => {
    const st = new CrdtStore();
    // 70 sets of 1,000 members, each member added by a node of its own: 70,000 node ids
    for (let k = 0; k < 70; k++) {
      const set = new Map(Array.from({ length: 1000 }, (_, j) => [`m${j}`, { entries: new Map([[`n${k * 1000 + j}`, { ts: 10, v: true as const }]]), floor: new Map() }]));
      st.join(`0:k${k}`, { ...emptyKeyState(), set });
    }
    const before = encodings(st);
    sweep(st, ALL);
    expect(st.packStats.now).toBe(70);
    expect(encodings(st)).toEqual(before);
    // (tag OTHER, the bus's encoding, after the 8 hash bytes: the last keys' node numbers ran out)
    expect((st.keys.get("0:k69") as string).charCodeAt(8)).toBe(0);
    expect((st.keys.get("0:k0") as string).charCodeAt(8)).not.toBe(0);
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

describe("a GC sweep in slices (CrdtStore.beginSweep / sweepSome)", () => {
  it("goes over the candidates of its start a chunk per slice, ends as one whole sweep would, and leaves later writes to the next sweep", () => {
    const fill = (st: CrdtStore) => { for (let i = 0; i < 1000; i++) st.join(`0:k${i}`, setStringDelta(emptyKeyState(), A, 10 + i, Buffer.from(`v${i}`))); };
    const whole = new CrdtStore();
    fill(whole);
    sweep(whole, ALL);
    const sliced = new CrdtStore();
    fill(sliced);
    sliced.beginSweep(ALL);
    let slices = 1;
    let later = 0;
    while (!sliced.sweepSome(ALL, undefined, undefined, undefined, () => true)) {
      slices++;
      // a write between slices: a candidate for the next sweep, not this one
      sliced.join(`0:late${later++}`, setStringDelta(emptyKeyState(), A, 5000 + later, Buffer.from("x")));
      expect(sliced.gcStats.keysVisited).toBe(63 * (slices - 1)); // (asked every 64 keys: 63 visited per slice)
    }
    expect(slices).toBe(Math.ceil(1000 / 63));
    expect(sliced.gcStats.keysVisited).toBe(1000);
    expect(sliced.gcStats.sweeps).toBe(1);
    for (let i = 0; i < 1000; i++) expect(typeof sliced.keys.get(`0:k${i}`)).toBe("string");
    for (let i = 0; i < later; i++) expect(typeof sliced.keys.get(`0:late${i}`)).toBe("object");
    expect(encodings(sliced).get("0:k999")).toBe(encodings(whole).get("0:k999"));
    expect(sliced.digestsAt(SLOTS)).not.toEqual(whole.digestsAt(SLOTS)); // (the late keys)
    sweep(sliced, ALL);
    for (let i = 0; i < later; i++) expect(typeof sliced.keys.get(`0:late${i}`)).toBe("string");
  });
});
