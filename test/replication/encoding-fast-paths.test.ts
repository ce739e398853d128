// The encoder's fast paths (codec.ts: a string key's empty parts written at once, counts as byte
// stores; store.ts: a key hashed from one reused buffer; saved-state.ts: a SAVE's pieces written
// in one pass) must give the bytes the plain construction gives: peers compare digests of these
// encodings, and an RDB written by one version is read by another.
import { createHash } from "node:crypto";
import { describe, it, expect } from "vitest";
import { CrdtStore, SLOTS, encodeBatch, slotOf } from "../../src/replication/store.js";
import { Writer, encodeKeyState } from "../../src/replication/codec.js";
import { SavedStateCursor, savedStateNow, keepLoadedState, takeLoadedStates } from "../../src/replication/saved-state.js";
import { FileStates } from "../../src/replication/file-states.js";
import type { Server } from "../../src/server/server.js";
import {
  emptyKeyState, joinInto, setStringDelta, incrDelta, elemWriteDelta, ttlDelta, delDelta, listEditDelta, type KeyState,
} from "../../src/replication/key-state.js";

/** A store of every type, written by three nodes, with deletes and TTLs. */
function mixedStore(n: number): CrdtStore {
  const st = new CrdtStore();
  let ts = 1000;
  for (let i = 0; i < n; i++) {
    const k = `0:k${i % Math.ceil(n / 2)}`;
    const s = st.get(k) ?? emptyKeyState();
    const node = ["a", "node-b", "c~1700000000000x"][i % 3];
    const d: KeyState = i % 7 === 0 ? incrDelta(s, node, ++ts, 3n)
      : i % 7 === 1 ? elemWriteDelta(s, "set", `m${i % 4}`, node, ++ts, true)
      : i % 7 === 2 ? ttlDelta(s, node, ++ts, 5000)
      : i % 7 === 3 ? delDelta(s, node, ++ts)
      : i % 7 === 4 ? elemWriteDelta(s, "zset", `z${i % 3}`, node, ++ts, i / 3)
      : i % 7 === 5 ? listEditDelta(s, node, () => ++ts, { removed: [], set: [], inserted: [{ after: "", before: "", values: [Buffer.from(`l${i}`)] }] })
      : setStringDelta(s, node, ++ts, Buffer.from(`v${i}`));
    st.join(k, d);
  }
  return st;
}

describe("encoding fast paths give the plain construction's bytes", () => {
  it("a SAVE's pieces (COMPACT, 4,096 keys each) load back as the store's states, byte for byte, and strings take under half the bus's bytes", () => {
    const st = mixedStore(12000);
    // plain strings (one write), some with a TTL, by several nodes
    for (let i = 0; i < 3000; i++) {
      const node = `n${i % 5}~1700000000000${i % 5}`;
      let s = setStringDelta(emptyKeyState(), node, 5000 + i, Buffer.from(`value:${i}`));
      if (i % 3 === 0) { const t = ttlDelta(s, node, 9000 + i, 1_800_000_000_000 + i); const j = emptyKeyState(); joinInto(j, s); joinInto(j, t); s = j; }
      st.join(`0:plain:${i}`, s);
    }
    const server = {} as Server;
    const pending = new FileStates();
    pending.add("0:pending", setStringDelta(emptyKeyState(), "p", 7, Buffer.from("w")));
    const pieces = savedStateNow(st, { since: 1234, states: pending });
    expect(pieces.length).toBe(Math.ceil(st.keys.size / 4096) + 1);
    for (const p of pieces) keepLoadedState(server, p);
    const loaded = takeLoadedStates(server);
    expect(loaded.since).toBe(1234);
    expect(loaded.states.size).toBe(st.keys.size + 1);
    for (const [k, s] of st.states()) expect(encodeKeyState(loaded.states.get(k)!).equals(encodeKeyState(s)), k).toBe(true);
    // the plain strings' share against the bus's encoding of the same entries
    const plain = [...st.states()].filter(([k]) => k.startsWith("0:plain:"));
    const compact = savedStateNow({ states: () => new Map(plain) } as unknown as CrdtStore).reduce((n, p) => n + p.length, 0);
    expect(compact * 1.8).toBeLessThan(encodeBatch(plain).length); // (198,889 against 409,784 bytes)
  });

  it("a BGSAVE's pieces (COMPACT) load back as the store's states when it began, keys changed since included", () => {
    const st = mixedStore(12000);
    const before = new Map([...st.keys].map(([k, s]) => [k, encodeKeyState(s)]));
    const pending = new FileStates();
    pending.add("0:pending", setStringDelta(emptyKeyState(), "p", 7, Buffer.from("w")));
    const cursor = new SavedStateCursor(st, { since: 99, states: pending });
    const pieces: Buffer[] = [];
    // a few pieces out, then every key changes (those not yet written keep their state of before)
    for (let i = 0; i < 20; i++) pieces.push(cursor.next()!);
    for (const k of before.keys()) st.join(k, setStringDelta(st.get(k)!, "late", 1e9, Buffer.from("after")));
    st.join("0:born-later", setStringDelta(emptyKeyState(), "late", 1e9, Buffer.from("x")));
    for (let p = cursor.next(); p; p = cursor.next()) pieces.push(p);
    expect(pieces.every((p) => p[0] === 2)).toBe(true); // COMPACT
    const server = {} as Server;
    for (const p of pieces) keepLoadedState(server, p);
    const loaded = takeLoadedStates(server);
    expect(loaded.since).toBe(99);
    expect(loaded.states.size).toBe(before.size + 1);
    for (const [k, b] of before) expect(encodeKeyState(loaded.states.get(k)!).equals(b), k).toBe(true);
  });

  it("the range digests are the XOR of SHA-1(name, encoding) per key", () => {
    const st = mixedStore(3000);
    const want = new Uint32Array(SLOTS * 2);
    for (const [k, s] of st.keys) {
      const h = createHash("sha1").update(k, "latin1").update(encodeKeyState(s)).digest();
      const slot = slotOf(k);
      want[2 * slot] ^= h.readUInt32LE(0);
      want[2 * slot + 1] ^= h.readUInt32LE(4);
    }
    expect(Buffer.from(st.digestsAt(SLOTS).buffer).equals(Buffer.from(want.buffer))).toBe(true);
  });

  it("counts that do not fit their field throw, as Buffer's writers did", () => {
    const w = new Writer();
    expect(() => w.u16(65536)).toThrow(RangeError);
    expect(() => w.u32(-1)).toThrow(RangeError);
    w.u16(65535); w.u32(2 ** 32 - 1);
    expect(w.done().toString("hex")).toBe("ffffffffffff");
  });
});
