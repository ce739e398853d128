// The Lua debugger (SCRIPT DEBUG, Redis's LDB) through a raw socket: every reply below was
// taken from real Redis 7.0.15 for the same exchange.
import { describe, it, expect } from "vitest";
import net from "node:net";
import type { Redis } from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; });

/** A raw RESP connection: send a command, read until the reply (or replies) are complete. */
class Raw {
  private buf = "";
  private waiters: (() => void)[] = [];
  closed = false;
  constructor(readonly sock: net.Socket) {
    sock.on("data", (d) => { this.buf += d.toString("latin1"); this.wake(); });
    sock.on("close", () => { this.closed = true; this.wake(); });
    sock.on("error", () => {});
  }
  static async open(port: number): Promise<Raw> {
    const sock = net.connect(port, "127.0.0.1");
    await new Promise((res) => sock.once("connect", res));
    return new Raw(sock);
  }
  private wake() { for (const w of this.waiters.splice(0)) w(); }
  send(...args: string[]): void {
    this.sock.write(`*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a, "latin1")}\r\n${a}\r\n`).join(""), "latin1");
  }
  /** Waits until the buffer holds `n` complete top-level replies and returns their raw text. */
  async read(n = 1, timeoutMs = 3000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = completeReplies(this.buf, n);
      if (end >= 0) {
        const out = this.buf.slice(0, end);
        this.buf = this.buf.slice(end);
        return out;
      }
      if (this.closed || Date.now() > deadline) throw new Error(`incomplete: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((res) => { this.waiters.push(res); setTimeout(res, 50); });
    }
  }
  async cmd(...args: string[]): Promise<string> {
    this.send(...args);
    return this.read();
  }
  /** What arrived within ms (nothing expected). */
  async quiet(ms: number): Promise<string> {
    await new Promise((res) => setTimeout(res, ms));
    return this.buf;
  }
  close() { this.sock.destroy(); }
}

/** End offset of the first n complete RESP2 replies in s, or -1. */
function completeReplies(s: string, n: number): number {
  let pos = 0;
  const one = (): boolean => {
    const e = s.indexOf("\r\n", pos);
    if (e < 0) return false;
    const t = s[pos];
    const head = s.slice(pos + 1, e);
    pos = e + 2;
    if (t === "$") {
      const len = Number(head);
      if (len < 0) return true;
      if (s.length < pos + len + 2) return false;
      pos += len + 2;
      return true;
    }
    if (t === "*") {
      const len = Number(head);
      for (let i = 0; i < len; i++) if (!one()) return false;
      return true;
    }
    return true;
  };
  for (let i = 0; i < n; i++) if (!one()) return -1;
  return pos;
}

const lines = (...l: string[]) => `*${l.length}\r\n` + l.map((x) => `+${x}\r\n`).join("");

describe("SCRIPT DEBUG SYNC (Lua debugger)", () => {
  it("stops at the first line, steps with command and reply logs, and ends the session with <endsession>, the reply and a close", async () => {
    const c = await Raw.open(srv.port);
    expect(await c.cmd("script", "debug", "sync")).toBe("+OK\r\n");
    expect(await c.cmd("eval", "local a = 1\nredis.call('set','ldb:x',a)\nredis.pcall('foo')\nreturn {a,'b'}", "0"))
      .toBe(lines("* Stopped at 1, stop reason = step over", "-> 1   local a = 1"));
    expect(await c.cmd("s")).toBe(lines("* Stopped at 2, stop reason = step over", "-> 2   redis.call('set','ldb:x',a)"));
    expect(await c.cmd("s")).toBe(lines("<redis> set ldb:x 1", '<reply> "+OK"', "* Stopped at 3, stop reason = step over", "-> 3   redis.pcall('foo')"));
    expect(await c.cmd("s")).toBe(lines("<redis> foo", "<error> Unknown Redis command called from script", "* Stopped at 4, stop reason = step over", "-> 4   return {a,'b'}"));
    expect(await c.cmd("p", "zz")).toBe(lines("No such variable."));
    expect(await c.cmd("p")).toBe(lines("<value> a = 1"));
    expect(await c.cmd("e", "redis.call('ping')")).toBe(lines('<retval> {["ok"]="PONG"}'));
    expect(await c.cmd("r", "set", "y")).toBe(lines("<redis> set y", "<error> Wrong number of args calling Redis command from script"));
    expect(await c.cmd("maxlen", "10")).toBe(lines("<value> replies are truncated at 60 bytes."));
    expect(await c.cmd("r", "echo", "a".repeat(92))).toBe(lines(`<redis> echo ${"a".repeat(92)}`, `<reply> "${"a".repeat(51)} ...`));
    expect(await c.cmd("e", "{1,2}")).toBe(lines("<retval> {1; 2}"));
    expect(await c.cmd("nosuch")).toBe(lines("<error> Unknown Redis Lua debugger command or wrong number of arguments."));
    c.send("c");
    expect(await c.read(2)).toBe(lines("<endsession>") + "*2\r\n:1\r\n$1\r\nb\r\n");
    await c.quiet(100);
    expect(c.closed).toBe(true);
    expect(await r.get("ldb:x")).toBe("1"); // a synchronous session keeps its changes
  });

  it("breakpoints, redis.breakpoint(), print, trace, list and redis.debug", async () => {
    const c = await Raw.open(srv.port);
    await c.cmd("script", "debug", "sync");
    const src = "local function f(x)\n  local y = x * 2\n  redis.breakpoint()\n  return y\nend\nlocal t = {1,2,{3}}\n" +
      "local v = f(3.14159265)\nredis.debug(t, v, nil, true, 'a\\0b')\nreturn v";
    expect(await c.cmd("eval", src, "0")).toBe(lines("* Stopped at 5, stop reason = step over", "-> 5   end"));
    expect(await c.cmd("c")).toBe(lines("* Stopped at 4, stop reason = redis.breakpoint() called", "-> 4     return y"));
    expect(await c.cmd("p")).toBe(lines("<value> x = 3.14159", "<value> y = 6.28319"));
    expect(await c.cmd("t")).toBe(lines("In f:", "-> 4     return y", "From top level:", "   7   local v = f(3.14159265)"));
    expect(await c.cmd("l", "0", "1")).toBe(lines("   3     redis.breakpoint()", "-> 4     return y", "   5   end"));
    expect(await c.cmd("b", "x", "-3", "9", "0", "8")).toBe(lines(
      "Invalid argument:'x'", "No breakpoint in the specified line.",
      "   8   redis.debug(t, v, nil, true, 'a\\0b')", "  #9   return v",
      "All breakpoints removed.",
      "   7   local v = f(3.14159265)", "  #8   redis.debug(t, v, nil, true, 'a\\0b')", "   9   return v"));
    expect(await c.cmd("b", "8")).toBe(lines("Wrong line number."));
    expect(await c.cmd("b")).toBe(lines("1 breakpoints set:", "  #8   redis.debug(t, v, nil, true, 'a\\0b')"));
    expect(await c.cmd("c")).toBe(lines("* Stopped at 8, stop reason = break point", "->#8   redis.debug(t, v, nil, true, 'a\\0b')"));
    expect(await c.cmd("s")).toBe(lines('<debug> line 8: {1; 2; {3}}, 6.28319, nil, true, "a\\x00b"',
      "* Stopped at 9, stop reason = step over", "-> 9   return v"));
    c.send("abort");
    expect(await c.read(2)).toBe(lines("<endsession>") +
      `-ERR script aborted for user request script: ${sha1(src)}, on @user_script:9.\r\n`);
    c.close();
  });

  it("parses debugger commands as Redis does: NUL bytes, protocol errors, EVALSHA refused", async () => {
    const c = await Raw.open(srv.port);
    await c.cmd("script", "debug", "sync");
    expect(await c.cmd("evalsha", "1234567890123456789012345678901234567890", "0")).toBe("-ERR Please use EVAL instead of EVALSHA for debugging\r\n");
    await c.cmd("eval", "return 'hello'", "0");
    for (const bad of ["'hello\0world'", "'hello\0'", "'\0hello'", "'\0hello\0'"]) {
      expect(await c.cmd(bad)).toBe(lines("<error> Unknown Redis Lua debugger command or wrong number of arguments."));
    }
    // 100 arguments to the redis command: the debugger runs redis.call with them all.
    c.sock.write("*101\r\n$5\r\nredis\r\n" + "$4\r\ntest\r\n".repeat(100));
    expect(await c.read()).toBe(lines(`<redis> ${"test ".repeat(10).trim()} ... (89 more)`, "<error> Unknown Redis command called from script"));
    // Not a multibulk: Redis's parser raises "protocol error" in the script.
    c.sock.write("hello\r\n");
    expect(await c.read(2)).toBe(lines("<endsession>") +
      `-ERR protocol error script: ${sha1("return 'hello'")}, on @user_script:1.\r\n`);
    c.close();
  });

  it("other clients wait for the session's end, and a debugging client that goes away lets the script finish", async () => {
    const c = await Raw.open(srv.port);
    await c.cmd("script", "debug", "sync");
    await c.cmd("eval", "redis.call('set','ldb:y','1')\nreturn 1", "0");
    const other = await Raw.open(srv.port);
    other.send("get", "ldb:y");
    expect(await other.quiet(200)).toBe(""); // held, as Redis serves nobody in a sync session
    c.close();
    expect(await other.read()).toBe("$1\r\n1\r\n");
    other.close();
    expect(await r.ping()).toBe("PONG");
  });

  it("SCRIPT DEBUG YES: the same exchange, but the script's writes are rolled back and no watcher sees them", async () => {
    await r.set("ldb:fork", "before");
    const watcher = await Raw.open(srv.port);
    expect(await watcher.cmd("watch", "ldb:fork")).toBe("+OK\r\n");
    const c = await Raw.open(srv.port);
    expect(await c.cmd("script", "debug", "yes")).toBe("+OK\r\n");
    await c.cmd("eval", "redis.call('set','ldb:fork','after')\nredis.call('set','ldb:fork-new','1')\nreturn redis.call('get','ldb:fork')", "0");
    c.send("c");
    expect(await c.read(2)).toBe(lines("<endsession>") + "$5\r\nafter\r\n");
    await c.quiet(100);
    expect(c.closed).toBe(true);
    expect(await r.get("ldb:fork")).toBe("before");
    expect(await r.exists("ldb:fork-new")).toBe(0);
    expect(await watcher.cmd("multi")).toBe("+OK\r\n");
    expect(await watcher.cmd("get", "ldb:fork")).toBe("+QUEUED\r\n");
    expect(await watcher.cmd("exec")).toBe("*1\r\n$6\r\nbefore\r\n");
    watcher.close();
  });

  it("SCRIPT DEBUG NO turns it off; a bad mode is refused", async () => {
    const c = await Raw.open(srv.port);
    expect(await c.cmd("script", "debug", "foo")).toBe("-ERR Use SCRIPT DEBUG YES/SYNC/NO\r\n");
    await c.cmd("script", "debug", "sync");
    expect(await c.cmd("script", "debug", "no")).toBe("+OK\r\n");
    expect(await c.cmd("eval", "return 1", "0")).toBe(":1\r\n");
    c.close();
  });
});

import { createHash } from "node:crypto";
function sha1(s: string): string {
  return createHash("sha1").update(s).digest("hex");
}
