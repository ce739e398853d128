import { describe, it, expect, afterEach } from "vitest";
import Redis from "ioredis";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, runExpectingExit, type RunningServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { writeDataset, readDataset } from "../helpers/dataset.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function scratchDir(): string {
  const d = mkdtempSync(join(tmpdir(), "lkv-rdb-"));
  cleanups.unshift(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function ours(dir: string, args: string[] = []): Promise<{ srv: RunningServer; r: Redis }> {
  const srv = await startServer(["--dir", dir, "--enable-debug-command", "yes", ...args]);
  const r = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null });
  await r.connect();
  cleanups.push(async () => { r.disconnect(); await srv.stop(); });
  return { srv, r };
}

async function info(r: Redis, field: string): Promise<string> {
  const m = new RegExp(`^${field}:(.*)$`, "m").exec(await r.info("persistence"));
  return m ? m[1].trim() : "";
}

async function waitFor(cond: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("RDB persistence", { timeout: 60_000 }, () => {
  it("SAVE writes dump.rdb and a restart loads every type and TTL back", async () => {
    const dir = scratchDir();
    const a = await ours(dir);
    await writeDataset(a.r);
    const before = await readDataset(a.r);
    expect(Number(await info(a.r, "rdb_changes_since_last_save"))).toBeGreaterThan(0);
    expect(await a.r.save()).toBe("OK");
    expect(await info(a.r, "rdb_changes_since_last_save")).toBe("0");
    expect(Math.abs(Number(await a.r.lastsave()) - Date.now() / 1000)).toBeLessThan(5);
    await cleanups.pop()!();
    const b = await ours(dir);
    expect(await readDataset(b.r)).toEqual(before);
    expect(b.srv.output()).toContain("DB loaded from disk");
    expect(Number(await info(b.r, "rdb_last_load_keys_loaded"))).toBe(Object.keys(before).length);
  });

  it("BGSAVE answers at once, writes the file in the background, and resets the change counter", async () => {
    const dir = scratchDir();
    const a = await ours(dir);
    await writeDataset(a.r);
    const before = await readDataset(a.r);
    expect(await a.r.bgsave()).toBe("Background saving started");
    await waitFor(async () => (await info(a.r, "rdb_bgsave_in_progress")) === "0");
    expect(await info(a.r, "rdb_last_bgsave_status")).toBe("ok");
    expect(await info(a.r, "rdb_changes_since_last_save")).toBe("0");
    // Writes after the snapshot are not in the file.
    await a.r.set("after", "x");
    expect(existsSync(join(dir, "dump.rdb"))).toBe(true);
    await a.r.call("debug", "reload", "nosave");
    expect(await a.r.exists("after")).toBe(0);
    expect(await readDataset(a.r)).toEqual(before);
  });

  it("BGSAVE while one runs answers Redis's error", async () => {
    const dir = scratchDir();
    const a = await ours(dir);
    await a.r.call("config", "set", "rdb-key-save-delay", "2000000");
    await a.r.set("k", "v");
    expect(await a.r.bgsave()).toBe("Background saving started");
    await expect(a.r.bgsave()).rejects.toThrow("ERR Background save already in progress");
    await expect(a.r.save()).rejects.toThrow("ERR Background save already in progress");
    await waitFor(async () => (await info(a.r, "rdb_bgsave_in_progress")) === "0");
  });

  it("DEBUG RELOAD saves, empties and reloads the dataset", async () => {
    const dir = scratchDir();
    const a = await ours(dir);
    await writeDataset(a.r);
    const before = await readDataset(a.r);
    expect(await a.r.call("debug", "reload")).toBe("OK");
    expect(await readDataset(a.r)).toEqual(before);
    await expect(a.r.call("debug", "reload", "bogus")).rejects.toThrow("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
  });

  it("DEBUG RELOAD NOSAVE flushes first: a missing or damaged file leaves the dataset empty with Redis's error", async () => {
    // redis-server 7.0.15 replies exactly this (debug.c) after emptyData, file or no file.
    const dir = scratchDir();
    const a = await ours(dir);
    await a.r.set("k", "v");
    await expect(a.r.call("debug", "reload", "nosave")).rejects.toThrow(/^ERR Error trying to load the RDB dump$/);
    expect(await a.r.dbsize()).toBe(0);
    await a.r.set("k", "v");
    await a.r.set("k2", "v2");
    expect(await a.r.save()).toBe("OK");
    // One byte of the body changed: the checksum refuses the file before any record is applied.
    const file = join(dir, "dump.rdb");
    const bytes = readFileSync(file);
    bytes[bytes.length - 12] ^= 0xff;
    writeFileSync(file, bytes);
    await expect(a.r.call("debug", "reload", "nosave")).rejects.toThrow(/^ERR Error trying to load the RDB dump$/);
    expect(await a.r.dbsize()).toBe(0);
    expect(await a.r.ping()).toBe("PONG");
  });

  it("DEBUG DIGEST is all zeros when empty and the same after a reload", async () => {
    const dir = scratchDir();
    const a = await ours(dir);
    expect(await a.r.call("debug", "digest")).toBe("0".repeat(40));
    await writeDataset(a.r);
    const d = await a.r.call("debug", "digest");
    expect(d).not.toBe("0".repeat(40));
    await a.r.call("debug", "reload");
    expect(await a.r.call("debug", "digest")).toBe(d);
    await a.r.set("str", "changed");
    expect(await a.r.call("debug", "digest")).not.toBe(d);
  });

  it("FLUSHALL aborts a running BGSAVE: no file, the change counter is kept", async () => {
    const dir = scratchDir();
    const a = await ours(dir);
    await a.r.call("config", "set", "rdb-key-save-delay", "5000000");
    await a.r.set("k", "v");
    expect(await a.r.bgsave()).toBe("Background saving started");
    await a.r.flushall();
    expect(await info(a.r, "rdb_bgsave_in_progress")).toBe("0");
    expect(Number(await info(a.r, "rdb_changes_since_last_save"))).toBeGreaterThan(0);
    await new Promise((res) => setTimeout(res, 300));
    expect(existsSync(join(dir, "dump.rdb"))).toBe(false);
  });

  it("a save rule starts a BGSAVE once enough changes are old enough", async () => {
    const dir = scratchDir();
    const a = await ours(dir, ["--save", "1 2"]);
    await a.r.set("a", "1");
    await a.r.set("b", "2");
    await waitFor(async () => existsSync(join(dir, "dump.rdb")) && (await info(a.r, "rdb_bgsave_in_progress")) === "0");
    expect(await info(a.r, "rdb_changes_since_last_save")).toBe("0");
  });

  it("SHUTDOWN SAVE and SIGTERM with save rules write the final snapshot", async () => {
    const dir = scratchDir();
    const a = await ours(dir);
    await a.r.set("k", "v1");
    const exited = new Promise((res) => a.srv.proc.once("exit", res));
    a.r.call("shutdown", "save").catch(() => {});
    await exited;
    const b = await ours(dir, ["--save", "3600 1"]);
    expect(await b.r.get("k")).toBe("v1");
    await b.r.set("k", "v2");
    const exited2 = new Promise((res) => b.srv.proc.once("exit", res));
    process.kill(b.srv.proc.pid!, "SIGTERM");
    await exited2;
    const c = await ours(dir);
    expect(await c.r.get("k")).toBe("v2");
  });

  it("refuses to start on an RDB whose checksum is wrong, with a log line saying so", async () => {
    const dir = scratchDir();
    const a = await ours(dir);
    await a.r.set("k", "v");
    await a.r.save();
    await cleanups.pop()!();
    const file = join(dir, "dump.rdb");
    const buf = readFileSync(file);
    buf.write("foobar00", buf.length - 8, "latin1");
    writeFileSync(file, buf);
    const { code, out } = await runExpectingExit(dir);
    expect(code).toBe(1);
    expect(out).toContain("CRC error");
  });

  /** An RDB file (version 9, checksum not computed) holding key `key` of object type `t` whose body is `blob` as one string. */
  function rdbWith(t: number, key: string, blob: Buffer): Buffer {
    if (blob.length >= 64) throw new Error("6-bit length only");
    return Buffer.concat([Buffer.from("REDIS0009", "latin1"), Buffer.from([t, key.length]), Buffer.from(key, "latin1"),
      Buffer.from([blob.length]), blob, Buffer.from([0xff]), Buffer.alloc(8)]);
  }

  it("refuses to start on an RDB with a corrupt ziplist, saying where (redis-check-rdb's report)", async () => {
    const dir = scratchDir();
    // A list ziplist ("a", "b") whose second entry's prevlen is 2 instead of 3.
    const zl = Buffer.from([17, 0, 0, 0, 13, 0, 0, 0, 2, 0, 0x00, 0x01, 0x61, 0x02, 0x01, 0x62, 0xff]);
    writeFileSync(join(dir, "dump.rdb"), rdbWith(10, "mylist", zl));
    const { code, out } = await runExpectingExit(dir);
    expect(code).toBe(1);
    expect(out).toContain("Internal error in RDB reading offset 10, function at rdb.c:0 -> List ziplist integrity check failed.");
    expect(out).toContain("[additional info] Reading key 'mylist'");
    expect(out).toContain("[additional info] Reading type 10 (list-ziplist)");
    expect(out.split("Terminating server after rdb file reading failure.").length).toBe(2);
  });

  it("skips an empty key in an RDB and says so, as Redis does", async () => {
    const dir = scratchDir();
    // A list ziplist of no entries (Redis before 6.2 could save an empty collection, #8453).
    writeFileSync(join(dir, "dump.rdb"), rdbWith(10, "emptylist", Buffer.from([11, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0xff])));
    const a = await ours(dir);
    expect(await a.r.dbsize()).toBe(0);
    expect(a.srv.output()).toContain("rdbLoadObject skipping empty key: emptylist");
    expect(a.srv.output()).toContain("Done loading RDB, keys loaded: 0, keys expired: 0, empty keys skipped: 1.");
  });

  it("refuses to start on a truncated RDB", async () => {
    const dir = scratchDir();
    const a = await ours(dir);
    await writeDataset(a.r);
    await a.r.save();
    await cleanups.pop()!();
    const file = join(dir, "dump.rdb");
    const buf = readFileSync(file);
    writeFileSync(file, buf.subarray(0, Math.floor(buf.length / 2)));
    const { code, out } = await runExpectingExit(dir);
    expect(code).toBe(1);
    expect(out).toContain("Short read or OOM loading DB");
  });

  it("loads Redis's own test asset with old encodings (zipmap, ziplist, intset)", async () => {
    const asset = "/work/redis-src/redis-7.0.15/tests/assets/encodings.rdb";
    if (!existsSync(asset)) return;
    const dir = scratchDir();
    copyFileSync(asset, join(dir, "dump.rdb"));
    const a = await ours(dir);
    expect(await a.r.hgetall("hash_zipped")).toEqual({ a: "1", b: "2", c: "3" });
    expect(await a.r.lrange("list_zipped", 0, -1)).toEqual(["1", "2", "3", "a", "b", "c", "100000", "6000000000"]);
    expect((await a.r.smembers("set_zipped_3")).sort()).toEqual(["1000000000", "2000000000", "3000000000", "4000000000", "5000000000", "6000000000"]);
    expect(await a.r.zrange("zset_zipped", 0, -1, "WITHSCORES")).toEqual(["a", "1", "b", "2", "c", "3"]);
    expect(await a.r.get("compressible")).toMatch(/^a{100,}$/);
    expect(await a.r.hget("hash", "eee")).toBe("5000000000");
  });

  describe.skipIf(!hasRealRedis)("with Debian's redis-server 7.0.15", () => {
    it("loads a dump written by real Redis (listpack, intset, quicklist, LZF, TTLs)", async () => {
      const dir = scratchDir();
      const real = await startRealRedis([], dir);
      const rr = new Redis({ port: real.port, host: "127.0.0.1", lazyConnect: true });
      await rr.connect();
      await writeDataset(rr);
      const expected = await readDataset(rr);
      expect(await rr.save()).toBe("OK");
      rr.disconnect();
      await real.stop(false);
      const a = await ours(dir);
      expect(await readDataset(a.r)).toEqual(expected);
    });

    it("DEBUG DIGEST and DIGEST-VALUE are redis-server's for the same data", async () => {
      const a = await ours(scratchDir());
      const real = await startRealRedis(["--enable-debug-command", "yes"]);
      cleanups.push(() => real.stop(false));
      const rr = new Redis({ port: real.port, host: "127.0.0.1", lazyConnect: true });
      await rr.connect();
      cleanups.push(() => rr.disconnect());
      for (const r of [a.r, rr]) {
        await writeDataset(r);
        // A stream with explicit IDs (entries only count, not its group), as writeDataset has none.
        for (let i = 1; i <= 50; i++) await r.xadd("stream", `${i}-1`, "f", String(i), ...(i % 3 ? ["g", "x"] : []));
        await r.xdel("stream", "7-1");
        await r.xgroup("CREATE", "stream", "grp", "0");
      }
      expect(await a.r.call("debug", "digest")).toBe(await rr.call("debug", "digest"));
      const keys = ["str", "int", "long", "ttl:str", "list:big", "set:str", "set:bigint", "zset:small", "zset:big", "hash:big", "stream", "missing"];
      expect(await a.r.call("debug", "digest-value", ...keys)).toEqual(await rr.call("debug", "digest-value", ...keys));
    });

    it("real Redis loads a dump we wrote", async () => {
      const dir = scratchDir();
      const a = await ours(dir);
      await writeDataset(a.r);
      const expected = await readDataset(a.r);
      expect(await a.r.save()).toBe("OK");
      await cleanups.pop()!();
      const real = await startRealRedis([], dir);
      cleanups.push(() => real.stop(false));
      const rr = new Redis({ port: real.port, host: "127.0.0.1", lazyConnect: true });
      await rr.connect();
      cleanups.push(() => rr.disconnect());
      expect(await readDataset(rr)).toEqual(expected);
      expect(real.output()).toContain("DB loaded from disk");
    });
  });
});
