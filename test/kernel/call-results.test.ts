// Kernel.run reads a process() call's results from the kernel's results block in one go
// (assembly/index.ts publishCallResults); they must be what the single exports answer.
import { describe, it, expect } from "vitest";
import { Kernel, STATUS_DONE, STATUS_HOST } from "../../src/kernel/kernel.js";
import { shardKernel } from "./feed.js";

const te = new TextEncoder();

/** Runs text through Kernel.run and returns its fields next to what the exports say. */
function both(k: Kernel, text: string) {
  const bytes = te.encode(text);
  const p = k.x.alloc(bytes.length);
  k.mem.set(bytes, p);
  const st = k.run(p, p + bytes.length, 0, 1_000);
  const x = k.x;
  const fields = {
    consumed: k.consumed - p, need: k.need, handedStart: k.handedStart - p, handedToRoute: k.handedToRoute,
    handedShard: k.handedShard, ranCount: k.ranCount, slowCount: k.slowCount, outPtr: k.outPtr, outLen: k.outLen,
    pending: k.pending,
  };
  const exported = {
    consumed: x.consumedPos() - p, need: x.needBytes(), handedStart: x.commandStart() - p,
    handedToRoute: !!x.handedForRouting(), handedShard: st === STATUS_HOST && x.handedForRouting() ? x.handedShard() : -1,
    ranCount: x.ranCommands(), slowCount: x.slowCommands(), outPtr: x.outputPtr(), outLen: x.outputLen(),
    pending: x.pendingWork(),
  };
  k.x.free(p);
  return { st, fields, exported };
}

describe("Kernel.run's results", () => {
  it("carry pendingWork(): a freed handle to collect after the call", () => {
    const k = shardKernel(0, 1);
    k.bindCommand("del", -2, 1, { firstKey: 1, lastKey: -1, keyStep: 1 });
    const key = te.encode("list:k");
    const kp = k.x.alloc(key.length);
    k.mem.set(key, kp);
    k.x.setKeyHandle(0, kp, key.length, 2, 77, 1_000); // a host-held value (type 2: list)
    const r = both(k, "DEL list:k\r\n");
    expect(r.fields).toEqual(r.exported);
    expect(r.fields.pending & 4).toBe(4);
  });

  it("a command the host trusts to the shard runs there once, without its slots checked", () => {
    const k = shardKernel(0, 2); // foo (slot 12182) is shard 1's
    const text = te.encode("GET foo\r\nGET foo\r\n");
    const p = k.x.alloc(text.length);
    k.mem.set(text, p);
    k.trustCommandAt(p);
    expect(k.run(p, p + text.length, 0, 1_000)).toBe(STATUS_HOST);
    expect(k.ranCount).toBe(1);
    expect(k.handedStart - p).toBe("GET foo\r\n".length);
    expect(k.handedShard).toBe(1);
    // The trust was for that one call.
    expect(k.run(p, p + text.length, 0, 1_000)).toBe(STATUS_HOST);
    expect(k.ranCount).toBe(0);
    k.x.free(p);
  });

  it("match the exports after a call that ran commands and stopped at an incomplete one", () => {
    const k = shardKernel(0, 1);
    const r = both(k, "SET a 1\r\nGET a\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$10\r\nabc");
    expect(r.st).toBe(STATUS_DONE);
    expect(r.fields).toEqual(r.exported);
    expect(r.fields.ranCount).toBe(2);
    expect(r.fields.outLen).toBe("+OK\r\n$1\r\n1\r\n".length);
    expect(r.fields.need).toBeGreaterThan(0);
  });

  it("match the exports for a command handed back to be run in the shard that owns its key", () => {
    const k = shardKernel(0, 2); // foo (slot 12182) is shard 1's
    const r = both(k, "SET bar 1\r\nGET foo\r\nGET bar\r\n");
    expect(r.st).toBe(STATUS_HOST);
    expect(r.fields).toEqual(r.exported);
    expect(r.fields.handedShard).toBe(1);
    expect(r.fields.handedStart).toBe("SET bar 1\r\n".length);
  });

  it("name no shard for a host command, even after a routed one", () => {
    const k = shardKernel(0, 2);
    both(k, "GET foo\r\n");
    const r = both(k, "LPUSH l a\r\n");
    expect(r.st).toBe(STATUS_HOST);
    expect(r.fields).toEqual(r.exported);
    expect(r.fields.handedShard).toBe(-1);
    expect(r.fields.handedToRoute).toBe(false);
  });

  it("stay right after the kernel's memory grew", () => {
    const k = shardKernel(0, 1);
    both(k, "GET a\r\n");
    const big = "x".repeat(4 << 20);
    const r = both(k, `SET big ${big}\r\nGET a\r\n`);
    expect(r.fields).toEqual(r.exported);
    expect(r.fields.ranCount).toBe(2);
  });
});
