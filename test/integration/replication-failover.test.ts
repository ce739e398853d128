// FAILOVER (Redis 7.0's coordinated failover): the master pauses writes until a replica has
// the whole stream, turns into its replica and sends PSYNC ... FAILOVER, which makes the
// replica the master; both continue partially. A target that refuses the PSYNC, or a TIMEOUT
// the replica does not meet, aborts it and the node is a master again.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { serverGroup, connectClient } from "../helpers/server.js";
import { until, infoField as field } from "../helpers/wait.js";

const err = (p: Promise<unknown>) => p.then(() => "no error", (e: Error) => e.message);

describe("FAILOVER", { timeout: 90_000 }, () => {
  const servers = serverGroup(["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"]);
  afterAll(() => servers.stopAll());

  /** A master and two replicas in sync. */
  async function chain() {
    const a = await servers.start();
    const b = await servers.start();
    const c = await servers.start();
    await b.r.replicaof("127.0.0.1", String(a.srv.port));
    await c.r.replicaof("127.0.0.1", String(a.srv.port));
    await until("both replicas online", async () => (await a.r.info("replication")).split("state=online").length === 3);
    return { a, b, c };
  }

  it("refuses what Redis refuses, with Redis's errors", async () => {
    const { srv, r } = await servers.start();
    expect(await err(r.call("failover") as Promise<unknown>)).toBe("ERR FAILOVER requires connected replicas.");
    expect(await err(r.call("failover", "abort") as Promise<unknown>)).toBe("ERR No failover in progress.");
    const { a, b } = await chain();
    expect(await err(a.r.call("failover", "to", "127.0.0.1", "nope") as Promise<unknown>)).toBe("ERR value is not an integer or out of range");
    expect(await err(a.r.call("failover", "to", "invalidhost", String(b.srv.port)) as Promise<unknown>)).toBe("ERR FAILOVER target HOST and PORT is not a replica.");
    expect(await err(a.r.call("failover", "force", "timeout", "100") as Promise<unknown>)).toBe("ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
    expect(await err(a.r.call("failover", "to", "127.0.0.1", String(b.srv.port), "force") as Promise<unknown>)).toBe("ERR FAILOVER with force option requires both a timeout and target HOST and IP.");
    expect(await err(a.r.call("failover", "timeout", "0") as Promise<unknown>)).toBe("ERR FAILOVER timeout must be greater than 0");
    expect(await err(a.r.call("failover", "bogus") as Promise<unknown>)).toBe("ERR syntax error");
    expect(await err(b.r.call("failover") as Promise<unknown>)).toBe("ERR FAILOVER is not valid when server is a replica.");
    expect(await err(b.r.call("psync", "0123456789012345678901234567890123456789", "1", "failover") as Promise<unknown>)).toBe("ERR PSYNC FAILOVER replid must match my replid.");
    expect(await err(r.call("psync", "?", "-1", "failover") as Promise<unknown>)).toBe("ERR PSYNC FAILOVER can't be sent to a master.");
    expect(srv.port).toBeGreaterThan(0);
  });

  it("hands the master role to the named replica; both others continue partially and the data matches", async () => {
    const { a, b, c } = await chain();
    for (let i = 0; i < 100; i++) await a.r.set(`k${i}`, String(i));
    const oldId = await field(a.r, "master_replid");
    expect(await a.r.call("failover", "to", "127.0.0.1", String(b.srv.port))).toBe("OK");
    await until("failover done", async () => (await field(a.r, "master_failover_state")) === "no-failover");
    expect((await a.r.role())[0]).toBe("slave");
    expect((await b.r.role())[0]).toBe("master");
    expect(await field(b.r, "master_replid2")).toBe(oldId);
    expect(await a.r.config("GET", "replicaof")).toEqual(["replicaof", `127.0.0.1 ${b.srv.port}`]);
    await c.r.replicaof("127.0.0.1", String(b.srv.port));
    await until("a and c online at b", async () => (await b.r.info("replication")).split("state=online").length === 3);
    expect(await field(b.r, "sync_partial_ok")).toBe("2");
    expect(await field(b.r, "sync_full")).toBe("0");
    await b.r.set("after", "1");
    await until("the write reaches both", async () => (await a.r.get("after")) === "1" && (await c.r.get("after")) === "1");
    const digest = await b.r.call("debug", "digest");
    expect(await a.r.call("debug", "digest")).toBe(digest);
    expect(await c.r.call("debug", "digest")).toBe(digest);
    expect(await err(a.r.set("x", "1"))).toMatch(/^READONLY/);
  });

  it("REPLICAOF NO ONE: the promoted node's writes made before any replica attaches reach a replica that continues partially", async () => {
    const { a, b, c } = await chain();
    await a.r.set("before", "1");
    await until("before on b and c", async () => (await b.r.get("before")) === "1" && (await c.r.get("before")) === "1");
    expect(await c.r.replicaof("NO", "ONE")).toBe("OK");
    const offset = Number(await field(c.r, "master_repl_offset"));
    await c.r.set("k2", "v2");
    await c.r.incr("n");
    // Its backlog records them although no replica is attached (Redis's feedReplicationBuffer).
    expect(Number(await field(c.r, "master_repl_offset"))).toBeGreaterThan(offset);
    await b.r.replicaof("127.0.0.1", String(c.srv.port));
    await until("b online at c", async () => (await c.r.info("replication")).includes("state=online"));
    expect(await field(c.r, "sync_partial_ok")).toBe("1");
    expect(await field(c.r, "sync_full")).toBe("0");
    await until("c's writes on b", async () => (await b.r.get("k2")) === "v2" && (await b.r.get("n")) === "1");
    expect(await b.r.call("debug", "digest")).toBe(await c.r.call("debug", "digest"));
  });

  it("pauses writes while waiting (CLIENT UNPAUSE does not lift it), and FAILOVER ABORT resumes them on a master", async () => {
    const { a, b } = await chain();
    await b.r.call("client", "pause", "60000", "write"); // b holds its master's writes: never catches up
    await a.r.set("k", "1");
    expect(await a.r.call("failover", "to", "127.0.0.1", String(b.srv.port), "timeout", "60000")).toBe("OK");
    expect(await field(a.r, "master_failover_state")).toBe("waiting-for-sync");
    expect(await err(a.r.replicaof("127.0.0.1", "1"))).toBe("ERR REPLICAOF not allowed while failing over.");
    expect(await a.r.get("k")).toBe("1"); // reads are served
    const other = await connectClient(a.srv.port); // its write waits for the pause
    const pending = other.set("k", "2");
    await new Promise((r) => setTimeout(r, 200));
    expect(await a.r.get("k")).toBe("1");
    // The failover's pause is its own (Redis's PAUSE_DURING_FAILOVER): CLIENT UNPAUSE lifts
    // only a CLIENT PAUSE, so the write still waits.
    expect(await a.r.call("client", "unpause")).toBe("OK");
    await new Promise((r) => setTimeout(r, 200));
    expect(await a.r.get("k")).toBe("1");
    expect(await a.r.call("failover", "abort")).toBe("OK");
    expect(await field(a.r, "master_failover_state")).toBe("no-failover");
    expect(await pending).toBe("OK");
    expect((await a.r.role())[0]).toBe("master");
    other.disconnect();
    await b.r.call("client", "unpause");
  });

  it("aborts when the replica does not catch up before TIMEOUT", async () => {
    const { a, b } = await chain();
    await b.r.call("client", "pause", "60000", "write");
    await a.r.set("k", "1");
    expect(await a.r.call("failover", "to", "127.0.0.1", String(b.srv.port), "timeout", "300")).toBe("OK");
    await until("aborted", async () => (await field(a.r, "master_failover_state")) === "no-failover");
    expect((await a.r.role())[0]).toBe("master");
    expect(await a.r.set("k", "2")).toBe("OK");
    await b.r.call("client", "unpause");
    await until("b catches up", async () => (await b.r.get("k")) === "2");
    expect(await field(a.r, "sync_partial_ok")).toBe("0");
  });

  it("aborts when the target refuses PSYNC: a master again under a new replid, its replicas continue partially", async () => {
    const { a, b } = await chain();
    await b.r.call("acl", "setuser", "default", "-psync");
    const oldId = await field(a.r, "master_replid");
    expect(await a.r.call("failover", "to", "127.0.0.1", String(b.srv.port))).toBe("OK");
    await until("aborted", async () => (await field(a.r, "master_failover_state")) === "no-failover");
    expect((await a.r.role())[0]).toBe("master");
    expect(await field(a.r, "master_replid2")).toBe(oldId);
    await b.r.call("acl", "setuser", "default", "+psync");
    await until("both replicas back", async () => (await a.r.info("replication")).split("state=online").length === 3);
    expect(await field(a.r, "sync_partial_ok")).toBe("2");
    expect(await field(a.r, "sync_full")).toBe("2");
    expect(a.srv.output()).toContain("Failover target rejected psync request");
  });
  it("a master turning replica unblocks its BLPOP and WAIT clients with -UNBLOCKED, so the new master's stream serves none of them", async () => {
    const { srv: asrv, r: a } = await servers.start();
    const { r: b } = await servers.start();
    const blpop = await connectClient(asrv.port);
    const waiter = await connectClient(asrv.port);
    const popped = blpop.blpop("foo", 0).then(() => "served", (e: Error) => e.message);
    const waited = waiter.call("wait", "1", "0").then(() => "served", (e: Error) => e.message); // a has no replica
    await until("both blocked", async () => (await field(a, "blocked_clients")) === "2");
    await a.replicaof("127.0.0.1", String((b.options.port)));
    expect(await popped).toBe("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
    expect(await waited).toBe("UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)");
    await until("link up", async () => (await field(a, "master_link_status")) === "up");
    await b.rpush("foo", "a", "b", "c");
    await until("the list arrives", async () => (await a.lrange("foo", 0, -1)).join() === "a,b,c");
    expect(await b.call("debug", "digest")).toBe(await a.call("debug", "digest"));
    waiter.disconnect();
    blpop.disconnect();
  });
});
