// Client input read into one buffer shared by every connection (src/server/socket-input.ts):
// what a client keeps past a read (an incomplete command, input held while it is blocked)
// must be its own copy, or another connection's next read would overwrite it.
import { describe, it, expect } from "vitest";
import net from "node:net";
import type Redis from "ioredis";
import { useServer, connectSocket, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; });

/** Everything the socket has received so far (read with received()). */
function collect(s: net.Socket): () => string {
  let got = "";
  s.on("data", (d) => { got += d.toString("latin1"); });
  return () => got;
}

/** Waits until received() holds at least n bytes, and returns it. */
async function waitFor(received: () => string, n: number): Promise<string> {
  for (let i = 0; i < 500 && received().length < n; i++) await pause();
  return received();
}

const pause = () => new Promise((res) => setTimeout(res, 20));

describe("client input in the shared read buffer", () => {
  it("a command split over many reads, while another client's reads go through the same buffer, keeps its bytes", async () => {
    const a = await connectSocket(srv.port);
    const b = await connectSocket(srv.port);
    try {
      const value = "v".repeat(300);
      const cmd = `*3\r\n$3\r\nSET\r\n$9\r\nsplit:key\r\n$${value.length}\r\n${value}\r\n`;
      const aGot = collect(a);
      const bGot = collect(b);
      // a sends its command in pieces; between them b's reads (of other bytes) overwrite the buffer.
      let bSent = 0;
      for (let i = 0; i < cmd.length; i += 37, bSent++) {
        b.write(`*3\r\n$3\r\nSET\r\n$9\r\nsplit:key\r\n$${value.length}\r\n${"x".repeat(value.length)}\r\n`);
        // b's SET has run (its reply is here) before a's next piece goes out: on a loaded
        // machine both sockets can be readable in one poll, served in fd order, not send order.
        await waitFor(bGot, 5 * (bSent + 1));
        a.write(cmd.slice(i, i + 37));
        await pause();
      }
      expect(await waitFor(bGot, 5 * bSent)).toBe("+OK\r\n".repeat(bSent));
      // a's command completed with its last piece, after b's SETs that came before it.
      expect(await waitFor(aGot, 5)).toBe("+OK\r\n");
      expect(await r.get("split:key")).not.toBe("x".repeat(value.length));
      expect(await r.get("split:key")).toBe(value);
    } finally {
      a.destroy();
      b.destroy();
    }
  });

  it("input that arrives while a client is blocked runs once it is served, intact", async () => {
    const a = await connectSocket(srv.port);
    const b = await connectSocket(srv.port);
    try {
      const aGot = collect(a);
      a.write("*3\r\n$5\r\nBLPOP\r\n$6\r\nq:list\r\n$1\r\n0\r\n");
      await pause();
      // Held while a is blocked; b's traffic passes through the shared buffer meanwhile.
      a.write("*2\r\n$4\r\nECHO\r\n$12\r\nheld-intact!\r\n");
      for (let i = 0; i < 5; i++) { b.write("*2\r\n$4\r\nECHO\r\n$12\r\nbbbbbbbbbbbb\r\n"); await pause(); }
      await r.rpush("q:list", "item");
      const expected = "*2\r\n$6\r\nq:list\r\n$4\r\nitem\r\n$12\r\nheld-intact!\r\n";
      expect(await waitFor(aGot, expected.length)).toBe(expected);
    } finally {
      a.destroy();
      b.destroy();
    }
  });
});
