#!/usr/bin/env node
// node bench/crdt-join-stall.mjs [--keys 100000] [--extra 0.1] [--base-port 24600]
//                                [--server-root DIR] [--ping-every 10] [--timeout 1800] [--prof DIR]
//
// How long a NON-EMPTY node's clients wait while it joins a large anti-entropy answer (issue
// #7). Nodes A and B start with replication on (--crdt-node-id, --crdt-bus-port) and no peer;
// B gets --keys string keys "key:N" -> "b:N" and --extra x --keys keys of its own "bkey:N", then
// A gets the same "key:N" -> "a:N" (later, so A's writes win: every one of them must reach B)
// and as many of its own "akey:N", all with MSET in 1,000-key commands. Then CRDT.PEER ADD on
// each names the other: every range differs, and each node receives the other's whole state in
// one answer (or in the states sent back) while it holds as many keys, so neither is answered
// -LOADING (gossip.ts joinOpen since the change; joined in one event-loop turn before it). A
// third client PINGs B every --ping-every ms (one at a time) from the ADD until both converged.
// Prints one JSON line:
//   - convergeS: wall seconds from the ADD until B holds "a:N" for key:0 and key:N-1, both
//     DBSIZEs are keys + 2 x extra (checked every 200 ms), and both report crdt_joining:0;
//   - pingMaxMs / pingP99Ms: the longest / 99th percentile PING round trip to B (wall); pings;
//   - cpuA / cpuB: utime+stime over that time (/proc), rssB (MB); settleS, cpuASettled /
//     cpuBSettled: until a round each node started since found the two equal (the joined keys
//     hashed into the digests on both: a sliced join hashes them as it goes, one turn later);
//   - B's INFO crdt counters: sliced (crdt_sliced_joins), open (crdt_open_joins, when it has it),
//     slices (crdt_join_slices), keysReceivedB (crdt_anti_entropy_keys_received);
//   - longest: the five longest PING waits, [seconds after the ADD it was sent, ms]; joiningSeenS:
//     the first and last time (s after the ADD) the 200 ms poll saw B's crdt_joining:1.
// --prof DIR: A and B run under node --cpu-prof, profiles written to DIR when they stop (SIGTERM,
// after the JSON line). Machine load moves wall times 2x: the load average is printed. Servers get scratch dirs under
// /tmp/repl-join-stall-*, loopback ports from --base-port up, and are killed by pid.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { connect, started } from "./resp-client.mjs";

const { values: opts } = parseArgs({
  options: {
    keys: { type: "string", default: "100000" },
    extra: { type: "string", default: "0.1" },
    "base-port": { type: "string", default: "24600" },
    "server-root": { type: "string" },
    "ping-every": { type: "string", default: "10" },
    timeout: { type: "string", default: "1800" },
    prof: { type: "string" },
  },
});
const root = opts["server-root"] ?? fileURLToPath(new URL("..", import.meta.url));
const N = Number(opts.keys);
const EXTRA = Math.round(N * Number(opts.extra));
const base = Number(opts["base-port"]);
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"]).stdout.toString().trim()) || 100;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const r2 = (x) => Math.round(x * 100) / 100;
const field = (info, name) => Number(new RegExp(`^${name}:(\\S+)`, "m").exec(info)?.[1] ?? NaN);

async function startNode(port, id, bus) {
  const dir = mkdtempSync("/tmp/repl-join-stall-");
  const prof = opts.prof ? ["--cpu-prof", "--cpu-prof-dir", opts.prof] : [];
  const proc = spawn(process.execPath, [...prof, join(root, "dist/src/cli.js"), "--port", String(port), "--bind", "127.0.0.1", "--dir", dir,
    "--save", "", "--appendonly", "no", "--crdt-node-id", id, "--crdt-bus-port", String(bus)], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const { exited } = await started(proc, port, (d) => { log = (log + d.toString("latin1")).slice(-20_000); }, () => log);
  return {
    pid: proc.pid, log: () => log,
    cpuS() { const f = readFileSync(`/proc/${proc.pid}/stat`, "latin1").split(") ")[1].split(" "); return (Number(f[11]) + Number(f[12])) / CLK_TCK; },
    rssMB() { const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, "latin1")); return m ? Number(m[1]) / 1024 : 0; },
    async stop() {
      if (proc.exitCode === null) {
        proc.kill(prof.length ? "SIGTERM" : "SIGKILL"); // (SIGTERM: the profile is written on the way out)
        const t = setTimeout(() => proc.kill("SIGKILL"), 60_000);
        await exited; clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function fill(c, prefix, value, n) {
  for (let i = 0; i < n; i += 1000) {
    const args = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) args.push(`${prefix}:${j}`, `${value}:${j}`);
    const r = await c.call("MSET", ...args);
    if (r instanceof Error) throw r;
  }
}

const [pa, pb, busA, busB] = [base, base + 1, base + 2, base + 3];
const a = await startNode(pa, "stall-a", busA);
const b = await startNode(pb, "stall-b", busB);
const ca = await connect(pa), cb = await connect(pb), probe = await connect(pb);
try {
  await fill(cb, "key", "b", N);
  await fill(cb, "bkey", "b", EXTRA);
  await fill(ca, "key", "a", N);
  await fill(ca, "akey", "a", EXTRA);
  const load0 = readFileSync("/proc/loadavg", "latin1").split(" ")[0];
  const a0 = a.cpuS(), b0 = b.cpuS();
  const waits = [], at = [];
  const joinSeen = []; // (seconds since the ADD at which B's INFO said crdt_joining:1)
  let pinging = true;
  const pinger = (async () => {
    while (pinging) {
      const w0 = performance.now();
      await probe.call("PING");
      waits.push(performance.now() - w0);
      at.push(w0);
      await sleep(Number(opts["ping-every"]));
    }
  })();
  const t0 = Date.now(), p0 = performance.now();
  for (const [c, bus] of [[cb, busA], [ca, busB]]) {
    const r = await c.call("CRDT.PEER", "ADD", "127.0.0.1", String(bus));
    if (r instanceof Error) throw r;
  }
  let convergeS = -1;
  const limit = t0 + Number(opts.timeout) * 1000;
  while (Date.now() < limit) {
    await sleep(200);
    const [first, last, size, sizeA] = [await cb.call("GET", "key:0"), await cb.call("GET", `key:${N - 1}`), await cb.call("DBSIZE"), await ca.call("DBSIZE")];
    const joiningB = field(await cb.call("INFO", "crdt"), "crdt_joining");
    if (joiningB > 0) joinSeen.push((Date.now() - t0) / 1000);
    if (first !== "a:0" || last !== `a:${N - 1}` || size !== N + 2 * EXTRA || sizeA !== size) continue;
    if (joiningB !== 0 || field(await ca.call("INFO", "crdt"), "crdt_joining") !== 0) continue;
    convergeS = (Date.now() - t0) / 1000;
    break;
  }
  pinging = false;
  await pinger;
  // Settled: a round each node started since has found the two equal (crdt_anti_entropy_rounds up
  // by 2, its peer line's divergent_ranges 0). A round hashes every key changed since the last
  // digest (the joined ones), which a join in one turn leaves for then and a sliced join does
  // as it goes (gossip.ts warmDigests): the CPU to here counts that work for both.
  const cpuConv = [a.cpuS() - a0, b.cpuS() - b0];
  let settleS = -1;
  if (convergeS >= 0) {
    const rounds = async (c) => field(await c.call("INFO", "crdt"), "crdt_anti_entropy_rounds");
    const r0 = [await rounds(ca), await rounds(cb)];
    while (Date.now() < limit) {
      await sleep(200);
      const infos = [await ca.call("INFO", "crdt"), await cb.call("INFO", "crdt")];
      const done = infos.every((info, i) => field(info, "crdt_anti_entropy_rounds") >= r0[i] + 2 && /divergent_ranges=0[,\r]/.test(info));
      if (done) { settleS = (Date.now() - t0) / 1000; break; }
    }
  }
  const load1 = readFileSync("/proc/loadavg", "latin1").split(" ")[0];
  const sorted = [...waits].sort((x, y) => x - y);
  const infoB = await cb.call("INFO", "crdt");
  const row = {
    keys: N, extra: EXTRA, load: `${load0}-${load1}`, convergeS, pingMaxMs: Math.round(sorted.at(-1) ?? -1),
    pingP99Ms: Math.round(sorted[Math.floor(sorted.length * 0.99)] ?? -1), pings: waits.length,
    cpuA: r2(cpuConv[0]), cpuB: r2(cpuConv[1]), settleS, cpuASettled: r2(a.cpuS() - a0), cpuBSettled: r2(b.cpuS() - b0), rssB: Math.round(b.rssMB()),
    sliced: field(infoB, "crdt_sliced_joins"), open: field(infoB, "crdt_open_joins"), slices: field(infoB, "crdt_join_slices"),
    // the five longest waits: [seconds after the ADD they began, ms], and when B was seen joining
    longest: waits.map((w, i) => [r2((at[i] - p0) / 1000), Math.round(w)]).sort((x, y) => y[1] - x[1]).slice(0, 5),
    joiningSeenS: joinSeen.length ? [joinSeen[0], joinSeen.at(-1)] : null,
    keysReceivedB: field(infoB, "crdt_anti_entropy_keys_received"), keysSentA: field(await ca.call("INFO", "crdt"), "crdt_anti_entropy_keys_sent"),
    keysSentB: field(infoB, "crdt_anti_entropy_keys_sent"),
  };
  console.log(JSON.stringify(row));
  if (convergeS < 0) { console.error("not converged before --timeout"); process.exitCode = 1; }
} finally {
  ca.close(); cb.close(); probe.close();
  await a.stop();
  await b.stop();
}
