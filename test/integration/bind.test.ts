// The bind directive at start-up and through CONFIG SET (src/server/listeners.ts, bind.ts):
// one listening socket per address, "-" for an address the machine may lack, rebinding at
// run time with connected clients kept, and Redis's rollback when an address cannot be bound.
import { describe, it, expect } from "vitest";
import net from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type Redis from "ioredis";
import { useServer, startServer, connectClient, freePort, runExpectingExit } from "../helpers/server.js";

/** PING over a fresh connection to host:port: "+PONG", or "refused". */
function ping(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let text = "";
    const done = (v: string) => { s.destroy(); resolve(v); };
    s.setTimeout(3000, () => done("timeout"));
    s.on("connect", () => s.write("PING\r\n"));
    s.on("data", (d) => { text += d; if (text.endsWith("\r\n")) done(text.trim()); });
    s.on("error", () => done("refused"));
  });
}

describe("bind", () => {
  let port: number;
  let r: Redis;
  useServer((s, c) => { port = s.port; r = c; });

  it("CONFIG SET bind listens on every new address and stops listening on the old ones; connected clients stay", async () => {
    expect(await r.config("SET", "bind", "127.0.0.2 127.0.0.3")).toBe("OK");
    expect(await ping("127.0.0.2", port)).toBe("+PONG");
    expect(await ping("127.0.0.3", port)).toBe("+PONG");
    expect(await ping("127.0.0.1", port)).toBe("refused");
    expect(await r.ping()).toBe("PONG"); // this client connected over 127.0.0.1
    expect(await r.config("GET", "bind")).toEqual(["bind", "127.0.0.2 127.0.0.3"]);
    expect(await r.config("SET", "bind", "127.0.0.1")).toBe("OK");
    expect(await ping("127.0.0.1", port)).toBe("+PONG");
    expect(await ping("127.0.0.2", port)).toBe("refused");
  });

  it("an address that cannot be bound fails CONFIG SET, and the server keeps listening where it did", async () => {
    await expect(r.config("SET", "bind", "127.0.0.2 999.999.999.999")).rejects.toThrow(
      "ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.");
    expect(await r.config("GET", "bind")).toEqual(["bind", "127.0.0.1"]);
    expect(await ping("127.0.0.1", port)).toBe("+PONG");
    expect(await ping("127.0.0.2", port)).toBe("refused");
  });

  it("a '-' address the machine does not have is skipped; without '-' it fails", async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface here: EADDRNOTAVAIL.
    expect(await r.config("SET", "bind", "127.0.0.1 -192.0.2.1")).toBe("OK");
    expect(await ping("127.0.0.1", port)).toBe("+PONG");
    await expect(r.config("SET", "bind", "127.0.0.1 192.0.2.1")).rejects.toThrow("Failed to bind to specified addresses.");
    expect(await r.config("GET", "bind")).toEqual(["bind", "127.0.0.1 -192.0.2.1"]);
    expect(await ping("127.0.0.1", port)).toBe("+PONG");
  });

  it("an empty bind listens nowhere until bind is set again", async () => {
    expect(await r.config("SET", "bind", "")).toBe("OK");
    expect(await ping("127.0.0.1", port)).toBe("refused");
    expect(await r.config("SET", "bind", "*")).toBe("OK");
    expect(await ping("127.0.0.1", port)).toBe("+PONG");
    expect(await ping("127.0.0.5", port)).toBe("+PONG");
  });

  it("CONFIG SET port listens on every bind address", async () => {
    const s = await startServer(["--bind", "127.0.0.1 127.0.0.2"]);
    try {
      const c = await connectClient(s.port);
      const moved = await freePort();
      expect(await c.config("SET", "port", String(moved))).toBe("OK");
      expect(await ping("127.0.0.1", moved)).toBe("+PONG");
      expect(await ping("127.0.0.2", moved)).toBe("+PONG");
      expect(await ping("127.0.0.2", s.port)).toBe("refused");
      c.disconnect();
    } finally {
      await s.stop();
    }
  });

  it("bind-source-addr is the address a replica connects to its master from, when this machine has it", async () => {
    const replica = await startServer([]);
    try {
      const c = await connectClient(replica.port);
      expect(await c.config("SET", "bind-source-addr", "127.0.0.2")).toBe("OK");
      expect(await c.replicaof("127.0.0.1", String(port))).toBe("OK");
      const deadline = Date.now() + 15_000;
      let info = "";
      while (Date.now() < deadline && !/slave0:ip=127\.0\.0\.2,/.test(info)) {
        info = await r.info("replication");
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(info).toMatch(/slave0:ip=127\.0\.0\.2,/);
      // An address this machine does not have: Redis connects from no particular address
      // instead (best effort), so the replica still links up, from 127.0.0.1.
      expect(await c.replicaof("NO", "ONE")).toBe("OK");
      expect(await c.config("SET", "bind-source-addr", "203.0.113.77")).toBe("OK");
      expect(await c.replicaof("127.0.0.1", String(port))).toBe("OK");
      while (Date.now() < deadline + 15_000 && !/slave0:ip=127\.0\.0\.1,/.test(info)) {
        info = await r.info("replication");
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(info).toMatch(/slave0:ip=127\.0\.0\.1,/);
      c.disconnect();
    } finally {
      await replica.stop();
    }
  });
});

describe("the cluster bus's listeners", () => {
  it("a cluster node needs a bind address for its bus, and exits when the bus port is taken (Redis's lines)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-bus-bind-"));
    const busy = net.createServer();
    try {
      // With the unix socket the server would otherwise have somewhere to listen.
      const noBind = await runExpectingExit(dir, ["--cluster-enabled", "yes", "--unixsocket", join(dir, "s.sock"), "--bind", ""]);
      expect(noBind.code).toBe(1);
      expect(noBind.out).toContain("No bind address is configured, but it is required for the Cluster bus.");
      const cport = await freePort();
      await new Promise<void>((r) => busy.listen(cport, "127.0.0.1", () => r()));
      const taken = await runExpectingExit(dir, ["--cluster-enabled", "yes", "--cluster-port", String(cport)]);
      expect(taken.code).toBe(1);
      expect(taken.out).toContain(`Could not create server TCP listening socket 127.0.0.1:${cport}: bind: Address already in use`);
      expect(taken.out).toContain(`Failed listening on port ${cport} (cluster), aborting.`);
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
