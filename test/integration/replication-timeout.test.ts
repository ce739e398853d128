// Redis's replicationCron on both sides of a link: repl-timeout drops a master that went silent
// (connecting, in the handshake, during the RDB, while streaming) and a replica that stopped
// acknowledging; repl-backlog-ttl frees the backlog of a master left without replicas (and
// starts a new history). INFO master_sync_* shows a transfer's progress on the replica.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { createServer, connect, type Server as NetServer, type Socket } from "node:net";
import { serverGroup } from "../helpers/server.js";
import { until, infoField as field } from "../helpers/wait.js";
import { takeCommand } from "../helpers/resp-commands.js";

/** A "master" that answers the handshake, says +FULLRESYNC and an EOF-marked payload header, then goes silent. */
function silentMaster(): Promise<{ net: NetServer; port: number; connections: () => number; close: () => void }> {
  let n = 0;
  const socks: Socket[] = [];
  const net = createServer((s) => {
    n++;
    socks.push(s);
    let buf = "";
    s.on("data", (d) => {
      buf += d.toString("latin1");
      for (let c = takeCommand(buf); c !== null; c = takeCommand(buf)) {
        buf = c.rest;
        const argv = c.argv;
        const cmd = argv[0].toUpperCase();
        if (cmd === "PING") s.write("+PONG\r\n");
        else if (cmd === "REPLCONF") s.write("+OK\r\n");
        else if (cmd === "PSYNC") s.write(`+FULLRESYNC ${"a".repeat(40)} 0\r\n$EOF:${"b".repeat(40)}\r\nREDIS0009`);
      }
    });
    s.on("error", () => {});
  });
  return new Promise((resolve) => net.listen(0, "127.0.0.1", () => resolve({
    net, port: (net.address() as { port: number }).port, connections: () => n,
    close: () => { for (const s of socks) s.destroy(); net.close(); },
  })));
}

describe("repl-timeout, repl-backlog-ttl, master_sync_*", { timeout: 90_000 }, () => {
  const servers = serverGroup(["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"]);
  afterAll(() => servers.stopAll());

  it("a replica drops a master that goes silent during the RDB transfer, and reconnects", async () => {
    const fake = await silentMaster();
    try {
      const { srv, r } = await servers.start(["--repl-timeout", "1"]);
      await r.replicaof("127.0.0.1", String(fake.port));
      await until("the transfer starts", async () => (await field(r, "master_sync_in_progress")) === "1");
      expect(await field(r, "master_sync_total_bytes")).toBe("0"); // EOF-marked: size unknown
      expect(Number(await field(r, "master_sync_read_bytes"))).toBeGreaterThan(0);
      await until("a second connection", () => fake.connections() >= 2, 10_000);
      expect(srv.output()).toContain("Timeout receiving bulk data from MASTER");
    } finally {
      fake.close();
    }
  });

  it("master_link_down_since_seconds is -1 until a master link was up, then counts from its drop", async () => {
    const { srv: msrv, r: m } = await servers.start();
    const { r } = await servers.start();
    await r.replicaof("127.0.0.1", "1"); // nothing listens there: never up
    await until("the link is tried", async () => (await field(r, "master_link_status")) === "down");
    expect(await field(r, "master_link_down_since_seconds")).toBe("-1");
    // A never-up link keeps -1 across REPLICAOF to another master, until that one is up.
    await r.replicaof("127.0.0.1", String(msrv.port));
    await until("linked", async () => (await field(r, "master_link_status")) === "up");
    await m.set("k", "v");
    m.disconnect();
    await msrv.stop();
    await until("the link drops", async () => (await field(r, "master_link_status")) === "down");
    const since = Number(await field(r, "master_link_down_since_seconds"));
    expect(since).toBeGreaterThanOrEqual(0);
    expect(since).toBeLessThan(30);
  });

  it("a master drops a replica that stopped acknowledging", async () => {
    const { srv, r: m } = await servers.start(["--repl-timeout", "1", "--repl-diskless-sync", "no"]);
    const sock = connect(srv.port, "127.0.0.1");
    let got = "";
    sock.on("data", (d) => (got += d.toString("latin1")));
    let closed = false;
    sock.on("close", () => (closed = true));
    sock.on("error", () => {});
    sock.write("*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
    await until("the RDB arrives", () => got.includes("REDIS"));
    await until("online", async () => (await m.info("replication")).includes("state=online"));
    await until("dropped", () => closed, 10_000); // no REPLCONF ACK for over a second
    expect(srv.output()).toContain("Disconnecting timedout replica (streaming sync)");
    expect(await field(m, "connected_slaves")).toBe("0");
  });

  it("a master keeps a diskless replica that sends only newlines while it loads, and drops it once they stop", async () => {
    const { srv, r: m } = await servers.start(["--repl-timeout", "1", "--repl-diskless-sync", "yes"]);
    const sock = connect(srv.port, "127.0.0.1");
    let got = "";
    sock.on("data", (d) => (got += d.toString("latin1")));
    let closed = false;
    sock.on("close", () => (closed = true));
    sock.on("error", () => {});
    // capa eof: the RDB is streamed, and the stream is held until the first REPLCONF ACK.
    sock.write("*5\r\n$8\r\nREPLCONF\r\n$4\r\ncapa\r\n$3\r\neof\r\n$4\r\ncapa\r\n$6\r\npsync2\r\n");
    sock.write("*3\r\n$5\r\nPSYNC\r\n$1\r\n?\r\n$2\r\n-1\r\n");
    await until("the RDB arrives", () => got.includes("$EOF:"));
    // "Still loading": a newline every 300 ms, as Redis's replica sends while it loads.
    const alive = setInterval(() => sock.write("\n"), 300);
    try {
      await new Promise((r) => setTimeout(r, 3500));
      expect(closed).toBe(false);
      expect(await field(m, "connected_slaves")).toBe("1");
    } finally {
      clearInterval(alive);
    }
    await until("dropped once the newlines stop", () => closed, 10_000);
    expect(srv.output()).toContain("Disconnecting timedout replica (streaming sync)");
  });

  it("a replica that acknowledges stays connected past repl-timeout", async () => {
    const { r: m } = await servers.start(["--repl-timeout", "1"]);
    // The replica keeps the default repl-timeout: with 1 it would drop its master between the
    // master's PINGs (every repl-ping-replica-period, 10 s), as redis-server does.
    const { r: s } = await servers.start();
    await s.replicaof("127.0.0.1", String((m.options.port)));
    await until("link up", async () => (await field(s, "master_link_status")) === "up");
    await new Promise((r) => setTimeout(r, 3000));
    expect(await field(s, "master_link_status")).toBe("up");
    expect(await field(m, "connected_slaves")).toBe("1");
    expect(await field(m, "sync_full")).toBe("1");
  });

  it("repl-backlog-ttl frees the backlog of a master without replicas and starts a new replid", async () => {
    const { r: m } = await servers.start(["--repl-backlog-ttl", "1"]);
    const { r: s } = await servers.start();
    await s.replicaof("127.0.0.1", String(m.options.port));
    await until("link up", async () => (await field(s, "master_link_status")) === "up");
    const id = await field(m, "master_replid");
    expect(await field(m, "repl_backlog_active")).toBe("1");
    await s.replicaof("no", "one");
    await until("the backlog is freed", async () => (await field(m, "repl_backlog_active")) === "0", 10_000);
    expect(await field(m, "master_replid")).not.toBe(id);
    expect(await field(m, "master_replid2")).toBe("0000000000000000000000000000000000000000");
  });
});
