// The kernel's RESP parser, driven directly through the WASM boundary.
import { describe, it, expect } from "vitest";
import { loadKernel } from "../../src/kernel/load.js";
import { Kernel, STATUS_DONE, STATUS_HOST, STATUS_PROTO_ERROR } from "../../src/kernel/kernel.js";
import { feed } from "./feed.js";

function bind(k: Kernel) {
  k.bindCommand("set", -3, 1);
  k.bindCommand("get", 2, 0);
}

describe("RESP parser", () => {
  it("runs a pipelined multibulk batch split at every byte boundary", () => {
    const batch = "*3\r\n$3\r\nSET\r\n$1\r\na\r\n$2\r\nxy\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nGET a\r\n";
    for (let split = 0; split <= batch.length; split++) {
      const k = loadKernel({ seed: 1 });
      bind(k);
      const first = feed(k, batch.slice(0, split));
      const rest = batch.slice(first.consumed);
      const second = feed(k, rest);
      expect(first.out + second.out, `split at ${split}`).toBe("+OK\r\n$2\r\nxy\r\n$2\r\nxy\r\n");
      expect(second.consumed).toBe(rest.length);
    }
  });

  it("hands commands it does not own back to the host with argv", () => {
    const k = loadKernel();
    bind(k);
    const r = feed(k, "*2\r\n$5\r\nLPUSH\r\n$1\r\nl\r\nGET x\r\n");
    expect(r.st).toBe(STATUS_HOST);
    expect(r.consumed).toBe("*2\r\n$5\r\nLPUSH\r\n$1\r\nl\r\n".length);
  });

  it.each([
    ["*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
    ["*3000000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
    ["*1\r\n!4\r\n", "-ERR Protocol error: expected '$', got '!'\r\n"],
    ["*1\r\n$-5\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\n$600000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    // Length lines checked against redis-server 7.0.15: only canonical decimal digits count.
    ["*01\r\n$3\r\nGET\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
    ["*00\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
    ["*-0\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
    ["*000000000000000001\r\n$3\r\nGET\r\n", "-ERR Protocol error: invalid multibulk length\r\n"],
    ["*1\r\n$03\r\nGET\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\n$00\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\n$-0\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\n$+3\r\nGET\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\n$3 \r\nGET\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\n$0000000000000000003\r\nGET\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\n$100000000000000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\n$1000000000000000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\n$10000000000000000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ["*1\r\n$100000000000000000000\r\n", "-ERR Protocol error: invalid bulk length\r\n"],
    ['SET "a b\r\n', "-ERR Protocol error: unbalanced quotes in request\r\n"],
    ['SET "a"b c\r\n', "-ERR Protocol error: unbalanced quotes in request\r\n"],
  ])("protocol error for %j", (input, expected) => {
    const k = loadKernel();
    bind(k);
    const r = feed(k, input);
    expect(r.st).toBe(STATUS_PROTO_ERROR);
    expect(r.out).toBe(expected);
  });

  it("rejects an inline request over 64KB without a newline", () => {
    const k = loadKernel();
    const r = feed(k, "a".repeat(70 * 1024));
    expect(r.st).toBe(STATUS_PROTO_ERROR);
    expect(r.out).toBe("-ERR Protocol error: too big inline request\r\n");
  });

  it("unescapes inline quoted arguments like sdssplitargs", () => {
    const k = loadKernel();
    bind(k);
    const r = feed(k, 'SET "k\\x41\\n" \'it\\\'s\'\r\nGET "kA\\n"\r\n');
    expect(r.st).toBe(STATUS_DONE);
    expect(r.out).toBe("+OK\r\n$4\r\nit's\r\n");
  });

  it("takes lengths of every digit count, and zero-length arguments, as redis-server does", () => {
    const k = loadKernel();
    bind(k);
    const value = "v".repeat(123456);
    const r = feed(k, `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n${value}\r\n*2\r\n$3\r\nGET\r\n$0\r\n\r\n` +
      "*0\r\n*2\r\n$3\r\nget\r\n$1\r\nk\r\n");
    expect(r.st).toBe(STATUS_DONE);
    expect(r.out).toBe(`+OK\r\n$-1\r\n$${value.length}\r\n${value}\r\n`);
  });

  it("skips empty multibulk and blank inline lines", () => {
    const k = loadKernel();
    bind(k);
    expect(feed(k, "*0\r\n*-1\r\n\r\n   \r\nGET nope\r\n").out).toBe("$-1\r\n");
  });
});
