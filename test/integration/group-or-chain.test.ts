// A node is in an active-active group or in a primary/replica chain, not both (README
// "Primary/replica replication"; src/replication/active-active.ts peersRefuse). With
// both, a replica would send its primary's stream to its group as its own writes and take the
// group's writes beside its primary's. A replica *of* a group member is supported: it follows
// that member's stream, the peers' writes included.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient, runExpectingExit, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

describe("active-active group or primary/replica chain", () => {
  const servers: RunningServer[] = [];
  let a: Redis, b: Redis, r: Redis;
  let busA = 0, busB = 0;

  beforeAll(async () => {
    [busA, busB] = [await freePort(), await freePort()];
    servers.push(await startServer(["--crdt-node-id", "a", "--crdt-bus-port", String(busA), "--peer", `127.0.0.1:${busB}`]));
    servers.push(await startServer(["--crdt-node-id", "b", "--crdt-bus-port", String(busB), "--peer", `127.0.0.1:${busA}`]));
    servers.push(await startServer());
    [a, b, r] = await Promise.all(servers.map((s) => connectClient(s.port)));
  });

  afterAll(async () => {
    for (const c of [a, b, r]) c?.disconnect();
    for (const s of servers) await s.stop();
  });

  it("a group member refuses REPLICAOF and FAILOVER, and stays a master", async () => {
    await expect(a.call("REPLICAOF", "127.0.0.1", String(servers[2].port))).rejects.toThrow(
      /^ERR REPLICAOF is not allowed on a node with active-active peers/);
    await expect(a.call("FAILOVER")).rejects.toThrow(/^ERR FAILOVER is not allowed on a node with active-active peers/);
    expect(await a.info("replication")).toMatch(/role:master/);
    expect(await a.call("REPLICAOF", "NO", "ONE")).toBe("OK");
  });

  it("a replica of a group member follows the group's writes, and refuses CRDT.PEER ADD", async () => {
    expect(await r.call("REPLICAOF", "127.0.0.1", String(servers[0].port))).toBe("OK");
    await until("replica linked", async () => /master_link_status:up/.test(await r.info("replication")));
    await b.set("from-b", "1"); // a peer's write reaches the replica through a's stream
    await until("peer write replicated", async () => (await r.get("from-b")) === "1");
    await expect(r.call("CRDT.PEER", "ADD", "127.0.0.1", String(busB))).rejects.toThrow(
      /^ERR CRDT\.PEER ADD is not allowed on a replica/);
    expect(await r.call("CRDT.PEERS")).toEqual([]);
    expect(await r.call("REPLICAOF", "NO", "ONE")).toBe("OK");
  });

  it("with its peers removed, a former member may become a replica", async () => {
    expect(await a.call("CRDT.PEER", "DEL", "127.0.0.1", String(busB))).toBe(1);
    expect(await a.call("REPLICAOF", "127.0.0.1", String(servers[2].port))).toBe("OK");
    expect(await a.call("REPLICAOF", "NO", "ONE")).toBe("OK");
  });

  it("a configuration naming both replicaof and a peer does not start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-group-chain-"));
    try {
      const { code, out } = await runExpectingExit(dir, ["--replicaof", "127.0.0.1", String(servers[2].port), "--peer", `127.0.0.1:${busA}`, "--crdt-bus-port", String(await freePort())]);
      expect(code).toBe(1);
      expect(out).toMatch(/Both replicaof and active-active peers \(peer\) are configured/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
