// Exhaustive small-scope checking of the CRDT merges (src/replication/key-state.ts), in the
// spirit of Stateright / TLC: every history of up to N local operations on 2–3 replicas —
// which replica runs which operation, and which of the other replicas' deltas it has
// received by then — explored depth-first with a visited set. Between two local operations
// a replica receives any subset of the deltas in flight to it (delivering a set in one order
// suffices: the order within it is covered by the commutativity check below). It checks:
//
//   * convergence at quiescence: every replica receives what it lacks (in increasing op
//     order; the first replica also in decreasing order), and every resulting state is
//     byte-identical (encodeKeyState), whatever each replica had received before; then
//     receiving every delta once more (gossip duplicates) changes nothing (idempotence);
//   * the documented semantics at quiescence, for scopes with causal delivery: what a
//     client sees (visible()) equals the specification computed from the operations and
//     what each one had observed when it ran — add-wins sets, last-writer-wins registers
//     among the writes no remove or overwrite observed, counters that keep the increments
//     no reset observed. (Without causal delivery a remove can miss an add that an op it
//     did see had seen, so only convergence is asserted there.)
//
// A scope is small on purpose (the small-scope hypothesis: most merge bugs show with two or
// three replicas and a handful of operations), and the whole run stays fast enough for CI.
import { encodeKeyState } from "../replication/codec.js";
import { compareStamp } from "../replication/hlc.js";
import {
  copyKeyState, delDelta, elemRemoveDelta, elemWriteDelta, emptyKeyState, hincrDelta, incrDelta, joinInto, maxStamp,
  setStringDelta, ttlDelta, visible, zincrDelta, incrUnitsDelta, listEditDelta, type KeyState, type ListEdit,
} from "../replication/key-state.js";
import { elemId, seqOrder } from "../replication/seq.js";
import { SCALE, formatUnits, parseDecimal, toUnits } from "../replication/decimal.js";
import { gcKeyState, type Stable } from "../replication/gc.js";

/** Everything stable: what tombstone GC may do once every replica has seen every op. */
const ALL_STABLE: Stable = () => Number.MAX_SAFE_INTEGER;

/** One operation of a scope's alphabet: makes the delta of running it on replica `node`. */
export interface OpKind {
  label: string;
  delta(s: KeyState, node: string, ts: number): KeyState;
}

/** An operation as it ran: on which replica, at what timestamp, having observed which ops. */
export interface IssuedOp {
  id: number;
  node: string;
  kind: OpKind;
  ts: number;
  observed: Set<number>;
  delta: KeyState;
}

export interface Scope {
  name: string;
  replicas: number;
  /** Operations in total, over all replicas. */
  maxOps: number;
  alphabet: OpKind[];
  /** What a client must see once every op reached every replica (a canonical string). */
  expected(ops: IssuedOp[]): string;
  /** Deliver only causally (an op after everything it observed). Default true. */
  causal?: boolean;
  /**
   * Instead of comparing with `expected`: checks the quiescent state against the ops and
   * returns what is wrong (lists, whose order is a relation rather than one string).
   */
  check?(ops: IssuedOp[], final: KeyState): string | undefined;
}

export interface ScopeResult {
  scope: string;
  /** Distinct histories explored, and complete ones checked at quiescence. */
  states: number;
  quiescent: number;
  violations: string[];
}

interface Replica {
  id: string;
  state: KeyState;
  clock: number;
  applied: Set<number>;
}

interface World {
  replicas: Replica[];
  ops: IssuedOp[];
}

const enc = (s: KeyState) => encodeKeyState(s).toString("hex");

/** What a client sees at the key, as a canonical string. */
export function seen(s: KeyState): string {
  const v = visible(s);
  if (!v) return "nil";
  return seenValue(v) + (v.expireAt ? ` ttl=${v.expireAt}` : "");
}

function seenValue(v: NonNullable<ReturnType<typeof visible>>): string {
  const lat = (b: Buffer) => b.toString("latin1");
  switch (v.type) {
    case "string":
      return `string:${lat(v.value)}`;
    case "list":
      return `list:${v.value.map(lat).join(",")}`;
    case "set":
      return `set:${v.value.map(lat).sort().join(",")}`;
    case "hash":
      return `hash:${v.value.map(([f, x]) => `${lat(f)}=${lat(x)}`).sort().join(",")}`;
    case "zset":
      return `zset:${v.value.map(([m, x]) => `${lat(m)}=${x}`).sort().join(",")}`;
  }
}

function worldKey(w: World): string {
  const ops = w.ops.map((o) => `${o.node}${o.kind.label}@${o.ts}<${[...o.observed].sort().join(".")}>`).join(";");
  const reps = w.replicas.map((r) => `${r.clock}/${[...r.applied].sort().join(".")}`).join("|");
  return `${ops}#${reps}`;
}

function cloneReplica(r: Replica): Replica {
  return { ...r, state: copyKeyState(r.state), applied: new Set(r.applied) };
}

/** The subsets of xs (xs is small: at most a few deltas are in flight to one replica). */
function subsets<T>(xs: T[]): T[][] {
  const out: T[][] = [[]];
  for (const x of xs) for (const s of out.slice()) out.push([...s, x]);
  return out;
}

export function describeHistory(ops: IssuedOp[]): string {
  return ops
    .map((o, i) => `#${i} ${o.node}:${o.kind.label}@${o.ts}${o.observed.size ? ` (saw ${[...o.observed].sort().map((x) => `#${x}`).join(",")})` : ""}`)
    .join("; ");
}

export function checkScope(scope: Scope): ScopeResult {
  const causal = scope.causal ?? true;
  const names = ["A", "B", "C", "D", "E"].slice(0, scope.replicas);
  const violations: string[] = [];
  const visited = new Set<string>();
  let quiescent = 0;

  const deliver = (r: Replica, op: IssuedOp) => {
    joinInto(r.state, op.delta);
    r.applied.add(op.id);
    r.clock = Math.max(r.clock, maxStamp(op.delta));
  };

  const finish = (w: World) => {
    quiescent++;
    const results: string[] = [];
    const finals: Replica[] = [];
    w.replicas.forEach((r, ri) => {
      const missing = w.ops.filter((o) => !r.applied.has(o.id));
      // Every replica from its own state in increasing op order; the first also in decreasing
      // order, and then receives everything again (gossip duplicates: idempotence).
      const orders = ri === 0 && missing.length > 1 ? [missing, [...missing].reverse()] : [missing];
      for (const order of orders) {
        const f = cloneReplica(r);
        for (const op of order) deliver(f, op);
        const e = enc(f.state);
        results.push(e);
        finals.push(f);
        if (ri !== 0) continue;
        for (const op of w.ops) joinInto(f.state, op.delta);
        if (enc(f.state) !== e) violations.push(`${scope.name}: ${r.id} changed on receiving deltas twice — ${describeHistory(w.ops)}`);
      }
    });
    if (results.some((x) => x !== results[0])) {
      violations.push(`${scope.name}: replicas differ after receiving every delta — ${describeHistory(w.ops)}`);
      return;
    }
    // Tombstone GC at quiescence (every op stable) must not change what clients see, and a
    // replica that collected must stay collected when an uncollected copy reaches it.
    const collected = copyKeyState(finals[0].state);
    const gc = gcKeyState(collected, ALL_STABLE);
    if ((gc === "drop" ? "nil" : seen(collected)) !== seen(finals[0].state)) {
      violations.push(`${scope.name}: garbage collection changed what clients see — ${describeHistory(w.ops)}`);
    } else if (gc !== "drop") {
      const again = copyKeyState(collected);
      joinInto(again, finals[0].state);
      gcKeyState(again, ALL_STABLE);
      if (enc(again) !== enc(collected)) violations.push(`${scope.name}: collected state changed on re-receiving tombstones — ${describeHistory(w.ops)}`);
    }
    if (!causal) return;
    if (scope.check) {
      const wrong = scope.check(w.ops, finals[0].state);
      if (wrong) violations.push(`${scope.name}: ${wrong} — ${describeHistory(w.ops)}`);
      return;
    }
    const want = scope.expected(w.ops);
    const got = seen(finals[0].state);
    if (got !== want) violations.push(`${scope.name}: clients see ${got}, the specification says ${want} — ${describeHistory(w.ops)}`);
  };

  const explore = (w: World) => {
    if (violations.length >= 5) return;
    const k = worldKey(w);
    if (visited.has(k)) return;
    visited.add(k);
    if (w.ops.length === scope.maxOps) return finish(w);
    w.replicas.forEach((r, ri) => {
      const pending = w.ops.filter((o) => !r.applied.has(o.id));
      for (const batch of subsets(pending)) {
        if (causal) {
          const has = new Set([...r.applied, ...batch.map((o) => o.id)]);
          if (batch.some((o) => [...o.observed].some((x) => !has.has(x)))) continue;
        }
        for (const kind of scope.alphabet) {
          const rep = cloneReplica(r);
          for (const op of batch) deliver(rep, op);
          const ts = rep.clock + 1;
          rep.clock = ts;
          const delta = kind.delta(rep.state, rep.id, ts);
          const op: IssuedOp = { id: w.ops.length, node: rep.id, kind, ts, observed: new Set(rep.applied), delta };
          const ops = [...w.ops, op];
          deliver(rep, op);
          const replicas = w.replicas.slice();
          replicas[ri] = rep;
          explore({ replicas, ops });
        }
      }
    });
  };

  explore({ replicas: names.map((id) => ({ id, state: emptyKeyState(), clock: 0, applied: new Set() })), ops: [] });
  return { scope: scope.name, states: visited.size, quiescent, violations };
}

// ---- specifications ------------------------------------------------------------------------

/** `a` observed by some op in `by`. */
const observedBy = (a: IssuedOp, by: IssuedOp[]) => by.some((o) => o.observed.has(a.id));
const lwwMax = (ops: IssuedOp[]) =>
  ops.reduce<IssuedOp | undefined>((best, o) => (!best || compareStamp(o.ts, o.node, best.ts, best.node) > 0 ? o : best), undefined);

/** Strings and counters: SET v / INCRBY n / DEL. */
export function stringSpec(ops: IssuedOp[]): string {
  const sets = ops.filter((o) => o.kind.label.startsWith("SET"));
  const resets = ops.filter((o) => o.kind.label.startsWith("SET") || o.kind.label === "DEL");
  const aliveSets = sets.filter((s) => !observedBy(s, resets.filter((r) => r !== s)));
  const incrs = ops.filter((o) => o.kind.label.startsWith("INCRBY") && !observedBy(o, resets));
  const winner = lwwMax(aliveSets);
  const base = winner ? winner.kind.label.slice(4) : undefined;
  if (incrs.length === 0) return base === undefined ? "nil" : `string:${base}`;
  const sum = incrs.reduce((s, o) => s + BigInt(o.kind.label.slice(7)), 0n);
  return `string:${BigInt(base ?? "0") + sum}`;
}

/** Sets: SADD m / SREM m / DEL — add-wins: present iff some add was seen by no remove. */
export function setSpec(ops: IssuedOp[]): string {
  const members = new Set<string>();
  for (const a of ops.filter((o) => o.kind.label.startsWith("SADD"))) {
    const m = a.kind.label.slice(5);
    const removes = ops.filter((o) => o.kind.label === `SREM ${m}` || o.kind.label === "DEL");
    if (!observedBy(a, removes)) members.add(m);
  }
  return members.size ? `set:${[...members].sort().join(",")}` : "nil";
}

/** Hashes / sorted sets: <WRITE> field value / <REMOVE> field / DEL — per field, LWW among writes no later write or remove saw. */
export function fieldSpec(type: "hash" | "zset", write: string, remove: string) {
  return (ops: IssuedOp[]): string => {
    const out: string[] = [];
    const fields = new Set(ops.filter((o) => o.kind.label.startsWith(write)).map((o) => o.kind.label.split(" ")[1]));
    for (const f of fields) {
      const writes = ops.filter((o) => o.kind.label.startsWith(`${write} ${f} `));
      const killers = ops.filter((o) => o.kind.label.startsWith(`${write} ${f} `) || o.kind.label === `${remove} ${f}` || o.kind.label === "DEL");
      const alive = writes.filter((w) => !observedBy(w, killers.filter((k) => k !== w)));
      const win = lwwMax(alive);
      if (win) out.push(`${f}=${win.kind.label.split(" ")[2]}`);
    }
    return out.length ? `${type}:${out.sort().join(",")}` : "nil";
  };
}

/** One hash field written by HSET f v / HINCRBY f n / HDEL f / DEL: as a string counter, per field. */
export function hashCounterSpec(ops: IssuedOp[]): string {
  const sets = ops.filter((o) => o.kind.label.startsWith("HSET"));
  const resets = ops.filter((o) => o.kind.label.startsWith("HSET") || o.kind.label.startsWith("HDEL") || o.kind.label === "DEL");
  const alive = sets.filter((w) => !observedBy(w, resets.filter((r) => r !== w)));
  const incrs = ops.filter((o) => o.kind.label.startsWith("HINCRBY") && !observedBy(o, resets));
  const win = lwwMax(alive);
  const base = win?.kind.label.split(" ")[2];
  if (incrs.length === 0) return base === undefined ? "nil" : `hash:f=${base}`;
  const sum = incrs.reduce((t, o) => t + BigInt(o.kind.label.split(" ")[2]), 0n);
  return `hash:f=${BigInt(base ?? "0") + sum}`;
}

/** One zset member written by ZADD m s / ZINCRBY m n / ZREM m / DEL: the ZADD winner (0 if
 * none) plus the increments no ZADD, ZREM or DEL observed. */
export function zsetCounterSpec(ops: IssuedOp[]): string {
  const adds = ops.filter((o) => o.kind.label.startsWith("ZADD"));
  const resets = ops.filter((o) => o.kind.label.startsWith("ZADD") || o.kind.label.startsWith("ZREM") || o.kind.label === "DEL");
  const alive = adds.filter((w) => !observedBy(w, resets.filter((r) => r !== w)));
  const incrs = ops.filter((o) => o.kind.label.startsWith("ZINCRBY") && !observedBy(o, resets));
  const win = lwwMax(alive);
  const base = win ? Number(win.kind.label.split(" ")[2]) : undefined;
  if (incrs.length === 0) return base === undefined ? "nil" : `zset:m=${base}`;
  return `zset:m=${incrs.reduce((t, o) => t + Number(o.kind.label.split(" ")[2]), base ?? 0)}`;
}

/** Strings with TTLs: SET v / EXPIREAT t / PERSIST. Of the TTL writes no later TTL write or
 * SET observed, a PERSIST wins, else the longest; a SET drops the TTLs it saw. */
export function ttlSpec(ops: IssuedOp[]): string {
  const value = stringSpec(ops);
  if (value === "nil") return value;
  const ttls = ops.filter((o) => o.kind.label.startsWith("EXPIREAT") || o.kind.label === "PERSIST");
  const killers = [...ttls, ...ops.filter((o) => o.kind.label.startsWith("SET") || o.kind.label === "DEL")];
  const alive = ttls.filter((t) => !observedBy(t, killers.filter((k) => k !== t)));
  if (alive.length === 0 || alive.some((t) => t.kind.label === "PERSIST")) return value;
  return `${value} ttl=${Math.max(...alive.map((t) => Number(t.kind.label.split(" ")[1])))}`;
}

/** Float counters: SET v / INCRBYFLOAT n / DEL, as stringSpec with exact decimal sums. */
export function floatCounterSpec(ops: IssuedOp[]): string {
  const sets = ops.filter((o) => o.kind.label.startsWith("SET"));
  const resets = ops.filter((o) => o.kind.label.startsWith("SET") || o.kind.label === "DEL");
  const aliveSets = sets.filter((x) => !observedBy(x, resets.filter((r) => r !== x)));
  const incrs = ops.filter((o) => o.kind.label.startsWith("INCR") && !observedBy(o, resets));
  const winner = lwwMax(aliveSets);
  const base = winner ? winner.kind.label.slice(4) : undefined;
  if (incrs.length === 0) return base === undefined ? "nil" : `string:${base}`;
  const units = (t: string) => toUnits(parseDecimal(t)!);
  const sum = incrs.reduce((t, o) => t + units(o.kind.label.split(" ")[1]), units(base ?? "0"));
  const integral = INTEGER.test(base ?? "0") && incrs.every((o) => o.kind.label.startsWith("INCRBY "));
  return `string:${integral ? String(sum / SCALE) : formatUnits(sum)}`;
}
const INTEGER = /^-?\d+$/;

/**
 * Lists: RPUSH v / LPUSH v / LPOP / RPOP / LSET0 v / DEL. At quiescence the list holds
 * exactly the pushed elements that no pop removed and no DEL observed, each with the value
 * of its latest LSET (or its push); a push that observed another element is after it
 * (RPUSH) or before it (LPUSH).
 */
export function checkList(ops: IssuedOp[], final: KeyState): string | undefined {
  const dels = ops.filter((o) => o.kind.label === "DEL");
  const removedBy = new Map<string, IssuedOp>();
  const setTo = new Map<string, IssuedOp>();
  for (const o of ops) {
    for (const [id, e] of o.delta.list.elems) {
      if (e.rts === o.ts && e.rnode === o.node) removedBy.set(id, o);
      if (o.kind.label.startsWith("LSET") && e.vts === o.ts && e.vnode === o.node) {
        const cur = setTo.get(id);
        if (!cur || compareStamp(o.ts, o.node, cur.ts, cur.node) > 0) setTo.set(id, o);
      }
    }
  }
  const pushes = ops.filter((o) => o.kind.label.startsWith("RPUSH") || o.kind.label.startsWith("LPUSH"));
  const want = new Map<string, string>();
  for (const p of pushes) {
    const id = elemId(p.ts, p.node);
    if (removedBy.has(id) || observedBy(p, dels)) continue;
    want.set(id, (setTo.get(id) ?? p).kind.label.split(" ")[1]);
  }
  const order = seqOrder(final.list, final.floor);
  const got = new Map(order.map((e) => [elemId(e.ts, e.node), e.v.toString("latin1")]));
  const show = (m: Map<string, string>) => [...m].map(([id, v]) => `${v}(${id.replace("\u0000", "@")})`).sort().join(",");
  if (show(got) !== show(want)) return `the list holds ${show(got) || "nothing"}, the specification says ${show(want) || "nothing"}`;
  const at = new Map(order.map((e, i) => [elemId(e.ts, e.node), i]));
  for (const q of pushes) {
    const qi = at.get(elemId(q.ts, q.node));
    if (qi === undefined) continue;
    for (const p of pushes) {
      const pi = at.get(elemId(p.ts, p.node));
      if (p === q || pi === undefined || !q.observed.has(p.id)) continue;
      if (q.kind.label.startsWith("RPUSH") ? pi > qi : pi < qi) return `${q.kind.label} (#${q.id}) is on the wrong side of ${p.kind.label} (#${p.id}), which it saw`;
    }
  }
  return undefined;
}

// ---- the scopes CI runs ---------------------------------------------------------------------

const b = (s: string) => Buffer.from(s, "latin1");
const SET = (v: string): OpKind => ({ label: `SET ${v}`, delta: (s, n, ts) => setStringDelta(s, n, ts, b(v)) });
const EXPIREAT = (at: number): OpKind => ({ label: `EXPIREAT ${at}`, delta: (s, n, ts) => ttlDelta(s, n, ts, at) });
const PERSIST: OpKind = { label: "PERSIST", delta: (s, n, ts) => ttlDelta(s, n, ts, 0) };
const INCRBY = (by: number): OpKind => ({ label: `INCRBY ${by}`, delta: (s, n, ts) => incrDelta(s, n, ts, BigInt(by)) });
const DEL: OpKind = { label: "DEL", delta: (s, n, ts) => delDelta(s, n, ts) };
const SADD = (m: string): OpKind => ({ label: `SADD ${m}`, delta: (s, n, ts) => elemWriteDelta(s, "set", m, n, ts, true) });
const SREM = (m: string): OpKind => ({ label: `SREM ${m}`, delta: (s, n, ts) => elemRemoveDelta(s, "set", m, n, ts) });
const HSET = (f: string, v: string): OpKind => ({ label: `HSET ${f} ${v}`, delta: (s, n, ts) => elemWriteDelta(s, "hash", f, n, ts, b(v)) });
const HDEL = (f: string): OpKind => ({ label: `HDEL ${f}`, delta: (s, n, ts) => elemRemoveDelta(s, "hash", f, n, ts) });
const HINCRBY = (f: string, by: number): OpKind => ({ label: `HINCRBY ${f} ${by}`, delta: (s, n, ts) => hincrDelta(s, f, n, ts, BigInt(by)) });
const ZADD = (m: string, score: number): OpKind => ({ label: `ZADD ${m} ${score}`, delta: (s, n, ts) => elemWriteDelta(s, "zset", m, n, ts, score) });
const ZREM = (m: string): OpKind => ({ label: `ZREM ${m}`, delta: (s, n, ts) => elemRemoveDelta(s, "zset", m, n, ts) });
const ZINCRBY = (m: string, by: number): OpKind => ({ label: `ZINCRBY ${m} ${by}`, delta: (s, n, ts) => zincrDelta(s, m, n, ts, by) });

const INCRBYFLOAT = (by: string): OpKind => ({ label: `INCRBYFLOAT ${by}`, delta: (s, n, ts) => incrUnitsDelta(s, n, ts, toUnits(parseDecimal(by)!)) });
const endId = (s: KeyState, end: "head" | "tail"): string => {
  const o = seqOrder(s.list, s.floor);
  const e = end === "head" ? o[0] : o[o.length - 1];
  return e ? elemId(e.ts, e.node) : "";
};
const listOp = (label: string, edit: (s: KeyState) => ListEdit | undefined): OpKind => ({
  label,
  delta: (s, n, ts) => { const e = edit(s); return e ? listEditDelta(s, n, () => ts, e) : emptyKeyState(); },
});
const RPUSH = (v: string) => listOp(`RPUSH ${v}`, (s) => ({ removed: [], set: [], inserted: [{ after: endId(s, "tail"), before: "", values: [b(v)] }] }));
const LPUSH = (v: string) => listOp(`LPUSH ${v}`, (s) => ({ removed: [], set: [], inserted: [{ after: "", before: endId(s, "head"), values: [b(v)] }] }));
const LPOP = listOp("LPOP", (s) => (endId(s, "head") ? { removed: [endId(s, "head")], set: [], inserted: [] } : undefined));
const RPOP = listOp("RPOP", (s) => (endId(s, "tail") ? { removed: [endId(s, "tail")], set: [], inserted: [] } : undefined));
const LSET0 = (v: string) => listOp(`LSET0 ${v}`, (s) => (endId(s, "head") ? { removed: [], set: [[endId(s, "head"), b(v)]], inserted: [] } : undefined));
const LIST = { expected: () => "", check: checkList };

/** The scopes CI runs (a few seconds in all). */
export const SCOPES: Scope[] = [
  { name: "string: SET/DEL, 3 replicas, 3 ops", replicas: 3, maxOps: 3, alphabet: [SET("x"), SET("y"), DEL], expected: stringSpec },
  { name: "counter: INCRBY/SET/DEL, 3 replicas, 3 ops", replicas: 3, maxOps: 3, alphabet: [INCRBY(1), SET("100"), DEL], expected: stringSpec },
  { name: "counter: INCRBY/SET, 2 replicas, 3 ops", replicas: 2, maxOps: 3, alphabet: [INCRBY(1), INCRBY(10), SET("100"), DEL], expected: stringSpec },
  { name: "set: SADD/SREM/DEL, 3 replicas, 3 ops", replicas: 3, maxOps: 3, alphabet: [SADD("a"), SREM("a"), DEL], expected: setSpec },
  { name: "set: SADD/SREM/DEL, 2 replicas, 4 ops", replicas: 2, maxOps: 4, alphabet: [SADD("a"), SREM("a"), DEL], expected: setSpec },
  { name: "hash: HSET/HDEL, 3 replicas, 3 ops", replicas: 3, maxOps: 3, alphabet: [HSET("f", "1"), HSET("f", "2"), HDEL("f")], expected: fieldSpec("hash", "HSET", "HDEL") },
  { name: "hash field counter: HINCRBY/HSET/HDEL, 3 replicas, 3 ops", replicas: 3, maxOps: 3, alphabet: [HINCRBY("f", 1), HSET("f", "100"), HDEL("f")], expected: hashCounterSpec },
  { name: "TTL: SET/EXPIREAT/PERSIST, 3 replicas, 3 ops", replicas: 3, maxOps: 3, alphabet: [SET("x"), EXPIREAT(2000), PERSIST], expected: ttlSpec },
  { name: "TTL: two EXPIREATs, 2 replicas, 3 ops", replicas: 2, maxOps: 3, alphabet: [SET("x"), EXPIREAT(1000), EXPIREAT(2000), PERSIST], expected: ttlSpec },
  { name: "zset: ZADD/ZREM/DEL, 2 replicas, 3 ops", replicas: 2, maxOps: 3, alphabet: [ZADD("m", 1), ZADD("m", 2), ZREM("m"), DEL], expected: fieldSpec("zset", "ZADD", "ZREM") },
  { name: "float counter: INCRBYFLOAT/INCRBY/SET/DEL, 3 replicas, 3 ops", replicas: 3, maxOps: 3, alphabet: [INCRBYFLOAT("0.1"), INCRBY(2), SET("1.5"), DEL], expected: floatCounterSpec },
  { name: "list: RPUSH/LPUSH/LPOP/RPOP, 3 replicas, 3 ops", replicas: 3, maxOps: 3, alphabet: [RPUSH("a"), LPUSH("b"), LPOP, RPOP], ...LIST },
  { name: "list: RPUSH/LPOP/LSET/DEL, 2 replicas, 4 ops", replicas: 2, maxOps: 4, alphabet: [RPUSH("a"), LPOP, LSET0("x"), DEL], ...LIST },
  { name: "zset member counter: ZINCRBY/ZADD/ZREM, 3 replicas, 3 ops", replicas: 3, maxOps: 3, alphabet: [ZINCRBY("m", 1), ZADD("m", 100), ZREM("m")], expected: zsetCounterSpec },
  // Any delivery order (gossip is not causal): convergence only.
  { name: "mixed types, any delivery order, 2 replicas, 3 ops", replicas: 2, maxOps: 3, alphabet: [SET("x"), INCRBY(2), SADD("a"), HSET("f", "1"), DEL], expected: () => "", causal: false },
  { name: "set: SADD/SREM, any delivery order, 3 replicas, 3 ops", replicas: 3, maxOps: 3, alphabet: [SADD("a"), SREM("a")], expected: setSpec, causal: false },
];

/** Larger scopes (about two minutes on a loaded 2-core machine): MERGE_CHECK_LARGE=1. */
export const LARGE_SCOPES: Scope[] = [
  { name: "string: SET/DEL, 2 replicas, 4 ops", replicas: 2, maxOps: 4, alphabet: [SET("x"), SET("y"), DEL], expected: stringSpec },
  { name: "counter: INCRBY/SET/DEL, 2 replicas, 4 ops", replicas: 2, maxOps: 4, alphabet: [INCRBY(1), INCRBY(10), SET("100"), DEL], expected: stringSpec },
  { name: "set: SADD/SREM/DEL, 2 replicas, 4 ops, two members", replicas: 2, maxOps: 4, alphabet: [SADD("a"), SREM("a"), SADD("b"), DEL], expected: setSpec },
  { name: "hash: HSET/HDEL/DEL, 2 replicas, 4 ops", replicas: 2, maxOps: 4, alphabet: [HSET("f", "1"), HSET("f", "2"), HDEL("f"), DEL], expected: fieldSpec("hash", "HSET", "HDEL") },
  { name: "zset: ZADD/ZREM/DEL, 2 replicas, 4 ops", replicas: 2, maxOps: 4, alphabet: [ZADD("m", 1), ZADD("m", 2), ZREM("m"), DEL], expected: fieldSpec("zset", "ZADD", "ZREM") },
  { name: "mixed types, any delivery order, 3 replicas, 3 ops", replicas: 3, maxOps: 3, alphabet: [SET("x"), INCRBY(2), SADD("a"), SREM("a"), HSET("f", "1"), DEL], expected: () => "", causal: false },
];
