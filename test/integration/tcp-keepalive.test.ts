// tcp-keepalive on accepted connections, as the kernel shows it: /proc/net/tcp lists each
// socket's pending timer (type 2 is the keepalive timer, armed only with SO_KEEPALIVE) and
// its expiry in clock ticks. The options are set on the listening socket and inherited by
// what it accepts (src/server/socket-options.ts); CONFIG SET must reach new connections.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { readFileSync } from "node:fs";
import net from "node:net";
import { execFileSync } from "node:child_process";
import { startServer, rawExchange, type RunningServer } from "../helpers/server.js";

const linux = process.platform === "linux";
let srv: RunningServer;

beforeAll(async () => { srv = await startServer(); });
afterAll(async () => { await srv?.stop(); });

const TICKS = Number(linux ? execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim() : "100");

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(srv.port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/**
 * The server side of the connection whose client end is `client`: its timer type and seconds
 * left. Until the client's kernel acknowledges the server's reply (a delayed ACK: up to 40 ms
 * on Linux) the pending timer is the retransmit timer (type 1), which hides the keepalive
 * timer: the look is repeated until it is gone (full test run, 2026-11-29: type 1 seen once).
 */
async function serverTimer(client: net.Socket): Promise<{ type: number; seconds: number }> {
  // The server has accepted it once it answered.
  client.write("PING\r\n");
  await new Promise<void>((r) => client.once("data", () => r()));
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");
  const local = `:${hex(srv.port)}`, remote = `:${hex(client.localPort!)}`;
  for (const deadline = Date.now() + 10_000; ;) {
    let found: { type: number; seconds: number } | undefined;
    for (const line of readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 6 || !f[1].endsWith(local) || !f[2].endsWith(remote)) continue;
      const [type, when] = f[5].split(":");
      found = { type: parseInt(type, 16), seconds: parseInt(when, 16) / TICKS };
      break;
    }
    if (!found) throw new Error("server side of the connection not found in /proc/net/tcp");
    if (found.type !== 1 || Date.now() > deadline) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const set = async (v: number) =>
  expect((await rawExchange(srv.port, `CONFIG SET tcp-keepalive ${v}\r\n`, { until: (s) => s.endsWith("\r\n") })).text).toBe("+OK\r\n");

describe.skipIf(!linux)("tcp-keepalive on accepted connections", () => {
  it("every connection gets keepalive as tcp-keepalive says, also after CONFIG SET (new connections)", async () => {
    const socks: net.Socket[] = [];
    const timerOfNew = async () => { const s = await connect(); socks.push(s); return serverTimer(s); };
    try {
      // The default 300: the first connection of the listener and the ones after it.
      for (let i = 0; i < 3; i++) {
        const t = await timerOfNew();
        expect(t.type).toBe(2);
        expect(t.seconds).toBeGreaterThan(250);
        expect(t.seconds).toBeLessThanOrEqual(300);
      }
      await set(0);
      for (let i = 0; i < 2; i++) expect((await timerOfNew()).type).toBe(0);
      // A connection made before the change keeps what it had, as in Redis.
      expect((await serverTimer(socks[0])).type).toBe(2);
      await set(100);
      for (let i = 0; i < 2; i++) {
        const t = await timerOfNew();
        expect(t.type).toBe(2);
        expect(t.seconds).toBeGreaterThan(50);
        expect(t.seconds).toBeLessThanOrEqual(100);
      }
    } finally {
      for (const s of socks) s.destroy();
      await set(300);
    }
  });
});
