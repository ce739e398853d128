#!/usr/bin/env node
// node bench/crdt-burst.mjs [--requests 1000000] [--keyspace 1000000] [--pipeline 16]
//                           [--clients 50] [--base-port 24500] [--timeout 1800]
//                           [--no-plain] [--prof DIR] [--server-root DIR] [--poll-ms 1000]
//
// A large write burst replicated to a peer (issue #7): redis-benchmark -t set against node A,
// peered both ways with node B (persistence off), then polled until B holds as many keys as A
// and A's backlog to B is empty. First (unless --no-plain) the same burst against a node with
// no peer, for the baseline. Prints, for the plain node and for A and B:
//  - the burst's wall time on A (redis-benchmark's own run) and the plain node's;
//  - the time from the burst's end until B converged (DBSIZE equal, A's backlog 0);
//  - peak RSS (VmHWM from /proc/PID/status) and CPU seconds (utime+stime, /proc/PID/stat);
//  - bytes each process wrote to sockets (wchar from /proc/PID/io: replies to the benchmark
//    included, which the plain node's figure shows);
//  - INFO crdt counters at the end: deltas sent/resent/received (messages; sent/resent also in bytes), anti-entropy rounds and keys
//    sent/received, dropped backlogs.
// Every --poll-ms it logs one line to stderr (B's DBSIZE, A's backlog/lag, RSS of both).
// --prof DIR runs A and B under node --cpu-prof (profiles written to DIR when they exit: the
// script stops them with SIGTERM). Nodes get scratch dirs under /tmp and are stopped by pid.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connect, started } from "./resp-client.mjs";

const { values: opts } = parseArgs({
  options: {
    requests: { type: "string", default: "1000000" },
    keyspace: { type: "string", default: "1000000" },
    pipeline: { type: "string", default: "16" },
    clients: { type: "string", default: "50" },
    "base-port": { type: "string", default: "24500" },
    timeout: { type: "string", default: "1800" },
    "no-plain": { type: "boolean", default: false },
    prof: { type: "string" },
    "server-root": { type: "string" },
    "poll-ms": { type: "string", default: "1000" },
  },
});
const root = opts["server-root"] ?? fileURLToPath(new URL("..", import.meta.url));
const basePort = Number(opts["base-port"]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = 100;

async function startNode(port, extra, prof) {
  const dir = mkdtempSync(join(tmpdir(), "repl-burst-"));
  const nodeArgs = prof ? ["--cpu-prof", "--cpu-prof-dir", prof] : [];
  const proc = spawn(process.execPath, [...nodeArgs, join(root, "dist/src/cli.js"), "--port", String(port), "--bind", "127.0.0.1",
    "--dir", dir, "--save", "", "--appendonly", "no", ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (d) => { log = (log + d).slice(-50_000); };
  const { exited } = await started(proc, port, keep, () => log);
  const pid = proc.pid;
  return {
    port, pid, log: () => log,
    cpu() { const f = readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / CLK_TCK; },
    status(field) { const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "latin1")); return m ? Number(m[1]) * 1024 : 0; },
    wchar() { return Number(/^wchar: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, "latin1"))[1]); },
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

/** redis-benchmark against port; resolves with its wall time in ms. */
function benchmark(port) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const p = spawn("redis-benchmark", ["-h", "127.0.0.1", "-p", String(port), "-t", "set", "-n", opts.requests,
      "-r", opts.keyspace, "-P", opts.pipeline, "-c", opts.clients, "-q"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => { out += d; });
    p.on("exit", (code) => code === 0 ? resolve({ ms: Date.now() - t0, out: out.split("\r").pop().trim() }) : reject(new Error(`redis-benchmark exit ${code}: ${out}`)));
  });
}

const field = (info, name) => { const m = new RegExp(`^${name}:(\\S+)`, "m").exec(info); return m ? m[1] : "?"; };
const peerField = (info, name) => { const m = new RegExp(`[:,]${name}=([^,\\r]+)`).exec(info); return m ? m[1] : "?"; };
const mb = (b) => `${(b / 1048576).toFixed(0)} MB`;
const load = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

const result = { requests: Number(opts.requests), keyspace: Number(opts.keyspace), loadStart: load() };

if (!opts["no-plain"]) {
  const p = await startNode(basePort + 4, []);
  try {
    const c = await connect(p.port);
    const w0 = p.wchar(), c0 = p.cpu();
    const b = await benchmark(p.port);
    result.plain = { burstMs: b.ms, bench: b.out, keys: await c.call("DBSIZE"), cpuS: p.cpu() - c0, peakRss: p.status("VmHWM"), wchar: p.wchar() - w0 };
    c.close();
  } finally { await p.stop(); }
  console.error(JSON.stringify({ plain: result.plain }));
}

const [pa, pb, busA, busB] = [0, 1, 2, 3].map((i) => basePort + i);
const a = await startNode(pa, ["--crdt-node-id", "a", "--crdt-bus-port", String(busA), "--peer", `127.0.0.1:${busB}`], opts.prof);
const b = await startNode(pb, ["--crdt-node-id", "b", "--crdt-bus-port", String(busB), "--peer", `127.0.0.1:${busA}`], opts.prof);
const ca = await connect(pa), cb = await connect(pb);
let exitCode = 0;
try {
  for (let i = 0; !/link=up/.test(await ca.call("INFO", "crdt")) || !/link=up/.test(await cb.call("INFO", "crdt")); i++) {
    if (i > 400) throw new Error("peer links did not come up");
    await sleep(50);
  }
  const a0 = { cpu: a.cpu(), w: a.wchar() }, b0 = { cpu: b.cpu(), w: b.wchar() };
  const t0 = Date.now();
  let burst;
  const bench = benchmark(pa).then((r) => { burst = r; burst.endAt = Date.now(); });
  const deadline = t0 + Number(opts.timeout) * 1000;
  let maxBacklog = 0, maxRssA = 0, maxRssB = 0, converged = -1;
  for (;;) {
    await sleep(Number(opts["poll-ms"]));
    const [ia, ib, na, nb] = [await ca.call("INFO", "crdt"), await cb.call("INFO", "crdt"), await ca.call("DBSIZE"), await cb.call("DBSIZE")];
    const backlog = Number(peerField(ia, "backlog"));
    maxBacklog = Math.max(maxBacklog, backlog);
    const rssA = a.status("VmRSS"), rssB = b.status("VmRSS");
    maxRssA = Math.max(maxRssA, rssA); maxRssB = Math.max(maxRssB, rssB);
    console.error(`${((Date.now() - t0) / 1000).toFixed(0)}s A=${na} B=${nb} backlog=${backlog} lag_ms=${peerField(ia, "lag_ms")} ` +
      `dropped=${peerField(ia, "dropped_backlogs")} sent=${field(ia, "crdt_deltas_sent")} resent=${field(ia, "crdt_deltas_resent")} ` +
      `ack_ms=${peerField(ia, "ack_ms")} pace=${peerField(ia, "ack_ms_per_kib")} resend_after=${peerField(ia, "resend_after_ms")} ` +
      `recvB=${field(ib, "crdt_deltas_received")} waitB=${field(ib, "crdt_deltas_waiting")} aeA=${field(ia, "crdt_anti_entropy_rounds")}/${field(ia, "crdt_anti_entropy_keys_sent")} ` +
      `aeRecvB=${field(ib, "crdt_anti_entropy_keys_received")} rssA=${mb(rssA)} rssB=${mb(rssB)} cpuA=${(a.cpu() - a0.cpu).toFixed(1)} cpuB=${(b.cpu() - b0.cpu).toFixed(1)} load=${load()}`);
    if (burst && na === nb && backlog === 0) { converged = Date.now(); break; }
    if (Date.now() > deadline) { exitCode = 1; break; }
  }
  await bench;
  const [ia, ib] = [await ca.call("INFO", "crdt"), await cb.call("INFO", "crdt")];
  const counters = (i) => Object.fromEntries(["crdt_deltas_sent", "crdt_deltas_resent", "crdt_deltas_sent_bytes", "crdt_deltas_resent_bytes", "crdt_deltas_received", "crdt_duplicates",
    "crdt_anti_entropy_rounds", "crdt_anti_entropy_skipped", "crdt_anti_entropy_keys_sent", "crdt_anti_entropy_keys_received"].map((k) => [k.slice(5), field(i, k)]));
  result.burstMs = burst.ms; result.bench = burst.out;
  result.convergedAfterBurstMs = converged < 0 ? -1 : converged - burst.endAt;
  result.keysA = await ca.call("DBSIZE"); result.keysB = await cb.call("DBSIZE");
  result.a = { cpuS: a.cpu() - a0.cpu, peakRss: a.status("VmHWM"), maxPolledRss: maxRssA, wchar: a.wchar() - a0.w, maxBacklog, droppedBacklogs: peerField(ia, "dropped_backlogs"), ...counters(ia) };
  result.b = { cpuS: b.cpu() - b0.cpu, peakRss: b.status("VmHWM"), maxPolledRss: maxRssB, wchar: b.wchar() - b0.w, ...counters(ib) };
} finally {
  ca.close(); cb.close();
  await a.stop(); await b.stop();
}
result.loadEnd = load();
console.log(JSON.stringify(result, null, 1));
const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
console.log(`\nSET burst -n ${opts.requests} -r ${opts.keyspace} -P ${opts.pipeline} -c ${opts.clients} (load ${result.loadStart} -> ${result.loadEnd})`);
if (result.plain) console.log(`plain node: burst ${s(result.plain.burstMs)}, ${result.plain.keys} keys, CPU ${result.plain.cpuS.toFixed(1)} s, peak RSS ${mb(result.plain.peakRss)}, wrote ${mb(result.plain.wchar)}`);
console.log(`A (peered): burst ${s(result.burstMs)}, B converged ${result.convergedAfterBurstMs < 0 ? "NOT (timeout)" : s(result.convergedAfterBurstMs) + " after the burst"}; ` +
  `keys A ${result.keysA} B ${result.keysB}`);
console.log(`A: CPU ${result.a.cpuS.toFixed(1)} s, peak RSS ${mb(result.a.peakRss)}, wrote ${mb(result.a.wchar)}, max backlog ${result.a.maxBacklog}, dropped backlogs ${result.a.droppedBacklogs}, ` +
  `deltas sent ${result.a.deltas_sent} resent ${result.a.deltas_resent}, AE rounds ${result.a.anti_entropy_rounds} keys sent ${result.a.anti_entropy_keys_sent}`);
console.log(`B: CPU ${result.b.cpuS.toFixed(1)} s, peak RSS ${mb(result.b.peakRss)}, wrote ${mb(result.b.wchar)}, deltas received ${result.b.deltas_received} dup ${result.b.duplicates}, ` +
  `AE keys received ${result.b.anti_entropy_keys_received} sent ${result.b.anti_entropy_keys_sent}`);
process.exit(exitCode);
