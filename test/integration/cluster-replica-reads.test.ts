// A cluster replica serving a READONLY client (Redis's tests/cluster/16-transactions-on-replica):
// a blocking read on the replica is woken by the primary's write arriving through the
// replication stream, and a script that may write is redirected to the primary (MOVED) even
// though EVAL itself is not a write command: the script's shebang flags decide, as in Redis's
// getNodeByQuery with getCommandFlags.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("cluster replica with READONLY clients (1 primary + 1 replica)", () => {
  const servers: RunningServer[] = [];
  let primary: Redis;
  let replica: Redis;

  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const cport = await freePort();
      servers.push(await startServer(["--cluster-enabled", "yes", "--cluster-port", String(cport),
        "--cluster-node-timeout", "3000"]));
      (servers[i] as RunningServer & { cport: number }).cport = cport;
    }
    primary = await connectClient(servers[0].port, { protocol: 2 } as never);
    replica = await connectClient(servers[1].port, { protocol: 2 } as never);
    await primary.call("cluster", "addslotsrange", "0", "16383");
    await primary.call("cluster", "meet", "127.0.0.1", String(servers[1].port),
      String((servers[1] as RunningServer & { cport: number }).cport));
    const primaryId = String(await primary.call("cluster", "myid"));
    await waitFor("the replica to learn the primary", async () =>
      String(await replica.call("cluster", "nodes")).includes(primaryId));
    await replica.call("cluster", "replicate", primaryId);
    await waitFor("the replica's link to come up", async () =>
      String(await replica.info("replication")).includes("master_link_status:up"));
    await waitFor("cluster_state:ok on both", async () =>
      String(await primary.call("cluster", "info")).includes("cluster_state:ok") &&
      String(await replica.call("cluster", "info")).includes("cluster_state:ok"));
    await replica.call("readonly");
  }, 60_000);

  afterAll(async () => {
    primary?.disconnect();
    replica?.disconnect();
    for (const s of servers) await s.stop();
  });

  it("wakes an XREAD BLOCK on the replica when the primary's XADD is replicated", async () => {
    const blocked = await connectClient(servers[1].port, { protocol: 2 } as never);
    try {
      await blocked.call("readonly");
      const read = blocked.call("xread", "block", "0", "streams", "{s}k", "0");
      await waitFor("the XREAD to block", async () => /blocked_clients:1/.test(String(await replica.info("clients"))));
      const id = String(await primary.call("xadd", "{s}k", "*", "foo", "bar"));
      const got = (await Promise.race([read, new Promise((_, rej) => setTimeout(() => rej(new Error("XREAD not woken")), 10_000))])) as unknown[];
      expect(got).toEqual([["{s}k", [[id, ["foo", "bar"]]]]]);
    } finally {
      blocked.disconnect();
    }
  }, 30_000);

  it("lets a replica's client SSUBSCRIBE its primary's shard channel without READONLY, fed by SPUBLISH on the primary", async () => {
    const sub = await connectClient(servers[1].port, { protocol: 2 } as never);
    try {
      const got: string[] = [];
      sub.on("smessage", (ch: string, msg: string) => got.push(`${ch}:${msg}`));
      await sub.call("ssubscribe", "orders");
      // The primary has no subscriber itself. A bus link being re-made drops a message (as in
      // Redis, pub/sub is at most once), so publish until one arrives.
      await waitFor("the shard message on the replica", async () => {
        expect(await primary.call("spublish", "orders", "o1")).toBe(0);
        await new Promise((r) => setTimeout(r, 200));
        return got.includes("orders:o1");
      }, 10_000);
    } finally {
      sub.disconnect();
    }
  });

  it("shows a replica with cluster-replica-no-failover yes as nofailover on every node", async () => {
    await replica.call("config", "set", "cluster-replica-no-failover", "yes");
    try {
      const id = String(await replica.call("cluster", "myid"));
      await waitFor("the primary to see the flag", async () =>
        String(await primary.call("cluster", "nodes")).split("\n").some((l) => l.startsWith(`${id} `) && l.split(" ")[2] === "slave,nofailover"));
      expect(String(await replica.call("cluster", "nodes"))).toContain("myself,slave,nofailover");
    } finally {
      await replica.call("config", "set", "cluster-replica-no-failover", "no");
    }
  });

  it("redirects a shebang script that may write to the primary with MOVED", async () => {
    await expect(replica.call("eval", "#!lua\nreturn redis.call('del', KEYS[1])", "1", "a"))
      .rejects.toThrow(/^MOVED 15495 127\.0\.0\.1:/);
  });

  it("runs a shebang script declared no-writes on the replica for a READONLY client", async () => {
    await primary.call("set", "a", "1");
    expect(await primary.call("wait", "1", "5000")).toBe(1);
    expect(await replica.call("eval", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1", "a")).toBe("1");
  });

  it("runs a script without a shebang on the replica, whose write inside is refused (-READONLY)", async () => {
    // Without flags a script runs as EVAL (not a write command), so the replica runs it and
    // refuses the write inside, as Redis 7.0.15 answers.
    await expect(replica.call("eval", "return redis.call('del', KEYS[1])", "1", "a"))
      .rejects.toThrow(/^READONLY You can't write against a read only replica\. script: /);
    expect(await primary.call("get", "a")).toBe("1");
  });

  it("holds a script without a shebang during CLUSTER FAILOVER's pause: every acknowledged EVAL write reaches the new primary", async () => {
    // EVAL without flags is not a write command but may replicate: Redis's manual-failover
    // pause (CLIENT_PAUSE_WRITE) holds it, so the offset the replica waits for is final.
    const writer = await connectClient(servers[0].port, { protocol: 2, maxRetriesPerRequest: 0 } as never);
    const acked: string[] = [];
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await writer.call("eval", "return redis.call('rpush', KEYS[1], ARGV[1])", "1", "{f}list", String(i));
          acked.push(String(i));
        } catch (e) {
          if (/^MOVED /.test((e as Error).message)) return;
          throw e;
        }
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(await replica.call("cluster", "failover")).toBe("OK");
      await waitFor("the replica to become the primary", async () =>
        String(await replica.info("replication")).includes("role:master"));
      await Promise.race([load, new Promise((r) => setTimeout(r, 10_000))]);
    } finally {
      stop = true;
      await load.catch(() => {});
      writer.disconnect();
    }
    expect(acked.length).toBeGreaterThan(0);
    await replica.call("readwrite");
    const list = (await replica.call("lrange", "{f}list", "0", "-1")) as string[];
    expect(list.slice(0, acked.length)).toEqual(acked);
  }, 60_000);
});
