// A replica with appendonly yes and a full sync (Redis's readSyncBulkPayload and
// restartAOFAfterSYNC, src/repl/sync-aof.ts): the AOF is stopped before the master's RDB
// replaces the data and rewritten from it once the load succeeded, so a restart brings back
// the master's data, not the replica's old keys. A sync that fails after the AOF stopped
// leaves it off until a later sync succeeds or REPLICAOF NO ONE. Each test runs with our
// replica and with redis-server 7.0.15 as the replica of the same LatticeKV master.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startServer, connectClient, freePort } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { until, infoField as field } from "../helpers/wait.js";

/** A replica process that can be stopped and started again on the same dir. */
interface Replica { port: number; stop(): Promise<void> }
type StartReplica = (args: string[], dir: string) => Promise<Replica>;

const ours: StartReplica = async (args, dir) => {
  const srv = await startServer(args, {}, { port: await freePort(), dir });
  return { port: srv.port, stop: () => srv.stop() };
};
const real: StartReplica = async (args, dir) => {
  const srv = await startRealRedis(args, dir);
  return { port: srv.port, stop: () => srv.stop(false) };
};

const kinds: [string, StartReplica][] = [["LatticeKV", ours], ...(hasRealRedis ? [["redis-server", real] as [string, StartReplica]] : [])];

describe("a replica's AOF across a full sync", { timeout: 120_000 }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const f of cleanup.reverse()) await f(); });

  for (const [kind, start] of kinds) {
    for (const load of ["disabled", "swapdb"]) {
      it(`${kind}, repl-diskless-load ${load}: after the sync and a restart, the AOF holds the master's data`, async () => {
        const master = await startServer(["--repl-diskless-sync-delay", "0"]);
        cleanup.push(() => master.stop());
        const m = await connectClient(master.port);
        cleanup.push(async () => m.disconnect());
        await m.set("master-key", "m");
        const dir = mkdtempSync(join(tmpdir(), "lkv-repl-aof-"));
        cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
        const args = ["--appendonly", "yes", "--repl-diskless-load", load];
        let replica = await start(args, dir);
        cleanup.push(() => replica.stop());
        let r: Redis = await connectClient(replica.port);
        await r.set("old-key", "o"); // in the replica's AOF before the sync
        await r.replicaof("127.0.0.1", String(master.port));
        await until("link up", async () => (await field(r, "master_link_status")) === "up");
        await m.set("after-sync", "a"); // the stream after the sync
        await until("after-sync arrives", async () => (await r.get("after-sync")) === "a");
        await until("the AOF back on, its rewrite done", async () =>
          (await field(r, "aof_enabled")) === "1" && (await field(r, "aof_rewrite_in_progress")) === "0");
        expect((await r.keys("*")).sort()).toEqual(["after-sync", "master-key"]);
        r.disconnect();
        await replica.stop();
        // Started again without replicaof: the dataset is the AOF's alone.
        replica = await start(["--appendonly", "yes"], dir);
        cleanup.push(() => replica.stop());
        r = await connectClient(replica.port);
        cleanup.push(async () => r.disconnect());
        await until("loaded", async () => (await field(r, "loading")) === "0");
        expect((await r.keys("*")).sort()).toEqual(["after-sync", "master-key"]);
      });
    }

    it(`${kind}: a diskless load that fails leaves the AOF off until REPLICAOF NO ONE rewrites it`, async () => {
      // 40 keys at 100 ms each: the transfer lasts ~4 s, long enough to see it and cut it. Values
      // of 2 kB that LZF cannot shrink (rdbcompression yes), so a loading Redis answers INFO
      // between keys (loading-process-events-interval-bytes).
      const master = await startServer(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]);
      cleanup.push(() => master.stop());
      const m = await connectClient(master.port);
      cleanup.push(async () => m.disconnect());
      for (let i = 0; i < 40; i++) await m.set(`k${i}`, randomBytes(1500).toString("base64"));
      await m.config("SET", "rdb-key-save-delay", "100000");
      const dir = mkdtempSync(join(tmpdir(), "lkv-repl-aof-"));
      cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
      const replica = await start(["--appendonly", "yes", "--repl-diskless-load", "on-empty-db", "--loading-process-events-interval-bytes", "1024"], dir);
      cleanup.push(() => replica.stop());
      const r = await connectClient(replica.port);
      cleanup.push(async () => r.disconnect());
      expect(await field(r, "aof_enabled")).toBe("1");
      const rewrites = Number(await field(r, "aof_rewrites"));
      await r.replicaof("127.0.0.1", String(master.port));
      await until("loading from the socket", async () => (await field(r, "loading")) === "1");
      expect(await field(r, "aof_enabled")).toBe("0");
      // The next sync waits a minute; the one under way is cut.
      await m.config("SET", "repl-diskless-sync-delay", "60");
      await m.client("KILL", "TYPE", "replica");
      await until("the load failed", async () => (await field(r, "loading")) === "0");
      expect(await field(r, "aof_enabled")).toBe("0");
      expect(await r.replicaof("NO", "ONE")).toBe("OK");
      await until("the AOF back on, its rewrite done", async () =>
        (await field(r, "aof_enabled")) === "1" && (await field(r, "aof_rewrite_in_progress")) === "0");
      expect(Number(await field(r, "aof_rewrites"))).toBe(rewrites + 1);
    });
  }
});
