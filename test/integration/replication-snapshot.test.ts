// A full resync's RDB comes from the non-blocking copy-on-write snapshot (as Redis's fork
// child): clients are served while it is produced, it is paced by rdb-key-save-delay, it holds
// the background-job slot (rdb_bgsave_in_progress:1, BGSAVE refused), its bytes pass through
// a child process of the server that `kill -9` fails the transfer with, and writes made
// meanwhile reach the replica after the payload.
import { describe, it, expect, afterAll } from "vitest";
import { execFileSync } from "node:child_process";
import type Redis from "ioredis";
import { serverGroup, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

const field = async (r: Redis, section: string, name: string) =>
  (await r.info(section)).match(new RegExp(`^${name}:(.*)$`, "m"))?.[1]?.trim();

/** The pids of the server's child processes (what Redis's tests call get_child_pid). */
function children(srv: RunningServer): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(srv.proc.pid)]).toString().trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there is none
  }
}

describe("full resync snapshot", { timeout: 90_000 }, () => {
  const servers = serverGroup(["--enable-debug-command", "yes"]);
  afterAll(() => servers.stopAll());
  const server = (args: string[] = []) => servers.start(args);

  for (const diskless of ["yes", "no"]) {
    it(`diskless ${diskless}: while rdb-key-save-delay paces the sync, the slot is taken, clients are served, and later writes follow the payload`, async () => {
      const { srv: primary, r: m } = await server(["--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0"]);
      await m.call("debug", "populate", "200", "k");
      await m.config("SET", "rdb-key-save-delay", "5000"); // 200 keys x 5 ms: about a second
      const { r: s } = await server();
      await s.replicaof("127.0.0.1", String(primary.port));
      await until("the snapshot starts", async () => (await field(m, "persistence", "rdb_bgsave_in_progress")) === "1");
      expect(await field(m, "replication", "slave0")).toMatch(/state=wait_bgsave/);
      expect(children(primary)).toHaveLength(1);
      await expect(m.bgsave()).rejects.toThrow(/^ERR Background save already in progress/);
      // Served while the snapshot runs; the write goes to the replica after its RDB.
      await m.set("during", "sync");
      await m.del("k:0");
      expect(await field(s, "replication", "master_link_status")).toBe("down");
      await until("the link is up", async () => (await field(s, "replication", "master_link_status")) === "up");
      expect(await field(m, "persistence", "rdb_bgsave_in_progress")).toBe("0");
      await until("the held stream arrives", async () => (await s.get("during")) === "sync");
      expect(await s.exists("k:0")).toBe(0);
      expect(await s.get("k:199")).toBe("value:199");
      expect(await s.dbsize()).toBe(200);
      expect(await field(m, "replication", "slave0")).toMatch(/state=online/);
      expect(children(primary)).toHaveLength(0);
      // The end in Redis's words and order (the pipe's EOF or the child's dump.rdb, the child's exit, the replica).
      expect(primary.output()).toMatch(diskless === "yes"
        ? /done reading from pipe, 1 replicas still up\.\n.*Background RDB transfer terminated with success\n.*Streamed RDB transfer with replica .* Waiting for REPLCONF ACK from slave/
        : /DB saved on disk\n.*Background saving terminated with success\n.*Synchronization with replica .* succeeded/);
    });
  }

  it("kill -9 of the rdb child fails the transfer: the slot frees, the replica reconnects and syncs again", async () => {
    const { srv: primary, r: m } = await server(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]);
    await m.call("debug", "populate", "100", "k");
    await m.config("SET", "rdb-key-save-delay", "100000"); // 10 s: far longer than the test waits
    const { r: s } = await server();
    await s.replicaof("127.0.0.1", String(primary.port));
    await until("the snapshot starts", async () => (await field(m, "persistence", "rdb_bgsave_in_progress")) === "1");
    const [child] = children(primary);
    expect(child).toBeGreaterThan(0);
    process.kill(child, "SIGKILL");
    await until("the transfer fails", async () => /SYNC failed\. BGSAVE child returned an error/.test(primary.output()), 5000);
    // Redis 7.0.15's lines: the pipe's EOF, then the child's exit with its signal, only then
    // the replica is dropped.
    expect(primary.output()).toMatch(/done reading from pipe, 1 replicas still up\.\n.*# Background transfer terminated by signal 9\n.*SYNC failed/);
    expect(primary.output()).not.toMatch(/Background transfer error/);
    // The replica reconnects at once (as Redis's after a failed transfer), so the next sync may
    // hold the slot again before INFO is read: its start is what shows the slot was freed.
    await until("a second sync", async () => Number(await field(m, "stats", "sync_full")) >= 2, 10_000);
    await m.config("SET", "rdb-key-save-delay", "0");
    // That second sync may have started with the 10 s delay still set.
    await until("the replica syncs again", async () => (await field(s, "replication", "master_link_status")) === "up", 40_000);
    expect(await s.dbsize()).toBe(100);
    expect(Number(await field(m, "stats", "sync_full"))).toBeGreaterThanOrEqual(2);
  });

  it("the last replica dropping kills the rdb child with SIGUSR1, logged as Redis logs it", async () => {
    const { srv: primary, r: m } = await server(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]);
    await m.call("debug", "populate", "100", "k");
    await m.config("SET", "rdb-key-save-delay", "100000"); // 10 s: far longer than the test waits
    const { srv: replica, r: s } = await server();
    await s.replicaof("127.0.0.1", String(primary.port));
    await until("the snapshot starts", async () => (await field(m, "persistence", "rdb_bgsave_in_progress")) === "1");
    s.disconnect();
    await replica.stop();
    await until("the slot frees", async () => (await field(m, "persistence", "rdb_bgsave_in_progress")) === "0", 5000);
    expect(primary.output()).toMatch(/# Diskless rdb transfer, last replica dropped, killing fork child\.\n[\s\S]*# Background transfer terminated by signal 10\n/);
    expect(primary.output()).not.toMatch(/done reading from pipe|Background transfer error/);
    expect(children(primary)).toHaveLength(0);
  });

  it("a replica arriving while a BGSAVE runs waits for the slot, and its sync starts once the BGSAVE ends", async () => {
    const { srv: primary, r: m } = await server(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]);
    await m.call("debug", "populate", "50", "k");
    await m.config("SET", "rdb-key-save-delay", "20000"); // the BGSAVE takes about a second
    expect(await m.bgsave()).toBe("Background saving started");
    const { r: s } = await server();
    await s.replicaof("127.0.0.1", String(primary.port));
    await until("the replica waits", async () => /state=wait_bgsave/.test((await field(m, "replication", "slave0")) ?? ""));
    await m.config("SET", "rdb-key-save-delay", "0");
    await until("the link is up", async () => (await field(s, "replication", "master_link_status")) === "up");
    expect(await s.dbsize()).toBe(50);
    expect(primary.output()).toMatch(/Background saving terminated with success[\s\S]*Starting BGSAVE for SYNC with target: replicas sockets/);
  });

  it("repl-diskless-sync no: a second replica arriving while the RDB is produced shares it", async () => {
    const { srv: primary, r: m } = await server(["--repl-diskless-sync", "no"]);
    await m.call("debug", "populate", "100", "k");
    await m.config("SET", "rdb-key-save-delay", "10000"); // about a second
    const { r: s1 } = await server();
    const { r: s2 } = await server();
    await s1.replicaof("127.0.0.1", String(primary.port));
    await until("the snapshot starts", async () => (await field(m, "persistence", "rdb_bgsave_in_progress")) === "1");
    await m.set("between", "1");
    await s2.replicaof("127.0.0.1", String(primary.port));
    await until("both are waiting", async () => Number(await field(m, "replication", "connected_slaves")) === 2);
    await m.set("after", "2");
    for (const s of [s1, s2]) {
      await until("the link is up", async () => (await field(s, "replication", "master_link_status")) === "up");
      await until("the stream arrives", async () => (await s.get("after")) === "2");
      expect(await s.get("between")).toBe("1");
      expect(await s.dbsize()).toBe(102);
    }
    expect(primary.output()).toMatch(/Waiting for end of BGSAVE for SYNC/);
    expect(primary.output().match(/Starting BGSAVE for SYNC with target: disk/g)).toHaveLength(1);
  });
});
