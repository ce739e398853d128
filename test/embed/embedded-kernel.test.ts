// The embedded kernel API (src/embed/): typed replies, raw RESP in and out across split
// reads, the host-passed clock, SELECT, the memory cap, snapshots, and Redis's errors for
// what it does not hold.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { createKernel, ReplyError, EmbeddedKernel } from "../../src/embed/node.js";
import { kernelWasmPath } from "../../src/kernel/load.js";

const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");

describe("EmbeddedKernel.command", () => {
  it("returns typed replies: status, integer, bulk, null, array", () => {
    const k = createKernel();
    expect(k.command("SET", "a", "1")).toBe("OK");
    expect(k.command("INCR", "a")).toBe(2);
    expect(k.command("GET", "a")).toBe("2");
    expect(k.command("GET", "missing")).toBeNull();
    expect(k.command("HSET", "h", "f", "v", "g", "w")).toBe(2);
    expect(k.command("HGETALL", "h")).toEqual(["f", "v", "g", "w"]);
    expect(k.command("INCRBY", "big", "9007199254740993")).toBe(9007199254740993n);
  });

  it("returns errors as ReplyError values with Redis's text", () => {
    const k = createKernel();
    k.command("SET", "s", "x");
    const e = k.command("INCR", "s");
    expect(e).toBeInstanceOf(ReplyError);
    expect((e as ReplyError).message).toBe("ERR value is not an integer or out of range");
    expect((k.command("GET") as ReplyError).message).toBe("ERR wrong number of arguments for 'get' command");
  });

  it("answers commands of types it does not hold with Redis's unknown-command error", () => {
    const k = createKernel();
    expect((k.command("SINTER", "s", "x") as ReplyError).message)
      .toBe("ERR unknown command 'SINTER', with args beginning with: 's' 'x' ");
    expect(k.supportedCommands()).toContain("hset");
    expect(k.supportedCommands()).not.toContain("sinter");
  });

  it("holds small sets and zsets through the commands the kernel runs on them, and says so for the rest", () => {
    const k = createKernel();
    expect(k.command("SADD", "s", "x", "1")).toBe(2);
    expect(k.command("SMEMBERS", "s")).toEqual(["x", "1"]);
    expect(k.command("ZADD", "z", "2", "b", "1", "a")).toBe(2);
    // New scores are the kernel's, fractional ones in %.17g too; a new member's -0 (Redis
    // prints "-0") is the server's.
    expect(k.command("ZADD", "z", "INCR", "1", "a")).toBe("2");
    expect(k.command("ZINCRBY", "z", "2", "a")).toBe("4");
    expect(k.command("ZINCRBY", "z", "0.1", "a")).toBe("4.0999999999999996");
    expect(k.command("ZSCORE", "z", "a")).toBe("4.0999999999999996");
    expect((k.command("ZADD", "z", "INCR", "-0", "c") as ReplyError).message)
      .toBe("ERR this form of ZADD needs the server's sorted sets (the embedded kernel holds small ones only)");
    expect((k.command("ZINCRBY", "z", "-0", "c") as ReplyError).message)
      .toBe("ERR this form of ZINCRBY needs the server's sorted sets (the embedded kernel holds small ones only)");
    expect((k.command("SPOP", "s", "2") as ReplyError).message)
      .toBe("ERR this form of SPOP needs the server's sets (the embedded kernel holds small ones only)");
  });

  it("holds lists (the kernel's own type since lists moved into it)", () => {
    const k = createKernel();
    expect(k.command("RPUSH", "l", "a", "b")).toBe(2);
    expect(k.supportedCommands()).toContain("lpush");
    expect(k.supportedCommands()).not.toContain("blpop");
  });

  it("keeps binary values intact through commandBytes", () => {
    const k = createKernel();
    const v = Uint8Array.from([0, 255, 13, 10, 128]);
    k.command("SET", "bin", v);
    expect(k.commandBytes("GET", "bin")).toEqual(v);
  });

  it("runs PING, ECHO and SELECT like a connection would", () => {
    const k = createKernel({ databases: 4 });
    expect(k.command("PING")).toBe("PONG");
    expect(k.command("ECHO", "hi")).toBe("hi");
    k.command("SET", "k", "db0");
    expect(k.command("SELECT", 2)).toBe("OK");
    expect(k.command("GET", "k")).toBeNull();
    expect((k.command("SELECT", 4) as ReplyError).message).toBe("ERR DB index is out of range");
    k.select(0);
    expect(k.command("GET", "k")).toBe("db0");
  });
});

describe("EmbeddedKernel.feed", () => {
  it("runs pipelined RESP and inline commands, keeping a command split across feeds", () => {
    const k = createKernel();
    expect(text(k.feed(Buffer.from("SET b 2\r\nGET b\r\n*2\r\n$3\r\nGET")))).toBe("+OK\r\n$1\r\n2\r\n");
    expect(text(k.feed(Buffer.from("\r\n$1\r\nb\r\n")))).toBe("$1\r\n2\r\n");
  });

  it("ends with Redis's protocol error and drops the rest of the input", () => {
    const k = createKernel();
    expect(text(k.feed(Buffer.from("PING\r\n*1\r\n$x\r\nPING\r\n"))))
      .toBe("+PONG\r\n-ERR Protocol error: invalid bulk length\r\n");
    expect(text(k.feed(Buffer.from("PING\r\n")))).toBe("+PONG\r\n");
  });
});

describe("EmbeddedKernel time, memory and snapshots", () => {
  it("expires keys by the clock the host passes in", () => {
    let t = 1_700_000_000_000;
    const k = createKernel({ now: () => t });
    k.command("SET", "k", "v", "PX", 100);
    t += 99;
    expect(k.command("GET", "k")).toBe("v");
    t += 1;
    expect(k.command("GET", "k")).toBeNull();
  });

  it("refuses writes with -OOM once memory reached the cap, still serving reads and deletes", () => {
    const k = createKernel();
    const cap = k.kernel.x.memory.buffer.byteLength + 256 * 1024;
    // A fresh instance whose cap is just above the starting size of its memory.
    const capped = EmbeddedKernel.fromModule(new WebAssembly.Module(readFileSync(kernelWasmPath())), { maxMemoryBytes: cap });
    const big = "x".repeat(64 * 1024);
    let reply: unknown = "OK";
    let i = 0;
    for (; i < 64 && reply === "OK"; i++) reply = capped.command("SET", `k${i}`, big);
    expect(reply).toBeInstanceOf(ReplyError);
    expect((reply as ReplyError).message).toBe("OOM command not allowed when used memory > 'maxmemory'.");
    expect(capped.command("GET", "k0")).toBe(big);
    expect(capped.command("DEL", "k0")).toBe(1);
    expect((capped.command("SET", "again", "1") as ReplyError).message).toMatch(/^OOM/);
  });

  it("restores a snapshot with every db, value type, encoding and TTL", () => {
    let t = 1_700_000_000_000;
    const a = createKernel({ now: () => t });
    a.command("SET", "s", "hello");
    a.command("SET", "n", 42);
    a.command("HSET", "h", "f1", "v1", "f2", "v2");
    a.command("SET", "ttl", "v", "PX", 5000);
    a.command("SELECT", 7);
    a.command("SET", "other", "db7");
    const snap = a.snapshot();

    const b = createKernel({ now: () => t });
    b.command("SET", "gone", "x");
    b.restore(snap);
    expect(b.command("GET", "gone")).toBeNull();
    expect(b.command("GET", "s")).toBe("hello");
    expect(b.command("OBJECT", "ENCODING", "n")).toBe("int");
    expect(b.command("HGETALL", "h")).toEqual(["f1", "v1", "f2", "v2"]);
    expect(b.command("PTTL", "ttl")).toBe(5000);
    expect(b.command("DBSIZE")).toBe(4);
    b.select(7);
    expect(b.command("GET", "other")).toBe("db7");
    t += 5000;
    b.select(0);
    expect(b.command("GET", "ttl")).toBeNull();
  });

  it("rejects bytes that are not a snapshot", () => {
    const k = createKernel();
    expect(() => k.restore(Uint8Array.from([1, 2, 3, 4, 5]))).toThrow(/bad magic/);
  });
});
