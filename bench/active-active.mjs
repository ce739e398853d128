#!/usr/bin/env node
// node bench/active-active.mjs [--tests set,incr,hset,lpush,sadd] [--requests 20000]
//                              [--pipeline 16] [--keyspace 1000] [--base-port 22100]
//                              [--no-plain] [--drain-timeout 600] [--server-root DIR]
//
// Writes with an active-active peer (src/replication/). Starts node A and node B, peered
// both ways over their CRDT buses on loopback, and for each test runs redis-benchmark
// against A only. It then waits until B holds what A holds ("drained": A's backlog to B is
// empty and every key of A reads the same on B), because a write with a peer is only done
// once the peer has it. For each test it prints A's requests/s as redis-benchmark measured
// it, the server CPU per request of A and of B (utime+stime from /proc/PID/stat over the
// run and the drain, in µs; steadier than requests/s on a shared machine), and the drain
// time: from the benchmark's end until B matches A. With the plain node (default) the same
// test then runs against a node with no replication, for the ratio.
//
// The flood: `--tests set --requests 400000` writes 400k SETs as fast as A takes them and
// shows whether B catches up in bounded time after they stop (the run fails, exit 1, when
// a drain takes longer than --drain-timeout seconds). Nodes get scratch dirs and are killed
// by pid; every port is on loopback, from --base-port up.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connect, started } from "./resp-client.mjs";

const { values: opts } = parseArgs({
  options: {
    tests: { type: "string", default: "set,incr,hset,lpush,sadd" },
    requests: { type: "string", default: "20000" },
    pipeline: { type: "string", default: "16" },
    keyspace: { type: "string", default: "1000" },
    "base-port": { type: "string", default: "22100" },
    "no-plain": { type: "boolean", default: false },
    "drain-timeout": { type: "string", default: "600" },
    // another checkout's build to measure (e.g. a worktree of an older commit: before/after)
    "server-root": { type: "string" },
  },
});
const root = opts["server-root"] ?? fileURLToPath(new URL("..", import.meta.url));
const requests = Number(opts.requests);
const basePort = Number(opts["base-port"]);
const drainTimeoutMs = Number(opts["drain-timeout"]) * 1000;
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"]).stdout.toString().trim()) || 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** One server process: node dist/src/cli.js with redis-server's flags, on a scratch dir. */
async function startNode(port, extra) {
  const dir = mkdtempSync(join(tmpdir(), "lkv-aa-bench-"));
  const proc = spawn(process.execPath, [join(root, "dist/src/cli.js"), "--port", String(port), "--bind", "127.0.0.1",
    "--dir", dir, "--save", "", "--appendonly", "no", ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (d) => { log = (log + d).slice(-50_000); };
  const { exited } = await started(proc, port, keep, () => log);
  return {
    port, pid: proc.pid, log: () => log,
    cpuTicks() { const f = readFileSync(`/proc/${proc.pid}/stat`, "latin1").split(") ")[1].split(" "); return Number(f[11]) + Number(f[12]); },
    async stop() { if (proc.exitCode === null) { proc.kill("SIGKILL"); await exited; } rmSync(dir, { recursive: true, force: true }); },
  };
}


/** Every key's type and value, for comparing two nodes (keys in sorted order). */
async function snapshot(c) {
  const keys = [];
  let cursor = "0";
  do { const [next, ks] = await c.call("SCAN", cursor, "COUNT", "1000"); cursor = next; keys.push(...ks); } while (cursor !== "0");
  keys.sort();
  const out = [];
  for (const k of keys) {
    const t = await c.call("TYPE", k);
    const v = t === "string" ? await c.call("GET", k) : t === "list" ? await c.call("LRANGE", k, "0", "-1")
      : t === "set" ? (await c.call("SMEMBERS", k)).sort() : t === "hash" ? await c.call("HGETALL", k)
        : t === "zset" ? await c.call("ZRANGE", k, "0", "-1", "WITHSCORES") : null;
    // (a hash's field order may differ between nodes: compare its pairs sorted)
    out.push(k, t, t === "hash" ? JSON.stringify(pairs(v)) : JSON.stringify(v));
  }
  return out.join("\n");
}
const pairs = (flat) => { const p = []; for (let i = 0; i < flat.length; i += 2) p.push([flat[i], flat[i + 1]]); return p.sort(); };

/** A's backlog to its peer (INFO crdt's peer0 backlog=). */
async function backlog(c) {
  const info = await c.call("INFO", "crdt");
  const m = /backlog=(\d+)/.exec(info);
  return m ? Number(m[1]) : -1;
}

/** redis-benchmark against port; its requests/s (CSV output). */
function benchmark(port, test) {
  const r = spawnSync("redis-benchmark", ["-h", "127.0.0.1", "-p", String(port), "-P", opts.pipeline, "-n", String(requests),
    "-r", opts.keyspace, "-c", "50", "-t", test, "--csv"], { encoding: "utf8", maxBuffer: 1 << 24 });
  const line = r.stdout.split("\n").find((l) => l.startsWith(`"${test.toUpperCase()}`));
  if (!line) throw new Error(`redis-benchmark gave no ${test} row:\n${r.stdout}\n${r.stderr}`);
  return Number(line.split(",")[1].replace(/"/g, ""));
}

const us = (ticks) => (ticks / CLK_TCK) * 1e6 / requests;
const rows = [];
let failed = false;
for (const test of opts.tests.split(",")) {
  const [pa, pb, busA, busB, pp] = [0, 1, 2, 3, 4].map((i) => basePort + i);
  const a = await startNode(pa, ["--crdt-node-id", "a", "--crdt-bus-port", String(busA), "--peer", `127.0.0.1:${busB}`]);
  const b = await startNode(pb, ["--crdt-node-id", "b", "--crdt-bus-port", String(busB), "--peer", `127.0.0.1:${busA}`]);
  const ca = await connect(pa), cb = await connect(pb);
  try {
    for (let i = 0; !/link=up/.test(await ca.call("INFO", "crdt")) || !/link=up/.test(await cb.call("INFO", "crdt")); i++) {
      if (i > 400) throw new Error("peer links did not come up");
      await sleep(50);
    }
    const a0 = a.cpuTicks(), b0 = b.cpuTicks();
    const rps = benchmark(pa, test);
    const end = Date.now();
    // drained: A has nothing left to send (B acknowledged every delta) and B reads the same
    // as A. The CPU is taken when the backlog first empties (reading both keyspaces to
    // compare them costs CPU too).
    let drainMs = -1, cpuA = -1, cpuB = -1;
    for (;;) {
      if (await backlog(ca) === 0) {
        if (cpuA < 0) { cpuA = us(a.cpuTicks() - a0); cpuB = us(b.cpuTicks() - b0); }
        if (await snapshot(ca) === await snapshot(cb)) { drainMs = Date.now() - end; break; }
      }
      if (Date.now() - end > drainTimeoutMs) break;
      await sleep(100);
    }
    if (cpuA < 0) { cpuA = us(a.cpuTicks() - a0); cpuB = us(b.cpuTicks() - b0); }
    const row = { test, rps, cpuA, cpuB, drainMs, keys: await ca.call("DBSIZE") };
    if (drainMs < 0) { failed = true; row.note = `not drained after ${opts["drain-timeout"]} s (A backlog ${await backlog(ca)})`; }
    if (!opts["no-plain"]) {
      const p = await startNode(pp, []);
      try {
        const p0 = p.cpuTicks();
        row.plainRps = benchmark(pp, test);
        row.plainCpu = us(p.cpuTicks() - p0);
      } finally { await p.stop(); }
    }
    rows.push(row);
    console.error(JSON.stringify(row));
  } finally {
    ca.close(); cb.close();
    await a.stop(); await b.stop();
  }
}

const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`\nWrites with one peer: redis-benchmark -P ${opts.pipeline} -c 50 -n ${requests} -r ${opts.keyspace} against A (load average ${load})\n`);
console.log("| test | A req/s | CPU A / B per request | drain after the writes | plain node req/s, CPU |");
console.log("|---|---|---|---|---|");
const f = (x) => x.toFixed(1);
for (const r of rows) {
  console.log(`| ${r.test.toUpperCase()} | ${Math.round(r.rps).toLocaleString("en")} | ${f(r.cpuA)} / ${f(r.cpuB)} µs | ` +
    `${r.drainMs < 0 ? r.note : `${(r.drainMs / 1000).toFixed(1)} s`} | ${r.plainRps ? `${Math.round(r.plainRps).toLocaleString("en")}, ${f(r.plainCpu)} µs` : "-"} |`);
}
process.exit(failed ? 1 : 0);
