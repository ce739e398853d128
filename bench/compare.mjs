#!/usr/bin/env node
// npm run bench:compare [-- --rounds 3 --requests 200000 --pipelined-requests 1000000
//                         --clients 50 --shards 1,4 --test SET --pipeline 16 --no-memory]
//
// Our server against a real redis-server on the same machine, in one run. The servers
// (redis-server, ours with 1 shard, ours with 4: LATTICEKV_SHARDS) start on free ports
// (scratch --dir, --save ""), then redis-benchmark runs each test against each server,
// rotating which goes first every round, so a neighbour's load that drifts over minutes
// hits every server alike. For each test: the median requests/s of each server, the ratio
// ours/redis (median of the per-round ratios, with their range), and the server's CPU
// time per request (utime+stime from /proc/PID/stat over the run, in microseconds), which
// is far less sensitive to a busy machine than requests/s.
// Then the memory line: fresh servers loaded through redis-cli --pipe with 1M `SET key:N`
// of 10-byte values, and 100k hashes of 10 fields; RSS and INFO used_memory of each, and
// RSS after the 1M keys are written a second time (freed memory must be reused).
// Writes JSON and the markdown table to bench/results/.
// A test runs only if our server implements its commands (probed once, before timing).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { performance } from "node:perf_hooks";
import { startServer, latticekvCommand } from "../scripts/compat/server.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = `${root}dist/src/cli.js`;

const { values: opts } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    requests: { type: "string", default: "200000" },
    "pipelined-requests": { type: "string", default: "1000000" },
    clients: { type: "string", default: "50" },
    keyspace: { type: "string", default: "100000" },
    shards: { type: "string", default: "1,4" },
    pipeline: { type: "string", multiple: true },
    test: { type: "string", multiple: true },
    "no-memory": { type: "boolean", default: false },
    "memory-only": { type: "boolean", default: false },
  },
});

// redis-benchmark's default test list (in its order), then keyspace and value-size variants.
// name: the row; args: redis-benchmark arguments after the common ones; needs: commands our
// server must have; scale: fraction of the request count at each pipeline depth (LRANGE
// replies are big). A row's runs must still last about a second: a 2,500-request LRANGE_600
// run (the old 0.05 of --requests 50000 at -P 1) took ~70 ms, so the CPU figures moved in
// 4 µs steps of the 10 ms tick and the per-run fixed costs (the benchmark's 50 connections,
// which cost our server ~145 µs of CPU each against redis-server's ~40) were ~5-10% of it.
const R = ["-r", opts.keyspace];
const TESTS = [
  { name: "PING_INLINE", args: ["-t", "ping_inline"], needs: [["PING"]] },
  { name: "PING_MBULK", args: ["-t", "ping_mbulk"], needs: [["PING"]] },
  { name: "SET", args: ["-t", "set"], needs: [["SET", "__probe__", "1"]] },
  { name: "GET", args: ["-t", "get"], needs: [["GET", "__probe__"]] },
  { name: "INCR", args: ["-t", "incr"], needs: [["INCR", "__probe_counter__"]] },
  { name: "LPUSH", args: ["-t", "lpush"], needs: [["LPUSH", "__probe_list__", "v"]] },
  { name: "RPUSH", args: ["-t", "rpush"], needs: [["RPUSH", "__probe_list__", "v"]] },
  { name: "LPOP", args: ["-t", "lpop"], needs: [["LPOP", "__probe_list__"]] },
  { name: "RPOP", args: ["-t", "rpop"], needs: [["RPOP", "__probe_list__"]] },
  { name: "SADD", args: ["-t", "sadd"], needs: [["SADD", "__probe_set__", "v"]] },
  { name: "HSET", args: ["-t", "hset"], needs: [["HSET", "__probe_hash__", "f", "v"]] },
  { name: "SPOP", args: ["-t", "spop"], needs: [["SPOP", "__probe_set__"]] },
  { name: "ZADD", args: ["-t", "zadd"], needs: [["ZADD", "__probe_zset__", "1", "m"]] },
  { name: "ZPOPMIN", args: ["-t", "zpopmin"], needs: [["ZPOPMIN", "__probe_zset__"]] },
  // redis-benchmark's LRANGE tests first fill `mylist` with an LPUSH run of their own; here
  // that list is filled once (the same LPUSH run as theirs), so each row times LRANGE alone.
  { name: "LPUSH (fills mylist for LRANGE)", args: ["-t", "lpush"], needs: [["LPUSH", "__probe_list__", "v"]], scale: { 16: 0.1 }, pipelines: [16] },
  { name: "LRANGE_100", args: ["LRANGE", "mylist", "0", "99"], needs: [["LRANGE", "__probe_list__", "0", "1"]], scale: { 16: 0.5 } },
  { name: "LRANGE_300", args: ["LRANGE", "mylist", "0", "299"], needs: [["LRANGE", "__probe_list__", "0", "1"]], scale: { 16: 0.25 } },
  { name: "LRANGE_500", args: ["LRANGE", "mylist", "0", "499"], needs: [["LRANGE", "__probe_list__", "0", "1"]], scale: { 16: 0.2 } },
  { name: "LRANGE_600", args: ["LRANGE", "mylist", "0", "599"], needs: [["LRANGE", "__probe_list__", "0", "1"]], scale: { 16: 0.2 } },
  { name: "MSET", args: ["-t", "mset"], needs: [["MSET", "__probe__", "1", "__probe2__", "2"]] },
  // Beyond the default list: many keys instead of one, and 1 KiB values.
  { name: "SET -r 100k", args: ["-t", "set", ...R], needs: [["SET", "__probe__", "1"]] },
  { name: "GET -r 100k", args: ["-t", "get", ...R], needs: [["GET", "__probe__"]] },
  { name: "SET -d 1024", args: ["-t", "set", "-d", "1024", ...R], needs: [["SET", "__probe__", "1"]] },
  { name: "GET -d 1024", args: ["-t", "get", "-d", "1024", ...R], needs: [["GET", "__probe__"]] },
  { name: "HGET", args: ["HGET", "myhash", "element:__rand_int__"], needs: [["HGET", "__probe_hash__", "f"]] },
];

const PIPELINES = (opts.pipeline ?? ["1", "16"]).map(Number);
const SHARDS = opts.shards.split(",").map(Number).filter((n) => n > 0);
const BENCHMARK_TIMEOUT_MS = 600_000;
const TICK_US = 1e6 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

function fail(msg) {
  console.error(`bench:compare: ${msg}`);
  process.exit(1);
}

/** One command over a fresh connection; resolves to the reply's first line. */
function probe(port, argv) {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => { sock.destroy(); resolve("-timeout"); }, 10000);
    sock.on("data", (d) => {
      text += d;
      const e = text.indexOf("\r\n");
      if (e < 0) return;
      // A bulk reply (INFO): wait for its body.
      if (text[0] === "$") {
        const n = Number(text.slice(1, e));
        if (n >= 0 && Buffer.byteLength(text) < e + 2 + n + 2) return;
        clearTimeout(timer); sock.destroy(); resolve(n < 0 ? "" : text.slice(e + 2, e + 2 + n));
        return;
      }
      clearTimeout(timer); sock.destroy(); resolve(text.slice(0, e));
    });
    sock.on("error", () => { clearTimeout(timer); resolve("-connection error"); });
    let req = `*${argv.length}\r\n`;
    for (const a of argv) req += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    sock.write(req);
  });
}

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 1024) : null;
}

/** utime + stime of a process, in microseconds. */
function cpuUs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // fields from 3 (state) on
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}

/**
 * CPU of this process's children that have been waited for (cutime + cstime of
 * /proc/self/stat), in microseconds. During one redis-benchmark run the only child that
 * exits and is reaped is redis-benchmark itself (the servers live until stopAll; the memory
 * phase's redis-cli runs are not inside a run), so the delta over a run is exactly the
 * client's CPU: read at exit time, with no race against the process disappearing.
 */
function reapedChildrenCpuUs() {
  const stat = readFileSync("/proc/self/stat", "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[13]) + Number(f[14])) * TICK_US;
}

/**
 * redis-benchmark --csv: the last line is "TEST","rps",... redis-benchmark does not give up
 * when its server goes away (it spins reconnecting), so the run is watched: if the server
 * dies, or the run passes its time limit, redis-benchmark is killed by its pid and the run
 * fails with the server's last log lines.
 */
async function runBenchmark(server, test, pipeline) {
  const full = pipeline > 1 ? Number(opts["pipelined-requests"]) : Number(opts.requests);
  const n = Math.max(1000, Math.round(full * (test.scale?.[pipeline] ?? 1)));
  const args = ["-h", "127.0.0.1", "-p", String(server.port), "-n", String(n), "-c", opts.clients, "-P", String(pipeline), "--csv", ...test.args];
  const what = `redis-benchmark ${args.join(" ")}`;
  const cpu0 = cpuUs(server.pid);
  const client0 = reapedChildrenCpuUs();
  const wall0 = performance.now();
  const bench = spawn("redis-benchmark", args, { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  bench.stdout.on("data", (d) => { stdout += d; });
  bench.stderr.on("data", (d) => { stderr += d; });
  let failure = null;
  const started = Date.now();
  const watch = setInterval(() => {
    if (failure !== null) return;
    if (!server.alive()) failure = `the server (pid ${server.pid}) died during ${what}:\n${server.log().slice(-4000)}`;
    else if (Date.now() - started > BENCHMARK_TIMEOUT_MS) failure = `${what} still running after ${BENCHMARK_TIMEOUT_MS / 1000} s`;
    if (failure !== null) process.kill(bench.pid, "SIGKILL");
  }, 250);
  const status = await new Promise((resolve) => bench.once("close", (code, signal) => resolve(code ?? signal)));
  clearInterval(watch);
  if (failure === null && !server.alive()) failure = `the server (pid ${server.pid}) died during ${what}:\n${server.log().slice(-4000)}`;
  if (failure !== null) throw new Error(failure);
  const cpu1 = cpuUs(server.pid);
  const wallUs = (performance.now() - wall0) * 1000;
  const clientUs = reapedChildrenCpuUs() - client0;
  const lines = stdout.trim().split("\n").filter((l) => l.startsWith('"') && !l.startsWith('"test"'));
  const last = lines.at(-1);
  if (status !== 0 || !last) throw new Error(`${what} failed (${status}): ${stderr || stdout}`);
  // Core use: CPU time over the time redis-benchmark measured (n / rps; its start-up and
  // connection set-up are outside it and cost little CPU). 1.0 = one core busy the whole
  // run. redis-benchmark is single-threaded: near 1.0 it is the bottleneck, and no server
  // can be driven faster by it on this machine.
  const rps = Number(JSON.parse(`[${last}]`)[1]);
  const measuredUs = (n / rps) * 1e6;
  return {
    rps, cpuUsPerReq: (cpu1 - cpu0) / n, wallUs, timedUs: measuredUs,
    clientCpuUsPerReq: clientUs / n, serverUtil: (cpu1 - cpu0) / measuredUs, clientUtil: clientUs / measuredUs,
  };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const round2 = (x) => Math.round(x * 100) / 100;
const pct = (x) => `${Math.round(x * 100)}%`;
/** Median core use of server and client, and the client's CPU per request, of some runs. */
const usage = (xs) => ({
  serverUtil: round2(median(xs.map((x) => x.serverUtil))), clientUtil: round2(median(xs.map((x) => x.clientUtil))),
  clientCpuUs: round2(median(xs.map((x) => x.clientCpuUsPerReq))),
});
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

async function startOurs(shards) {
  // startServer spawns after an await: the variable must stay set until it has started.
  const prev = process.env.LATTICEKV_SHARDS;
  process.env.LATTICEKV_SHARDS = String(shards);
  try {
    const s = await startServer(latticekvCommand(cli));
    return s;
  } finally {
    if (prev === undefined) delete process.env.LATTICEKV_SHARDS;
    else process.env.LATTICEKV_SHARDS = prev;
  }
}

async function startAll() {
  const servers = { redis: await startServer(["redis-server", "--appendonly", "no"]) };
  for (const n of SHARDS) servers[`ours${n}`] = await startOurs(n);
  return servers;
}

async function stopAll(servers) {
  for (const s of Object.values(servers)) await s.stop();
}

async function throughput(lines) {
  const servers = await startAll();
  const ours = Object.keys(servers).filter((k) => k !== "redis");
  const idleRss = Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, rssMiB(s.pid)]));
  try {
    const wanted = opts.test?.map((t) => t.toUpperCase());
    const tests = [];
    const skipped = [];
    for (const t of TESTS) {
      if (wanted && !wanted.some((w) => t.name.toUpperCase() === w || (t.name.startsWith("LPUSH (") && w.startsWith("LRANGE")))) continue;
      const replies = await Promise.all(t.needs.map((argv) => probe(servers[ours[0]].port, argv)));
      const bad = replies.find((r) => r.startsWith("-"));
      if (bad) skipped.push(`${t.name} (${bad.slice(1, 80)})`);
      else tests.push(t);
    }
    const samples = {};
    const rounds = Number(opts.rounds);
    const names = Object.keys(servers);
    const loadStart = loadavg();
    for (let round = 0; round < rounds; round++) {
      // Rotate who goes first, so warm caches or a busy neighbour do not favour one side.
      const order = names.map((_, i) => names[(i + round) % names.length]);
      for (const t of tests) {
        for (const p of t.pipelines ?? PIPELINES) {
          for (const who of order) {
            const res = await runBenchmark(servers[who], t, p);
            const s = (samples[`${t.name} -P ${p}`] ??= Object.fromEntries(names.map((n) => [n, []])));
            s[who].push(res);
            process.stdout.write(`round ${round + 1}/${rounds} ${t.name} -P ${p} ${who}: ${Math.round(res.rps)} rps, ${res.cpuUsPerReq.toFixed(2)} µs CPU/req, ` +
              `core use server ${pct(res.serverUtil)} benchmark ${pct(res.clientUtil)} (${res.clientCpuUsPerReq.toFixed(2)} µs/req)\n`);
          }
        }
      }
    }
    for (const [who, s] of Object.entries(servers)) if (!s.alive()) throw new Error(`${who} server died during the run:\n${s.log().slice(-4000)}`);
    const rss = Object.fromEntries(Object.entries(servers).map(([k, s]) => [k, rssMiB(s.pid)]));

    // The ratio is the median of per-round ratios: each round's runs are back to back,
    // so a neighbour's load that drifts over minutes cancels out better than in a ratio of medians.
    const rows = Object.entries(samples).filter(([test]) => !test.startsWith("LPUSH (")).map(([test, s]) => {
      const row = { test, redisRps: Math.round(median(s.redis.map((x) => x.rps))), redisCpuUs: round2(median(s.redis.map((x) => x.cpuUsPerReq))), redisUsage: usage(s.redis) };
      for (const o of ours) {
        const ratios = s[o].map((x, i) => x.rps / s.redis[i].rps);
        row[o] = {
          rps: Math.round(median(s[o].map((x) => x.rps))), cpuUs: round2(median(s[o].map((x) => x.cpuUsPerReq))),
          ratio: round2(median(ratios)), ratioMin: round2(Math.min(...ratios)), ratioMax: round2(Math.max(...ratios)),
          usage: usage(s[o]),
        };
      }
      return row;
    });
    const head = ["test", "redis rps", "redis µs/req"];
    for (const o of ours) head.push(`${o} rps`, `${o}/redis (range)`, `${o} µs/req`);
    lines.push(`| ${head.join(" | ")} |`, `|${head.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
    for (const r of rows) {
      const cells = [r.test, String(r.redisRps), r.redisCpuUs.toFixed(2)];
      for (const o of ours) {
        const x = r[o];
        cells.push(String(x.rps), `${x.ratio.toFixed(2)} (${x.ratioMin.toFixed(2)}–${x.ratioMax.toFixed(2)})`, x.cpuUs.toFixed(2));
      }
      lines.push(`| ${cells.join(" | ")} |`);
    }
    // Who used the two cores: if redis-benchmark is near 100% of a core while driving
    // redis-server, that row's requests/s is the client's limit, not the server's.
    const uhead = ["test", ...["redis", ...ours].map((o) => `${o}: server / benchmark core use, benchmark µs/req`)];
    lines.push("", `| ${uhead.join(" | ")} |`, `|${uhead.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`);
    for (const r of rows) {
      const cell = (u) => `${pct(u.serverUtil)} / ${pct(u.clientUtil)}, ${u.clientCpuUs.toFixed(2)}`;
      lines.push(`| ${[r.test, cell(r.redisUsage), ...ours.map((o) => cell(r[o].usage))].join(" | ")} |`);
    }
    const setup = `redis-benchmark -c ${opts.clients}, -n ${opts.requests} at -P 1 and ${opts["pipelined-requests"]} at -P 16 ` +
      `(LRANGE rows at -P 16 fewer), median of ${rounds} rotating rounds, 127.0.0.1, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ` +
      `node ${process.version}, load average at start ${loadStart}, at the end ${loadavg()}`;
    lines.push("", setup);
    // A run of a fraction of a second says little: its CPU figure moves in steps of one tick over n
    // requests, and fixed costs (connecting the clients) weigh in its requests/s.
    const short = Object.entries(samples).filter(([test]) => !test.startsWith("LPUSH (")).flatMap(([test, s]) =>
      Object.entries(s).filter(([, xs]) => median(xs.map((x) => x.timedUs)) < 300_000).map(([who, xs]) => `${test} ${who} ${Math.round(median(xs.map((x) => x.timedUs)) / 1000)} ms`));
    if (short.length > 0) lines.push(`runs shorter than 0.3 s (median; more --requests / --pipelined-requests to lengthen them): ${short.join(", ")}`);
    for (const s of skipped) lines.push(`skipped: ${s}`);
    lines.push(`RSS MiB idle: ${Object.entries(idleRss).map(([k, v]) => `${k} ${v}`).join(", ")}; after the run: ${Object.entries(rss).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    return { setup, rows, samples, rssMiB: { idle: idleRss, end: rss }, skipped };
  } finally {
    await stopAll(servers);
  }
}

/** RESP for `redis-cli --pipe`, written once to a scratch file. */
function pipeFile(dir, name, count, encode) {
  const file = join(dir, name);
  const parts = [];
  const cmd = (argv) => {
    let s = `*${argv.length}\r\n`;
    for (const a of argv) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
    return s;
  };
  for (let i = 0; i < count; i++) parts.push(cmd(encode(i)));
  writeFileSync(file, parts.join(""));
  return file;
}

function pipeInto(port, file) {
  const r = spawnSync("sh", ["-c", `redis-cli -h 127.0.0.1 -p ${port} --pipe < '${file}'`], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0 || !/errors: 0,/.test(r.stdout)) throw new Error(`redis-cli --pipe failed: ${r.stdout}${r.stderr}`);
}

async function usedMemoryMiB(port) {
  const info = await probe(port, ["INFO", "memory"]);
  const m = /used_memory:(\d+)/.exec(info);
  return m ? round2(Number(m[1]) / 2 ** 20) : null;
}

async function memory(lines) {
  const dir = mkdtempSync(join(os.tmpdir(), "lkv-bench-mem-"));
  const keys = 1_000_000;
  const hashes = 100_000;
  const strings = pipeFile(dir, "strings.resp", keys, (i) => ["SET", `key:${i}`, String(i % 10).repeat(10)]);
  const hashFile = pipeFile(dir, "hashes.resp", hashes, (i) => {
    const argv = ["HSET", `hash:${i}`];
    for (let f = 0; f < 10; f++) argv.push(`field:${f}`, `value:${f}`);
    return argv;
  });
  const out = {};
  try {
    const servers = await startAll();
    try {
      for (const [who, s] of Object.entries(servers)) {
        const idle = rssMiB(s.pid);
        pipeInto(s.port, strings);
        const loaded = rssMiB(s.pid);
        const used = await usedMemoryMiB(s.port);
        // Every key written again: its old value is freed and a new one allocated.
        pipeInto(s.port, strings);
        const rewritten = rssMiB(s.pid);
        out[who] = { strings: { idleRss: idle, rss: loaded, usedMemory: used, rssAfterRewrite: rewritten, bytesPerKey: Math.round(((loaded - idle) * 2 ** 20) / keys) } };
      }
    } finally {
      await stopAll(servers);
    }
    const fresh = await startAll();
    try {
      for (const [who, s] of Object.entries(fresh)) {
        const idle = rssMiB(s.pid);
        pipeInto(s.port, hashFile);
        out[who].hashes = { idleRss: idle, rss: rssMiB(s.pid), usedMemory: await usedMemoryMiB(s.port) };
      }
    } finally {
      await stopAll(fresh);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  lines.push("", "| memory | " + Object.keys(out).join(" | ") + " |", "|---|" + Object.keys(out).map(() => "---:").join("|") + "|");
  const row = (label, f) => lines.push(`| ${label} | ${Object.values(out).map(f).join(" | ")} |`);
  row("1M `SET key:N` (10-byte values): RSS MiB (idle)", (m) => `${m.strings.rss} (${m.strings.idleRss})`);
  row("  RSS bytes per key above idle", (m) => String(m.strings.bytesPerKey));
  row("  INFO used_memory MiB", (m) => String(m.strings.usedMemory));
  row("  RSS MiB after writing every key again", (m) => String(m.strings.rssAfterRewrite));
  row("100k hashes of 10 fields: RSS MiB (idle)", (m) => `${m.hashes.rss} (${m.hashes.idleRss})`);
  row("  RSS bytes per hash above idle", (m) => String(Math.round(((m.hashes.rss - m.hashes.idleRss) * 2 ** 20) / hashes)));
  row("  INFO used_memory MiB", (m) => String(m.hashes.usedMemory));
  return out;
}

async function main() {
  if (spawnSync("sh", ["-c", "command -v redis-benchmark && command -v redis-server && command -v redis-cli"], { stdio: "ignore" }).status !== 0) {
    fail("needs redis-server, redis-cli and redis-benchmark (apt-get install redis-server redis-tools)");
  }
  if (!existsSync(cli)) fail("dist/src/cli.js missing: npm run build first");
  const date = new Date().toISOString();
  const lines = [`bench:compare ${date} (${process.argv.slice(2).join(" ") || "defaults"})`, ""];
  const result = { date, node: process.version, cores: os.cpus().length, shards: SHARDS };
  if (!opts["memory-only"]) Object.assign(result, await throughput(lines));
  if (!opts["no-memory"]) result.memory = await memory(lines);
  const text = lines.join("\n") + "\n";
  console.log("\n" + text);
  const dir = `${root}bench/results/`;
  mkdirSync(dir, { recursive: true });
  const base = `${dir}compare-${date.replace(/[:.]/g, "-")}`;
  writeFileSync(`${base}.json`, JSON.stringify(result, null, 2) + "\n");
  writeFileSync(`${base}.md`, text);
  console.log(`written ${base}.json and .md`);
}

main().catch((e) => fail(e?.stack ?? e));
