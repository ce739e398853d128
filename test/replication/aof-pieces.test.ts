// The AOF's incr files carry the CRDT writes after their commands (saved-state.ts filePieces) in
// SAVE's COMPACT form, not the bus's encoding (100k SETs: an 18.9 MB incr file, now 9.9 MB; 3.3 MB
// without replication). What a restart reads back (keepLoadedState, per key joined in file order)
// must be the states written, for strings and for the other kinds (tag OTHER), and the marks
// must keep their times.
import { describe, it, expect } from "vitest";
import type { Server } from "../../src/server/server.js";
import { filePieces, keepLoadedState, takeLoadedStates } from "../../src/replication/saved-state.js";
import { encodeKeyState } from "../../src/replication/codec.js";
import { emptyKeyState, joinInto, setStringDelta, incrDelta, ttlDelta, delDelta, type KeyState } from "../../src/replication/key-state.js";

describe("AOF incr pieces (filePieces)", () => {
  it("are COMPACT, and read back as the states written, joined per key, with the marks' times", () => {
    const v = (s: string) => Buffer.from(s);
    const s1 = setStringDelta(emptyKeyState(), "a~1", 10, v("x"));
    const t1 = ttlDelta(s1, "a~1", 11, 5_000_000);
    const c1 = incrDelta(emptyKeyState(), "b~2", 12, 5n);
    const gone = delDelta(setStringDelta(emptyKeyState(), "a~1", 13, v("y")), "a~1", 14);
    const entries: [string, KeyState][] = [["0:s", s1], ["0:c", c1], ["0:s", t1], ["1:gone", gone]];
    const pieces = filePieces({ entries, marks: [1234, -1] });
    expect(pieces.map((p) => p[0])).toEqual([2, 1, 1]); // (COMPACT, then the marks: empty FORMAT batches)
    expect(pieces.slice(1).map((p) => p.readDoubleLE(1))).toEqual([1234, -1]);

    const server = {} as Server;
    keepLoadedState(server, pieces[0]);
    const { states } = takeLoadedStates(server);
    const want = new Map<string, KeyState>();
    for (const [k, d] of entries) {
      const cur = want.get(k) ?? emptyKeyState();
      joinInto(cur, d);
      want.set(k, cur);
    }
    expect([...states.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, s] of want) expect(encodeKeyState(states.get(k)!).equals(encodeKeyState(s))).toBe(true);
  });

  it("nothing taken: no pieces", () => {
    expect(filePieces(null)).toEqual([]);
    expect(filePieces({ entries: [], marks: [] })).toEqual([]);
  });
});
