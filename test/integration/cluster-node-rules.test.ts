// Per-node cluster rules that Redis's tests/unit/cluster*.tcl check, on two nodes joined by
// CLUSTER MEET (node A serves slots 0-8191, node B 8192-16383):
//   - a script's commands obey the cluster (scriptVerifyClusterState): no key of another node,
//     and, unless the script may cross slots, every key in one slot;
//   - a client blocked on a key whose slot moves away is unblocked with -MOVED;
//   - DEBUG CLUSTERLINK KILL frees a bus link, which the bus makes again;
//   - a node's new announced port reaches the other node (nodeUpdateAddressIfNeeded);
//   - MIGRATE is routed by its keys and runs here while its slot is open;
//   - a node that cannot reach a majority of the masters turns its cluster_state fail, and
//     refuses MIGRATE too.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serverGroup, connectClient, startServer, freePort, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

const group = serverGroup(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--enable-debug-command", "yes"]);

/** A key whose slot is in [lo, hi] (CLUSTER KEYSLOT), other than `not`'s slot. */
async function keyIn(r: Redis, lo: number, hi: number, prefix: string, notSlot = -1): Promise<{ key: string; slot: number }> {
  for (let i = 0; ; i++) {
    const key = `${prefix}${i}`;
    const slot = Number(await r.cluster("KEYSLOT", key));
    if (slot >= lo && slot <= hi && slot !== notSlot) return { key, slot };
  }
}

const nodesLine = async (r: Redis, id: string) =>
  String(await r.cluster("NODES")).split("\n").find((l) => l.startsWith(id)) ?? "";

describe("cluster node rules (2 nodes)", () => {
  let a: { srv: RunningServer; r: Redis };
  let b: { srv: RunningServer; r: Redis };
  let aId: string, bId: string;

  beforeAll(async () => {
    a = await group.start();
    b = await group.start();
    await a.r.cluster("MEET", "127.0.0.1", String(b.srv.port));
    await a.r.cluster("ADDSLOTSRANGE", "0", "8191");
    await b.r.cluster("ADDSLOTSRANGE", "8192", "16383");
    aId = String(await a.r.cluster("MYID"));
    bId = String(await b.r.cluster("MYID"));
    await until("cluster_state:ok on both nodes", async () =>
      String(await a.r.cluster("INFO")).includes("cluster_state:ok") && String(await b.r.cluster("INFO")).includes("cluster_state:ok"), 30_000);
  }, 60_000);

  afterAll(() => group.stopAll());

  it("a script with a shebang may not touch keys of two slots; one without may", async () => {
    const k1 = await keyIn(a.r, 0, 8191, "s");
    const k2 = await keyIn(a.r, 0, 8191, "s", k1.slot);
    const body = `redis.call('set', '${k1.key}', 'x') redis.call('set', '${k2.key}', 'y') return 'OK'`;
    await expect(a.r.eval(`#!lua\n${body}`, 0)).rejects.toThrow(/^ERR Script attempted to access keys that do not hash to the same slot/);
    expect(await a.r.eval(body, 0)).toBe("OK");
    expect(await a.r.eval(`#!lua flags=allow-cross-slot-keys\n${body}`, 0)).toBe("OK");
    // A declared key fixes the slot before the first command.
    await expect(a.r.eval(`#!lua\nredis.call('set', '${k2.key}', 'z') return 'OK'`, 1, k1.key))
      .rejects.toThrow(/^ERR Script attempted to access keys that do not hash to the same slot/);
  });

  it("a function may not touch keys of two slots unless it has allow-cross-slot-keys", async () => {
    const k1 = await keyIn(a.r, 0, 8191, "f");
    const k2 = await keyIn(a.r, 0, 8191, "f", k1.slot);
    const lib = (flags: string) => `#!lua name=crossslot\nredis.register_function{function_name='cs', callback=function() ` +
      `redis.call('set', '${k1.key}', 'x') redis.call('set', '${k2.key}', 'y') return 'OK' end${flags}}`;
    await a.r.function("LOAD", "REPLACE", lib(""));
    await expect(a.r.fcall("cs", 0)).rejects.toThrow(/^ERR Script attempted to access keys that do not hash to the same slot/);
    await a.r.function("LOAD", "REPLACE", lib(", flags={'allow-cross-slot-keys'}"));
    expect(await a.r.fcall("cs", 0)).toBe("OK");
  });

  it("a script may not touch a key another node serves, even without a shebang", async () => {
    const far = await keyIn(a.r, 8192, 16383, "n");
    await expect(a.r.eval(`return redis.call('get', '${far.key}')`, 0))
      .rejects.toThrow(/^ERR Script attempted to access a non local key in a cluster node/);
  });

  it("a client blocked on a key is unblocked with -MOVED when its slot moves to another node", async () => {
    const k = await keyIn(a.r, 0, 8191, "b");
    const blocked = await connectClient(a.srv.port, { protocol: 2 } as never);
    try {
      const pending = blocked.brpop(k.key, 0).then(() => "served", (e: Error) => e.message);
      await until("the client blocks", async () => /blocked_clients:1/.test(await a.r.info("clients")));
      await b.r.cluster("SETSLOT", String(k.slot), "NODE", bId);
      await a.r.cluster("SETSLOT", String(k.slot), "NODE", bId);
      expect(await pending).toBe(`MOVED ${k.slot} 127.0.0.1:${b.srv.port}`);
      expect(await a.r.info("clients")).toMatch(/blocked_clients:0/);
    } finally {
      blocked.disconnect();
    }
  });

  it("DEBUG CLUSTERLINK KILL frees a bus link and the bus links again", async () => {
    const links = async () => ((await a.r.cluster("LINKS")) as unknown[]).length;
    await until("both links to B", async () => (await links()) === 2);
    // In one transaction, so that the bus's cron cannot link again in between.
    const [[, killed], [, after]] = (await a.r.multi().call("DEBUG", "CLUSTERLINK", "KILL", "to", bId).cluster("LINKS").exec())!;
    expect(killed).toBe("OK");
    expect((after as unknown[]).length).toBe(1);
    await until("the link to B made again", async () => (await links()) === 2);
    await expect(a.r.call("DEBUG", "CLUSTERLINK", "KILL", "to", "0".repeat(40))).rejects.toThrow(`ERR Unknown node ${"0".repeat(40)}`);
    await expect(a.r.call("DEBUG", "CLUSTERLINK", "KILL", "sideways", bId)).rejects.toThrow("ERR Unknown direction sideways");
  });

  it("a node's new announced client and bus ports reach the other node", async () => {
    await a.r.config("SET", "cluster-announce-port", "4321");
    expect(await nodesLine(a.r, aId)).toContain(":4321@");
    await until("B sees A at port 4321", async () => (await nodesLine(b.r, aId)).includes(":4321@"));
    await a.r.config("SET", "cluster-announce-port", "0");
    await until("B sees A at its own port again", async () => (await nodesLine(b.r, aId)).includes(`:${a.srv.port}@`));
  });

  it("each node pings the other on its own schedule, whoever pinged last", async () => {
    // Redis pings a node whose PONG on our own link is older than node-timeout/2 (1 s here);
    // the other node's PINGs to us are no answer. If they were, the node that pings first
    // would keep the other silent, and a node learns a peer's new address only from the
    // peer's PINGs: harness announced-endpoints waited over 5 s for one.
    const pingsSent = async (r: Redis) => Number(/cluster_stats_messages_ping_sent:(\d+)/.exec(String(await r.cluster("INFO")))?.[1] ?? 0);
    const [a0, b0] = [await pingsSent(a.r), await pingsSent(b.r)];
    // Two PINGs each within 4 s, as a fixed 4 s wait checked, but done as soon as both have.
    await until("two PINGs sent by each node", async () =>
      await pingsSent(a.r) - a0 >= 2 && await pingsSent(b.r) - b0 >= 2, 4000, 100);
  });

  it("MIGRATE is routed by its keys (KEYS form too), and runs here while its slot is migrating or importing", async () => {
    const mine = await keyIn(a.r, 0, 8191, "m");
    const theirs = await keyIn(a.r, 8192, 16383, "m");
    const migrate = (r: Redis, port: number, ...rest: string[]) => r.call("migrate", "127.0.0.1", String(port), ...rest);
    await expect(migrate(a.r, b.srv.port, "", "0", "5000", "KEYS", theirs.key)).rejects.toThrow(`MOVED ${theirs.slot} 127.0.0.1:${b.srv.port}`);
    await expect(migrate(a.r, b.srv.port, "", "0", "5000", "KEYS", mine.key, theirs.key))
      .rejects.toThrow("CROSSSLOT Keys in request don't hash to the same slot");
    // An open slot: a missing key gets NOKEY at either end (not -ASK from the source, nor
    // -MOVED from the target), as redis-cli --cluster reshard expects.
    await b.r.cluster("SETSLOT", String(mine.slot), "IMPORTING", aId);
    await a.r.cluster("SETSLOT", String(mine.slot), "MIGRATING", bId);
    try {
      expect(await migrate(a.r, b.srv.port, mine.key, "0", "5000")).toBe("NOKEY");
      expect(await migrate(b.r, a.srv.port, "", "0", "5000", "KEYS", mine.key)).toBe("NOKEY");
      await expect(a.r.get(mine.key)).rejects.toThrow(`ASK ${mine.slot} 127.0.0.1:${b.srv.port}`);
    } finally {
      await a.r.cluster("SETSLOT", String(mine.slot), "STABLE");
      await b.r.cluster("SETSLOT", String(mine.slot), "STABLE");
    }
  });

  // Last: it stops B for a while.
  it("a node that cannot reach a majority of the masters turns cluster_state fail, and ok once it can", async () => {
    // One of two masters can never mark the other failed alone (no majority of votes): only
    // the minority rule turns A's state fail.
    const { key } = await keyIn(a.r, 0, 8191, "down");
    await a.r.set(key, "v");
    b.srv.proc.kill("SIGSTOP");
    try {
      await until("A suspects B and turns fail", async () => String(await a.r.cluster("INFO")).includes("cluster_state:fail"), 30_000);
      expect(await nodesLine(a.r, bId)).toMatch(/ master,fail\? /);
      // MIGRATE too is refused at the source while the cluster is down, in both forms.
      for (const form of [[key, "0", "1000"], ["", "0", "1000", "KEYS", key]]) {
        await expect(a.r.call("migrate", "127.0.0.1", String(b.srv.port), ...form)).rejects.toThrow(/^CLUSTERDOWN The cluster is down$/);
      }
    } finally {
      b.srv.proc.kill("SIGCONT");
    }
    await until("A ok again", async () => String(await a.r.cluster("INFO")).includes("cluster_state:ok"), 30_000);
    expect(await a.r.get(key)).toBe("v"); // MIGRATE left it here
  });
});

describe("cluster replica restart (2 nodes)", () => {
  const nodes = serverGroup(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--enable-debug-command", "yes"]);
  afterAll(() => nodes.stopAll());

  it("a replica restarted from its RDB keeps keys whose TTL passed, waiting for its master's DEL", async () => {
    const m = await nodes.start();
    const dir = mkdtempSync(join(tmpdir(), "lkv-cluster-replica-"));
    const port = await freePort();
    const args = ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000", "--enable-debug-command", "yes"];
    let replica = await startServer(args, {}, { port, dir });
    let r = await connectClient(port);
    try {
      await m.r.cluster("ADDSLOTSRANGE", "0", "16383");
      await m.r.cluster("MEET", "127.0.0.1", String(port));
      const mid = String(await m.r.cluster("MYID"));
      await until("the replica knows the master", async () => String(await r.cluster("NODES")).includes(mid));
      await r.cluster("REPLICATE", mid);
      await until("cluster_state:ok on the master", async () => String(await m.r.cluster("INFO")).includes("cluster_state:ok"));
      await m.r.call("DEBUG", "SET-ACTIVE-EXPIRE", "0");
      for (let i = 0; i < 20; i++) await m.r.set(`{t}${i}`, "v", "PX", 1500);
      await until("the replica has the keys", async () => (await r.dbsize()) === 20);
      await r.call("SAVE");
      r.disconnect();
      await replica.stop();
      await new Promise((res) => setTimeout(res, 1600));
      replica = await startServer(args, {}, { port, dir });
      r = await connectClient(port);
      // Loaded as a replica (nodes.conf): the expired keys are still there.
      await until("the replica answers", async () => { try { return (await r.dbsize()) >= 0; } catch { return false; } });
      expect(await r.dbsize()).toBe(20);
      // The master expires them and its DELs reach the replica.
      await m.r.call("DEBUG", "SET-ACTIVE-EXPIRE", "1");
      await until("the replica got the master's DELs", async () => (await r.dbsize()) === 0);
    } finally {
      r.disconnect();
      await replica.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it("a replica restarted with its AOF replicates its master only once its own data has loaded", async () => {
    // As Redis (clusterCron turns replication on, and does not run while loading): a full
    // sync finishing in the middle of the AOF replay killed the replica (04-resharding,
    // "Terminate and restart all the instances").
    const m = await nodes.start();
    await m.r.config("SET", "repl-diskless-sync-delay", "0");
    const dir = mkdtempSync(join(tmpdir(), "lkv-cluster-replica-aof-"));
    const port = await freePort();
    const args = ["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"];
    let replica = await startServer(args, {}, { port, dir });
    let r = await connectClient(port);
    // Answered -LOADING while it loads.
    const tolerant = <T>(f: () => Promise<T>) => async () => { try { return await f(); } catch { return null; } };
    try {
      await m.r.cluster("ADDSLOTSRANGE", "0", "16383");
      await m.r.cluster("MEET", "127.0.0.1", String(port));
      const mid = String(await m.r.cluster("MYID"));
      await until("the replica knows the master", async () => String(await r.cluster("NODES")).includes(mid));
      await r.cluster("REPLICATE", mid);
      await until("the replica linked", tolerant(async () => /master_link_status:up/.test(await r.info("replication"))), 30_000);
      // A master answers -CLUSTERDOWN for its first 2 s (Redis's CLUSTER_WRITABLE_DELAY):
      // writes sent before cluster_state:ok never reach the replica.
      await until("cluster_state:ok on the master", async () => String(await m.r.cluster("INFO")).includes("cluster_state:ok"));
      const pipe = m.r.pipeline();
      for (let i = 0; i < 2000; i++) pipe.set(`{t}${i}`, "v");
      const replies = (await pipe.exec()) ?? [];
      expect(replies.filter(([err]) => err).map(([err]) => String(err))).toEqual([]);
      await until("the replica has the keys", tolerant(async () => (await r.dbsize()) === 2000), 30_000).catch(async (e) => { throw new Error(`${e.message}: dbsize ${await r.dbsize().catch((x) => x.message)}, ${await r.info("replication")}`); });
      // Its AOF, as 04-resharding's: turned on once the data is there (a base of it).
      await r.config("SET", "appendonly", "yes");
      await until("the AOF rewritten", tolerant(async () => /aof_rewrite_in_progress:0[\s\S]*aof_rewrite_scheduled:0/.test(await r.info("persistence")) &&
        /aof_enabled:1/.test(await r.info("persistence"))));
      r.disconnect();
      await replica.stop();
      // 1 ms a key: the AOF load takes 2 s, and the master's full sync would end inside it.
      replica = await startServer([...args, "--appendonly", "yes", "--key-load-delay", "1000"], {}, { port, dir });
      r = await connectClient(port);
      await r.call("READONLY");
      await m.r.set("{t}after", "v");
      await until("the replica resumed replication", tolerant(async () => (await r.get("{t}after")) === "v"), 30_000);
      expect(await r.dbsize()).toBe(2001);
      expect(replica.proc.exitCode).toBeNull();
    } finally {
      r.disconnect();
      await replica.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
