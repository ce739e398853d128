#!/usr/bin/env node
// A/B of server CPU per request between LatticeKV builds (and redis-server), for a change's
// commit message: `node bench/ab.mjs --a /work/main --b . --test zadd,zpopmin`.
//
// Each build's dist/src/cli.js and a redis-server start on free ports; every round runs
// redis-benchmark (-c 50 -P 16 -n N) once against each, rotating who goes first, and reads the
// server's utime+stime from /proc/PID/stat around the run. On a loaded machine requests/s
// moves with the neighbours, CPU per request much less: that is the figure printed (median
// of the rounds, and their range). Servers are killed by pid at the end.
//
// A second table has each server's median requests/s, its ratio to the first server's in the
// same round (median of the rounds) and the benchmark's own CPU per request (the cutime+cstime
// this process gains when redis-benchmark is reaped): at -P 1 with big replies the benchmark is
// the busy process, and requests/s is the figure that moves (alternate many rounds: one round
// under load says little). redis-benchmark's LRANGE_N tests (-t lrange_600) first run an LPUSH
// fill that would be counted in; for those rows give the list and the command instead:
//   node bench/ab.mjs --pipeline 1 --n 100000 --prepare bench/lrange-600.txt \
//     --command "LRANGE mylist 0 599" --rounds 9
// A new connection per request (redis-benchmark -k 0: what a client that connects per request
// costs, connect + one command + close): --pipeline 1 --n 50000 --args="-k 0".
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import net from "node:net";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    a: { type: "string", default: "/work/main" },
    b: { type: "string", default: "." },
    test: { type: "string", default: "zadd,zpopmin" },
    rounds: { type: "string", default: "5" },
    n: { type: "string", default: "300000" },
    pipeline: { type: "string", default: "16" },
    "no-redis": { type: "boolean", default: false },
    // A file of commands (one a line, as redis-cli reads them) run once on every server before
    // the rounds: a dataset the commands below read (DEBUG RELOAD in it, to time loaded values).
    prepare: { type: "string" },
    // Commands run as redis-benchmark's own command line instead of -t tests, separated by
    // ";" (e.g. "SISMEMBER s:__rand_int__ m5;SADD s:__rand_int__ m5"), with -r keyspace.
    command: { type: "string" },
    // Like --command, as a JSON array of argv arrays, for arguments with spaces (a Lua body):
    // '[["EVAL","return redis.call(\'SET\',KEYS[1],ARGV[1])","1","key:__rand_int__","v"]]'.
    argv: { type: "string" },
    keyspace: { type: "string", default: "1000" },
    // Shards of both LatticeKV builds (LATTICEKV_SHARDS), e.g. 4 for the sharded read path.
    shards: { type: "string", default: "1" },
    // More redis-benchmark arguments for every run, e.g. "-r 100000" or "-d 1024". Written
    // --args="-r 100000": node's parseArgs refuses a separate value that starts with "-".
    args: { type: "string", default: "" },
    // Ports from this one up (a, b, redis) instead of free ones the system picks.
    baseport: { type: "string" },
  },
});

const TICK_US = 1e6 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14 and 15)
}

/** CPU ticks of this process's reaped children (cutime + cstime, fields 16 and 17). */
function childTicks() {
  const f = readFileSync("/proc/self/stat", "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(rest[13]) + Number(rest[14]);
}

let nextPort = opts.baseport ? Number(opts.baseport) : 0;
function freePort() {
  if (nextPort > 0) return Promise.resolve(nextPort++);
  return new Promise((res) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

async function waitPing(port) {
  for (let i = 0; i < 200; i++) {
    if (spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).stdout.trim() === "PONG") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server on ${port} did not answer`);
}

// Every child, registered as soon as it is spawned: the finally below kills them all, also when
// a later server fails to start or --prepare fails (which used to leave the earlier ones running).
const spawned = [];

async function start(name, argv, parent) {
  const port = await freePort();
  // A dir each: DEBUG RELOAD in --prepare writes dump.rdb there.
  const dir = mkdtempSync(join(parent, `${name}-`));
  const child = spawn(argv[0], [...argv.slice(1), "--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir,
    ...(opts.prepare ? ["--enable-debug-command", "yes"] : [])],
    { stdio: "ignore", env: { ...process.env, LATTICEKV_SHARDS: opts.shards } });
  spawned.push(child);
  await waitPing(port);
  if (opts.prepare) {
    const r = spawnSync("redis-cli", ["-p", String(port)], { input: readFileSync(opts.prepare), encoding: "utf8", maxBuffer: 1 << 28 });
    if (r.status !== 0 || /^(ERR|WRONGTYPE)/m.test(r.stdout)) throw new Error(`--prepare on ${name}: ${r.stdout.slice(-500)}${r.stderr}`);
  }
  return { name, port, pid: child.pid, child };
}

const dir = mkdtempSync(join(tmpdir(), "lkv-ab-"));
const servers = [];
const argvTests = opts.argv ? JSON.parse(opts.argv) : null;
const tests = argvTests ? argvTests.map((a) => a.join(" ")) : opts.command ? opts.command.split(";") : opts.test.split(",");
const extraArgs = opts.args.split(" ").filter(Boolean);
const benchArgs = (t) => [...extraArgs, ...(argvTests ? ["-r", opts.keyspace, ...argvTests[tests.indexOf(t)]]
  : opts.command ? ["-r", opts.keyspace, ...t.split(" ")] : ["-t", t])];
const rounds = Number(opts.rounds);
const samples = {};
const rpsSamples = {};
const benchSamples = {};
try {
  servers.push(await start("a", ["node", resolve(opts.a, "dist/src/cli.js")], dir));
  servers.push(await start("b", ["node", resolve(opts.b, "dist/src/cli.js")], dir));
  if (!opts["no-redis"]) servers.push(await start("redis", ["redis-server"], dir));
  for (let r = 0; r < rounds; r++) {
    const order = servers.map((_, i) => servers[(i + r) % servers.length]);
    for (const t of tests) {
      for (const s of order) {
        const before = cpuTicks(s.pid);
        const childBefore = childTicks();
        const out = spawnSync("redis-benchmark", ["-p", String(s.port), "-c", "50", "-P", opts.pipeline, "-n", opts.n, "-q", ...benchArgs(t)],
          { encoding: "utf8" });
        const us = ((cpuTicks(s.pid) - before) * TICK_US) / Number(opts.n);
        const benchUs = ((childTicks() - childBefore) * TICK_US) / Number(opts.n);
        // The last figure: an LRANGE_N test's own, not its LPUSH fill's (-q prints one line per test).
        const all = [...out.stdout.matchAll(/([\d.]+) requests per second/g)];
        const rps = Number(all.length ? all[all.length - 1][1] : NaN);
        ((samples[t] ??= {})[s.name] ??= []).push(us);
        ((rpsSamples[t] ??= {})[s.name] ??= []).push(rps);
        ((benchSamples[t] ??= {})[s.name] ??= []).push(benchUs);
        process.stdout.write(`round ${r + 1} ${t} ${s.name}: ${us.toFixed(2)} µs CPU/req, ${Math.round(rps)} rps\n`);
      }
    }
  }
} finally {
  for (const child of spawned) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`\nserver CPU µs per request, -c 50 -P ${opts.pipeline} -n ${opts.n}${extraArgs.length ? " " + opts.args : ""}, ${opts.shards} shard(s), median of ${rounds} rounds [range]; a=${opts.a} b=${opts.b}; load ${load}`);
console.log(`| test | ${servers.map((s) => s.name).join(" | ")} |`);
console.log(`|---|${servers.map(() => "---:").join("|")}|`);
for (const t of tests) {
  const row = servers.map((s) => { const xs = samples[t][s.name]; return `${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`; });
  console.log(`| ${argvTests || opts.command ? t : t.toUpperCase()} | ${row.join(" | ")} |`);
}
console.log(`\nrequests/s, median of ${rounds} rounds; (ratio to ${servers[0].name} in the same round: median [range]); benchmark CPU µs per request`);
console.log(`| test | ${servers.map((s) => s.name).join(" | ")} |`);
console.log(`|---|${servers.map(() => "---:").join("|")}|`);
for (const t of tests) {
  const base = rpsSamples[t][servers[0].name];
  const row = servers.map((s) => {
    const xs = rpsSamples[t][s.name];
    const ratios = xs.map((x, i) => x / base[i]);
    const ratio = s === servers[0] ? "" : ` (${median(ratios).toFixed(2)} [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}])`;
    return `${Math.round(median(xs))}${ratio}, ${median(benchSamples[t][s.name]).toFixed(2)}`;
  });
  console.log(`| ${argvTests || opts.command ? t : t.toUpperCase()} | ${row.join(" | ")} |`);
}
