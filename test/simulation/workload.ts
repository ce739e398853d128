// The simulation workload and its checker (simulation.test.ts runs it over fixed seeds,
// convergence.property.test.ts over cases fast-check draws): random client operations over
// every replicated type on 3-5 simulated nodes with partitions, message loss, duplication,
// reordering and crashes; after healing, every replica must hold the same state, every
// keyspace must match its CRDT state, and counters / grow-only sets / unique elements must
// match what clients did.
import { SimCluster, type SimNode, type NetworkOptions } from "./cluster.js";
import { DEFAULT_GOSSIP, type GossipOptions } from "../../src/replication/gossip.js";
import { enableBuggify, disableBuggify } from "../../src/util/buggify.js";
import "../../src/replication/faults.js";
import { logSettings } from "../../src/server/log.js";
import { mulberry32 } from "../types/prng.js";

interface Tally {
  counter: Map<string, bigint>;
  /** HINCRBY hcounter f: per incarnation, like counter. */
  hcounter: Map<string, bigint>;
  /** INCRBYFLOAT fcounter (tenths): per incarnation, like counter. */
  fcounter: Map<string, bigint>;
  /** ZINCRBY zcounter by m: per incarnation, like counter. */
  zcounter: Map<string, bigint>;
  grow: Map<string, Set<string>>;
  /** Members of "once": each added once, under a unique name, by one node. */
  onceAdded: string[];
  /** Members of "once" a client removed (SREM replied 1) -> the incarnation that removed it. */
  onceRemoved: Map<string, string>;
  /** Keys "gone-*", each SET once by one node; deleted ones (DEL replied 1) -> the deleting incarnation. */
  goneSet: string[];
  goneDeleted: Map<string, string>;
  /** List "jobs": unique elements RPUSHed by each incarnation, in push order; popped ones -> the popping incarnation. */
  jobsPushed: Map<string, string[]>;
  jobsPopped: Map<string, string>;
}

const KEYS = ["k1", "k2", "k3", "k4"];

function randomOp(c: SimCluster, n: SimNode, tally: Tally): void {
  const k = KEYS[c.int(0, KEYS.length - 1)];
  const m = `m${c.int(0, 5)}`;
  const v = String(c.int(0, 99));
  const ops: (() => unknown)[] = [
    () => n.run("set", k, v),
    () => n.run("incrby", k, v),
    () => n.run("append", k, v),
    () => n.run("del", k),
    () => n.run("sadd", k, m, `m${c.int(0, 5)}`),
    () => n.run("srem", k, m),
    () => n.run("hset", k, m, v),
    () => n.run("hdel", k, m),
    () => n.run("hincrby", k, m, v),
    () => n.run("hincrbyfloat", k, m, "1.5"),
    () => n.run("zadd", k, v, m),
    () => n.run("zincrby", k, v, m),
    () => n.run("zincrby", k, "0.1", m),
    () => n.run("zrem", k, m),
    () => n.run("rpush", k, v),
    () => n.run("lpop", k),
    () => n.run("lpush", k, v, `${v}b`),
    () => n.run("rpop", k),
    () => n.run("linsert", k, c.rand() < 0.5 ? "before" : "after", String(c.int(0, 99)), v),
    () => n.run("lrem", k, String(c.int(-1, 1)), String(c.int(0, 99))),
    () => n.run("lset", k, String(c.int(-2, 1)), v),
    () => n.run("ltrim", k, "0", String(c.int(0, 3))),
    () => n.run("lmove", k, KEYS[c.int(0, KEYS.length - 1)], "left", "right"),
    () => {
      const mine = tally.jobsPushed.get(n.nodeId) ?? [];
      const j = `${n.nodeId}-j${mine.length}`;
      if (typeof n.run("rpush", "jobs", j) !== "number") return; // (refused: -LOADING during a sliced join)
      mine.push(j);
      tally.jobsPushed.set(n.nodeId, mine);
    },
    () => {
      const r = n.run(c.rand() < 0.5 ? "lpop" : "rpop", "jobs");
      if (Buffer.isBuffer(r)) tally.jobsPopped.set(String(r), n.nodeId);
    },
    () => n.run("expire", k, "100000"),
    () => n.run("persist", k),
    () => { n.run("multi"); n.run("incr", k); n.run("sadd", `${k}s`, m); return n.run("exec"); },
    () => {
      const r = n.run("incrby", "counter", v);
      if (typeof r === "number") tally.counter.set(n.nodeId, (tally.counter.get(n.nodeId) ?? 0n) + BigInt(v));
    },
    () => {
      const r = n.run("zincrby", "zcounter", v, "m");
      if (Buffer.isBuffer(r)) tally.zcounter.set(n.nodeId, (tally.zcounter.get(n.nodeId) ?? 0n) + BigInt(v));
    },
    () => n.run("incrbyfloat", k, "0.1"),
    () => {
      const r = n.run("incrbyfloat", "fcounter", (Number(v) / 10).toString());
      if (Buffer.isBuffer(r)) tally.fcounter.set(n.nodeId, (tally.fcounter.get(n.nodeId) ?? 0n) + BigInt(v));
    },
    () => {
      const r = n.run("hincrby", "hcounter", "f", v);
      if (typeof r === "number") tally.hcounter.set(n.nodeId, (tally.hcounter.get(n.nodeId) ?? 0n) + BigInt(v));
    },
    () => {
      const m2 = `${n.nodeId}-${tally.onceAdded.length}`;
      if (typeof n.run("sadd", "once", m2) !== "number") return;
      tally.onceAdded.push(m2);
    },
    () => {
      if (!tally.onceAdded.length) return;
      const m2 = tally.onceAdded[c.int(0, tally.onceAdded.length - 1)];
      if (n.run("srem", "once", m2) === 1) tally.onceRemoved.set(m2, n.nodeId);
    },
    () => {
      const g = `gone-${n.nodeId}-${tally.goneSet.length}`;
      n.run("set", g, v);
      tally.goneSet.push(g);
    },
    () => {
      if (!tally.goneSet.length) return;
      const g = tally.goneSet[c.int(0, tally.goneSet.length - 1)];
      if (n.run("del", g) === 1) tally.goneDeleted.set(g, n.nodeId);
    },
    () => {
      if (typeof n.run("sadd", "grow", `${n.nodeId}-${v}`) !== "number") return;
      const s = tally.grow.get(n.nodeId) ?? new Set<string>();
      s.add(`${n.nodeId}-${v}`);
      tally.grow.set(n.nodeId, s);
    },
  ];
  ops[c.int(0, ops.length - 1)]();
}

/** What a simulation run varies besides its seed (simulate's defaults are the CI seeds' settings). */
export interface SimOptions {
  steps?: number;
  /** 3-5 from the seed when absent. */
  nodes?: number;
  net?: NetworkOptions;
  /** Per step: chance of a new partition, of healing, of a node crash (cumulative thresholds as below). */
  partitionRate?: number;
  healRate?: number;
  crashRate?: number;
  /** Per step: chance of cutting one link (both directions; cuts need not be transitive; healing ends them). */
  cutRate?: number;
  /**
   * Per step: chance that a node saves its file (SimNode.save), and, drawn again, that a node
   * restarts from its file (SimNode.restartFrom; losing what it wrote since). 0: no draws, so a
   * seed without them replays as before they existed.
   */
  fileRate?: number;
  /** Virtual ms between client operations: 0..maxGap. */
  maxGap?: number;
  beforeSettle?: (c: SimCluster) => void;
  /** Gossip options over the CI seeds' (e.g. fineRangesFrom: 0, per-slot anti-entropy rounds). */
  gossip?: Partial<GossipOptions>;
  /** Anti-entropy answers sent a chunk per 10 ms step (SimCluster.slicedAnswers), as a server sends them. */
  slicedAnswers?: boolean;
}

/**
 * One simulation run: a random client workload over every replicated type on 3-5 nodes with
 * partitions, loss, duplication, reordering and crashes, then healing and settling; returns
 * what the checker found wrong (nothing, when replication is correct).
 */
export function simulate(seed: number, opts: SimOptions = {}): { cluster: SimCluster; problems: string[] } {
  // A command that failed with a JavaScript exception answers "-ERR internal error" and logs
  // "Internal error in the '...' command" (command-fault.ts): the cluster may still converge,
  // so the checker would not see it. Any such line, from a client's command or from the
  // replicator's own reads and writes, fails the seed.
  const faults: string[] = [];
  const write = logSettings.write;
  logSettings.write = (line) => {
    if (line.includes("Internal error")) faults.push(line.slice(line.indexOf("Internal error")).split("\n    at ").slice(0, 3).join(" at "));
    return write(line);
  };
  try {
    const out = simulateLogged(seed, opts);
    out.problems.unshift(...faults);
    return out;
  } finally {
    logSettings.write = write;
  }
}

function simulateLogged(seed: number, opts: SimOptions): { cluster: SimCluster; problems: string[] } {
  const steps = opts.steps ?? 300;
  const rand0 = (seed * 2654435761) >>> 0;
  const nodes = opts.nodes ?? 3 + (rand0 % 3);
  const c = new SimCluster(seed, nodes, opts.net ?? { dropRate: 0.1, dupRate: 0.05, minDelay: 1, maxDelay: 80 },
    { ...DEFAULT_GOSSIP, retryMs: 50, maxRetryMs: 400, antiEntropyMs: 300, maxBacklog: 40, gcGraceMs: 1000, ...opts.gossip }, opts.slicedAnswers);
  const pPart = opts.partitionRate ?? 0.02, pHeal = pPart + (opts.healRate ?? 0.015), pCrash = pHeal + (opts.crashRate ?? 0.005);
  const tally: Tally = { counter: new Map(), hcounter: new Map(), fcounter: new Map(), zcounter: new Map(), grow: new Map(), onceAdded: [], onceRemoved: new Map(), goneSet: [], goneDeleted: new Map(), jobsPushed: new Map(), jobsPopped: new Map() };
  const tombMismatch: string[] = [];
  for (let i = 0; i < steps; i++) {
    const n = c.nodes[c.int(0, c.nodes.length - 1)];
    // A node restarted from its file takes no client writes until it has decided about the
    // file's keys and states (loaded-keys.ts): a write before then drops the key's file state
    // and is recorded against what the node holds then (README), which the checker's sums
    // and removal rules do not model.
    if (!n.loaded?.deciding) randomOp(c, n, tally);
    const r = c.rand();
    if (r < pPart) {
      const cut = c.int(1, c.names.length - 1);
      const shuffled = c.names.slice().sort(() => c.rand() - 0.5);
      c.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
    } else if (r < pHeal) c.heal();
    else if (r < pCrash) c.nodes[c.int(0, c.nodes.length - 1)].restart();
    if (opts.fileRate) {
      if (c.rand() < opts.fileRate) c.nodes[c.int(0, c.nodes.length - 1)].save();
      if (c.rand() < opts.fileRate) c.nodes[c.int(0, c.nodes.length - 1)].restartFrom();
    }
    if (opts.cutRate && c.rand() < opts.cutRate) {
      const a = c.int(0, c.names.length - 1), b = (a + c.int(1, c.names.length - 1)) % c.names.length;
      c.cut(c.names[a], c.names[b]);
    }
    c.advance(c.int(0, opts.maxGap ?? 30));
    // (INFO crdt_tombstones is a running count: it must agree with a count from scratch
    // while tombstones come and go, not only once settling has collected them all)
    if (i % 10 === 9) {
      for (const n of c.nodes) {
        const running = n.rep.store.tombstoneCount(), recount = n.rep.store.tombstoneRecount();
        if (running !== recount) tombMismatch.push(`${n.name} at step ${i}: running tombstone count ${running}, recounted ${recount}`);
      }
    }
  }
  opts.beforeSettle?.(c);
  c.settle();
  const problems = [...tombMismatch.slice(0, 3), ...c.check()];
  // A counter is the sum of the increments clients saw succeed, except that increments
  // made on an incarnation that later crashed may have been lost with it.
  const crashed = new Set(c.nodes.flatMap((n) => [...n.crashed]));
  const bounds = (t: Map<string, bigint>) => {
    let lo = 0n, hi = 0n;
    for (const [id, sum] of t) { hi += sum; if (!crashed.has(id)) lo += sum; }
    return [lo, hi];
  };
  const [lo, hi] = bounds(tally.counter);
  const [hlo, hhi] = bounds(tally.hcounter);
  const [zlo, zhi] = bounds(tally.zcounter);
  const [flo, fhi] = bounds(tally.fcounter);
  for (const n of c.nodes) {
    // A key a restarted node's file held and the node keeps to itself (its file may predate a
    // removal its peers collected: loaded-keys.ts) is that node's alone, as README says.
    const own = (key: string) => n.rep.localKeys.keys.has(`0:${key}`);
    const got = own("counter") ? null : n.run("get", "counter");
    const value = got === null ? 0n : BigInt((got as Buffer).toString());
    if (value < lo || value > hi) problems.push(`${n.name} counter ${value} outside [${lo}, ${hi}]`);
    const hgot = own("hcounter") ? null : n.run("hget", "hcounter", "f");
    const hvalue = hgot === null ? 0n : BigInt((hgot as Buffer).toString());
    if (hvalue < hlo || hvalue > hhi) problems.push(`${n.name} hcounter ${hvalue} outside [${hlo}, ${hhi}]`);
    const fgot = own("fcounter") ? null : n.run("get", "fcounter");
    const ftext = fgot === null ? "0" : (fgot as Buffer).toString();
    // (each INCRBYFLOAT counts its result minus the value before, exactly; the kernel's
    // long-double results can carry a last-digit error, e.g. 71.19999999999999999)
    const fvalue = BigInt(Math.round(Number(ftext) * 10));
    if (Math.abs(Number(ftext) * 10 - Number(fvalue)) > 1e-6 || fvalue < flo || fvalue > fhi) problems.push(`${n.name} fcounter ${ftext} outside [${flo}, ${fhi}] tenths`);
    const zgot = own("zcounter") ? null : n.run("zscore", "zcounter", "m");
    const zvalue = zgot === null ? 0n : BigInt((zgot as Buffer).toString());
    if (zvalue < zlo || zvalue > zhi) problems.push(`${n.name} zcounter ${zvalue} outside [${zlo}, ${zhi}]`);
    for (const m of own("once") ? [] : ((n.run("smembers", "once") as Buffer[]) ?? []).map(String)) {
      // (a removal made on an incarnation that crashed may have been lost with it)
      const by = tally.onceRemoved.get(m);
      if (by && !crashed.has(by)) problems.push(`${n.name}: removed member ${m} of "once" came back`);
    }
    for (const [g, by] of tally.goneDeleted) {
      if (!crashed.has(by) && !own(g) && n.run("exists", g) === 1) problems.push(`${n.name}: deleted key ${g} came back`);
    }
    // The "jobs" list: pushes and pops on every node. A pushed element is there unless a
    // client popped it (or its incarnation crashed); a popped one never comes back; no
    // element is there twice; one node's pushes keep their order.
    const jobs = own("jobs") ? [] : ((n.run("lrange", "jobs", "0", "-1") as Buffer[]) ?? []).map(String);
    if (new Set(jobs).size !== jobs.length) problems.push(`${n.name}: an element of "jobs" is there twice: ${jobs.join(",")}`);
    const at = new Map(jobs.map((j, i) => [j, i]));
    for (const [j, by] of tally.jobsPopped) if (!crashed.has(by) && at.has(j)) problems.push(`${n.name}: popped ${j} came back`);
    for (const [id, pushed] of tally.jobsPushed) {
      let last = -1;
      for (const j of pushed) {
        const i = at.get(j);
        if (i === undefined) { if (!tally.jobsPopped.has(j) && !crashed.has(id) && !own("jobs")) problems.push(`${n.name}: lost pushed ${j}`); continue; }
        if (i < last) problems.push(`${n.name}: ${id}'s pushes out of order in "jobs"`);
        last = i;
      }
    }
    // Tombstone GC: after settling, no replica still holds a deleted key or removed member.
    if (n.rep.store.tombstoneCount() !== 0) problems.push(`${n.name} holds ${n.rep.store.tombstoneCount()} tombstones after settling`);
    const members = new Set(((n.run("smembers", "grow") as Buffer[]) ?? []).map(String));
    for (const [id, added] of tally.grow) {
      if (crashed.has(id) || own("grow")) continue;
      for (const m of added) if (!members.has(m)) problems.push(`${n.name} lost grow-only member ${m}`);
    }
  }
  return { cluster: c, problems };
}


/** The replication fault points (faults.ts, hlc.ts) a seed may turn on. */
export const FAULT_POINTS = ["crdt-drop-message", "crdt-dup-message", "crdt-delay-message", "crdt-link-reset", "crdt-hlc-skew"];

/** Everything a CI seed varies, drawn from the seed alone (seedCase): replaying the seed replays it. */
export interface SeedCase {
  seed: number;
  nodes: number;
  steps: number;
  net: NetworkOptions;
  partitionRate: number;
  healRate: number;
  crashRate: number;
  cutRate: number;
  maxGap: number;
  /** SimOptions.fileRate: saves and restarts from a saved file (drawn last: the earlier draws are those of before). */
  fileRate: number;
  /** The fault points' probabilities while the workload runs, or none. */
  buggify: Record<string, number> | null;
}

/**
 * The case a seed stands for: cluster size 3-7 (small ones more often: they are cheaper and
 * reach corner cases as well), 10-150 client operations, a network from calm to hostile
 * (loss up to 30%, duplication, delays up to 200 ms so reordering), partitions, single-link
 * cuts, crashes with empty restarts, on half of the seeds restarts from a saved file (the
 * file's draws come last), and on a third of the seeds the replication fault
 * points (lost, duplicated, held-back messages, link resets, HLC jumps). From its own PRNG,
 * so the workload's draws stay those of simulate(seed).
 */
export function seedCase(seed: number): SeedCase {
  const r = mulberry32((seed ^ 0x5eed5eed) >>> 0);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const buggify = r() < 1 / 3
    ? Object.fromEntries(FAULT_POINTS.map((p) => [p, pick([0, 0.02, 0.05, 0.1] as const)]))
    : null;
  return {
    seed,
    nodes: pick([3, 3, 3, 4, 4, 5, 5, 6, 7] as const),
    steps: int(10, 150),
    net: { dropRate: pick([0, 0.05, 0.1, 0.3] as const), dupRate: pick([0, 0.05, 0.2] as const), minDelay: 1, maxDelay: int(1, 200) },
    partitionRate: pick([0, 0.02, 0.1] as const),
    healRate: pick([0.015, 0.05] as const),
    crashRate: pick([0, 0.005, 0.03] as const),
    cutRate: pick([0, 0, 0.02, 0.1] as const),
    maxGap: pick([5, 30, 100] as const),
    buggify,
    fileRate: pick([0, 0, 0.01, 0.04] as const),
  };
}

/** Runs a seed's case (seedCase); the fault points stop when the network heals for settling. */
export function runSeed(seed: number): { case: SeedCase; cluster: SimCluster; problems: string[] } {
  const k = seedCase(seed);
  const opts: SimOptions = {
    nodes: k.nodes, steps: k.steps, net: k.net, partitionRate: k.partitionRate, healRate: k.healRate,
    crashRate: k.crashRate, cutRate: k.cutRate, maxGap: k.maxGap, fileRate: k.fileRate,
  };
  if (k.buggify) {
    enableBuggify(seed, { points: FAULT_POINTS, probabilities: k.buggify });
    opts.beforeSettle = () => disableBuggify();
  }
  // (every node boot would log "buggify enabled"; a failure names its seed instead)
  const write = logSettings.write;
  logSettings.write = () => true;
  try {
    return { case: k, ...simulate(seed, opts) };
  } finally {
    disableBuggify();
    logSettings.write = write;
  }
}
