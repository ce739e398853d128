// Latency events other than command/fast-command (Redis's latency.c sources): the active
// expire cycle's `expire-cycle` and `expire-del`, which Redis records when freeing an expired
// big value stalls the cycle (lazyfree-lazy-expire no frees it synchronously, as we do).
import { describe, it, expect } from "vitest";
import type Redis from "ioredis";
import { useServer } from "../helpers/server.js";

let r: Redis;
useServer((_s, c) => { r = c; });

type Latest = [string, number, number, number][];

async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met");
    await new Promise((res) => setTimeout(res, 20));
  }
}

describe("expire-cycle and expire-del latency events", () => {
  it("are recorded when the active expire cycle frees a big set synchronously", async () => {
    await r.config("SET", "latency-monitor-threshold", "1");
    await r.call("LATENCY", "RESET");
    // 1M members (as Redis's own latency-monitor test): freeing them one by one takes a few
    // ms here (2 ms for 300k under load), well over the 1 ms threshold on a fast machine too.
    for (let i = 0; i < 1_000_000; i += 10_000) {
      await r.sadd("lat:big", ...Array.from({ length: 10_000 }, (_, j) => "member:" + (i + j)));
    }
    expect(await r.scard("lat:big")).toBe(1_000_000);
    await r.pexpire("lat:big", 10);
    // DBSIZE does not touch the key (a lookup would expire it lazily, outside the cycle).
    await waitFor(async () => (await r.dbsize()) === 0);
    const latest = (await r.call("LATENCY", "LATEST")) as Latest;
    const names = latest.map((e) => e[0]);
    expect(names).toContain("expire-cycle");
    expect(names).toContain("expire-del");
    const history = (await r.call("LATENCY", "HISTORY", "expire-cycle")) as [number, number][];
    expect(history.length).toBeGreaterThanOrEqual(1);
    await r.config("SET", "latency-monitor-threshold", "0");
  });
});

describe("eviction and AOF latency events", () => {
  it("eviction-cycle when maxmemory evicts many keys in one cycle", async () => {
    await r.flushall();
    await r.config("SET", "latency-monitor-threshold", "1");
    await r.call("LATENCY", "RESET");
    for (let i = 0; i < 100_000; i += 10_000) {
      const args: string[] = [];
      for (let j = i; j < i + 10_000; j++) args.push("{lat}:" + j, "value:" + j);
      await r.mset(...args);
    }
    try {
      await r.config("SET", "maxmemory-policy", "allkeys-random");
      // Tenacity 100 lifts the cycle's time limit (Redis's evictionTimeLimitUs): with the
      // default 10 a cycle stops after 500 us and leaves the rest to the eviction timer, so
      // on a fast machine no single cycle reaches the 1 ms threshold (in Redis as here).
      await r.config("SET", "maxmemory-eviction-tenacity", "100");
      // One eviction cycle (before the next command) evicts tens of thousands of keys.
      await r.config("SET", "maxmemory", "2mb");
      await waitFor(async () => (await r.dbsize()) < 50_000);
      const names = ((await r.call("LATENCY", "LATEST")) as Latest).map((e) => e[0]);
      expect(names).toContain("eviction-cycle");
    } finally {
      await r.config("SET", "maxmemory", "0");
      await r.config("SET", "maxmemory-policy", "noeviction");
      await r.config("SET", "maxmemory-eviction-tenacity", "10");
      await r.config("SET", "latency-monitor-threshold", "0");
    }
  });

  it("aof-write (and aof-write-alone or -active-child) when a big write reaches the AOF", async () => {
    await r.flushall();
    await r.config("SET", "appendonly", "yes");
    try {
      await waitFor(async () => /aof_rewrite_in_progress:0/.test(await r.info("persistence")) &&
        /aof_enabled:1/.test(await r.info("persistence")));
      await r.config("SET", "latency-monitor-threshold", "1");
      await r.call("LATENCY", "RESET");
      await r.set("lat:aof", "x".repeat(32 * 1024 * 1024));
      const names = ((await r.call("LATENCY", "LATEST")) as Latest).map((e) => e[0]);
      expect(names).toContain("aof-write");
      expect(names.some((n) => n === "aof-write-alone" || n === "aof-write-active-child")).toBe(true);
    } finally {
      await r.config("SET", "latency-monitor-threshold", "0");
      await r.config("SET", "appendonly", "no");
      await r.del("lat:aof");
    }
  });
});
