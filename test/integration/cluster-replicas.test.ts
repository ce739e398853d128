// Cluster mode with replicas, through real processes: six nodes joined by
// `redis-cli --cluster create --cluster-replicas 1` (three primaries, each with a replica
// fed by Redis's primary/replica replication), CLUSTER NODES/SLOTS/SHARDS/REPLICAS showing
// the replicas, READONLY reads on a replica, and failover: a killed primary is replaced by
// its replica (election over the bus, new configEpoch), ioredis's Cluster client keeps
// writing, the old primary comes back as the new primary's replica, and CLUSTER FAILOVER
// hands the slots back with no acknowledged write lost.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import Redis, { Cluster } from "ioredis";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { setAcked } from "../helpers/cluster-write.js";

const redisCli = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"].find((p) => existsSync(p));
const inCI = process.env.CI === "true" || process.env.CI === "1";
if (!redisCli) {
  if (inCI) throw new Error("cluster-replicas test: redis-cli not found; CI installs redis-tools");
  console.warn("SKIPPED cluster-replicas test: redis-cli (Debian's redis-tools) not found");
}

// Generous for a loaded 2-core machine running other test files at the same time: a node
// that misses pings for this long would be failed over by mistake.
const NODE_TIMEOUT = 3000;

interface Node { srv: RunningServer; port: number; cport: number; dir: string }

async function startNode(at?: Node): Promise<Node> {
  const port = at?.port ?? await freePort();
  const cport = at?.cport ?? await freePort();
  const dir = at?.dir ?? mkdtempSync(join(tmpdir(), "lkv-cluster-repl-"));
  // repl-diskless-sync-delay 0, as Redis's own cluster tests configure (instances.tcl): a
  // replica's full sync starts at once instead of waiting 5 s for more replicas.
  const srv = await startServer(["--cluster-enabled", "yes", "--cluster-port", String(cport),
    "--cluster-node-timeout", String(NODE_TIMEOUT), "--repl-diskless-sync-delay", "0"], {}, { port, dir });
  return { srv, port, cport, dir };
}

function cli(...args: string[]): string {
  return execFileSync(redisCli!, args, { encoding: "utf8", timeout: 60_000 });
}

function nodesOf(n: Node): string[][] {
  return cli("-p", String(n.port), "cluster", "nodes").trim().split("\n").map((l) => l.split(" "));
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!redisCli)("cluster mode with replicas (3 primaries × 2)", () => {
  const nodes: Node[] = [];
  const acked = new Map<string, string>();
  let cluster: Cluster;

  const idOf = (n: Node) => cli("-p", String(n.port), "cluster", "myid").trim();
  const byPort = (port: number) => nodes.find((n) => n.port === port)!;

  beforeAll(async () => {
    for (let i = 0; i < 6; i++) nodes.push(await startNode());
    const out = cli("--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "1", "--cluster-yes");
    expect(out).toContain("[OK] All 16384 slots covered.");
    await waitFor("every node to see 3 primaries and 3 replicas, cluster_state:ok", () => nodes.every((n) => {
      const lines = nodesOf(n);
      return lines.filter((f) => f[2].includes("master") && f.length > 8).length === 3 &&
        lines.filter((f) => f[2].includes("slave") && f[3] !== "-").length === 3 &&
        cli("-p", String(n.port), "cluster", "info").includes("cluster_state:ok");
    }));
    cluster = new Cluster(nodes.map((n) => ({ host: "127.0.0.1", port: n.port })), { redisOptions: { protocol: 2 } as never });
  }, 120_000);

  afterAll(async () => {
    cluster?.disconnect();
    for (const n of nodes) {
      await n.srv.stop();
      rmSync(n.dir, { recursive: true, force: true });
    }
  });

  it("shows each replica under its primary in CLUSTER NODES, SLOTS, SHARDS and REPLICAS", async () => {
    for (let i = 0; i < 300; i++) await setAcked(cluster, `k${i}`, `v${i}`);
    for (let i = 0; i < 300; i++) acked.set(`k${i}`, `v${i}`);
    const lines = nodesOf(nodes[0]);
    const primaries = lines.filter((f) => f[2].includes("master"));
    const replicas = lines.filter((f) => f[2].includes("slave"));
    expect(primaries).toHaveLength(3);
    expect(replicas).toHaveLength(3);
    // Each primary has exactly one replica, which shows its primary's configEpoch and no slots.
    for (const p of primaries) {
      const mine = replicas.filter((r) => r[3] === p[0]);
      expect(mine).toHaveLength(1);
      expect(mine[0][6]).toBe(p[6]);
      expect(mine[0]).toHaveLength(8);
      const r = await connectClient(Number(p[1].split(":")[1].split("@")[0]), { protocol: 2 } as never);
      const listed = (await r.call("cluster", "replicas", p[0])) as string[];
      expect(listed.map((l) => l.split(" ")[0])).toEqual([mine[0][0]]);
      await expect(r.call("cluster", "replicas", mine[0][0])).rejects.toThrow("The specified node is not a master");
      // The replica has its primary's keys.
      const replica = await connectClient(Number(mine[0][1].split(":")[1].split("@")[0]), { protocol: 2 } as never);
      expect(await r.call("wait", "1", "5000")).toBe(1);
      expect(await replica.dbsize()).toBe(await r.dbsize());
      expect(String(await replica.info("replication"))).toContain("role:slave");
      // Their log lines carry Redis's role letter after the pid: S on the replica, M on its primary.
      const portOf = (f: string[]) => Number(f[1].split(":")[1].split("@")[0]);
      expect(byPort(portOf(mine[0])).srv.output()).toMatch(/^\d+:S .* MASTER <-> REPLICA sync started$/m);
      expect(byPort(portOf(p)).srv.output()).toMatch(/^\d+:M .* Synchronization with replica \S+ succeeded$/m);
      r.disconnect();
      replica.disconnect();
    }
    const r = await connectClient(nodes[0].port, { protocol: 2 } as never);
    try {
      // A replica is listed once its offset (announced on the bus) shows it has synced.
      await waitFor("CLUSTER SLOTS to list each range's primary and replica", async () => {
        const slots = (await r.call("cluster", "slots")) as unknown[][];
        return slots.length === 3 && slots.every((s) => s.length === 4);
      });
      const shards = (await r.call("cluster", "shards")) as unknown[][];
      expect(shards).toHaveLength(3);
      for (const sh of shards) {
        const members = sh[3] as unknown[][];
        expect(members.map((m) => m[m.indexOf("role") + 1])).toEqual(["master", "replica"]);
      }
    } finally {
      r.disconnect();
    }
  }, 60_000);

  it("a replica redirects reads to its primary, and serves them after READONLY; writes always move", async () => {
    const r = await connectClient(nodes[0].port, { protocol: 2 } as never);
    const key = "k1";
    const slot = Number(await r.call("cluster", "keyslot", key));
    const slots = (await r.call("cluster", "slots")) as [number, number, ...[string, number, string][]][];
    r.disconnect();
    const range = slots.find((s) => slot >= s[0] && slot <= s[1])!;
    const [primary, replicaAddr] = [range[2], range[3]];
    const replica = await connectClient(replicaAddr[1], { protocol: 2 } as never);
    try {
      await expect(replica.get(key)).rejects.toThrow(`MOVED ${slot} 127.0.0.1:${primary[1]}`);
      expect(await replica.call("readonly")).toBe("OK");
      expect(await replica.get(key)).toBe(acked.get(key));
      await expect(replica.set(key, "x")).rejects.toThrow(`MOVED ${slot} 127.0.0.1:${primary[1]}`);
      expect(await replica.call("readwrite")).toBe("OK");
      await expect(replica.get(key)).rejects.toThrow("MOVED");
    } finally {
      replica.disconnect();
    }
  });

  it("fails a killed primary over to its replica; writes continue; the old primary returns as a replica", async () => {
    const lines = nodesOf(nodes[0]);
    const victimLine = lines.find((f) => f[2].includes("master") && !f[2].includes("myself"))!;
    const victim = byPort(Number(victimLine[1].split(":")[1].split("@")[0]));
    const victimId = victimLine[0];
    const heirLine = lines.find((f) => f[3] === victimId)!;
    const heir = byPort(Number(heirLine[1].split(":")[1].split("@")[0]));
    // Replication is asynchronous: what the primary acknowledged reaches the replica before the kill.
    const v = await connectClient(victim.port, { protocol: 2 } as never);
    expect(await v.call("wait", "1", "5000")).toBe(1);
    v.disconnect();
    await victim.srv.stop();

    // Writes keep going (retrying while the slots have no live primary).
    for (let i = 0; i < 200; i++) {
      await setAcked(cluster, `f${i}`, `w${i}`);
      acked.set(`f${i}`, `w${i}`);
    }
    await waitFor("the replica to be promoted", () => {
      const me = nodesOf(heir).find((f) => f[2].includes("myself"))!;
      return me[2] === "myself,master" && me.length > 8;
    });
    const watcher = nodes.find((n) => n !== victim && n !== heir)!;
    await waitFor("cluster_state:ok", () => cli("-p", String(watcher.port), "cluster", "info").includes("cluster_state:ok"));
    await waitFor("the old primary to show as failed, without slots", () => {
      const line = nodesOf(watcher).find((f) => f[0] === victimId)!;
      return line[2] === "master,fail" && line.length === 8;
    });
    for (const [k, val] of acked) expect(await cluster.get(k)).toBe(val);

    // The old primary restarts from its nodes.conf and becomes the new primary's replica.
    nodes[nodes.indexOf(victim)] = await startNode(victim);
    const heirId = idOf(heir);
    await waitFor("the old primary to replicate the new one", () => {
      // No "myself" line while the restarted node still answers -LOADING: not yet.
      const me = nodesOf(victim).find((f) => f[2]?.includes("myself"));
      return me?.[2] === "myself,slave" && me[3] === heirId &&
        cli("-p", String(victim.port), "info", "replication").includes("master_link_status:up");
    });
    await waitFor("every node to see it as a replica", () =>
      nodes.every((n) => nodesOf(n).find((f) => f[0] === victimId)?.[2].replace("myself,", "") === "slave"));
    expect(Number(cli("-p", String(victim.port), "dbsize"))).toBe(Number(cli("-p", String(heir.port), "dbsize")));
    expect(cli("--cluster", "check", `127.0.0.1:${watcher.port}`)).toContain("[OK] All 16384 slots covered.");
  }, 120_000);

  it("CLUSTER FAILOVER on a replica swaps it with its primary without losing acknowledged writes", async () => {
    const lines = nodesOf(nodes[0]);
    const replicaLine = lines.find((f) => f[2].includes("slave"))!;
    const replica = byPort(Number(replicaLine[1].split(":")[1].split("@")[0]));
    const primaryId = replicaLine[3];
    const r = await connectClient(replica.port, { protocol: 2 } as never);
    try {
      await expect(connectClient(byPort(Number(lines.find((f) => f[0] === primaryId)![1].split(":")[1].split("@")[0])).port,
        { protocol: 2 } as never).then(async (p) => { try { return await p.call("cluster", "failover"); } finally { p.disconnect(); } }))
        .rejects.toThrow("You should send CLUSTER FAILOVER to a replica");
      // Writes in flight while the primary pauses and the replica takes over.
      let writing = true;
      const writer = (async () => {
        for (let i = 0; writing || i < 50; i++) {
          await setAcked(cluster, `m${i}`, `x${i}`);
          acked.set(`m${i}`, `x${i}`);
        }
      })();
      expect(await r.call("cluster", "failover")).toBe("OK");
      await waitFor("the replica to become primary", () => nodesOf(replica).find((f) => f[2].includes("myself"))![2] === "myself,master");
      await waitFor("the old primary to become its replica", () =>
        nodesOf(replica).find((f) => f[0] === primaryId)![3] === replicaLine[0]);
      writing = false;
      await writer;
      for (const [k, val] of acked) expect(await cluster.get(k)).toBe(val);
      await expect(r.call("cluster", "failover")).rejects.toThrow("You should send CLUSTER FAILOVER to a replica");
    } finally {
      r.disconnect();
    }
  }, 60_000);
});
