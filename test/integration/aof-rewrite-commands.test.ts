// aof-use-rdb-preamble no: the rewritten base is the dataset as Redis 7.0 writes it
// (rewriteAppendOnlyFileRio: SET, RPUSH/SADD/ZADD/HMSET of at most 64 elements, PEXPIREAT,
// a stream's XADDs, XSETID, XGROUP CREATE, XCLAIM ... JUSTID FORCE, XGROUP CREATECONSUMER),
// and real Redis loads that file into the same dataset, streams' groups and PELs included.
import { describe, it, expect, afterEach } from "vitest";
import Redis from "ioredis";
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, type RunningServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { writeDataset, readDataset } from "../helpers/dataset.js";
import { takeCommand } from "../helpers/resp-commands.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function client(port: number): Redis {
  const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  cleanups.push(() => { r.disconnect(); });
  return r;
}

/** Streams with what a rewrite must carry: a deleted entry, groups, a PEL, an idle consumer. */
async function writeStreams(r: Redis): Promise<void> {
  await r.xadd("st", "1-1", "a", "1");
  await r.xadd("st", "2-1", "b", "2", "c", "3");
  await r.xadd("st", "3-1", "a", "9");
  await r.xdel("st", "3-1");
  await r.xgroup("CREATE", "st", "g1", "0");
  await r.xgroup("CREATE", "st", "g2", "$");
  await r.xreadgroup("GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "st", ">");
  await r.xreadgroup("GROUP", "g1", "alice", "STREAMS", "st", "0");
  await r.call("XGROUP", "CREATECONSUMER", "st", "g1", "bob");
  await r.xadd("empty", "MAXLEN", "0", "5-5", "x", "y");
}

/** XINFO STREAM FULL without consumers' seen-time, which a load sets to its own clock. */
async function streamInfo(r: Redis, key: string): Promise<unknown> {
  const strip = (v: unknown): unknown => {
    if (!Array.isArray(v)) return v;
    return v.map((x, i) => (i > 0 && v[i - 1] === "seen-time" ? "t" : strip(x)));
  };
  return strip(await r.call("XINFO", "STREAM", key, "FULL"));
}

function commandsOf(file: string): string[][] {
  let rest = readFileSync(file, "latin1");
  const out: string[][] = [];
  for (let c = takeCommand(rest); c; c = takeCommand(rest)) { out.push(c.argv); rest = c.rest; }
  expect(rest).toBe("");
  return out;
}

describe("AOF rewrite without the RDB preamble", { timeout: 90_000 }, () => {
  it.skipIf(!hasRealRedis)("writes Redis's commands, and real Redis loads them into the same dataset", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-aofrw-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const srv: RunningServer = await startServer(["--dir", dir, "--appendonly", "yes", "--aof-use-rdb-preamble", "no", "--enable-debug-command", "yes"]);
    cleanups.push(() => srv.stop());
    const r = client(srv.port);
    await writeDataset(r);
    await writeStreams(r);
    await r.bgrewriteaof();
    for (let i = 0; i < 200 && (await r.info("persistence")).includes("aof_rewrite_in_progress:1"); i++) {
      await new Promise((res) => setTimeout(res, 50));
    }
    const base = readdirSync(join(dir, "appendonlydir")).find((f) => f.endsWith(".base.aof"))!;
    const cmds = commandsOf(join(dir, "appendonlydir", base));

    const names = new Set(cmds.map((c) => c[0]));
    expect([...names].sort()).toEqual(["HMSET", "PEXPIREAT", "RPUSH", "SADD", "SELECT", "SET", "XADD", "XCLAIM", "XGROUP", "XSETID", "ZADD"]);
    // A 1000-item list: 64 items to a command, as AOF_REWRITE_ITEMS_PER_CMD.
    const bigList = cmds.filter((c) => c[0] === "RPUSH" && c[1] === "list:big").map((c) => c.length - 2);
    expect(bigList).toEqual([...Array(15).fill(64), 1000 - 15 * 64]);
    expect(cmds.find((c) => c[0] === "PEXPIREAT" && c[1] === "ttl:str")).toBeDefined();
    // Scores as %.17g, as Redis's rioWriteBulkDouble.
    expect(cmds.find((c) => c[0] === "ZADD" && c[1] === "zset:small")).toEqual(["ZADD", "zset:small", "-3", "b", "0.10000000000000001", "d", "1.5", "a", "inf", "c"]);
    const stream = cmds.filter((c) => c[1] === "st" || c[2] === "st").map((c) => c.join(" ").replace(/TIME \d+/, "TIME t"));
    expect(stream).toEqual([
      "XADD st 1-1 a 1",
      "XADD st 2-1 b 2 c 3",
      "XSETID st 3-1 ENTRIESADDED 3 MAXDELETEDID 3-1",
      "XGROUP CREATE st g1 2-1 ENTRIESREAD -1", // the XDEL left a tombstone: no valid count (as Redis)
      "XCLAIM st g1 alice 0 1-1 TIME t RETRYCOUNT 2 JUSTID FORCE",
      "XCLAIM st g1 alice 0 2-1 TIME t RETRYCOUNT 2 JUSTID FORCE",
      "XGROUP CREATECONSUMER st g1 bob",
      "XGROUP CREATE st g2 3-1 ENTRIESREAD -1",
    ]);
    expect(cmds.filter((c) => c[1] === "empty").map((c) => c.join(" "))).toEqual([
      "XADD empty MAXLEN 0 0-1 x y",
      "XSETID empty 5-5 ENTRIESADDED 1 MAXDELETEDID 0-0",
    ]);

    // Real Redis 7.0 started on that file holds what our server holds.
    const realDir = mkdtempSync(join(tmpdir(), "lkv-aofrw-real-"));
    cpSync(join(dir, "appendonlydir"), join(realDir, "appendonlydir"), { recursive: true });
    const real = await startRealRedis(["--appendonly", "yes", "--enable-debug-command", "yes"], realDir);
    cleanups.push(() => real.stop());
    const rr = client(real.port);
    expect(await readDataset(rr)).toEqual(await readDataset(r));
    for (const key of ["st", "empty"]) {
      expect(await rr.call("DEBUG", "DIGEST-VALUE", key)).toEqual(await r.call("DEBUG", "DIGEST-VALUE", key));
      expect(await streamInfo(rr, key)).toEqual(await streamInfo(r, key));
    }
  });
});

describe("aof-use-rdb-preamble no: rdb-key-save-delay paces the rewrite", () => {
  it("waits per key as Redis's rewriteAppendOnlyFileRio does, so turning the AOF off kills the running child", async () => {
    // aofrw.tcl's "Turning off AOF kills the background writing child if any": without the
    // pacing the child had written everything before CONFIG SET appendonly no arrived.
    const srv: RunningServer = await startServer(["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
    cleanups.push(() => srv.stop());
    const r = client(srv.port);
    await r.connect();
    await r.set("k", "v");
    await r.set("k2", "v");
    await r.config("SET", "rdb-key-save-delay", "10000000"); // 10 s per key
    expect(await r.bgrewriteaof()).toMatch(/rewriting started/);
    await new Promise((res) => setTimeout(res, 300));
    expect(await r.info("persistence")).toMatch(/aof_rewrite_in_progress:1/);
    await r.config("SET", "appendonly", "no");
    const until = Date.now() + 10_000;
    while (!/Killing running AOF rewrite child/.test(srv.output()) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
    expect(srv.output()).toMatch(/Killing running AOF rewrite child: \d+/);
    await r.config("SET", "rdb-key-save-delay", "0");
  });
});
