import { describe, it, expect, beforeAll, afterAll } from "vitest";
import Redis from "ioredis";
import { startServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

beforeAll(async () => {
  srv = await startServer(["--enable-debug-command", "yes"]);
  r = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
  await r.connect();
});
afterAll(async () => {
  r?.disconnect();
  await srv?.stop();
});

const sections = (info: string) => [...info.matchAll(/^# (\w+)/gm)].map((m) => m[1]);

describe("INFO", () => {
  it("default sections are Redis 7.0's, in its order", async () => {
    expect(sections(await r.info())).toEqual(["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU", "Modules", "Errorstats", "Cluster", "Keyspace"]);
  });

  it("all adds commandstats and latencystats; everything is all", async () => {
    const all = sections(await r.info("all"));
    expect(all).toContain("Commandstats");
    expect(all).toContain("Latencystats");
    expect(sections(await r.info("everything"))).toEqual(all);
  });

  it("section names are case-insensitive and each appears once", async () => {
    expect(sections(await r.call("info", "CPU", "cpu", "commandSTATS") as string)).toEqual(["CPU", "Commandstats"]);
  });

  it("reports the server fields Redis clients parse", async () => {
    const info = await r.info("server");
    expect(info).toMatch(/\r\nredis_version:7\.0\.15\r\n/);
    expect(info).toContain("redis_mode:standalone");
    expect(info).toContain(`tcp_port:${srv.port}`);
    expect(info).toMatch(/process_id:\d+/);
  });

  it("keyspace and commandstats follow the commands run", async () => {
    await r.select(3);
    await r.set("k1", "v");
    await r.set("k2", "v", "EX", 100);
    await r.get("k1");
    const ks = await r.info("keyspace");
    expect(ks).toMatch(/db3:keys=2,expires=1,avg_ttl=\d+/);
    const cs = await r.info("commandstats");
    expect(cs).toMatch(/cmdstat_set:calls=2,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=0/);
    expect(cs).toMatch(/cmdstat_select:calls=1,/);
    await r.select(0);
  });

  it("CONFIG RESETSTAT zeroes the command statistics and counters", async () => {
    await r.get("nokey");
    await r.config("RESETSTAT");
    const cs = await r.info("commandstats");
    expect(cs).not.toContain("cmdstat_get:");
    expect(await r.info("stats")).toMatch(/keyspace_misses:0\r\n/);
  });

  it("errorstats counts error replies by code", async () => {
    await r.config("RESETSTAT");
    await expect(r.call("config", "set", "hz", "x")).rejects.toThrow();
    expect(await r.info("errorstats")).toContain("errorstat_ERR:count=1");
  });
});

describe("CONFIG", () => {
  it("GET takes several patterns and aliases, SET round-trips values we only store", async () => {
    expect(await r.config("SET", "hash-max-ziplist-entries", "64")).toBe("OK");
    const got = await r.call("config", "get", "hash-max-listpack-entries", "hash-max-ziplist-entries") as string[];
    expect(got).toEqual(["hash-max-listpack-entries", "64", "hash-max-ziplist-entries", "64"]);
    await r.config("SET", "hash-max-listpack-entries", "512");
  });

  it("GET with a glob lists every matching directive", async () => {
    const got = await r.call("config", "get", "maxmemory*") as string[];
    const names = got.filter((_, i) => i % 2 === 0).sort();
    expect(names).toEqual(["maxmemory", "maxmemory-clients", "maxmemory-eviction-tenacity", "maxmemory-policy", "maxmemory-samples"]);
  });

  it("REWRITE without a config file answers Redis's error", async () => {
    await expect(r.config("REWRITE")).rejects.toThrow("ERR The server is running without a config file");
  });

  it("proto-max-bulk-len reaches the kernel parser", async () => {
    await r.config("SET", "proto-max-bulk-len", "1mb");
    await expect(r.set("big", "x".repeat(1024 * 1024 + 1))).rejects.toThrow(/Protocol error|invalid bulk length/);
    const r2 = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
    await r2.connect();
    await r2.config("SET", "proto-max-bulk-len", "512mb");
    r2.disconnect();
  });
});

describe("COMMAND", () => {
  it("COUNT matches the number of rows COMMAND lists, and only supported commands appear", async () => {
    const all = await r.command() as unknown[][];
    expect(await r.call("command", "count")).toBe(all.length);
    const names = all.map((row) => row[0]);
    expect(names).toContain("get");
    expect(names).not.toContain("xadd");
  });

  it("INFO replies Redis's row and nil for unknown commands", async () => {
    const rows = await r.call("command", "info", "get", "nosuchcmd") as unknown[][];
    expect(rows[0].slice(0, 6)).toEqual(["get", 2, ["readonly", "fast"], 1, 1, 1]);
    expect(rows[1]).toBeNull();
  });

  it("GETKEYS follows key specs", async () => {
    expect(await r.call("command", "getkeys", "mset", "a", "1", "b", "2")).toEqual(["a", "b"]);
    await expect(r.call("command", "getkeys", "ping", "x")).rejects.toThrow("ERR The command has no key arguments");
    await expect(r.call("command", "getkeys", "nosuch", "x")).rejects.toThrow("ERR Invalid command specified");
  });

  it("an unknown subcommand gets Redis's hint", async () => {
    await expect(r.call("command", "nosuch")).rejects.toThrow("ERR unknown subcommand 'nosuch'. Try COMMAND HELP.");
  });
});

describe("DEBUG", () => {
  it("SLEEP 0 and SET-ACTIVE-EXPIRE answer OK", async () => {
    expect(await r.call("debug", "sleep", "0")).toBe("OK");
    expect(await r.call("debug", "set-active-expire", "0")).toBe("OK");
    expect(await r.call("debug", "set-active-expire", "1")).toBe("OK");
  });

  it("OBJECT describes a key with a stable address, and errors on a missing one", async () => {
    await r.set("dbg", "20000");
    const a = await r.call("debug", "object", "dbg") as string;
    expect(a).toMatch(/^Value at:0x[0-9a-f]+ refcount:\d+ encoding:\w+ serializedlength:\d+ lru:\d+ lru_seconds_idle:\d+/);
    await r.incr("dbg");
    expect((await r.call("debug", "object", "dbg") as string).split(" ")[1]).toBe(a.split(" ")[1]);
    await expect(r.call("debug", "object", "nokey")).rejects.toThrow("ERR no such key");
  });
});
