// DEBUG HTSTATS <dbid> prints Redis's dictGetStats text for the db's dict as the kernel's
// buckets really are (src/commands/debug-htstats.ts), and the dicts follow Redis's resize
// policy while a background job's child process runs (src/persistence/resize-policy.ts,
// assembly/keyspace/dict.ts): no growth until the table is 5 times over-full, then growth
// and rehashing again; everything back to normal once the child is gone. With several shards
// each shard's dict is printed under its own "[Shard N]" line. DEBUG HTSTATS-KEY prints a
// hashtable-encoded hash's dict.
import { describe, it, expect } from "vitest";
import type Redis from "ioredis";
import { useServer, SHARDS, type RunningServer } from "../helpers/server.js";
import { childrenOf } from "../helpers/proc.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; }, { args: ["--enable-debug-command", "yes", "--save", ""] });

async function htstats(db: number): Promise<string> {
  return String(await r.call("debug", "htstats", String(db)));
}

/** Per shard: the main table's size and the rehash target's (0 when not rehashing). */
function tables(text: string): { t0: number; t1: number; used: number }[] {
  const dicts = text.split("[Dictionary HT]\n").slice(1).map((s) => s.slice(0, s.indexOf("[Expires HT]")));
  return dicts.map((d) => {
    const sizes = [...d.matchAll(/ table size: (\d+)/g)].map((m) => Number(m[1]));
    const used = [...d.matchAll(/ number of elements: (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
    return { t0: sizes[0] ?? 0, t1: d.includes("(rehashing target)") ? sizes[1] : 0, used };
  });
}

async function bgsaveRunning(): Promise<boolean> {
  return /rdb_bgsave_in_progress:1/.test(await r.info("persistence"));
}

/** Starts a BGSAVE that will not finish by itself (a huge per-key delay). */
async function startSlowBgsave(): Promise<void> {
  await r.config("set", "rdb-key-save-delay", "1000000");
  expect(await r.bgsave()).toBe("Background saving started");
  expect(await bgsaveRunning()).toBe(true);
}

/** kill -9 on the save's child; the resize policy is back to normal as the job ends. */
async function killChildAndWait(): Promise<void> {
  const kids = childrenOf(srv.proc.pid!);
  expect(kids.length).toBe(1);
  process.kill(kids[0], "SIGKILL");
  const deadline = Date.now() + 10_000;
  while (await bgsaveRunning()) {
    if (Date.now() > deadline) throw new Error("BGSAVE still running");
    await new Promise((res) => setTimeout(res, 20));
  }
  await r.config("set", "rdb-key-save-delay", "0");
}

describe("DEBUG HTSTATS", { timeout: 60_000 }, () => {
  it("prints Redis's text for an empty db, and Redis's errors for a bad db", async () => {
    const empty = "[Dictionary HT]\nHash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n" +
      "[Expires HT]\nHash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n";
    const text = await htstats(5);
    if (SHARDS === 1) expect(text).toBe(empty);
    else expect(text).toBe(Array.from({ length: SHARDS }, (_, i) => `[Shard ${i}]\n${empty}`).join(""));
    await expect(r.call("debug", "htstats", "16")).rejects.toThrow("ERR Out of range database");
    await expect(r.call("debug", "htstats", "-1")).rejects.toThrow("ERR Out of range database");
    await expect(r.call("debug", "htstats", "x")).rejects.toThrow("ERR value is not an integer or out of range");
  });

  it("counts the real buckets: sizes, elements, slots and the chain-length distribution agree", async () => {
    await r.select(6);
    await r.debug("populate", 1000);
    const text = await htstats(6);
    const dicts = tables(text);
    expect(dicts.length).toBe(SHARDS);
    expect(dicts.reduce((a, d) => a + d.used, 0)).toBe(1000);
    for (const m of text.matchAll(/ table size: (\d+)\n number of elements: (\d+)\n different slots: (\d+)\n max chain length: (\d+)\n avg chain length \(counted\): ([\d.]+)\n avg chain length \(computed\): ([\d.]+)\n Chain length distribution:\n((?:   \d+: \d+ \([\d.]+%\)\n)+)/g)) {
      const [size, used, slots, maxChain] = [1, 2, 3, 4].map((i) => Number(m[i]));
      const dist = [...m[7].matchAll(/   (\d+): (\d+) \(([\d.]+)%\)/g)].map((x) => [Number(x[1]), Number(x[2]), Number(x[3])]);
      // Every bucket is counted once; the non-empty ones are the slots; chains add up to the elements.
      expect(dist.reduce((a, [, n]) => a + n, 0)).toBe(size);
      expect(dist.filter(([len]) => len > 0).reduce((a, [, n]) => a + n, 0)).toBe(slots);
      expect(dist.reduce((a, [len, n]) => a + len * n, 0)).toBe(used);
      expect(Math.max(...dist.map(([len]) => len))).toBe(maxChain);
      // Two decimals, as printf's %.02f (an exact tie such as 15.625 rounds to even).
      expect(Math.abs(Number(m[6]) - used / slots)).toBeLessThanOrEqual(0.0051);
      for (const [, n, pct] of dist) expect(Math.abs(pct - (n / size) * 100)).toBeLessThanOrEqual(0.0051);
    }
    await r.set("ttl-key", "v", "EX", 100);
    expect(await htstats(6)).toContain("[Expires HT]\nHash table 0 stats (main hash table):\n number of elements: 1\n");
    await r.flushdb();
    await r.select(0);
  });

  it("HTSTATS-KEY prints a hashtable-encoded hash's real dict, and Redis's errors otherwise", async () => {
    await r.select(7);
    await r.config("set", "hash-max-listpack-entries", "0");
    await r.hset("h", "a", "1");
    expect(await r.call("debug", "htstats-key", "h")).toBe("Hash table 0 stats (main hash table):\n table size: 4\n" +
      " number of elements: 1\n different slots: 1\n max chain length: 1\n avg chain length (counted): 1.00\n" +
      " avg chain length (computed): 1.00\n Chain length distribution:\n   0: 3 (75.00%)\n   1: 1 (25.00%)\n");
    for (let i = 0; i < 100; i++) await r.hset("h", `f${i}`, "v");
    const big = tables("[Dictionary HT]\n" + String(await r.call("debug", "htstats-key", "h")) + "[Expires HT]\n")[0];
    expect(big.used).toBe(101);
    expect(Math.max(big.t0, big.t1)).toBeGreaterThanOrEqual(128);
    await r.config("set", "hash-max-listpack-entries", "128");
    await r.hset("small", "a", "1");
    await r.set("str", "v");
    await r.sadd("ints", "1", "2");
    const notDict = "ERR The value stored at the specified key is not represented using an hash table";
    for (const k of ["small", "str", "ints"]) await expect(r.call("debug", "htstats-key", k), k).rejects.toThrow(notDict);
    await expect(r.call("debug", "htstats-key", "nokey")).rejects.toThrow("ERR no such key");
    // A hashtable-encoded set's buckets (src/types/set-dict.ts) are counted the same way.
    await r.sadd("members", "a", "b");
    const set = tables("[Dictionary HT]\n" + String(await r.call("debug", "htstats-key", "members")) + "[Expires HT]\n")[0];
    expect(set).toEqual({ t0: 4, t1: 0, used: 2 });
    // A skiplist zset has no Redis dict here: it says so.
    await r.config("set", "zset-max-listpack-entries", "0");
    await r.zadd("z", 1, "a");
    await expect(r.call("debug", "htstats-key", "z")).rejects.toThrow("not in a Redis dict");
    await r.config("set", "zset-max-listpack-entries", "128");
    await r.flushdb();
    await r.select(0);
  });

  it("does not grow a full table while a BGSAVE child runs, and grows it at the next write after the child is gone", async () => {
    await r.select(9);
    await r.debug("populate", 256 * SHARDS);
    const before = tables(await htstats(9));
    await startSlowBgsave();
    // Up to twice as many keys: every shard's table is over-full, but under the 5:1 ratio.
    await r.debug("populate", 256 * SHARDS, "more");
    const during = tables(await htstats(9));
    // Nothing grew, and a rehash already under way (ratio 2) did not move on either.
    expect(during.map((d) => [d.t0, d.t1])).toEqual(before.map((d) => [d.t0, d.t1]));
    // Keys spread unevenly over shards; the over-full ones are what this test is about.
    const full = during.map((d, i) => i).filter((i) => during[i].used >= during[i].t0);
    if (SHARDS === 1) expect(full).toEqual([0]);
    expect(full.length).toBeGreaterThan(0);
    await killChildAndWait();
    await r.debug("populate", 16 * SHARDS, "after");
    const after = tables(await htstats(9));
    for (const i of full) expect(Math.max(after[i].t0, after[i].t1)).toBeGreaterThan(before[i].t0);
    await r.flushdb();
  });

  it("grows and rehashes during a BGSAVE once a table is more than 5 times over-full", async () => {
    await r.select(10);
    await r.debug("populate", 128 * SHARDS);
    // Finish any rehash first (lookups move buckets): one stalled by the policy at a 2:1 ratio
    // would keep the table from growing at all, in Redis too (no expand while rehashing).
    const keys = Array.from({ length: 128 * SHARDS }, (_, i) => `key:${i}`);
    for (let n = 0; tables(await htstats(10)).some((d) => d.t1 !== 0); n++) {
      expect(n).toBeLessThan(100);
      await r.exists(...keys);
    }
    const before = tables(await htstats(10));
    await startSlowBgsave();
    await r.debug("populate", 1600 * SHARDS, "more");
    const during = tables(await htstats(10));
    for (let i = 0; i < SHARDS; i++) {
      // Past used/size > 5 the table grew (dict_force_resize_ratio), and with sizes 5x apart
      // the rehash kept moving buckets, so it has finished or is under way.
      expect(Math.max(during[i].t0, during[i].t1)).toBeGreaterThanOrEqual(before[i].t0 * 8);
    }
    await killChildAndWait();
    await r.flushdb();
    await r.select(0);
  });
});
