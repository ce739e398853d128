#!/usr/bin/env node
// Server CPU per command of a pipelined read, in-process: no socket, no system call.
//
// A Client of a Server built from each build's dist/ (a fake socket that only counts the reply
// bytes) is handed the same 16-command reads (SET or GET of random keys among --keyspace), as
// a socket read would hand them; the process's own user+system CPU over --reads reads, divided
// by the commands, is the figure. With --shards 4 that is the read path that splits a read
// between shards (src/server/deferred-runs.ts) and joins the replies, without the TCP stack
// and the benchmark client, which make up most of a redis-benchmark run's CPU and its noise on
// a loaded machine: a change of ~2-3% shows here where bench/ab.mjs needs a quiet machine.
//
//   node bench/read-loop.mjs --builds /work/main,. --shards 4 --test set --rounds 5
//
// Each round runs every build once, each in a child process of its own, rotating who goes
// first; prints the median µs per command and the range of the rounds.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    builds: { type: "string", default: "/work/main,." },
    shards: { type: "string", default: "4" },
    test: { type: "string", default: "set" },
    reads: { type: "string", default: "60000" },
    pipeline: { type: "string", default: "16" },
    keyspace: { type: "string", default: "100000" },
    // Bytes of each SET value (redis-benchmark's -d): 1024 for the -d 1024 rows of bench:compare.
    "value-size": { type: "string", default: "3" },
    rounds: { type: "string", default: "5" },
    // Different reads made (and used in turn): 1000 reads of 16 commands touch ~16,000 keys;
    // 6250 cover most of a 100,000-key keyspace, as a redis-benchmark -r 100000 run does.
    distinct: { type: "string", default: "1000" },
    // Internal: run one measurement in this process (the parent passes the build).
    child: { type: "string" },
  },
});

if (opts.child) {
  const repo = resolve(opts.child);
  process.env.LATTICEKV_SHARDS = opts.shards;
  const { Config } = await import(`${repo}/dist/src/config/config.js`);
  const { Server } = await import(`${repo}/dist/src/server/server.js`);
  const { Client } = await import(`${repo}/dist/src/server/client.js`);
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const dir = mkdtempSync(`${tmpdir()}/lkv-read-loop-`);
  const config = new Config();
  config.set("dir", [dir], true);
  const server = new Server(config);
  let replyBytes = 0;
  const socket = {
    remoteAddress: "127.0.0.1", remotePort: 1, localAddress: "127.0.0.1", localPort: 2, writableLength: 0, writableCorked: 0,
    write(b) { replyBytes += b.length; return true; },
    cork() {}, uncork() {}, pause() {}, resume() {}, once() {}, on() {}, end() {}, destroy() {},
  };
  const client = new Client(server, socket);
  const cmd = (...argv) => `*${argv.length}\r\n${argv.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`;
  // redis-benchmark's list rows, one command repeated (its key and 3-byte value).
  const LIST_TESTS = {
    lpush: cmd("LPUSH", "mylist", "xxx"), rpush: cmd("RPUSH", "mylist", "xxx"),
    lrange_100: cmd("LRANGE", "mylist", "0", "99"), lrange_600: cmd("LRANGE", "mylist", "0", "599"),
  };
  // --distinct reads (1000), made once from a fixed seed (so every build gets the same keys), used in turn.
  let seed = 1;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff);
  const pipeline = Number(opts.pipeline);
  const reads = [];
  const sets = [];
  const value = "x".repeat(Number(opts["value-size"]));
  const distinct = Number(opts.distinct);
  for (let i = 0; i < distinct; i++) {
    let get = "";
    let set = "";
    for (let j = 0; j < pipeline; j++) {
      const key = `key:${String(next() % Number(opts.keyspace)).padStart(12, "0")}`;
      get += cmd("GET", key);
      set += cmd("SET", key, value);
    }
    reads.push(Buffer.from(opts.test === "get" ? get : opts.test in LIST_TESTS ? LIST_TESTS[opts.test].repeat(pipeline) : set));
    sets.push(Buffer.from(set));
  }
  // redis-benchmark's LRANGE_N rows read a list of 600 "xxx" that one LPUSH run filled.
  if (opts.test.startsWith("lrange")) sets.push(Buffer.from(cmd("LPUSH", "mylist", ...Array(600).fill("xxx"))));
  const n = Number(opts.reads);
  for (const s of sets) client.onData(s); // the keys the reads use exist
  for (let i = 0; i < Math.min(n, 20000); i++) client.onData(reads[i % distinct]); // warm-up
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) client.onData(reads[i % distinct]);
  const used = process.cpuUsage(before);
  if (replyBytes === 0) throw new Error("no replies");
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(`\nREAD_LOOP_RESULT ${(used.user + used.system) / (n * pipeline)}\n`);
  process.exit(0);
}

const builds = opts.builds.split(",").map((b) => resolve(b));
const results = builds.map(() => []);
const rounds = Number(opts.rounds);
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < builds.length; i++) {
    const b = (i + r) % builds.length;
    const run = spawnSync(process.execPath, [new URL(import.meta.url).pathname, "--child", builds[b], "--shards", opts.shards,
      "--test", opts.test, "--reads", opts.reads, "--pipeline", opts.pipeline, "--keyspace", opts.keyspace, "--value-size", opts["value-size"], "--distinct", opts.distinct],
      { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`${builds[b]}: ${run.stderr.slice(-2000)}`);
    const m = /READ_LOOP_RESULT (\S+)/.exec(run.stdout);
    if (!m) throw new Error(`${builds[b]}: no result in ${run.stdout.slice(-500)}`);
    results[b].push(Number(m[1]));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load = (await import("node:fs")).readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`CPU µs per command in-process, ${opts.test.toUpperCase()} of ${opts.keyspace} random keys, ${opts["value-size"]}-byte values, ${opts.pipeline} a read, ` +
  `${opts.shards} shard(s), ${opts.reads} reads, median of ${rounds} rounds [range]; load ${load}`);
for (let i = 0; i < builds.length; i++) {
  const xs = results[i];
  console.log(`${builds[i]}: ${median(xs).toFixed(3)} [${Math.min(...xs).toFixed(3)}–${Math.max(...xs).toFixed(3)}]`);
}
