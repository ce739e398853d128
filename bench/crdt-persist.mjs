#!/usr/bin/env node
// node bench/crdt-persist.mjs [--cases rdb-strings,rdb-hashes,aof-strings,aof-hashes,aof-incr,flush]
//                             [--keys 1000000] [--hashes 100000] [--counters 100000]
//                             [--variants peer,plain,redis] [--base-port 22100]
//                             [--server-root DIR] [--prof DIR] [--trace-gc] [--timeout 1800]
//
// What persisting and restoring CRDT state costs a user on a restart (issue #7). For each case a
// fresh server gets the data, writes its file, is SIGKILLed and restarted from it on the same
// scratch dir; printed as one JSON line per (case, variant):
//   - variants: `peer` (LatticeKV with a CRDT peer that is never started, so every key carries
//     CRDT state), `plain` (LatticeKV without replication), `redis` (Debian's redis-server, for
//     the plain numbers; not for `flush`);
//   - cases: rdb-strings (--keys SETs "key:N" -> "value:N", then SAVE), rdb-hashes (--hashes
//     HSETs of 10 fields "f0".."f9" -> "vN"), aof-strings / aof-hashes (the same with
//     appendonly yes, appendfsync everysec, no rewrite: the incr file holds every write),
//     aof-incr (INCR on --counters keys, once each), flush (peer only: --keys SETs, a FLUSHALL
//     whose walk the crdt-walk-stall fault point holds back after its first slice, a SAVE: an
//     RDB with no keys and the live CRDT states of nearly all of them, which the load-end check
//     records as deleted; README "At the load's end");
//   - fillS: wall seconds of the fill; saveS / saveCpuS: SAVE's wall and CPU (rdb, flush);
//     fileBytes: dump.rdb, or the appendonlydir's files together (aof);
//   - pingS: from the restart's spawn until PING answers PONG (not -LOADING); loadedS: until INFO
//     shows loading:0 and, for `peer`, crdt_loaded_checking:0 (the load-end check done; INFO is
//     polled every 50 ms);
//     cpuS: the restarted process's utime+stime by then (/proc); rssMB: its VmRSS then;
//     keys: DBSIZE then; gcMaxMs / gcTotalMs: with --trace-gc, the longest and summed GC pauses
//     of the restarted process, gcFullMs the Mark-Compact ones summed, heapMB its V8 heap after
//     its last full GC, heapPeakMB the largest heap a GC started from (node's --trace-gc lines).
// --prof DIR: the restarted LatticeKV runs with --cpu-prof (profile in DIR when it exits: it is
// stopped by SIGINT), and with --heap-prof also --heap-prof (what is live when it stops); with
// --trace-gc its output goes to DIR/gc-PORT.log as well. Machine load moves wall times 2x: the load average is printed with each row.
// Servers get scratch dirs under /tmp/crdt-persist-*, loopback ports from --base-port up, and
// are stopped by pid.
import { spawn, spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connect } from "./resp-client.mjs";

const { values: opts } = parseArgs({
  options: {
    cases: { type: "string", default: "rdb-strings,rdb-hashes,aof-strings,aof-hashes,aof-incr,flush" },
    variants: { type: "string", default: "peer,plain,redis" },
    keys: { type: "string", default: "1000000" },
    hashes: { type: "string", default: "100000" },
    counters: { type: "string", default: "100000" },
    "base-port": { type: "string", default: "22100" },
    "server-root": { type: "string" },
    prof: { type: "string" },
    "trace-gc": { type: "boolean", default: false },
    "heap-prof": { type: "boolean", default: false },
    timeout: { type: "string", default: "1800" },
  },
});
const root = opts["server-root"] ?? fileURLToPath(new URL("..", import.meta.url));
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"]).stdout.toString().trim()) || 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const r2 = (x) => Math.round(x * 100) / 100;
const load = () => readFileSync("/proc/loadavg", "latin1").split(" ")[0];
const field = (info, name) => Number(new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1] ?? NaN);
let nextPort = Number(opts["base-port"]);

/** Starts a server on a fresh port with `dir`; resolves once it accepts a connection. */
async function start(variant, dir, extra, { prof = false, env = {} } = {}) {
  const port = nextPort++;
  let cmd, args;
  if (variant === "redis") {
    cmd = "redis-server";
    args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--daemonize", "no", ...extra];
  } else {
    cmd = process.execPath;
    const node = [...(opts["trace-gc"] ? ["--trace-gc"] : []), ...(prof && opts.prof ? ["--cpu-prof", "--cpu-prof-dir", opts.prof] : []),
      ...(prof && opts.prof && opts["heap-prof"] ? ["--heap-prof", "--heap-prof-dir", opts.prof] : [])];
    const peer = variant === "peer" ? ["--crdt-node-id", "persist-a", "--crdt-bus-port", String(nextPort++), "--peer", `127.0.0.1:${nextPort++}`] : [];
    args = [...node, join(root, "dist/src/cli.js"), "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...peer, ...extra];
  }
  const t0 = performance.now();
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
  const gc = { maxMs: 0, totalMs: 0, heapMB: 0, peakMB: 0, fullMs: 0 };
  let log = "";
  const gcLog = prof && opts.prof && opts["trace-gc"] ? join(opts.prof, `gc-${port}.log`) : undefined;
  const keep = (d) => {
    const text = d.toString("latin1");
    if (gcLog) appendFileSync(gcLog, text);
    for (const m of text.matchAll(/(Mark-Compact|Scavenge|Minor Mark-Compact) ([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/g)) {
      const [, kind, before, after, ms] = m;
      gc.peakMB = Math.max(gc.peakMB, Number(before));
      if (kind === "Mark-Compact") { gc.heapMB = Number(after); gc.fullMs += Number(ms); }
      gc.maxMs = Math.max(gc.maxMs, Number(ms));
      gc.totalMs += Number(ms);
    }
    log = (log + text.replace(/^\[\d+:0x[0-9a-f]+\].*\n/gm, "")).slice(-20_000);
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const exited = new Promise((r) => proc.once("exit", r));
  let c;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`${variant} on ${port} exited:\n${log}`);
    try { c = await connect(port); break; } catch { await sleep(5); }
  }
  return {
    port, c, t0, gc, log: () => log,
    cpuS() { const f = readFileSync(`/proc/${proc.pid}/stat`, "latin1").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / CLK_TCK; },
    rssMB() { const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, "latin1")); return m ? Number(m[1]) / 1024 : 0; },
    async kill(signal = "SIGKILL") { c.close(); if (proc.exitCode === null) { proc.kill(signal); await exited; } },
  };
}

/** Sends `n` commands (gen(i) -> argv) pipelined, 5,000 at a time; every reply is one line. */
async function pipe(port, n, gen) {
  const sock = net.connect(port, "127.0.0.1");
  await new Promise((r, j) => { sock.once("connect", r); sock.once("error", j); });
  let replies = 0, want = 0, wake;
  let firstError;
  sock.on("data", (d) => {
    if (firstError === undefined && d[0] === 45) firstError = d.toString("latin1", 0, 200);
    for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) replies++;
    if (replies >= want && wake) { const w = wake; wake = undefined; w(); }
  });
  const enc = (argv) => `*${argv.length}\r\n` + argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("");
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
}

const N = Number(opts.keys), H = Number(opts.hashes), C = Number(opts.counters);
const FILLS = {
  strings: [N, (i) => ["SET", `key:${i}`, `value:${i}`]],
  hashes: [H, (i) => ["HSET", `h:${i}`, ...Array.from({ length: 10 }, (_, f) => [`f${f}`, `v${i}`]).flat()]],
  incr: [C, (i) => ["INCR", `c:${i}`]],
};

function filesBytes(dir, aof) {
  if (!aof) return statSync(join(dir, "dump.rdb")).size;
  const d = join(dir, "appendonlydir");
  return readdirSync(d).reduce((s, f) => s + statSync(join(d, f)).size, 0);
}

async function runCase(name, variant) {
  const [kind, what] = name.split("-");
  const aof = kind === "aof";
  const flush = name === "flush";
  const dir = mkdtempSync("/tmp/crdt-persist-");
  const extra = aof ? ["--appendonly", "yes", "--appendfsync", "everysec"] : ["--appendonly", "no"];
  // (flush: the walk's next slice held back 5 s, so the SAVE comes while it has done one slice)
  const env = flush ? { LATTICEKV_BUGGIFY: "1:crdt-walk-stall=1" } : {};
  const row = { case: name, variant, load: load() };
  try {
    const a = await start(variant, dir, extra, { env });
    const [n, gen] = FILLS[flush ? "strings" : what];
    const f0 = performance.now();
    await pipe(a.port, n, gen);
    row.fillS = r2((performance.now() - f0) / 1000);
    if (flush) {
      if ((await a.c.call("FLUSHALL")) !== "OK") throw new Error("FLUSHALL");
      if (field(await a.c.call("INFO", "crdt"), "crdt_walking") !== 1) throw new Error("the flush's walk is not under way");
    }
    if (aof) {
      await sleep(1500); // (everysec: the last second's writes reach the file)
    } else {
      const c0 = variant === "redis" ? 0 : a.cpuS(), w0 = performance.now();
      const r = await a.c.call("SAVE");
      if (r instanceof Error) throw r;
      row.saveS = r2((performance.now() - w0) / 1000);
      if (variant !== "redis") row.saveCpuS = r2(a.cpuS() - c0);
    }
    row.fileBytes = filesBytes(dir, aof);
    await a.kill();

    const b = await start(variant, dir, extra, { prof: true, env });
    const limit = Date.now() + Number(opts.timeout) * 1000;
    for (;;) {
      const r = await b.c.call("PING");
      if (r === "PONG") break;
      if (Date.now() > limit) throw new Error("no PONG before --timeout");
      await sleep(5);
    }
    row.pingS = r2((performance.now() - b.t0) / 1000);
    for (;;) {
      const info = await b.c.call("INFO", variant === "peer" ? "crdt" : "persistence") + (variant === "peer" ? await b.c.call("INFO", "persistence") : "");
      const done = field(info, "loading") === 0 &&
        (variant !== "peer" || (field(info, "crdt_loaded_states") > 0 && field(info, "crdt_loaded_checking") === 0));
      if (done) {
        row.loadedS = r2((performance.now() - b.t0) / 1000);
        if (variant === "peer") { row.states = field(info, "crdt_loaded_states"); row.statesDeleted = field(info, "crdt_loaded_states_deleted"); }
        break;
      }
      if (Date.now() > limit) throw new Error("not loaded before --timeout");
      await sleep(50);
    }
    if (variant !== "redis") row.cpuS = r2(b.cpuS());
    row.rssMB = Math.round(b.rssMB());
    row.keys = await b.c.call("DBSIZE");
    if (opts["trace-gc"] && variant !== "redis") { row.gcMaxMs = r2(b.gc.maxMs); row.gcTotalMs = Math.round(b.gc.totalMs); row.gcFullMs = Math.round(b.gc.fullMs); row.heapMB = b.gc.heapMB; row.heapPeakMB = b.gc.peakMB; }
    await b.kill(opts.prof ? "SIGINT" : "SIGKILL");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  row.loadEnd = load();
  console.log(JSON.stringify(row));
}

for (const name of opts.cases.split(",")) {
  for (const variant of opts.variants.split(",")) {
    if (name === "flush" && variant !== "peer") continue;
    await runCase(name, variant);
  }
}
