// Scripts that run past busy-reply-threshold: other clients get -BUSY, SCRIPT KILL /
// FUNCTION KILL stop a script that has not written, one that wrote is UNKILLABLE, and
// SHUTDOWN NOSAVE still stops the server. The script stays atomic meanwhile.
import { describe, it, expect, beforeAll, afterAll, afterEach } from "vitest";
import Redis from "ioredis";
import net from "node:net";
import { startServer, type RunningServer } from "../helpers/server.js";

const BUSY_EVAL = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const UNKILLABLE = "UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.";
/** Runs for ARGV[1] milliseconds, then returns ARGV[2]. */
const SLEEPY = "local t = redis.call('time') local t0 = t[1] * 1000 + t[2] / 1000 " +
  "repeat t = redis.call('time') until t[1] * 1000 + t[2] / 1000 - t0 >= tonumber(ARGV[1]) return ARGV[2]";

let srv: RunningServer;
let r: Redis;
const extra: Redis[] = [];

function client(): Redis {
  const c = new Redis({ port: srv.port, host: "127.0.0.1", enableReadyCheck: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
  extra.push(c);
  return c;
}

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error reply");
}

/** Waits until PING from c answers -BUSY (the script has timed out). */
async function untilBusy(c: Redis): Promise<string> {
  for (let i = 0; i < 200; i++) {
    try {
      await c.ping();
    } catch (e) {
      return (e as Error).message;
    }
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error("the script never became busy");
}

beforeAll(async () => {
  srv = await startServer();
  r = new Redis({ port: srv.port, host: "127.0.0.1", enableReadyCheck: false });
  await r.config("SET", "busy-reply-threshold", "50");
});
afterEach(() => {
  for (const c of extra.splice(0)) c.disconnect();
});
afterAll(async () => {
  r?.disconnect();
  await srv?.stop();
});

describe("a script past busy-reply-threshold", () => {
  it("makes other clients' commands answer -BUSY until SCRIPT KILL stops it", async () => {
    const caller = client();
    const running = errorOf(caller.eval("while true do end", 0));
    expect(await untilBusy(r)).toBe(BUSY_EVAL);
    expect(await errorOf(r.set("k", "v"))).toBe(BUSY_EVAL);
    expect(await r.script("KILL")).toBe("OK");
    expect(await running).toMatch(/^ERR Script killed by user with SCRIPT KILL\.\.\./);
    expect(await r.ping()).toBe("PONG");
    expect(await r.get("k")).toBeNull();
  });

  it("cannot keep running by catching the kill error with pcall", async () => {
    const caller = client();
    const running = errorOf(caller.eval("local f = function() while 1 do redis.call('ping') end end while 1 do pcall(f) end", 0));
    await untilBusy(r);
    expect(await r.script("KILL")).toBe("OK");
    expect(await running).toMatch(/killed by user/);
    expect(await r.ping()).toBe("PONG");
  });

  it.each([
    ["a table.sort comparator", "local t = {3, 1, 2} table.sort(t, function(a, b) while true do end end)"],
    ["a string.gsub replacement function", "string.gsub('abc', '%w', function(c) while true do end end)"],
    ["a string.gsub replacement table's __index", "string.gsub('abc', '%w', setmetatable({}, {__index = function() while true do end end}))"],
  ])("loops forever inside %s and still answers -BUSY to others and stops on SCRIPT KILL", async (_where, script) => {
    const caller = client();
    const running = errorOf(caller.eval(script, 0));
    expect(await untilBusy(r)).toBe(BUSY_EVAL);
    expect(await r.script("KILL")).toBe("OK");
    expect(await running).toMatch(/killed by user/);
    expect(await r.ping()).toBe("PONG");
  });

  it("refuses EVAL and SHUTDOWN without NOSAVE from others, and its caller's next command waits for it", async () => {
    const caller = client();
    const done = caller.eval(SLEEPY, 0, 600, "finished");
    const next = caller.set("x", "0"); // behind the script on the same connection
    expect(await untilBusy(r)).toBe(BUSY_EVAL);
    expect(await errorOf(r.eval("return 1", 0))).toBe(BUSY_EVAL);
    expect(await errorOf(r.shutdown())).toBe(BUSY_EVAL);
    expect(await done).toBe("finished");
    expect(await next).toBe("OK");
    expect(await r.get("x")).toBe("0");
  });

  it("that wrote answers UNKILLABLE to SCRIPT KILL and runs to its end", async () => {
    const caller = client();
    const done = caller.eval("redis.call('set', KEYS[1], 'y') " + SLEEPY, 1, "w", 600, "ended");
    await untilBusy(r);
    expect(await errorOf(r.script("KILL"))).toBe(UNKILLABLE);
    expect(await done).toBe("ended");
    expect(await r.get("w")).toBe("y");
  });

  it("runs the caller's pipelined commands after it, in order", async () => {
    const sock = net.connect(srv.port, "127.0.0.1");
    let got = "";
    sock.on("data", (d) => (got += d.toString("latin1")));
    await new Promise((res) => sock.once("connect", res));
    sock.write("*3\r\n$4\r\neval\r\n$33\r\nwhile 1 do redis.call('ping') end\r\n$1\r\n0\r\n*1\r\n$4\r\nping\r\n");
    await untilBusy(r);
    expect(got).toBe("");
    expect(await r.script("KILL")).toBe("OK");
    for (let i = 0; i < 100 && !got.endsWith("+PONG\r\n"); i++) await new Promise((res) => setTimeout(res, 20));
    sock.destroy();
    expect(got).toMatch(/^-ERR Script killed by user with SCRIPT KILL\.\.\.[^\r]*\r\n\+PONG\r\n$/);
  });

  it("aborts another client's transaction: its queued commands are flagged, EXEC answers EXECABORT", async () => {
    const caller = client();
    const other = client();
    await other.set("xx", "1");
    const running = errorOf(caller.eval("while true do end", 0));
    await untilBusy(r);
    expect(await other.multi({ pipeline: false })).toBe("OK");
    expect(await errorOf(other.incr("xx"))).toBe(BUSY_EVAL);
    expect(await errorOf(other.exec())).toBe(`EXECABORT Transaction discarded because of: ${BUSY_EVAL}`);
    expect(await r.script("KILL")).toBe("OK");
    await running;
    expect(await other.get("xx")).toBe("1");
    expect(await other.ping("asdf")).toBe("asdf");
  });

  it("inside EXEC pauses the transaction, whose later commands run right after it", async () => {
    const caller = client();
    const tx = caller.multi().eval(SLEEPY, 0, 400, "slept").set("after", "1").get("after").exec();
    expect(await untilBusy(r)).toBe(BUSY_EVAL);
    expect(await tx).toEqual([[null, "slept"], [null, "OK"], [null, "1"]]);
    expect(await r.get("after")).toBe("1");
  });

  it("is timed and counted as one call when it ends: SLOWLOG, commandstats, the latency monitor, errorstats", async () => {
    // Redis runs a timed-out script inside call() to its end, so what call() records is the
    // whole run, and its error reply counts once it comes.
    const c = client();
    await c.config("SET", "slowlog-log-slower-than", "100000");
    await c.config("SET", "latency-monitor-threshold", "100");
    await c.slowlog("RESET");
    await c.latency("RESET");
    await c.config("RESETSTAT");
    const running = c.eval(SLEEPY, 0, 600, "slept");
    expect(await untilBusy(r)).toBe(BUSY_EVAL);
    expect(await running).toBe("slept");
    const slow = (await c.slowlog("GET")) as [number, number, number, string[]][];
    const entry = slow.find((e) => e[3][0] === "eval");
    expect(entry?.[2]).toBeGreaterThanOrEqual(600_000);
    const stat = /cmdstat_eval:calls=1,usec=(\d+),/.exec(await c.info("commandstats"));
    expect(Number(stat?.[1])).toBeGreaterThanOrEqual(600_000);
    const latest = (await c.latency("LATEST")) as [string, number, number, number][];
    expect(latest.find((e) => e[0] === "command")?.[2]).toBeGreaterThanOrEqual(600);
    // A timed-out script that fails counts its error as one failed call.
    await c.config("RESETSTAT");
    await expect(c.eval(SLEEPY.replace("return ARGV[2]", "return redis.error_reply('MYERR late')"), 0, 300, "x")).rejects.toThrow("MYERR late");
    const info = await c.info("stats");
    expect(await c.info("errorstats")).toContain("errorstat_MYERR:count=1");
    expect(await c.info("commandstats")).toMatch(/cmdstat_eval:calls=1,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=1/);
    expect(info).toContain("total_error_replies:1");
    await c.config("SET", "slowlog-log-slower-than", "10000");
    await c.config("SET", "latency-monitor-threshold", "0");
  });
});

describe("a function past busy-reply-threshold", () => {
  it("answers -BUSY with FUNCTION KILL's text, is not stopped by SCRIPT KILL, is by FUNCTION KILL", async () => {
    await r.function("LOAD", "REPLACE", "#!lua name=busylib\nredis.register_function('spin', function() local a = 1 while true do a = a + 1 end end)");
    const caller = client();
    const running = errorOf(caller.fcall("spin", 0));
    expect(await untilBusy(r)).toBe(BUSY_FUNCTION);
    const stats = (await r.function("STATS")) as unknown[];
    expect(stats[0]).toBe("running_script");
    expect(await errorOf(r.script("KILL"))).toBe(BUSY_FUNCTION);
    expect(await r.function("KILL")).toBe("OK");
    expect(await running).toMatch(/killed by user/);
    expect(await r.ping()).toBe("PONG");
  });

  it("SCRIPT KILL and FUNCTION KILL answer NOTBUSY when nothing runs", async () => {
    expect(await errorOf(r.script("KILL"))).toBe("NOTBUSY No scripts in execution right now.");
    expect(await errorOf(r.function("KILL"))).toBe("NOTBUSY No scripts in execution right now.");
  });
});

describe("SHUTDOWN NOSAVE", () => {
  it("stops the server while a script that wrote is running", async () => {
    const s = await startServer();
    const a = new Redis({ port: s.port, host: "127.0.0.1", enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    const b = new Redis({ port: s.port, host: "127.0.0.1", enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    a.on("error", () => {});
    b.on("error", () => {});
    try {
      await a.config("SET", "busy-reply-threshold", "50");
      const running = a.eval("redis.call('set', 'k', 'v') while true do end", 0).catch((e: Error) => e);
      for (let i = 0; i < 200; i++) {
        if (await b.ping().then(() => false, () => true)) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      expect(await errorOf(b.script("KILL"))).toBe(UNKILLABLE);
      await b.shutdown("NOSAVE").catch(() => undefined);
      await running;
      const code = await new Promise<number | null>((res) => {
        if (s.proc.exitCode !== null) return res(s.proc.exitCode);
        s.proc.once("exit", (c) => res(c));
      });
      expect(code).toBe(0);
    } finally {
      a.disconnect();
      b.disconnect();
      await s.stop();
    }
  });
});
