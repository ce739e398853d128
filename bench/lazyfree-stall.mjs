// Lazy-free stall: how long other clients wait while a big value is deleted.
//
// For each way of deleting (DEL, UNLINK, FLUSHALL ASYNC, FLUSHALL SYNC) it starts a fresh
// server, fills a set of N members (default 1M) with pipelined SADDs, then lets a probe
// client send PING back to back (one outstanding at a time) while another client runs the
// delete. It prints the delete's own round trip, the longest PING round trip from the
// delete's send until 2 s after it (which also catches a garbage collector catching up
// later), and the PING p99 of the same window, next to a baseline window with no delete.
// The same runs against a real redis-server when one is installed (--no-redis skips it).
//
//   node bench/lazyfree-stall.mjs [--members 1000000] [--shards 1] [--no-redis] [--rounds 3]
//
// Needs `npm run build` first. Numbers for people to read, not a test: the machine is shared.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const MEMBERS = Number(opt("members", 1_000_000));
const SHARDS = opt("shards", "1");
const ROUNDS = Number(opt("rounds", 3));
const WITH_REDIS = !args.includes("--no-redis") && hasRedis();
const CLI = fileURLToPath(new URL("../dist/src/cli.js", import.meta.url));
const CASES = [
  { name: "DEL", cmd: ["DEL", "bigset"] },
  { name: "UNLINK", cmd: ["UNLINK", "bigset"] },
  { name: "FLUSHALL ASYNC", cmd: ["FLUSHALL", "ASYNC"] },
  { name: "FLUSHALL SYNC", cmd: ["FLUSHALL", "SYNC"] },
];

function hasRedis() {
  try { execFileSync("redis-server", ["--version"], { stdio: "ignore" }); return true; } catch { return false; }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function startServer(target) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "lkv-stall-"));
  const argv = ["--port", String(port), "--save", "", "--dir", dir, "--appendonly", "no"];
  const proc = target === "redis"
    ? spawn("redis-server", argv, { stdio: "ignore" })
    : spawn(process.execPath, [CLI, ...argv], { stdio: "ignore", env: { ...process.env, LATTICEKV_SHARDS: SHARDS } });
  for (let i = 0; i < 100; i++) {
    try { const c = await connect(port); c.sock.destroy(); break; } catch { await sleep(50); }
  }
  return { port, stop: async () => { proc.kill("SIGTERM"); await new Promise((r) => proc.once("exit", r)); rmSync(dir, { recursive: true, force: true }); } };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function encode(argv) {
  let s = `*${argv.length}\r\n`;
  for (const a of argv) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return s;
}

/** A minimal RESP client: counts complete top-level replies (enough for PING/SADD/DEL). */
function connect(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    const waiters = [];
    let buf = "";
    sock.setNoDelay(true);
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      let i;
      // Every reply used here is one line (+OK, :n, +PONG, -ERR).
      while ((i = buf.indexOf("\r\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        waiters.shift()?.(line);
      }
    });
    sock.once("error", reject);
    sock.once("connect", () => resolve({
      sock,
      send(argv) { return new Promise((res) => { waiters.push(res); sock.write(encode(argv)); }); },
      async pipeline(cmds) {
        const done = cmds.map(() => new Promise((res) => waiters.push(res)));
        sock.write(cmds.map(encode).join(""));
        return Promise.all(done);
      },
    }));
  });
}

async function fill(c) {
  const batch = 1000;
  for (let base = 0; base < MEMBERS; base += batch * 20) {
    const cmds = [];
    for (let b = 0; b < 20 && base + b * batch < MEMBERS; b++) {
      const argv = ["SADD", "bigset"];
      for (let m = base + b * batch; m < Math.min(MEMBERS, base + (b + 1) * batch); m++) argv.push(`member:${m}`);
      cmds.push(argv);
    }
    await c.pipeline(cmds);
  }
  const n = await c.send(["SCARD", "bigset"]);
  if (n !== `:${MEMBERS}`) throw new Error(`fill: SCARD answered ${n}`);
}

/** PINGs back to back for ms milliseconds: each round trip in ms. */
async function probe(c, ms) {
  const rtts = [];
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const t0 = performance.now();
    await c.send(["PING"]);
    rtts.push(performance.now() - t0);
  }
  return rtts;
}

function stats(rtts) {
  const s = [...rtts].sort((a, b) => a - b);
  return { max: s[s.length - 1], p99: s[Math.floor(s.length * 0.99)], n: s.length };
}

async function runCase(target, kase) {
  const srv = await startServer(target);
  try {
    const filler = await connect(srv.port);
    const prober = await connect(srv.port);
    const deleter = await connect(srv.port);
    await fill(filler);
    await sleep(500);
    const base = stats(await probe(prober, 1000));
    const probing = probe(prober, 2000);
    await sleep(20);
    const t0 = performance.now();
    const reply = await deleter.send(kase.cmd);
    const delMs = performance.now() - t0;
    const during = stats(await probing);
    for (const c of [filler, prober, deleter]) c.sock.destroy();
    return { reply, delMs, base, during };
  } finally {
    await srv.stop();
  }
}

const fmt = (x) => x.toFixed(1).padStart(7);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const targets = ["latticekv", ...(WITH_REDIS ? ["redis"] : [])];
console.log(`lazy-free stall: a set of ${MEMBERS} members deleted while a probe client PINGs back to back`);
console.log(`(${SHARDS} shard(s) for latticekv; ${ROUNDS} rounds, each on a fresh server; medians, and every round's PING max)`);
console.log("target     case              delete ms  PING max ms  PING p99 ms  no-delete max ms  PING max per round");
for (const target of targets) {
  for (const kase of CASES) {
    const rs = [];
    for (let r = 0; r < ROUNDS; r++) rs.push(await runCase(target, kase));
    console.log(`${target.padEnd(10)} ${kase.name.padEnd(16)} ${fmt(median(rs.map((r) => r.delMs)))}    ${fmt(median(rs.map((r) => r.during.max)))}      ${fmt(median(rs.map((r) => r.during.p99)))}      ${fmt(median(rs.map((r) => r.base.max)))}         ${rs.map((r) => r.during.max.toFixed(1)).join(" ")}`);
  }
}
