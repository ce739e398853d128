// A failure report (another master's gossip that a node is PFAIL) is kept until it expires
// (2 x cluster-node-timeout) or its reporter says the node is fine again, as Redis's
// clusterNodeCleanupFailureReports / clusterNodeDelFailureReport; a message from the reported
// node itself removes nothing. Three masters: B (node timeout 1 s) drops every PONG
// (DEBUG DROP-CLUSTER-PACKET-FILTER 1), so it suspects C for good (only a PONG clears PFAIL)
// and says so in every message to A; C keeps talking to A. Real redis-server 7.0.15 in this
// layout (/tmp/cl14/fr.sh): A's CLUSTER COUNT-FAILURE-REPORTS about C stays 1 once the first
// report arrives (40 samples in 8 s); ours went 1, 0, 1, 0 as C's own messages deleted it.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { serverGroup, type RunningServer } from "../helpers/server.js";
import type Redis from "ioredis";
import { until } from "../helpers/wait.js";

const group = serverGroup(["--cluster-enabled", "yes", "--enable-debug-command", "yes"]);

describe("cluster failure reports (3 masters, one dropping PONGs)", () => {
  let a: { srv: RunningServer; r: Redis };
  let b: { srv: RunningServer; r: Redis };
  let c: { srv: RunningServer; r: Redis };

  beforeAll(async () => {
    a = await group.start(["--cluster-node-timeout", "15000"]);
    b = await group.start(["--cluster-node-timeout", "1000"]);
    c = await group.start(["--cluster-node-timeout", "15000"]);
    await a.r.cluster("MEET", "127.0.0.1", String(b.srv.port));
    await a.r.cluster("MEET", "127.0.0.1", String(c.srv.port));
    await a.r.cluster("ADDSLOTSRANGE", "0", "5000");
    await b.r.cluster("ADDSLOTSRANGE", "5001", "10000");
    await c.r.cluster("ADDSLOTSRANGE", "10001", "16383");
    await until("every node knows every slot", async () => {
      for (const n of [a, b, c]) if ((await n.r.cluster("SLOTS") as unknown[]).length !== 3) return false;
      return true;
    }, 30_000);
  }, 60_000);

  afterAll(() => group.stopAll());

  it("keeps a master's report about a node while that node keeps talking to us", async () => {
    const cId = String(await c.r.cluster("MYID"));
    expect(await b.r.call("DEBUG", "DROP-CLUSTER-PACKET-FILTER", "1")).toBe("OK");
    const reports = async () => Number(await a.r.cluster("COUNT-FAILURE-REPORTS", cId));
    await until("B's report about C reaches A", async () => (await reports()) >= 1, 20_000);
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      seen.push(await reports());
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(seen).toEqual(Array(20).fill(1));
    // Nobody but B suspects C: no quorum, C is not marked failed.
    expect(String(await a.r.cluster("NODES"))).not.toMatch(new RegExp(`^${cId} \\S+ master,fail`, "m"));
  }, 60_000);
});
