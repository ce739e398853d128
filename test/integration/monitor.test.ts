// MONITOR: one status line per command run, kernel and host commands alike, in Redis 7.0's
// order (MULTI, queued commands, EXEC; EVAL before the "[db lua]" lines of its calls).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import Redis from "ioredis";
import { startServer, type RunningServer } from "../helpers/server.js";
import { RawConn } from "../helpers/raw-conn.js";

let srv: RunningServer;
let r: Redis;

beforeAll(async () => {
  srv = await startServer();
  r = new Redis({ port: srv.port, host: "127.0.0.1" });
  await r.ping(); // its HELLO would be the first monitored line
});
afterAll(async () => {
  r?.disconnect();
  await srv?.stop();
});

async function linesAfter(m: RawConn, n: number): Promise<string[]> {
  for (let i = 0; i < 100 && m.text.split("\r\n").length - 1 < n; i++) await new Promise((x) => setTimeout(x, 10));
  const lines = m.text.split("\r\n").slice(0, n);
  m.text = "";
  return lines;
}

describe("MONITOR", () => {
  it("logs kernel and host commands with time, db, address and quoted arguments", async () => {
    const m = await RawConn.open(srv.port);
    m.send("MONITOR");
    await m.expect("+OK\r\n");
    await r.set("foo", "a b\n\"c\"");
    await r.lpush("l", "x");
    const [l1, l2] = await linesAfter(m, 2);
    expect(l1).toMatch(/^\+\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] "set" "foo" "a b\\n\\"c\\""$/);
    expect(l2).toMatch(/"lpush" "l" "x"$/);
    m.close();
  });

  it("orders MULTI, the queued command, EXEC; and EVAL before its lua calls", async () => {
    const m = await RawConn.open(srv.port);
    m.send("MONITOR");
    await m.expect("+OK\r\n");
    await r.multi().set("k", "v").exec();
    await r.eval("return redis.call('get', KEYS[1])", 1, "k");
    const lines = await linesAfter(m, 5);
    expect(lines[0]).toMatch(/"multi"$/);
    expect(lines[1]).toMatch(/\] "set" "k" "v"$/);
    expect(lines[2]).toMatch(/"exec"$/);
    expect(lines[3]).toMatch(/"eval"/);
    expect(lines[4]).toMatch(/\[0 lua\] "get" "k"$/);
    m.close();
  });
});

describe("MONITOR redaction", () => {
  it("shows passwords as (redacted): AUTH, HELLO AUTH, MIGRATE AUTH", async () => {
    const m = await RawConn.open(srv.port);
    m.send("MONITOR");
    await m.expect("+OK\r\n");
    await r.call("AUTH", "nosuchpass").catch(() => {});
    await r.call("HELLO", "3", "AUTH", "default", "nosuchpass").catch(() => {});
    await r.call("MIGRATE", "127.0.0.1", "1", "k", "0", "10", "AUTH", "pw").catch(() => {});
    const lines = await linesAfter(m, 3);
    expect(lines[0]).toMatch(/\] "AUTH" "\(redacted\)"$/);
    expect(lines[1]).toMatch(/\] "HELLO" "3" "AUTH" "\(redacted\)" "\(redacted\)"$/);
    expect(lines[2]).toMatch(/\] "MIGRATE" "127\.0\.0\.1" "1" "k" "0" "10" "AUTH" "\(redacted\)"$/);
    m.close();
  });
});

describe("LOLWUT", () => {
  it("answers Redis's version line, and rejects a VERSION that is not an integer", async () => {
    expect(await r.call("LOLWUT")).toBe("Redis ver. 7.0.15\n");
    expect(await r.call("LOLWUT", "VERSION", "1")).toBe("Redis ver. 7.0.15\n");
    await expect(r.call("LOLWUT", "VERSION", "x")).rejects.toThrow("ERR value is not an integer or out of range");
  });
});
