// Replica migration (Redis's tests/cluster/07-replica-migration): a primary whose only
// replica died is joined by a replica of the primary that has two, once it has been orphaned
// for 5 s; cluster-allow-replica-migration no keeps replicas where they are.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Node { srv: RunningServer; c: Redis; id: string; cport: number }

/** Masters A (slots 0-8191, replicas a1 and a2) and B (8192-16383, replica b1). */
async function buildCluster(nodes: Node[]): Promise<void> {
  for (let i = 0; i < 5; i++) {
    const cport = await freePort();
    const srv = await startServer(["--cluster-enabled", "yes", "--cluster-port", String(cport), "--cluster-node-timeout", "2000"]);
    const c = await connectClient(srv.port, { protocol: 2 } as never);
    nodes.push({ srv, c, cport, id: String(await c.call("cluster", "myid")) });
  }
  const [a, b] = nodes;
  await a.c.call("cluster", "addslotsrange", "0", "8191");
  await b.c.call("cluster", "addslotsrange", "8192", "16383");
  for (const n of nodes.slice(1)) await a.c.call("cluster", "meet", "127.0.0.1", String(n.srv.port), String(n.cport));
  await waitFor("every node to know every other", async () => {
    for (const n of nodes) if (String(await n.c.call("cluster", "nodes")).trim().split("\n").length !== 5) return false;
    return true;
  });
  for (const [r, m] of [[2, 0], [3, 0], [4, 1]] as const) await nodes[r].c.call("cluster", "replicate", nodes[m].id);
  await waitFor("the replicas to show everywhere and cluster_state:ok", async () => {
    for (const n of nodes) {
      const text = String(await n.c.call("cluster", "nodes"));
      if ((text.match(/[ ,]slave /g) ?? []).length !== 3) return false;
      if (!String(await n.c.call("cluster", "info")).includes("cluster_state:ok")) return false;
    }
    return true;
  });
}

/** The master id each node's CLUSTER NODES line on `viewer` shows for node `id`. */
async function masterOf(viewer: Node, id: string): Promise<string> {
  const line = String(await viewer.c.call("cluster", "nodes")).split("\n").find((l) => l.startsWith(id))!;
  return line.split(" ")[3];
}

describe("replica migration to an orphaned primary", () => {
  const nodes: Node[] = [];

  beforeAll(async () => { await buildCluster(nodes); }, 90_000);

  afterAll(async () => {
    for (const n of nodes) {
      n.c.disconnect();
      await n.srv.stop();
    }
  });

  it("moves the smallest-id replica of the two-replica primary to the primary that lost its replica", async () => {
    const [a, b, a1, a2] = nodes;
    expect(await masterOf(a, a1.id)).toBe(a.id);
    await nodes[4].c.quit();
    await nodes[4].srv.stop();
    const mover = a1.id < a2.id ? a1 : a2;
    const stayer = mover === a1 ? a2 : a1;
    await waitFor("a replica of A to replicate B", async () => (await masterOf(b, mover.id)) === b.id, 60_000);
    expect(String(await mover.c.info("replication"))).toMatch(new RegExp(`master_port:${b.srv.port}`));
    // One moved, the other stays with A (the barrier of 1 keeps it).
    expect(await masterOf(b, stayer.id)).toBe(a.id);
    const role = (await b.c.call("role")) as unknown[];
    await waitFor("B to list its new replica in ROLE", async () => ((await b.c.call("role")) as unknown[][])[2].length === 1);
    expect(role[0]).toBe("master");
  }, 90_000);
});

describe("cluster-allow-replica-migration no", () => {
  const nodes: Node[] = [];

  beforeAll(async () => {
    await buildCluster(nodes);
    for (const n of nodes) await n.c.call("config", "set", "cluster-allow-replica-migration", "no");
  }, 90_000);

  afterAll(async () => {
    for (const n of nodes) {
      n.c.disconnect();
      await n.srv.stop();
    }
  });

  it("leaves an orphaned primary without a replica", async () => {
    const [a, b, a1, a2] = nodes;
    await nodes[4].c.quit();
    await nodes[4].srv.stop();
    await waitFor("B's replica to be marked failed", async () =>
      String(await a.c.call("cluster", "nodes")).split("\n").some((l) => l.startsWith(nodes[4].id) && l.includes("fail")), 30_000);
    // Longer than the 5 s a migration waits for.
    await new Promise((r) => setTimeout(r, 8000));
    expect(await masterOf(b, a1.id)).toBe(a.id);
    expect(await masterOf(b, a2.id)).toBe(a.id);
  }, 60_000);
});

describe("a master whose last slot is moved away (CLUSTER SETSLOT ... NODE)", () => {
  const nodes: Node[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const cport = await freePort();
      const srv = await startServer(["--cluster-enabled", "yes", "--cluster-port", String(cport), "--cluster-node-timeout", "2000"]);
      const c = await connectClient(srv.port, { protocol: 2 } as never);
      nodes.push({ srv, c, cport, id: String(await c.call("cluster", "myid")) });
    }
    const [a, b, c] = nodes;
    await a.c.call("cluster", "addslotsrange", "0", "9");
    await c.c.call("cluster", "addslotsrange", "10", "19");
    await b.c.call("cluster", "addslotsrange", "20", "16383");
    for (const n of [b, c]) await a.c.call("cluster", "meet", "127.0.0.1", String(n.srv.port), String(n.cport));
    await waitFor("every node to know every other", async () => {
      for (const n of nodes) if (String(await n.c.call("cluster", "nodes")).trim().split("\n").length !== 3) return false;
      return true;
    });
  }, 60_000);

  afterAll(async () => {
    for (const n of nodes) {
      n.c.disconnect();
      await n.srv.stop();
    }
  });

  async function moveSlots(from: Node, to: Node, first: number, last: number): Promise<void> {
    for (let s = first; s <= last; s++) {
      expect(await to.c.call("cluster", "setslot", String(s), "node", to.id)).toBe("OK");
      expect(await from.c.call("cluster", "setslot", String(s), "node", to.id)).toBe("OK");
    }
  }

  it("turns into the new owner's replica (cluster-allow-replica-migration yes, the default)", async () => {
    const [a, b] = nodes;
    await moveSlots(a, b, 0, 8);
    expect(String(await a.c.call("cluster", "nodes"))).toMatch(/ myself,master /); // one slot left
    await moveSlots(a, b, 9, 9);
    expect(await masterOf(a, a.id)).toBe(b.id);
    await waitFor("A to replicate B", async () => String(await a.c.info("replication")).includes("master_link_status:up"), 30_000);
  }, 60_000);

  it("stays an empty master with cluster-allow-replica-migration no", async () => {
    const [, b, c] = nodes;
    await c.c.call("config", "set", "cluster-allow-replica-migration", "no");
    await moveSlots(c, b, 10, 19);
    expect(await masterOf(c, c.id)).toBe("-");
    expect(String(await c.c.call("cluster", "nodes"))).toMatch(new RegExp(`^${c.id} \\S+ myself,master - .* connected$`, "m"));
  }, 60_000);
});
