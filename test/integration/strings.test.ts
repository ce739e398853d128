import { describe, it, expect, afterAll } from "vitest";
import Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

useServer((s, c) => { srv = s; r = c; });

describe("strings through a real server", () => {
  it("SET then GET returns the value, binary-safe", async () => {
    expect(await r.set("k", "v")).toBe("OK");
    expect(await r.get("k")).toBe("v");
    const bin = Buffer.from([0, 13, 10, 255, 1]);
    await r.set("bin", bin);
    expect(await r.getBuffer("bin")).toEqual(bin);
  });

  it("GET of a missing key is nil", async () => {
    expect(await r.get("missing")).toBeNull();
  });

  it("SET NX / XX / GET follow Redis 7.0", async () => {
    await r.del?.("nx").catch(() => {});
    expect(await r.set("nx", "1", "NX")).toBe("OK");
    expect(await r.set("nx", "2", "NX")).toBeNull();
    expect(await r.set("nx", "3", "XX")).toBe("OK");
    expect(await r.set("nx", "4", "GET")).toBe("3");
    expect(await r.set("nx-absent", "4", "XX")).toBeNull();
  });

  it("SET rejects a non-positive expire with Redis's message", async () => {
    await expect(r.set("e", "1", "EX", 0)).rejects.toThrow("ERR invalid expire time in 'set' command");
    await expect(r.call("set", "e", "1", "EX", "abc")).rejects.toThrow("ERR value is not an integer or out of range");
    await expect(r.call("set", "e", "1", "NX", "XX")).rejects.toThrow("ERR syntax error");
  });

  it("integers round-trip in their decimal form", async () => {
    await r.set("i", "-9223372036854775808");
    expect(await r.get("i")).toBe("-9223372036854775808");
    await r.set("lead0", "0123");
    expect(await r.get("lead0")).toBe("0123");
  });

  it("unknown commands and wrong arity get Redis's errors", async () => {
    await expect(r.call("nosuchcmd", "a", "b")).rejects.toThrow("ERR unknown command 'nosuchcmd', with args beginning with: 'a' 'b' ");
    await expect(r.call("get")).rejects.toThrow("ERR wrong number of arguments for 'get' command");
  });
});
