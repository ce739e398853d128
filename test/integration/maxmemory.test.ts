// maxmemory without eviction: over the limit, commands that may grow memory (denyoom) get
// Redis's -OOM — whether the kernel or the host runs them, queued in MULTI, at EXEC, or
// called from a script — while reads and deletes still run; back under it, writes resume.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import Redis from "ioredis";
import { useServer, connectClient, type RunningServer } from "../helpers/server.js";

const OOM = "OOM command not allowed when used memory > 'maxmemory'.";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; }, { client: { protocol: 2 } as never });

describe("maxmemory (noeviction)", () => {
  beforeEach(async () => {
    await r.set("present", "1");
    await r.rpush("list", "a");
    await r.config("SET", "maxmemory", "1");
  });
  afterEach(async () => { await r.config("SET", "maxmemory", "0"); });

  it("refuses denyoom commands of the kernel and of the host, and serves reads and deletes", async () => {
    await expect(r.set("k", "v")).rejects.toThrow(OOM);
    await expect(r.rpush("list", "b")).rejects.toThrow(OOM);
    await expect(r.hset("h", "f", "v")).rejects.toThrow(OOM);
    expect(await r.get("present")).toBe("1");
    expect(await r.lrange("list", 0, -1)).toEqual(["a"]);
    expect(await r.lpop("list")).toBe("a");
    expect(await r.del("present")).toBe(1);
    expect(await r.info("errorstats")).toContain("errorstat_OOM:count=");
  });

  it("flags a transaction that queued a denyoom command, and aborts EXEC of one queued before", async () => {
    await r.config("SET", "maxmemory", "0");
    const c = await connectClient(srv.port, { protocol: 2 } as never);
    try {
      await c.call("multi");
      await c.call("set", "t", "1");
      await r.config("SET", "maxmemory", "1");
      await expect(c.call("exec")).rejects.toThrow(`EXECABORT Transaction discarded because of: ${OOM}`);
      expect(await c.get("t")).toBeNull();
      await c.call("multi");
      await expect(c.call("set", "t", "1")).rejects.toThrow(OOM);
      await expect(c.call("exec")).rejects.toThrow("EXECABORT Transaction discarded because of previous errors.");
      await c.call("multi");
      await c.call("get", "present");
      expect(await c.call("exec")).toEqual(["1"]);
    } finally {
      c.disconnect();
    }
  });

  it("stops a script's first denyoom write, and a shebang script without allow-oom", async () => {
    await expect(r.eval("return redis.call('set', KEYS[1], 'v')", 1, "x")).rejects.toThrow(/^OOM command not allowed/);
    expect(await r.eval("return redis.pcall('set', KEYS[1], 'v')['err']", 1, "x")).toBe(OOM);
    expect(await r.eval("return redis.call('get', KEYS[1])", 1, "present")).toBe("1");
    // processCommand refuses it first, as a denyoom command by its declared flags (as redis-server 7.0.15 does).
    await expect(r.eval("#!lua\nreturn 1", 0)).rejects.toThrow("OOM command not allowed when used memory > 'maxmemory'.");
    expect(await r.eval("#!lua flags=allow-oom\nreturn redis.call('set', KEYS[1], 'v')", 1, "x")).toBe("OK");
  });

  it("accepts writes again once maxmemory is above used memory", async () => {
    await r.config("SET", "maxmemory", "0");
    expect(await r.set("k", "v")).toBe("OK");
    await r.config("SET", "maxmemory", String(1024 ** 4));
    expect(await r.set("k2", "v")).toBe("OK");
  });
});
