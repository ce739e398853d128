import { describe, it, expect, afterAll } from "vitest";
import Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

useServer((s, c) => { srv = s; r = c; });

describe("MEMORY", () => {
  it("USAGE is nil for a missing key and grows with the value", async () => {
    expect(await r.call("memory", "usage", "nokey")).toBeNull();
    await r.hset("h", "a", "1");
    const small = Number(await r.call("memory", "usage", "h"));
    expect(small).toBeGreaterThan(0);
    const big: Record<string, string> = {};
    for (let i = 0; i < 500; i++) big[`field${i}`] = "v".repeat(50);
    await r.hset("h", big);
    expect(Number(await r.call("memory", "usage", "h", "SAMPLES", "0"))).toBeGreaterThan(small + 500 * 50);
    await r.set("s", "x".repeat(1000));
    expect(Number(await r.call("memory", "usage", "s"))).toBeGreaterThan(1000);
  });

  // Redis's type/string "trim on SET with big value", which its suite runs only when INFO's
  // mem_allocator is jemalloc (ours is not, so the unit counts 74 of 75): the same check here.
  it("USAGE of a value set after a larger one counts its own size, not the query buffer's", async () => {
    await r.set("trim", "A".repeat(100_000));
    await r.set("trim", "A".repeat(33_000));
    expect(await r.call("memory", "usage", "trim")).toBeLessThan(42_000);
  });

  it("USAGE options are checked as Redis does", async () => {
    await r.set("s", "v");
    await expect(r.call("memory", "usage", "s", "samples", "x")).rejects.toThrow("ERR value is not an integer or out of range");
    await expect(r.call("memory", "usage", "s", "samples", "-1")).rejects.toThrow("ERR syntax error");
    await expect(r.call("memory", "usage", "s", "foo")).rejects.toThrow("ERR syntax error");
    await expect(r.call("memory", "usage")).rejects.toThrow("ERR wrong number of arguments for 'memory|usage' command");
  });

  it("HELP, PURGE and MALLOC-STATS answer", async () => {
    const help = (await r.call("memory", "help")) as string[];
    expect(help[0]).toBe("MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
    expect(help).toContain("USAGE <key> [SAMPLES <count>]");
    expect(await r.call("memory", "purge")).toBe("OK");
    expect(await r.call("memory", "malloc-stats")).toBe("Stats not supported for the current allocator");
  });
});
