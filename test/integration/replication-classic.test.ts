// Redis's own primary/replica replication, proven against Debian's redis-server 7.0.15 in
// both directions and between two LatticeKV servers: full resync (RDB), the command stream
// (SELECT, TTLs, scripts as MULTI/EXEC), WAIT, ROLE, INFO replication, -READONLY, partial
// resync (+CONTINUE) after the link drops, and REPLICAOF NO ONE keeping the old history as
// replid2 (PSYNC2).
import { describe, it, expect, afterAll } from "vitest";
import Redis from "ioredis";
import { startServer, connectClient, type RunningServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { until } from "../helpers/wait.js";

const inCI = process.env.CI === "true" || process.env.CI === "1";
if (!hasRealRedis && inCI) throw new Error("replication test: redis-server not found; CI installs it");

const linkUp = (r: Redis) => async () => /master_link_status:up/.test(await r.info("replication"));

async function fill(r: Redis): Promise<void> {
  await r.set("s", "v");
  await r.set("ttl", "v", "EX", 1000);
  await r.rpush("l", "a", "b");
  await r.sadd("st", "x", "y");
  await r.zadd("z", 1, "a", 2.5, "b");
  await r.hset("h", "f", "v");
  await r.incr("n");
}

async function check(r: Redis, extra: Record<string, string> = {}): Promise<void> {
  expect(await r.get("s")).toBe("v");
  expect(await r.ttl("ttl")).toBeGreaterThan(900);
  expect(await r.lrange("l", 0, -1)).toEqual(["a", "b"]);
  expect((await r.smembers("st")).sort()).toEqual(["x", "y"]);
  expect(await r.zrange("z", 0, -1, "WITHSCORES")).toEqual(["a", "1", "b", "2.5"]);
  expect(await r.hgetall("h")).toEqual({ f: "v" });
  expect(await r.get("n")).toBe("1");
  for (const [k, v] of Object.entries(extra)) expect(await r.get(k)).toBe(v);
}

describe.skipIf(!hasRealRedis)("primary/replica replication", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const f of cleanup.reverse()) await f(); });

  /** A LatticeKV primary and a LatticeKV replica of it, a RESP2 client on each, the link up. */
  async function latticePair(): Promise<{ primary: RunningServer; replica: RunningServer; p: Redis; r: Redis }> {
    const primary = await startServer(["--repl-diskless-sync-delay", "0"]);
    cleanup.push(() => primary.stop());
    const replica = await startServer(["--replicaof", "127.0.0.1", String(primary.port)]);
    cleanup.push(() => replica.stop());
    const p = await connectClient(primary.port, { protocol: 2 } as never);
    const r = await connectClient(replica.port, { protocol: 2 } as never);
    cleanup.push(async () => { p.disconnect(); r.disconnect(); });
    await until("the link", linkUp(r));
    return { primary, replica, p, r };
  }

  it("a real Redis replica of a LatticeKV primary gets the data, the stream, WAIT and a partial resync", async () => {
    const primary: RunningServer = await startServer();
    cleanup.push(() => primary.stop());
    const p = await connectClient(primary.port, { protocol: 2 } as never);
    cleanup.push(async () => p.disconnect());
    await fill(p);
    const real = await startRealRedis(["--replicaof", "127.0.0.1", String(primary.port)]);
    cleanup.push(() => real.stop());
    const r = await connectClient(real.port, { protocol: 2 } as never);
    cleanup.push(async () => r.disconnect());
    await until("the replica's link", linkUp(r));
    await check(r);
    // The stream: a write in another db, a script (MULTI/EXEC), and WAIT for the replica.
    await p.select(5);
    await p.set("in5", "x");
    await p.select(0);
    await p.eval("redis.call('set', 'e1', '1'); redis.call('set', 'e2', '2')", 0);
    expect(await p.wait(1, 5000)).toBe(1);
    expect(await r.get("e2")).toBe("2");
    await r.select(5);
    expect(await r.get("in5")).toBe("x");
    await r.select(0);
    expect(await p.role()).toEqual(["master", expect.any(Number), [["127.0.0.1", String(real.port), expect.any(String)]]]);
    // Drop the link from the replica's side: it continues from its offset.
    await r.call("client", "kill", "type", "master");
    await p.set("after-drop", "1");
    await until("the value written while the link was down", async () => (await r.get("after-drop")) === "1");
    expect(primary.output()).toMatch(/Partial resynchronization request from .* accepted/);
  }, 60_000);

  it("min-replicas-to-write: writes (and EXEC of a write) get -NOREPLICAS until a replica acks; reads still run", async () => {
    const primary: RunningServer = await startServer(["--min-replicas-to-write", "1", "--min-replicas-max-lag", "10"]);
    cleanup.push(() => primary.stop());
    const p = await connectClient(primary.port, { protocol: 2 } as never);
    cleanup.push(async () => p.disconnect());
    await expect(p.set("k", "1")).rejects.toThrow("NOREPLICAS Not enough good replicas to write.");
    await expect(p.rpush("l", "a")).rejects.toThrow("NOREPLICAS Not enough good replicas to write.");
    expect(await p.get("k")).toBeNull();
    expect(await p.info("replication")).toMatch(/\r\nconnected_slaves:0\r\nmin_slaves_good_slaves:0\r\n/);
    // Queued while the rule was off, aborted at EXEC once it is on.
    await p.config("SET", "min-replicas-to-write", "0");
    await p.call("multi");
    expect(await p.call("incr", "n")).toBe("QUEUED");
    const other = await connectClient(primary.port, { protocol: 2 } as never);
    cleanup.push(async () => other.disconnect());
    await other.config("SET", "min-replicas-to-write", "1");
    await expect(p.call("exec")).rejects.toThrow("EXECABORT Transaction discarded because of: NOREPLICAS Not enough good replicas to write.");
    await expect(p.call("exec")).rejects.toThrow(/EXEC without MULTI/);
    expect(await p.get("n")).toBeNull();
    const real = await startRealRedis(["--replicaof", "127.0.0.1", String(primary.port)]);
    cleanup.push(() => real.stop());
    await until("a write to be accepted once the replica acked", async () => (await p.set("k", "2").catch(() => null)) === "OK");
    expect(await p.incr("n")).toBe(1);
    // INFO as Redis's: the good replicas after connected_slaves, only while the rule is set.
    expect(await p.info("replication")).toMatch(/\r\nconnected_slaves:1\r\nmin_slaves_good_slaves:1\r\nslave0:ip=127\.0\.0\.1,port=\d+,state=online,offset=\d+,lag=\d\r\n/);
    await p.config("SET", "min-replicas-max-lag", "0");
    expect(await p.info("replication")).not.toMatch(/min_slaves_good_slaves/);
  }, 60_000);

  it("a LatticeKV replica of a real Redis primary loads its RDB, applies its stream, refuses writes, resyncs partially and can be promoted", async () => {
    const real = await startRealRedis();
    cleanup.push(() => real.stop());
    const m = await connectClient(real.port, { protocol: 2 } as never);
    cleanup.push(async () => m.disconnect());
    await fill(m);
    const replica: RunningServer = await startServer();
    cleanup.push(() => replica.stop());
    const r = await connectClient(replica.port, { protocol: 2 } as never);
    cleanup.push(async () => r.disconnect());
    expect(await r.call("replicaof", "127.0.0.1", String(real.port))).toBe("OK");
    await until("the link", linkUp(r));
    await until("the RDB", async () => (await r.get("s")) === "v");
    await check(r);
    await m.eval("redis.call('set', 'e1', '1'); redis.call('incr', 'n')", 0);
    expect(await m.wait(1, 5000)).toBe(1);
    expect(await r.get("n")).toBe("2");
    await expect(r.set("mine", "1")).rejects.toThrow("READONLY You can't write against a read only replica.");
    expect(await r.role()).toEqual(["slave", "127.0.0.1", real.port, "connected", expect.any(Number)]);
    await m.call("client", "kill", "type", "replica");
    await m.set("after-drop", "1");
    await until("the value written while the link was down", async () => (await r.get("after-drop")) === "1");
    const masterId = /master_replid:(\w+)/.exec(await r.info("replication"))![1];
    expect(await r.call("replicaof", "no", "one")).toBe("OK");
    const info = await r.info("replication");
    expect(info).toContain("role:master");
    expect(info).toContain(`master_replid2:${masterId}`);
    expect(await r.set("mine", "1")).toBe("OK");
  }, 60_000);

  it("LatticeKV replicates to LatticeKV, and REPLICAOF answers Redis's errors", async () => {
    const { primary, replica, p, r } = await latticePair();
    await fill(p);
    expect(await p.wait(1, 5000)).toBe(1);
    await check(r);
    await expect(r.call("replicaof", "127.0.0.1", "99999")).rejects.toThrow("Invalid master port");
    expect(await r.call("replicaof", "127.0.0.1", String(primary.port))).toBe("OK Already connected to specified master");
    await expect(r.wait(1, 10)).rejects.toThrow(/^ERR WAIT cannot be used with replica instances/);
    // PUBLISH on the primary reaches the replica's subscribers through the stream.
    const sub = await connectClient(replica.port, { protocol: 2 } as never);
    cleanup.push(async () => sub.disconnect());
    const got = new Promise<string>((res) => sub.on("message", (_ch: string, m: string) => res(m)));
    await sub.subscribe("news");
    expect(await p.publish("news", "hello replicas")).toBe(0);
    expect(await got).toBe("hello replicas");
  }, 60_000);

  it("CLIENT LIST shows the replica (S, type slave) and the master (M, type master); CLIENT KILL TYPE drops either link and it continues partially", async () => {
    const { primary, p, r } = await latticePair();
    const replicas = String(await p.call("client", "list", "type", "replica")).trim().split("\n");
    expect(replicas).toHaveLength(1);
    expect(replicas[0]).toMatch(/ flags=S /);
    const masters = String(await r.call("client", "list", "type", "master")).trim().split("\n");
    expect(masters).toHaveLength(1);
    expect(masters[0]).toMatch(/ flags=M /);

    // The primary drops its replica: the replica reconnects and continues from the backlog.
    expect(await p.call("client", "kill", "type", "replica")).toBe(1);
    await p.set("after-replica-kill", "1");
    await until("the write after the replica was dropped", async () => (await r.get("after-replica-kill")) === "1");
    expect(primary.output()).toMatch(/Partial resynchronization request from .* accepted/);

    // The replica drops its master: same, from its side.
    expect(await r.call("client", "kill", "type", "master")).toBe(1);
    await p.set("after-master-kill", "1");
    await until("the write after the master was dropped", async () => (await r.get("after-master-kill")) === "1");
    expect(String(await r.call("client", "list", "type", "master")).trim().split("\n")).toHaveLength(1);
    expect(primary.output().match(/Partial resynchronization request from .* accepted/g)!.length).toBeGreaterThanOrEqual(2);
  }, 60_000);
});
