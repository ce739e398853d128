#!/usr/bin/env node
// node bench/crdt-memory.mjs [--cases strings,hashes,sets,counters] [--strings 1000000]
//                            [--hashes 100000] [--sets 100000] [--counters 100000] [--elems 10]
//                            [--base-port 22400] [--server-root DIR] [--snapshot DIR] [--timeout 900]
//                            [--settle-min 30] [--peer-down]
//
// What a running node spends per key on CRDT state (issue #7). For each case the same data goes
// into a node with no peer ("plain"), then into node A peered both ways with node B (persistence
// off everywhere). A and B are measured once B holds every key, A's backlog is empty and tombstone
// GC has settled (INFO crdt's crdt_gc_keys_compacted / _dropped / crdt_tombstones unchanged on both
// for 5 polls 1 s apart, and at least --settle-min s (default 30: the 10 s GC grace, then a sweep
// per anti-entropy period) after convergence).
//   strings   --strings SETs of a 10-byte value to distinct keys key:N
//   hashes    --hashes HSETs of --elems fields (f0.., 10-byte values) to h:N
//   sets      --sets SADDs of --elems members (m0..) to s:N
//   counters  --counters INCRs of distinct keys c:N
// Each row: RSS (VmRSS) and live V8 heap (heapUsed after two full GCs: the server runs under
// bench/heap-probe.mjs, --expose-gc; SIGUSR2 asks it), and per key: (node - plain) / keys, i.e.
// what the CRDT state costs beyond the same data without replication; load time (the pipe's wall
// time into the node) and CPU (utime+stime) of A and B until settled.
// --peer-down: B is configured on A but never started (a peer that is down: nothing A writes is
// stable, so nothing is collected); A is measured once its GC counters stop moving as above, and
// the B columns repeat A's.
// --snapshot DIR: also writes a heap snapshot of the peered node A and B at the settled point
// (DIR/heap-PID-N.heapsnapshot: large, ~1 GB per 1M keys; count objects with bench/heap-count.mjs).
// Scratch dirs under /tmp/crdt-mem-*, servers stopped by pid.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connect } from "./resp-client.mjs";

const { values: opts } = parseArgs({
  options: {
    cases: { type: "string", default: "strings,hashes,sets,counters" },
    strings: { type: "string", default: "1000000" },
    hashes: { type: "string", default: "100000" },
    sets: { type: "string", default: "100000" },
    counters: { type: "string", default: "100000" },
    elems: { type: "string", default: "10" },
    "base-port": { type: "string", default: "22400" },
    "server-root": { type: "string" },
    snapshot: { type: "string" },
    timeout: { type: "string", default: "900" },
    "settle-min": { type: "string", default: "30" },
    "peer-down": { type: "boolean", default: false },
  },
});
const root = opts["server-root"] ?? fileURLToPath(new URL("..", import.meta.url));
const probe = fileURLToPath(new URL("./heap-probe.mjs", import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = 100;
const E = Number(opts.elems);
const load = () => readFileSync("/proc/loadavg", "latin1").split(" ")[0];
const field = (info, name) => Number(new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1] ?? NaN);
const peerField = (info, name) => Number(new RegExp(`[:,]${name}=([^,\\r]+)`).exec(info)?.[1] ?? NaN);
const MB = (b) => Math.round(b / 1048576);
let nextPort = Number(opts["base-port"]);

async function start(extra, snapshot) {
  const port = nextPort++;
  const dir = mkdtempSync(join(tmpdir(), "crdt-mem-"));
  const probeDir = snapshot ?? dir;
  const proc = spawn(process.execPath, ["--expose-gc", "--import", probe, join(root, "dist/src/cli.js"), "--port", String(port),
    "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", ...extra],
  { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LKV_PROBE_DIR: probeDir, LKV_PROBE_SNAPSHOT: snapshot ? "1" : "0" } });
  let log = "";
  const keep = (d) => { log = (log + d).slice(-20_000); };
  proc.stdout.on("data", keep); proc.stderr.on("data", keep);
  const exited = new Promise((r) => proc.once("exit", r));
  let c;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server on ${port} exited:\n${log}`);
    try { c = await connect(port); if ((await c.call("PING")) === "PONG") break; } catch { /* not yet */ }
    await sleep(50);
  }
  let probes = 0;
  const pid = proc.pid;
  return {
    port, c, pid,
    cpuS() { const f = readFileSync(`/proc/${pid}/stat`, "latin1").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / CLK_TCK; },
    rss() { return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "latin1"))[1]) * 1024; },
    /** Live heap after full GCs, and RSS then. */
    async memory() {
      const f = join(probeDir, `probe-${pid}-${probes++}.json`);
      proc.kill("SIGUSR2");
      const until = Date.now() + 600_000;
      while (!existsSync(f)) { if (Date.now() > until) throw new Error("no probe answer"); await sleep(100); }
      const mu = JSON.parse(readFileSync(f, "latin1"));
      rmSync(f);
      return { heap: mu.heapUsed, rss: this.rss(), external: mu.external };
    },
    async stop() { c.close(); if (proc.exitCode === null) { proc.kill("SIGKILL"); await exited; } rmSync(dir, { recursive: true, force: true }); },
  };
}

/** Sends n commands (gen(i) -> argv) pipelined, 5,000 at a time; resolves with the wall ms. */
async function pipe(port, n, gen) {
  const t0 = Date.now();
  const sock = net.connect(port, "127.0.0.1");
  await new Promise((r, j) => { sock.once("connect", r); sock.once("error", j); });
  let replies = 0, want = 0, wake, firstError;
  sock.on("data", (d) => {
    if (firstError === undefined && d[0] === 45) firstError = d.toString("latin1", 0, 200);
    for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) replies++;
    if (replies >= want && wake) { const w = wake; wake = undefined; w(); }
  });
  const enc = (argv) => `*${argv.length}\r\n` + argv.map((a) => `$${a.length}\r\n${a}\r\n`).join("");
  for (let i = 0; i < n;) {
    const parts = [];
    const to = Math.min(n, i + 5000);
    for (; i < to; i++) parts.push(enc(gen(i)));
    want = to;
    sock.write(parts.join(""));
    if (replies < want) await new Promise((r) => { wake = r; });
  }
  sock.destroy();
  if (firstError) throw new Error(`fill: ${firstError}`);
  return Date.now() - t0;
}

const ten = (i) => `v${String(i).padStart(9, "0")}`; // 10 bytes
const CASES = {
  strings: [Number(opts.strings), (i) => ["SET", `key:${i}`, ten(i)]],
  hashes: [Number(opts.hashes), (i) => ["HSET", `h:${i}`, ...Array.from({ length: E }, (_, f) => [`f${f}`, ten(i)]).flat()]],
  sets: [Number(opts.sets), (i) => ["SADD", `s:${i}`, ...Array.from({ length: E }, (_, m) => `m${m}`)]],
  counters: [Number(opts.counters), (i) => ["INCR", `c:${i}`]],
};

const gcFigures = (i) => ["crdt_gc_keys_compacted", "crdt_gc_keys_dropped", "crdt_tombstones"].map((k) => field(i, k)).join("/");

async function runCase(name) {
  const [n, gen] = CASES[name];
  const row = { case: name, keys: n, loadStart: load() };
  const p = await start([]);
  try {
    const c0 = p.cpuS();
    row.plainLoadMs = await pipe(p.port, n, gen);
    await sleep(2000);
    row.plainCpuS = p.cpuS() - c0;
    row.plain = await p.memory();
  } finally { await p.stop(); }

  const [busA, busB] = [nextPort++, nextPort++];
  const a = await start(["--crdt-node-id", "a", "--crdt-bus-port", String(busA), "--peer", `127.0.0.1:${busB}`], opts.snapshot);
  const down = opts["peer-down"];
  const b = down ? a : await start(["--crdt-node-id", "b", "--crdt-bus-port", String(busB), "--peer", `127.0.0.1:${busA}`], opts.snapshot);
  try {
    for (let i = 0; !down && (!/link=up/.test(await a.c.call("INFO", "crdt")) || !/link=up/.test(await b.c.call("INFO", "crdt"))); i++) {
      if (i > 400) throw new Error("peer links did not come up");
      await sleep(50);
    }
    const a0 = a.cpuS(), b0 = b.cpuS();
    const t0 = Date.now();
    row.loadMs = await pipe(a.port, n, gen);
    const deadline = t0 + Number(opts.timeout) * 1000;
    let converged = 0, last = "", same = 0;
    for (;;) {
      await sleep(1000);
      if (Date.now() > deadline) throw new Error(`${name}: not settled after ${opts.timeout} s`);
      const [ia, ib, na, nb] = [await a.c.call("INFO", "crdt"), await b.c.call("INFO", "crdt"), await a.c.call("DBSIZE"), await b.c.call("DBSIZE")];
      const now = `${gcFigures(ia)} ${gcFigures(ib)}`;
      console.error(`${name} ${((Date.now() - t0) / 1000).toFixed(0)}s A=${na} B=${nb} backlog=${peerField(ia, "backlog")} gc A/B=${now} rssA=${MB(a.rss())} rssB=${MB(b.rss())} load=${load()}`);
      if (!converged) {
        if (na === n && nb === n && (down || peerField(ia, "backlog") === 0)) { converged = Date.now(); row.convergedMs = converged - t0; }
        continue;
      }
      same = now === last ? same + 1 : 0;
      last = now;
      if (same >= 5 && Date.now() - converged >= Number(opts["settle-min"]) * 1000) { row.gcA = gcFigures(ia); row.gcB = gcFigures(ib); break; }
    }
    row.settledMs = Date.now() - t0;
    row.cpuA = a.cpuS() - a0; row.cpuB = b.cpuS() - b0;
    row.a = await a.memory();
    row.b = down ? row.a : await b.memory();
  } finally { await a.stop(); if (!down) await b.stop(); }
  row.loadEnd = load();
  const per = (x) => ({ heap: Math.round((x.heap - row.plain.heap) / n), rss: Math.round((x.rss - row.plain.rss) / n) });
  row.perKeyA = per(row.a); row.perKeyB = per(row.b);
  return row;
}

const rows = [];
for (const name of opts.cases.split(",")) {
  const row = await runCase(name);
  rows.push(row);
  console.log(JSON.stringify(row));
}
console.log("\ncase       keys     plain heap/RSS MB   A heap/RSS MB   B heap/RSS MB   CRDT bytes/key heap A/B (RSS A/B)   load ms plain/A   settled s   CPU s A/B   load");
for (const r of rows) {
  console.log(`${r.case.padEnd(9)} ${String(r.keys).padStart(8)}   ${MB(r.plain.heap)}/${MB(r.plain.rss)}`.padEnd(38) +
    `${MB(r.a.heap)}/${MB(r.a.rss)}`.padEnd(16) + `${MB(r.b.heap)}/${MB(r.b.rss)}`.padEnd(16) +
    `${r.perKeyA.heap}/${r.perKeyB.heap} (${r.perKeyA.rss}/${r.perKeyB.rss})`.padEnd(36) +
    `${r.plainLoadMs}/${r.loadMs}`.padEnd(18) + `${(r.settledMs / 1000).toFixed(0)}`.padEnd(12) +
    `${r.cpuA.toFixed(1)}/${r.cpuB.toFixed(1)}`.padEnd(12) + `${r.loadStart}-${r.loadEnd}`);
}
