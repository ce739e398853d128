// Two real processes, A configured by a redis.conf file (issue #7: "peers from configuration",
// README "Active-active replication": `peer`, `crdt-node-id`, `crdt-bus-port` directives), B by
// flags. The same pair then shows INFO crdt's per-peer line (backlog, lag_ms, acked,
// last_anti_entropy_s) while B is frozen (SIGSTOP) and after it resumes, and an expiry on A
// racing a longer TTL set on B while the two are cut off (README "TTLs": the key that expired
// on one node is deleted there like a DEL, and the DEL wins over the TTL it did not see).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated } from "../helpers/crdt-wait.js";

/** INFO crdt's line `peer0:...` as a map of its fields. */
async function peerLine(r: Redis): Promise<Record<string, string>> {
  const line = /^peer0:(.*?)\r?$/m.exec(await r.info("crdt"))?.[1] ?? "";
  return Object.fromEntries(line.split(",").filter(Boolean).map((f) => f.split("=") as [string, string]));
}

describe("active-active: peers from redis.conf, INFO's per-peer line, an expiry racing a longer TTL (2 processes)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const bus: number[] = [];
  const dirA = mkdtempSync(join(tmpdir(), "lkv-aa-conf-"));
  let frozen = false;

  beforeAll(async () => {
    bus.push(await freePort(), await freePort());
    const conf = join(dirA, "redis.conf");
    writeFileSync(conf, `crdt-node-id confnode\ncrdt-bus-port ${bus[0]}\npeer 127.0.0.1:${bus[1]}\n`);
    servers.push(await startServer([], {}, { port: await freePort(), dir: dirA, configFile: conf }));
    servers.push(await startServer(["--crdt-node-id", "flagnode", "--crdt-bus-port", String(bus[1]), "--peer", `127.0.0.1:${bus[0]}`]));
    for (const s of servers) clients.push(await connectClient(s.port));
  });
  afterAll(async () => {
    if (frozen) process.kill(servers[1].proc.pid!, "SIGCONT");
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
    rmSync(dirA, { recursive: true, force: true });
  });

  it("a node configured by its redis.conf file takes its name and its peer from it and replicates both ways", async () => {
    const [a, b] = clients;
    expect(await a.info("crdt")).toMatch(/^crdt_node_id:confnode~/m);
    const peers = await a.call("crdt.peers") as unknown[][];
    expect(peers.map((p) => String(p[1]))).toEqual([`127.0.0.1:${bus[1]}`]);
    await a.set("from-a", "1");
    await b.set("from-b", "1");
    await untilReplicated("both writes on both nodes", clients, async () =>
      (await a.get("from-b")) === "1" && (await b.get("from-a")) === "1");
    expect(String(((await b.call("crdt.peers")) as unknown[][])[0][3])).toMatch(/^confnode~/);
  });

  it("INFO crdt's per-peer line: backlog and lag_ms while the peer is frozen, none once it is back; acked and last_anti_entropy_s", async () => {
    const [a] = clients;
    // (and the earlier test's batches acknowledged)
    await untilReplicated("a first anti-entropy round with B, nothing unacknowledged", clients, async () => {
      const p = await peerLine(a);
      return Number(p.last_anti_entropy_s) >= 0 && p.backlog === "0";
    });
    const before = await peerLine(a);
    expect(before).toMatchObject({ addr: `127.0.0.1:${bus[1]}`, link: "up", backlog: "0", lag_ms: "0", expired: "0" });
    expect(before.id).toMatch(/^flagnode~/);
    expect(Number(before.last_anti_entropy_s)).toBeLessThan(60);
    process.kill(servers[1].proc.pid!, "SIGSTOP");
    frozen = true;
    for (let i = 0; i < 5; i++) await a.set(`while-frozen:${i}`, "1"); // (one batch per command: 5 batches)
    // the batches wait for B's acks: the oldest one's age grows
    let during = await peerLine(a);
    while (Number(during.lag_ms) < 200) { await new Promise((r) => setTimeout(r, 50)); during = await peerLine(a); }
    expect(Number(during.backlog)).toBeGreaterThanOrEqual(5);
    process.kill(servers[1].proc.pid!, "SIGCONT");
    frozen = false;
    await untilReplicated("A's backlog for B acknowledged", clients, async () => (await peerLine(a)).backlog === "0");
    const after = await peerLine(a);
    expect(after.lag_ms).toBe("0");
    expect(Number(after.acked)).toBeGreaterThanOrEqual(Number(before.acked) + 5);
    expect(await clients[1].exists(...Array.from({ length: 5 }, (_, i) => `while-frozen:${i}`))).toBe(5);
  });

  it("a key that expires on A while B, cut off, gives it a longer TTL is gone on both once they exchange again", async () => {
    const [a, b] = clients;
    await a.set("e", "v");
    await untilReplicated("e on B", clients, async () => (await b.get("e")) === "v");
    const keysA = await a.dbsize();
    expect(await a.call("crdt.peer", "del", "127.0.0.1", String(bus[1]))).toBe(1);
    expect(await b.call("crdt.peer", "del", "127.0.0.1", String(bus[0]))).toBe(1);
    // concurrent TTLs: 300 ms on A, 100 s on B
    expect(await a.pexpire("e", 300)).toBe(1);
    expect(await b.pexpire("e", 100_000)).toBe(1);
    // e expires on A and the active expire cycle deletes it (DBSIZE counts it until then)
    await untilReplicated("e expired and deleted on A", clients, async () => (await a.dbsize()) === keysA - 1);
    expect(await b.pttl("e")).toBeGreaterThan(1000);
    expect(await a.call("crdt.peer", "add", "127.0.0.1", String(bus[1]))).toBe("OK");
    expect(await b.call("crdt.peer", "add", "127.0.0.1", String(bus[0]))).toBe("OK");
    await untilReplicated("e gone on B", clients, async () => (await b.exists("e")) === 0);
    await a.set("after-e", "1");
    await untilReplicated("A's next write on B", clients, async () => (await b.get("after-e")) === "1");
    expect(await a.exists("e")).toBe(0);
    expect(await b.exists("e")).toBe(0);
  });
});
