// A node that has never learned anything stable (a peer configured and never up, or every peer
// down since it started) runs no GC sweep: nothing can be collected. Its store still parks and
// packs the keys written meanwhile (src/replication/store.ts beginParking / parkSome, run by
// gossip.ts collectGarbage in place of the sweep): they stayed state objects otherwise (1M SETs:
// 535 MB of heap against 8 with no peer). Such a sweep collects, drops and acknowledges nothing,
// leaves the store's gcStable alone, packs changed keys without hashing them (no digest is
// asked for while no link is up), and the next sweep with stability looks at every key it parked.
import { describe, it, expect } from "vitest";
import { CrdtStore, COARSE_RANGES, SLOTS } from "../../src/replication/store.js";
import {
  emptyKeyState, setStringDelta, elemWriteDelta, elemRemoveDelta, incrDelta, delDelta, type KeyState,
} from "../../src/replication/key-state.js";
import { encodeKeyState } from "../../src/replication/codec.js";
import type { Acker, Stable } from "../../src/replication/gc.js";

const A = "a~0mfxk2l9qa1b2c3", B = "b~0mfxk2m1q9d8e7f";
const ALL: Stable = () => Number.MAX_SAFE_INTEGER;
const NONE: Stable = () => 0;

/**
 * Keys of every kind written by A and B: strings (SET: a key floor), a hash, a counter reset by
 * a SET (a reset point), a set with a removed member (a member floor, no key floor), deleted
 * strings (dead keys), a list.
 */
function storeOf(): CrdtStore {
  const st = new CrdtStore();
  const w = (k: string, f: (s: KeyState) => KeyState) => st.join(k, f(st.peek(k) ?? emptyKeyState()));
  for (let i = 0; i < 100; i++) w(`0:s${i}`, (s) => setStringDelta(s, i % 2 ? A : B, 10 + i, Buffer.from(`v${i}`)));
  for (let f = 0; f < 10; f++) w("0:h", (s) => elemWriteDelta(s, "hash", `f${f}`, A, 200 + f, Buffer.from("v")));
  w("0:c", (s) => incrDelta(s, B, 300, 5n));
  w("0:c", (s) => setStringDelta(s, A, 301, Buffer.from("1")));
  w("0:set", (s) => elemWriteDelta(s, "set", "m1", A, 400, true));
  w("0:set", (s) => elemWriteDelta(s, "set", "m2", B, 401, true));
  w("0:set", (s) => elemRemoveDelta(s, "set", "m1", A, 402));
  for (let i = 0; i < 20; i++) {
    w(`0:d${i}`, (s) => setStringDelta(s, A, 500 + 2 * i, Buffer.from("x")));
    w(`0:d${i}`, (s) => delDelta(s, B, 501 + 2 * i));
  }
  st.join("0:l", { ...emptyKeyState(), list: { elems: new Map([["600:a", { pos: [1], ts: 600, node: A, v: Buffer.from("e"), vts: 600, vnode: A, rts: 0, rnode: "" }]]), floor: new Map() } });
  return st;
}

const encodings = (st: CrdtStore) => new Map([...st.states()].map(([k, s]) => [k, encodeKeyState(s).toString("hex")]));

/** A store that never packed, holding the same states: what digests must say. */
function plainOf(st: CrdtStore): CrdtStore {
  const plain = new CrdtStore();
  for (const [k, s] of st.states()) plain.join(k, s);
  return plain;
}

describe("a store while nothing is stable (parkSome)", () => {
  it("packs every key, dead ones too, and collects, drops, acknowledges and hashes nothing", () => {
    const st = storeOf();
    const before = encodings(st);
    const tombs = st.tombstoneCount();
    expect(tombs).toBe(21); // (20 dead keys, the removed member)
    let acks = 0;
    const acker: Acker = { acks: () => { acks++; return true; }, stamp: () => 1e9 };
    const heard: string[] = [];
    const dirty = st.dirtyCount;
    st.beginParking();
    expect(st.parkSome()).toBe(true);
    // every key packed, byte for byte the state it was
    expect(st.packStats.now).toBe(st.keys.size);
    for (const v of st.keys.values()) expect(typeof v).toBe("string");
    expect(encodings(st)).toEqual(before);
    expect(st.gcStats).toMatchObject({ keysDropped: 0, keysCollected: 0, sweeps: 0, parkSweeps: 1 });
    expect(st.gcStable).toBeUndefined();
    expect(acks + heard.length).toBe(0);
    // nothing was hashed (no digest was asked for), and the tombstones are still counted
    expect(st.dirtyCount).toBe(dirty);
    expect(st.tombstoneCount()).toBe(tombs);
    expect(st.tombstoneRecount()).toBe(tombs);
    // the digests, once asked for, are what a store that never packed says
    const plain = plainOf(st);
    expect(st.digestsAt(SLOTS)).toEqual(plain.digestsAt(SLOTS));
    expect(st.digestsAt(COARSE_RANGES)).toEqual(plain.digestsAt(COARSE_RANGES));
    expect(st.dirtyCount).toBe(0);
    expect(st.packStats.now).toBe(st.keys.size); // (hashed from a decoded copy, kept packed)
    expect(encodings(st)).toEqual(before);
    // the next sweep with stability looks at every key parked, and collects as it would have
    st.collectGarbage(ALL, (n) => heard.push(n), undefined, acker, false);
    expect(st.gcStats.keysDropped).toBe(20);
    expect(st.tombstoneCount()).toBe(0);
    expect(st.tombstoneRecount()).toBe(0);
    const swept = storeOf();
    swept.collectGarbage(ALL, undefined, undefined, acker, true);
    expect(encodings(st)).toEqual(encodings(swept));
    expect(st.digestsAt(SLOTS)).toEqual(swept.digestsAt(SLOTS));
  });

  it("a sweep with stability after it looks at every key it parked, not only those whose node's stability rose", () => {
    const st = storeOf();
    st.beginParking();
    st.parkSome();
    const visited = st.gcStats.keysVisited;
    // (a non-full sweep with nothing stable would pass over every parked key)
    st.collectGarbage(NONE, undefined, undefined, undefined, false);
    // (all but the hash and the list: they hold no removal metadata, and were let go packed as a sweep lets go a key with nothing to collect)
    expect(st.gcStats.keysVisited - visited).toBe(st.keys.size - 2);
    // and parks them again by its own rule: the next one passes over them (not the set: with
    // no key floor it is no sweep's to park, and stays a candidate, as it would have)
    const again = st.gcStats.keysVisited;
    st.collectGarbage(NONE, undefined, undefined, undefined, false);
    expect(st.gcStats.keysVisited - again).toBe(1);
    expect(typeof st.keys.get("0:set")).toBe("object");
    expect(encodings(st)).toEqual(encodings(storeOf()));
  });

  it("a write into a parked key unpacks it, the tombstone count follows, and a packed changed key's digest is current", () => {
    const st = storeOf();
    st.beginParking();
    st.parkSome();
    expect(st.tombstoneCount()).toBe(21);
    // a dead key written again: alive, unpacked, a candidate (packed again by the next parking)
    expect(st.join("0:d0", setStringDelta(st.peek("0:d0")!, A, 1000, Buffer.from("back")))).toBe(true);
    expect(typeof st.keys.get("0:d0")).toBe("object");
    expect(st.tombstoneCount()).toBe(20);
    // a live key deleted: one more
    expect(st.join("0:s1", delDelta(st.peek("0:s1")!, A, 1001))).toBe(true);
    expect(st.tombstoneCount()).toBe(21);
    st.beginParking();
    st.parkSome();
    expect(st.packStats.now).toBe(st.keys.size);
    expect(st.tombstoneCount()).toBe(21);
    expect(st.tombstoneRecount()).toBe(21);
    expect(st.digestsAt(SLOTS)).toEqual(plainOf(st).digestsAt(SLOTS));
    // unpacked by a merge after being hashed packed: its hash is replaced, not added twice
    expect(st.join("0:s2", setStringDelta(st.peek("0:s2")!, B, 1002, Buffer.from("new")))).toBe(true);
    expect(st.digestsAt(SLOTS)).toEqual(plainOf(st).digestsAt(SLOTS));
    // a packed changed key joined before its hash was ever taken: the same
    st.beginParking();
    st.parkSome();
    expect(st.join("0:s2", setStringDelta(st.peek("0:s2")!, A, 1003, Buffer.from("newer")))).toBe(true);
    expect(st.digestsAt(COARSE_RANGES)).toEqual(plainOf(st).digestsAt(COARSE_RANGES));
  });

  it("a dead key parked by a sweep with stability is packed too, its tombstone still counted", () => {
    const st = storeOf();
    // (A stable, B not: each dead key's floor waits for B)
    st.collectGarbage((n) => (n === A ? Number.MAX_SAFE_INTEGER : 0), undefined, undefined, undefined, true);
    for (let i = 0; i < 20; i++) expect(typeof st.keys.get(`0:d${i}`)).toBe("string");
    expect(st.tombstoneCount()).toBe(20); // (the removed member was A's: collected)
    expect(st.tombstoneRecount()).toBe(20);
    st.collectGarbage(ALL, undefined, undefined, undefined, false);
    expect(st.tombstoneCount()).toBe(0);
    expect(st.gcStats.keysDropped).toBe(20);
  });
});

describe("the tombstone count (INFO crdt_tombstones)", () => {
  it("follows the deletes of keys with no members or list elements as they come, with no count from scratch", () => {
    const st = new CrdtStore();
    for (let i = 0; i < 5000; i++) st.join(`0:k${i}`, setStringDelta(emptyKeyState(), A, 10 + i, Buffer.from("v")));
    expect(st.tombstoneCount()).toBe(0);
    // (a FLUSHALL's walk, or the load-end check of a file saved mid-flush: every key deleted)
    for (let i = 0; i < 5000; i++) st.join(`0:k${i}`, delDelta(st.peek(`0:k${i}`)!, A, 100_000 + i));
    expect(st.tombstoneCount()).toBe(5000);
    // a set's removed members are still counted from its state, once per change
    st.join("0:s", elemWriteDelta(emptyKeyState(), "set", "m", A, 200_000, true));
    st.join("0:s", elemRemoveDelta(st.peek("0:s")!, "set", "m", A, 200_001));
    expect(st.tombstoneCount()).toBe(5001);
    for (let i = 0; i < 2500; i++) st.join(`0:k${i}`, setStringDelta(st.peek(`0:k${i}`)!, B, 300_000 + i, Buffer.from("w")));
    expect(st.tombstoneCount()).toBe(2501);
    expect(st.tombstoneRecount()).toBe(2501);
    expect(st.tombRecounts).toBe(0);
    // packed (parked while nothing is stable), then dropped by a sweep: the count follows
    st.beginParking();
    st.parkSome();
    expect(st.tombstoneCount()).toBe(2501);
    st.collectGarbage(ALL, undefined, undefined, undefined, false);
    expect(st.tombstoneCount()).toBe(0);
    expect(st.tombstoneRecount()).toBe(0);
    expect(st.tombRecounts).toBe(0);
  });
});
