// Replies of one read leave as one socket write straight from a reused scratch area
// (src/server/reply-batch.ts). When the socket cannot take a write at once, it keeps referring
// to those bytes until it can: the next batch (another client's) must gather elsewhere, or the
// waiting client would receive the other client's bytes in place of its own.
import { describe, it, expect } from "vitest";
import type Redis from "ioredis";
import { useServer, connectSocket, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; });

const get = (key: string) => `*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`;

describe("reply batches written from a reused scratch area", () => {
  it("a client whose replies wait in the socket gets its own bytes while another client's replies go out", async () => {
    // Small enough that a read's replies fit the scratch area (a bigger output is copied out).
    const size = 16_000;
    await r.set("rb:a", "a".repeat(size));
    await r.set("rb:b", "b".repeat(size));
    const a = await connectSocket(srv.port);
    const b = await connectSocket(srv.port);
    try {
      // a asks for ~10 MB and does not read: the socket fills and the server's writes wait.
      // Then one more GET in a read of its own: its reply goes through the scratch area and
      // waits behind the others.
      a.pause();
      const count = 600;
      a.write(get("rb:a").repeat(count - 1));
      await new Promise((res) => setTimeout(res, 300));
      a.write(get("rb:a"));
      await new Promise((res) => setTimeout(res, 300));
      // b's replies meanwhile, one read at a time (each a batch of its own).
      let bGot = Buffer.alloc(0);
      b.on("data", (d: Buffer) => { bGot = Buffer.concat([bGot, d]); });
      const one = `$${size}\r\n${"b".repeat(size)}\r\n`;
      for (let i = 0; i < 20; i++) {
        const want = one.length * (i + 1);
        b.write(get("rb:b"));
        for (let t = 0; t < 200 && bGot.length < want; t++) await new Promise((res) => setTimeout(res, 5));
      }
      expect(bGot.toString("latin1")).toBe(one.repeat(20));
      // Now a reads everything it was sent: every reply its own value, no byte of b's.
      const expected = `$${size}\r\n${"a".repeat(size)}\r\n`;
      const total = expected.length * count;
      const chunks: Buffer[] = [];
      let got = 0;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`a got ${got} of ${total} bytes`)), 20_000);
        a.on("data", (d: Buffer) => {
          chunks.push(d);
          got += d.length;
          if (got >= total) { clearTimeout(timer); resolve(); }
        });
        a.resume();
      });
      const aGot = Buffer.concat(chunks).toString("latin1");
      expect(aGot.includes("b")).toBe(false);
      expect(aGot === expected.repeat(count)).toBe(true);
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});
