// A restarted master restores its replication history from the RDB's aux fields (repl-id,
// repl-offset, repl-stream-db) as Redis's loadDataFromDisk does: the old id becomes replid2
// valid up to the saved offset, so its replicas continue partially instead of a full resync.
// A replica started with replicaof syncs only once its own data has loaded.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, connectClient, freePort, type RunningServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { until, infoField as field } from "../helpers/wait.js";

describe("master restart", { timeout: 90_000 }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const f of cleanup.reverse()) await f(); });

  it("keeps its history through the RDB: the replica continues partially and the stream goes on in its db", async () => {
    const args = ["--repl-diskless-sync-delay", "0", "--save", "3600 1"];
    const at = { port: await freePort(), dir: mkdtempSync(join(tmpdir(), "lkv-restart-")) };
    cleanup.push(async () => rmSync(at.dir, { recursive: true, force: true }));
    let primary: RunningServer = await startServer(args, {}, at);
    cleanup.push(() => primary.stop());
    let m = await connectClient(primary.port);
    const replica = await startServer();
    cleanup.push(() => replica.stop());
    const s = await connectClient(replica.port);
    cleanup.push(async () => s.disconnect());
    await s.replicaof("127.0.0.1", String(primary.port));
    await until("link up", async () => (await field(s, "master_link_status")) === "up");
    await m.select(3);
    await m.set("k", "1");
    const replid = await field(m, "master_replid");
    const offset = Number(await field(m, "master_repl_offset"));
    await until("caught up", async () => Number(await field(s, "master_repl_offset")) === offset);
    // ...and acknowledged: a SIGTERM with a lagging replica first asks it for an ACK (REPLCONF
    // GETACK, which moves the offset on) and waits, as Redis's prepareForShutdown.
    await until("acknowledged", async () => (await m.info("replication")).includes(`offset=${offset},`));
    m.disconnect();
    await primary.stop(); // SIGTERM: the final save writes the RDB with the aux fields
    primary = await startServer(args, {}, at);
    cleanup.push(() => primary.stop());
    m = await connectClient(primary.port);
    cleanup.push(async () => m.disconnect());
    expect(await field(m, "master_replid2")).toBe(replid);
    expect(await field(m, "master_replid")).not.toBe(replid);
    expect(Number(await field(m, "second_repl_offset"))).toBe(offset + 1);
    expect(Number(await field(m, "master_repl_offset"))).toBe(offset);
    expect(Number(await field(m, "repl_backlog_first_byte_offset"))).toBe(offset + 1);
    await until("link up again", async () => (await field(s, "master_link_status")) === "up");
    expect(await field(m, "sync_partial_ok")).toBe("1");
    expect(await field(m, "sync_full")).toBe("0");
    await m.select(3);
    await m.set("k2", "2"); // db 3 again: no SELECT is sent, the replica's stream is still in db 3
    await until("k2 arrives", async () => { await s.select(3); return (await s.get("k2")) === "2"; });
    await s.select(0);
    expect(await s.dbsize()).toBe(0);
    expect(await field(s, "master_replid")).toBe(await field(m, "master_replid"));
  });
  // Before: the link was made in listen(), before the start-up load began, so a full sync
  // loaded the master's RDB under the replica's own load, which then died ("Fatal error
  // loading the DB: Cannot set properties of null").
  for (const kind of ["LatticeKV", ...(hasRealRedis ? ["redis-server"] : [])]) {
    it(`${kind}: a replica started with replicaof and data of its own syncs only once that data has loaded`, async () => {
      const master = await startServer(["--repl-diskless-sync-delay", "0"]);
      cleanup.push(() => master.stop());
      const m = await connectClient(master.port);
      cleanup.push(async () => m.disconnect());
      await m.set("master-key", "m");
      // The replica's own dump.rdb: 2000 keys, loaded at 1 ms a key (key-load-delay).
      const dir = mkdtempSync(join(tmpdir(), "lkv-restart-"));
      cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
      const start = async (args: string[]) => {
        if (kind === "redis-server") {
          const srv = await startRealRedis(args, dir);
          return { port: srv.port, output: srv.output, stop: () => srv.stop(false) };
        }
        return startServer(args, {}, { port: await freePort(), dir });
      };
      const own = await start(["--enable-debug-command", "yes"]);
      const o = await connectClient(own.port);
      await o.call("DEBUG", "POPULATE", "2000", "own");
      expect(await o.save()).toBe("OK");
      o.disconnect();
      await own.stop();
      const replica = await start(["--key-load-delay", "1000", "--replicaof", "127.0.0.1", String(master.port)]);
      cleanup.push(() => replica.stop());
      const r = await connectClient(replica.port);
      cleanup.push(async () => r.disconnect());
      await until("link up", async () => (await field(r, "master_link_status")) === "up");
      expect(await r.keys("*")).toEqual(["master-key"]);
      const log = replica.output();
      expect(log).toContain("keys loaded: 2000");
      expect(log.indexOf("Connecting to MASTER")).toBeGreaterThan(log.indexOf("DB loaded from disk"));
    });
  }

  it("a replica restarted after CONFIG REWRITE finds its master in the file and continues partially", async () => {
    const primary = await startServer(["--repl-diskless-sync-delay", "0"]);
    cleanup.push(() => primary.stop());
    const m = await connectClient(primary.port);
    cleanup.push(async () => m.disconnect());
    const at = { port: await freePort(), dir: mkdtempSync(join(tmpdir(), "lkv-restart-")), configFile: "" };
    at.configFile = join(at.dir, "replica.conf");
    writeFileSync(at.configFile, "appendonly no\n");
    cleanup.push(async () => rmSync(at.dir, { recursive: true, force: true }));
    const args = ["--save", "3600 1"];
    let replica = await startServer(args, {}, at);
    cleanup.push(() => replica.stop());
    let s = await connectClient(replica.port);
    await s.replicaof("127.0.0.1", String(primary.port));
    await until("link up", async () => (await field(s, "master_link_status")) === "up");
    await m.set("k", "1");
    await until("k arrives", async () => (await s.get("k")) === "1");
    expect(await s.config("GET", "replicaof")).toEqual(["replicaof", `127.0.0.1 ${primary.port}`]);
    expect(await s.config("REWRITE")).toBe("OK");
    expect(readFileSync(at.configFile, "latin1")).toContain(`replicaof 127.0.0.1 ${primary.port}`);
    s.disconnect();
    await replica.stop(); // SIGTERM: the final save keeps the replica's offset in the RDB
    await m.set("k2", "2"); // written while the replica is down: the partial resync brings it
    replica = await startServer(args, {}, at);
    cleanup.push(() => replica.stop());
    s = await connectClient(replica.port);
    cleanup.push(async () => s.disconnect());
    await until("k2 arrives", async () => (await s.get("k2")) === "2");
    expect(await field(m, "sync_partial_ok")).toBe("1");
    expect(await field(m, "sync_full")).toBe("1");
  });
});
