// The Redis 7.0 string family through a real server and ioredis. Expected replies were
// taken from redis-server 7.0.15.
import { describe, it, expect, afterAll } from "vitest";
import Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

useServer((s, c) => { srv = s; r = c; });

describe("string family through a real server", () => {
  it("INCR/DECR/INCRBY/DECRBY count and report overflow", async () => {
    expect(await r.incr("ctr")).toBe(1);
    expect(await r.incrby("ctr", 41)).toBe(42);
    expect(await r.decr("ctr")).toBe(41);
    expect(await r.decrby("ctr", 50)).toBe(-9);
    await r.set("ctr-max", "9223372036854775807");
    await expect(r.incr("ctr-max")).rejects.toThrow("ERR increment or decrement would overflow");
    await r.set("ctr-text", "abc");
    await expect(r.incr("ctr-text")).rejects.toThrow("ERR value is not an integer or out of range");
  });

  it("a pipeline of INCRs on one key sees every step", async () => {
    const p = r.pipeline();
    for (let i = 0; i < 1000; i++) p.incr("pipe-ctr");
    const res = await p.exec();
    expect(res!.map(([, v]) => v)).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
  });

  it("INCRBYFLOAT formats as Redis does", async () => {
    await r.set("fl", "10.50");
    expect(await r.incrbyfloat("fl", 0.1)).toBe("10.6");
    await r.set("fl", "0.1");
    expect(await r.incrbyfloat("fl", 0.2)).toBe("0.3");
    // Long double arithmetic shows through here, exactly as in Redis.
    expect(await r.incrbyfloat("fl", "5.0e3")).toBe("5000.29999999999999982");
    await r.set("fl", "0");
    expect(await r.incrbyfloat("fl", "1.5e20")).toBe("150000000000000000000");
    await expect(r.incrbyfloat("fl", "inf")).rejects.toThrow("ERR increment would produce NaN or Infinity");
    await r.set("fl", " 1");
    await expect(r.incrbyfloat("fl", 1)).rejects.toThrow("ERR value is not a valid float");
  });

  it("MSET and MGET take thousands of keys in one command", async () => {
    const args: string[] = [];
    for (let i = 0; i < 5000; i++) args.push(`mk:${i}`, `v${i}`);
    expect(await r.mset(...args)).toBe("OK");
    const keys = Array.from({ length: 5000 }, (_, i) => `mk:${i}`);
    const vals = await r.mget(...keys, "mk:none");
    expect(vals.length).toBe(5001);
    expect(vals[0]).toBe("v0");
    expect(vals[4999]).toBe("v4999");
    expect(vals[5000]).toBeNull();
    expect(await r.msetnx("mk:0", "x", "mk:new", "y")).toBe(0);
    expect(await r.get("mk:new")).toBeNull();
  });

  it("SETRANGE zero-pads, GETRANGE takes negative indices, APPEND is binary-safe", async () => {
    expect(await r.setrange("sr", 3, "ab")).toBe(5);
    expect(await r.getBuffer("sr")).toEqual(Buffer.from([0, 0, 0, 0x61, 0x62]));
    expect(await r.append("sr", Buffer.from([0xff, 0x0d, 0x0a]))).toBe(8);
    expect(await r.getrangeBuffer("sr", -3, -1)).toEqual(Buffer.from([0xff, 0x0d, 0x0a]));
    expect(await r.strlen("sr")).toBe(8);
    await expect(r.setrange("sr", 512 * 1024 * 1024, "x")).rejects.toThrow(
      "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
  });

  it("GETEX, GETDEL, GETSET, SETNX, SETEX behave as in Redis 7.0", async () => {
    await r.set("gx", "v");
    expect(await r.getex("gx", "EX", 100)).toBe("v");
    expect(await r.getdel("gx")).toBe("v");
    expect(await r.get("gx")).toBeNull();
    expect(await r.getset("gx", "a")).toBeNull();
    expect(await r.getset("gx", "b")).toBe("a");
    expect(await r.setnx("gx", "c")).toBe(0);
    expect(await r.setex("gx2", 100, "d")).toBe("OK");
    await expect(r.setex("gx2", 0, "d")).rejects.toThrow("ERR invalid expire time in 'setex' command");
    await expect(r.call("getex", "gx", "bogus")).rejects.toThrow("ERR syntax error");
  });

  it("LCS replies match Redis for the string, LEN and IDX forms", async () => {
    await r.mset("l1", "ohmytext", "l2", "mynewtext");
    expect(await r.call("lcs", "l1", "l2")).toBe("mytext");
    expect(await r.call("lcs", "l1", "l2", "LEN")).toBe(6);
    expect(await r.call("lcs", "l1", "l2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")).toEqual(
      ["matches", [[[4, 7], [5, 8], 4]], "len", 6]);
  });

  it("multi-key string commands give one answer whichever shards the keys live in", async () => {
    // Keys without a common hash tag: with 4 shards they spread over several kernels.
    const keys = Array.from({ length: 12 }, (_, i) => `spread:${i}`);
    expect(await r.msetnx(...keys.flatMap((k, i) => [k, `v${i}`]))).toBe(1);
    expect(await r.msetnx(keys[0], "x", "spread:new", "y")).toBe(0);
    expect(await r.get("spread:new")).toBeNull();
    expect(await r.mget(...keys)).toEqual(keys.map((_, i) => `v${i}`));
    await r.mset("lcs:a", "ohmytext", "lcs:b", "mynewtext");
    expect(await r.call("lcs", "lcs:a", "lcs:b")).toBe("mytext");
    await r.mset("bo:a", "abc", "bo:b", "12");
    expect(await r.bitop("OR", "bo:dst", "bo:a", "bo:b", "bo:none")).toBe(3);
    expect(await r.get("bo:dst")).toBe("qrc");
    expect(await r.call("object", "encoding", "bo:dst")).toBe("raw");
    await r.set("raw:src", "hello");
    await r.append("raw:src", "!");
    await r.rename("raw:src", "raw:dst");
    expect(await r.call("object", "encoding", "raw:dst")).toBe("raw");
    expect(await r.get("raw:dst")).toBe("hello!");
  });
});
