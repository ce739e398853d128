// Sorted set commands through a real server (1 and 4 shards): Redis's replies and errors,
// score formatting, and multi-key commands over keys on different shards.
import { describe, it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

// RESP2 so that replies are plain strings/arrays as the assertions below spell them.
useServer((s, c) => { srv = s; r = c; }, { client: { protocol: 2 } as never });
beforeEach(async () => { await r.flushall(); });

describe("sorted sets through a real server", () => {
  it("ZADD options, CH, INCR and Redis's option errors", async () => {
    expect(await r.zadd("z", 1, "a", 2, "b")).toBe(2);
    expect(await r.zadd("z", "XX", "CH", 5, "a", 9, "new")).toBe(1);
    expect(await r.zscore("z", "new")).toBeNull();
    expect(await r.zadd("z", "NX", 100, "a", 3, "c")).toBe(1);
    expect(await r.zscore("z", "a")).toBe("5");
    expect(await r.zadd("z", "GT", "CH", 4, "a", 6, "b")).toBe(1);
    expect(await r.zadd("z", "LT", "CH", 1, "a")).toBe(1);
    expect(await r.zadd("z", "INCR", 2.5, "a")).toBe("3.5");
    expect(await r.zadd("z", "GT", "INCR", -1, "a")).toBeNull();
    expect(await r.zadd("missing", "XX", 1, "a")).toBe(0);
    expect(await r.exists("missing")).toBe(0);
    await expect(r.zadd("z", "NX", "XX", 1, "a")).rejects.toThrow("ERR XX and NX options at the same time are not compatible");
    await expect(r.zadd("z", "GT", "LT", 1, "a")).rejects.toThrow("ERR GT, LT, and/or NX options at the same time are not compatible");
    await expect(r.zadd("z", "NX", "GT", 1, "a")).rejects.toThrow("ERR GT, LT, and/or NX options at the same time are not compatible");
    await expect(r.zadd("z", "INCR", 1, "a", 2, "b")).rejects.toThrow("ERR INCR option supports a single increment-element pair");
    await expect(r.zadd("z", 1, "a", 2)).rejects.toThrow("ERR syntax error");
    await expect(r.zadd("z", "nan", "a")).rejects.toThrow("ERR value is not a valid float");
    await expect(r.zadd("z", 1, "x", "abc", "y")).rejects.toThrow("ERR value is not a valid float");
    expect(await r.zscore("z", "x")).toBeNull();
  });

  it("ZINCRBY to NaN is refused and leaves the score", async () => {
    await r.zadd("z", "inf", "a");
    await expect(r.zincrby("z", "-inf", "a")).rejects.toThrow("ERR resulting score is not a number (NaN)");
    expect(await r.zscore("z", "a")).toBe("inf");
    expect(await r.zincrby("new", 1.5, "m")).toBe("1.5");
  });

  it("scores are formatted like Redis's %.17g", async () => {
    await r.zadd("z", 0.1, "a", 1e20, "b", "-inf", "c", 123456789012345678, "d", 3, "e");
    expect(await r.zrange("z", 0, -1, "WITHSCORES")).toEqual([
      "c", "-inf", "a", "0.10000000000000001", "e", "3", "d", "1.2345678901234568e+17", "b", "1e+20",
    ]);
    expect(await r.zmscore("z", "a", "nope", "e")).toEqual(["0.10000000000000001", null, "3"]);
  });

  it("ZRANGE by rank, score and lex with REV and LIMIT; the old range commands", async () => {
    await r.zadd("z", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e");
    expect(await r.zrange("z", 1, -2)).toEqual(["b", "c", "d"]);
    expect(await r.zrange("z", 0, 1, "REV")).toEqual(["e", "d"]);
    expect(await r.zrange("z", "(1", 4, "BYSCORE", "LIMIT", 1, 2)).toEqual(["c", "d"]);
    expect(await r.zrange("z", 4, "(1", "BYSCORE", "REV")).toEqual(["d", "c", "b"]);
    expect(await r.zrangebyscore("z", "-inf", "+inf", "WITHSCORES", "LIMIT", 0, 1)).toEqual(["a", "1"]);
    expect(await r.zrevrangebyscore("z", 3, "-inf")).toEqual(["c", "b", "a"]);
    expect(await r.zrevrange("z", 0, 0, "WITHSCORES")).toEqual(["e", "5"]);
    await expect(r.zrange("z", 0, 1, "LIMIT", 0, 1)).rejects.toThrow("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
    await expect(r.zrangebyscore("z", "x", 1)).rejects.toThrow("ERR min or max is not a float");
    await r.zadd("lex", 0, "a", 0, "b", 0, "c", 0, "d");
    expect(await r.zrangebylex("lex", "(a", "[c")).toEqual(["b", "c"]);
    expect(await r.zrevrangebylex("lex", "+", "-", "LIMIT", 1, 2)).toEqual(["c", "b"]);
    expect(await r.zrange("lex", "[b", "+", "BYLEX")).toEqual(["b", "c", "d"]);
    expect(await r.zlexcount("lex", "-", "(c")).toBe(2);
    await expect(r.zrangebylex("lex", "a", "+")).rejects.toThrow("ERR min or max not valid string range item");
    await expect(r.zrange("lex", "-", "+", "BYLEX", "WITHSCORES")).rejects.toThrow("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  });

  it("ZCOUNT/ZRANK/ZREVRANK/ZCARD/ZREM and ZREMRANGEBY*", async () => {
    await r.zadd("z", 1, "a", 2, "b", 3, "c", 4, "d", 5, "e");
    expect(await r.zcount("z", "(1", 3)).toBe(2);
    expect(await r.zrank("z", "c")).toBe(2);
    expect(await r.zrevrank("z", "c")).toBe(2);
    expect(await r.zrank("z", "zz")).toBeNull();
    expect(await r.zremrangebyscore("z", "-inf", "(2")).toBe(1);
    expect(await r.zremrangebyrank("z", -1, -1)).toBe(1);
    expect(await r.zrem("z", "b", "nope")).toBe(1);
    expect(await r.zcard("z")).toBe(2);
    await r.zadd("lex", 0, "a", 0, "b", 0, "c");
    expect(await r.zremrangebylex("lex", "-", "+")).toBe(3);
    expect(await r.exists("lex")).toBe(0);
  });

  it("ZUNION/ZINTER/ZDIFF(STORE) with WEIGHTS and AGGREGATE over keys on different shards, sets count as score 1", async () => {
    await r.zadd("za", 1, "a", 2, "b", 3, "c");
    await r.zadd("zb", 10, "b", 20, "c", 30, "d");
    await r.sadd("plain", "c", "d");
    expect(await r.zunion(2, "za", "zb", "WITHSCORES")).toEqual(["a", "1", "b", "12", "c", "23", "d", "30"]);
    expect(await r.zinter(2, "za", "zb", "WEIGHTS", 2, 1, "AGGREGATE", "MAX", "WITHSCORES")).toEqual(["b", "10", "c", "20"]);
    expect(await r.zinter(3, "za", "zb", "plain", "WITHSCORES")).toEqual(["c", "24"]);
    expect(await r.zdiff(2, "za", "zb", "WITHSCORES")).toEqual(["a", "1"]);
    expect(await r.zunionstore("out", 2, "za", "plain", "AGGREGATE", "MIN")).toBe(4);
    expect(await r.zrange("out", 0, -1, "WITHSCORES")).toEqual(["a", "1", "c", "1", "d", "1", "b", "2"]);
    expect(await r.zinterstore("out", 2, "za", "missing")).toBe(0);
    expect(await r.exists("out")).toBe(0);
    expect(await r.zdiffstore("out", 1, "zb")).toBe(3);
    expect(await r.call("zintercard", 2, "za", "zb", "LIMIT", 1)).toBe(1);
    await expect(r.zunion(0, "za")).rejects.toThrow("ERR at least 1 input key is needed for 'zunion' command");
    await expect(r.zunionstore("out", 3, "za")).rejects.toThrow("ERR syntax error");
    await expect(r.zunion(1, "za", "WEIGHTS", "x")).rejects.toThrow("ERR weight value is not a float");
    await r.set("str", "v");
    await expect(r.zunion(2, "za", "str")).rejects.toThrow(/^WRONGTYPE/);
  });

  it("ZRANGESTORE stores a range (or deletes the destination when empty)", async () => {
    await r.zadd("src", 1, "a", 2, "b", 3, "c");
    expect(await r.zrangestore("dst", "src", 0, 1)).toBe(2);
    expect(await r.zrange("dst", 0, -1, "WITHSCORES")).toEqual(["a", "1", "b", "2"]);
    expect(await r.zrangestore("dst", "src", "(3", "+inf", "BYSCORE")).toBe(0);
    expect(await r.exists("dst")).toBe(0);
  });

  it("ZPOPMIN/ZPOPMAX/ZMPOP and ZRANDMEMBER", async () => {
    await r.zadd("z", 1, "a", 2, "b", 3, "c");
    expect(await r.zpopmin("z")).toEqual(["a", "1"]);
    expect(await r.zpopmax("z", 5)).toEqual(["c", "3", "b", "2"]);
    expect(await r.exists("z")).toBe(0);
    expect(await r.zpopmin("z")).toEqual([]);
    await r.zadd("z2", 1, "x", 2, "y");
    expect(await r.call("zmpop", 2, "z", "z2", "MAX", "COUNT", 1)).toEqual(["z2", [["y", "2"]]]);
    expect(await r.call("zmpop", 1, "z", "MIN")).toBeNull();
    await expect(r.call("zmpop", 0, "z", "MIN")).rejects.toThrow("ERR numkeys should be greater than 0");
    await expect(r.call("zmpop", 1, "z", "MIN", "COUNT", 0)).rejects.toThrow("ERR count should be greater than 0");
    expect(await r.zrandmember("z2")).toBe("x");
    expect(await r.zrandmember("z2", -3)).toEqual(["x", "x", "x"]);
    expect(await r.zrandmember("z2", 5, "WITHSCORES")).toEqual(["x", "1"]);
    await expect(r.zrandmember("z2", "-9223372036854770000", "WITHSCORES")).rejects.toThrow("value is out of range");
  });

  it("ZSCAN walks a large sorted set with member/score pairs", async () => {
    const args: (string | number)[] = [];
    for (let i = 0; i < 500; i++) args.push(i, "m" + i);
    await r.zadd("big", ...args);
    const seen = new Map<string, string>();
    let cursor = "0";
    do {
      const [next, batch] = await r.zscan("big", cursor, "COUNT", 20);
      for (let i = 0; i < batch.length; i += 2) seen.set(batch[i], batch[i + 1]);
      cursor = next;
    } while (cursor !== "0");
    expect(seen.size).toBe(500);
    expect(seen.get("m123")).toBe("123");
  });

  it("WRONGTYPE, and other commands see zsets: TYPE, DEL, RENAME across shards", async () => {
    await r.zadd("z", 1, "a");
    expect(await r.type("z")).toBe("zset");
    await expect(r.sadd("z", "a")).rejects.toThrow(/^WRONGTYPE/);
    await r.rename("z", "elsewhere");
    expect(await r.zscore("elsewhere", "a")).toBe("1");
    expect(await r.del("elsewhere")).toBe(1);
  });
});

/** Waits until the server reports n blocked clients (INFO clients), so arrival order is known. */
async function waitBlocked(n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const info = await r.info("clients");
    if (Number(/blocked_clients:(\d+)/.exec(info)?.[1]) >= n) return;
    await new Promise((res) => setTimeout(res, 10));
  }
  throw new Error(`never saw ${n} blocked clients`);
}

describe("blocking sorted set pops through a real server", () => {
  it("BZPOPMIN returns at once from the first non-empty key, and nil after its timeout", async () => {
    await r.zadd("b2", 5, "x", 1, "y");
    expect(await r.bzpopmin("b1", "b2", 1)).toEqual(["b2", "y", "1"]);
    const t0 = Date.now();
    expect(await r.bzpopmax("empty", 0.1)).toBeNull();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(90);
    await expect(r.bzpopmin("b1", -1)).rejects.toThrow("ERR timeout is negative");
    await expect(r.bzpopmin("b1", "abc")).rejects.toThrow("ERR timeout is not a float or out of range");
  });

  it("a client blocked in BZPOPMAX is served by another client's ZADD (keys on different shards)", async () => {
    const other = new Redis({ port: srv.port, host: "127.0.0.1", protocol: 2 } as never);
    try {
      const waiting = other.bzpopmax("wa", "wb", 5);
      await waitBlocked(1);
      await r.zadd("wb", 1, "lo", 2, "hi");
      expect(await waiting).toEqual(["wb", "hi", "2"]);
      expect(await r.zrange("wb", 0, -1)).toEqual(["lo"]);
    } finally {
      other.disconnect();
    }
  });

  it("BZMPOP blocks, then pops COUNT members from the key that got them; first blocked is served first", async () => {
    const c1 = new Redis({ port: srv.port, host: "127.0.0.1", protocol: 2 } as never);
    const c2 = new Redis({ port: srv.port, host: "127.0.0.1", protocol: 2 } as never);
    try {
      const first = c1.call("bzmpop", 5, 2, "m1", "m2", "MIN", "COUNT", 2);
      await waitBlocked(1);
      const second = c2.call("bzmpop", 5, 1, "m2", "MAX");
      await waitBlocked(2);
      await r.zadd("m2", 1, "a", 2, "b", 3, "c");
      expect(await first).toEqual(["m2", [["a", "1"], ["b", "2"]]]);
      expect(await second).toEqual(["m2", [["c", "3"]]]);
      expect(await r.exists("m2")).toBe(0);
    } finally {
      c1.disconnect();
      c2.disconnect();
    }
  });
});
