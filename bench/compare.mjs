#!/usr/bin/env node
// npm run bench:compare [-- --rounds 3 --requests 200000 --pipelined-requests 1000000 --clients 50]
//
// Our server against a real redis-server on the same machine, in one run: both start on
// free ports (scratch --dir, --save ""), then redis-benchmark runs each test against each
// server, alternating which goes first every round. Prints the median requests/s of each,
// the ratio ours/redis per test (median of the per-round ratios, with their range), both
// servers' RSS and the machine's load average (a busy machine makes the ratios noisy).
// Writes JSON to bench/results/.
// A test runs only if our server implements its commands (probed once, before timing).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
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
    test: { type: "string", multiple: true },
  },
});

// name, redis-benchmark arguments after the common ones, commands our server must have.
const TESTS = [
  { name: "SET", args: ["-t", "set"], needs: [["SET", "__probe__", "1"]] },
  { name: "GET", args: ["-t", "get"], needs: [["GET", "__probe__"]] },
  { name: "INCR", args: ["-t", "incr"], needs: [["INCR", "__probe_counter__"]] },
  { name: "MSET", args: ["-t", "mset"], needs: [["MSET", "__probe__", "1", "__probe2__", "2"]] },
  { name: "HSET", args: ["-t", "hset"], needs: [["HSET", "__probe_hash__", "f", "v"]] },
  // redis-benchmark has no HGET test; the hset test above fills myhash element:__rand_int__.
  { name: "HGET", args: ["HGET", "myhash", "element:__rand_int__"], needs: [["HGET", "__probe_hash__", "f"]] },
  // Host-side types: the cost of a hand-back from the kernel shows here.
  { name: "LPUSH", args: ["-t", "lpush"], needs: [["LPUSH", "__probe_list__", "v"]] },
  { name: "LPOP", args: ["-t", "lpop"], needs: [["LPOP", "__probe_list__"]] },
];

const PIPELINES = [1, 16];

function fail(msg) {
  console.error(`bench:compare: ${msg}`);
  process.exit(1);
}

/** One command over a fresh connection; resolves to the reply's first line. */
function probe(port, argv) {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => { sock.destroy(); resolve("-timeout"); }, 3000);
    sock.on("data", (d) => {
      text += d;
      if (text.includes("\r\n")) { clearTimeout(timer); sock.destroy(); resolve(text.split("\r\n")[0]); }
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

/** redis-benchmark --csv: the last line is "TEST","rps",... */
function runBenchmark(port, test, pipeline) {
  const n = pipeline > 1 ? opts["pipelined-requests"] : opts.requests;
  const args = ["-h", "127.0.0.1", "-p", String(port), "-n", n, "-c", opts.clients, "-P", String(pipeline), "-r", opts.keyspace, "--csv", ...test.args];
  const r = spawnSync("redis-benchmark", args, { encoding: "utf8", timeout: 300_000 });
  const lines = (r.stdout ?? "").trim().split("\n").filter((l) => l.startsWith('"') && !l.startsWith('"test"'));
  const last = lines.at(-1);
  if (r.status !== 0 || !last) throw new Error(`redis-benchmark ${args.join(" ")} failed: ${r.stderr || r.stdout}`);
  return Number(JSON.parse(`[${last}]`)[1]);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main() {
  if (spawnSync("sh", ["-c", "command -v redis-benchmark && command -v redis-server"], { stdio: "ignore" }).status !== 0) {
    fail("needs redis-server and redis-benchmark (apt-get install redis-server redis-tools)");
  }
  if (!existsSync(cli)) fail("dist/src/cli.js missing: npm run build first");
  const ours = await startServer(latticekvCommand(cli));
  const redis = await startServer(["redis-server", "--appendonly", "no"]);
  const servers = { ours, redis };
  const idleRss = { ours: rssMiB(ours.pid), redis: rssMiB(redis.pid) };
  try {
    const wanted = opts.test?.map((t) => t.toUpperCase());
    const tests = [];
    const skipped = [];
    for (const t of TESTS) {
      if (wanted && !wanted.includes(t.name)) continue;
      const replies = await Promise.all(t.needs.map((argv) => probe(ours.port, argv)));
      const bad = replies.find((r) => r.startsWith("-"));
      if (bad) skipped.push(`${t.name} (${bad.slice(1, 80)})`);
      else tests.push(t);
    }
    const samples = {};
    const rounds = Number(opts.rounds);
    for (let round = 0; round < rounds; round++) {
      // Alternate who goes first, so warm caches or a busy neighbour do not favour one side.
      const order = round % 2 === 0 ? ["ours", "redis"] : ["redis", "ours"];
      for (const t of tests) {
        for (const p of PIPELINES) {
          for (const who of order) {
            const rps = runBenchmark(servers[who].port, t, p);
            ((samples[`${t.name} -P ${p}`] ??= { ours: [], redis: [] })[who]).push(rps);
            process.stdout.write(`round ${round + 1}/${rounds} ${t.name} -P ${p} ${who}: ${Math.round(rps)} rps\n`);
          }
        }
      }
    }
    for (const [who, s] of Object.entries(servers)) if (!s.alive()) fail(`${who} server died during the run:\n${s.log().slice(-4000)}`);
    const rss = { ours: rssMiB(ours.pid), redis: rssMiB(redis.pid) };
    const keys = async (port) => {
      const r = await probe(port, ["DBSIZE"]);
      return r.startsWith(":") ? Number(r.slice(1)) : null;
    };
    const dbsize = { ours: await keys(ours.port), redis: await keys(redis.port) };

    // The ratio is the median of per-round ratios: each round's two runs are back to back,
    // so a neighbour's load that drifts over minutes cancels out better than in a ratio of medians.
    const round2 = (x) => Math.round(x * 100) / 100;
    const rows = Object.entries(samples).map(([test, s]) => {
      const ratios = s.ours.map((o, i) => o / s.redis[i]);
      return {
        test, oursRps: Math.round(median(s.ours)), redisRps: Math.round(median(s.redis)),
        ratio: round2(median(ratios)), ratioMin: round2(Math.min(...ratios)), ratioMax: round2(Math.max(...ratios)),
      };
    });
    const w = Math.max(4, ...rows.map((r) => r.test.length));
    console.log(`\n${"test".padEnd(w)}  ${"ours rps".padStart(10)}  ${"redis rps".padStart(10)}  ${"ours/redis".padStart(10)}  ${"range".padStart(11)}`);
    for (const r of rows) {
      console.log(`${r.test.padEnd(w)}  ${String(r.oursRps).padStart(10)}  ${String(r.redisRps).padStart(10)}  ${r.ratio.toFixed(2).padStart(10)}  ${`${r.ratioMin.toFixed(2)}-${r.ratioMax.toFixed(2)}`.padStart(11)}`);
    }
    console.log(`\nRSS MiB idle: ours ${idleRss.ours}, redis ${idleRss.redis}; after the run: ours ${rss.ours}, redis ${rss.redis} (DBSIZE ours ${dbsize.ours ?? "n/a"}, redis ${dbsize.redis ?? "n/a"})`);
    const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    const setup = `redis-benchmark -c ${opts.clients} -r ${opts.keyspace}, -n ${opts.requests} at -P 1 and ${opts["pipelined-requests"]} at -P 16, median of ${rounds} alternating rounds, 127.0.0.1, ${spawnSync("nproc", { encoding: "utf8" }).stdout.trim()} cores, load average at the end ${load}`;
    console.log(setup);
    for (const s of skipped) console.log(`skipped: ${s}`);

    const dir = `${root}bench/results/`;
    mkdirSync(dir, { recursive: true });
    const date = new Date().toISOString();
    const file = `${dir}compare-${date.replace(/[:.]/g, "-")}.json`;
    writeFileSync(file, JSON.stringify({ date, setup, node: process.version, rows, samples, rssMiB: { idle: idleRss, end: rss }, dbsize, skipped }, null, 2) + "\n");
    console.log(`written ${file}`);
  } finally {
    await ours.stop();
    await redis.stop();
  }
}

main().catch((e) => fail(e?.stack ?? e));
