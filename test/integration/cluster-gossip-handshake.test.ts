// A node learnt from gossip is added even when a handshake node holds its address (Redis's
// clusterProcessGossipSection checks only the name, NOADDR and the FORGET blacklist). A drops
// MEETs (DEBUG DROP-CLUSTER-PACKET-FILTER 2), so C's CLUSTER MEET of A stays a handshake for
// the node timeout; C then meets B, which knows A and gossips about it. Real redis-server
// 7.0.15 in this layout (/tmp/cl14/gh.sh): C lists A under its real id within 1.2 s, beside the
// handshake node for the same address; ours skipped A while the handshake lasted.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { serverGroup, type RunningServer } from "../helpers/server.js";
import type Redis from "ioredis";
import { until } from "../helpers/wait.js";

// A handshake lasts the node timeout: 30 s leaves room for gossip on a loaded machine.
const group = serverGroup(["--cluster-enabled", "yes", "--cluster-node-timeout", "30000", "--enable-debug-command", "yes"]);

describe("cluster gossip about a node whose address is in a handshake (3 nodes)", () => {
  let a: { srv: RunningServer; r: Redis };
  let b: { srv: RunningServer; r: Redis };
  let c: { srv: RunningServer; r: Redis };

  beforeAll(async () => {
    a = await group.start();
    b = await group.start();
    c = await group.start();
    await a.r.cluster("MEET", "127.0.0.1", String(b.srv.port));
    const aId = String(await a.r.cluster("MYID"));
    await until("B knows A", async () => String(await b.r.cluster("NODES")).includes(aId), 30_000);
  }, 60_000);

  afterAll(() => group.stopAll());

  it("adds the gossiped node by name beside the handshake", async () => {
    const aId = String(await a.r.cluster("MYID"));
    expect(await a.r.call("DEBUG", "DROP-CLUSTER-PACKET-FILTER", "2")).toBe("OK");
    expect(await c.r.cluster("MEET", "127.0.0.1", String(a.srv.port))).toBe("OK");
    await until("C's handshake with A's address", async () => String(await c.r.cluster("NODES")).includes("handshake"), 10_000);
    expect(await c.r.cluster("MEET", "127.0.0.1", String(b.srv.port))).toBe("OK");
    // Well inside the 30 s the handshake lasts (real Redis: 1.2 s).
    await until("C knows A by name from B's gossip", async () =>
      String(await c.r.cluster("NODES")).split("\n").some((l) => l.startsWith(aId)), 20_000);
    const lines = String(await c.r.cluster("NODES")).trim().split("\n");
    expect(lines.filter((l) => l.includes(`127.0.0.1:${a.srv.port}@`)).map((l) => l.split(" ")[2]).sort()).toEqual(["handshake", "master"]);
  }, 60_000);
});
