// A restarted node keeps the states its file carried until loaded-keys.ts joins them; with a peer
// down that lasts as long as the peer does. Kept as state objects they were 459 MB of heap for
// 1M string keys (bench/crdt-persist.mjs): they are kept as the file holds them now
// (file-states.ts), a live state packed (its place in an arena: a number), a tombstone as a state, and read back as they were.
import { describe, it, expect } from "vitest";
import type { Server } from "../../src/server/server.js";
import { filePieces, keepLoadedState, savedStateNow, takeLoadedStates } from "../../src/replication/saved-state.js";
import { FileStates } from "../../src/replication/file-states.js";
import { CrdtStore } from "../../src/replication/store.js";
import { encodeKeyState } from "../../src/replication/codec.js";
import {
  emptyKeyState, joinInto, maxStamp, setStringDelta, incrDelta, ttlDelta, delDelta, elemWriteDelta, elemRemoveDelta, hincrDelta,
  type KeyState,
} from "../../src/replication/key-state.js";

const v = (s: string) => Buffer.from(s);
const hex = (s: KeyState) => encodeKeyState(s).toString("hex");

/** One key of each kind a SAVE writes with its own tag, one of tag OTHER, and a deleted key. */
function states(): [string, KeyState][] {
  let h = elemWriteDelta(emptyKeyState(), "hash", "f", "a~1", 20, v("x"));
  h = (joinInto(h, elemWriteDelta(h, "hash", "g", "a~1", 21, v("y"))), h);
  const other = hincrDelta(emptyKeyState(), "n", "b~1", 30, 3n); // (a hash counter: tag OTHER)
  const s = emptyKeyState(); // (a delta's unwritten parts are shared: joined into a state of its own)
  joinInto(s, setStringDelta(s, "a~1", 10, v("v")));
  joinInto(s, ttlDelta(s, "b~1", 40, 9_000_000));
  return [
    ["0:str", setStringDelta(emptyKeyState(), "a~1", 11, v("value"))],
    ["0:ttl", s],
    ["0:cnt", incrDelta(emptyKeyState(), "b~1", 12, 7n)],
    ["0:set", elemWriteDelta(emptyKeyState(), "set", "m", "c~1", 13, true)],
    ["0:hash", h],
    ["1:other", other],
    ["0:gone", delDelta(setStringDelta(emptyKeyState(), "a~1", 14, v("old")), "c~1", 50)],
  ];
}

/** The states a SAVE of a store holding `want` makes, kept by a load of it (FileStates). */
function savedAndLoaded(want: [string, KeyState][]): FileStates {
  const st = new CrdtStore();
  for (const [k, s] of want) st.join(k, s);
  const server = {} as Server;
  for (const piece of savedStateNow(st)) keepLoadedState(server, piece);
  return takeLoadedStates(server).states;
}

describe("FileStates: a load's waiting states", () => {
  it("a SAVE's states load back packed (a tombstone as a state), each read back as saved, with the greatest stamp", () => {
    const want = states();
    const loaded = savedAndLoaded(want);
    expect(loaded.size).toBe(want.length);
    for (const [k, s] of want) {
      const kept = loaded.kept(k)!;
      expect(typeof kept, k).toBe(k === "0:gone" ? "object" : "number");
      expect(FileStates.live(kept), k).toBe(k !== "0:gone");
      expect(hex(loaded.get(k)!), k).toBe(hex(s));
    }
    expect(loaded.maxStamp).toBe(Math.max(...want.map(([, s]) => maxStamp(s))));
    expect([...loaded].map(([k]) => k).sort()).toEqual(want.map(([k]) => k).sort());
  });

  it("an AOF's records of one key join into one packed state; a delete leaves a tombstone, a later write a live state again", () => {
    const server = {} as Server;
    const a = setStringDelta(emptyKeyState(), "a~1", 10, v("1"));
    const b = setStringDelta(a, "b~1", 11, v("2"));
    const t = ttlDelta(b, "a~1", 12, 5_000_000);
    const records = [a, b, t];
    for (const d of records) for (const p of filePieces({ entries: [["0:k", d]], marks: [] })) keepLoadedState(server, p);
    let { states: loaded } = takeLoadedStates(server);
    const want = emptyKeyState();
    for (const d of records) joinInto(want, d);
    expect(typeof loaded.kept("0:k")).toBe("number");
    expect(hex(loaded.get("0:k")!)).toBe(hex(want));

    const gone = delDelta(want, "b~1", 13);
    const again = setStringDelta(emptyKeyState(), "c~1", 14, v("3"));
    const dead = emptyKeyState();
    joinInto(dead, want); joinInto(dead, gone);
    for (const d of [...records, gone]) for (const p of filePieces({ entries: [["0:k", d]], marks: [] })) keepLoadedState(server, p);
    ({ states: loaded } = takeLoadedStates(server));
    expect(FileStates.live(loaded.kept("0:k")!)).toBe(false);
    expect(hex(loaded.get("0:k")!)).toBe(hex(dead));
    for (const d of [...records, gone, again]) for (const p of filePieces({ entries: [["0:k", d]], marks: [] })) keepLoadedState(server, p);
    ({ states: loaded } = takeLoadedStates(server));
    joinInto(dead, again);
    expect(typeof loaded.kept("0:k")).toBe("number");
    expect(hex(loaded.get("0:k")!)).toBe(hex(dead));
  });

  it("SET entries (kept undecoded as loaded) of one key in several records join into one state, and give the greatest stamp", () => {
    const server = {} as Server;
    const a = setStringDelta(emptyKeyState(), "a~1", 10, v("1"));
    const b = setStringDelta(emptyKeyState(), "b~1", 12, v("2"));
    const c = setStringDelta(emptyKeyState(), "a~1", 11, v("3"));
    for (const d of [a, b, c]) for (const p of filePieces({ entries: [["0:k", d], ["0:other", c]], marks: [] })) keepLoadedState(server, p);
    const { states: loaded } = takeLoadedStates(server);
    const want = emptyKeyState();
    for (const d of [a, b, c]) joinInto(want, d);
    expect(typeof loaded.kept("0:k")).toBe("number");
    expect(hex(loaded.get("0:k")!)).toBe(hex(want));
    expect(hex(loaded.get("0:other")!)).toBe(hex(c));
    expect(loaded.maxStamp).toBe(12);
  });

  it("packed states over several arena chunks, and one larger than a chunk, read back as saved", () => {
    const want: [string, KeyState][] = [];
    for (let i = 0; i < 3000; i++) want.push([`0:k${i}`, setStringDelta(emptyKeyState(), `n~${i % 7}`, 100 + i, v(`value:${i}`))]);
    want.push(["0:big", setStringDelta(emptyKeyState(), "a~1", 5000, Buffer.alloc(3 << 20, 120))]);
    want.push(["0:after", setStringDelta(emptyKeyState(), "a~1", 5001, v("after"))]);
    const loaded = savedAndLoaded(want);
    expect(loaded.size).toBe(want.length);
    for (const [k, s] of want) {
      expect(typeof loaded.kept(k), k).toBe("number");
      expect(hex(loaded.get(k)!) === hex(s), k).toBe(true);
    }
    expect(loaded.maxStamp).toBe(5001);
  });

  it("a set's, hash's or sorted set's entry (MEMBERS, kept undecoded as loaded) gives its greatest stamp and reads back; one with nothing alive is kept as a state", () => {
    const hash = elemWriteDelta(emptyKeyState(), "hash", "f", "a~1", 20, v("x"));
    joinInto(hash, elemWriteDelta(hash, "hash", "g", "a~1", 21, v("y")));
    joinInto(hash, ttlDelta(hash, "b~1", 23, 9_000_000)); // (the TTL's stamp the greatest)
    const zset = elemWriteDelta(emptyKeyState(), "zset", "m", "a~1", 30, 1.5);
    joinInto(zset, elemWriteDelta(emptyKeyState(), "zset", "m", "b~1", 31, 2.5)); // (concurrent: a register of two entries, FULL)
    joinInto(zset, elemWriteDelta(zset, "zset", "n", "c~1", 29, 3));
    const set = elemWriteDelta(emptyKeyState(), "set", "m", "c~1", 40, true);
    const gone = emptyKeyState();
    joinInto(gone, set);
    joinInto(gone, elemRemoveDelta(gone, "set", "m", "d~1", 45));
    const cases: [string, KeyState, boolean][] = [["0:hash", hash, true], ["0:zset", zset, true], ["0:set", set, true], ["0:gone", gone, false]];
    for (const [k, s, live] of cases) {
      const server = {} as Server;
      for (const p of filePieces({ entries: [[k, s]], marks: [] })) keepLoadedState(server, p);
      const st = new CrdtStore();
      st.join(k, s);
      for (const p of savedStateNow(st)) keepLoadedState(server, p); // (and a SAVE's piece of it: joined into the same)
      const { states: loaded } = takeLoadedStates(server);
      expect(typeof loaded.kept(k), k).toBe(live ? "number" : "object");
      expect(FileStates.live(loaded.kept(k)!), k).toBe(live);
      expect(hex(loaded.get(k)!), k).toBe(hex(s));
      expect(loaded.maxStamp, k).toBe(maxStamp(s));
    }
    expect(maxStamp(hash)).toBe(23);
    expect(maxStamp(zset)).toBe(31);
  });
});
