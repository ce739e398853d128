// Lazy free: UNLINK and FLUSHDB/FLUSHALL ASYNC report what Redis's lazyfree.c counts —
// values whose free effort is above 64 allocations, and every key an async flush drops —
// in INFO lazyfreed_objects (reset by CONFIG RESETSTAT) once a background free has released
// them, and lazyfree_pending_objects while it has not.
import { it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import { useServer } from "../helpers/server.js";

let r: Redis;
useServer((_s, c) => { r = c; }, { client: { protocol: 2 } as never });

function memoryFields(text: string): { pending: number; freed: number; used: number } {
  const get = (f: string) => Number(new RegExp(`^${f}:(\\d+)`, "m").exec(text)![1]);
  return { pending: get("lazyfree_pending_objects"), freed: get("lazyfreed_objects"), used: get("used_memory") };
}

/** The lazy-free counters once every background free is done (as Redis's tests wait for pending 0). */
async function lazyfree(): Promise<{ pending: number; freed: number }> {
  for (let i = 0; ; i++) {
    const { pending, freed } = memoryFields(await r.info("memory"));
    if (pending === 0 || i === 250) return { pending, freed };
    await new Promise((res) => setTimeout(res, 20));
  }
}

beforeEach(async () => {
  await r.flushall();
  await r.config("RESETSTAT");
});

it("UNLINK counts a large value (set, hash, list) as lazily freed, and a small one not", async () => {
  await r.sadd("big-set", ...Array.from({ length: 1000 }, (_, i) => `m${i}`));
  await r.sadd("small-set", "a", "b");
  await r.hset("big-hash", Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`f${i}`, "v"])));
  // A list's effort is its quicklist nodes (8 KiB each by default): 100,000 short elements
  // are ~100 nodes, over the threshold of 64; 20,000 are ~20, under it (as real Redis counts).
  await r.rpush("big-list", ...Array.from({ length: 100_000 }, (_, i) => `e${i}`));
  await r.rpush("mid-list", ...Array.from({ length: 20_000 }, (_, i) => `e${i}`));
  expect(await r.unlink("big-set", "small-set", "big-hash", "big-list", "mid-list")).toBe(5);
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

it("a large value UNLINK dropped is pending, and still in used_memory, until its background free ends", async () => {
  const members = Array.from({ length: 200_000 }, (_, i) => `member:${i}`);
  for (let i = 0; i < members.length; i += 10_000) await r.sadd("huge", ...members.slice(i, i + 10_000));
  await r.sadd("other", "x");
  const before = memoryFields(await r.info("memory"));
  // One pipeline, one read: INFO runs in the same turn as UNLINK, before any background slice.
  const [[, unlinked], [, text]] = (await r.pipeline().unlink("huge").info("memory").exec())!;
  expect(unlinked).toBe(1);
  const during = memoryFields(text as string);
  expect(during.pending).toBe(1);
  expect(during.freed).toBe(0);
  expect(during.used).toBeGreaterThan(before.used - 100_000);
  expect(await r.exists("huge")).toBe(0);
  expect(await r.smembers("other")).toEqual(["x"]);
  expect(await lazyfree()).toEqual({ pending: 0, freed: 1 });
  const after = memoryFields(await r.info("memory"));
  expect(before.used - after.used).toBeGreaterThan(200_000 * 8);
});
