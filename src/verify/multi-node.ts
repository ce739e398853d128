// Multi-node workloads (--nodes 3 / 5): the same clients spread over nodes that replicate
// active-active (src/replication/: CRDT deltas over the peer bus). With --buggify the nodes
// also reach each other through fault proxies (net-faults.ts: delays, resets, partitions),
// healed before the wait for convergence. Across nodes the model is
// eventual, so the checker reports anomalies a linearizable store would not show as figures
// (stale reads, lost CAS, a history that is not linearizable) and fails only on what the
// documented model forbids:
//
//   never written   a read returned a value no client ever wrote;
//   diverged        once clients stop and replication settles, nodes disagree on a key;
//   lost write      after convergence a register holds a write that completed before some
//                   acknowledged write to it began (last-writer-wins by HLC keeps the later
//                   one: on one machine the clocks agree to the millisecond, so 2 ms of
//                   slack), or a counter's value is not the sum of its acknowledged
//                   increments plus some of those whose outcome is unknown.
import type { Operation, RegisterInput, RegisterOutput } from "./history.js";
import { checkRun, describeFailures, formatTable, type Summary } from "./summary.js";
import { freePort, startServerProcess, type ServerProcess } from "./server-process.js";
import { runWorkload, type CasMode, type WorkloadRun } from "./workload.js";
import { FaultyLink, type LinkStats } from "./net-faults.js";
import { connectWhenUp, startDeadline, waitReady } from "./ready.js";

export interface MultiNodeOptions {
  nodes: number;
  seed: number;
  argv: Record<string, string | boolean | undefined>;
}

export interface Cluster {
  nodes: ServerProcess[];
  /** The fault proxies between nodes (empty without link faults). */
  links: FaultyLink[];
  /** Ends the link faults. */
  heal(): void;
  linkStats(): LinkStats;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts n nodes, each peering with all others over the replication bus, and waits for the
 * links. With `linkFaultSeed`, node i reaches node j through a FaultyLink proxy.
 */
export async function startCluster(n: number, env: Record<string, string> = {}, linkFaultSeed?: number): Promise<Cluster> {
  const bus: number[] = [];
  for (let i = 0; i < n; i++) bus.push(await freePort());
  const nodes: ServerProcess[] = [];
  const links: FaultyLink[] = [];
  const stop = async () => {
    await Promise.all([...nodes.map((s) => s.stop()), ...links.map((l) => l.close())]);
  };
  try {
    const via = new Map<string, number>();
    if (linkFaultSeed !== undefined) {
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          if (i === j) continue;
          const l = new FaultyLink(bus[j], linkFaultSeed, i * n + j);
          links.push(l);
          via.set(`${i}>${j}`, await l.listen());
        }
    }
    for (let i = 0; i < n; i++) {
      const peers = bus.flatMap((p, j) => (j === i ? [] : ["--peer", `127.0.0.1:${via.get(`${i}>${j}`) ?? p}`]));
      nodes.push(await startServerProcess(["--crdt-node-id", `n${i + 1}`, "--crdt-bus-port", String(bus[i]), ...peers], env));
    }
    // Every node serving and every peer link up, however long a loaded machine takes
    // (ready.ts): a run must not die at start-up for the machine's sake.
    const deadline = startDeadline();
    await Promise.all(nodes.map((s) => waitReady(s.port, n - 1, deadline)));
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    nodes,
    links,
    stop,
    heal: () => links.forEach((l) => l.heal()),
    linkStats: () =>
      links.reduce((a, l) => ({ chunks: a.chunks + l.stats.chunks, delayed: a.delayed + l.stats.delayed, resets: a.resets + l.stats.resets, partitions: a.partitions + l.stats.partitions }), { chunks: 0, delayed: 0, resets: 0, partitions: 0 }),
  };
}

export interface Settled {
  /** key -> value every node agrees on (null = no key), when they converged. */
  values: Map<string, string | null>;
  converged: boolean;
  /** key -> each node's value, when they did not. */
  differing: Map<string, (string | null)[]>;
  ms: number;
}

/** Polls every node for every key until all agree twice in a row, or the time runs out. */
export async function waitForConvergence(ports: number[], keys: string[], timeoutMs: number): Promise<Settled> {
  const t0 = Date.now();
  const deadline = Date.now() + Math.max(timeoutMs, 30_000);
  const clients = await Promise.all(ports.map((port) => connectWhenUp(port, deadline, { retryStrategy: () => 100 })));
  try {
    let stable = 0;
    let last = "";
    for (;;) {
      const views = await Promise.all(clients.map((r) => Promise.all(keys.map((k) => r.get(k)))));
      const differing = new Map<string, (string | null)[]>();
      keys.forEach((k, i) => {
        const vs = views.map((v) => v[i]);
        if (vs.some((v) => v !== vs[0])) differing.set(k, vs);
      });
      const snapshot = JSON.stringify(views[0]);
      if (differing.size === 0 && snapshot === last) stable++;
      else stable = differing.size === 0 ? 1 : 0;
      last = snapshot;
      if (stable >= 2) return { values: new Map(keys.map((k, i) => [k, views[0][i]])), converged: true, differing, ms: Date.now() - t0 };
      if (Date.now() - t0 > timeoutMs) return { values: new Map(), converged: false, differing, ms: Date.now() - t0 };
      await sleep(200);
    }
  } finally {
    for (const r of clients) r.disconnect();
  }
}

export interface EventualReport {
  /** Figures (allowed by the eventual model). */
  staleReads: number;
  lostCas: number;
  linearizable: Summary["linearizable"];
  /** Forbidden. */
  neverWritten: string[];
  lostWrites: string[];
  diverged: string[];
  convergeMs: number;
}

const SLACK = 2000; // µs: HLC timestamps agree across nodes on one machine to the millisecond

/** Checks a multi-node history against the eventual model. */
export function checkEventual(run: WorkloadRun, settled: Settled): EventualReport {
  const reg = run.register;
  const writes = reg.filter((o) => o.input.f === "write" || o.input.f === "cas");
  const wrote = (o: Operation<RegisterInput, RegisterOutput>) => (o.input.f === "write" ? o.input.value : o.input.f === "cas" ? o.input.to : undefined);
  const byValue = new Map<string, Operation<RegisterInput, RegisterOutput>>();
  for (const w of writes) byValue.set(`${w.key}\0${wrote(w)}`, w);
  const acked = (o: Operation<RegisterInput, RegisterOutput>) =>
    o.ret !== undefined && !o.failed && (o.input.f === "write" || (o.input.f === "cas" && o.output === true));

  const neverWritten: string[] = [];
  let staleReads = 0;
  for (const r of reg) {
    if (r.input.f !== "read" || r.ret === undefined || r.failed || r.output === null || r.output === undefined) continue;
    const w = byValue.get(`${r.key}\0${r.output}`);
    if (!w) {
      neverWritten.push(`read #${r.id} of ${r.key} by client ${r.client} returned ${JSON.stringify(r.output)}, which no client wrote`);
      continue;
    }
    // stale: some acknowledged write to the key began after w completed and completed before r began
    if (w.ret !== undefined && writes.some((w2) => w2 !== w && w2.key === r.key && acked(w2) && w2.call > w.ret! && w2.ret! < r.call)) staleReads++;
  }
  // lost CAS: two successful CASes from the same value on the same key
  let lostCas = 0;
  const casFrom = new Map<string, number>();
  for (const c of reg) if (c.input.f === "cas" && c.output === true) casFrom.set(`${c.key}\0${c.input.from}`, (casFrom.get(`${c.key}\0${c.input.from}`) ?? 0) + 1);
  for (const n of casFrom.values()) if (n > 1) lostCas += n - 1;

  const diverged = [...settled.differing].map(([k, vs]) => `${k}: ${vs.map((v) => JSON.stringify(v)).join(" / ")}`);
  const lostWrites: string[] = [];
  if (settled.converged) {
    for (const key of run.registerKeys) {
      const final = settled.values.get(key) ?? null;
      const keyWrites = writes.filter((w) => w.key === key);
      if (final === null) {
        if (keyWrites.some(acked)) lostWrites.push(`${key}: no value after convergence, though writes were acknowledged`);
        continue;
      }
      const fw = byValue.get(`${key}\0${final}`);
      if (!fw) {
        neverWritten.push(`${key}: converged on ${JSON.stringify(final)}, which no client wrote`);
        continue;
      }
      if (fw.ret === undefined) continue; // an op with unknown outcome: its completion time is unknown
      const later = keyWrites.find((w) => acked(w) && w.call > fw.ret! + SLACK);
      if (later) lostWrites.push(`${key}: converged on ${JSON.stringify(final)} (write #${fw.id}, done at ${fw.ret}µs) though write #${later.id} of ${JSON.stringify(wrote(later))} began after it (${later.call}µs) and was acknowledged`);
    }
    for (const key of run.counterKeys) {
      const final = Number(settled.values.get(key) ?? 0);
      const incrs = run.counter.filter((o) => o.key === key && o.input.f === "incr" && !o.failed);
      const sure = incrs.filter((o) => o.ret !== undefined).reduce((s, o) => s + (o.input as { by: number }).by, 0);
      // the sums the increments of unknown outcome can add
      let possible = new Set([0]);
      for (const o of incrs.filter((x) => x.ret === undefined)) possible = new Set([...possible, ...[...possible].map((p) => p + (o.input as { by: number }).by)]);
      if (![...possible].some((p) => sure + p === final)) lostWrites.push(`${key}: counter converged on ${final}, but its acknowledged increments sum to ${sure}`);
    }
  }
  return { staleReads, lostCas, linearizable: "unknown", neverWritten, lostWrites, diverged, convergeMs: settled.ms };
}

export function formatEventual(s: Summary, e: EventualReport): string {
  const rows: [string, string][] = [
    ["stale reads", String(e.staleReads)],
    ["lost CAS", String(e.lostCas)],
    ["linearizable (not promised across nodes)", s.linearizable],
    ["converged after", e.diverged.length ? "never" : `${e.convergeMs} ms`],
    ["values never written", String(e.neverWritten.length)],
    ["acknowledged writes lost", String(e.lostWrites.length)],
    ["keys diverged after quiescence", String(e.diverged.length)],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join("\n");
}

export async function multiNode(o: MultiNodeOptions): Promise<number> {
  const a = o.argv;
  const env: Record<string, string> = {};
  if (typeof a.shards === "string") env.LATTICEKV_SHARDS = a.shards;
  // Socket and replication-message faults, no clock faults: a clock jump (clock-jump,
  // crdt-hlc-skew) gives one node's HLC a lead, and last-writer-wins then rightly keeps an
  // older write, which the lost-write check cannot tell from a lost one.
  if (a.buggify) {
    env.LATTICEKV_BUGGIFY = `${o.seed}:short-write,reply-delay,crdt-drop-message,crdt-dup-message,crdt-delay-message,crdt-link-reset`;
  }
  let cluster: Cluster;
  try {
    cluster = await startCluster(o.nodes, env, a.buggify ? o.seed : undefined);
  } catch (e) {
    console.error(`verify: could not start ${o.nodes} replicating nodes: ${(e as Error).message}`);
    return 2;
  }
  try {
    const ports = cluster.nodes.map((s) => s.port);
    console.log(
      `verify: seed ${o.seed}, ${o.nodes} replicating nodes on ports ${ports.join(",")}, ${a.seconds}s at ${a.rate} ops/s, ` +
        `${a.concurrency} clients spread over the nodes, CAS via ${a.cas}${a.buggify ? ", buggify on" : ""}`,
    );
    const run = await runWorkload({
      ports,
      seconds: Number(a.seconds),
      rate: Number(a.rate),
      concurrency: Number(a.concurrency),
      seed: o.seed,
      registerKeys: Number(a.keys ?? 3),
      cas: (a.cas as CasMode) ?? "lua",
      timeoutMs: Number(a.timeout ?? 1000),
      ops: typeof a.ops === "string" ? Number(a.ops) : undefined,
    });
    cluster.heal();
    const settled = await waitForConvergence(ports, [...run.registerKeys, ...run.counterKeys], 20_000);
    const checked = checkRun(run, o.nodes);
    const ev = checkEventual(run, settled);
    ev.linearizable = checked.summary.linearizable;
    const forbidden = ev.neverWritten.length + ev.lostWrites.length + ev.diverged.length;
    checked.summary.anomalies = forbidden;
    console.log(formatTable([checked.summary]));
    console.log(formatEventual(checked.summary, ev));
    if (cluster.links.length) {
      const ls = cluster.linkStats();
      console.log(`  link faults: ${ls.delayed} of ${ls.chunks} chunks delayed, ${ls.resets} connection resets, ${ls.partitions} partitions`);
    }
    for (const line of [...ev.neverWritten, ...ev.lostWrites, ...ev.diverged.map((d) => `diverged: ${d}`)]) console.log(`  FORBIDDEN ${line}`);
    if (process.env.VERIFY_VERBOSE && checked.summary.linearizable === "no") console.log(describeFailures(checked));
    return forbidden ? 1 : 0;
  } finally {
    await cluster.stop();
  }
}
