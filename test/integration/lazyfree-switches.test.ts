// The lazyfree-lazy-* switches, as Redis 7.0 defines them: each turns one kind of delete into
// a lazy one, which INFO lazyfreed_objects then counts (a value whose free effort is above
// 64 allocations: here a 200-member hashtable set). Checked against a real redis-server
// 7.0.15 with the same commands: one count per switch, none with the switch off.
import { it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import { useServer } from "../helpers/server.js";

let r: Redis;
useServer((_s, c) => { r = c; }, { client: { protocol: 2 } as never });

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));
const SWITCHES = ["eviction", "expire", "server-del", "user-del", "user-flush"].map((s) => `lazyfree-lazy-${s}`);

/** lazyfreed_objects once the background frees are done (lazyfree_pending_objects 0), as Redis's tests wait. */
async function lazyfreed(): Promise<number> {
  for (let i = 0; ; i++) {
    const text = await r.info("memory");
    if (/^lazyfree_pending_objects:0\r?$/m.test(text) || i === 250) return Number(/^lazyfreed_objects:(\d+)/m.exec(text)![1]);
    await sleep(20);
  }
}

async function bigSet(key: string): Promise<void> {
  await r.del(key);
  await r.sadd(key, ...Array.from({ length: 200 }, (_, i) => `m${i}`));
}

beforeEach(async () => {
  for (const s of SWITCHES) await r.config("SET", s, "no");
  await r.config("SET", "maxmemory", "0");
  await r.flushall("SYNC");
  await r.config("RESETSTAT");
});

it("lazyfree-lazy-user-del makes DEL free like UNLINK", async () => {
  await bigSet("s");
  await r.del("s");
  expect(await lazyfreed()).toBe(0);
  await r.config("SET", "lazyfree-lazy-user-del", "yes");
  await bigSet("s");
  await r.del("s");
  expect(await lazyfreed()).toBe(1);
});

it("lazyfree-lazy-user-flush makes FLUSHALL/FLUSHDB without a flag ASYNC (SYNC stays sync)", async () => {
  await r.mset("a", "1", "b", "2", "c", "3");
  await r.flushall();
  expect(await lazyfreed()).toBe(0);
  await r.config("SET", "lazyfree-lazy-user-flush", "yes");
  await r.mset("a", "1", "b", "2", "c", "3");
  await r.flushall();
  expect(await lazyfreed()).toBe(3);
  await r.mset("a", "1", "b", "2");
  await r.flushdb();
  expect(await lazyfreed()).toBe(5);
  await r.mset("a", "1");
  await r.flushall("SYNC");
  expect(await lazyfreed()).toBe(5);
});

it("lazyfree-lazy-server-del frees lazily what the server deletes: an overwritten value, RENAME's and a STORE's target", async () => {
  await bigSet("s");
  await r.set("s", "x");
  expect(await lazyfreed()).toBe(0);
  await r.config("SET", "lazyfree-lazy-server-del", "yes");
  await bigSet("s");
  await r.set("s", "x");
  expect(await lazyfreed()).toBe(1);
  await bigSet("t");
  await r.set("a", "1");
  await r.rename("a", "t");
  expect(await lazyfreed()).toBe(2);
  await bigSet("u");
  await bigSet("v");
  await r.sunionstore("u", "v", "v");
  expect(await lazyfreed()).toBe(3);
});

it("lazyfree-lazy-expire frees expired keys lazily", async () => {
  await bigSet("e");
  await r.pexpire("e", 1);
  await sleep(50);
  expect(await r.exists("e")).toBe(0);
  expect(await lazyfreed()).toBe(0);
  await r.config("SET", "lazyfree-lazy-expire", "yes");
  await bigSet("e");
  await r.pexpire("e", 1);
  await sleep(50);
  expect(await r.exists("e")).toBe(0);
  expect(await lazyfreed()).toBe(1);
});

it("lazyfree-lazy-eviction frees evicted keys lazily", async () => {
  await r.config("SET", "maxmemory-policy", "allkeys-random");
  for (const lazy of ["no", "yes"]) {
    await r.config("SET", "lazyfree-lazy-eviction", lazy);
    await bigSet("ev");
    await r.config("SET", "maxmemory", "1");
    for (let i = 0; i < 50 && (await r.dbsize()) > 0; i++) await sleep(10);
    await r.config("SET", "maxmemory", "0");
    expect(await r.dbsize()).toBe(0);
    expect(await lazyfreed()).toBe(lazy === "yes" ? 1 : 0);
  }
  await r.config("SET", "maxmemory-policy", "noeviction");
});
