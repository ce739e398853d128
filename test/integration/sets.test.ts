// Set commands through a real server (1 and 4 shards): replies, errors and multi-key
// commands whose keys live on different shards (no hash tags on purpose).
import { describe, it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

useServer((s, c) => { srv = s; r = c; });
beforeEach(async () => { await r.flushall(); });

const sorted = (xs: string[]) => [...xs].sort();

describe("sets through a real server", () => {
  it("SADD/SREM/SCARD/SISMEMBER/SMISMEMBER/SMEMBERS and delete-when-empty", async () => {
    expect(await r.sadd("s", "a", "b", "c", "a")).toBe(3);
    expect(await r.type("s")).toBe("set");
    expect(await r.scard("s")).toBe(3);
    expect(await r.sismember("s", "b")).toBe(1);
    expect(await r.smismember("s", "a", "x", "c")).toEqual([1, 0, 1]);
    expect(sorted(await r.smembers("s"))).toEqual(["a", "b", "c"]);
    expect(await r.srem("s", "a", "b", "c", "d")).toBe(3);
    expect(await r.exists("s")).toBe(0);
    expect(await r.smismember("missing", "a")).toEqual([0]);
  });

  it("binary members round-trip", async () => {
    const m = Buffer.from([0, 0xff, 13, 10, 0x80]);
    await r.sadd("bin", m);
    const got = await r.smembersBuffer("bin");
    expect(got).toEqual([m]);
    expect(await r.sismember("bin", m)).toBe(1);
  });

  it("integer sets answer SMEMBERS in numeric order (intset) and OBJECT ENCODING follows Redis", async () => {
    await r.sadd("ints", "10", "-3", "2");
    expect(await r.smembers("ints")).toEqual(["-3", "2", "10"]);
    expect(await r.object("ENCODING", "ints")).toBe("intset");
    await r.sadd("ints", "x");
    expect(await r.object("ENCODING", "ints")).toBe("hashtable");
  });

  it("WRONGTYPE for a set command on a string, and for a string command on a set", async () => {
    await r.set("str", "v");
    await expect(r.sadd("str", "a")).rejects.toThrow(/^WRONGTYPE/);
    await r.sadd("s", "a");
    await expect(r.get("s")).rejects.toThrow(/^WRONGTYPE/);
  });

  it("SPOP and SRANDMEMBER with counts", async () => {
    await r.sadd("s", "a", "b", "c", "d", "e");
    const popped = await r.spop("s", 2);
    expect(popped.length).toBe(2);
    expect(await r.scard("s")).toBe(3);
    expect(await r.srandmember("s", 10)).toHaveLength(3);
    expect(await r.srandmember("s", -10)).toHaveLength(10);
    expect(await r.srandmember("s", 0)).toEqual([]);
    expect(await r.spop("s", 100)).toHaveLength(3);
    expect(await r.exists("s")).toBe(0);
    expect(await r.spop("s")).toBeNull();
    await expect(r.spop("s", -1)).rejects.toThrow("value is out of range, must be positive");
    await expect(r.srandmember("s", "-9223372036854775808")).rejects.toThrow("value is out of range");
  });

  it("SPOP keeps the key's TTL", async () => {
    await r.sadd("s", "a", "b", "c", "d", "e", "f");
    await r.expire("s", 100);
    await r.spop("s", 5);
    expect(await r.ttl("s")).toBeGreaterThan(0);
  });

  it("SMOVE across keys (which may live on different shards)", async () => {
    await r.sadd("src", "a", "b");
    expect(await r.smove("src", "dst", "a")).toBe(1);
    expect(await r.smove("src", "dst", "zz")).toBe(0);
    expect(await r.smove("src", "dst", "b")).toBe(1);
    expect(await r.exists("src")).toBe(0);
    expect(sorted(await r.smembers("dst"))).toEqual(["a", "b"]);
    await r.set("str", "x");
    expect(await r.smove("nosuch", "str", "a")).toBe(0);
    await expect(r.smove("dst", "str", "a")).rejects.toThrow(/^WRONGTYPE/);
  });

  it("SINTER/SUNION/SDIFF and their STORE forms over keys on different shards", async () => {
    await r.sadd("k1", "a", "b", "c", "d");
    await r.sadd("k2", "c", "d", "e");
    await r.sadd("k3", "d", "f");
    expect(sorted(await r.sinter("k1", "k2"))).toEqual(["c", "d"]);
    expect(await r.sinter("k1", "k2", "k3")).toEqual(["d"]);
    expect(await r.sinter("k1", "missing")).toEqual([]);
    expect(sorted(await r.sunion("k1", "k2", "k3", "missing"))).toEqual(["a", "b", "c", "d", "e", "f"]);
    expect(sorted(await r.sdiff("k1", "k2", "missing"))).toEqual(["a", "b"]);
    expect(await r.sdiff("k1", "k1")).toEqual([]);
    expect(await r.sinterstore("out", "k1", "k2")).toBe(2);
    expect(sorted(await r.smembers("out"))).toEqual(["c", "d"]);
    expect(await r.sunionstore("out", "k2", "k3")).toBe(4);
    expect(await r.sdiffstore("out", "k3", "k1")).toBe(1);
    expect(await r.smembers("out")).toEqual(["f"]);
    expect(await r.sinterstore("out", "k1", "missing")).toBe(0);
    expect(await r.exists("out")).toBe(0);
    await r.set("str", "v");
    await expect(r.sunion("k1", "str")).rejects.toThrow(/^WRONGTYPE/);
    await expect(r.sinterstore("out", "missing", "str")).rejects.toThrow(/^WRONGTYPE/);
  });

  it("SINTERCARD with LIMIT and its argument errors", async () => {
    await r.sadd("k1", "a", "b", "c");
    await r.sadd("k2", "a", "b", "c", "d");
    expect(await r.call("sintercard", "2", "k1", "k2")).toBe(3);
    expect(await r.call("sintercard", "2", "k1", "k2", "LIMIT", "2")).toBe(2);
    expect(await r.call("sintercard", "2", "k1", "k2", "LIMIT", "0")).toBe(3);
    await expect(r.call("sintercard", "0", "k1")).rejects.toThrow("numkeys should be greater than 0");
    await expect(r.call("sintercard", "3", "k1", "k2")).rejects.toThrow("Number of keys can't be greater than number of args");
    await expect(r.call("sintercard", "1", "k1", "LIMIT", "-1")).rejects.toThrow("LIMIT can't be negative");
    await expect(r.call("sintercard", "1", "k1", "k2")).rejects.toThrow("syntax error");
  });

  it("SSCAN returns every member of a large set exactly once when nothing changes", async () => {
    const members = Array.from({ length: 1000 }, (_, i) => "m" + i);
    await r.sadd("big", ...members);
    const seen: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await r.sscan("big", cursor, "COUNT", 50);
      seen.push(...batch);
      cursor = next;
    } while (cursor !== "0");
    expect(sorted(seen)).toEqual(sorted(members));
    const [, matched] = await r.sscan("big", 0, "MATCH", "m99*", "COUNT", 10000);
    expect(sorted(matched)).toEqual(["m99", "m990", "m991", "m992", "m993", "m994", "m995", "m996", "m997", "m998", "m999"]);
    await expect(r.sscan("big", "abc")).rejects.toThrow("invalid cursor");
    await expect(r.sscan("big", 0, "COUNT", 0)).rejects.toThrow("syntax error");
    expect(await r.sscan("missing", 0)).toEqual(["0", []]);
  });

  it("DEL, RENAME and COPY treat a set like any key", async () => {
    await r.sadd("s", "a", "b");
    await r.rename("s", "t");
    expect(sorted(await r.smembers("t"))).toEqual(["a", "b"]);
    await r.copy("t", "u");
    await r.sadd("u", "c");
    expect(await r.scard("t")).toBe(2);
    expect(await r.scard("u")).toBe(3);
    expect(await r.del("t", "u")).toBe(2);
  });
});
