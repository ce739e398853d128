// The store keeps its key states small (compact-state.ts): the maps a key does not use are one
// shared empty map, given back to the key as its own when a join writes there. The states
// must stay equal to ordinary ones (same encoding, same joins), and the shared map must never
// be written.
import { describe, it, expect } from "vitest";
import { CrdtStore } from "../../src/replication/store.js";
import { EMPTY } from "../../src/replication/compact-state.js";
import { encodeKeyState } from "../../src/replication/codec.js";
import { filePieces, keepLoadedState, takeLoadedStates } from "../../src/replication/saved-state.js";
import type { Server } from "../../src/server/server.js";
import {
  emptyKeyState, joinInto, setStringDelta, elemWriteDelta, incrDelta, ttlDelta, delDelta, elemRemoveDelta, visible, hincrDelta,
  type KeyState,
} from "../../src/replication/key-state.js";

describe("stored key states share their empty maps", () => {
  it("a SET key's state uses its own maps for its floor and string entry only, and encodes as an ordinary state", () => {
    const st = new CrdtStore();
    const d = setStringDelta(emptyKeyState(), "a", 10, Buffer.from("v"));
    st.join("0:k", d);
    const s = st.get("0:k")!;
    const plain = emptyKeyState();
    joinInto(plain, d);
    expect(encodeKeyState(s).equals(encodeKeyState(plain))).toBe(true);
    expect(s.str.entries).not.toBe(EMPTY);
    expect(s.floor).not.toBe(EMPTY);
    for (const m of [s.cnt, s.cntBase, s.set, s.hash, s.hcnt, s.zset, s.zcnt, s.str.floor, s.ttl.entries, s.ttl.floor, s.list.elems, s.list.floor]) {
      expect(m).toBe(EMPTY);
    }
    expect(EMPTY.size).toBe(0);
    expect(() => (s.cnt as Map<string, unknown>).set("x", 1)).toThrow(/shared empty map/);
    // its one-entry maps are no Maps (no hash table each), read as Maps, and refuse additions
    expect(s.floor).not.toBeInstanceOf(Map);
    expect(s.str.entries).not.toBeInstanceOf(Map);
    expect([...s.floor]).toEqual([["a", 9]]);
    expect(s.str.entries.get("a")?.v.toString()).toBe("v");
    expect(new Map(s.str.entries).size).toBe(1);
    expect(() => s.floor.set("b", 1)).toThrow(/one-entry map/);
    expect(() => (s.ttl as { entries: unknown }).entries = new Map()).toThrow(); // (the shared TTL register is frozen)
    // a second writer: the key gets Maps again, and both states stay equal
    const d2 = setStringDelta(s, "b", 11, Buffer.from("w"));
    st.join("0:k", d2);
    joinInto(plain, d2);
    expect(encodeKeyState(st.get("0:k")!).equals(encodeKeyState(plain))).toBe(true);
    expect(st.get("0:k")!.floor).toBeInstanceOf(Map);
    expect(st.get("0:k")!.floor.size).toBe(2);
  });

  it("a key's digest hash lives in its stored state, and leaves the digests with the key", () => {
    const st = new CrdtStore();
    st.join("0:k", setStringDelta(emptyKeyState(), "a", 10, Buffer.from("v")));
    expect(st.get("0:k")!.hashed).toBe(false);
    const one = st.digestsAt(256);
    expect(st.get("0:k")!.hashed).toBe(true);
    expect(one.some((x) => x !== 0)).toBe(true);
    st.join("0:k", delDelta(st.get("0:k")!, "a", 11));
    st.collectGarbage(() => Infinity); // (the deleted key is forgotten)
    expect(st.get("0:k")).toBeUndefined();
    expect(st.digestsAt(256).every((x) => x === 0)).toBe(true);
  });

  it("garbage collection clears a one-entry floor, and the key keeps its value", () => {
    const st = new CrdtStore();
    st.join("0:k", setStringDelta(emptyKeyState(), "a", 10, Buffer.from("v")));
    expect(st.get("0:k")!.floor.size).toBe(1);
    st.collectGarbage(() => Infinity); // (everything stable)
    const s = st.get("0:k")!;
    expect(s.floor).toBe(EMPTY);
    expect(visible(s)).toEqual({ type: "string", value: Buffer.from("v"), expireAt: 0 });
  });

  it("joins into shared parts and removals back to empty give the states an ordinary store holds", () => {
    const st = new CrdtStore();
    const plain = new Map<string, KeyState>();
    const apply = (k: string, d: KeyState) => {
      st.join(k, d);
      const p = plain.get(k) ?? emptyKeyState();
      joinInto(p, d);
      plain.set(k, p);
    };
    const cur = (k: string) => st.get(k) ?? emptyKeyState();
    let ts = 1;
    apply("0:s", elemWriteDelta(cur("0:s"), "set", "m1", "a", ts++, true));
    apply("0:s", elemWriteDelta(cur("0:s"), "set", "m2", "b", ts++, true));
    apply("0:s", elemRemoveDelta(cur("0:s"), "set", "m1", "a", ts++));
    apply("0:s", ttlDelta(cur("0:s"), "a", ts++, 123456));
    apply("0:n", incrDelta(cur("0:n"), "a", ts++, 5n));
    apply("0:n", incrDelta(cur("0:n"), "b", ts++, 2n));
    apply("0:n", setStringDelta(cur("0:n"), "a", ts++, Buffer.from("x"))); // (a reset: counter bases)
    apply("0:n", delDelta(cur("0:n"), "b", ts++));
    apply("0:n", elemWriteDelta(cur("0:n"), "zset", "z", "a", ts++, 1.5)); // (a new type over a deleted key)
    for (const [k, p] of plain) {
      expect(encodeKeyState(st.get(k)!).toString("hex"), k).toBe(encodeKeyState(p).toString("hex"));
      expect(visible(st.get(k)!), k).toEqual(visible(p));
    }
    expect(EMPTY.size).toBe(0);
  });

  // A restarted node's file states wait in memory for the load-end check and the decision about
  // the file (loaded-keys.ts); read as ordinary states (fourteen maps each), 200k flushed keys'
  // states took the restarted node's heap to 1.4 GB and most of the check's time went to
  // garbage collection (bench/crdt-persist.mjs --cases flush).
  it("states loaded from a file are kept compact too, and a later record of the key joins as the store's join does", () => {
    const a = setStringDelta(emptyKeyState(), "a", 10, Buffer.from("v"));
    const h = elemWriteDelta(emptyKeyState(), "hash", "f", "a", 11, Buffer.from("x"));
    const server = {} as Server;
    for (const p of filePieces({ entries: [["0:s", a], ["0:h", h]], marks: [] })) keepLoadedState(server, p);
    let { states } = takeLoadedStates(server);
    const s = states.get("0:s")!;
    expect(encodeKeyState(s).equals(encodeKeyState(a))).toBe(true);
    for (const m of [s.cnt, s.cntBase, s.set, s.hash, s.hcnt, s.zset, s.zcnt, s.str.floor, s.ttl.entries, s.ttl.floor, s.list.elems, s.list.floor]) {
      expect(m).toBe(EMPTY);
    }
    expect(s.floor).not.toBeInstanceOf(Map);
    expect(s.str.entries).not.toBeInstanceOf(Map);
    // (a key of another kind, in the bus's encoding within the piece: its unused parts shared as well)
    const hs = states.get("0:h")!;
    expect(encodeKeyState(hs).equals(encodeKeyState(h))).toBe(true);
    expect(hs.str.entries).toBe(EMPTY);
    expect(hs.cnt).toBe(EMPTY);
    // (its field's register too: one entry, no floor)
    expect(hs.hash.get("f")!.entries).not.toBeInstanceOf(Map);
    expect(hs.hash.get("f")!.floor).toBe(EMPTY);

    // an AOF: the same key's records in file order, a second writer's, then a TTL; joined per key
    const b = setStringDelta(a, "b", 12, Buffer.from("w"));
    const t = ttlDelta(b, "a", 13, 123456);
    for (const d of [a, b, t]) for (const p of filePieces({ entries: [["0:s", d]], marks: [] })) keepLoadedState(server, p);
    ({ states } = takeLoadedStates(server));
    const want = emptyKeyState();
    for (const d of [a, b, t]) joinInto(want, d);
    const j = states.get("0:s")!;
    expect(encodeKeyState(j).toString("hex")).toBe(encodeKeyState(want).toString("hex"));
    expect(visible(j)).toEqual(visible(want));
    expect(j.cnt).toBe(EMPTY);
    expect(EMPTY.size).toBe(0);
  });

  it("a loaded hash's, set's and counters' registers are compact, and an AOF's later records of them join as ordinary states", () => {
    const server = {} as Server;
    const v = (x: string) => Buffer.from(x);
    let h = emptyKeyState();
    const ds: KeyState[] = [];
    const step = (d: KeyState) => { ds.push(d); joinInto(h, d); };
    for (let i = 0; i < 10; i++) step(elemWriteDelta(h, "hash", `f${i}`, "a", 10 + i, v(`v${i}`)));
    step(hincrDelta(h, "n", "a", 30, 5n));
    const first = [...ds];
    // then: a field overwritten by another node, one removed, a count from another node, a TTL
    step(elemWriteDelta(h, "hash", "f1", "b", 40, v("w")));
    step(elemRemoveDelta(h, "hash", "f2", "a", 41));
    step(hincrDelta(h, "n", "b", 42, 2n));
    step(ttlDelta(h, "b", 43, 999999));
    let set = emptyKeyState();
    const sd = [elemWriteDelta(set, "set", "m", "a", 50, true)];
    joinInto(set, sd[0]);
    sd.push(elemWriteDelta(set, "set", "m", "b", 51, true));
    joinInto(set, sd[1]);
    for (const d of first) for (const p of filePieces({ entries: [["0:h", d]], marks: [] })) keepLoadedState(server, p);
    for (const p of filePieces({ entries: [["0:s", sd[0]]], marks: [] })) keepLoadedState(server, p);
    // (kept packed, as the file holds them, its place in an arena: file-states.ts)
    const first1 = emptyKeyState();
    for (const d of first) joinInto(first1, d);
    const loaded = takeLoadedStates(server).states;
    expect(typeof loaded.kept("0:h")).toBe("number");
    expect(encodeKeyState(loaded.get("0:h")!).toString("hex")).toBe(encodeKeyState(first1).toString("hex"));

    for (const d of ds) for (const p of filePieces({ entries: [["0:h", d]], marks: [] })) keepLoadedState(server, p);
    for (const d of sd) for (const p of filePieces({ entries: [["0:s", d]], marks: [] })) keepLoadedState(server, p);
    const { states } = takeLoadedStates(server);
    for (const [k, want] of [["0:h", h], ["0:s", set]] as const) {
      expect(encodeKeyState(states.get(k)!).toString("hex"), k).toBe(encodeKeyState(want).toString("hex"));
      expect(visible(states.get(k)!), k).toEqual(visible(want));
    }
    expect([...states.get("0:s")!.set.get("m")!.entries.keys()]).toEqual(["b"]);
    expect(EMPTY.size).toBe(0);
  });
});
