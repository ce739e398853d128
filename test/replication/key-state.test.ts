// The per-type semantics of KeyState (src/replication/key-state.ts): what two replicas show
// after concurrent writes. The merge laws themselves (commutative, associative, idempotent,
// convergent under any delivery order) are fast-check properties in merge-laws.property.test.ts.
import { describe, it, expect } from "vitest";
import {
  emptyKeyState, joinInto, copyKeyState, visible, delDelta, setStringDelta, incrDelta, elemWriteDelta,
  elemRemoveDelta, ttlDelta, hincrDelta, zincrDelta, type KeyState,
} from "../../src/replication/key-state.js";
import { encodeKeyState } from "../../src/replication/codec.js";
import { gcKeyState, removalStamps, ACKED } from "../../src/replication/gc.js";
import { SCALE } from "../../src/replication/decimal.js";

const enc = (s: KeyState) => encodeKeyState(s).toString("hex");
const b = (s: string) => Buffer.from(s);

class Replica {
  s = emptyKeyState();
  private t = 0;
  constructor(readonly id: string, private clock: { now: number }) {}
  ts(): number { this.t = Math.max(this.t + 1, this.clock.now); return this.t; }
  apply(d: KeyState): KeyState { joinInto(this.s, d); return d; }
  receive(d: KeyState): void { joinInto(this.s, d); }
}

describe("KeyState semantics", () => {
  const pair = () => { const clock = { now: 100 }; return [new Replica("A", clock), new Replica("B", clock), clock] as const; };
  const exchange = (x: Replica, y: Replica) => { const sx = copyKeyState(x.s); joinInto(x.s, y.s); joinInto(y.s, sx); };

  it("INCR on two nodes during a partition counts both", () => {
    const [a, bb] = pair();
    a.apply(incrDelta(a.s, "A", a.ts(), 1n));
    bb.apply(incrDelta(bb.s, "B", bb.ts(), 1n));
    exchange(a, bb);
    expect(visible(a.s)).toEqual({ type: "string", value: b("2"), expireAt: 0 });
    expect(enc(a.s)).toBe(enc(bb.s));
  });

  it("SET resets only the increments it observed; a concurrent INCR is added to the SET value", () => {
    const [a, bb, clock] = pair();
    a.apply(incrDelta(a.s, "A", a.ts(), 5n));
    exchange(a, bb);
    clock.now++;
    a.apply(setStringDelta(a.s, "A", a.ts(), b("10")));
    bb.apply(incrDelta(bb.s, "B", bb.ts(), 3n));
    exchange(a, bb);
    expect(visible(a.s)?.value).toEqual(b("13"));
    expect(visible(bb.s)?.value).toEqual(b("13"));
  });

  it("INCR after this node's own SET counts on top of it when the key once held a ZINCRBY or HINCRBY counter", () => {
    // (the SET leaves the old counters' reset points behind; the INCR's removal of them must
    // not remove this node's own string value with them: simulation seeds 433 and 1877)
    for (const counter of ["zset", "hash"] as const) {
      const [a, bb] = pair();
      a.apply(counter === "zset" ? zincrDelta(a.s, "m", "A", a.ts(), 1) : hincrDelta(a.s, "f", "A", a.ts(), 1n));
      a.apply(setStringDelta(a.s, "A", a.ts(), b("68")));
      a.apply(ttlDelta(a.s, "A", a.ts(), 5_000_000));
      a.apply(incrDelta(a.s, "A", a.ts(), 67n));
      expect(visible(a.s)).toEqual({ type: "string", value: b("135"), expireAt: 5_000_000 });
      exchange(a, bb);
      expect(visible(bb.s)).toEqual({ type: "string", value: b("135"), expireAt: 5_000_000 });
    }
  });

  it("concurrent SETs: the greater (timestamp, node id) wins", () => {
    const [a, bb] = pair();
    a.apply(setStringDelta(a.s, "A", 500, b("from-a")));
    bb.apply(setStringDelta(bb.s, "B", 500, b("from-b")));
    exchange(a, bb);
    expect(visible(a.s)?.value).toEqual(b("from-b"));
  });

  it("SADD concurrent with SREM of the same member: the add wins", () => {
    const [a, bb] = pair();
    a.apply(elemWriteDelta(a.s, "set", "x", "A", a.ts(), true));
    exchange(a, bb);
    a.apply(elemRemoveDelta(a.s, "set", "x"));
    bb.apply(elemWriteDelta(bb.s, "set", "x", "B", bb.ts(), true));
    exchange(a, bb);
    expect(visible(a.s)).toEqual({ type: "set", value: [b("x")], expireAt: 0 });
  });

  it("DEL removes what it observed; a concurrent write survives, a removed one does not come back", () => {
    const [a, bb] = pair();
    a.apply(elemWriteDelta(a.s, "set", "x", "A", a.ts(), true));
    exchange(a, bb);
    a.apply(delDelta(a.s));
    bb.apply(elemWriteDelta(bb.s, "set", "y", "B", bb.ts(), true));
    exchange(a, bb);
    expect(visible(a.s)?.value).toEqual([b("y")]);
    expect(visible(bb.s)?.value).toEqual([b("y")]);
    // the old delta for x arriving again (duplicate) does not resurrect it
    const [old] = [elemWriteDelta(emptyKeyState(), "set", "x", "A", 100, true)];
    a.receive(old);
    expect(visible(a.s)?.value).toEqual([b("y")]);
  });

  it("DEL concurrent with INCR keeps the concurrent increment only", () => {
    const [a, bb] = pair();
    a.apply(incrDelta(a.s, "A", a.ts(), 7n));
    exchange(a, bb);
    a.apply(delDelta(a.s));
    bb.apply(incrDelta(bb.s, "B", bb.ts(), 1n));
    exchange(a, bb);
    expect(visible(a.s)?.value).toEqual(b("1"));
  });

  it("TTL: the longer concurrent expiry wins, and PERSIST wins over any expiry", () => {
    const [a, bb] = pair();
    a.apply(setStringDelta(a.s, "A", a.ts(), b("v")));
    exchange(a, bb);
    a.apply(ttlDelta(a.s, "A", a.ts(), 5000));
    bb.apply(ttlDelta(bb.s, "B", bb.ts(), 9000));
    exchange(a, bb);
    expect(visible(a.s)?.expireAt).toBe(9000);
    a.apply(ttlDelta(a.s, "A", a.ts(), 0));
    bb.apply(ttlDelta(bb.s, "B", bb.ts(), 20000));
    exchange(a, bb);
    expect(visible(a.s)?.expireAt).toBe(0);
    expect(visible(bb.s)?.expireAt).toBe(0);
  });

  it("type conflict: the type of the latest write is visible, on both nodes", () => {
    const [a, bb] = pair();
    a.apply(setStringDelta(a.s, "A", 300, b("s")));
    bb.apply(elemWriteDelta(bb.s, "hash", "f", "B", 301, b("v")));
    exchange(a, bb);
    expect(visible(a.s)?.type).toBe("hash");
    expect(visible(bb.s)?.type).toBe("hash");
  });

  it("HINCRBY on two nodes both count; HSET of the field resets what it saw", () => {
    const [a, bb, clock] = pair();
    a.apply(hincrDelta(a.s, "f", "A", a.ts(), 2n));
    bb.apply(hincrDelta(bb.s, "f", "B", bb.ts(), 3n));
    exchange(a, bb);
    expect(visible(a.s)).toEqual({ type: "hash", value: [[b("f"), b("5")]], expireAt: 0 });
    clock.now++;
    a.apply(elemWriteDelta(a.s, "hash", "f", "A", a.ts(), b("100")));
    bb.apply(hincrDelta(bb.s, "f", "B", bb.ts(), 1n));
    exchange(a, bb);
    expect(visible(a.s)?.value).toEqual([[b("f"), b("101")]]);
    expect(visible(bb.s)?.value).toEqual([[b("f"), b("101")]]);
  });

  it("ZINCRBY on two nodes both count; ZADD of the member resets what it saw; ZREM removes what it saw", () => {
    const [a, bb, clock] = pair();
    a.apply(elemWriteDelta(a.s, "zset", "m", "A", a.ts(), 10));
    exchange(a, bb);
    a.apply(zincrDelta(a.s, "m", "A", a.ts(), 2));
    bb.apply(zincrDelta(bb.s, "m", "B", bb.ts(), 0.5));
    exchange(a, bb);
    expect(visible(a.s)).toEqual({ type: "zset", value: [[b("m"), 12.5]], expireAt: 0 });
    expect(visible(bb.s)).toEqual(visible(a.s));
    clock.now++;
    a.apply(elemWriteDelta(a.s, "zset", "m", "A", a.ts(), 100)); // saw +2 and +0.5
    bb.apply(zincrDelta(bb.s, "m", "B", bb.ts(), 1)); // concurrent
    exchange(a, bb);
    expect(visible(a.s)?.value).toEqual([[b("m"), 101]]);
    expect(visible(bb.s)?.value).toEqual([[b("m"), 101]]);
    clock.now++;
    a.apply(elemRemoveDelta(a.s, "zset", "m", "A", a.ts()));
    bb.apply(zincrDelta(bb.s, "n", "B", bb.ts(), 3)); // ZINCRBY creates a member
    exchange(a, bb);
    expect(visible(a.s)?.value).toEqual([[b("n"), 3]]);
    expect(visible(bb.s)?.value).toEqual([[b("n"), 3]]);
  });

  it("a deleted key leaves only its floor behind", () => {
    const [a] = pair();
    a.apply(elemWriteDelta(a.s, "set", "x", "A", a.ts(), true));
    a.apply(elemRemoveDelta(a.s, "set", "y"));
    a.apply(delDelta(a.s));
    expect(visible(a.s)).toBeUndefined();
    expect(a.s.set.size).toBe(0);
    expect(a.s.floor.size).toBe(1);
  });
});

// gc.ts dropBases: a reset point of a node that never counts again is acknowledged by that
// node (its stamp raised to the node's clock, run = ACKED), then dropped once the mark is
// stable; the mark is no write a replica must hold, so removalStamps (removalHorizon's record
// of collected removals) leaves it out.
describe("acknowledged counter reset points", () => {
  it("the node whose total a SET cut acknowledges it; the value stays; it goes once stable; removalStamps skips the mark", () => {
    const clock = { now: 100 };
    const a = new Replica("A", clock), bb = new Replica("B", clock);
    a.apply(incrDelta(a.s, "A", a.ts(), 5n));
    bb.receive(a.s);
    bb.apply(setStringDelta(bb.s, "B", bb.ts(), b("9")));
    a.receive(bb.s);
    expect(a.s.cntBase.get("A")?.total).toBe(5n * SCALE);
    const before = visible(a.s);
    const unbounded = () => Number.MAX_SAFE_INTEGER;
    // on B (not A's node) nothing is acknowledged, and A's total could still be of the cut run: the base stays
    expect(gcKeyState(bb.s, unbounded, { acks: (n) => n === "B", stamp: () => 999 })).toBe(true); // (floors cleared)
    expect(bb.s.cntBase.get("A")?.run).not.toBe(ACKED);
    // on A: acknowledged with A's clock, nothing visible changes
    const st = (n: string) => (n === "A" ? 500 : Number.MAX_SAFE_INTEGER);
    expect(gcKeyState(a.s, st, { acks: (n) => n === "A", stamp: () => 600 })).toBe(true);
    expect(a.s.cntBase.get("A")).toEqual({ ts: 600, total: 5n * SCALE, run: ACKED });
    expect(visible(a.s)).toEqual(before);
    const stamps: [string, number][] = [];
    removalStamps(a.s, (n, t) => stamps.push([n, t]));
    expect(stamps.filter(([n]) => n === "A")).toEqual([]);
    // B takes the acknowledged base over its own (the later stamp); it goes once A's stability passes 600
    bb.receive(a.s);
    expect(bb.s.cntBase.get("A")?.run).toBe(ACKED);
    expect(gcKeyState(bb.s, st)).toBe(false);
    expect(gcKeyState(bb.s, (n) => (n === "A" ? 601 : Number.MAX_SAFE_INTEGER))).toBe(true);
    expect(bb.s.cntBase.size).toBe(0);
    expect(visible(bb.s)).toEqual(before);
    // A counts again: a new run, counted on top of the SET's value
    a.receive(bb.s);
    a.apply(incrDelta(a.s, "A", 700, 2n));
    expect(String(visible(a.s)?.value ?? "")).toBe("11");
  });
});
