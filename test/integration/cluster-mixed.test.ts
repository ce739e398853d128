// One cluster of real redis-server 7.0 nodes and LatticeKV nodes: the cluster bus is Redis's
// own binary protocol (src/cluster/wire.ts), so both kinds of node discover each other, agree
// on slot ownership, detect each other's failure, vote in each other's failover elections and
// carry PUBLISH. redis-cli --cluster creates and checks the cluster as it would a Redis one.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import Redis, { Cluster } from "ioredis";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, type RunningServer } from "../helpers/server.js";
import { hasRealRedis, REDIS_SERVER } from "../helpers/real-redis.js";
import { keySlot } from "../../src/server/router.js";

const redisCli = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"].find((p) => existsSync(p));
if (!hasRealRedis || !redisCli) console.warn("SKIPPED mixed cluster test: redis-server / redis-cli not installed");

const TIMEOUT = "1000";

/** A node of either kind, restartable at the same port and dir (its nodes.conf). */
interface Node { kind: "redis" | "lkv"; port: number; cport: number; dir: string; stop: (kill?: boolean) => Promise<void> }

async function startRedisNode(at?: Node): Promise<Node> {
  const port = at?.port ?? await freePort();
  const cport = at?.cport ?? await freePort();
  const dir = at?.dir ?? mkdtempSync(join(tmpdir(), "lkv-mixed-redis-"));
  const proc: ChildProcess = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
    "--cluster-enabled", "yes", "--cluster-port", String(cport), "--cluster-node-timeout", TIMEOUT,
    "--repl-diskless-sync-delay", "0"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (x) => (out += x));
  proc.stderr!.on("data", (x) => (out += x));
  await waitFor(`redis-server on ${port} to start`, async () => {
    if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
    return out.includes("Ready to accept connections");
  }, 15_000);
  return {
    kind: "redis", port, cport, dir,
    stop: async (kill = false) => {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill(kill ? "SIGKILL" : "SIGTERM");
      await exited;
    },
  };
}

async function startLkvNode(at?: Node): Promise<Node> {
  const port = at?.port ?? await freePort();
  const cport = at?.cport ?? await freePort();
  const dir = at?.dir ?? mkdtempSync(join(tmpdir(), "lkv-mixed-"));
  const srv: RunningServer = await startServer(["--cluster-enabled", "yes", "--cluster-port", String(cport),
    "--cluster-node-timeout", TIMEOUT], {}, { port, dir });
  return {
    kind: "lkv", port, cport, dir,
    stop: async (kill = false) => {
      if (kill && srv.proc.exitCode === null) {
        const exited = new Promise((r) => srv.proc.once("exit", r));
        srv.proc.kill("SIGKILL");
        await exited;
      }
      await srv.stop();
    },
  };
}

function cli(...args: string[]): string {
  return execFileSync(redisCli!, args, { encoding: "utf8", timeout: 60_000 });
}

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CLUSTER NODES as id -> "role master-id slots" (flags other than master/slave left out). */
function topology(port: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of cli("-p", String(port), "cluster", "nodes").trim().split("\n")) {
    const f = line.split(" ");
    const role = f[2].includes("slave") ? "slave" : "master";
    out.set(f[0], `${role} ${f[3]} ${f.slice(8).join(" ")}`);
  }
  return out;
}

function nodeLine(port: number, id: string): string {
  return cli("-p", String(port), "cluster", "nodes").split("\n").find((l) => l.startsWith(id)) ?? "";
}

function myId(n: Node): string {
  return cli("-p", String(n.port), "cluster", "myid").trim();
}

async function clusterCheckPasses(port: number): Promise<string> {
  let last = "";
  await waitFor(`redis-cli --cluster check of 127.0.0.1:${port} to pass`, () => {
    try {
      last = cli("--cluster", "check", `127.0.0.1:${port}`);
      return last.includes("[OK] All nodes agree about slots configuration.") && last.includes("[OK] All 16384 slots covered.");
    } catch (e) {
      last = String((e as { stdout?: string }).stdout ?? e);
      return false;
    }
  }).catch((e: Error) => { throw new Error(`${e.message}; its last output:\n${last}`); });
  return last;
}

describe.skipIf(!hasRealRedis || !redisCli)("a cluster of redis-server and LatticeKV nodes on Redis's cluster bus", () => {
  // nodes[0], nodes[1]: redis-server masters; nodes[2], nodes[3]: LatticeKV masters.
  const nodes: Node[] = [];
  const extra: Node[] = [];

  beforeAll(async () => {
    nodes.push(await startRedisNode(), await startRedisNode(), await startLkvNode(), await startLkvNode());
    const out = cli("--cluster", "create", ...nodes.map((n) => `127.0.0.1:${n.port}`), "--cluster-yes");
    expect(out).toContain("[OK] All 16384 slots covered.");
    await waitFor("cluster_state:ok on every node", () =>
      nodes.every((n) => cli("-p", String(n.port), "cluster", "info").includes("cluster_state:ok")));
  }, 90_000);

  afterAll(async () => {
    for (const n of [...extra, ...nodes]) {
      await n.stop();
      rmSync(n.dir, { recursive: true, force: true });
    }
  });

  it("every node, Redis or LatticeKV, sees the same four masters and slots; redis-cli --cluster check is healthy", async () => {
    await waitFor("every node to agree on the topology", () => {
      const views = nodes.map((n) => [...topology(n.port)].sort().join("\n"));
      return views.every((v) => v === views[0]) && views[0].split("\n").length === 4;
    });
    const view = topology(nodes[0].port);
    expect([...view.values()].every((v) => v.startsWith("master - "))).toBe(true);
    for (const n of nodes) expect(view.has(myId(n))).toBe(true);
    await clusterCheckPasses(nodes[0].port); // asked of a redis-server
    await clusterCheckPasses(nodes[2].port); // asked of a LatticeKV node
  }, 60_000);

  it("ioredis Cluster spreads keys over both kinds of node and reads every one back", async () => {
    const cluster = new Cluster([{ host: "127.0.0.1", port: nodes[2].port }], { redisOptions: { protocol: 2 } as never });
    try {
      for (let i = 0; i < 200; i++) await cluster.set(`mixed:${i}`, `v${i}`);
      for (let i = 0; i < 200; i++) expect(await cluster.get(`mixed:${i}`)).toBe(`v${i}`);
    } finally {
      cluster.disconnect();
    }
    const sizes = nodes.map((n) => Number(cli("-p", String(n.port), "dbsize").trim()));
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(200);
    expect(sizes.every((s) => s > 0)).toBe(true);
  }, 60_000);

  it("PUBLISH crosses the bus both ways (Redis -> LatticeKV, LatticeKV -> Redis)", async () => {
    for (const [from, to] of [[nodes[0], nodes[2]], [nodes[3], nodes[1]]]) {
      const sub = new Redis(to.port, "127.0.0.1", { protocol: 2 } as never);
      try {
        const got = new Promise<string>((res) => sub.on("message", (_c: string, m: string) => res(m)));
        await sub.subscribe("mixed-news");
        cli("-p", String(from.port), "publish", "mixed-news", `from ${from.kind}`);
        expect(await got).toBe(`from ${from.kind}`);
      } finally {
        sub.disconnect();
      }
    }
  }, 30_000);

  it("a LatticeKV replica of a redis-server master wins the election when it dies (Redis masters vote); the old master returns as its replica", async () => {
    const [r1, r2] = nodes;
    const replica = await startLkvNode();
    extra.push(replica);
    const r1Id = myId(r1), replicaId = myId(replica);
    cli("-p", String(replica.port), "cluster", "meet", "127.0.0.1", String(r1.port), String(r1.cport));
    await waitFor("the redis-server master to know the new node", () => nodeLine(r1.port, replicaId).includes("connected"));
    expect(cli("-p", String(replica.port), "cluster", "replicate", r1Id).trim()).toBe("OK");
    // A key in one of r1's slots, replicated before the failover.
    const slots = nodeLine(r1.port, r1Id).split(" ").slice(8);
    const firstSlot = Number(slots[0].split("-")[0]);
    const key = findKeyInSlot(firstSlot);
    cli("-p", String(r1.port), "set", key, "kept");
    await waitFor("the replica to have the key", () =>
      cli("-p", String(replica.port), "info", "replication").includes("master_link_status:up") &&
      execFileSync(redisCli!, ["-p", String(replica.port)], { input: `READONLY\nGET ${key}\n`, encoding: "utf8" }).includes("kept"));
    await waitFor("the redis-server nodes to see it as r1's replica", () =>
      nodeLine(r2.port, replicaId).includes(`slave ${r1Id}`));

    await r1.stop(true);
    await waitFor("the LatticeKV replica to be promoted, as a redis-server node sees it", () =>
      /master - .* connected/.test(nodeLine(r2.port, replicaId)) && nodeLine(r2.port, replicaId).includes(slots[0]), 45_000);
    expect(nodeLine(r2.port, r1Id)).toMatch(/master,fail /);
    expect(cli("-p", String(replica.port), "get", key).trim()).toBe("kept");
    await waitFor("cluster_state:ok on a redis-server node", () =>
      cli("-p", String(r2.port), "cluster", "info").includes("cluster_state:ok"));

    // The old master restarts from its nodes.conf, learns its slots went to a newer epoch
    // (an UPDATE from a LatticeKV or Redis node) and follows the LatticeKV node.
    nodes[0] = await startRedisNode(r1);
    await waitFor("the returning redis-server to turn replica of the LatticeKV node", () =>
      nodeLine(nodes[0].port, r1Id).includes(`myself,slave ${replicaId}`), 30_000);
    await clusterCheckPasses(nodes[1].port);
  }, 150_000);

  it("redis-server nodes mark a killed LatticeKV master failed, and clear it when it returns", async () => {
    const victim = nodes[3];
    const victimId = myId(victim);
    await victim.stop(true);
    await waitFor("a redis-server node to mark it fail", () => /master,fail /.test(nodeLine(nodes[1].port, victimId)));
    expect(cli("-p", String(nodes[1].port), "cluster", "info")).toContain("cluster_state:fail");
    nodes[3] = await startLkvNode(victim);
    await waitFor("cluster_state:ok again on the redis-server node", () =>
      cli("-p", String(nodes[1].port), "cluster", "info").includes("cluster_state:ok"), 30_000);
    expect(nodeLine(nodes[1].port, victimId)).not.toMatch(/fail/);
  }, 90_000);
});

/** A key that hashes to slot. */
function findKeyInSlot(slot: number): string {
  for (let i = 0; i < 1_000_000; i++) {
    const k = `k${i}`;
    if (keySlot(Buffer.from(k)) === slot) return k;
  }
  throw new Error(`no key found for slot ${slot}`);
}
