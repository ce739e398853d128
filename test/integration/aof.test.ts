import { describe, it, expect, afterEach } from "vitest";
import Redis from "ioredis";
import { appendFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, runExpectingExit, type RunningServer } from "../helpers/server.js";
import { writeDataset, readDataset } from "../helpers/dataset.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function scratchDir(): string {
  const d = mkdtempSync(join(tmpdir(), "lkv-aof-"));
  cleanups.unshift(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

async function ours(dir: string, args: string[] = []): Promise<{ srv: RunningServer; r: Redis }> {
  const srv = await startServer(["--dir", dir, "--appendonly", "yes", "--enable-debug-command", "yes", ...args]);
  const r = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on("error", () => {});
  await r.connect();
  cleanups.push(() => stopUnlessKilled(srv, r));
  return { srv, r };
}

/** The helper's stop() signals the process, which a test may already have killed. */
async function stopUnlessKilled(srv: RunningServer, r: Redis): Promise<void> {
  r.disconnect();
  if (srv.proc.signalCode !== null) rmSync(srv.dir, { recursive: true, force: true });
  else await srv.stop();
}

async function kill9(srv: RunningServer): Promise<void> {
  const exited = new Promise((res) => srv.proc.once("exit", res));
  process.kill(srv.proc.pid!, "SIGKILL");
  await exited;
}

const aofDir = (dir: string) => join(dir, "appendonlydir");
function incrFile(dir: string): string {
  const name = readdirSync(aofDir(dir)).filter((f) => f.endsWith(".incr.aof")).sort().pop()!;
  return join(aofDir(dir), name);
}

describe("AOF persistence", { timeout: 90_000 }, () => {
  it("uses Redis 7's multi-part layout: a manifest, an RDB base and an incr file of RESP commands", async () => {
    const dir = scratchDir();
    const a = await ours(dir);
    await a.r.set("k", "v");
    await a.r.call("config", "set", "appendfsync", "always");
    await a.r.set("k2", "v2");
    expect(readFileSync(join(aofDir(dir), "appendonly.aof.manifest"), "latin1")).toBe(
      "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    expect(readFileSync(join(aofDir(dir), "appendonly.aof.1.base.rdb"), "latin1").startsWith("REDIS0010")).toBe(true);
    const incr = readFileSync(incrFile(dir), "latin1");
    expect(incr).toContain("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n");
    expect(incr).toContain("*3\r\n$3\r\nset\r\n$2\r\nk2\r\n$2\r\nv2\r\n");
    expect((await a.r.info("persistence")).includes("aof_enabled:1")).toBe(true);
  });

  it("kill -9 under appendfsync always loses no acknowledged write (every type, MULTI, scripts, TTLs)", async () => {
    const dir = scratchDir();
    const a = await ours(dir, ["--appendfsync", "always"]);
    await writeDataset(a.r);
    await a.r.multi().incr("counter").sadd("tx-set", "m").exec();
    await a.r.eval("redis.call('set', KEYS[1], ARGV[1]); redis.call('lpush', KEYS[2], ARGV[1])", 2, "{s}a", "{s}b", "from-lua");
    await a.r.set("gone", "x");
    await a.r.del("gone");
    const before = await readDataset(a.r);
    await kill9(a.srv);
    const b = await ours(dir);
    expect(await readDataset(b.r)).toEqual(before);
    expect(b.srv.output()).toContain("DB loaded from append only file");
  });

  it("a client INCRing while the server is killed finds every acknowledged increment after restart", async () => {
    const dir = scratchDir();
    const a = await ours(dir, ["--appendfsync", "always"]);
    let acked = 0;
    const writer = (async () => {
      try {
        for (;;) acked = Number(await a.r.incr("n"));
      } catch { /* the server died */ }
    })();
    await new Promise((res) => setTimeout(res, 300));
    await kill9(a.srv);
    await writer;
    expect(acked).toBeGreaterThan(0);
    const b = await ours(dir);
    expect(Number(await b.r.get("n"))).toBeGreaterThanOrEqual(acked);
  });

  it("a torn last command is cut off with aof-load-truncated yes, and refused with no", async () => {
    const dir = scratchDir();
    const a = await ours(dir, ["--appendfsync", "always"]);
    await a.r.set("kept", "1");
    await kill9(a.srv);
    appendFileSync(incrFile(dir), "*3\r\n$3\r\nset\r\n$4\r\ntorn\r\n$5\r\nval");
    const refused = await runExpectingExit(dir, ["--appendonly", "yes", "--aof-load-truncated", "no"]);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain("Unexpected end of file reading the append only file");
    const b = await ours(dir);
    expect(await b.r.get("kept")).toBe("1");
    expect(await b.r.exists("torn")).toBe(0);
    expect(b.srv.output()).toContain("AOF loaded anyway because aof-load-truncated is enabled");
    // The tail was cut, so later writes append cleanly.
    await b.r.call("config", "set", "appendfsync", "always");
    await b.r.set("later", "2");
    await kill9(b.srv);
    const c = await ours(dir);
    expect(await c.r.mget("kept", "torn", "later")).toEqual(["1", null, "2"]);
  });

  it("an unclosed MULTI at the end is not half-applied", async () => {
    const dir = scratchDir();
    const a = await ours(dir, ["--appendfsync", "always"]);
    await a.r.set("x", "1");
    await kill9(a.srv);
    appendFileSync(incrFile(dir), "*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nset\r\n$1\r\nx\r\n$1\r\n2\r\n");
    const b = await ours(dir);
    expect(await b.r.get("x")).toBe("1");
  });

  it("BGREWRITEAOF makes a new base and incr file, drops the old ones, and keeps later writes", async () => {
    const dir = scratchDir();
    const a = await ours(dir, ["--appendfsync", "always"]);
    await writeDataset(a.r);
    expect(await a.r.bgrewriteaof()).toBe("Background append only file rewriting started");
    await a.r.set("after-rewrite", "yes");
    for (let i = 0; i < 100 && (await a.r.info("persistence")).includes("aof_rewrite_in_progress:1"); i++) {
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(readFileSync(join(aofDir(dir), "appendonly.aof.manifest"), "latin1")).toBe(
      "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n");
    expect(existsSync(join(aofDir(dir), "appendonly.aof.1.incr.aof"))).toBe(false);
    const before = await readDataset(a.r);
    await kill9(a.srv);
    const b = await ours(dir);
    expect(await readDataset(b.r)).toEqual(before);
  });

  it("with aof-use-rdb-preamble no the base is commands; #TS annotations are skipped on load", async () => {
    const dir = scratchDir();
    const a = await ours(dir, ["--appendfsync", "always", "--aof-use-rdb-preamble", "no", "--aof-timestamp-enabled", "yes"]);
    await writeDataset(a.r);
    await a.r.bgrewriteaof();
    for (let i = 0; i < 100 && (await a.r.info("persistence")).includes("aof_rewrite_in_progress:1"); i++) {
      await new Promise((res) => setTimeout(res, 50));
    }
    await a.r.set("later", "1");
    const base = readdirSync(aofDir(dir)).find((f) => f.endsWith(".base.aof"))!;
    expect(readFileSync(join(aofDir(dir), base), "latin1")).toMatch(/^#TS:\d+\r\n/);
    expect(readFileSync(incrFile(dir), "latin1")).toMatch(/^#TS:\d+\r\n/);
    const before = await readDataset(a.r);
    await kill9(a.srv);
    const b = await ours(dir);
    expect(await readDataset(b.r)).toEqual(before);
  });

  it("with aof-use-rdb-preamble no the rewritten base carries the function libraries (FUNCTION LOAD first)", async () => {
    const dir = scratchDir();
    // As aofrw.tcl's "AOF rewrite functions": the AOF off, so FUNCTION FLUSH is not logged
    // after the base BGREWRITEAOF writes, and DEBUG LOADAOF replays the base alone.
    const a = await ours(dir, ["--appendonly", "no", "--aof-use-rdb-preamble", "no"]);
    await a.r.call("function", "load", "#!lua name=lib\nredis.register_function('f', function() return 1 end)");
    await a.r.bgrewriteaof();
    for (let i = 0; i < 100 && (await a.r.info("persistence")).includes("aof_rewrite_in_progress:1"); i++) {
      await new Promise((res) => setTimeout(res, 50));
    }
    const base = readdirSync(aofDir(dir)).find((f) => f.endsWith(".base.aof"))!;
    expect(readFileSync(join(aofDir(dir), base), "latin1")).toMatch(/^\*3\r\n\$8\r\nFUNCTION\r\n\$4\r\nLOAD\r\n/);
    await a.r.call("function", "flush");
    expect(await a.r.call("debug", "loadaof")).toBe("OK");
    expect(await a.r.call("fcall", "f", "0")).toBe(1);
  });

  it("a hand-written AOF (runs of kernel commands around host ones, SELECT, MULTI, a script, a past PEXPIREAT) loads as real Redis loads it", async () => {
    // src/persistence/aof-replay.ts runs the file's bytes in the kernel a run at a time
    // (1024 commands) and hands SELECT, MULTI/EXEC, lists and scripts to execCommand.
    const resp = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join("")}`;
    let counted = 0; // what the load's log line counts: not SELECT, MULTI or EXEC
    const cmd = (...a: string[]) => { if (!["SELECT", "MULTI", "EXEC"].includes(a[0])) counted++; return resp(...a); };
    let base = cmd("SELECT", "0");
    for (let i = 0; i < 1500; i++) {
      base += cmd("SET", `k:${i}`, `v:${i}`) + cmd("HSET", "h", `f:${i}`, String(i));
      if (i % 7 === 0) base += cmd("RPUSH", "list", String(i));
    }
    let incr = "#TS:1700000000\r\n";
    for (let i = 0; i < 1500; i++) {
      incr += cmd("INCR", `c:${i % 50}`);
      if (i % 100 === 0) incr += cmd("SELECT", "1") + cmd("SET", `d1:${i}`, "x") + cmd("SELECT", "0");
    }
    incr += cmd("MULTI") + cmd("SET", "m1", "a") + cmd("INCR", "m2") + cmd("RPUSH", "ml", "x") + cmd("EXEC");
    // No key counts as expired while loading: INCRBY finds 1 (so 2), PERSIST keeps it.
    incr += cmd("SET", "a", "1") + cmd("PEXPIREAT", "a", "1") + cmd("INCRBY", "a", "1") + cmd("PERSIST", "a");
    incr += cmd("EVAL", "redis.call('set', KEYS[1], ARGV[1]) return redis.call('incr', 'c:0')", "1", "ev", "val");
    for (let i = 0; i < 1200; i++) incr += cmd("SET", `k:${i}`, `w:${i}`);
    const dir = scratchDir();
    mkdirSync(aofDir(dir));
    writeFileSync(join(aofDir(dir), "appendonly.aof.1.base.aof"), base);
    writeFileSync(join(aofDir(dir), "appendonly.aof.1.incr.aof"), incr);
    writeFileSync(join(aofDir(dir), "appendonly.aof.manifest"),
      "file appendonly.aof.1.base.aof seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    const redisDir = scratchDir();
    cpSync(dir, redisDir, { recursive: true });
    const a = await ours(dir);
    expect(a.srv.output()).toContain(`DB loaded from append only file: ${counted} commands`);
    expect(await a.r.get("a")).toBe("2");
    expect(await a.r.ttl("a")).toBe(-1);
    expect(await a.r.get("k:5")).toBe("w:5");
    expect(await a.r.get("k:1300")).toBe("v:1300");
    expect(await a.r.hlen("h")).toBe(1500);
    expect(await a.r.llen("list")).toBe(215);
    expect(await a.r.get("c:0")).toBe("31");
    expect(await a.r.get("ev")).toBe("val");
    expect([await a.r.get("m1"), await a.r.get("m2"), await a.r.lrange("ml", 0, -1)]).toEqual(["a", "1", ["x"]]);
    expect(await a.r.dbsize()).toBe(1500 + 50 + 7);
    await a.r.select(1);
    expect(await a.r.dbsize()).toBe(15);
    if (!hasRealRedis) return;
    const redis = await startRealRedis(["--appendonly", "yes", "--enable-debug-command", "yes"], redisDir);
    try {
      const r = new Redis({ port: redis.port, host: "127.0.0.1", maxRetriesPerRequest: 0 });
      try {
        expect(await a.r.call("debug", "digest")).toBe(await r.call("debug", "digest"));
      } finally {
        r.disconnect();
      }
    } finally {
      await redis.stop();
    }
  });

  it("an unknown command in the AOF stops the server with Redis's log line", async () => {
    const dir = scratchDir();
    const a = await ours(dir, ["--appendfsync", "always"]);
    await a.r.set("x", "1");
    await kill9(a.srv);
    appendFileSync(incrFile(dir), "*2\r\n$3\r\nbla\r\n$3\r\nfoo\r\n");
    const { code, out } = await runExpectingExit(dir, ["--appendonly", "yes"]);
    expect(code).toBe(1);
    expect(out).toContain("Unknown command 'bla' reading the append only file");
  });

  it("DEBUG LOADAOF replays the AOF into an emptied dataset", async () => {
    const dir = scratchDir();
    const a = await ours(dir);
    await writeDataset(a.r);
    const before = await readDataset(a.r);
    expect(await a.r.call("debug", "loadaof")).toBe("OK");
    expect(await readDataset(a.r)).toEqual(before);
  });

  it("CONFIG SET appendonly yes on a running server makes a base of its dataset", async () => {
    const dir = scratchDir();
    const srv = await startServer(["--dir", dir]);
    const r = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, retryStrategy: () => null });
    await r.connect();
    cleanups.push(() => stopUnlessKilled(srv, r));
    await r.set("before", "1");
    expect(await r.call("config", "set", "appendonly", "yes")).toBe("OK");
    // As Redis 7.0: the AOF exists once its first rewrite (in the background) is done.
    for (let i = 0; i < 400 && /aof_rewrite_in_progress:1/.test(await r.info("persistence")); i++) await new Promise((res) => setTimeout(res, 25));
    await r.call("config", "set", "appendfsync", "always");
    await r.set("after", "2");
    await kill9(srv);
    const b = await ours(dir);
    expect(await b.r.mget("before", "after")).toEqual(["1", "2"]);
  });
});
