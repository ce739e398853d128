// Emptying the dataset is the server's own work, not a command (Redis's emptyData): DEBUG
// RELOAD and a replica's full sync flush and load without propagating the flush anywhere and
// without counting it in INFO. Before, our emptyData ran FLUSHALL as a command: a master's
// DEBUG RELOAD sent FLUSHALL to its replicas, which then held nothing while the master had
// reloaded everything. Each replica test runs with our replica and with redis-server 7.0.15.
import { describe, it, expect, afterAll } from "vitest";
import { startServer, connectClient } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { until, infoField as field } from "../helpers/wait.js";

type StartReplica = () => Promise<{ port: number; stop(): Promise<void> }>;
const ours: StartReplica = async () => startServer();
const real: StartReplica = async () => {
  const srv = await startRealRedis([]);
  return { port: srv.port, stop: () => srv.stop(true) };
};
const kinds: [string, StartReplica][] = [["LatticeKV", ours], ...(hasRealRedis ? [["redis-server", real] as [string, StartReplica]] : [])];

describe("emptyData is no command", { timeout: 60_000 }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const f of cleanup.reverse()) await f(); });

  for (const [kind, start] of kinds) {
    it(`a master's DEBUG RELOAD leaves its replica's data (${kind} replica)`, async () => {
      const master = await startServer(["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"]);
      cleanup.push(() => master.stop());
      const m = await connectClient(master.port);
      cleanup.push(async () => m.disconnect());
      await m.mset("a", "1", "b", "2");
      const replica = await start();
      cleanup.push(() => replica.stop());
      const r = await connectClient(replica.port);
      cleanup.push(async () => r.disconnect());
      await r.replicaof("127.0.0.1", String(master.port));
      await until("the replica holds both keys", async () => (await r.dbsize()) === 2);
      expect(await m.call("debug", "reload")).toBe("OK");
      // A write after the reload: once it arrives, everything before it in the stream has too.
      await m.set("c", "3");
      await until("c arrives", async () => (await r.get("c")) === "3");
      expect((await r.keys("*")).sort()).toEqual(["a", "b", "c"]);
      expect(await field(r, "master_link_status")).toBe("up");
    });
  }

  it("a replica's full sync and DEBUG RELOAD count no FLUSHALL call and no change, and still touch WATCHed keys", async () => {
    const master = await startServer(["--repl-diskless-sync-delay", "0"]);
    cleanup.push(() => master.stop());
    const m = await connectClient(master.port);
    cleanup.push(async () => m.disconnect());
    await m.set("k", "master");
    const srv = await startServer(["--enable-debug-command", "yes"]);
    cleanup.push(() => srv.stop());
    const r = await connectClient(srv.port);
    cleanup.push(async () => r.disconnect());
    await r.set("mine", "1");
    await r.replicaof("127.0.0.1", String(master.port));
    await until("the sync's data", async () => (await r.get("k")) === "master");
    // The SET before the sync is the only change: neither the flush nor the load counts one
    // (redis-server 7.0.15 shows 1 here too).
    expect(await field(r, "rdb_changes_since_last_save")).toBe("1");
    await r.replicaof("no", "one");
    // WATCH, then the server reloads: EXEC fails, as signalFlushedDb makes it in Redis.
    const w = await connectClient(srv.port);
    cleanup.push(async () => w.disconnect());
    await w.watch("k");
    expect(await r.call("debug", "reload")).toBe("OK");
    expect(await w.multi().get("k").exec()).toBeNull();
    expect(await r.get("k")).toBe("master");
    const stats = String(await r.info("commandstats"));
    expect(stats).not.toMatch(/cmdstat_flushall/);
    // DEBUG RELOAD saved (the counter restarts at 0) and the flush added nothing to it.
    expect(await field(r, "rdb_changes_since_last_save")).toBe("0");
  });
});
