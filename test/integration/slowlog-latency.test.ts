// SLOWLOG (slowlog-log-slower-than, slowlog-max-len, argument trimming, redaction, blocked
// commands logged when unblocked) and LATENCY (events, history, reset, doctor, graph,
// per-command histograms), as Redis 7.0.
import { describe, it, expect, beforeEach } from "vitest";
import type Redis from "ioredis";
import { useServer, connectClient, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; }, { args: ["--enable-debug-command", "yes"] });

type Entry = [number, number, number, string[], string, string];
const slowlog = async (n = -1) => (await r.call("SLOWLOG", "GET", String(n))) as Entry[];

describe("SLOWLOG", () => {
  beforeEach(async () => {
    await r.config("SET", "slowlog-log-slower-than", "0");
    await r.config("SET", "slowlog-max-len", "128");
    await r.call("SLOWLOG", "RESET");
  });

  it("logs every command at threshold 0 with id, time, duration, arguments, address and name", async () => {
    await r.client("SETNAME", "slowpoke");
    await r.set("sl:k", "v");
    await r.sadd("sl:s", "a");
    const [sadd, set] = await slowlog();
    expect(sadd[3]).toEqual(["sadd", "sl:s", "a"]);
    expect(set[3]).toEqual(["set", "sl:k", "v"]);
    expect(sadd[0]).toBe(set[0] + 1);
    expect(Math.abs(sadd[1] - Date.now() / 1000)).toBeLessThan(5);
    expect(sadd[2]).toBeGreaterThanOrEqual(0);
    expect(sadd[4]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(sadd[5]).toBe("slowpoke");
    expect(await r.call("SLOWLOG", "LEN")).toBeGreaterThanOrEqual(3);
  });

  it("keeps slowlog-max-len entries, GET count limits the reply, -1 means all, below -1 is an error", async () => {
    await r.config("SET", "slowlog-max-len", "10");
    for (let i = 0; i < 30; i++) await r.ping();
    expect(await r.call("SLOWLOG", "LEN")).toBe(10);
    expect(await slowlog(5)).toHaveLength(5);
    expect(await slowlog(-1)).toHaveLength(10);
    expect(await slowlog(0)).toHaveLength(0);
    await expect(r.call("SLOWLOG", "GET", "-2")).rejects.toThrow("ERR count should be greater than or equal to -1");
  });

  it("trims to 32 arguments and 128 bytes per argument, saying how many more", async () => {
    const members = Array.from({ length: 31 }, (_, i) => String(i + 3)); // 33 arguments in all
    await r.sadd("sl:big", ...members);
    await r.sadd("sl:big", "foo", "A".repeat(129));
    const entries = await slowlog();
    const manyArgs = entries.find((e) => e[3].length === 32)![3];
    expect(manyArgs.slice(0, 3)).toEqual(["sadd", "sl:big", "3"]);
    expect(manyArgs[30]).toBe("31");
    expect(manyArgs[31]).toBe("... (2 more arguments)");
    const longArg = entries.find((e) => e[3][2] === "foo")![3][3];
    expect(longArg).toBe("A".repeat(128) + "... (1 more bytes)");
  });

  it("logs the commands of a transaction but not EXEC, and a script and its calls (under the Lua client: no address or name)", async () => {
    await r.multi().set("sl:m", "1").incr("sl:m").exec();
    await r.eval("return redis.call('get', KEYS[1])", 1, "sl:m");
    const entries = await slowlog();
    const names = entries.map((e) => e[3][0].toLowerCase());
    expect(names).not.toContain("exec");
    // As Redis 7.0.15 (scriptCall passes CMD_CALL_SLOWLOG): the call is logged before the EVAL.
    expect(names.slice(0, 4)).toEqual(["eval", "get", "incr", "set"]);
    expect(entries[1].slice(4)).toEqual(["?:0", ""]);
    expect(entries[0][4]).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it("redacts passwords: CONFIG SET requirepass, ACL SETUSER", async () => {
    await r.config("SET", "requirepass", "");
    await r.call("ACL", "SETUSER", "sl-user", "on", ">secret", "+get");
    const [acl, config] = await slowlog();
    expect(acl[3]).toEqual(["ACL", "SETUSER", "(redacted)", "(redacted)", "(redacted)", "(redacted)"]);
    expect(config[3]).toEqual(["config", "SET", "requirepass", "(redacted)"]);
    await r.call("ACL", "DELUSER", "sl-user");
  });

  it("logs a blocked command when it is unblocked, with its own arguments", async () => {
    const b = await connectClient(srv.port);
    const popped = b.blpop("sl:list", 0);
    for (let i = 0; i < 100 && !/blocked_clients:1/.test((await r.info("clients")) as string); i++) {
      await new Promise((x) => setTimeout(x, 10));
    }
    await r.call("SLOWLOG", "RESET");
    await r.lpush("sl:list", "x");
    expect(await popped).toEqual(["sl:list", "x"]);
    const args = (await slowlog()).map((e) => e[3].join(" ").toLowerCase());
    expect(args).toContain("blpop sl:list 0");
    b.disconnect();
  });

  it("from 1 ms up, logs a slow kernel command run on its own (one shard or routed over several)", async () => {
    await r.config("SET", "slowlog-log-slower-than", "1000");
    await r.call("SLOWLOG", "RESET");
    const args: string[] = [];
    for (let i = 0; i < 50000; i++) args.push(`sl:m${i}`, "v");
    await r.mset(...args);
    const [e] = await slowlog();
    expect(e[3].slice(0, 3)).toEqual(["mset", "sl:m0", "v"]);
    expect(e[3][31]).toBe("... (99970 more arguments)");
    expect(e[2]).toBeGreaterThanOrEqual(1000);
  });

  it("from 1 ms up, logs the slow kernel command inside a pipeline, with its own arguments and time", async () => {
    await r.config("SET", "slowlog-log-slower-than", "1000");
    await r.config("SET", "latency-monitor-threshold", "1");
    await r.call("LATENCY", "RESET");
    // One socket write: the kernel runs all four in one call. SETRANGE far out allocates and
    // zeroes ~30 MB, BITCOUNT then counts every byte: each takes well over 1 ms; SET and GET
    // take microseconds.
    const key = "{sl}big";
    const p = r.pipeline();
    p.set("{sl}a", "1");
    p.setrange(key, 30_000_000, "x");
    p.bitcount(key);
    p.get("{sl}a");
    await r.call("SLOWLOG", "RESET");
    const res = await p.exec();
    expect(res!.map((x) => x[1])).toEqual(["OK", 30_000_001, 4, "1"]);
    const entries = await slowlog();
    const logged = entries.map((e) => e[3].join(" "));
    expect(logged).toContain(`bitcount ${key}`);
    expect(logged).toContain(`setrange ${key} 30000000 x`);
    expect(logged).not.toContain("set {sl}a 1");
    expect(logged).not.toContain("get {sl}a");
    for (const e of entries) expect(e[2]).toBeGreaterThanOrEqual(1000);
    // The latency monitor's command event comes from the same per-command timing.
    const latest = (await r.call("LATENCY", "LATEST")) as [string, number, number, number][];
    expect(latest.map((l) => l[0])).toContain("command");
    await r.config("SET", "latency-monitor-threshold", "0");
    await r.del(key);
  });

  it("logs nothing when disabled (-1), and only commands as slow as the threshold", async () => {
    await r.config("SET", "slowlog-log-slower-than", "-1");
    await r.call("SLOWLOG", "RESET");
    await r.set("sl:x", "1");
    expect(await r.call("SLOWLOG", "LEN")).toBe(0);
    await r.config("SET", "slowlog-log-slower-than", "100000");
    await r.call("DEBUG", "SLEEP", "0.15");
    const [e] = await slowlog();
    expect(e[3]).toEqual(["DEBUG", "SLEEP", "0.15"]);
    expect(e[2]).toBeGreaterThanOrEqual(100000);
    expect(await r.call("SLOWLOG", "LEN")).toBe(1);
  });
});

describe("LATENCY", () => {
  it("records slow commands as the command event: LATEST, HISTORY, GRAPH, DOCTOR, RESET", async () => {
    await r.config("SET", "latency-monitor-threshold", "50");
    await r.call("LATENCY", "RESET");
    await r.call("DEBUG", "SLEEP", "0.1");
    const latest = (await r.call("LATENCY", "LATEST")) as [string, number, number, number][];
    expect(latest).toHaveLength(1);
    const [event, time, last, max] = latest[0];
    expect(event).toBe("command");
    expect(Math.abs(time - Date.now() / 1000)).toBeLessThan(5);
    expect(last).toBeGreaterThanOrEqual(100);
    expect(max).toBe(last);
    const history = (await r.call("LATENCY", "HISTORY", "command")) as [number, number][];
    expect(history).toEqual([[time, last]]);
    expect(await r.call("LATENCY", "HISTORY", "nosuch")).toEqual([]);
    const graph = String(await r.call("LATENCY", "GRAPH", "command"));
    expect(graph).toMatch(new RegExp(`^command - high ${last} ms, low ${last} ms \\(all time high ${last} ms\\)\\n-{80}\\n`));
    await expect(r.call("LATENCY", "GRAPH", "nosuch")).rejects.toThrow("ERR No samples available for event 'nosuch'");
    expect(String(await r.call("LATENCY", "DOCTOR"))).toMatch(/^Dave, I have observed latency spikes in this Redis instance\. .*\n\n1\. command: 1 latency spikes/);
    expect(await r.call("LATENCY", "RESET", "nosuch")).toBe(0);
    expect(await r.call("LATENCY", "RESET")).toBe(1);
    expect(await r.call("LATENCY", "LATEST")).toEqual([]);
    await r.config("SET", "latency-monitor-threshold", "0");
    expect(String(await r.call("LATENCY", "DOCTOR"))).toMatch(/^I'm sorry, Dave, I can't do that\. Latency monitoring is disabled/);
  });

  it("HISTOGRAM gives calls and a cumulative distribution per command and subcommand", async () => {
    await r.config("RESETSTAT");
    await r.set("lat:a", "b");
    await r.set("lat:c", "d");
    await r.client("ID");
    const flat = (await r.call("LATENCY", "HISTOGRAM", "set", "client", "nosuch")) as unknown;
    // ioredis over RESP3 turns maps into flat arrays.
    const m = new Map<string, unknown[]>();
    const list = flat as unknown[];
    for (let i = 0; i < list.length; i += 2) m.set(String(list[i]), list[i + 1] as unknown[]);
    expect([...m.keys()].sort()).toEqual(["client|id", "set"]);
    const set = m.get("set")!;
    expect(set.slice(0, 3)).toEqual(["calls", 2, "histogram_usec"]);
    const cdf = set[3] as number[];
    expect(cdf.at(-1)).toBe(2);
  });

  it("rejects LATENCY HELP with arguments", async () => {
    await expect(r.call("LATENCY", "HELP", "xxx")).rejects.toThrow("ERR wrong number of arguments for 'latency|help' command");
  });
});
