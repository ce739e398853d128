#!/usr/bin/env node
// node bench/crdt-write-cost.mjs [--cases nopeer,up,down] [--keyspaces 1000000,1000] [--pipelines 16,1]
//                                [--n 300000] [--n-p1 50000] [--clients 50] [--base-port 22600]
//                                [--server-root DIR] [--prof DIR] [--alloc-prof DIR] [--drain-timeout 300]
//                                [--builds DIR,DIR --rounds 2]
//
// What a node pays per write when it has a peer (issue #7): server CPU per SET, requests/s and
// RSS for `redis-benchmark -t set -r KEYSPACE -P PIPELINE` against node A, for every combination
// of --cases x --keyspaces x --pipelines (-n --n at -P > 1, --n-p1 at -P 1), each on fresh nodes
// (persistence off):
//   nopeer  A has no peer (active-active off: the baseline)
//   up      A peered both ways with B (running)
//   down    A has a peer configured that never starts (its backlog grows to its bounds)
// Per row: A's CPU (utime+stime from /proc/PID/stat) over the benchmark's run, per SET; for "up"
// also A's and B's CPU until B holds as many keys as A and A's backlog is empty ("drained");
// requests/s (redis-benchmark's); A's peak RSS (VmHWM) and RSS at the end; what V8 allocated
// during the run (the sum of --trace-gc-nvp's allocated= over the run's GCs, per SET), its GC
// count (scavenges / mark-compacts) and GC pause total; the time one INFO crdt took right after.
// On this shared 2-core machine requests/s moves with the load far more than CPU per SET: compare
// CPU, and rows of one run.
// --prof DIR: A (and B) under node --cpu-prof (written to DIR when stopped with SIGTERM).
// --alloc-prof DIR: A under bench/alloc-sampler.mjs, sampling every allocation during the
// benchmark's run (DIR/alloc-PID.heapprofile; sum it by function with bench/alloc-top.mjs).
// --builds A,B: each row runs on every build in turn (their dist/src/cli.js), --rounds times,
// the order rotating per round, for a before/after at the same load; a column names the build.
// Scratch dirs under /tmp/crdt-wc-*, servers stopped by pid.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connect, started } from "./resp-client.mjs";

const { values: opts } = parseArgs({
  options: {
    cases: { type: "string", default: "nopeer,up,down" },
    keyspaces: { type: "string", default: "1000000,1000" },
    pipelines: { type: "string", default: "16,1" },
    n: { type: "string", default: "300000" },
    "n-p1": { type: "string", default: "50000" },
    clients: { type: "string", default: "50" },
    "base-port": { type: "string", default: "22600" },
    "server-root": { type: "string" },
    prof: { type: "string" },
    "alloc-prof": { type: "string" },
    "drain-timeout": { type: "string", default: "300" },
    builds: { type: "string" },
    rounds: { type: "string", default: "1" },
  },
});
const root = opts["server-root"] ?? fileURLToPath(new URL("..", import.meta.url));
const sampler = fileURLToPath(new URL("./alloc-sampler.mjs", import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = 100;
const load = () => readFileSync("/proc/loadavg", "latin1").split(" ")[0];
const field = (info, name) => { const m = new RegExp(`^${name}:(\\S+)`, "m").exec(info); return m ? m[1] : "?"; };
const peerField = (info, name) => { const m = new RegExp(`[:,]${name}=([^,\\r]+)`).exec(info); return m ? m[1] : "?"; };
let port = Number(opts["base-port"]);

async function startNode(extra, { prof, alloc, root } = {}) {
  const p = port++;
  const dir = mkdtempSync(join(tmpdir(), "crdt-wc-"));
  const nodeArgs = ["--trace-gc-nvp"];
  if (prof) nodeArgs.push("--cpu-prof", "--cpu-prof-dir", prof);
  if (alloc) nodeArgs.push("--import", sampler);
  const proc = spawn(process.execPath, [...nodeArgs, join(root, "dist/src/cli.js"), "--port", String(p), "--bind", "127.0.0.1",
    "--dir", dir, "--save", "", "--appendonly", "no", ...extra],
  { stdio: ["ignore", "pipe", "pipe"], env: alloc ? { ...process.env, LKV_ALLOC_DIR: alloc } : process.env });
  let log = "", partial = "";
  const gc = { allocated: 0, scavenges: 0, markCompacts: 0, pauseMs: 0 };
  const keep = (d) => {
    const s = partial + d;
    const lines = s.split("\n");
    partial = lines.pop();
    for (const line of lines) {
      const m = / pause=([\d.]+) .* gc=(\S+) .* allocated=(\d+) /.exec(line);
      if (m) {
        gc.pauseMs += Number(m[1]); gc.allocated += Number(m[3]);
        if (m[2] === "s" || m[2] === "mmc") gc.scavenges++; else gc.markCompacts++;
      } else log = (log + line + "\n").slice(-50_000);
    }
  };
  const { exited } = await started(proc, p, keep, () => log + partial);
  const pid = proc.pid;
  return {
    port: p, pid, proc, gc: () => ({ ...gc }),
    cpu() { const f = readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / CLK_TCK; },
    status(name) { const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "latin1")); return m ? Number(m[1]) * 1024 : 0; },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill(prof ? "SIGTERM" : "SIGKILL");
        const t = setTimeout(() => proc.kill("SIGKILL"), 60_000);
        await exited; clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function benchmark(p, n, keyspace, pipeline) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const b = spawn("redis-benchmark", ["-h", "127.0.0.1", "-p", String(p), "-t", "set", "-n", String(n),
      "-r", String(keyspace), "-P", String(pipeline), "-c", opts.clients, "-q"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    b.stdout.on("data", (d) => { out += d; });
    b.on("exit", (code) => code === 0 ? resolve({ ms: Date.now() - t0, out: out.split("\r").pop().trim() })
      : reject(new Error(`redis-benchmark exit ${code}: ${out}`)));
  });
}

async function row(kind, keyspace, pipeline, root) {
  const n = pipeline > 1 ? Number(opts.n) : Number(opts["n-p1"]);
  const bus = port + 10;
  const a = await startNode(kind === "nopeer" ? [] : ["--crdt-node-id", "a", "--crdt-bus-port", String(bus), "--peer", `127.0.0.1:${bus + 1}`],
    { prof: opts.prof, alloc: opts["alloc-prof"], root });
  let b;
  const ca = await connect(a.port);
  let cb;
  try {
    if (kind === "up") {
      b = await startNode(["--crdt-node-id", "b", "--crdt-bus-port", String(bus + 1), "--peer", `127.0.0.1:${bus}`], { prof: opts.prof, root });
      cb = await connect(b.port);
      for (let i = 0; !/link=up/.test(await ca.call("INFO", "crdt")) || !/link=up/.test(await cb.call("INFO", "crdt")); i++) {
        if (i > 400) throw new Error("peer links did not come up");
        await sleep(50);
      }
    }
    port += 2;
    await sleep(500);
    const l0 = load();
    const a0 = a.cpu(), b0 = b?.cpu(), g0 = a.gc();
    if (opts["alloc-prof"]) a.proc.kill("SIGUSR2");
    const r = await benchmark(a.port, n, keyspace, pipeline);
    if (opts["alloc-prof"]) a.proc.kill("SIGUSR2");
    const a1 = a.cpu(), b1 = b?.cpu();
    await sleep(200); // (the run's last GC lines through the pipe)
    const g1 = a.gc();
    const t = Date.now();
    const info = await ca.call("INFO", "crdt");
    const infoMs = Date.now() - t;
    const res = {
      case: kind, keyspace, pipeline, n, rps: Number(/([\d.]+) requests per second/.exec(r.out)?.[1] ?? NaN), runMs: r.ms,
      keys: await ca.call("DBSIZE"), cpuUsPerSet: (a1 - a0) * 1e6 / n,
      allocBPerSet: (g1.allocated - g0.allocated) / n, scavenges: g1.scavenges - g0.scavenges, markCompacts: g1.markCompacts - g0.markCompacts,
      gcPauseMs: Math.round(g1.pauseMs - g0.pauseMs), infoCrdtMs: infoMs, backlog: peerField(info, "backlog"), dropped: peerField(info, "dropped_backlogs"),
      load: `${l0}-${load()}`,
    };
    if (kind === "up") {
      const deadline = Date.now() + Number(opts["drain-timeout"]) * 1000;
      for (;;) {
        const [ia, na, nb] = [await ca.call("INFO", "crdt"), await ca.call("DBSIZE"), await cb.call("DBSIZE")];
        if (na === nb && peerField(ia, "backlog") === "0") break;
        if (Date.now() > deadline) { res.drained = false; break; }
        await sleep(200);
      }
      res.drainedCpuUsPerSetA = (a.cpu() - a0) * 1e6 / n;
      res.drainedCpuUsPerSetB = (b.cpu() - b0) * 1e6 / n;
      res.cpuUsPerSetB = (b1 - b0) * 1e6 / n;
      res.peakRssB = b.status("VmHWM");
    }
    res.peakRss = a.status("VmHWM"); res.rss = a.status("VmRSS");
    res.sent = field(info, "crdt_deltas_sent");
    return res;
  } finally {
    ca.close(); cb?.close();
    await a.stop(); await b?.stop();
  }
}

const MB = (b) => (b / 1048576).toFixed(0);
const rows = [];
const builds = opts.builds ? opts.builds.split(",") : [root];
const name = (b) => b.replace(/\/+$/, "").split("/").pop();
console.log("| build | case | -r | -P | SETs | req/s | A CPU µs/SET (run) | A / B µs/SET drained | alloc B/SET | GCs s/mc, pause ms | A RSS peak / end MB | INFO crdt ms | backlog, dropped | load |");
console.log("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
for (const pipeline of opts.pipelines.split(",").map(Number)) {
  for (const keyspace of opts.keyspaces.split(",").map(Number)) {
    for (const kind of opts.cases.split(",")) for (let round = 0; round < Number(opts.rounds); round++) for (let i = 0; i < builds.length; i++) {
      const build = builds[(i + round) % builds.length];
      const r = await row(kind, keyspace, pipeline, build);
      r.build = name(build);
      rows.push(r);
      console.error(JSON.stringify(r));
      console.log(`| ${r.build} | ${kind} | ${keyspace} | ${pipeline} | ${r.n} | ${Math.round(r.rps)} | ${r.cpuUsPerSet.toFixed(1)} | ` +
        `${r.drainedCpuUsPerSetA === undefined ? "" : `${r.drainedCpuUsPerSetA.toFixed(1)} / ${r.drainedCpuUsPerSetB.toFixed(1)}${r.drained === false ? " (not drained)" : ""}`} | ` +
        `${r.allocBPerSet.toFixed(0)} | ${r.scavenges}/${r.markCompacts}, ${r.gcPauseMs} | ${MB(r.peakRss)} / ${MB(r.rss)} | ${r.infoCrdtMs} | ` +
        `${kind === "nopeer" ? "" : `${r.backlog}, ${r.dropped}`} | ${r.load} |`);
    }
  }
}
