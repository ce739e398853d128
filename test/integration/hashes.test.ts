import { describe, it, expect, afterAll } from "vitest";
import Redis from "ioredis";
import { useServer, rawExchange, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

useServer((s, c) => { srv = s; r = c; });

describe("hashes through a real server", () => {
  it("binary-safe fields and values round-trip", async () => {
    const field = Buffer.from([0, 13, 10, 0xff, 0x80, 0]);
    const value = Buffer.from([0xfe, 0, 10, 13]);
    expect(await r.hset("bin", field, value, "plain", "")).toBe(2);
    expect(await r.hgetBuffer("bin", field)).toEqual(value);
    expect(await r.hget("bin", "plain")).toBe("");
    const keys = await r.hkeysBuffer("bin");
    const vals = await r.hvalsBuffer("bin");
    const i = keys.findIndex((b) => b.equals(field));
    expect(i).toBeGreaterThanOrEqual(0);
    expect(vals[i]).toEqual(value);
    expect(await r.hstrlen("bin", field)).toBe(4);
    expect(await r.hexists("bin", Buffer.from([0, 13, 10, 0xff, 0x80]))).toBe(0);
  });

  it("a large hash keeps every field across the listpack -> hashtable conversion", async () => {
    const entries: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) entries[`field:${i}`] = `value:${i}:${"x".repeat(i % 100)}`;
    const batch = Object.entries(entries);
    for (let i = 0; i < batch.length; i += 100) await r.hset("big", Object.fromEntries(batch.slice(i, i + 100)));
    expect(await r.hlen("big")).toBe(2000);
    expect(await r.hgetall("big")).toEqual(entries);
    expect((await r.hkeys("big")).length).toBe(2000);
    expect(await r.hmget("big", "field:0", "field:1999", "nope")).toEqual([entries["field:0"], entries["field:1999"], null]);
  });

  it("HDEL of the last field deletes the key", async () => {
    await r.hset("gone", "a", "1", "b", "2");
    expect(await r.hdel("gone", "a", "b", "c")).toBe(2);
    expect(await r.hlen("gone")).toBe(0);
    expect(await r.hgetall("gone")).toEqual({});
  });

  it("HINCRBY and HINCRBYFLOAT reply and store Redis's forms", async () => {
    expect(await r.hincrby("n", "i", 10)).toBe(10);
    expect(await r.hincrby("n", "i", -15)).toBe(-5);
    expect(await r.hincrbyfloat("n", "f", "1.23")).toBe("1.23");
    expect(await r.hincrbyfloat("n", "f", "0.77")).toBe("2");
    expect(await r.hincrbyfloat("n", "f", "-0.1")).toBe("1.9");
    await expect(r.hincrbyfloat("n", "f", "inf")).rejects.toThrow("ERR value is NaN or Infinity");
    await r.hset("n", "s", "abc");
    await expect(r.hincrby("n", "s", 1)).rejects.toThrow("ERR hash value is not an integer");
    await expect(r.hincrbyfloat("n", "s", 1)).rejects.toThrow("ERR hash value is not a float");
    await r.hset("n", "max", "9223372036854775807");
    await expect(r.hincrby("n", "max", 1)).rejects.toThrow("ERR increment or decrement would overflow");
  });

  it("errors name the command and type, to the letter", async () => {
    await expect(r.call("hset", "e", "a", "1", "b")).rejects.toThrow("ERR wrong number of arguments for 'hset' command");
    await expect(r.call("hmset", "e", "a")).rejects.toThrow("ERR wrong number of arguments for 'hmset' command");
    await r.set("str", "x");
    await expect(r.hget("str", "a")).rejects.toThrow("WRONGTYPE Operation against a key holding the wrong kind of value");
    await expect(r.hset("str", "a", "1")).rejects.toThrow("WRONGTYPE");
  });

  it("HRANDFIELD follows Redis for each count form", async () => {
    await r.hset("rf", { a: "1", b: "2", c: "3" });
    expect(["a", "b", "c"]).toContain(await r.hrandfield("rf"));
    expect(await r.hrandfield("missing")).toBeNull();
    expect(await r.hrandfield("missing", 3)).toEqual([]);
    expect(await r.hrandfield("rf", 0)).toEqual([]);
    expect(((await r.hrandfield("rf", 5)) as string[]).sort()).toEqual(["a", "b", "c"]);
    expect(((await r.hrandfield("rf", -7)) as string[]).length).toBe(7);
    const wv = (await r.hrandfield("rf", 2, "WITHVALUES")) as string[];
    expect(wv.length).toBe(4);
    expect(Number(wv[1])).toBe(wv[0].charCodeAt(0) - 96);
  });

  it("a full HSCAN returns every field present throughout, while the hash grows", async () => {
    const base: Record<string, string> = {};
    for (let i = 0; i < 500; i++) base[`k${i}`] = String(i);
    await r.hset("scan", base);
    const seen = new Map<string, string>();
    let cursor = "0";
    let round = 0;
    do {
      const [next, items] = await r.hscan("scan", cursor, "COUNT", 10);
      for (let i = 0; i < items.length; i += 2) seen.set(items[i], items[i + 1]);
      cursor = next;
      const grow: Record<string, string> = {};
      for (let j = 0; j < 30; j++) grow[`g${round}_${j}`] = "x";
      await r.hset("scan", grow);
      round++;
    } while (cursor !== "0");
    for (const [f, v] of Object.entries(base)) expect(seen.get(f), f).toBe(v);
  });

  it("HSCAN MATCH filters fields", async () => {
    await r.hset("m", { user1: "a", user2: "b", other: "c" });
    const [cursor, items] = await r.hscan("m", 0, "MATCH", "user*");
    expect(cursor).toBe("0");
    expect(items).toEqual(["user1", "a", "user2", "b"]);
  });

  it("after HELLO 3, HGETALL is a map and HRANDFIELD WITHVALUES nests pairs", async () => {
    await r.del("r3");
    await r.hset("r3", "f", "v");
    const cmds = ["HELLO 3", "HGETALL r3", "HGET r3 nope", "HRANDFIELD r3 -2 WITHVALUES", "HGETALL nokey", "HELLO 2", "HGETALL r3"];
    const { text } = await rawExchange(srv.port, cmds.join("\r\n") + "\r\n", { until: (t) => t.endsWith("*2\r\n$1\r\nf\r\n$1\r\nv\r\n") });
    const afterHello3 = text.slice(text.indexOf("%1\r\n$1\r\nf"));
    expect(afterHello3.startsWith(
      "%1\r\n$1\r\nf\r\n$1\r\nv\r\n" +
      "_\r\n" +
      "*2\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n" +
      "%0\r\n",
    )).toBe(true);
    expect(text.endsWith("*2\r\n$1\r\nf\r\n$1\r\nv\r\n")).toBe(true);
  });
});
