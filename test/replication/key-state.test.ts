// The CRDT merge laws and the per-type semantics of KeyState (src/replication/key-state.ts).
// Random operations on several replicas, random delivery orders with duplicates: every
// replica must end with the same state. A failing run prints its seed.
import { describe, it, expect } from "vitest";
import { mulberry32, pick, int } from "../types/prng.js";
import {
  emptyKeyState, joinInto, copyKeyState, visible, delDelta, setStringDelta, incrDelta, elemWriteDelta,
  elemRemoveDelta, ttlDelta, listEditDelta, hincrDelta, zincrDelta, type KeyState,
} from "../../src/replication/key-state.js";
import { encodeKeyState, decodeKeyState } from "../../src/replication/codec.js";
import { seqOrder, elemId } from "../../src/replication/seq.js";

const enc = (s: KeyState) => encodeKeyState(s).toString("hex");
const b = (s: string) => Buffer.from(s);

class Replica {
  s = emptyKeyState();
  private t = 0;
  constructor(readonly id: string, private clock: { now: number }) {}
  ts(): number { this.t = Math.max(this.t + 1, this.clock.now); return this.t; }
  apply(d: KeyState): KeyState { joinInto(this.s, d); return d; }
  receive(d: KeyState): void { joinInto(this.s, d); for (const v of [this.t]) this.t = Math.max(v, maxTs(d)); }
}

function maxTs(d: KeyState): number {
  let m = 0;
  for (const v of d.floor.values()) m = Math.max(m, v);
  return m;
}

/** One random local write on replica r; returns its delta. */
function randomOp(rand: () => number, r: Replica): KeyState {
  const m = pick(rand, ["a", "b", "c", "d"]);
  switch (int(rand, 0, 14)) {
    case 12: return r.apply(zincrDelta(r.s, m, r.id, r.ts(), pick(rand, [1, -2, 0.5, 2.25])));
    case 13: return r.apply(delDelta(r.s, r.id, r.ts()));
    case 14: return r.apply(elemRemoveDelta(r.s, "zset", m, r.id, r.ts()));
    case 11: return r.apply(hincrDelta(r.s, m, r.id, r.ts(), BigInt(int(rand, -2, 4))));
    case 0: return r.apply(delDelta(r.s));
    case 1: return r.apply(setStringDelta(r.s, r.id, r.ts(), b(`v${int(rand, 0, 9)}`)));
    case 2: return r.apply(incrDelta(r.s, r.id, r.ts(), BigInt(int(rand, -3, 5))));
    case 3: return r.apply(elemWriteDelta(r.s, "set", m, r.id, r.ts(), true));
    case 4: return r.apply(elemRemoveDelta(r.s, "set", m));
    case 5: return r.apply(elemWriteDelta(r.s, "hash", m, r.id, r.ts(), b(`h${int(rand, 0, 9)}`)));
    case 6: return r.apply(elemRemoveDelta(r.s, "hash", m));
    case 7: return r.apply(elemWriteDelta(r.s, "zset", m, r.id, r.ts(), int(rand, 0, 9)));
    case 8: return r.apply(ttlDelta(r.s, r.id, r.ts(), pick(rand, [0, 1000, 2000])));
    case 9: return r.apply(randomListEdit(rand, r));
    default: return r.apply(elemRemoveDelta(r.s, "zset", m));
  }
}

/** A push at either end, a pop, an insert in the middle or an LSET, as the replicator makes them. */
function randomListEdit(rand: () => number, r: Replica): KeyState {
  const alive = seqOrder(r.s.list, r.s.floor);
  const id = (i: number) => elemId(alive[i].ts, alive[i].node);
  const v = b(`l${int(rand, 0, 9)}`);
  const tick = () => r.ts();
  const op = alive.length ? int(rand, 0, 4) : 0;
  switch (op) {
    case 0: return listEditDelta(r.s, r.id, tick, { removed: [], set: [], inserted: [{ after: "", before: alive.length ? id(0) : "", values: [v, b("x")] }] });
    case 1: return listEditDelta(r.s, r.id, tick, { removed: [], set: [], inserted: [{ after: id(alive.length - 1), before: "", values: [v] }] });
    case 2: return listEditDelta(r.s, r.id, tick, { removed: [id(int(rand, 0, alive.length - 1))], set: [], inserted: [] });
    case 3: {
      const i = int(rand, 0, alive.length - 1);
      return listEditDelta(r.s, r.id, tick, { removed: [], set: [], inserted: [{ after: id(i), before: i + 1 < alive.length ? id(i + 1) : "", values: [v] }] });
    }
    default: return listEditDelta(r.s, r.id, tick, { removed: [], set: [[id(int(rand, 0, alive.length - 1)), v]], inserted: [] });
  }
}

function shuffle<T>(rand: () => number, xs: T[]): T[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [a[i], a[j]] = [a[j], a[i]]; }
  return a;
}

function withSeed(seed: number, fn: () => void): void {
  try { fn(); } catch (e) { throw new Error(`seed ${seed}: ${(e as Error).message}`); }
}

describe("KeyState merge laws (seeded random states)", () => {
  const states = (rand: () => number): KeyState[] => {
    const clock = { now: 0 };
    const rs = ["A", "B", "C"].map((id) => new Replica(id, clock));
    const deltas: KeyState[] = [];
    for (let i = 0; i < 30; i++) {
      clock.now += int(rand, 0, 2);
      const r = pick(rand, rs);
      deltas.push(randomOp(rand, r));
      if (rand() < 0.3) { const other = pick(rand, rs); other.receive(pick(rand, deltas)); }
    }
    return [...rs.map((r) => r.s), ...deltas.slice(-3)];
  };

  it("join is commutative, associative and idempotent", () => {
    for (let seed = 1; seed <= 300; seed++) withSeed(seed, () => {
      const rand = mulberry32(seed);
      const [a, bb, c] = shuffle(rand, states(rand));
      const j = (x: KeyState, y: KeyState) => { const z = copyKeyState(x); joinInto(z, y); return z; };
      expect(enc(j(a, bb))).toBe(enc(j(bb, a)));
      expect(enc(j(j(a, bb), c))).toBe(enc(j(a, j(bb, c))));
      expect(enc(j(a, a))).toBe(enc(a));
      expect(enc(j(j(a, bb), bb))).toBe(enc(j(a, bb)));
    });
  });

  it("replicas receiving every delta in any order, with duplicates, converge", () => {
    for (let seed = 1; seed <= 300; seed++) withSeed(seed, () => {
      const rand = mulberry32(seed);
      const clock = { now: 0 };
      const rs = ["A", "B", "C", "D"].map((id) => new Replica(id, clock));
      const sent: { from: string; d: KeyState }[] = [];
      for (let i = 0; i < 40; i++) {
        clock.now += int(rand, 0, 2);
        const r = pick(rand, rs);
        sent.push({ from: r.id, d: randomOp(rand, r) });
        // some deltas arrive early, in any order (a replica's later ops then observe them)
        if (rand() < 0.4) { const x = pick(rand, sent); for (const o of rs) if (o.id !== x.from && rand() < 0.5) o.receive(x.d); }
      }
      for (const r of rs) for (const x of shuffle(rand, [...sent, ...sent.slice(0, 5)])) if (x.from !== r.id) r.receive(x.d);
      const want = enc(rs[0].s);
      for (const r of rs) expect(enc(r.s)).toBe(want);
    });
  });

  it("the list order kept up to date across joins (seq.ts's cache) always equals a fresh sort of the elements", () => {
    const ids = (s: KeyState) => seqOrder(s.list, s.floor).map((e) => `${elemId(e.ts, e.node)}=${e.v}`);
    for (let seed = 1; seed <= 200; seed++) withSeed(seed, () => {
      const rand = mulberry32(seed);
      const clock = { now: 0 };
      const rs = ["A", "B", "C"].map((id) => new Replica(id, clock));
      const sent: { from: string; d: KeyState }[] = [];
      for (let i = 0; i < 60; i++) {
        clock.now += int(rand, 0, 2);
        const r = pick(rand, rs);
        for (const o of rs) ids(o.s); // every replica's order is cached from here on
        sent.push({ from: r.id, d: rand() < 0.7 ? r.apply(randomListEdit(rand, r)) : randomOp(rand, r) });
        if (rand() < 0.5) { const x = pick(rand, sent); for (const o of rs) if (o.id !== x.from) o.receive(x.d); }
        for (const o of rs) expect(ids(o.s)).toEqual(ids(copyKeyState(o.s)));
      }
    });
  });

  it("encodes and decodes to the same state", () => {
    for (let seed = 1; seed <= 100; seed++) withSeed(seed, () => {
      for (const s of states(mulberry32(seed))) expect(enc(decodeKeyState(encodeKeyState(s)))).toBe(enc(s));
    });
  });
});

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
