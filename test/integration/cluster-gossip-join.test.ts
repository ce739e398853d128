// A node learnt from gossip is added under its own name and PINGed, not MEETed (Redis 7.0's
// clusterProcessGossipSection: createClusterNode with the gossiped flags, no CLUSTER_NODE_MEET).
// A MEET makes its receiver take the sender's configuration even when the receiver would not
// take its PINGs; Tcl 27-endpoints relies on that not happening: its isolated node and node 0
// both drop PINGs (DEBUG DROP-CLUSTER-PACKET-FILTER 0), the isolated node must know node 0 by
// name (from gossip) without learning its slots, and must not hold a handshake for its address.
// Three nodes: A and P serve half the slots each, X joins through A while X and P drop PINGs.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { serverGroup, type RunningServer } from "../helpers/server.js";
import type Redis from "ioredis";
import { until } from "../helpers/wait.js";

const group = serverGroup(["--cluster-enabled", "yes", "--cluster-node-timeout", "5000", "--enable-debug-command", "yes"]);

describe("cluster node learnt from gossip (3 nodes, PINGs dropped between two)", () => {
  let a: { srv: RunningServer; r: Redis };
  let p: { srv: RunningServer; r: Redis };
  let x: { srv: RunningServer; r: Redis };

  beforeAll(async () => {
    a = await group.start();
    p = await group.start();
    x = await group.start();
    await a.r.cluster("MEET", "127.0.0.1", String(p.srv.port));
    await a.r.cluster("ADDSLOTSRANGE", "0", "8191");
    await p.r.cluster("ADDSLOTSRANGE", "8192", "16383");
    await until("A and P know each other's slots", async () =>
      (await a.r.cluster("SLOTS") as unknown[]).length === 2 && (await p.r.cluster("SLOTS") as unknown[]).length === 2, 30_000);
  }, 60_000);

  afterAll(() => group.stopAll());

  it("knows the node by name, without its slots and without a handshake for its address", async () => {
    expect(await p.r.call("DEBUG", "DROP-CLUSTER-PACKET-FILTER", "0")).toBe("OK");
    expect(await x.r.call("DEBUG", "DROP-CLUSTER-PACKET-FILTER", "0")).toBe("OK");
    expect(await a.r.cluster("MEET", "127.0.0.1", String(x.srv.port))).toBe("OK");
    const pId = String(await p.r.cluster("MYID"));
    const xId = String(await x.r.cluster("MYID"));
    await until("X and P learn each other from A's gossip", async () =>
      String(await x.r.cluster("NODES")).includes(pId) && String(await p.r.cluster("NODES")).includes(xId), 30_000);
    // Time for P's link to X to be made and its first message sent (a MEET, before).
    await new Promise((r) => setTimeout(r, 3000));
    const nodes = String(await x.r.cluster("NODES"));
    expect(nodes).not.toContain("handshake");
    const pLine = nodes.split("\n").find((l) => l.startsWith(pId)) ?? "";
    expect(pLine.split(" ").slice(8)).toEqual([]);
    const slots = await x.r.cluster("SLOTS") as [number, number][];
    expect(slots.map(([s, e]) => [s, e])).toEqual([[0, 8191]]);
  }, 60_000);
});
