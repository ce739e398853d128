// Linearizability checker: Wing & Gong's search with Lowe's memoisation, as Porcupine does it.
//
// A history is linearizable when each operation can be given one instant between its
// invocation and its completion so that, in that order, the operations are a legal run of
// the sequential model. Ops on different keys never constrain each other (linearizability is
// compositional), so the history is split by key and each part searched alone.
//
// The search walks a list of call/return events in time order and tries to linearize the
// earliest pending calls first; when it reaches the return of an op it has not placed, it
// backtracks. The memo is the pair (set of linearized ops, model state): reaching the same
// pair twice means the same future, so it is pruned. An op that never completed returns at
// +∞: it may be linearized anywhere after its call, and last means "never took effect".
//
// On a violation the failing part is shrunk to a small fragment that is still not
// linearizable, using only changes that can never create a violation (cut the history at a
// time, leaving in-flight ops open; remove ops the model says are droppable), so the
// fragment shows the real anomaly.
import type { Operation } from "./history.js";
import type { Model } from "./models.js";

export type Verdict = "ok" | "illegal" | "unknown";

export interface CheckOptions {
  /** Give up on one key (verdict "unknown") after this long. Default 10 s. */
  timeoutMs?: number;
  /** Time the minimiser may spend per failing key. Default 3 s. */
  minimizeMs?: number;
}

export interface PartitionResult<S, I, O> {
  key: string;
  verdict: Verdict;
  /** Ops checked (after dropping failed ops and reads that never completed). */
  ops: number;
  /** For "illegal": the smallest failing fragment found. */
  fragment?: Operation<I, O>[];
  /** For "illegal": the longest linearization of the fragment's ops the search found… */
  partial?: Operation<I, O>[];
  /** …and the model state after it: no remaining op can go next from there. */
  stateAfterPartial?: S;
}

export interface CheckResult<S, I, O> {
  model: string;
  verdict: Verdict;
  ops: number;
  partitions: PartitionResult<S, I, O>[];
  ms: number;
}

/** Checks a whole history (all keys) against one model. */
export function checkHistory<S, I, O>(model: Model<S, I, O>, history: Operation<I, O>[], opts: CheckOptions = {}): CheckResult<S, I, O> {
  const t0 = performance.now();
  const byKey = new Map<string, Operation<I, O>[]>();
  for (const op of history) {
    let part = byKey.get(op.key);
    if (!part) byKey.set(op.key, (part = []));
    part.push(op);
  }
  const partitions: PartitionResult<S, I, O>[] = [];
  let ops = 0;
  for (const [key, part] of byKey) {
    const r = checkKey(model, key, part, opts);
    ops += r.ops;
    partitions.push(r);
  }
  const verdict: Verdict = partitions.some((p) => p.verdict === "illegal")
    ? "illegal"
    : partitions.some((p) => p.verdict === "unknown")
      ? "unknown"
      : "ok";
  return { model: model.name, verdict, ops, partitions, ms: performance.now() - t0 };
}

/** Checks the ops of one key. */
export function checkKey<S, I, O>(model: Model<S, I, O>, key: string, ops: Operation<I, O>[], opts: CheckOptions = {}): PartitionResult<S, I, O> {
  const relevant = prepare(model, ops);
  const deadline = performance.now() + (opts.timeoutMs ?? 10_000);
  const r = search(model, relevant, deadline);
  if (r.verdict !== "illegal") return { key, verdict: r.verdict, ops: relevant.length };
  const fragment = minimize(model, relevant, performance.now() + (opts.minimizeMs ?? 3000));
  const again = search(model, fragment, Infinity);
  return {
    key,
    verdict: "illegal",
    ops: relevant.length,
    fragment,
    partial: again.partial,
    stateAfterPartial: again.stateAfterPartial,
  };
}

/** Drops what cannot matter: ops that failed with no effect, and reads that never answered. */
function prepare<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[]): Operation<I, O>[] {
  return ops.filter((op) => !op.failed && !(op.ret === undefined && model.readOnly(op.input)));
}

// ---- the search -------------------------------------------------------------------------

interface Node<I, O> {
  /** Index of the op in the partition; -1 for the list head. */
  id: number;
  /** For a call event: its return event. Undefined for return events. */
  match?: Node<I, O>;
  op?: Operation<I, O>;
  prev?: Node<I, O>;
  next?: Node<I, O>;
}

interface SearchResult<S, I, O> {
  verdict: Verdict;
  partial?: Operation<I, O>[];
  stateAfterPartial?: S;
}

function buildList<I, O>(ops: Operation<I, O>[]): Node<I, O> {
  type Ev = { time: number; isCall: boolean; node: Node<I, O> };
  const evs: Ev[] = [];
  ops.forEach((op, id) => {
    const ret: Node<I, O> = { id, op };
    const call: Node<I, O> = { id, op, match: ret };
    evs.push({ time: op.call, isCall: true, node: call });
    evs.push({ time: op.ret ?? Infinity, isCall: false, node: ret });
  });
  // At equal times calls come first: two ops that touch at an instant may be concurrent.
  evs.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Node<I, O> = { id: -1 };
  let prev = head;
  for (const e of evs) {
    prev.next = e.node;
    e.node.prev = prev;
    prev = e.node;
  }
  return head;
}

/** Takes a call event and its return out of the list (the op is linearized). */
function lift<I, O>(call: Node<I, O>): void {
  call.prev!.next = call.next;
  call.next!.prev = call.prev;
  const ret = call.match!;
  ret.prev!.next = ret.next;
  if (ret.next) ret.next.prev = ret.prev;
}

/** Puts them back, in reverse order of lift. */
function unlift<I, O>(call: Node<I, O>): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next) ret.next.prev = ret;
  call.prev!.next = call;
  call.next!.prev = call;
}

class Bitset {
  readonly words: Uint32Array;
  constructor(n: number, words?: Uint32Array) {
    this.words = words ?? new Uint32Array((n + 31) >>> 5);
  }
  with(i: number): Bitset {
    const w = this.words.slice();
    w[i >>> 5] |= 1 << (i & 31);
    return new Bitset(0, w);
  }
  set(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5] &= ~(1 << (i & 31));
  }
  hash(): number {
    let h = 0x811c9dc5;
    for (const w of this.words) h = Math.imul(h ^ w, 0x01000193);
    return h >>> 0;
  }
  equals(o: Bitset): boolean {
    const a = this.words;
    const b = o.words;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
}

function search<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], deadline: number): SearchResult<S, I, O> {
  if (ops.length === 0) return { verdict: "ok" };
  const head = buildList(ops);
  let linearized = new Bitset(ops.length);
  // memo: (linearized set, state hash) pairs already explored
  const memo = new Map<string, Bitset[]>();
  const calls: { node: Node<I, O>; state: S }[] = [];
  let best: { node: Node<I, O>; state: S }[] = [];
  let bestState = model.init();
  let state = model.init();
  let node = head.next;
  let steps = 0;
  while (head.next) {
    if ((++steps & 0x3ff) === 0 && performance.now() > deadline) return { verdict: "unknown" };
    if (node!.match) {
      const op = node!.op!;
      const next = model.step(state, op.input, op.ret === undefined ? undefined : op.output);
      if (next !== undefined) {
        const lin = linearized.with(node!.id);
        const key = `${lin.hash()}\u0000${model.hash(next)}`;
        const seen = memo.get(key);
        if (!seen || !seen.some((b) => b.equals(lin))) {
          if (seen) seen.push(lin);
          else memo.set(key, [lin]);
          calls.push({ node: node!, state });
          state = next;
          linearized = lin;
          lift(node!);
          node = head.next;
          continue;
        }
      }
      node = node!.next;
    } else {
      // Reached the return of an op not yet placed: this branch is dead, backtrack.
      if (calls.length > best.length) {
        best = calls.slice();
        bestState = state;
      }
      const top = calls.pop();
      if (!top) {
        return { verdict: "illegal", partial: best.map((c) => c.node.op!), stateAfterPartial: bestState };
      }
      state = top.state;
      linearized = new Bitset(0, linearized.words.slice());
      linearized.clear(top.node.id);
      unlift(top.node);
      node = top.node.next;
    }
  }
  return { verdict: "ok" };
}

// ---- shrinking a violation ---------------------------------------------------------------

/** The ops invoked by time t; those still in flight at t lose their outcome (unknown). */
function prefixAt<I, O>(ops: Operation<I, O>[], t: number): Operation<I, O>[] {
  const out: Operation<I, O>[] = [];
  for (const op of ops) {
    if (op.call > t) continue;
    if (op.ret !== undefined && op.ret <= t) out.push(op);
    else out.push({ ...op, ret: undefined, output: undefined, note: "in flight at the cut: outcome unknown" });
  }
  return out;
}

function minimize<S, I, O>(model: Model<S, I, O>, ops: Operation<I, O>[], deadline: number): Operation<I, O>[] {
  const illegal = (h: Operation<I, O>[]) => search(model, prepare(model, h), deadline + 5000).verdict === "illegal";
  // 1. The earliest cut that already fails: a prefix of a linearizable history is
  //    linearizable, so failing is monotone in the cut time and binary search finds it.
  const times = [...new Set(ops.filter((o) => o.ret !== undefined).map((o) => o.ret!))].sort((a, b) => a - b);
  let cur = ops;
  let lo = 0;
  let hi = times.length - 1;
  if (hi >= 0 && illegal(prefixAt(ops, times[hi]))) {
    while (lo < hi && performance.now() < deadline) {
      const mid = (lo + hi) >>> 1;
      if (illegal(prefixAt(ops, times[mid]))) hi = mid;
      else lo = mid + 1;
    }
    cur = prepare(model, prefixAt(ops, times[hi]));
  }
  // 2. Remove ops in shrinking chunks (ddmin-style), keeping the failure. From a chunk only
  //    the droppable part goes: the read-only ops, then the writes nothing left observes.
  for (let size = Math.max(1, cur.length >> 1); size >= 1 && performance.now() < deadline; size >>= 1) {
    for (let i = 0; i < cur.length && performance.now() < deadline; ) {
      const chunk = new Set(cur.slice(i, i + size).filter((op) => model.readOnly(op.input)));
      let rest = cur.filter((op) => !chunk.has(op));
      for (const op of cur.slice(i, i + size)) if (!chunk.has(op) && model.droppable(op, rest)) chunk.add(op);
      rest = cur.filter((op) => !chunk.has(op));
      if (chunk.size > 0 && [...chunk].every((op) => model.droppable(op, rest)) && illegal(rest)) {
        // the ops before i that stayed are still at their places; continue after them
        i = cur.slice(0, i).filter((op) => !chunk.has(op)).length;
        cur = rest;
      } else i += size;
    }
  }
  return cur;
}
