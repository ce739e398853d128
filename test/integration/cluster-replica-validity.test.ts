// A replica runs for election only with data recent enough to replace its master (Redis's
// clusterHandleSlaveFailover: data age against cluster-replica-validity-factor). A replica whose
// link to its master was never up has no data at all: Redis's repl_down_since is 0 then, so
// its data age is unbounded and it never fails over, even though its master is marked FAIL and
// the other masters would vote. Here: three masters, one of them killed and marked FAIL, and a
// fourth, empty node told to CLUSTER REPLICATE the dead one.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { serverGroup, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

const NODE_TIMEOUT = 1000;
const group = serverGroup(["--cluster-enabled", "yes", "--cluster-node-timeout", String(NODE_TIMEOUT)]);

const nodesLine = async (r: Redis, id: string) =>
  String(await r.cluster("NODES")).split("\n").find((l) => l.startsWith(id)) ?? "";

describe("cluster replica validity (3 masters + 1 replica)", () => {
  let a: { srv: RunningServer; r: Redis };
  let b: { srv: RunningServer; r: Redis };
  let c: { srv: RunningServer; r: Redis };
  let rep: { srv: RunningServer; r: Redis };
  let aId: string;

  beforeAll(async () => {
    a = await group.start();
    b = await group.start();
    c = await group.start();
    rep = await group.start();
    for (const n of [b, c, rep]) await a.r.cluster("MEET", "127.0.0.1", String(n.srv.port));
    await a.r.cluster("ADDSLOTSRANGE", "0", "5460");
    await b.r.cluster("ADDSLOTSRANGE", "5461", "10922");
    await c.r.cluster("ADDSLOTSRANGE", "10923", "16383");
    aId = String(await a.r.cluster("MYID"));
    await until("cluster_state:ok on every node", async () => {
      for (const n of [a, b, c, rep]) if (!String(await n.r.cluster("INFO")).includes("cluster_state:ok")) return false;
      return true;
    }, 30_000);
  }, 60_000);

  afterAll(() => group.stopAll());

  it("a replica that never synced with its failed master does not take its slots", async () => {
    a.r.disconnect();
    await a.srv.stop();
    await until("the masters mark A as failed", async () =>
      (await nodesLine(b.r, aId)).split(" ")[2].split(",").includes("fail") &&
      (await nodesLine(c.r, aId)).split(" ")[2].split(",").includes("fail"), 20_000);
    // Redis accepts a failed master as the one to replicate: only a replica is refused.
    expect(await rep.r.cluster("REPLICATE", aId)).toBe("OK");
    await until("B sees the new node as A's replica", async () => (await nodesLine(b.r, String(await rep.r.cluster("MYID")))).includes(` ${aId} `));
    // An election would start within 0.5-1 s (plus rank) and B and C would vote: wait well past it.
    await new Promise((r) => setTimeout(r, 5 * NODE_TIMEOUT));
    const myself = String(await rep.r.cluster("NODES")).split("\n").find((l) => l.includes("myself")) ?? "";
    expect(myself.split(" ")[2]).toBe("myself,slave");
    expect(myself.split(" ")[3]).toBe(aId);
    // A's slots are still A's on the other masters (no failover moved them).
    const slots = (await b.r.cluster("SLOTS")) as [number, number, [string, number, string]][];
    expect(slots.find((s) => s[0] === 0)?.[2][2]).toBe(aId);
  }, 60_000);
});
