// maxmemory-eviction-tenacity (Redis's evictionTimeLimitUs): how long one eviction pass may
// run before the rest is left to the eviction timer. At 0 a pass stops after its first 16
// keys, so a command right after the limit drops sees most keys still there; at 100 there is
// no limit and the pass empties what it must at once. Either way the timer finishes the job
// and no command is refused meanwhile.
import { it, expect } from "vitest";
import net from "node:net";
import Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; }, { args: ["--enable-debug-command", "yes"], client: { protocol: 2 } as never });

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Sends the commands in one write; returns the last reply line. */
function pipelined(cmds: string[], replies: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect(srv.port, "127.0.0.1", () => s.write(cmds.map((c) => c + "\r\n").join("")));
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      const lines = buf.split("\r\n").filter((l) => /^[+:-]/.test(l));
      if (lines.length >= replies) { s.destroy(); resolve(lines); }
    });
    s.once("error", reject);
  });
}

async function usedMemory(): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await r.info("memory"))![1]);
}

/** Fills 20000 keys, sets maxmemory to leave room for about half, and counts right after. */
async function dbsizeRightAfterLimit(tenacity: number): Promise<number> {
  await r.flushall();
  const empty = await usedMemory();
  await r.call("DEBUG", "POPULATE", "20000");
  const full = await usedMemory();
  const limit = Math.floor(empty + (full - empty) / 2);
  await r.config("SET", "maxmemory-policy", "allkeys-random");
  await r.config("SET", "maxmemory-eviction-tenacity", String(tenacity));
  try {
    // CONFIG GET reaches the host, which evicts before running it; DBSIZE then counts.
    const lines = await pipelined([`CONFIG SET maxmemory ${limit}`, "CONFIG GET maxmemory", "SET probe 1", "DBSIZE"], 3);
    expect(lines[1]).toBe("+OK"); // not refused while the timer is still evicting
    const size = Number(lines[2].slice(1));
    // The eviction timer finishes the job: used memory comes under the limit.
    for (let i = 0; i < 200 && (await usedMemory()) > limit; i++) await sleep(10);
    expect(await usedMemory()).toBeLessThanOrEqual(limit);
    const after = await r.dbsize();
    expect(after).toBeGreaterThan(5000);
    expect(after).toBeLessThan(15000);
    return size;
  } finally {
    await r.config("SET", "maxmemory", "0");
    await r.config("SET", "maxmemory-eviction-tenacity", "10");
  }
}

it("tenacity 0 evicts 16 keys per pass and leaves the rest to the timer; 100 evicts in one pass", async () => {
  expect(await dbsizeRightAfterLimit(0)).toBeGreaterThan(19000);
  expect(await dbsizeRightAfterLimit(100)).toBeLessThan(15000);
});
