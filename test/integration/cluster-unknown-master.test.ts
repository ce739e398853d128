// A replica's bus header advertises its master's slots; only a master's header claims slots
// (Redis's clusterProcessPacket takes the sender's role from the header). When the master is
// unknown here (forgotten, or not learnt yet), the replica must not become the owner of those
// slots. Three nodes: M serves every slot, R replicates M, X forgets M.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { serverGroup, type RunningServer } from "../helpers/server.js";
import type Redis from "ioredis";
import { until } from "../helpers/wait.js";

const group = serverGroup(["--cluster-enabled", "yes", "--cluster-node-timeout", "2000"]);

describe("cluster replica of an unknown master (3 nodes)", () => {
  let m: { srv: RunningServer; r: Redis };
  let rep: { srv: RunningServer; r: Redis };
  let x: { srv: RunningServer; r: Redis };

  beforeAll(async () => {
    m = await group.start();
    rep = await group.start();
    x = await group.start();
    await m.r.cluster("MEET", "127.0.0.1", String(rep.srv.port));
    await m.r.cluster("MEET", "127.0.0.1", String(x.srv.port));
    await m.r.cluster("ADDSLOTSRANGE", "0", "16383");
    const mId = String(await m.r.cluster("MYID"));
    await until("every node knows the others", async () => {
      for (const n of [m, rep, x]) if (String(await n.r.cluster("NODES")).trim().split("\n").length !== 3) return false;
      return true;
    }, 30_000);
    expect(await rep.r.cluster("REPLICATE", mId)).toBe("OK");
    const repId = String(await rep.r.cluster("MYID"));
    await until("X sees R as M's replica", async () => String(await x.r.cluster("NODES")).includes(`slave ${mId}`) &&
      String(await x.r.cluster("NODES")).split("\n").some((l) => l.startsWith(repId) && l.includes(mId)), 30_000);
  }, 60_000);

  afterAll(() => group.stopAll());

  it("does not take its master's slots as its own", async () => {
    const mId = String(await m.r.cluster("MYID"));
    expect(await x.r.cluster("FORGET", mId)).toBe("OK");
    // R keeps pinging X with its master's slots in every header: give it several.
    await new Promise((r) => setTimeout(r, 4000));
    expect(await x.r.cluster("SLOTS")).toEqual([]);
    const repId = String(await rep.r.cluster("MYID"));
    const line = String(await x.r.cluster("NODES")).split("\n").find((l) => l.startsWith(repId)) ?? "";
    expect(line.split(" ").slice(8)).toEqual([]);
    // Still a replica, of a master X does not know: "slave -" (clusterGenNodeDescription with
    // slaveof NULL), and no shard of its own in CLUSTER SHARDS (only masters head one).
    expect(line.split(" ").slice(2, 4)).toEqual(["slave", "-"]);
    const shards = await x.r.cluster("SHARDS") as unknown[][];
    const ids = shards.flatMap((sh) => (sh[3] as unknown[][]).map((node) => String(node[1])));
    expect(ids).not.toContain(repId);
  }, 30_000);
});
