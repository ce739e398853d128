// A command split across reads is joined in one reused scratch buffer (src/server/input-join.ts):
// the incomplete rest a client keeps after such a join must be its own copy, or the next
// join (any client's) overwrites it.
import { describe, it, expect } from "vitest";
import net from "node:net";
import type Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; });

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function raw(): Promise<{ sock: net.Socket; received: () => string }> {
  const sock = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect(srv.port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
  let got = "";
  sock.on("data", (d) => (got += d.toString("latin1")));
  return { sock, received: () => got };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await sleep(10);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe("joining split input", () => {
  it("the rest kept after a join survives another client's join", async () => {
    await r.del("ij:a", "ij:b");
    const a = await raw();
    const b = await raw();
    try {
      const value = Array.from({ length: 8000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
      // A's first read ends inside the bulk length, so the second read is joined to it and
      // the command is still incomplete after the join: its rest is kept.
      a.sock.write("*3\r\n$3\r\nSET\r\n$4\r\nij:a\r\n$80");
      await sleep(50);
      a.sock.write("00\r\n" + value.slice(0, 100));
      await sleep(50);
      // B's command in two reads: its second read is joined in the same scratch buffer.
      b.sock.write("*3\r\n$3\r\nSET\r\n$4\r\nij:b\r\n$5");
      await sleep(50);
      b.sock.write("\r\nBBBBB\r\n");
      await until(() => b.received() === "+OK\r\n", "B's reply");
      a.sock.write(value.slice(100) + "\r\n");
      await until(() => a.received() === "+OK\r\n", "A's reply");
      expect(await r.get("ij:a")).toBe(value);
      expect(await r.get("ij:b")).toBe("BBBBB");
    } finally {
      a.sock.destroy();
      b.sock.destroy();
    }
  });

  it("a pipeline streamed in writes cut mid-command runs every command once, in order", async () => {
    await r.del("ij:n", "ij:log");
    const a = await raw();
    try {
      let all = "";
      for (let i = 1; i <= 3000; i++) all += `*2\r\n$4\r\nINCR\r\n$4\r\nij:n\r\n*3\r\n$5\r\nRPUSH\r\n$6\r\nij:log\r\n$${String(i).length}\r\n${i}\r\n`;
      for (let at = 0; at < all.length; at += 997) {
        a.sock.write(all.slice(at, at + 997));
        if (at % 19940 === 0) await sleep(2);
      }
      await until(() => a.received().endsWith(":3000\r\n:3000\r\n"), "the last replies");
      expect(await r.get("ij:n")).toBe("3000");
      const log = await r.lrange("ij:log", 0, -1);
      expect(log.length).toBe(3000);
      expect(log.every((v, i) => v === String(i + 1))).toBe(true);
    } finally {
      a.sock.destroy();
    }
  });
});
