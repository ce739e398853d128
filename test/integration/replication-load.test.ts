// The replica's side of a full sync once the payload arrived: the RDB is loaded in slices with
// the LOADING gate up, as Redis's replica loads it (INFO loading:1, -LOADING, ROLE "sync",
// master_sync_in_progress:1; key-load-delay makes it observable), and the stream the master
// sent meanwhile is applied after it. On the master, a disk-target sync is a BGSAVE: it also
// writes dump.rdb and restarts the changes counter.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { existsSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { serverGroup } from "../helpers/server.js";
import { until as untilEvery, infoField as field } from "../helpers/wait.js";

/** This file waits up to 30 s, polling every 20 ms. */
const until = (what: string, cond: () => Promise<boolean>, ms = 30_000) => untilEvery(what, cond, ms, 20);

/**
 * Drops m's replica link and moves m's backlog past it in one transaction: the replica's PSYNC
 * then fails, and it resyncs in full from a master with the same replid.
 */
async function fullSyncSameReplid(m: Redis): Promise<void> {
  const tx = m.multi();
  tx.call("client", "kill", "type", "replica");
  tx.config("SET", "repl-backlog-size", "16384");
  for (let i = 0; i < 10; i++) tx.set(`big${i}`, "A".repeat(16384));
  await tx.exec();
}

describe("full sync: loading on the replica, dump.rdb on the master", { timeout: 90_000 }, () => {
  const servers = serverGroup(["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"]);
  afterAll(() => servers.stopAll());

  it("the replica reports loading while it loads the master's RDB, then applies what the master wrote meanwhile", async () => {
    const { srv: msrv, r: m } = await servers.start();
    await m.call("debug", "populate", "2000", "key");
    const { r: s } = await servers.start(["--key-load-delay", "500"]); // 2000 keys: about a second
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("loading", async () => (await field(s, "loading")) === "1");
    expect(await field(s, "master_sync_in_progress")).toBe("1");
    expect((await s.role())[3]).toBe("sync");
    await expect(s.get("key:1")).rejects.toThrow("LOADING");
    await m.set("during", "load"); // reaches the replica after its load
    await until("loaded", async () => (await field(s, "master_link_status")) === "up", 60_000);
    expect(await field(s, "loading")).toBe("0");
    await until("the write made during the load", async () => (await s.get("during")) === "load");
    expect(await s.dbsize()).toBe(2001);
    expect(await s.call("debug", "digest")).toBe(await m.call("debug", "digest"));
  });

  it("128 MB the master writes during a long load are held, then applied on the same link", { timeout: 300_000 }, async () => {
    // A disk-target master sends the stream at once; the replica holds it while it loads. It
    // was appended to one buffer per read, a copy of all of it each time: quadratic (minutes
    // for the write flood of integration/replication's "Connect multiple replicas"; the waits
    // below would time out). What must hold whatever the machine's speed: every byte of the
    // stream is applied, on the link of the one full sync (a stream dropped on the way ends
    // in another sync, or in missing keys).
    const { srv: msrv, r: m } = await servers.start(["--repl-diskless-sync", "no"]);
    await m.call("debug", "populate", "2000", "key");
    const { r: s } = await servers.start(["--key-load-delay", "2000"]); // 2000 keys: about 4 s
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("loading", async () => (await field(s, "loading")) === "1");
    const value = "x".repeat(64 * 1024);
    for (let batch = 0; batch < 16; batch++) {
      const p = m.pipeline();
      for (let i = 0; i < 128; i++) p.set(`big:${batch}:${i}`, value);
      await p.exec();
    }
    const final = Number(await field(m, "master_repl_offset"));
    // Generous waits (24 s in all at load 30): the check is what arrives, not how fast.
    await until("loaded", async () => (await field(s, "master_link_status")) === "up", 120_000);
    // At least: the master PINGs its replicas every 10 s, which moves both offsets on.
    await until("the whole stream applied", async () => Number(await field(s, "slave_repl_offset")) >= final, 120_000);
    expect(await s.dbsize()).toBe(2000 + 16 * 128);
    expect(await s.strlen("big:15:127")).toBe(64 * 1024);
    expect(await field(m, "sync_full")).toBe("1");
    expect(await field(m, "sync_partial_ok")).toBe("0");
    expect(await field(s, "master_sync_in_progress")).toBe("0");
  });

  it("the stream held during a load is applied in slices: the replica answers while it catches up", async () => {
    // Redis's replica reads its master 16 kB per event, so clients are served while it applies
    // a backlog; ours applied everything held during the load in one go, and its first answer
    // after the load came only once all of it was applied.
    const { srv: msrv, r: m } = await servers.start(["--repl-diskless-sync", "no"]);
    await m.call("debug", "populate", "2000", "key");
    const { r: s } = await servers.start(["--key-load-delay", "5000"]); // 2000 keys: about 10 s
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("loading", async () => (await field(s, "loading")) === "1");
    for (let batch = 0; batch < 20; batch++) {
      const p = m.pipeline();
      for (let i = 0; i < 10_000; i++) p.set(`small:${batch}:${i}`, "v");
      await p.exec();
    }
    const final = Number(await field(m, "master_repl_offset"));
    expect(await field(s, "loading")).toBe("1"); // all of it is held by the replica's load
    let behind = -1;
    await until("loaded", async () => {
      const info = await s.info("replication");
      if (!/master_link_status:up/.test(info)) return false;
      behind = final - Number(/slave_repl_offset:(\d+)/.exec(info)![1]);
      return true;
    }, 60_000);
    expect(behind).toBeGreaterThan(0);
    // (The master's PINGs move its offset on meanwhile.)
    await until("caught up", async () => Number(await field(s, "slave_repl_offset")) === Number(await field(m, "master_repl_offset")), 60_000);
    expect(await s.dbsize()).toBe(2000 + 200_000);
  });

  it("a disk-target sync writes dump.rdb on the master and resets rdb_changes_since_last_save", async () => {
    const { srv: msrv, r: m } = await servers.start(["--repl-diskless-sync", "no"]);
    for (let i = 0; i < 10; i++) await m.set(`k${i}`, String(i));
    expect(await field(m, "rdb_changes_since_last_save")).toBe("10");
    expect(existsSync(join(msrv.dir, "dump.rdb"))).toBe(false);
    const { r: s } = await servers.start();
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("link up", async () => (await field(s, "master_link_status")) === "up");
    await until("dump.rdb written", async () => existsSync(join(msrv.dir, "dump.rdb")));
    await until("counter reset", async () => (await field(m, "rdb_changes_since_last_save")) === "0");
    expect(await field(m, "rdb_last_bgsave_status")).toBe("ok");
  });
  it("repl-diskless-load swapdb: loading from the payload's first byte; a failed transfer leaves the old data", async () => {
    const { srv: msrv, r: m } = await servers.start();
    await m.call("debug", "populate", "200", "master");
    await m.config("SET", "rdb-key-save-delay", "20000"); // 200 keys: 4 s
    const { r: s } = await servers.start(["--repl-diskless-load", "swapdb"]);
    await s.call("debug", "populate", "20", "replica");
    await s.set("mykey", "myvalue");
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("loading", async () => (await field(s, "loading")) === "1");
    expect(await field(s, "async_loading")).toBe("0");
    await expect(s.get("mykey")).rejects.toThrow("LOADING");
    await m.config("SET", "repl-diskless-sync-delay", "5"); // no new sync right away
    await m.call("client", "kill", "type", "replica");
    await until("not loading", async () => (await field(s, "loading")) === "0");
    expect(await s.get("mykey")).toBe("myvalue");
    expect(await s.dbsize()).toBe(21);
    await m.config("SET", "rdb-key-save-delay", "0");
  });

  it("repl-diskless-load swapdb: an initial sync loads into a second set of dbs and swaps it in; the replica's own keys are gone", async () => {
    const { srv: msrv, r: m } = await servers.start();
    await m.call("debug", "populate", "20000", "k");
    await m.rpush("list", "a", "b");
    await m.sadd("set", "x", "y");
    await m.set("ttl", "v", "PX", 600_000);
    const { r: s } = await servers.start(["--repl-diskless-load", "swapdb"]);
    await s.call("debug", "populate", "100", "old");
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("link up", async () => (await field(s, "master_link_status")) === "up", 60_000);
    expect(await s.dbsize()).toBe(20003);
    expect(await s.exists("old:1")).toBe(0);
    expect(await s.call("debug", "digest")).toBe(await m.call("debug", "digest"));
  });

  it("repl-diskless-load swapdb, async: the keys are in the dataset as they arrive, and the swap falls between two commands of a client (none sees part of it)", async () => {
    // What makes the swap O(1): the loaded keys already sit in the kernels' second set of dbs
    // (used_memory counts them during the load, as Redis's tempDb's), and the swap is one
    // synchronous step. A client polling DBSIZE all along sees the old count, then the new
    // one, never a flushed or half-swapped keyspace (a swap that yielded, or went shard by
    // shard, would show one). No clock is involved, so load cannot fail it.
    const { srv: msrv, r: m } = await servers.start();
    const { srv: ssrv, r: s } = await servers.start(["--repl-diskless-load", "swapdb", "--replica-read-only", "no"]);
    await m.call("debug", "populate", "200", "master");
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("link up", async () => (await field(s, "master_link_status")) === "up");
    await until("synced", async () => (await s.dbsize()) === 200);
    await s.set("mykey", "myvalue"); // only on the replica: the old data has 201 keys
    // Not propagated (DEBUG POPULATE is not): the replica gets these 20,000 keys of 500 bytes
    // only through the next full sync, which keeps the replid, so it loads them asynchronously.
    await m.call("debug", "populate", "20000", "new", "500");
    await s.config("SET", "key-load-delay", "200"); // 20,000 keys: about 4 s
    const before = Number(await field(s, "used_memory"));
    const poll = await DbsizePoller.start(ssrv.port);
    await fullSyncSameReplid(m);
    await until("async loading", async () => (await field(s, "async_loading")) === "1");
    // A few MB of the new keys are stored while the old data is still what clients see (keys
    // held aside and stored at the swap would show only once async_loading is 0).
    await until("the loaded keys in used_memory during the load", async () => {
      const info = await s.info();
      if (/^async_loading:0/m.test(info)) throw new Error("the load ended before used_memory counted its keys");
      return Number(/^used_memory:(\d+)/m.exec(info)![1]) > before + 4_000_000;
    });
    expect(await s.get("mykey")).toBe("myvalue");
    await s.config("SET", "key-load-delay", "0");
    await until("swapped", async () => (await field(s, "async_loading")) === "0", 60_000);
    await until("the stream after the swap", async () => (await s.dbsize()) === 20210);
    const runs = await poll.stop();
    // Every answer is the old data's count or the new data's, old first.
    expect(runs.map(([n]) => n)).toEqual([201, 20210]);
  });

  it("repl-diskless-load swapdb with the master's replid: async loading serves the old data, refuses no_async_loading commands, then swaps", async () => {
    const { srv: msrv, r: m } = await servers.start();
    const { r: s } = await servers.start(["--repl-diskless-load", "swapdb", "--replica-read-only", "no"]);
    // DEBUG POPULATE is not propagated (as Redis's): the keys reach the replica by its full sync.
    await m.call("debug", "populate", "200", "master");
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("link up", async () => (await field(s, "master_link_status")) === "up");
    await until("synced", async () => (await s.dbsize()) === 200);
    await m.call("debug", "populate", "5", "late");
    await m.set("marker", "1");
    await until("the stream passed the populate", async () => (await s.get("marker")) === "1");
    expect(await s.exists("late:0")).toBe(0);
    await m.del("late:0", "late:1", "late:2", "late:3", "late:4", "marker");
    await until("back to 200", async () => (await s.dbsize()) === 200);
    await s.set("mykey", "myvalue"); // only on the replica
    await m.config("SET", "rdb-key-save-delay", "20000");
    await fullSyncSameReplid(m);
    await until("async loading", async () => (await field(s, "async_loading")) === "1");
    expect(await field(s, "loading")).toBe("0");
    expect(await s.get("mykey")).toBe("myvalue");
    await expect(s.config("SET", "appendonly", "no")).rejects.toThrow("LOADING");
    await expect(s.replicaof("no", "one")).rejects.toThrow("LOADING");
    await m.config("SET", "rdb-key-save-delay", "0");
    await until("swapped", async () => (await field(s, "async_loading")) === "0" && (await field(s, "master_link_status")) === "up", 60_000);
    expect(await s.get("mykey")).toBe(null);
    await until("every key", async () => (await s.dbsize()) === 210);
  });
});

/**
 * A client that keeps DBSIZE commands in flight on one connection until stopped, and reports
 * the answers as runs: [count, how many times in a row], in order.
 */
class DbsizePoller {
  private readonly runs: [number | string, number][] = [];
  private pending = "";
  private stopped = false;
  private inFlight = 0;
  private constructor(private readonly sock: net.Socket) {
    sock.on("data", (d) => this.onData(d.toString("latin1")));
    sock.on("error", () => {});
    this.top();
  }

  static start(port: number): Promise<DbsizePoller> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, "127.0.0.1", () => resolve(new DbsizePoller(sock)));
      sock.once("error", reject);
    });
  }

  /** Keeps 64 commands outstanding, so the server nearly always has one to read. */
  private top(): void {
    if (this.stopped) return;
    let out = "";
    for (; this.inFlight < 64; this.inFlight++) out += "*1\r\n$6\r\nDBSIZE\r\n";
    if (out) this.sock.write(out);
  }

  private onData(text: string): void {
    this.pending += text;
    let nl: number;
    while ((nl = this.pending.indexOf("\r\n")) >= 0) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 2);
      this.inFlight--;
      // ":N" or an error line, which is never a count and so fails the comparison.
      const v: number | string = line.startsWith(":") ? Number(line.slice(1)) : line;
      const last = this.runs[this.runs.length - 1];
      if (last && last[0] === v) last[1]++;
      else this.runs.push([v, 1]);
    }
    this.top();
  }

  /** Stops sending, waits for the outstanding answers, and returns the runs. */
  async stop(): Promise<[number | string, number][]> {
    this.stopped = true;
    await untilEvery("the last answers", () => this.inFlight === 0, 10_000, 10);
    this.sock.destroy();
    return this.runs;
  }
}
