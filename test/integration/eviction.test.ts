// maxmemory with eviction policies: once used memory passes maxmemory the server evicts keys
// chosen by the policy, and the choice is checked statistically (Redis's pool sampling is an
// approximation): LRU evicts the keys idle longest, LFU the rarely used, random either,
// volatile-* only keys with a TTL, volatile-ttl the nearest expiry. Evictions are effects
// (notifications, WATCH, INFO evicted_keys) and keep used_memory under the limit.
import { describe, it, expect, afterEach } from "vitest";
import Redis from "ioredis";
import { useServer, connectClient, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; }, { client: { protocol: 2 } as never });

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function info(field: string): Promise<number> {
  const text = await r.info();
  const m = new RegExp(`^${field}:(\\d+)`, "m").exec(text);
  if (!m) throw new Error(`INFO has no ${field}`);
  return Number(m[1]);
}

/** Writes `n` keys `prefix:i` (100-byte values), with a TTL of ttl seconds when given. */
async function fill(prefix: string, n: number, ttl = 0): Promise<void> {
  const p = r.pipeline();
  const v = "x".repeat(100);
  for (let i = 0; i < n; i++) {
    if (ttl > 0) p.set(`${prefix}:${i}`, v, "EX", ttl);
    else p.set(`${prefix}:${i}`, v);
  }
  await p.exec();
}

async function countPrefix(prefix: string): Promise<number> {
  return (await r.keys(`${prefix}:*`)).length;
}

/**
 * Lowers maxmemory so that about `evict` of the current keys (of equal size) must go, runs
 * a command so that the server evicts, and returns how many keys it evicted.
 */
async function squeeze(evict: number): Promise<number> {
  const keys = await r.dbsize();
  const used = await info("used_memory");
  const perKey = (used - 1024 * 1024) / keys;
  await r.config("SET", "maxmemory", String(Math.floor(used - evict * perKey)));
  await r.ping();
  return keys - (await r.dbsize());
}

afterEach(async () => {
  await r.config("SET", "maxmemory", "0");
  await r.config("SET", "maxmemory-policy", "noeviction");
  await r.flushall();
  await r.config("RESETSTAT");
});

describe("maxmemory eviction policies", () => {
  it("allkeys-lru evicts the keys idle longest", async () => {
    await r.config("SET", "maxmemory-policy", "allkeys-lru");
    await fill("old", 500);
    await sleep(2100); // the LRU clock counts seconds
    await fill("new", 500);
    const evicted = await squeeze(300);
    expect(evicted).toBeGreaterThanOrEqual(250);
    const oldGone = 500 - (await countPrefix("old"));
    expect(oldGone / evicted).toBeGreaterThan(0.9);
    expect(await info("evicted_keys")).toBe(evicted);
  });

  it("allkeys-lfu evicts the rarely used keys", async () => {
    await r.config("SET", "maxmemory-policy", "allkeys-lfu");
    await r.config("SET", "lfu-log-factor", "0"); // every access counts
    await fill("cold", 500);
    await fill("hot", 500);
    const p = r.pipeline();
    for (let round = 0; round < 10; round++) for (let i = 0; i < 500; i++) p.get(`hot:${i}`);
    await p.exec();
    expect(Number(await r.object("FREQ", "hot:1"))).toBeGreaterThan(10);
    expect(Number(await r.object("FREQ", "cold:1"))).toBeLessThanOrEqual(5);
    const evicted = await squeeze(300);
    expect(evicted).toBeGreaterThanOrEqual(250);
    const coldGone = 500 - (await countPrefix("cold"));
    expect(coldGone / evicted).toBeGreaterThan(0.9);
    await r.config("SET", "lfu-log-factor", "10");
  });

  it("allkeys-random evicts from old and new keys alike", async () => {
    await r.config("SET", "maxmemory-policy", "allkeys-random");
    await fill("a", 500);
    await fill("b", 500);
    const evicted = await squeeze(400);
    expect(evicted).toBeGreaterThanOrEqual(300);
    const aGone = 500 - (await countPrefix("a"));
    expect(aGone / evicted).toBeGreaterThan(0.3);
    expect(aGone / evicted).toBeLessThan(0.7);
  });

  for (const policy of ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"]) {
    it(`${policy} never evicts keys without a TTL, and refuses writes once none is left`, async () => {
      await r.config("SET", "maxmemory-policy", policy);
      await fill("keep", 400);
      await fill("vol", 400, 10_000);
      const evicted = await squeeze(300);
      expect(evicted).toBeGreaterThanOrEqual(250);
      expect(await countPrefix("keep")).toBe(400);
      // Squeezed below what the persistent keys need: every volatile key goes, then -OOM.
      await r.config("SET", "maxmemory", "1");
      await expect(r.set("more", "x")).rejects.toThrow("OOM command not allowed when used memory > 'maxmemory'.");
      expect(await countPrefix("vol")).toBe(0);
      expect(await countPrefix("keep")).toBe(400);
    });
  }

  it("volatile-ttl evicts the keys that expire soonest", async () => {
    await r.config("SET", "maxmemory-policy", "volatile-ttl");
    await fill("soon", 500, 1000);
    await fill("late", 500, 100_000);
    const evicted = await squeeze(300);
    expect(evicted).toBeGreaterThanOrEqual(250);
    const soonGone = 500 - (await countPrefix("soon"));
    expect(soonGone / evicted).toBeGreaterThan(0.9);
  });

  it("keeps used_memory under maxmemory under a write load, lists included", async () => {
    await r.config("SET", "maxmemory-policy", "allkeys-lru");
    const limit = (await info("used_memory")) + 200 * 1024;
    await r.config("SET", "maxmemory", String(limit));
    const v = "y".repeat(200);
    for (let batch = 0; batch < 20; batch++) {
      const p = r.pipeline();
      for (let i = 0; i < 250; i++) {
        const k = batch * 250 + i;
        if (k % 5 === 0) p.rpush(`list:${k}`, v, v, v);
        else p.set(`str:${k}`, v);
      }
      await p.exec();
      expect(await info("used_memory")).toBeLessThanOrEqual(limit + 16 * 1024);
    }
    expect(await info("evicted_keys")).toBeGreaterThan(1000);
    expect(await r.dbsize()).toBeLessThan(5000);
  });

  it("publishes evicted keys: keyspace notification `evicted`, WATCH, INFO evicted_keys", async () => {
    await r.config("SET", "notify-keyspace-events", "Ee");
    const sub = await connectClient(srv.port, { protocol: 2 } as never);
    const watcher = await connectClient(srv.port, { protocol: 2 } as never);
    try {
      const events: string[] = [];
      sub.on("message", (_ch: string, key: string) => events.push(key));
      await sub.subscribe("__keyevent@0__:evicted");
      await r.set("w", "1");
      await watcher.watch("w");
      await r.config("SET", "maxmemory-policy", "allkeys-random");
      await r.config("SET", "maxmemory", "1");
      await r.ping();
      expect(await r.dbsize()).toBe(0);
      const tx = await watcher.multi().get("w").exec(); // a read: SET is refused at maxmemory 1
      expect(tx).toBeNull();
      for (let i = 0; i < 50 && events.length === 0; i++) await sleep(20);
      expect(events).toEqual(["w"]);
      expect(await info("evicted_keys")).toBe(1);
    } finally {
      sub.disconnect();
      watcher.disconnect();
      await r.config("SET", "notify-keyspace-events", "");
    }
  });

  it("OBJECT FREQ needs an LFU policy; OBJECT IDLETIME an LRU one", async () => {
    await r.set("k", "v");
    await expect(r.object("FREQ", "k")).rejects.toThrow(
      "An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
    expect(await r.object("IDLETIME", "k")).toBe(0);
    await r.config("SET", "maxmemory-policy", "allkeys-lfu");
    await r.set("k2", "v");
    expect(await r.object("FREQ", "k2")).toBe(5);
    await expect(r.object("IDLETIME", "k2")).rejects.toThrow("An LFU maxmemory policy is selected, idle time not tracked.");
  });
});
