// StreamValue (src/types/stream.ts): node layout, trimming and deletion follow t_stream.c,
// so XINFO's radix-tree-keys and approximate trims agree with Redis for the same inputs.
import { describe, it, expect } from "vitest";
import {
  StreamValue, ConsumerGroup, Consumer, parseId, idString, incrId, decrId, cmpId, StreamNode,
  TRIM_MAXLEN, TRIM_MINID, U64_MAX, MAX_ID,
} from "../../src/types/stream.js";

const f = (...xs: string[]) => xs.map((x) => Buffer.from(x));
const id = (ms: number, seq = 0) => ({ ms: BigInt(ms), seq: BigInt(seq) });
function filled(n: number, perNode: number): StreamValue {
  const s = new StreamValue();
  for (let i = 1; i <= n; i++) s.append(id(i), f("k", String(i)), perNode, 4096);
  return s;
}
const ids = (s: StreamValue) => [...s.range(id(0), MAX_ID)].map((e) => idString(e.id));

describe("stream IDs", () => {
  it("parses Redis's ID forms and rejects the rest", () => {
    expect(parseId("5", 7n, false)!.id).toEqual(id(5, 7));
    expect(parseId("-", 0n, false)!.id).toEqual(id(0));
    expect(parseId("+", 0n, false)!.id).toEqual({ ms: U64_MAX, seq: U64_MAX });
    expect(parseId("+", 0n, true)).toBeNull();
    expect(parseId("5-*", 0n, true, true)).toEqual({ id: id(5), seqGiven: false });
    expect(parseId("5-*", 0n, true)).toBeNull();
    expect(parseId("18446744073709551616", 0n, false)).toBeNull();
    expect(parseId("1-x", 0n, false)).toBeNull();
    expect(parseId("+1", 0n, false)).toBeNull();
  });

  it("increments and decrements across the sequence boundary, failing at the ends", () => {
    expect(incrId({ ms: 1n, seq: U64_MAX })).toEqual(id(2, 0));
    expect(decrId(id(2, 0))).toEqual({ ms: 1n, seq: U64_MAX });
    expect(incrId({ ms: U64_MAX, seq: U64_MAX })).toBeNull();
    expect(decrId(id(0, 0))).toBeNull();
    expect(cmpId(id(1, 2), id(1, 3))).toBe(-1);
  });

});

describe("StreamNode (one packed buffer per node)", () => {
  it("gives back every entry's ID and fields: master fields shared, other fields stored, u64 IDs", () => {
    const node = new StreamNode(2);
    const entries: [ReturnType<typeof id>, Buffer[]][] = [
      [id(1700000000000, 5), f("a", "", "long value \r\n", "z")],
      [id(1700000000000, 6), f("a", "1", "long value \r\n", "2")],
      [id(1700000000001, 0), f("other", "x".repeat(300))],
      [id(1700000000001, 1), f("a", "3")],
      [{ ms: U64_MAX - 1n, seq: 7n }, f("a", "4", "long value \r\n", "5")],
      [{ ms: U64_MAX, seq: U64_MAX }, f("a", "6", "long value \r\n", "7")],
    ];
    for (const [i, e] of entries) node.push(i, e, 10);
    node.seal();
    expect(node.slots).toBe(entries.length);
    entries.forEach(([i, e], slot) => {
      expect(node.idAt(slot)).toEqual(i);
      expect(node.entry(slot).map(String)).toEqual(e.map(String));
    });
    expect(node.lowerBound(id(1700000000001, 1))).toBe(3);
    expect(node.lowerBound(MAX_ID)).toBe(5);
    node.markDeleted(1);
    const copy = node.clone();
    expect([0, 1, 2].map((k) => copy.isDeleted(k))).toEqual([false, true, false]);
    copy.markDeleted(0);
    expect(node.isDeleted(0)).toBe(false);
    expect(copy.entry(4).map(String)).toEqual(entries[4][1].map(String));
  });
});

describe("StreamValue", () => {
  it("starts a new node every stream-node-max-entries entries", () => {
    expect(filled(25, 10).nodes.length).toBe(3);
    expect(filled(25, 0).nodes.length).toBe(1);
  });

  it("iterates forwards and backwards between bounds", () => {
    const s = filled(25, 10);
    expect([...s.range(id(9), id(12))].map((e) => idString(e.id))).toEqual(["9-0", "10-0", "11-0", "12-0"]);
    expect([...s.range(id(9), id(12), true)].map((e) => idString(e.id))).toEqual(["12-0", "11-0", "10-0", "9-0"]);
    expect(s.fields(s.find(id(11))!).map(String)).toEqual(["k", "11"]);
  });

  it("XDEL marks entries deleted and drops a node once all its entries are", () => {
    const s = filled(20, 10);
    for (let i = 1; i <= 10; i++) expect(s.deleteId(id(i))).toBe(true);
    expect(s.deleteId(id(1))).toBe(false);
    expect(s.nodes.length).toBe(1);
    expect(s.length).toBe(10);
    expect(s.maxDeletedId).toEqual(id(10));
  });

  it("approximate MAXLEN trims whole nodes only; exact trims inside the head node", () => {
    const approx = filled(100, 10);
    expect(approx.trim({ strategy: TRIM_MAXLEN, approx: true, limit: 0, maxlen: 55, minid: id(0) })).toBe(40);
    expect(approx.length).toBe(60);
    const exact = filled(100, 10);
    expect(exact.trim({ strategy: TRIM_MAXLEN, approx: false, limit: 0, maxlen: 55, minid: id(0) })).toBe(45);
    expect(ids(exact)[0]).toBe("46-0");
    expect(exact.firstId).toEqual(id(46));
  });

  it("LIMIT stops an approximate trim before a node it cannot remove whole", () => {
    const s = filled(100, 10);
    expect(s.trim({ strategy: TRIM_MAXLEN, approx: true, limit: 25, maxlen: 0, minid: id(0) })).toBe(20);
  });

  it("MINID removes entries below the ID", () => {
    const s = filled(30, 10);
    expect(s.trim({ strategy: TRIM_MINID, approx: false, limit: 0, maxlen: 0, minid: id(15) })).toBe(14);
    expect(ids(s)[0]).toBe("15-0");
  });

  it("dup copies entries, groups and pending entries independently", () => {
    const s = filled(3, 10);
    const g = new ConsumerGroup(id(2), 2);
    const c = new Consumer("alice", 1);
    g.consumers.set("alice", c);
    const nack = { deliveryTime: 5, deliveryCount: 1, consumer: c };
    g.pel.tryInsert(id(1), nack);
    c.pel.tryInsert(id(1), nack);
    s.groups.set("g", g);
    const d = s.dup();
    s.deleteId(id(1));
    nack.deliveryCount = 9;
    expect(d.length).toBe(3);
    const dg = d.groups.get("g")!;
    expect(dg.pel.get(id(1))!.deliveryCount).toBe(1);
    expect(dg.pel.get(id(1))!.consumer).toBe(dg.consumers.get("alice"));
    expect(dg.consumers.get("alice")!.pel.get(id(1))).toBe(dg.pel.get(id(1)));
  });
});
