#!/usr/bin/env node
// node bench/crdt-full-copy.mjs [--keys 100000] [--base-port 29000] [--server-root DIR]
//                               [--peer-down] [--timeout 1800] [--ping-every 5] [--prof DIR]
//                               [--saves 0]
//
// The cost of a full copy (issue #7: "a brand-new empty node converges ... with a streamed
// full copy when everything differs"). Node A, started without replication, gets `--keys`
// string keys (DEBUG POPULATE: "key:N" -> "value:N"); node B starts empty with a CRDT bus.
// Then `CRDT.PEER ADD` on A names B: A's walk records every key as its write and streams it,
// and B joins it. Meanwhile a second client PINGs A every --ping-every ms (back to back, the
// PINGs themselves were a fifth of A's CPU). --prof DIR: both servers run with --cpu-prof
// and are stopped by SIGINT, so their profiles land in DIR. Prints, as one JSON line:
//   - walkS / convergeS: wall seconds from the ADD until A's walk ended (INFO crdt_walking 0)
//     and until B holds every key (DBSIZE);
//   - cpuA / cpuB: each process's utime+stime from /proc/PID/stat over that time (seconds);
//   - pingMaxMs: the longest PING round trip to A (wall), and pingMaxCpuMs: A's main thread's
//     CPU during that same PING (/proc/PID/task/PID/schedstat), the part that is A's own;
//     under load the wall figure is mostly waiting for a core;
//   - heapA / heapB: V8 heap after the last full GC (MB, from --trace-gc's Mark-Compact
//     lines), gcMaxA / gcMaxB: the longest GC pause they report (ms), rssA / rssB (MB);
//   - aeKeysSentA: key states A sent in anti-entropy answers (INFO crdt), deltasSentA.
// --saves K: then K SAVEs and K BGSAVEs on A (its RDB holds the CRDT state) and on a node
// without replication holding the same keys: CPU of each (utime+stime over the command, and
// for BGSAVE until rdb_bgsave_in_progress is 0), and the file's size.
// With --peer-down B is never started (A's walk with its peer down, as README's 1M figure).
// Machine load moves wall times 2x: say `uptime` with the figures. Servers get scratch dirs
// and are killed by pid; ports from --base-port up, on loopback.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connect, started } from "./resp-client.mjs";

const { values: opts } = parseArgs({
  options: {
    keys: { type: "string", default: "100000" },
    "base-port": { type: "string", default: "29000" },
    "server-root": { type: "string" },
    "peer-down": { type: "boolean", default: false },
    timeout: { type: "string", default: "1800" },
    "ping-every": { type: "string", default: "5" },
    prof: { type: "string" },
    saves: { type: "string", default: "0" },
  },
});
const root = opts["server-root"] ?? fileURLToPath(new URL("..", import.meta.url));
const N = Number(opts.keys);
const base = Number(opts["base-port"]);
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"]).stdout.toString().trim()) || 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startNode(port, extra) {
  const dir = mkdtempSync(join(tmpdir(), "lkv-full-copy-"));
  const prof = opts.prof ? ["--cpu-prof", "--cpu-prof-dir", opts.prof] : [];
  const proc = spawn(process.execPath, ["--trace-gc", ...prof, join(root, "dist/src/cli.js"), "--port", String(port), "--bind", "127.0.0.1",
    "--dir", dir, "--save", "", "--appendonly", "no", ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const gc = { lastHeapMB: 0, maxPauseMs: 0 };
  const keep = (d) => {
    const text = d.toString("latin1");
    // [pid:0x...]   12345 ms: Mark-Compact 812.3 (840.1) -> 790.2 (830.0) MB, 512.34 / 0.00 ms ...
    for (const m of text.matchAll(/(Mark-Compact|Scavenge|Minor Mark-Compact|Mark-Compact \(reduce\))[^>]*-> ([\d.]+) \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/g)) {
      if (m[1].startsWith("Mark-Compact")) gc.lastHeapMB = Number(m[2]);
      gc.maxPauseMs = Math.max(gc.maxPauseMs, Number(m[3]));
    }
    log = (log + text.replace(/^\[\d+:0x[0-9a-f]+\].*\n/gm, "")).slice(-20_000);
  };
  const { exited } = await started(proc, port, keep, () => log);
  return {
    port, pid: proc.pid, gc, log: () => log,
    cpuS() { const f = readFileSync(`/proc/${proc.pid}/stat`, "latin1").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / CLK_TCK; },
    mainCpuNs() { return Number(readFileSync(`/proc/${proc.pid}/task/${proc.pid}/schedstat`, "latin1").split(" ")[0]); },
    rssMB() { const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, "latin1")); return m ? Number(m[1]) / 1024 : 0; },
    async stop() { if (proc.exitCode === null) { proc.kill(opts.prof ? "SIGINT" : "SIGKILL"); await exited; } rmSync(dir, { recursive: true, force: true }); },
  };
}

const field = (info, name) => Number(new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1] ?? NaN);

const [pa, pb, busB] = [base, base + 1, base + 2];
const a = await startNode(pa, ["--enable-debug-command", "yes"]);
const b = opts["peer-down"] ? undefined : await startNode(pb, ["--crdt-node-id", "fcb", "--crdt-bus-port", String(busB)]);
const ca = await connect(pa), probe = await connect(pa), cb = b ? await connect(pb) : undefined;
try {
  await ca.call("DEBUG", "POPULATE", String(N));
  const uptime0 = readFileSync("/proc/loadavg", "latin1").split(" ")[0];
  const a0 = a.cpuS(), b0 = b?.cpuS() ?? 0;
  const t0 = Date.now();
  const ping = { maxMs: 0, maxCpuMs: 0, n: 0 };
  let pinging = true;
  const pinger = (async () => {
    while (pinging) {
      const c0 = a.mainCpuNs(), w0 = performance.now();
      await probe.call("PING");
      const ms = performance.now() - w0;
      ping.n++;
      if (ms > ping.maxMs) { ping.maxMs = ms; ping.maxCpuMs = (a.mainCpuNs() - c0) / 1e6; }
      await sleep(Number(opts["ping-every"]));
    }
  })();
  const added = await ca.call("CRDT.PEER", "ADD", "127.0.0.1", String(busB));
  if (added instanceof Error) throw added;
  let walkS = -1, convergeS = -1, cpuWalkA = -1;
  const limit = t0 + Number(opts.timeout) * 1000;
  while (Date.now() < limit) {
    await sleep(1000);
    if (walkS < 0 && field(await ca.call("INFO", "crdt"), "crdt_walking") === 0) { walkS = (Date.now() - t0) / 1000; cpuWalkA = a.cpuS() - a0; }
    if (!cb) { if (walkS >= 0) break; continue; }
    if (convergeS < 0 && await cb.call("DBSIZE") >= N) convergeS = (Date.now() - t0) / 1000;
    if (walkS >= 0 && convergeS >= 0) break;
  }
  pinging = false;
  await pinger;
  const r2 = (x) => Math.round(x * 100) / 100;
  const uptime1 = readFileSync("/proc/loadavg", "latin1").split(" ")[0];
  const row = {
    keys: N, load: `${uptime0}-${uptime1}`, walkS, convergeS, cpuWalkA: r2(cpuWalkA), cpuA: r2(a.cpuS() - a0), cpuB: b ? r2(b.cpuS() - b0) : null,
    pingMaxMs: Math.round(ping.maxMs), pingMaxCpuMs: Math.round(ping.maxCpuMs), pings: ping.n,
    heapA: a.gc.lastHeapMB, gcMaxA: a.gc.maxPauseMs, rssA: Math.round(a.rssMB()),
    heapB: b?.gc.lastHeapMB ?? null, gcMaxB: b?.gc.maxPauseMs ?? null, rssB: b ? Math.round(b.rssMB()) : null,
  };
  // what went by anti-entropy on top of the delta stream (each a key state sent again)
  const infoA = await ca.call("INFO", "crdt");
  row.aeKeysSentA = field(infoA, "crdt_anti_entropy_keys_sent");
  row.deltasSentA = field(infoA, "crdt_deltas_sent");
  if (cb) row.duplicatesB = field(await cb.call("INFO", "crdt"), "crdt_duplicates");
  const saves = Number(opts.saves);
  if (saves > 0) {
    const c = await startNode(base + 3, ["--enable-debug-command", "yes"]);
    const cc = await connect(base + 3);
    try {
      await cc.call("DEBUG", "POPULATE", String(N));
      for (const [name, node, cl] of [["crdt", a, ca], ["plain", c, cc]]) {
        const one = async (cmd) => {
          const t = node.cpuS();
          const r = await cl.call(cmd);
          if (r instanceof Error) throw r;
          if (cmd === "BGSAVE") while (field(await cl.call("INFO", "persistence"), "rdb_bgsave_in_progress") !== 0) await sleep(5);
          return r2(node.cpuS() - t);
        };
        const save = [], bgsave = [];
        for (let i = 0; i < saves; i++) { save.push(await one("SAVE")); bgsave.push(await one("BGSAVE")); }
        const dir = await cl.call("CONFIG", "GET", "dir");
        const size = (await import("node:fs")).statSync(join(dir[1], "dump.rdb")).size;
        row[`save_${name}`] = { saveCpuS: save, bgsaveCpuS: bgsave, rdbBytes: size };
      }
    } finally { cc.close(); await c.stop(); }
  }
  console.log(JSON.stringify(row));
  if (walkS < 0 || (b && convergeS < 0)) { console.error("not done before --timeout"); process.exitCode = 1; }
} finally {
  ca.close(); probe.close(); cb?.close();
  await a.stop();
  await b?.stop();
}
