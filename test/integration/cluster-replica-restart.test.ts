// A cluster replica restarted from its data: from its AOF it keeps the keys whose TTL passed while it was down,
// as Redis's does (cluster 14-consistency-check, "Slave expired keys is loaded when
// restarted: appendonly=yes"): its master's DELs remove them, so the two datasets stay the
// same. Both places a key can be in the AOF count: the RDB preamble written by a rewrite
// (rdbLoad with RDBFLAGS_AOF_PREAMBLE keeps every key, master or not) and a SET ... PXAT in
// the incr file (replayed while loading, never expired; a read-only replica does not
// remember it as a key of its own to expire, setExpire's writable_slave). From an RDB it takes
// the saved replication history as its own (loadDataFromDisk: a cluster replica by nodes.conf
// counts, before its master link exists), so it continues partially with its master.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { until, infoField as field } from "../helpers/wait.js";
import { scratchDir } from "../helpers/scratch.js";

interface Node { srv: RunningServer; r: Redis; port: number; cport: number; dir: string }

const running: Node[] = [];

async function startNode(extra: string[], at?: Node): Promise<Node> {
  const port = at?.port ?? await freePort();
  const cport = at?.cport ?? await freePort();
  const dir = at?.dir ?? scratchDir("cluster-aof");
  const srv = await startServer(["--cluster-enabled", "yes", "--cluster-port", String(cport),
    "--cluster-node-timeout", "3000", "--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes", ...extra], {}, { port, dir });
  const r = await connectClient(port);
  const node = { srv, r, port, cport, dir };
  running.push(node);
  return node;
}

/** A master with every slot and a replica of it (started with replicaArgs), linked, the cluster ok. */
async function pair(replicaArgs: string[]): Promise<{ master: Node; replica: Node }> {
  const master = await startNode([]);
  const replica = await startNode(replicaArgs);
  await master.r.call("cluster", "addslotsrange", "0", "16383");
  await replica.r.call("cluster", "meet", "127.0.0.1", String(master.port), String(master.cport));
  const masterId = String(await master.r.call("cluster", "myid"));
  await until("replica knows the master", async () => String(await replica.r.call("cluster", "nodes")).includes(masterId), 30_000, 50);
  await replica.r.call("cluster", "replicate", masterId);
  await until("link up", async () => (await field(replica.r, "master_link_status")) === "up", 30_000, 50);
  await until("cluster ok", async () => String(await master.r.call("cluster", "info")).includes("cluster_state:ok"), 30_000, 50);
  return { master, replica };
}

async function stopNode(n: Node): Promise<void> {
  n.r.disconnect();
  await n.srv.stop();
  running.splice(running.indexOf(n), 1);
}

describe("cluster replica restarted from its data", { timeout: 120_000 }, () => {
  afterAll(async () => { for (const n of [...running].reverse()) await stopNode(n); });

  it("keeps the keys that expired while it was down, from the preamble and from the incr file", async () => {
    const { master, replica } = await pair(["--appendonly", "yes"]);
    await master.r.call("debug", "set-active-expire", "0"); // only the TTL, not the master, ends them

    // In the preamble: written before a rewrite of the replica's AOF.
    await master.r.set("inbase", "1", "PX", 3000);
    await until("inbase on the replica", async () => (await replica.r.dbsize()) === 1, 10_000, 20);
    // The rewrite the full sync started (restartAOFAfterSYNC) may still run: BGREWRITEAOF
    // would answer "already in progress" (a shards-4 run failed so under load).
    const rewriteIdle = async () => (await field(replica.r, "aof_rewrite_in_progress")) === "0" &&
      (await field(replica.r, "aof_rewrite_scheduled")) === "0";
    await until("the sync's rewrite done", rewriteIdle, 30_000, 50);
    await replica.r.bgrewriteaof();
    await until("rewrite done", rewriteIdle, 30_000, 50);
    // In the incr file: written after it.
    await master.r.set("inincr", "1", "PX", 3000);
    await until("inincr on the replica", async () => (await replica.r.dbsize()) === 2, 10_000, 20);

    // The master goes too: no sync after the restart, only the AOF.
    await stopNode(replica);
    await stopNode(master);
    await new Promise((res) => setTimeout(res, 3500));
    const again = await startNode(["--appendonly", "yes"], replica);
    expect(await again.r.dbsize()).toBe(2);
    await new Promise((res) => setTimeout(res, 500)); // a few expire cycles later: still there
    expect(await again.r.dbsize()).toBe(2);
    expect(again.srv.output()).toMatch(/keys loaded: 1, keys expired: 0/);
  });

  it("from its dump.rdb: continues with a partial sync (the saved replid and offset are its own again)", async () => {
    const { master, replica } = await pair([]);
    for (let i = 0; i < 20; i++) await master.r.set(`k${i}`, "v");
    await until("replica caught up", async () => (await field(replica.r, "master_repl_offset")) === (await field(master.r, "master_repl_offset")), 10_000, 20);
    await replica.r.save();
    await stopNode(replica);
    expect(await field(master.r, "sync_full")).toBe("1");
    const again = await startNode([], replica);
    await until("link up again", async () => (await field(again.r, "master_link_status")) === "up", 30_000, 50);
    expect(await field(master.r, "sync_partial_ok")).toBe("1");
    expect(await field(master.r, "sync_full")).toBe("1");
    expect(await again.r.dbsize()).toBe(20);
  });
});
