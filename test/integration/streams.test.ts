// Stream commands through a real server (1 and 4 shards) with ioredis: entries, ranges,
// blocking reads served by another client's XADD, consumer groups end to end, and the
// stream as a key like any other (TYPE, COPY, RENAME, WRONGTYPE).
import { describe, it, expect, beforeAll, afterAll, beforeEach } from "vitest";
import Redis from "ioredis";
import { startServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
let r2: Redis;

const connect = async () => {
  const c = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
  await c.connect();
  return c;
};

beforeAll(async () => {
  srv = await startServer();
  r = await connect();
  r2 = await connect();
});
afterAll(async () => {
  r?.disconnect();
  r2?.disconnect();
  await srv?.stop();
});
beforeEach(async () => { await r.flushall(); });

describe("streams through a real server", () => {
  it("XADD, XLEN, XRANGE, XREVRANGE with exclusive bounds and COUNT", async () => {
    expect(await r.xadd("s", "1-1", "a", "1")).toBe("1-1");
    expect(await r.xadd("s", "1-*", "b", "2")).toBe("1-2");
    expect(await r.xadd("s", "2", "c", "3")).toBe("2-0");
    expect(await r.xlen("s")).toBe(3);
    expect(await r.xrange("s", "-", "+")).toEqual([["1-1", ["a", "1"]], ["1-2", ["b", "2"]], ["2-0", ["c", "3"]]]);
    expect(await r.xrange("s", "(1-1", "+", "COUNT", 1)).toEqual([["1-2", ["b", "2"]]]);
    expect(await r.xrevrange("s", "(2-0", "-")).toEqual([["1-2", ["b", "2"]], ["1-1", ["a", "1"]]]);
    await expect(r.xadd("s", "1-5", "x", "y")).rejects.toThrow("equal or smaller than the target stream top item");
  });

  it("XADD NOMKSTREAM on a missing key creates nothing; MAXLEN trims", async () => {
    expect(await r.xadd("nokey", "NOMKSTREAM", "*", "f", "v")).toBeNull();
    expect(await r.exists("nokey")).toBe(0);
    for (let i = 1; i <= 10; i++) await r.xadd("s", "MAXLEN", "=", "3", `${i}-0`, "f", String(i));
    expect((await r.xrange("s", "-", "+")).map((e) => e[0])).toEqual(["8-0", "9-0", "10-0"]);
    expect(await r.xtrim("s", "MAXLEN", 1)).toBe(2);
    expect(await r.xdel("s", "10-0", "11-0")).toBe(1);
    expect(await r.xlen("s")).toBe(0);
    expect(await r.exists("s")).toBe(1);
  });

  it("XREAD BLOCK with $ is served by another client's XADD", async () => {
    await r.xadd("s", "1-0", "old", "x");
    const pending = r2.xread("BLOCK", 5000, "STREAMS", "s", "$");
    await new Promise((res) => setTimeout(res, 50));
    await r.xadd("s", "2-0", "new", "y");
    expect(await pending).toEqual([["s", [["2-0", ["new", "y"]]]]]);
  });

  it("XREAD BLOCK times out with a null reply", async () => {
    expect(await r2.xread("BLOCK", 20, "STREAMS", "s", "$")).toBeNull();
  });

  it("consumer groups: XREADGROUP, XPENDING, XCLAIM, XACK, XINFO", async () => {
    await r.xadd("s", "1-0", "f", "1");
    await r.xadd("s", "2-0", "f", "2");
    expect(await r.xgroup("CREATE", "s", "g", "0")).toBe("OK");
    await expect(r.xgroup("CREATE", "s", "g", "0")).rejects.toThrow("BUSYGROUP");
    expect(await r.xreadgroup("GROUP", "g", "alice", "COUNT", 1, "STREAMS", "s", ">")).toEqual([["s", [["1-0", ["f", "1"]]]]]);
    expect(await r.xpending("s", "g")).toEqual([1, "1-0", "1-0", [["alice", "1"]]]);
    const claimed = await r.xclaim("s", "g", "bob", 0, "1-0", "JUSTID");
    expect(claimed).toEqual(["1-0"]);
    const [row] = (await r.xpending("s", "g", "-", "+", 10)) as [string, string, number, number][];
    expect(row[0]).toBe("1-0");
    expect(row[1]).toBe("bob");
    expect(await r.xack("s", "g", "1-0", "9-0")).toBe(1);
    const groups = (await r.xinfo("GROUPS", "s")) as unknown[][];
    expect(groups[0]).toEqual(["name", "g", "consumers", 2, "pending", 0, "last-delivered-id", "1-0", "entries-read", 1, "lag", 1]);
    await expect(r.xreadgroup("GROUP", "nog", "c", "STREAMS", "s", ">")).rejects.toThrow("NOGROUP");
  });

  it("a blocked XREADGROUP gets an error when its key is deleted", async () => {
    await r.xgroup("CREATE", "s", "g", "$", "MKSTREAM");
    const pending = r2.xreadgroup("GROUP", "g", "c", "BLOCK", 0, "STREAMS", "s", ">").catch((e: Error) => e);
    await new Promise((res) => setTimeout(res, 50));
    await r.del("s");
    expect(String(await pending)).toContain("UNBLOCKED the stream key no longer exists");
  });

  it("a stream is a key: TYPE, OBJECT ENCODING, COPY, RENAME, WRONGTYPE", async () => {
    await r.xadd("{k}a", "1-0", "f", "v");
    expect(await r.type("{k}a")).toBe("stream");
    expect(await r.object("ENCODING", "{k}a")).toBe("stream");
    expect(await r.copy("{k}a", "{k}b")).toBe(1);
    await r.xadd("{k}a", "2-0", "f", "v");
    expect(await r.xlen("{k}b")).toBe(1);
    await r.rename("{k}b", "{k}c");
    expect(await r.xlen("{k}c")).toBe(1);
    await r.set("str", "x");
    await expect(r.xadd("str", "*", "f", "v")).rejects.toThrow("WRONGTYPE");
    await expect(r.xlen("str")).rejects.toThrow("WRONGTYPE");
  });

  it("MEMORY USAGE of a stream follows its packed entries: a few bytes beyond each entry's data", async () => {
    const add = async (key: string, n: number) => {
      const p = r.pipeline();
      for (let i = 0; i < n; i++) p.xadd(key, "*", "field", `v${i}`);
      await p.exec();
    };
    await add("mem:small", 1000);
    await add("mem:big", 4000);
    const small = Number(await r.call("memory", "usage", "mem:small"));
    const big = Number(await r.call("memory", "usage", "mem:big"));
    expect(big).toBeGreaterThan(small * 3);
    // Redis 7.0.15 reports ~19.6 bytes an entry for this stream; an object per entry would be 100+.
    expect(big / 4000).toBeGreaterThan(8);
    expect(big / 4000).toBeLessThan(40);
  });

  it("DUMP and RESTORE carry entries, tombstones, groups and pending entries", async () => {
    await r.config("SET", "stream-node-max-entries", "2");
    for (let i = 1; i <= 5; i++) await r.xadd("s", `${i}-0`, "f", String(i));
    await r.xdel("s", "2-0");
    await r.xgroup("CREATE", "s", "g", "0");
    await r.xreadgroup("GROUP", "g", "alice", "COUNT", 2, "STREAMS", "s", ">");
    await r.config("SET", "stream-node-max-entries", "100");
    const payload = await r.dumpBuffer("s");
    await r.restore("copy", 0, payload);
    expect(await r.xrange("copy", "-", "+")).toEqual(await r.xrange("s", "-", "+"));
    expect(await r.xpending("copy", "g")).toEqual([2, "1-0", "3-0", [["alice", "2"]]]);
    const info = (await r.xinfo("STREAM", "copy")) as unknown[];
    expect(info.slice(6, 14)).toEqual(["last-generated-id", "5-0", "max-deleted-entry-id", "2-0", "entries-added", 5, "recorded-first-entry-id", "1-0"]);
  });
});

describe("an approximate trim replayed from the AOF", () => {
  it("XADD MAXLEN ~ n LIMIT m is logged as an exact trim the AOF applies whole (LIMIT and node size do not matter on replay)", async () => {
    const aofSrv = await startServer(["--appendonly", "yes", "--enable-debug-command", "yes", "--stream-node-max-entries", "10"]);
    const c = new Redis({ port: aofSrv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
    try {
      await c.connect();
      for (let i = 0; i < 100; i++) await c.xadd("s", "*", "item", "v");
      await c.xadd("s", "MAXLEN", "~", "55", "LIMIT", "30", "*", "item", "v");
      // Whole nodes of 10 go, at most 30 entries: 101 - 30.
      expect(await c.xlen("s")).toBe(71);
      expect(await c.config("SET", "stream-node-max-entries", "1")).toBe("OK");
      expect(await c.call("debug", "loadaof")).toBe("OK");
      expect(await c.xlen("s")).toBe(71);
    } finally {
      c.disconnect();
      await aofSrv.stop();
    }
  });
});
