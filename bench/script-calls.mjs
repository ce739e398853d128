#!/usr/bin/env node
// Server CPU per redis.call: one EVAL loops N times over a call, and the server's utime+stime
// (from /proc/PID/stat) around that one EVAL, divided by N, is the cost of a call with the
// script's own loop (the "empty" body) included. No client, socket or parse in the figure, so
// it moves far less with the machine's load than a redis-benchmark run of EVAL does, and a
// change of ~50 ns per call shows.
//
//   node bench/script-calls.mjs --builds /work/main,. --calls 200000 --rounds 5 [--bodies get,set] [--shards 4]
//
// Each build (a checkout with dist/ built) and redis-server (unless --no-redis) start on free
// ports; every round runs each body once on each server. Prints the median us per call and the
// range of the rounds. Servers are killed by pid at the end.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import net from "node:net";
import { parseArgs } from "node:util";

const { values: opts } = parseArgs({
  options: {
    builds: { type: "string", default: "." },
    calls: { type: "string", default: "200000" },
    rounds: { type: "string", default: "5" },
    bodies: { type: "string" },
    // Shards of the LatticeKV builds (LATTICEKV_SHARDS): with several, a script's commands take
    // the generic path (Server.run and the router).
    shards: { type: "string", default: "1" },
    "no-redis": { type: "boolean", default: false },
  },
});

// KEYS: a string key, a counter, a hash, a list, a set, a sorted set.
const BODIES = {
  empty: "for i=1,tonumber(ARGV[1]) do local x = i end",
  get: "for i=1,tonumber(ARGV[1]) do redis.call('GET',KEYS[1]) end",
  set: "for i=1,tonumber(ARGV[1]) do redis.call('SET',KEYS[1],'v') end",
  incr: "for i=1,tonumber(ARGV[1]) do redis.call('INCR',KEYS[2]) end",
  hset: "for i=1,tonumber(ARGV[1]) do redis.call('HSET',KEYS[3],'name','job','data','{\"x\":1}','ts','1700000000000') end",
  lpush: "for i=1,tonumber(ARGV[1]) do redis.call('LPUSH',KEYS[4],i) if i % 1000 == 0 then redis.call('DEL',KEYS[4]) end end",
  llen: "for i=1,tonumber(ARGV[1]) do redis.call('LLEN',KEYS[4]) end",
  sadd: "for i=1,tonumber(ARGV[1]) do redis.call('SADD',KEYS[5],'m') end",
  zadd: "for i=1,tonumber(ARGV[1]) do redis.call('ZADD',KEYS[6],i % 100,'m') end",
  zscore: "for i=1,tonumber(ARGV[1]) do redis.call('ZSCORE',KEYS[6],'m') end",
  // An array reply: ten elements, each a new key of the Lua table it becomes.
  lrange: "if redis.call('LLEN',KEYS[4]) < 10 then redis.call('RPUSH',KEYS[4],1,2,3,4,5,6,7,8,9,10) end " +
    "for i=1,tonumber(ARGV[1]) do redis.call('LRANGE',KEYS[4],0,9) end",
  publish: "for i=1,tonumber(ARGV[1]) do redis.call('PUBLISH','sc:ch',i) end",
  // A queue's add-and-take in the style of BullMQ's Lua scripts, eight calls an iteration (so
  // ARGV[1]/8 iterations: the figure is still per call): a job id, its hash, the wait list, a
  // priority set, an event, then the worker's move to active, its lock and a read back.
  bullmq: "for i=1,tonumber(ARGV[1])/8 do local id = redis.call('INCR',KEYS[2]) " +
    "redis.call('HSET',KEYS[3],'name','job','data','{\"x\":1}','ts',i,'attempts',0) " +
    "redis.call('LPUSH',KEYS[4],id) redis.call('ZADD',KEYS[6],i % 100,id) " +
    "redis.call('PUBLISH','sc:events',id) local j = redis.call('RPOP',KEYS[4]) " +
    "redis.call('SET',KEYS[1],j,'PX',30000) redis.call('ZREM',KEYS[6],j) end",
};
const bodies = opts.bodies ? opts.bodies.split(",") : Object.keys(BODIES);
for (const b of bodies) if (!BODIES[b]) throw new Error(`unknown body ${b}; one of ${Object.keys(BODIES).join(", ")}`);

const TICK_US = 1e6 / Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim() || 100);

function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(rest[11]) + Number(rest[12]); // utime + stime (fields 14 and 15)
}

function freePort() {
  return new Promise((res) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => res(p)); });
  });
}

const dir = mkdtempSync(join(tmpdir(), "lkv-script-calls-"));
const servers = [];

async function start(name, argv) {
  const port = await freePort();
  const d = mkdtempSync(join(dir, "srv-"));
  // A long loop must not pause for the busy-script threshold (it would serve nobody, but slice).
  const child = spawn(argv[0], [...argv.slice(1), "--port", String(port), "--save", "", "--appendonly", "no", "--dir", d,
    "--busy-reply-threshold", "600000"], { stdio: "ignore", env: { ...process.env, LATTICEKV_SHARDS: opts.shards } });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode})`);
    if (spawnSync("redis-cli", ["-p", String(port), "ping"], { encoding: "utf8" }).stdout.trim() === "PONG") {
      const s = { name, port, pid: child.pid, child, us: {} };
      servers.push(s);
      return s;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} on ${port} did not answer`);
}

try {
  for (const b of opts.builds.split(",")) await start(b, ["node", join(resolve(b), "dist/src/cli.js")]);
  if (!opts["no-redis"]) await start("redis-server", ["redis-server"]);
  const calls = Number(opts.calls);
  const run = (s, body, n) => {
    const out = spawnSync("redis-cli", ["-p", String(s.port), "eval", BODIES[body], "6", "sc:k", "sc:c", "sc:h", "sc:l", "sc:s", "sc:z", String(n)],
      { encoding: "utf8" });
    if (out.status !== 0 || /^(ERR|WRONGTYPE)/m.test(out.stdout)) throw new Error(`${s.name} ${body}: ${out.stdout}${out.stderr}`);
  };
  // Warm-up, not measured: the first EVAL loads the Lua engine, and the JIT settles.
  for (const s of servers) for (const body of bodies) run(s, body, Math.ceil(calls / 4));
  for (let r = 0; r < Number(opts.rounds); r++) {
    for (const body of bodies) {
      // Rotate who goes first, as bench/ab.mjs does.
      for (let k = 0; k < servers.length; k++) {
        const s = servers[(k + r) % servers.length];
        const before = cpuTicks(s.pid);
        run(s, body, calls);
        (s.us[body] ??= []).push(((cpuTicks(s.pid) - before) * TICK_US) / calls);
      }
    }
  }
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  console.log(`load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}; us of server CPU per call, median (range) of ${opts.rounds} rounds, ${calls} calls each`);
  console.log(["body".padEnd(6), ...servers.map((s) => s.name.slice(-22).padStart(24))].join(""));
  for (const body of bodies) {
    console.log([body.padEnd(6), ...servers.map((s) => {
      const a = s.us[body];
      return `${median(a).toFixed(2)} (${Math.min(...a).toFixed(2)}-${Math.max(...a).toFixed(2)})`.padStart(24);
    })].join(""));
  }
} finally {
  for (const s of servers) s.child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
