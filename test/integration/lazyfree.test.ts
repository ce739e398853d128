// Lazy free: UNLINK and FLUSHDB/FLUSHALL ASYNC report what Redis's lazyfree.c counts —
// values whose free effort is above 64 allocations, and every key an async flush drops —
// in INFO lazyfreed_objects (reset by CONFIG RESETSTAT); nothing is ever pending.
import { it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import { useServer } from "../helpers/server.js";

let r: Redis;
useServer((_s, c) => { r = c; }, { client: { protocol: 2 } as never });

async function lazyfree(): Promise<{ pending: number; freed: number }> {
  const text = await r.info("memory");
  const get = (f: string) => Number(new RegExp(`^${f}:(\\d+)`, "m").exec(text)![1]);
  return { pending: get("lazyfree_pending_objects"), freed: get("lazyfreed_objects") };
}

beforeEach(async () => {
  await r.flushall();
  await r.config("RESETSTAT");
});

it("UNLINK counts a large value (set, hash, list) as lazily freed, and a small one not", async () => {
  await r.sadd("big-set", ...Array.from({ length: 1000 }, (_, i) => `m${i}`));
  await r.sadd("small-set", "a", "b");
  await r.hset("big-hash", Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, "v"])));
  await r.rpush("big-list", ...Array.from({ length: 20_000 }, (_, i) => `e${i}`));
  expect(await r.unlink("big-set", "small-set", "big-hash", "big-list")).toBe(4);
  expect(await lazyfree()).toEqual({ pending: 0, freed: 3 });
  await r.sadd("s2", ...Array.from({ length: 1000 }, (_, i) => `m${i}`));
  expect(await r.del("s2")).toBe(1); // DEL frees synchronously
  expect((await lazyfree()).freed).toBe(3);
  await r.config("RESETSTAT");
  expect((await lazyfree()).freed).toBe(0);
});

it("FLUSHALL ASYNC and FLUSHDB ASYNC count every key dropped; SYNC counts none", async () => {
  await r.mset("a", "1", "b", "2", "c", "3");
  await r.flushdb("ASYNC");
  expect((await lazyfree()).freed).toBe(3);
  await r.mset("a", "1", "b", "2");
  await r.flushall("SYNC");
  expect((await lazyfree()).freed).toBe(3);
  await r.mset("a", "1", "b", "2");
  await r.flushall("ASYNC");
  expect((await lazyfree()).freed).toBe(5);
});
