// Kernel microbenchmarks (npm run bench): tinybench against the built WASM module directly,
// no sockets. Each case does what the server does per socket read (copy the bytes into the
// shard's input region, one process() call, copy the reply bytes out) or calls one kernel
// export; each tinybench sample runs `reps` operations so that timer overhead stays small.
// Prints ns/op and ops/s and writes JSON to bench/results/. Never a timed unit test.
//
//   npm run bench [-- --time 500] [-- --filter keyspace]
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { Shard, STATUS_DONE, STATUS_HOST } from "../src/server/shard.js";
import { CommandTable } from "../src/commands/table.js";

const args = process.argv.slice(2);
const argOf = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const timeMs = Number(argOf("--time") ?? 400);
const filter = argOf("--filter");
const KEYSPACE_KEYS = Number(argOf("--keys") ?? 1_000_000);

const enc = new TextEncoder();
const td = new TextDecoder();

/** RESP multibulk for one command. */
function cmd(...argv: string[]): Uint8Array {
  let s = `*${argv.length}\r\n`;
  for (const a of argv) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return enc.encode(s);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function newShard(): Shard {
  const shard = new Shard(0, 16, 12345);
  shard.bindCommands(new CommandTable());
  return shard;
}

const NOW = 1_700_000_000_000;

/** One socket read as the server handles it: load, process, copy the reply out. */
function feed(shard: Shard, bytes: Uint8Array): { status: number; reply: Uint8Array } {
  const p = shard.load(bytes);
  const status = shard.kernel.x.process(p, p + bytes.length, 0, NOW);
  const reply = shard.kernel.output().slice();
  shard.afterCall();
  return { status, reply };
}

/** Runs a request once and checks the kernel handled it without an error reply. */
function check(shard: Shard, name: string, bytes: Uint8Array, expectStatus = STATUS_DONE): void {
  const { status, reply } = feed(shard, bytes);
  const text = td.decode(reply.subarray(0, 200));
  if (status !== expectStatus || (expectStatus === STATUS_DONE && (reply.length === 0 || text.includes("-ERR") || text.startsWith("-")))) {
    throw new Error(`bench case "${name}" is not measuring what it says: status ${status}, reply ${JSON.stringify(text)}`);
  }
}

interface Case { name: string; reps: number; fn: () => void; needs?: string[] }

const small = newShard();
const implemented = new Set(small.kernel.commandNames());
const cases: Case[] = [];
const skipped: string[] = [];
function add(c: Case, verify?: () => void): void {
  if (filter && !c.name.includes(filter)) return;
  const missing = (c.needs ?? []).filter((n) => !implemented.has(n));
  if (missing.length) {
    skipped.push(`${c.name} (kernel lacks ${missing.join(", ")})`);
    return;
  }
  verify?.();
  cases.push(c);
}

// ---- RESP parsing ---------------------------------------------------------------------------
{
  // LPUSH is a host command: the kernel parses it, finds it is not its own and hands it back,
  // so this is parse + lookup + the call, with nothing executed.
  const one = cmd("LPUSH", "mylist", "some-value");
  add({ name: "parse: 1 command, handed to host (LPUSH)", reps: 1000, fn: () => { for (let i = 0; i < 1000; i++) feed(small, one); } },
    () => check(small, "parse", one, STATUS_HOST));
  feed(small, cmd("SET", "key:000001", "0123456789"));
  const get = cmd("GET", "key:000001");
  const pipeline = concat(Array.from({ length: 16 }, () => get));
  add({ name: "pipeline: 16 x GET (hit), one read", reps: 100, needs: ["get"], fn: () => { for (let i = 0; i < 100; i++) feed(small, pipeline); } },
    () => check(small, "pipeline", pipeline));
  add({ name: "process: 1 x GET (hit)", reps: 1000, needs: ["get"], fn: () => { for (let i = 0; i < 1000; i++) feed(small, get); } },
    () => check(small, "get", get));
  const set = cmd("SET", "key:000001", "0123456789");
  add({ name: "process: 1 x SET (overwrite)", reps: 1000, needs: ["set"], fn: () => { for (let i = 0; i < 1000; i++) feed(small, set); } },
    () => check(small, "set", set));
  // redis-benchmark -t set -P 16's read: 16 SETs of one key with a 3-byte value.
  const setPipeline = concat(Array.from({ length: 16 }, () => cmd("SET", "key:__rand_int__", "xxx")));
  add({ name: "pipeline: 16 x SET (overwrite), one read", reps: 100, needs: ["set"], fn: () => { for (let i = 0; i < 100; i++) feed(small, setPipeline); } },
    () => check(small, "set pipeline", setPipeline));
}

// ---- slot computation -----------------------------------------------------------------------
{
  const x = small.kernel.x;
  const put = (s: string) => {
    const b = enc.encode(s);
    const p = x.alloc(b.length);
    small.kernel.mem.set(b, p);
    return [p, b.length] as const;
  };
  const [p1, l1] = put("key:000001");
  const [p2, l2] = put("{user1000}.following");
  const [p3, l3] = put("object:" + "x".repeat(100));
  if (x.keySlot(p2, l2) !== x.keySlot(...put("user1000"))) throw new Error("keySlot ignores the hash tag");
  add({ name: "slot: keySlot 10-byte key", reps: 10_000, fn: () => { for (let i = 0; i < 10_000; i++) x.keySlot(p1, l1); } });
  add({ name: "slot: keySlot {hash tag} key", reps: 10_000, fn: () => { for (let i = 0; i < 10_000; i++) x.keySlot(p2, l2); } });
  add({ name: "slot: keySlot 107-byte key", reps: 10_000, fn: () => { for (let i = 0; i < 10_000; i++) x.keySlot(p3, l3); } });
}

// ---- reply writing --------------------------------------------------------------------------
{
  for (const size of [1024, 65536]) {
    feed(small, cmd("SET", `big:${size}`, "v".repeat(size)));
    const get = cmd("GET", `big:${size}`);
    add({ name: `reply: GET of a ${size / 1024} KiB value`, reps: 100, needs: ["get", "set"], fn: () => { for (let i = 0; i < 100; i++) feed(small, get); } },
      () => check(small, "reply", get));
  }
  const keys = Array.from({ length: 16 }, (_, i) => `mk:${i}`);
  const mget = cmd("MGET", ...keys);
  add({ name: "reply: MGET of 16 keys", reps: 100, needs: ["mget", "mset"], fn: () => { for (let i = 0; i < 100; i++) feed(small, mget); } },
    () => { feed(small, cmd("MSET", ...keys.flatMap((k) => [k, "0123456789"]))); check(small, "mget", mget); });
}

// ---- more string and hash commands, as they land --------------------------------------------
{
  const incr = cmd("INCR", "counter");
  add({ name: "process: 1 x INCR", reps: 1000, needs: ["incr"], fn: () => { for (let i = 0; i < 1000; i++) feed(small, incr); } },
    () => check(small, "incr", incr));
  const mset = cmd("MSET", ...Array.from({ length: 10 }, (_, i) => [`ms:${i}`, "0123456789"]).flat());
  add({ name: "process: 1 x MSET of 10 keys", reps: 1000, needs: ["mset"], fn: () => { for (let i = 0; i < 1000; i++) feed(small, mset); } },
    () => check(small, "mset", mset));
  const hset = cmd("HSET", "h", "field:1", "0123456789");
  add({ name: "process: 1 x HSET (overwrite)", reps: 1000, needs: ["hset"], fn: () => { for (let i = 0; i < 1000; i++) feed(small, hset); } },
    () => check(small, "hset", hset));
  const hget = cmd("HGET", "h", "field:1");
  add({ name: "process: 1 x HGET (hit)", reps: 1000, needs: ["hget", "hset"], fn: () => { for (let i = 0; i < 1000; i++) feed(small, hget); } },
    () => check(small, "hget", hget));
  const hgetall = cmd("HGETALL", "h16");
  add({ name: "reply: HGETALL of 16 fields", reps: 1000, needs: ["hgetall", "hset"], fn: () => { for (let i = 0; i < 1000; i++) feed(small, hgetall); } },
    () => { feed(small, cmd("HSET", "h16", ...Array.from({ length: 16 }, (_, i) => [`f${i}`, "0123456789"]).flat())); check(small, "hgetall", hgetall); });
}

// ---- a keyspace of 1M keys ------------------------------------------------------------------
let keyspaceNote = "";
if (!filter || "keyspace".includes(filter) || filter.startsWith("keyspace")) {
  if (implemented.has("set") && implemented.has("get")) {
    const big = newShard();
    const keyName = (i: number) => `key:${String(i).padStart(8, "0")}`;
    const t0 = performance.now();
    const BATCH = 1000;
    for (let i = 0; i < KEYSPACE_KEYS; i += BATCH) {
      const parts: Uint8Array[] = [];
      for (let j = i; j < Math.min(i + BATCH, KEYSPACE_KEYS); j++) parts.push(cmd("SET", keyName(j), "0123456789"));
      feed(big, concat(parts));
    }
    const loadMs = performance.now() - t0;
    if (big.kernel.x.dbSize(0) !== KEYSPACE_KEYS) throw new Error(`keyspace holds ${big.kernel.x.dbSize(0)} keys, expected ${KEYSPACE_KEYS}`);
    keyspaceNote = `${KEYSPACE_KEYS} keys loaded with pipelined SET in ${Math.round(loadMs)} ms; kernel memory ${(big.kernel.x.memory.buffer.byteLength / 2 ** 20).toFixed(0)} MiB`;
    // Random keys, fixed seed, so every run measures the same access pattern.
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % KEYSPACE_KEYS;
    const POOL = 4096;
    const gets = Array.from({ length: POOL }, () => cmd("GET", keyName(rand())));
    const sets = Array.from({ length: POOL }, () => cmd("SET", keyName(rand()), "9876543210"));
    let gi = 0;
    let si = 0;
    add({ name: `keyspace ${KEYSPACE_KEYS / 1e6}M: GET random existing key`, reps: 1000, fn: () => { for (let i = 0; i < 1000; i++) feed(big, gets[gi++ & (POOL - 1)]); } },
      () => check(big, "keyspace get", gets[0]));
    add({ name: `keyspace ${KEYSPACE_KEYS / 1e6}M: SET random existing key`, reps: 1000, fn: () => { for (let i = 0; i < 1000; i++) feed(big, sets[si++ & (POOL - 1)]); } },
      () => check(big, "keyspace set", sets[0]));
  } else {
    skipped.push("keyspace cases (kernel lacks get/set)");
  }
}

const bench = new Bench({ time: timeMs, warmupTime: Math.min(100, timeMs / 4) });
const repsOf = new Map<string, number>();
for (const c of cases) {
  bench.add(c.name, c.fn);
  repsOf.set(c.name, c.reps);
}
await bench.run();

interface Row { case: string; nsPerOp: number; opsPerSec: number; rme: number; samples: number }
const rows: Row[] = [];
for (const task of bench.tasks) {
  const r = task.result;
  if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}${"error" in r ? `: ${r.error}` : ""}`);
  const reps = repsOf.get(task.name)!;
  const nsPerOp = (r.latency.mean * 1e6) / reps;
  rows.push({ case: task.name, nsPerOp, opsPerSec: 1e9 / nsPerOp, rme: (r.latency.moe / r.latency.mean) * 100, samples: r.latency.samplesCount });
}

const w = Math.max(...rows.map((r) => r.case.length), 4);
console.log(`${"case".padEnd(w)}  ${"ns/op".padStart(10)}  ${"ops/s".padStart(13)}  ${"±%".padStart(6)}`);
for (const r of rows) {
  console.log(`${r.case.padEnd(w)}  ${r.nsPerOp.toFixed(1).padStart(10)}  ${Math.round(r.opsPerSec).toLocaleString("en-US").padStart(13)}  ${r.rme.toFixed(1).padStart(6)}`);
}
// Other processes on a 2-core machine inflate every figure: say how busy it was.
const loadAverage = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`\nload average at the end: ${loadAverage}`);
if (keyspaceNote) console.log(keyspaceNote);
for (const s of skipped) console.log(`skipped: ${s}`);

const resultsDir = fileURLToPath(new URL(import.meta.url.includes("/dist/") ? "../../bench/results/" : "./results/", import.meta.url));
mkdirSync(resultsDir, { recursive: true });
const date = new Date().toISOString();
const file = `${resultsDir}kernel-${date.replace(/[:.]/g, "-")}.json`;
writeFileSync(file, JSON.stringify({ date, node: process.version, loadAverage, timeMs, keyspace: keyspaceNote, skipped, cases: rows }, null, 2) + "\n");
console.log(`\nwritten ${file}`);
