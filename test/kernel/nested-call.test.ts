// A nested kernel call (Shard.callRaw) made between a client's process() and the host's
// reading of that call's results. The host consumes a process() call's effects (afterCall)
// before it reads where the call stopped or what it handed back, and an effect consumer may
// run a command on the same kernel: the CRDT replicator reads a written key back through
// Shard.callRaw. The nested call used to overwrite the kernel's results (consumedPos,
// commandStart, needBytes, argv, the partial multibulk), so the client resumed at the
// nested request's address: with a reused request region below the client's input it parsed
// its next command from the middle of a key ("unknown command 'ting'" from "greeting").
import { describe, it, expect } from "vitest";
import { Shard, encodeCommand } from "../../src/server/shard.js";
import { STATUS_DONE, STATUS_HOST } from "../../src/kernel/kernel.js";

const td = new TextDecoder();
const te = new TextEncoder();

function shard(): Shard {
  const s = new Shard(0, 16, 0, 16383, 1, 5);
  const k = s.kernel;
  k.bindCommand("set", -3, 1, { firstKey: 1, lastKey: 1, keyStep: 1 });
  k.bindCommand("get", 2, 0, { firstKey: 1, lastKey: 1, keyStep: 1 });
  k.bindCommand("append", 3, 1, { firstKey: 1, lastKey: 1, keyStep: 1 });
  k.bindCommand("del", -2, 1, { firstKey: 1, lastKey: -1, keyStep: 1 });
  return s;
}

const cmd = (...a: string[]) => encodeCommand(a.map((x) => te.encode(x)));
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};

/** What the host reads after a process() call (src/server/client.ts, router.ts). */
function results(s: Shard) {
  const x = s.kernel.x;
  return {
    consumed: x.consumedPos(), start: x.commandStart(), need: x.needBytes(),
    forRouting: x.handedForRouting(), argv: s.kernel.argv().map((a) => td.decode(a)),
  };
}

describe("a nested call between a client's process() and the host reading its results", () => {
  it("leaves a handed-back command's position and argv as they were", () => {
    const s = shard();
    const input = cat(cmd("SET", "greeting", "hello"), cmd("LPUSH", "list", "x"), cmd("GET", "greeting"));
    const base = s.load(input);
    const st = s.kernel.x.process(base, base + input.length, 0, 1000);
    expect(st).toBe(STATUS_HOST);
    expect(td.decode(s.kernel.output())).toBe("+OK\r\n");
    const before = results(s);
    expect(before.argv).toEqual(["LPUSH", "list", "x"]);
    // An effect consumer reads the written key back on the same kernel, twice (the second
    // time into a request region the first may have left in place).
    expect(td.decode(s.callRaw(cmd("GET", "greeting"), 0, 1000))).toBe("$5\r\nhello\r\n");
    expect(td.decode(s.callRaw(cmd("SET", "other", "v"), 0, 1000))).toBe("+OK\r\n");
    expect(results(s)).toEqual(before);
    // The client carries on from where its own call stopped.
    const pos = s.kernel.x.consumedPos();
    expect(s.kernel.x.process(pos, base + input.length, 0, 1000)).toBe(STATUS_DONE);
    expect(td.decode(s.kernel.output())).toBe("$5\r\nhello\r\n");
    expect(s.kernel.x.consumedPos()).toBe(base + input.length);
  });

  it("leaves an incomplete multibulk's stop, need and parsed arguments as they were", () => {
    const s = shard();
    const whole = cmd("SET", "big", "x".repeat(100));
    const input = cat(cmd("SET", "a", "1"), whole.subarray(0, 40));
    const base = s.load(input);
    expect(s.kernel.x.process(base, base + input.length, 0, 1000)).toBe(STATUS_DONE);
    const before = results(s);
    expect(before.consumed).toBe(base + input.length - 40);
    expect(td.decode(s.callRaw(cmd("GET", "a"), 0, 1000))).toBe("$1\r\n1\r\n");
    expect(results(s)).toEqual(before);
    // client.ts moveToRegion: save the arguments parsed so far, continue elsewhere.
    const x = s.kernel.x;
    const partial = x.savePartial(before.consumed);
    expect(partial).not.toBe(0);
    const region = x.alloc(whole.length);
    s.kernel.mem.set(whole, region);
    x.resumePartial(partial);
    expect(x.process(region, region + whole.length, 0, 1000)).toBe(STATUS_DONE);
    expect(td.decode(s.kernel.output())).toBe("+OK\r\n");
    x.free(region);
    expect(td.decode(s.callRaw(cmd("GET", "big"), 0, 1000))).toBe(`$100\r\n${"x".repeat(100)}\r\n`);
  });

  it("counts its own error replies for the host, and times none of its commands", () => {
    const s = shard();
    const x = s.kernel.x;
    // Every command timed (slowlog-log-slower-than 0): a client's process() records its SET...
    x.setSlowCommandThreshold(0);
    const input = cmd("SET", "a", "1");
    const base = s.load(input);
    expect(x.process(base, base + input.length, 0, 1000)).toBe(STATUS_DONE);
    expect(x.slowCommands()).toBe(1);
    // ...a nested call does not: its host caller times it (Server.runScriptCall, run()).
    expect(td.decode(s.callRaw(cmd("SET", "b", "2"), 0, 1000))).toBe("+OK\r\n");
    expect(x.slowCommands()).toBe(0);
    expect(s.nestedErrors).toBe(0);
    const ever = x.errorRepliesEver();
    expect(td.decode(s.callRaw(cmd("APPEND", "a"), 0, 1000))).toMatch(/^-ERR wrong number of arguments/);
    expect(s.nestedErrors).toBe(1);
    expect(x.errorRepliesEver()).toBe(ever + 1);
    expect(td.decode(s.callRaw(cmd("GET", "a"), 0, 1000))).toBe("$1\r\n1\r\n");
    expect(s.nestedErrors).toBe(0);
  });
});
