// SORT and SORT_RO through a real server (1 and 4 shards): BY and GET patterns read string
// and hash keys that may live on other shards than the sorted key.
import { describe, it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

useServer((s, c) => { srv = s; r = c; }, { client: { protocol: 2 } as never });
beforeEach(async () => { await r.flushall(); });

describe("SORT through a real server", () => {
  it("sorts sets numerically and ALPHA, with DESC and LIMIT", async () => {
    await r.sadd("s", "10", "2", "33", "1");
    expect(await r.sort("s")).toEqual(["1", "2", "10", "33"]);
    expect(await r.sort("s", "DESC", "LIMIT", 1, 2)).toEqual(["10", "2"]);
    expect(await r.sort("s", "ALPHA")).toEqual(["1", "10", "2", "33"]);
    await r.sadd("words", "b", "a");
    await expect(r.sort("words")).rejects.toThrow("ERR One or more scores can't be converted into double");
  });

  it("BY string keys and GET # / string / hash field patterns", async () => {
    await r.sadd("ids", "1", "2", "3");
    await r.mset("w_1", "30", "w_2", "10", "w_3", "20", "name_1", "one", "name_3", "three");
    await r.hset("obj_2", "f", "two");
    expect(await r.sort("ids", "BY", "w_*")).toEqual(["2", "3", "1"]);
    expect(await r.sort("ids", "BY", "w_*", "GET", "#", "GET", "name_*", "GET", "obj_*->f")).toEqual([
      "2", null, "two", "3", "three", null, "1", "one", null,
    ]);
    expect(await r.sort("ids", "BY", "nosort", "GET", "obj_*->f", "LIMIT", 0, 0)).toEqual([]);
  });

  it("sorts sorted sets; BY a constant keeps the zset's order", async () => {
    await r.zadd("z", 3, "c", 1, "a", 2, "b");
    expect(await r.sort("z", "BY", "nosort")).toEqual(["a", "b", "c"]);
    expect(await r.sort("z", "BY", "nosort", "DESC", "LIMIT", 0, 2)).toEqual(["c", "b"]);
    expect(await r.sort("z", "ALPHA", "DESC")).toEqual(["c", "b", "a"]);
  });

  it("STORE writes a list (and deletes the destination when empty); SORT_RO refuses STORE", async () => {
    await r.sadd("s", "3", "1", "2");
    expect(await r.sort("s", "STORE", "out")).toBe(3);
    expect(await r.type("out")).toBe("list");
    expect(await r.sort("out")).toEqual(["1", "2", "3"]);
    expect(await r.sort("missing", "STORE", "out")).toBe(0);
    expect(await r.exists("out")).toBe(0);
    expect(await r.call("sort_ro", "s")).toEqual(["1", "2", "3"]);
    await expect(r.call("sort_ro", "s", "STORE", "out")).rejects.toThrow("ERR syntax error");
    await r.set("str", "x");
    await expect(r.sort("str")).rejects.toThrow(/^WRONGTYPE/);
  });

  it("BY ... ALPHA LIMIT leaves equal weights in the order of Redis's partial quicksort", async () => {
    // Redis sorts a BY pattern with a LIMIT by pqsort.c, whose order for ties is not a stable
    // sort's; without LIMIT glibc's merge sort keeps the list's order. Expected replies are
    // redis-server 7.0.15's for the same data.
    const items = Array.from({ length: 50 }, (_, i) => `e${String(i + 1).padStart(2, "0")}`);
    await r.rpush("L", ...items);
    await r.mset("w_e03", "5", "w_e07", "5", "w_e10", "1", "w_e20", "9", "w_e33", "5");
    expect(await r.sort("L", "BY", "w_*", "ALPHA", "LIMIT", 0, 10)).toEqual(
      ["e50", "e02", "e46", "e47", "e48", "e49", "e01", "e04", "e05", "e06"]);
    expect(await r.sort("L", "BY", "w_*", "ALPHA", "DESC", "LIMIT", 40, 10)).toEqual(
      ["e46", "e47", "e48", "e49", "e01", "e50", "e02", "e04", "e05", "e06"]);
    expect(await r.sort("L", "BY", "nokey_*", "ALPHA", "LIMIT", 0, 12)).toEqual(
      ["e50", "e02", "e03", "e04", "e05", "e06", "e07", "e08", "e09", "e10", "e11", "e12"]);
    const full = await r.sort("L", "BY", "w_*", "ALPHA");
    expect(full.slice(0, 3)).toEqual(["e01", "e02", "e04"]);
    expect(full.slice(-5)).toEqual(["e10", "e03", "e07", "e33", "e20"]);
  });
});
