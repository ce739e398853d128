// Two-node cluster (two single-node shards): CLUSTER LINKS lists, for each peer, our link
// to it and the one it opened to us (Redis's tests/cluster/24-links); a link whose peer
// stopped reading is freed once its unsent bytes pass cluster-link-sendbuf-limit and made
// again; PUBLISH reaches subscribers on every node over the cluster bus (tests/cluster/09-pubsub).
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

type LinkRow = Record<string, string | number>;
const asRows = (reply: unknown): LinkRow[] => (reply as unknown[][]).map((flat) => {
  const row: LinkRow = {};
  for (let i = 0; i < flat.length; i += 2) row[String(flat[i])] = flat[i + 1] as string | number;
  return row;
});

describe("cluster bus links and pub/sub (two single-node shards)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const ids: string[] = [];

  beforeAll(async () => {
    const cports: number[] = [];
    for (let i = 0; i < 2; i++) {
      cports.push(await freePort());
      servers.push(await startServer(["--cluster-enabled", "yes", "--cluster-port", String(cports[i]), "--cluster-node-timeout", "3000"]));
      clients.push(await connectClient(servers[i].port, { protocol: 2 } as never));
      ids.push(String(await clients[i].call("cluster", "myid")));
    }
    await clients[0].call("cluster", "addslotsrange", "0", "8191");
    await clients[1].call("cluster", "addslotsrange", "8192", "16383");
    await clients[0].call("cluster", "meet", "127.0.0.1", String(servers[1].port), String(cports[1]));
    await waitFor("cluster_state:ok on both", async () => {
      for (const c of clients) if (!String(await c.call("cluster", "info")).includes("cluster_state:ok")) return false;
      return true;
    });
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) {
      try { process.kill(s.proc.pid!, "SIGCONT"); } catch { /* gone */ }
      await s.stop();
    }
  });

  it("lists one link to and one link from each peer, with Redis's fields", async () => {
    for (let i = 0; i < 2; i++) {
      const peer = ids[1 - i];
      await waitFor("two links with the peer", async () => asRows(await clients[i].call("cluster", "links")).length === 2);
      const rows = asRows(await clients[i].call("cluster", "links"));
      expect(rows.map((r) => r.direction).sort()).toEqual(["from", "to"]);
      for (const r of rows) {
        expect(Object.keys(r)).toEqual(["direction", "node", "create-time", "events", "send-buffer-allocated", "send-buffer-used"]);
        expect(r.node).toBe(peer);
        expect(r["create-time"]).toBeGreaterThan(Date.now() - 120_000);
        expect(["r", "rw"]).toContain(r.events);
      }
    }
  });

  it("delivers PUBLISH on one node to a subscriber on the other", async () => {
    const sub = await connectClient(servers[1].port, { protocol: 2 } as never);
    try {
      const got: string[] = [];
      sub.on("message", (ch: string, msg: string) => got.push(`${ch}:${msg}`));
      await sub.subscribe("news");
      // The subscriber is on node 1: PUBLISH on node 0 counts only node 0's receivers.
      // Publish until one arrives: a bus link being re-made drops a message (at most once, as Redis).
      await waitFor("the message on the other node", async () => {
        expect(await clients[0].call("publish", "news", "hello")).toBe(0);
        await new Promise((r) => setTimeout(r, 200));
        return got.includes("news:hello");
      }, 10_000);
    } finally {
      sub.disconnect();
    }
  });

  it("redirects SSUBSCRIBE and SPUBLISH of another shard's channel with MOVED", async () => {
    // "orders" hashes to slot 105, node 0's.
    await expect(clients[1].call("spublish", "orders", "x")).rejects.toThrow(`MOVED 105 127.0.0.1:${servers[0].port}`);
    const sub = await connectClient(servers[1].port, { protocol: 2 } as never);
    try {
      await expect(sub.call("ssubscribe", "orders")).rejects.toThrow(`MOVED 105 127.0.0.1:${servers[0].port}`);
    } finally {
      sub.disconnect();
    }
    expect(await clients[0].call("spublish", "orders", "x")).toBe(0);
  });

  it("frees a link whose send buffer passes cluster-link-sendbuf-limit and makes it again", async () => {
    const before = asRows(await clients[0].call("cluster", "links"));
    const toBefore = before.find((r) => r.direction === "to")!;
    const fromBefore = before.find((r) => r.direction === "from")!;
    await clients[0].call("config", "set", "cluster-node-timeout", String(3600_000));
    await clients[0].call("config", "set", "cluster-link-sendbuf-limit", String(256 * 1024));
    expect(String(await clients[0].call("cluster", "info"))).toContain("total_cluster_links_buffer_limit_exceeded:0");
    process.kill(servers[1].proc.pid!, "SIGSTOP");
    try {
      const big = "x".repeat(128 * 1024);
      await waitFor("a link freed over the limit", async () => {
        await clients[0].call("publish", "channel", big);
        await new Promise((r) => setTimeout(r, 200));
        return /total_cluster_links_buffer_limit_exceeded:[1-9]/.test(String(await clients[0].call("cluster", "info")));
      }, 60_000);
    } finally {
      process.kill(servers[1].proc.pid!, "SIGCONT");
    }
    await waitFor("the link to the peer made again", async () =>
      asRows(await clients[0].call("cluster", "links")).some((r) => r.direction === "to"));
    const after = asRows(await clients[0].call("cluster", "links"));
    expect(Number(after.find((r) => r.direction === "to")!["create-time"])).toBeGreaterThan(Number(toBefore["create-time"]));
    // The peer's own link to us was not the one over the limit.
    expect(after.find((r) => r.direction === "from")!["create-time"]).toBe(fromBefore["create-time"]);
    await clients[0].call("config", "set", "cluster-link-sendbuf-limit", "0");
    await clients[0].call("config", "set", "cluster-node-timeout", "3000");
  }, 90_000);
});
