// The merge laws of every replicated type, as fast-check properties: for states reachable by
// writes on three replicas that exchange some of their deltas along the way, the join
// (key-state.ts's joinInto, which merges every register, counter, OR-set and the list
// sequence inside a key) is commutative, associative and idempotent, and replicas that
// receive every delta in any order, with duplicates, end with the same state.
//
// Each type is exercised alone (its own writes plus DEL and TTL), then all together (type
// conflicts). States are compared by their encoding: the state is canonical, so equal
// states encode to equal bytes — which is also what anti-entropy digests rely on.
// Failures print fast-check's seed and path; replay with FC_SEED=… FC_PATH=… (test/helpers/fc.ts).
import { describe, it } from "vitest";
import { fc, fcParams } from "../helpers/fc.js";
import {
  emptyKeyState, joinInto, copyKeyState, delDelta, setStringDelta, incrDelta, incrUnitsDelta, elemWriteDelta,
  elemRemoveDelta, ttlDelta, ttlRemoveDelta, listEditDelta, hincrDelta, hincrUnitsDelta, zincrDelta, maxStamp, visible,
  type KeyState,
} from "../../src/replication/key-state.js";
import { SCALE } from "../../src/replication/decimal.js";
import { encodeKeyState, decodeKeyState } from "../../src/replication/codec.js";
import { seqOrder, elemId } from "../../src/replication/seq.js";

const enc = (s: KeyState) => encodeKeyState(s).toString("hex");
const b = (s: string) => Buffer.from(s);
const join = (x: KeyState, y: KeyState) => { const z = copyKeyState(x); joinInto(z, y); return z; };
/** What a client sees (key-state.ts's visible), members in a fixed order: equal states must look the same everywhere. */
const seen = (s: KeyState) => {
  const v = visible(s);
  if (!v) return "none";
  const items = (v.value as unknown[]).map((x) => JSON.stringify(x));
  if (v.type !== "list" && v.type !== "string") items.sort();
  return `${v.type} ${v.expireAt} ${v.type === "string" ? String(v.value) : items.join(",")}`;
};

/** A replica of one key: its state and its hybrid clock (the shared `now` lets stamps of different nodes tie). */
class Replica {
  s = emptyKeyState();
  private t = 0;
  constructor(readonly id: string, private clock: { now: number }) {}
  ts(): number { this.t = Math.max(this.t + 1, this.clock.now); return this.t; }
  apply(d: KeyState): KeyState { joinInto(this.s, d); return d; }
  receive(d: KeyState): void { joinInto(this.s, d); this.t = Math.max(this.t, maxStamp(d)); }
}

/** One local write: which replica, which kind of write, and its small parameters. */
interface Op { r: number; kind: string; m: number; v: number; tick: number }

const MEMBERS = ["a", "b", "c", "d"];
const FLOATS = [1, -2, 0.5, 2.25, 0.1];

/** The writes of each type, as the replicator makes them (each local removal carries its own stamp). */
const WRITES: Record<string, (r: Replica, op: Op) => KeyState> = {
  set: (r, o) => setStringDelta(r.s, r.id, r.ts(), b(`v${o.v}`)),
  incr: (r, o) => incrDelta(r.s, r.id, r.ts(), BigInt(o.v - 3)),
  incrbyfloat: (r, o) => incrUnitsDelta(r.s, r.id, r.ts(), (BigInt(o.v - 3) * SCALE) / 10n),
  del: (r) => delDelta(r.s, r.id, r.ts()),
  expire: (r, o) => ttlDelta(r.s, r.id, r.ts(), [1000, 2000, 3000][o.v % 3]),
  persist: (r) => ttlDelta(r.s, r.id, r.ts(), 0),
  sadd: (r, o) => elemWriteDelta(r.s, "set", MEMBERS[o.m], r.id, r.ts(), true),
  srem: (r, o) => elemRemoveDelta(r.s, "set", MEMBERS[o.m], r.id, r.ts()),
  hset: (r, o) => elemWriteDelta(r.s, "hash", MEMBERS[o.m], r.id, r.ts(), b(`h${o.v}`)),
  hdel: (r, o) => elemRemoveDelta(r.s, "hash", MEMBERS[o.m], r.id, r.ts()),
  hincrby: (r, o) => hincrDelta(r.s, MEMBERS[o.m], r.id, r.ts(), BigInt(o.v - 3)),
  hincrbyfloat: (r, o) => hincrUnitsDelta(r.s, MEMBERS[o.m], r.id, r.ts(), (BigInt(o.v - 3) * SCALE) / 10n),
  zadd: (r, o) => elemWriteDelta(r.s, "zset", MEMBERS[o.m], r.id, r.ts(), o.v),
  zrem: (r, o) => elemRemoveDelta(r.s, "zset", MEMBERS[o.m], r.id, r.ts()),
  zincrby: (r, o) => zincrDelta(r.s, MEMBERS[o.m], r.id, r.ts(), FLOATS[o.v % FLOATS.length]),
  lpush: (r, o) => listEdit(r, o, 0),
  rpush: (r, o) => listEdit(r, o, 1),
  lpop: (r, o) => listEdit(r, o, 2),
  linsert: (r, o) => listEdit(r, o, 3),
  lset: (r, o) => listEdit(r, o, 4),
  // a list emptied by pops loses its TTL register too (replicator.ts)
  "ttl-remove": (r) => ttlRemoveDelta(r.s, r.id, r.ts()),
};

/** A list edit as the replicator makes it: a push at either end, a removal, an insert in the middle, an LSET. */
function listEdit(r: Replica, o: Op, what: number): KeyState {
  const alive = seqOrder(r.s.list, r.s.floor);
  const id = (i: number) => elemId(alive[i].ts, alive[i].node);
  const v = b(`l${o.v}`);
  const tick = () => r.ts();
  const at = alive.length ? o.m % alive.length : 0;
  const op = alive.length ? what : 0;
  switch (op) {
    case 0: return listEditDelta(r.s, r.id, tick, { removed: [], set: [], inserted: [{ after: "", before: alive.length ? id(0) : "", values: o.v % 2 ? [v, b("x")] : [v] }] });
    case 1: return listEditDelta(r.s, r.id, tick, { removed: [], set: [], inserted: [{ after: id(alive.length - 1), before: "", values: [v] }] });
    case 2: return listEditDelta(r.s, r.id, tick, { removed: [id(at)], set: [], inserted: [] });
    case 3: return listEditDelta(r.s, r.id, tick, { removed: [], set: [], inserted: [{ after: id(at), before: at + 1 < alive.length ? id(at + 1) : "", values: [v] }] });
    default: return listEditDelta(r.s, r.id, tick, { removed: [], set: [[id(at), v]], inserted: [] });
  }
}

const FAMILIES: Record<string, string[]> = {
  string: ["set", "incr", "incrbyfloat", "del", "expire", "persist"],
  set: ["sadd", "srem", "del", "expire"],
  hash: ["hset", "hdel", "hincrby", "hincrbyfloat", "del"],
  zset: ["zadd", "zrem", "zincrby", "del"],
  list: ["lpush", "rpush", "lpop", "linsert", "lset", "del", "expire", "ttl-remove"],
  "every type (type conflicts)": Object.keys(WRITES),
};

const NODES = ["A", "B", "C"];

/** A history: local writes, some followed by the delivery of an earlier delta to another replica. */
const history = (kinds: string[], maxOps: number) => fc.array(fc.record({
  op: fc.record({ r: fc.nat(NODES.length - 1), kind: fc.constantFrom(...kinds), m: fc.nat(MEMBERS.length - 1), v: fc.nat(9), tick: fc.nat(2) }),
  deliver: fc.option(fc.record({ to: fc.nat(NODES.length - 1), which: fc.nat() }), { freq: 2 }),
}), { minLength: 1, maxLength: maxOps });

type History = fc.Arbitrary<{ op: Op; deliver: { to: number; which: number } | null }[]> extends fc.Arbitrary<infer T> ? T : never;

interface Run { replicas: Replica[]; sent: { from: number; d: KeyState }[] }

function play(h: History): Run {
  const clock = { now: 0 };
  const replicas = NODES.map((id) => new Replica(id, clock));
  const sent: { from: number; d: KeyState }[] = [];
  for (const { op, deliver } of h) {
    clock.now += op.tick;
    const r = replicas[op.r];
    sent.push({ from: op.r, d: r.apply(WRITES[op.kind](r, op)) });
    if (deliver) {
      const x = sent[deliver.which % sent.length];
      if (x.from !== deliver.to) replicas[deliver.to].receive(x.d);
    }
  }
  return { replicas, sent };
}

/** Reachable states: each replica's, and the deltas (a delta is a state too: gossip joins it). */
function pool(run: Run): KeyState[] {
  return [...run.replicas.map((r) => r.s), ...run.sent.map((x) => x.d)];
}

const RUNS = 400;

for (const [family, kinds] of Object.entries(FAMILIES)) {
  describe(`merge laws: ${family}`, () => {
    const threeStates = history(kinds, 30).chain((h) => {
      const n = pool(play(h)).length;
      return fc.tuple(fc.constant(h), fc.nat(n - 1), fc.nat(n - 1), fc.nat(n - 1));
    });

    it("join is commutative: a ⊔ b = b ⊔ a", () => {
      fc.assert(fc.property(threeStates, ([h, i, j]) => {
        const p = pool(play(h));
        return enc(join(p[i], p[j])) === enc(join(p[j], p[i])) && seen(join(p[i], p[j])) === seen(join(p[j], p[i]));
      }), fcParams(RUNS));
    });

    it("join is associative: (a ⊔ b) ⊔ c = a ⊔ (b ⊔ c)", () => {
      fc.assert(fc.property(threeStates, ([h, i, j, k]) => {
        const p = pool(play(h));
        return enc(join(join(p[i], p[j]), p[k])) === enc(join(p[i], join(p[j], p[k])));
      }), fcParams(RUNS));
    });

    it("join is idempotent: a ⊔ a = a, (a ⊔ b) ⊔ b = a ⊔ b", () => {
      fc.assert(fc.property(threeStates, ([h, i, j]) => {
        const p = pool(play(h));
        return enc(join(p[i], p[i])) === enc(p[i]) && enc(join(join(p[i], p[j]), p[j])) === enc(join(p[i], p[j]));
      }), fcParams(RUNS));
    });

    it("replicas receiving every delta in any order, with duplicates, converge", () => {
      const orders = fc.array(fc.array(fc.nat(), { minLength: 1, maxLength: 40 }), { minLength: NODES.length, maxLength: NODES.length });
      fc.assert(fc.property(history(kinds, 30), orders, fc.array(fc.nat(), { maxLength: 6 }), (h, keys, dups) => {
        const run = play(h);
        const all = [...run.sent, ...dups.map((i) => run.sent[i % run.sent.length])];
        run.replicas.forEach((r, ri) => {
          const key = (i: number) => keys[ri][i % keys[ri].length] * 1000 + i;
          const order = all.map((_, i) => i).sort((x, y) => key(x) - key(y));
          for (const i of order) if (all[i].from !== ri) r.receive(all[i].d);
        });
        const want = enc(run.replicas[0].s);
        const looks = seen(run.replicas[0].s);
        return run.replicas.every((r) => enc(r.s) === want && seen(r.s) === looks);
      }), fcParams(RUNS));
    });

    it("a state decodes to the state it was encoded from", () => {
      fc.assert(fc.property(threeStates, ([h, i]) => {
        const s = pool(play(h))[i];
        return enc(decodeKeyState(encodeKeyState(s))) === enc(s);
      }), fcParams(RUNS / 4));
    });
  });
}

describe("list order cache (seq.ts)", () => {
  it("the order kept up to date across joins always equals a fresh sort of the elements", () => {
    const ids = (s: KeyState) => seqOrder(s.list, s.floor).map((e) => `${elemId(e.ts, e.node)}=${e.v}`);
    fc.assert(fc.property(history(FAMILIES.list, 40), (h) => {
      const clock = { now: 0 };
      const replicas = NODES.map((id) => new Replica(id, clock));
      const sent: { from: number; d: KeyState }[] = [];
      for (const { op, deliver } of h) {
        clock.now += op.tick;
        for (const r of replicas) ids(r.s); // every replica's order is cached from here on
        const r = replicas[op.r];
        sent.push({ from: op.r, d: r.apply(WRITES[op.kind](r, op)) });
        if (deliver) { const x = sent[deliver.which % sent.length]; if (x.from !== deliver.to) replicas[deliver.to].receive(x.d); }
        for (const o of replicas) if (JSON.stringify(ids(o.s)) !== JSON.stringify(ids(copyKeyState(o.s)))) return false;
      }
      return true;
    }), fcParams(RUNS / 2));
  });
});
