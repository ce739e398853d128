// Expiry on a replica, as Redis's expireIfNeeded with masterhost set: a replica never deletes
// a key because its TTL passed (it waits for its master's DEL) but its reads see it as
// absent; the master's stream sees no key as expired; a writable replica expires the keys its
// own clients gave a TTL; a command of the master's stream that fails here is logged as a
// CRITICAL divergence (DEBUG REPLICATE sends one).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, connectClient, type RunningServer } from "../helpers/server.js";
import { startReplicaPair, type ReplicaPair } from "../helpers/replica-pair.js";
import { until } from "../helpers/wait.js";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("expiry on a replica", () => {
  let pair: ReplicaPair;
  let replica: RunningServer;
  let m: Redis, s: Redis;
  /** Waits until the replica has applied everything the primary produced so far. */
  const synced = () => pair.synced();

  beforeAll(async () => {
    pair = await startReplicaPair(["--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"], ["--enable-debug-command", "yes"]);
    ({ replica, m, s } = pair);
  });

  afterAll(async () => {
    await pair.stop();
  });

  it("a read-only replica hides a key whose TTL passed but keeps it until the master's DEL", async () => {
    await m.debug("set-active-expire", "0");
    await m.set("k1", "v", "PX", 100);
    await synced();
    await sleep(250);
    expect(await s.exists("k1")).toBe(0);
    expect(await s.get("k1")).toBeNull();
    expect(await s.keys("*")).toEqual([]);
    expect(await s.scan("0")).toEqual(["0", []]);
    // Still in the dataset, and the active cycle of the replica leaves it too.
    await sleep(300);
    expect(await s.dbsize()).toBe(1);
    expect(await s.debug("object", "k1")).toMatch(/^Value at:/);
    // RANDOMKEY gives up after 100 expired picks rather than loop forever.
    expect(await s.randomkey()).toBe("k1");
    // The master expires it on access and sends DEL.
    expect(await m.get("k1")).toBeNull();
    await synced();
    expect(await s.dbsize()).toBe(0);
    await m.debug("set-active-expire", "1");
  });

  it("a write the master made while the key was live is applied even if the replica's clock says it expired", async () => {
    await m.debug("set-active-expire", "0");
    await m.set("k2", "1", "PX", 400);
    await synced();
    // The replica is stopped while the master writes: it applies the INCR after 400 ms.
    process.kill(replica.proc.pid!, "SIGSTOP");
    try {
      await m.incr("k2");
      await m.pexpire("k2", 100_000);
      await sleep(600);
    } finally {
      process.kill(replica.proc.pid!, "SIGCONT");
    }
    await synced();
    // Deleted and re-created by the INCR, the key would be 1.
    expect(await s.get("k2")).toBe("2");
    expect(await s.pttl("k2")).toBeGreaterThan(90_000);
    await m.del("k2");
    await m.debug("set-active-expire", "1");
  });

  it("TTL on a replica answers -2 for a key it keeps past its TTL, until the master's DEL", async () => {
    await m.debug("set-active-expire", "0");
    await m.set("k3", "v", "PX", 200);
    await synced();
    await sleep(300);
    // On the master the key is logically gone; the replica keeps it as a master would not.
    expect(await s.dbsize()).toBe(1);
    expect(await s.ttl("k3")).toBe(-2);
    expect(await m.get("k3")).toBeNull();
    await synced();
    expect(await s.dbsize()).toBe(0);
    await m.debug("set-active-expire", "1");
  });

  it("a writable replica re-creates an expired master key on write and expires its own keys", async () => {
    await m.debug("set-active-expire", "0");
    await m.set("k4", "5", "PX", 50);
    await m.set("k5", "5", "PX", 50);
    await synced();
    await sleep(150);
    await s.config("SET", "replica-read-only", "no");
    try {
      expect(await s.incr("k4")).toBe(1); // expired and re-created, without a TTL
      expect(await s.ttl("k4")).toBe(-1);
      expect(await s.get("k5")).toBeNull(); // expired but not deleted
      expect(await s.dbsize()).toBe(2);
      // Keys with a TTL set by the replica's own client: no master will DEL them.
      await s.set("own1", "1", "PX", 100);
      await s.set("own2", "1");
      await s.pexpire("own2", 100);
      await s.set("own3", "1", "PX", 100);
      await s.persist("own3");
      await until("own keys expired", async () => (await s.exists("own1", "own2")) === 0 && (await s.dbsize()) === 3);
      expect(await s.get("own3")).toBe("1");
    } finally {
      await s.config("SET", "replica-read-only", "yes");
      await m.debug("set-active-expire", "1");
    }
    await m.del("k4", "k5", "own3");
  });

  it("a writable replica expires its own keys that RENAME, MOVE and COPY ... DB gave a TTL (Redis remembers them in setExpire)", async () => {
    // The previous test's last DEL goes to the master: the replica must have applied it before
    // `before` is read, or its dbsize drops under `before` later and never comes back to it.
    await synced();
    await s.config("SET", "replica-read-only", "no");
    try {
      const before = await s.dbsize();
      await s.set("r1", "1", "PX", 100);
      await s.rename("r1", "r2");
      await s.set("m1", "1", "PX", 100);
      await s.move("m1", "1");
      await s.set("c1", "1", "PX", 100);
      await s.call("copy", "c1", "c2", "db", "2");
      // Gone from the dict, not only hidden: INFO keyspace lists no db1/db2 and db0 is back.
      await until("own keys expired in every db", async () => {
        const ks = await s.info("keyspace");
        return !/^db1:/m.test(ks) && !/^db2:/m.test(ks) && (await s.dbsize()) === before;
      }, 5_000);
    } finally {
      await s.config("SET", "replica-read-only", "yes");
    }
  });

  it("FLUSHALL forgets the replica's own keys with a TTL: a master's key of the same name waits for the master's DEL", async () => {
    await m.debug("set-active-expire", "0");
    await s.config("SET", "replica-read-only", "no");
    try {
      await s.set("dup", "replica", "PX", 100); // remembered as the replica's own
      await m.flushall(); // Redis's emptyData(-1): flushSlaveKeysWithExpireList
      await m.set("dup", "master", "PX", 100);
      await synced();
      await sleep(400);
      expect(await s.get("dup")).toBeNull(); // past its TTL: hidden from reads
      expect(await s.dbsize()).toBe(1); // but kept until the master's DEL
    } finally {
      await s.config("SET", "replica-read-only", "yes");
      await m.debug("set-active-expire", "1");
    }
    await m.del("dup");
    await synced();
    expect(await s.dbsize()).toBe(0);
  });

  it("a command of the master's stream that fails on the replica is logged as a CRITICAL divergence", async () => {
    await m.debug("replicate", "fake-command-1");
    await m.set("after", "1");
    await synced();
    expect(await s.get("after")).toBe("1");
    expect(replica.output()).toMatch(/== CRITICAL == This replica is sending an error to its master: 'unknown command 'fake-command-1'.*' after processing the command '<unknown>'/);
    // The replica did not run it, the master did not either.
    expect(await m.get("after")).toBe("1");
  });
});

// rdbLoad's iAmMaster(): only a master drops the keys of an RDB whose TTL passed; a server
// started with replicaof keeps them (its master's DEL removes them), as redis-server 7.0.15
// does ("keys loaded: 2, keys expired: 0" for the same file that a master loads as 1 + 1).
describe("an RDB loaded at start-up with replicaof", () => {
  const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("keeps the keys whose TTL passed; a master started on the same file drops them", async () => {
    const first = await startServer();
    const dir = first.dir;
    const r = await connectClient(first.port);
    await r.set("gone", "v", "PX", 300);
    await r.set("kept", "v");
    await r.save();
    r.disconnect();
    const replicaDir = mkdtempSync(join(tmpdir(), "lkv-test-"));
    const masterDir = mkdtempSync(join(tmpdir(), "lkv-test-"));
    copyFileSync(join(dir, "dump.rdb"), join(replicaDir, "dump.rdb"));
    copyFileSync(join(dir, "dump.rdb"), join(masterDir, "dump.rdb"));
    await first.stop();
    await sleepMs(400); // "gone" is past its TTL in the file
    // The master it names is not there: the replica only loads its file.
    const replica = await startServer(["--dir", replicaDir, "--replicaof", "127.0.0.1 1"]);
    const master = await startServer(["--dir", masterDir]);
    try {
      await until("replica loaded", () => replica.output().includes("Done loading RDB"));
      expect(replica.output()).toContain("Done loading RDB, keys loaded: 2, keys expired: 0.");
      const s = await connectClient(replica.port);
      expect(await s.dbsize()).toBe(2);
      expect(await s.get("gone")).toBeNull(); // a replica's reads see it as absent
      s.disconnect();
      await until("master loaded", () => master.output().includes("Done loading RDB"));
      expect(master.output()).toContain("Done loading RDB, keys loaded: 1, keys expired: 1.");
      const mc = await connectClient(master.port);
      expect(await mc.dbsize()).toBe(1);
      mc.disconnect();
    } finally {
      await replica.stop();
      await master.stop();
      rmSync(replicaDir, { recursive: true, force: true });
      rmSync(masterDir, { recursive: true, force: true });
    }
  });
});
