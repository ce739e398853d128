// Diskless full sync (repl-diskless-sync: the RDB streamed as "$EOF:<40 bytes>" ... <the
// same 40 bytes>, replicas announcing "capa eof"), in both directions with Debian's
// redis-server 7.0.15 and between LatticeKV servers; and the replica class of
// client-output-buffer-limit: a replica that falls too far behind is disconnected and
// comes back with a resync.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, connectClient } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { until } from "../helpers/wait.js";

const inCI = process.env.CI === "true" || process.env.CI === "1";
if (!hasRealRedis && inCI) throw new Error("replication test: redis-server not found; CI installs it");

const linkUp = (r: Redis) => async () => /master_link_status:up/.test(await r.info("replication"));

async function fill(r: Redis, prefix: string): Promise<void> {
  await r.set(`${prefix}s`, "v");
  await r.set(`${prefix}ttl`, "v", "EX", 1000);
  await r.rpush(`${prefix}l`, "a", "b");
  await r.sadd(`${prefix}st`, "x", "y");
  await r.zadd(`${prefix}z`, 1, "a", 2.5, "b");
  await r.hset(`${prefix}h`, "f", "v");
}

async function check(r: Redis, prefix: string): Promise<void> {
  expect(await r.get(`${prefix}s`)).toBe("v");
  expect(await r.ttl(`${prefix}ttl`)).toBeGreaterThan(900);
  expect(await r.lrange(`${prefix}l`, 0, -1)).toEqual(["a", "b"]);
  expect((await r.smembers(`${prefix}st`)).sort()).toEqual(["x", "y"]);
  expect(await r.zrange(`${prefix}z`, 0, -1, "WITHSCORES")).toEqual(["a", "1", "b", "2.5"]);
  expect(await r.hgetall(`${prefix}h`)).toEqual({ f: "v" });
}

describe.skipIf(!hasRealRedis)("diskless replication and the replica output buffer limit", { timeout: 90_000 }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const f of cleanup.reverse()) await f(); });

  /** A LatticeKV primary started with args, a LatticeKV replica of it, a client on each, the link up. */
  async function replicatedPair(args: string[]) {
    const primary = await startServer(args);
    cleanup.push(() => primary.stop());
    const m = await connectClient(primary.port);
    cleanup.push(async () => m.disconnect());
    const replica = await startServer();
    cleanup.push(() => replica.stop());
    const s = await connectClient(replica.port);
    cleanup.push(async () => s.disconnect());
    await s.replicaof("127.0.0.1", String(primary.port));
    await until("link up", linkUp(s));
    return { primary, replica, m, s };
  }

  it("a LatticeKV primary streams its RDB (EOF-marked) to real Redis replicas, whatever their repl-diskless-load", async () => {
    const primary = await startServer(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]);
    cleanup.push(() => primary.stop());
    const m = await connectClient(primary.port);
    cleanup.push(async () => m.disconnect());
    await fill(m, "a:");
    for (const load of ["disabled", "swapdb", "on-empty-db"]) {
      const real = await startRealRedis(["--repl-diskless-load", load]);
      cleanup.push(() => real.stop());
      const r = await connectClient(real.port);
      cleanup.push(async () => r.disconnect());
      await r.replicaof("127.0.0.1", String(primary.port));
      await until(`real replica (${load}) link up`, linkUp(r));
      await check(r, "a:");
      // The stream, held until the replica's first ACK, follows.
      await m.set(`after-${load}`, "1");
      await until("stream after the transfer", async () => (await r.get(`after-${load}`)) === "1");
      expect(real.output()).toMatch(/receiving streamed RDB from master with EOF/);
      await r.replicaof("NO", "ONE");
    }
    expect(primary.output()).toMatch(/Streamed RDB transfer with replica .* succeeded \(socket\)/);
    expect(primary.output()).toMatch(/Starting BGSAVE for SYNC with target: replicas sockets/);
  });

  it("a LatticeKV replica announces capa eof and loads a real Redis primary's diskless transfer", async () => {
    const real = await startRealRedis(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]);
    cleanup.push(() => real.stop());
    const r = await connectClient(real.port);
    cleanup.push(async () => r.disconnect());
    await fill(r, "b:");
    // Enough data that the payload spans many reads.
    const big = "x".repeat(1000);
    for (let i = 0; i < 2000; i += 100) {
      const args: string[] = [];
      for (let j = i; j < i + 100; j++) args.push(`big:${j}`, big);
      await r.mset(...args);
    }
    const replica = await startServer();
    cleanup.push(() => replica.stop());
    const s = await connectClient(replica.port);
    cleanup.push(async () => s.disconnect());
    await s.replicaof("127.0.0.1", String(real.port));
    await until("link up", linkUp(s));
    await check(s, "b:");
    expect(await s.dbsize()).toBe(2006);
    expect(await s.get("big:1999")).toBe(big);
    await r.incr("counter");
    await until("stream", async () => (await s.get("counter")) === "1");
    expect(real.output()).toMatch(/Starting BGSAVE for SYNC with target: replicas sockets/);
    expect(replica.output()).toMatch(/receiving streamed RDB from master with EOF/);
  });

  it("replicas arriving within repl-diskless-sync-delay share one transfer", async () => {
    const primary = await startServer(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "3"]); // both arrive within it, even on a busy machine
    cleanup.push(() => primary.stop());
    const m = await connectClient(primary.port);
    cleanup.push(async () => m.disconnect());
    await fill(m, "c:");
    const replicas = await Promise.all([startServer(), startServer()]);
    for (const rs of replicas) cleanup.push(() => rs.stop());
    const clients = await Promise.all(replicas.map((rs) => connectClient(rs.port)));
    for (const c of clients) cleanup.push(async () => c.disconnect());
    await Promise.all(clients.map((c) => c.replicaof("127.0.0.1", String(primary.port))));
    for (const c of clients) await until("link up", linkUp(c));
    for (const c of clients) await check(c, "c:");
    expect(primary.output().match(/Starting BGSAVE for SYNC with target: replicas sockets/g)).toHaveLength(1);
  });

  it("a replica over client-output-buffer-limit replica is disconnected and resyncs", async () => {
    // The soft limit: over 512 KB for more than a second.
    const { primary, replica, m, s } = await replicatedPair(["--client-output-buffer-limit", "replica 0 512kb 1", "--repl-backlog-size", "64mb"]);
    const value = "v".repeat(64 * 1024);
    process.kill(replica.proc.pid!, "SIGSTOP");
    try {
      // A stopped replica reads nothing: its buffer on the primary grows past 1 MB.
      for (let i = 0; i < 100; i++) await m.set(`k${i}`, value);
      await new Promise((r) => setTimeout(r, 2100));
      for (let i = 100; i < 200; i++) await m.set(`k${i}`, value);
      await until("replica dropped", async () => /connected_slaves:0/.test(await m.info("replication")));
    } finally {
      process.kill(replica.proc.pid!, "SIGCONT");
    }
    expect(primary.output()).toMatch(/scheduled to be closed ASAP for overcoming of output buffer limits/);
    // It reconnects, continues from the backlog, and ends up with everything.
    await until("replica back", async () => /connected_slaves:1/.test(await m.info("replication")) && (await s.get("k199")) === value);
    expect(await s.dbsize()).toBe(200);
    expect(primary.output()).toMatch(/Partial resynchronization request from .* accepted/);
  });

  it("a hard limit below repl-backlog-size is raised to it: the replica stays", async () => {
    const { primary, replica, m, s } = await replicatedPair(["--client-output-buffer-limit", "replica 256kb 0 0", "--repl-backlog-size", "32mb"]);
    const value = "v".repeat(64 * 1024);
    process.kill(replica.proc.pid!, "SIGSTOP");
    try {
      for (let i = 0; i < 100; i++) await m.set(`k${i}`, value);
    } finally {
      process.kill(replica.proc.pid!, "SIGCONT");
    }
    await until("replica caught up", async () => (await s.get("k99")) === value);
    expect(primary.output()).not.toMatch(/overcoming of output buffer limits/);
    expect(await m.info("stats")).toMatch(/sync_partial_ok:0/);
  });
});
