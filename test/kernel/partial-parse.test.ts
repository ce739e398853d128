// A multibulk arriving over many reads: the parser saves the arguments parsed so far
// (savePartial) and continues from them (resumePartial), even when the bytes have moved.
import { describe, it, expect } from "vitest";
import { loadKernel } from "../../src/kernel/load.js";
import { Kernel, STATUS_DONE } from "../../src/kernel/kernel.js";

const td = new TextDecoder();
const te = new TextEncoder();

function kernel(): Kernel {
  const k = loadKernel({ seed: 3 });
  k.bindCommand("set", -3, 1, { firstKey: 1, lastKey: 1, keyStep: 1 });
  k.bindCommand("get", 2, 0, { firstKey: 1, lastKey: 1, keyStep: 1 });
  k.bindCommand("mset", -3, 1, { firstKey: 1, lastKey: -1, keyStep: 2 });
  k.bindCommand("mget", -2, 0, { firstKey: 1, lastKey: -1, keyStep: 1 });
  return k;
}

/**
 * Delivers `req` in pieces of `step` bytes the way src/server/client.ts does for a big
 * command: the bytes accumulate in one place, which is copied to a new address before each
 * call, and the parsed arguments are saved and resumed between calls.
 */
function feedInPieces(k: Kernel, req: Uint8Array, step: number) {
  let have = 0;
  let partial = 0;
  let out = "";
  let calls = 0;
  let where = 0;
  while (have < req.length) {
    have = Math.min(req.length, have + step);
    if (where) k.x.free(where);
    where = k.x.alloc(have + 64 * (calls % 3)); // a different address each time
    k.mem.set(req.subarray(0, have), where);
    if (partial) k.x.resumePartial(partial);
    const st = k.x.process(where, where + have, 0, 1_000_000);
    calls++;
    expect(st).toBe(STATUS_DONE);
    out += td.decode(k.output());
    const consumed = k.x.consumedPos() - where;
    partial = 0;
    if (consumed < have) partial = k.x.savePartial(where);
    else expect(consumed).toBe(req.length);
  }
  k.x.free(where);
  return { out, calls };
}

describe("a multibulk parsed across calls", () => {
  it("MSET of many pairs delivered in small pieces sets every key", () => {
    const k = kernel();
    const n = 2000;
    let req = `*${1 + 2 * n}\r\n$4\r\nMSET\r\n`;
    for (let i = 0; i < n; i++) req += `$${`k${i}`.length}\r\nk${i}\r\n$${`v${i}`.length}\r\nv${i}\r\n`;
    const bytes = te.encode(req);
    for (const step of [7, 100, 4096]) {
      expect(feedInPieces(k, bytes, step).out).toBe("+OK\r\n");
    }
    const p = k.x.alloc(64);
    const get = te.encode("*3\r\n$4\r\nMGET\r\n$2\r\nk0\r\n$5\r\nk1999\r\n");
    k.mem.set(get, p);
    k.x.process(p, p + get.length, 0, 1_000_000);
    expect(td.decode(k.output())).toBe("*2\r\n$2\r\nv0\r\n$5\r\nv1999\r\n");
  });

  it("a resumed command ignores other commands parsed in between", () => {
    const k = kernel();
    const req = te.encode("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$5\r\nhello\r\n");
    const p = k.x.alloc(req.length);
    k.mem.set(req.subarray(0, 20), p);
    k.x.process(p, p + 20, 0, 1);
    const block = k.x.savePartial(p);
    expect(block).not.toBe(0);
    // Another client's commands run in between.
    const other = te.encode("*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\nx\r\n");
    const q = k.x.alloc(other.length);
    k.mem.set(other, q);
    k.x.process(q, q + other.length, 0, 1);
    // The whole command, now at another address, with its (already parsed) count line
    // garbled: a resumed parse does not read it again.
    const moved = k.x.alloc(req.length + 16) + 8;
    k.mem.set(req, moved);
    k.mem[moved + 1] = "9".charCodeAt(0);
    k.x.resumePartial(block);
    expect(k.x.process(moved, moved + req.length, 0, 1)).toBe(STATUS_DONE);
    expect(td.decode(k.output())).toBe("+OK\r\n");
    expect(k.x.consumedPos()).toBe(moved + req.length);
    k.mem.set(te.encode("GET a\r\n"), q);
    k.x.process(q, q + 7, 0, 1);
    expect(td.decode(k.output())).toBe("$5\r\nhello\r\n");
  });

  it("nothing is saved for an incomplete inline command or an unfinished count line", () => {
    const k = kernel();
    for (const text of ["SET a b", "*3", "*3\r\n"]) {
      const b = te.encode(text);
      const p = k.x.alloc(b.length);
      k.mem.set(b, p);
      k.x.process(p, p + b.length, 0, 1);
      expect(k.x.savePartial(p)).toBe(0);
    }
  });
});
