// The AOF's incr files carry the CRDT writes after their commands (saved-state.ts filePieces) in
// SAVE's COMPACT form, not the bus's encoding (100k SETs: an 18.9 MB incr file, now 9.9 MB; 3.3 MB
// without replication). What a restart reads back (keepLoadedState, per key joined in file order)
// must be the states written, for strings and for the other kinds (tag OTHER), and the marks
// must keep their times.
import { describe, it, expect } from "vitest";
import type { Server } from "../../src/server/server.js";
import { filePieces, keepLoadedState, takeLoadedStates } from "../../src/replication/saved-state.js";
import type { FileStates } from "../../src/replication/file-states.js";
import { encodeKeyState, Writer, writeKeyState } from "../../src/replication/codec.js";
import {
  emptyKeyState, joinInto, setStringDelta, incrDelta, incrUnitsDelta, ttlDelta, delDelta, elemWriteDelta, elemRemoveDelta, hincrDelta, visible,
  type KeyState,
} from "../../src/replication/key-state.js";

/** What a start-up load keeps of one piece (keepLoadedState, then takeLoadedStates). */
function readBack(piece: Buffer): FileStates {
  const server = {} as Server;
  keepLoadedState(server, piece);
  return takeLoadedStates(server).states;
}

describe("AOF incr pieces (filePieces)", () => {
  it("are RECORDs, and read back as the states written, joined per key, with the marks' times", () => {
    const v = (s: string) => Buffer.from(s);
    const s1 = setStringDelta(emptyKeyState(), "a~1", 10, v("x"));
    const t1 = ttlDelta(s1, "a~1", 11, 5_000_000);
    const c1 = incrDelta(emptyKeyState(), "b~2", 12, 5n);
    const gone = delDelta(setStringDelta(emptyKeyState(), "a~1", 13, v("y")), "a~1", 14);
    const entries: [string, KeyState][] = [["0:s", s1], ["0:c", c1], ["0:s", t1], ["1:gone", gone]];
    const pieces = filePieces({ entries, marks: [1234, -1] });
    expect(pieces.map((p) => p[0])).toEqual([3, 1, 1]); // (RECORD, then the marks: empty FORMAT batches)
    expect(pieces.slice(1).map((p) => p.readDoubleLE(1))).toEqual([1234, -1]);

    const states = readBack(pieces[0]);
    const want = new Map<string, KeyState>();
    for (const [k, d] of entries) {
      const cur = want.get(k) ?? emptyKeyState();
      joinInto(cur, d);
      want.set(k, cur);
    }
    expect([...states.keys()].sort()).toEqual([...want.keys()].sort());
    for (const [k, s] of want) expect(encodeKeyState(states.get(k)!).equals(encodeKeyState(s))).toBe(true);
  });

  // A SET's record: RECORD's header (format, node table) and tag SET (node and stamp once,
  // the value) instead of COMPACT's 17-byte header and tag STRING: 100k SETs made a 26.1 MB
  // incr file with COMPACT pieces, 9.5 MB without replication.
  it("a SET's record is RECORD with tag SET, smaller than COMPACT's, and a SET over another node's value still reads back", () => {
    const node = "node-a~1764380000000abcdef0123456789";
    const other = "node-b~1764380000000fedcba9876543210";
    const v = (x: string) => Buffer.from(x);
    const plain = setStringDelta(emptyKeyState(), node, 1764380000000 * 1024 + 5, v("value:1")); // (an HLC stamp)
    const over = emptyKeyState();
    joinInto(over, setStringDelta(over, other, 10, v("x")));
    const second = setStringDelta(over, node, 11, v("y")); // (its floor names both nodes: tag STRING)
    joinInto(over, second);
    const entries: [string, KeyState][] = [["0:key:1", plain], ["0:o", second], ["0:o", delDelta(over, node, 12)]];
    const [rec] = filePieces({ entries, marks: [] });
    const states = readBack(rec);
    const want = new Map<string, KeyState>();
    for (const [k, d] of entries) { const cur = want.get(k) ?? emptyKeyState(); joinInto(cur, d); want.set(k, cur); }
    for (const [k, w] of want) expect(encodeKeyState(states.get(k)!).toString("hex"), k).toBe(encodeKeyState(w).toString("hex"));
    // one SET's record: format; table (count, the id's length and bytes); key (length, bytes);
    // tag; node number; stamp; value (length, bytes): 70 bytes. As COMPACT with tag STRING it was 109.
    const [one] = filePieces({ entries: [["0:key:1", plain]], marks: [] });
    expect(one.length).toBe(1 + (2 + 1 + node.length) + (1 + 7) + 1 + 2 + 8 + (4 + 7));
  });

  // The previous build's incr records: COMPACT pieces with tag STRING (and the bus's encoding
  // under OTHER): they load as they did.
  it("an older incr file's COMPACT records (tags STRING and OTHER) still load", () => {
    const s1 = setStringDelta(emptyKeyState(), "a~1", 10, Buffer.from("x"));
    const c1 = incrDelta(emptyKeyState(), "b~2", 12, 5n);
    const w = new Writer();
    w.u8(2); w.f64(0); w.u32(2); w.u32(0);
    // (STRING: the floor, the value register, the TTL register, node numbers into the table)
    w.str("0:s"); w.u8(1);
    w.u16(1); w.u16(0); w.f64(9);
    w.u16(1); w.u16(0); w.f64(10); w.bytes(Buffer.from("x")); w.u16(0);
    w.u16(0); w.u16(0);
    w.str("0:c"); w.u8(0); writeKeyState(w, c1);
    w.patchU32(13, w.length);
    w.u16(1); w.node("a~1");
    const states = readBack(Buffer.from(w.done()));
    expect(encodeKeyState(states.get("0:s")!).toString("hex")).toBe(encodeKeyState(s1).toString("hex"));
    expect(encodeKeyState(states.get("0:c")!).toString("hex")).toBe(encodeKeyState(c1).toString("hex"));
  });

  it("nothing taken: no pieces", () => {
    expect(filePieces(null)).toEqual([]);
    expect(filePieces({ entries: [], marks: [] })).toEqual([]);
  });

  // A set's, hash's or sorted set's state goes in as ELEMS (node numbers into the piece's
  // table): as OTHER (the bus's encoding, each member's register naming its node in full) 100k
  // HSETs of 10 fields made a 243 MB incr file against 22.7 MB without replication.
  it("a set's, hash's and sorted set's states are written with node numbers (MEMBERS), smaller, and read back as written", () => {
    const node = "node-a~1764380000000abcdef0123456789"; // (an incarnation id's length)
    const other = "node-b~1764380000000fedcba9876543210";
    const v = (x: string) => Buffer.from(x);
    let h = emptyKeyState();
    for (let i = 0; i < 10; i++) joinInto(h, elemWriteDelta(h, "hash", `field:${i}`, node, 10 + i, v(`value:${i}`)));
    joinInto(h, elemWriteDelta(h, "hash", "field:1", other, 30, v("w"))); // (a field another node overwrote)
    joinInto(h, elemRemoveDelta(h, "hash", "field:2", other, 31));
    joinInto(h, ttlDelta(h, node, 32, 987654321));
    const set = emptyKeyState();
    joinInto(set, elemWriteDelta(set, "set", "m1", node, 40, true));
    joinInto(set, elemWriteDelta(set, "set", "m2", other, 41, true));
    const z = emptyKeyState();
    joinInto(z, elemWriteDelta(z, "zset", "a", node, 50, 1.5));
    joinInto(z, elemWriteDelta(z, "zset", "b", node, 51, -2));
    const counted = hincrDelta(emptyKeyState(), "n", node, 60, 3n); // (field counters: still OTHER)
    const entries: [string, KeyState][] = [["0:h", h], ["0:s", set], ["0:z", z], ["0:n", counted]];
    const [piece] = filePieces({ entries, marks: [] });
    const states = readBack(piece);
    for (const [k, want] of entries) {
      expect(encodeKeyState(states.get(k)!).toString("hex"), k).toBe(encodeKeyState(want).toString("hex"));
      expect(visible(states.get(k)!), k).toEqual(visible(want));
    }
    // the hash's piece against the same state as OTHER
    const [alone] = filePieces({ entries: [["0:h", h]], marks: [] });
    const asOther = encodeKeyState(h).length;
    expect(alone.length).toBeLessThan(asOther * 0.6);
  });

  // A string's state with counters goes in as COUNTER (node numbers, totals in a few bytes): as
  // OTHER (the bus's encoding: each node in full, each total as decimal text of units of
  // 10^-17) 100k INCRs made a 19.1 MB incr file against 2.7 MB without replication.
  it("a string's state with counters is written with node numbers and short totals (COUNTER), smaller, and read back as written", () => {
    const node = "node-a~1764380000000abcdef0123456789";
    const other = "node-b~1764380000000fedcba9876543210";
    let c = emptyKeyState();
    joinInto(c, incrDelta(c, node, 10, 1n));
    joinInto(c, incrDelta(c, other, 11, -123456789012345678901234567890n)); // (beyond 64 bits, negative)
    joinInto(c, incrUnitsDelta(c, node, 12, 15n)); // (INCRBYFLOAT 0.00000000000000015: no trailing zeros)
    joinInto(c, ttlDelta(c, node, 13, 987654321));
    const reset = emptyKeyState(); // (a SET over a counter: reset points, and a value)
    joinInto(reset, incrDelta(reset, node, 20, 7n));
    joinInto(reset, incrDelta(reset, other, 21, 3n));
    joinInto(reset, setStringDelta(reset, node, 22, Buffer.from("5")));
    joinInto(reset, incrDelta(reset, other, 23, 2n));
    const zero = emptyKeyState();
    joinInto(zero, incrDelta(zero, node, 30, 0n));
    const entries: [string, KeyState][] = [["0:c", c], ["0:r", reset], ["0:z", zero]];
    expect(reset.cntBase.size).toBeGreaterThan(0);
    const [piece] = filePieces({ entries, marks: [] });
    const states = readBack(piece);
    for (const [k, want] of entries) {
      expect(encodeKeyState(states.get(k)!).toString("hex"), k).toBe(encodeKeyState(want).toString("hex"));
      expect(visible(states.get(k)!), k).toEqual(visible(want));
    }
    // one INCR's record, header and node table included, against the bus's encoding of the
    // state alone (as OTHER the record was 146 bytes, here 99)
    const one = incrDelta(emptyKeyState(), node, 40, 1n);
    const [alone] = filePieces({ entries: [["0:k", one]], marks: [] });
    expect(alone.length).toBeLessThan(encodeKeyState(one).length);
  });

  // MEMBERS writes a member whose register is the next tick of the previous member's node
  // (an HSET of several fields ticks once per field) as its name, a byte and its value: an
  // HSET of 10 fields' record is 135 bytes, 318 as ELEMS (node number and stamp per field).
  it("an HSET of 10 fields' record names its node and stamp once (MEMBERS)", () => {
    const node = "node-a~1764380000000abcdef0123456789";
    const h = emptyKeyState();
    let ts = 1764380000000 * 1024;
    for (let i = 0; i < 10; i++) joinInto(h, elemWriteDelta(h, "hash", `f${i}`, node, ts++, Buffer.from(`v${i}`)));
    const [rec] = filePieces({ entries: [["0:h:1", h]], marks: [] });
    // format; table; key; tag, empty floor, kind, count; the first field (name, byte, node
    // number, stamp, value), nine more (name, byte, value); the TTL register
    expect(rec.length).toBe(1 + (2 + 1 + node.length) + (1 + 5) + (1 + 2 + 1 + 1) + (1 + 2 + 1 + 2 + 8 + 1 + 2) + 9 * (1 + 2 + 1 + 1 + 2) + 4);
    const states = readBack(rec);
    expect(encodeKeyState(states.get("0:h:1")!).toString("hex")).toBe(encodeKeyState(h).toString("hex"));
  });

  // The previous build's ELEMS entries (a COMPACT piece: per member its name and register with
  // node numbers) load as they did.
  it("an older file's ELEMS entries still load", () => {
    const h = emptyKeyState();
    joinInto(h, elemWriteDelta(h, "hash", "f0", "a~1", 10, Buffer.from("v0")));
    joinInto(h, elemWriteDelta(h, "hash", "f1", "a~1", 11, Buffer.from("v1")));
    const w = new Writer();
    w.u8(2); w.f64(0); w.u32(1); w.u32(0);
    w.str("0:h"); w.u8(2); w.u16(0); w.u8(1); w.u32(2);
    for (const [f, ts, v] of [["f0", 10, "v0"], ["f1", 11, "v1"]] as const) {
      w.str(f); w.u16(1); w.u16(0); w.f64(ts); w.bytes(Buffer.from(v)); w.u16(0);
    }
    w.u16(0); w.u16(0);
    w.patchU32(13, w.length);
    w.u16(1); w.node("a~1");
    const states = readBack(Buffer.from(w.done()));
    expect(encodeKeyState(states.get("0:h")!).toString("hex")).toBe(encodeKeyState(h).toString("hex"));
  });

  // What an older LatticeKV wrote for such a key (COMPACT, tag OTHER: the bus's encoding) loads as it did.
  it("an older file's set, hash and sorted set states (tag OTHER) still load", () => {
    const v = (x: string) => Buffer.from(x);
    const h = emptyKeyState();
    for (let i = 0; i < 3; i++) joinInto(h, elemWriteDelta(h, "hash", `f${i}`, "a~1", 10 + i, v(`v${i}`)));
    const set = emptyKeyState();
    joinInto(set, elemWriteDelta(set, "set", "m", "a~1", 20, true));
    const entries: [string, KeyState][] = [["0:h", h], ["0:s", set]];
    // (the previous build's COMPACT piece: format 2, time, count, table offset; per key its name,
    // tag 0 and the bus's encoding; then an empty node table)
    const w = new Writer();
    w.u8(2); w.f64(0); w.u32(entries.length); w.u32(0);
    for (const [k, st] of entries) { w.str(k); w.u8(0); writeKeyState(w, st); }
    w.patchU32(13, w.length);
    w.u16(0);
    const states = readBack(Buffer.from(w.done()));
    for (const [k, want] of entries) expect(encodeKeyState(states.get(k)!).toString("hex"), k).toBe(encodeKeyState(want).toString("hex"));
  });
});
