#!/usr/bin/env node
// Server CPU per replicated write, master and replica, for LatticeKV builds and redis-server:
// `node bench/repl-cpu.mjs --builds /work/main,. --test set`.
//
// For each build (and redis-server unless --no-redis) a master and a replica of it start on free
// ports (--baseport: from there up instead); every round runs redis-benchmark (-c 50 -P 16
// -r 100000 -n N) against each master, rotating who goes first, waits until the replica has
// applied the master's whole stream (its INFO master_repl_offset reaches the master's), and
// reads each process's utime+stime from /proc/PID/stat around that. Prints the median µs per
// write (and the range) of the master and of the replica. Servers are killed by pid at the end.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import net from "node:net";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    builds: { type: "string", default: "." },
    test: { type: "string", default: "set" },
    rounds: { type: "string", default: "5" },
    n: { type: "string", default: "300000" },
    pipeline: { type: "string", default: "16" },
    keyspace: { type: "string", default: "100000" },
    "no-redis": { type: "boolean", default: false },
    baseport: { type: "string" },
    // More arguments for every server (both roles), e.g. "--repl-diskless-sync no".
    "server-args": { type: "string", default: "" },
  },
});

const TICK_US = 1e6 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14 and 15)
}

let nextPort = opts.baseport ? Number(opts.baseport) : 0;
function freePort() {
  if (nextPort) return Promise.resolve(nextPort++);
  return new Promise((res) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

const cli = (port, ...args) => spawnSync("redis-cli", ["-p", String(port), ...args], { encoding: "utf8" }).stdout.trim();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const infoField = (port, name) => (cli(port, "info", "replication").match(new RegExp(`^${name}:(.*)\\r?$`, "m")) ?? [])[1];

async function waitFor(what, f) {
  for (let i = 0; i < 1200; i++) {
    if (f()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function start(name, argv, parent, extra) {
  const port = await freePort();
  const dir = mkdtempSync(join(parent, `${name}-`));
  const child = spawn(argv[0], [...argv.slice(1), "--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir,
    ...opts["server-args"].split(" ").filter(Boolean), ...extra], { stdio: "ignore" });
  await waitFor(`${name} on ${port}`, () => cli(port, "ping") === "PONG");
  return { name, port, pid: child.pid, child };
}

const dir = mkdtempSync(join(tmpdir(), "lkv-repl-cpu-"));
const pairs = [];
const kinds = opts.builds.split(",").map((b, i) => ({ name: `${String.fromCharCode(97 + i)}:${b}`, argv: ["node", resolve(b, "dist/src/cli.js")] }));
if (!opts["no-redis"]) kinds.push({ name: "redis", argv: ["redis-server"] });
const samples = {};
try {
  for (const k of kinds) {
    const master = await start(`${k.name.split(":")[0]}-master`, k.argv, dir, []);
    pairs.push({ name: k.name, master });
    const replica = await start(`${k.name.split(":")[0]}-replica`, k.argv, dir, ["--replicaof", "127.0.0.1", String(master.port)]);
    pairs[pairs.length - 1].replica = replica;
    await waitFor(`${k.name} replica link`, () => infoField(replica.port, "master_link_status") === "up");
  }
  const rounds = Number(opts.rounds);
  for (let r = 0; r < rounds; r++) {
    const order = pairs.map((_, i) => pairs[(i + r) % pairs.length]);
    for (const p of order) {
      const m0 = cpuTicks(p.master.pid), r0 = cpuTicks(p.replica.pid);
      const out = spawnSync("redis-benchmark", ["-p", String(p.master.port), "-c", "50", "-P", opts.pipeline, "-n", opts.n,
        "-r", opts.keyspace, "-q", "-t", opts.test], { encoding: "utf8" });
      const m1 = cpuTicks(p.master.pid);
      const target = infoField(p.master.port, "master_repl_offset");
      // At least: a PING the master sends its replicas meanwhile moves both offsets on.
      await waitFor(`${p.name} replica catching up`, () => Number(infoField(p.replica.port, "master_repl_offset")) >= Number(target));
      // What the master spent after the benchmark (the wait's INFO calls, its cron) is left out;
      // the replica's wait polls cost it a few ticks at most.
      const r1 = cpuTicks(p.replica.pid);
      const mus = ((m1 - m0) * TICK_US) / Number(opts.n), rus = ((r1 - r0) * TICK_US) / Number(opts.n);
      const rps = Number((out.stdout.match(/([\d.]+) requests per second/) ?? [])[1] ?? NaN);
      const s = (samples[p.name] ??= { master: [], replica: [] });
      s.master.push(mus); s.replica.push(rus);
      process.stdout.write(`round ${r + 1} ${p.name}: master ${mus.toFixed(2)} µs, replica ${rus.toFixed(2)} µs per write, ${Math.round(rps)} rps\n`);
    }
  }
} finally {
  for (const p of pairs) for (const s of [p.master, p.replica]) s?.child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => { const s = [...xs].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const fmt = (xs) => `${median(xs).toFixed(2)} [${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}]`;
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`\nserver CPU µs per write, ${opts.test} -c 50 -P ${opts.pipeline} -r ${opts.keyspace} -n ${opts.n}, median of ${opts.rounds} rounds [range]; load ${load}`);
console.log("| server | master | replica |\n|---|---:|---:|");
for (const p of pairs) console.log(`| ${p.name} | ${fmt(samples[p.name].master)} | ${fmt(samples[p.name].replica)} |`);
