// What a script's redis.call of a kernel command does besides its reply, observed as a client
// would, against our server and redis-server 7.0 alike: INFO commandstats (calls, failed and
// rejected calls), errorstats counted once, keyspace hits and misses, SLOWLOG, MONITOR's
// "[db lua]" lines, WATCH, keyspace notifications and client tracking's invalidations.
// Server.runScriptCall (the script-call fast path) must keep each.
//
// A key's tracking invalidation comes before its keyspace event, as in Redis.
import { describe, it, expect } from "vitest";
import type Redis from "ioredis";
import { connectClient, startServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { RawConn } from "../helpers/raw-conn.js";

// GET of a key that exists (a hit) and of one that does not (a miss), SET, a failing INCR
// under pcall (the script goes on and succeeds), DEL; SADD of a small set (the kernel's) and
// SRANDMEMBER with a count (a set command the kernel hands to the host's handler).
const SCRIPT = "redis.call('GET', KEYS[1]) redis.call('GET', KEYS[2]) redis.call('SET', KEYS[1], ARGV[1]) " +
  "local e = redis.pcall('INCR', KEYS[3]) redis.call('DEL', KEYS[2]) " +
  "redis.call('SADD', KEYS[4], 'a', 'b') redis.call('SRANDMEMBER', KEYS[4], 5) return e['err']";

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((x) => setTimeout(x, 10));
};

/** INFO lines of a section that start with one of the prefixes, usec figures left out. */
async function statLines(c: Redis, section: string, prefixes: string[]): Promise<string[]> {
  const text = (await c.info(section)) as string;
  return text.split("\r\n").filter((l) => prefixes.some((p) => l.startsWith(p)))
    .map((l) => l.replace(/,?usec(_per_call)?=[\d.]+/g, "")).sort();
}

/** Everything the script's calls are seen to do on the server at port. */
async function observe(port: number) {
  const c = await connectClient(port);
  const other = await connectClient(port);
  const sub = await RawConn.open(port);
  const tracked = await connectClient(port);
  const monitor = await RawConn.open(port);
  try {
    await c.flushall();
    await c.set("fx:k", "1");
    await c.set("fx:text", "abc");
    await c.config("SET", "notify-keyspace-events", "KEA");
    await c.config("SET", "slowlog-log-slower-than", "0");
    // Tracking with redirection to a connection subscribed to __redis__:invalidate (raw: the
    // invalidation's payload is an array, which ioredis does not pass on).
    sub.send("CLIENT", "ID");
    await until(() => sub.text.includes("\r\n"));
    const subId = Number(/^:(\d+)/.exec(sub.text)?.[1] ?? "0");
    sub.text = "";
    sub.send("SUBSCRIBE", "__redis__:invalidate");
    sub.send("PSUBSCRIBE", "__keyspace@0__:fx:*");
    await sub.skipPast("__keyspace@0__:fx:*\r\n:2\r\n");
    await tracked.client("TRACKING", "ON", "REDIRECT", String(subId));
    await tracked.get("fx:k");
    // A transaction watching the key the script writes.
    await other.watch("fx:k");
    monitor.send("MONITOR");
    await monitor.expect("+OK\r\n");
    await c.config("RESETSTAT");
    await c.slowlog("RESET");
    const reply = await c.eval(SCRIPT, 4, "fx:k", "fx:none", "fx:text", "fx:set", "2");
    // A script failing with its call's error: that error counts once (errorstats), not twice.
    const failed = await c.eval("return redis.pcall('INCR', KEYS[1])", 1, "fx:text").catch((e: Error) => e.message);
    const slowlog = (await c.slowlog("GET", "20")) as [number, number, number, string[], string, string][];
    await c.config("SET", "slowlog-log-slower-than", "10000");
    await until(() => sub.text.includes("invalidate\r\n*1") && sub.text.includes(":fx:k\r\n$3\r\nset") && sub.text.includes("sadd") && monitor.text.split("\r\n").length > 8);
    const exec = await other.multi().get("fx:k").exec();
    const lines = monitor.text.split("\r\n").filter((l) => l.length > 0)
      .map((l) => l.replace(/^\+[\d.]+ \[0 [^\]]+\] /, (m) => (m.includes(" lua]") ? "lua: " : "client: ")));
    const commandstats = await statLines(c, "commandstats", ["cmdstat_get:", "cmdstat_set:", "cmdstat_incr:", "cmdstat_del:", "cmdstat_eval:", "cmdstat_sadd:", "cmdstat_srandmember:"]);
    const errorstats = await statLines(c, "errorstats", ["errorstat_"]);
    const keyspace = await statLines(c, "stats", ["keyspace_hits:", "keyspace_misses:", "total_error_replies:"]);
    return {
      reply,
      failed,
      commandstats,
      errorstats,
      keyspace,
      get: await c.get("fx:k"),
      // The entries the EVALs and their calls made, with whose they are (a script's calls are
      // its Lua client's: no address, no name); SLOWLOG RESET's own entry is left out.
      slowlog: slowlog.filter((e) => e[3][0].toLowerCase() !== "slowlog")
        .map((e) => `${e[3][0].toLowerCase()} ${e[4] === "?:0" ? "lua" : "client"} '${e[5]}'`).sort(),
      monitor: lines.filter((l) => !l.startsWith("client: \"info\"") && !l.includes("\"slowlog\"") && !l.includes("\"config\"")),
      // Each message on its own, in order of arrival.
      events: sub.text.split(/(?=\*[34]\r\n\$\d+\r\np?message)/),
      exec,
    };
  } finally {
    for (const x of [c, other, tracked]) x.disconnect();
    monitor.close();
    sub.close();
  }
}

describe("a script's calls of kernel commands", () => {
  it("count, notify, invalidate, dirty WATCH and reach the SLOWLOG as a client's commands do", async () => {
    const srv = await startServer();
    let ours;
    try {
      ours = await observe(srv.port);
    } finally {
      await srv.stop();
    }
    expect(ours.reply).toBe("ERR value is not an integer or out of range");
    expect(ours.failed).toBe("ERR value is not an integer or out of range");
    expect(ours.get).toBe("2");
    expect(ours.commandstats).toEqual([
      "cmdstat_del:calls=1,rejected_calls=0,failed_calls=0",
      "cmdstat_eval:calls=2,rejected_calls=0,failed_calls=1",
      "cmdstat_get:calls=2,rejected_calls=0,failed_calls=0",
      "cmdstat_incr:calls=2,rejected_calls=0,failed_calls=2",
      "cmdstat_sadd:calls=1,rejected_calls=0,failed_calls=0",
      "cmdstat_set:calls=1,rejected_calls=0,failed_calls=0",
      "cmdstat_srandmember:calls=1,rejected_calls=0,failed_calls=0",
    ]);
    expect(ours.errorstats).toEqual(["errorstat_ERR:count=2"]);
    expect(ours.keyspace).toEqual(["keyspace_hits:2", "keyspace_misses:1", "total_error_replies:2"]);
    expect(ours.slowlog).toEqual(["del lua ''", "eval client ''", "eval client ''", "get lua ''", "get lua ''", "incr lua ''", "incr lua ''",
      "sadd lua ''", "set lua ''", "srandmember lua ''"]);
    expect(ours.monitor.slice(0, 8)).toEqual([
      `client: "eval" "${SCRIPT}" "4" "fx:k" "fx:none" "fx:text" "fx:set" "2"`,
      'lua: "GET" "fx:k"', 'lua: "GET" "fx:none"', 'lua: "SET" "fx:k" "2"', 'lua: "INCR" "fx:text"', 'lua: "DEL" "fx:none"',
      'lua: "SADD" "fx:set" "a" "b"', 'lua: "SRANDMEMBER" "fx:set" "5"',
    ]);
    expect(ours.events).toEqual(["*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$4\r\nfx:k\r\n",
      "*4\r\n$8\r\npmessage\r\n$19\r\n__keyspace@0__:fx:*\r\n$19\r\n__keyspace@0__:fx:k\r\n$3\r\nset\r\n",
      "*4\r\n$8\r\npmessage\r\n$19\r\n__keyspace@0__:fx:*\r\n$21\r\n__keyspace@0__:fx:set\r\n$4\r\nsadd\r\n"]);
    expect(ours.exec).toBeNull();
    if (!hasRealRedis) return;
    const real = await startRealRedis();
    try {
      const theirs = await observe(real.port);
      expect(ours).toEqual(theirs);
    } finally {
      await real.stop(true);
    }
  });
});
