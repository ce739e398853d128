// Generic key commands and expiry through a real server process and ioredis.
import { describe, it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

useServer((s, c) => { srv = s; r = c; });
beforeEach(async () => {
  await r.flushall();
});

describe("generic key commands through a real server", () => {
  it("DEL / EXISTS / TYPE / DBSIZE", async () => {
    await r.set("a", "1");
    await r.set("b", "2");
    expect(await r.exists("a", "b", "c")).toBe(2);
    expect(await r.type("a")).toBe("string");
    expect(await r.type("nope")).toBe("none");
    expect(await r.dbsize()).toBe(2);
    expect(await r.del("a", "c")).toBe(1);
    expect(await r.dbsize()).toBe(1);
  });

  it("the server's cron expires keys nobody reads", async () => {
    await r.set("k1", "v", "PX", 50);
    await r.set("k2", "v", "PX", 50);
    await r.set("keep", "v");
    const deadline = Date.now() + 3000;
    while ((await r.dbsize()) > 1 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(await r.dbsize()).toBe(1);
  });

  it("the cron reclaims a burst of expired keys within a few cycles, not a fixed trickle", async () => {
    const p = r.pipeline();
    for (let i = 0; i < 20_000; i++) p.set(`burst:${i}`, "v", "PX", 100);
    await p.exec();
    await new Promise((res) => setTimeout(res, 150));
    // A fixed 200 samples per 100 ms tick would need ~10 s for these.
    const deadline = Date.now() + 5000;
    while ((await r.dbsize()) > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    expect(await r.dbsize()).toBe(0);
  });

  it("EXPIRE / TTL / PERSIST", async () => {
    await r.set("k", "v");
    expect(await r.expire("k", 100)).toBe(1);
    expect(await r.ttl("k")).toBe(100);
    expect(await r.persist("k")).toBe(1);
    expect(await r.ttl("k")).toBe(-1);
    await expect(r.call("expire", "k", "10", "nx", "xx")).rejects.toThrow(
      "ERR NX and XX, GT or LT options at the same time are not compatible");
  });

  it("SCAN walks every key exactly as KEYS lists them", async () => {
    const want: string[] = [];
    for (let i = 0; i < 300; i++) want.push(`key:${i}`);
    const p = r.pipeline();
    for (const k of want) p.set(k, "v");
    await p.exec();
    const seen = new Set<string>();
    let cursor = "0";
    do {
      const [next, keys] = await r.scan(cursor, "COUNT", 17);
      for (const k of keys) seen.add(k);
      cursor = next;
    } while (cursor !== "0");
    expect([...seen].sort()).toEqual([...want].sort());
    expect((await r.keys("key:1?")).sort()).toEqual(["key:10", "key:11", "key:12", "key:13", "key:14", "key:15", "key:16", "key:17", "key:18", "key:19"]);
  });

  it("SCAN MATCH / TYPE and cursor errors", async () => {
    await r.set("s1", "v");
    await r.hset("h1", "f", "v");
    const [, strings] = await r.scan("0", "COUNT", 100, "TYPE", "string");
    expect(strings).toEqual(["s1"]);
    const [, hs] = await r.scan("0", "MATCH", "h*", "COUNT", 100);
    expect(hs).toEqual(["h1"]);
    await expect(r.scan("abc")).rejects.toThrow("ERR invalid cursor");
    await expect(r.call("scan", "0", "count", "0")).rejects.toThrow("ERR syntax error");
  });

  it("RENAME / COPY / MOVE across databases", async () => {
    await r.set("a", "hello", "EX", 100);
    expect(await r.rename("a", "b")).toBe("OK");
    expect(await r.ttl("b")).toBe(100);
    await expect(r.rename("nokey", "x")).rejects.toThrow("ERR no such key");
    expect(await r.copy("b", "c", "DB", 3)).toBe(1);
    expect(await r.move("b", 4)).toBe(1);
    await r.select(3);
    expect(await r.get("c")).toBe("hello");
    await r.select(4);
    expect(await r.get("b")).toBe("hello");
    await r.select(0);
    expect(await r.exists("b")).toBe(0);
  });
});
