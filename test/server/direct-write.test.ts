// Direct socket writes (src/server/direct-write.ts): bytes handed to a socket's handle, past
// Node's Writable stream, arrive whole and in order with the stream's own writes, and the
// bytes a peer that does not read leaves queued are counted until they are sent.
import { describe, it, expect } from "vitest";
import net from "node:net";
import { once } from "node:events";
import { directHandle, writeDirect, type DirectWriter } from "../../src/server/direct-write.js";

/** Runs fn with a connected pair on loopback: `server` is the accepted socket (as a client's is). */
async function withPair(fn: (server: net.Socket, peer: net.Socket) => Promise<void>): Promise<void> {
  const srv = net.createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const accepted = once(srv, "connection");
  const peer = net.connect((srv.address() as net.AddressInfo).port, "127.0.0.1");
  const [server] = (await accepted) as [net.Socket];
  await once(peer, "connect").catch(() => {});
  try {
    await fn(server, peer);
  } finally {
    peer.destroy();
    server.destroy();
    srv.close();
  }
}

function writer(): DirectWriter & { drained: number } {
  return { directPending: 0, drained: 0, directDrained() { this.drained++; } };
}

describe("direct-write", () => {
  it("writes through the handle of an idle plain socket, and not while the stream holds bytes or is corked", () =>
    withPair(async (server, peer) => {
      const got: Buffer[] = [];
      peer.on("data", (d) => got.push(d));
      const h = directHandle(server);
      expect(h).not.toBeNull();
      const w = writer();
      expect(writeDirect(server, h!, Buffer.from("+OK\r\n"), w)).toBe(false); // sent at once: not kept
      expect(w.directPending).toBe(0);
      server.cork();
      expect(directHandle(server)).toBeNull();
      server.uncork();
      server.end();
      expect(directHandle(server)).toBeNull();
      await once(peer, "end");
      expect(Buffer.concat(got).toString()).toBe("+OK\r\n");
    }));

  it("counts what a peer that does not read leaves queued, reports the drain, and keeps the order with stream writes", () =>
    withPair(async (server, peer) => {
      peer.pause();
      const w = writer();
      // Write 64 KiB pieces directly until one is queued (the socket buffers are full).
      const pieces: Buffer[] = [];
      let kept = false;
      for (let i = 0; i < 2000 && !kept; i++) {
        const p = Buffer.alloc(64 * 1024, i % 251);
        pieces.push(p);
        const h = directHandle(server);
        expect(h).not.toBeNull(); // the stream has nothing: direct writes queue behind each other
        kept = writeDirect(server, h!, p, w);
      }
      expect(kept).toBe(true);
      expect(w.directPending).toBe(64 * 1024);
      // A later direct write queues behind it and is counted too.
      const more = Buffer.from("direct-after\r\n");
      expect(writeDirect(server, directHandle(server)!, more, w)).toBe(true);
      pieces.push(more);
      expect(w.directPending).toBe(64 * 1024 + more.length);
      // The stream's own write goes after them.
      const last = Buffer.from("stream-last\r\n");
      server.write(last);
      pieces.push(last);
      expect(directHandle(server)).toBeNull();
      const want = Buffer.concat(pieces);
      const got: Buffer[] = [];
      let n = 0;
      const all = new Promise<void>((res) => peer.on("data", (d) => { got.push(d); n += d.length; if (n >= want.length) res(); }));
      peer.resume();
      await all;
      expect(Buffer.concat(got).equals(want)).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(w.directPending).toBe(0);
      expect(w.drained).toBe(1);
    }));

  it("a queued write to a peer that goes away completes: nothing stays counted", () =>
    withPair(async (server, peer) => {
      peer.pause();
      const w = writer();
      let kept = false;
      for (let i = 0; i < 2000 && !kept; i++) kept = writeDirect(server, directHandle(server)!, Buffer.alloc(64 * 1024), w);
      expect(kept).toBe(true);
      const closed = once(server, "close");
      server.destroy();
      await closed;
      for (let i = 0; i < 50 && w.directPending > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(w.directPending).toBe(0);
      expect(w.drained).toBe(1);
    }));
});
