// Geo commands through a real server (1 and 4 shards) with ioredis: scores are Redis's 52-bit
// geohashes and every reply below was checked against redis-server 7.0.15 with the same
// commands (distances to 4 decimals, coordinates as Redis prints them).
import { describe, it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

useServer((s, c) => { srv = s; r = c; });
beforeEach(async () => {
  await r.flushall();
  await r.geoadd("{s}icily", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania");
  await r.geoadd("{s}icily", 12.758489, 38.788135, "edge1", 17.241510, 38.788135, "edge2");
});

describe("geo through a real server", () => {
  it("GEOADD stores 52-bit geohash scores; NX/XX/CH behave as ZADD's", async () => {
    expect(await r.zscore("{s}icily", "Palermo")).toBe("3479099956230698");
    expect(await r.geoadd("{s}icily", "XX", "CH", 13.5, 38.1, "Palermo", 1, 1, "new")).toBe(1);
    expect(await r.zscore("{s}icily", "new")).toBeNull();
    await expect(r.geoadd("{s}icily", 200, 100, "x")).rejects.toThrow("ERR invalid longitude,latitude pair 200.000000,100.000000");
    // As C's %f prints them: inf, and every digit of a huge value (redis-server 7.0.15's replies).
    await expect(r.geoadd("{s}icily", "-inf", 1, "x")).rejects.toThrow("ERR invalid longitude,latitude pair -inf,1.000000");
    await expect(r.geoadd("{s}icily", 1e30, "inf", "x")).rejects.toThrow("ERR invalid longitude,latitude pair 1000000000000000019884624838656.000000,inf");
  });

  it("WITHHASH replies the score as C's (long long) cast: a ZADD-made fractional score is truncated", async () => {
    await r.zadd("{s}frac", 1.5, "a", 2.75, "b");
    expect(await r.call("georadiusbymember", "{s}frac", "a", "1", "km", "withhash")).toEqual([["a", 1], ["b", 2]]);
  });

  it("GEODIST, GEOHASH and GEOPOS reply as Redis does", async () => {
    expect(await r.geodist("{s}icily", "Palermo", "Catania", "km")).toBe("166.2742");
    expect(await r.geodist("{s}icily", "Palermo", "Palermo")).toBe("0.0000");
    expect(await r.geodist("{s}icily", "Palermo", "nope")).toBeNull();
    expect(await r.geohash("{s}icily", "Palermo", "Catania", "nope")).toEqual(["sqc8b49rny0", "sqdtr74hyu0", null]);
    expect(await r.call("geopos", "{s}icily", "Palermo")).toEqual([["13.36138933897018433", "38.11555639549629859"]]);
  });

  it("GEORADIUS with WITHDIST WITHHASH WITHCOORD sorted by distance", async () => {
    expect(await r.call("georadius", "{s}icily", 15, 37, 200, "km", "WITHDIST", "WITHHASH", "WITHCOORD", "ASC")).toEqual([
      ["Catania", "56.4413", 3479447370796909, ["15.08726745843887329", "37.50266842333162032"]],
      ["Palermo", "190.4424", 3479099956230698, ["13.36138933897018433", "38.11555639549629859"]],
    ]);
  });

  it("GEOSEARCH by box and GEOSEARCHSTORE with STOREDIST", async () => {
    expect(await r.call("geosearch", "{s}icily", "FROMLONLAT", 15, 37, "BYBOX", 400, 400, "km", "ASC", "WITHDIST")).toEqual([
      ["Catania", "56.4413"], ["Palermo", "190.4424"], ["edge2", "279.7403"], ["edge1", "279.7405"],
    ]);
    expect(await r.call("geosearchstore", "{s}dst", "{s}icily", "FROMMEMBER", "Palermo", "BYRADIUS", 300, "km", "STOREDIST")).toBe(3);
    expect(await r.zrange("{s}dst", 0, -1)).toEqual(["Palermo", "edge1", "Catania"]);
    await expect(r.call("geosearch", "{s}icily", "BYRADIUS", 1, "km", "ASC", "WITHDIST")).rejects.toThrow("exactly one of FROMMEMBER or FROMLONLAT");
  });

  it("GEORADIUS_RO refuses STORE; a missing key is an empty result", async () => {
    await expect(r.call("georadius_ro", "{s}icily", 15, 37, 200, "km", "STORE", "x")).rejects.toThrow("syntax error");
    expect(await r.call("georadiusbymember", "{s}nokey", "Palermo", 10, "km")).toEqual([]);
  });
});
