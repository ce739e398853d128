// -0 scores as redis-server 7.0.15 answers them (checked with redis-cli against it): a reply
// computed as -0 prints "-0" (%.17g), a listpack-encoded zset stores -0 as 0, a skiplist keeps it.
import { describe, it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import { useServer } from "../helpers/server.js";

let r: Redis;
useServer((_s, c) => { r = c; });
beforeEach(async () => { await r.flushall(); });

describe("-0 scores", () => {
  it("ZINCRBY and ZADD INCR of -0 on a new member reply -0; a small zset then holds 0", async () => {
    expect(await r.zincrby("z9", "-0", "a")).toBe("-0");
    expect(await r.call("ZADD", "z10", "INCR", "-0", "a")).toBe("-0");
    expect(await r.zscore("z10", "a")).toBe("0");
    expect(await r.call("ZADD", "z10", "INCR", "-0", "a")).toBe("0");
    await r.zadd("z2", "-0", "a", "1", "b");
    expect(await r.zscore("z2", "a")).toBe("0");
    expect(await r.zscan("z2", "0")).toEqual(["0", ["a", "0", "b", "1"]]);
  });

  it("a skiplist-encoded zset keeps -0: ZSCORE, ranges, ZSCAN, ZINCRBY and ZPOPMIN show it", async () => {
    const args: string[] = [];
    for (let i = 1; i <= 200; i++) args.push(String(i), `m${i}`);
    await r.zadd("bz", ...args);
    expect(await r.zadd("bz", "-0", "c")).toBe(1);
    expect(await r.zscore("bz", "c")).toBe("-0");
    expect(await r.zscan("bz", "0", "MATCH", "c", "COUNT", "1000")).toEqual(["0", ["c", "-0"]]);
    expect(await r.zrangebyscore("bz", "-inf", "0", "WITHSCORES")).toEqual(["c", "-0"]);
    expect(await r.zincrby("bz", "-0", "c")).toBe("-0");
    expect(await r.zincrby("bz", "0", "c")).toBe("0");
    expect(await r.zscore("bz", "c")).toBe("-0");
    expect(await r.zincrby("bz", "-0", "newm")).toBe("-0");
    expect(await r.zmscore("bz", "newm", "m1")).toEqual(["-0", "1"]);
    // ZRANGESTORE of a few members makes a listpack: its -0 becomes 0.
    expect(await r.call("ZRANGESTORE", "dst", "bz", "0", "1")).toBe(2);
    expect(await r.call("OBJECT", "ENCODING", "dst")).toBe("listpack");
    expect(await r.zrange("dst", "0", "-1", "WITHSCORES")).toEqual(["c", "0", "newm", "0"]);
    expect(await r.zpopmin("bz")).toEqual(["c", "-0"]);
  });
});
