// replica-announce-ip: the replica sends REPLCONF ip-address, and its master shows that
// address (not the socket's) in INFO's slaveN line and in ROLE, as Redis's slave_addr.
import { describe, it, expect, afterAll } from "vitest";
import { serverGroup } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

describe("replica-announce-ip", { timeout: 60_000 }, () => {
  const servers = serverGroup(["--repl-diskless-sync-delay", "0"]);
  afterAll(() => servers.stopAll());

  it("the master shows the announced address in INFO and ROLE, and FAILOVER TO finds the replica by it", async () => {
    const { srv: msrv, r: m } = await servers.start();
    const { srv: ssrv, r: s } = await servers.start(["--replica-announce-ip", "10.1.2.3"]);
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("online", async () => (await m.info("replication")).includes("state=online"));
    expect(await m.info("replication")).toContain(`slave0:ip=10.1.2.3,port=${ssrv.port},state=online`);
    const role = (await m.role()) as [string, number, string[][]];
    expect(role[2][0].slice(0, 2)).toEqual(["10.1.2.3", String(ssrv.port)]);
    await expect(m.call("failover", "to", "127.0.0.1", String(ssrv.port))).rejects.toThrow("FAILOVER target HOST and PORT is not a replica.");
  });
});
