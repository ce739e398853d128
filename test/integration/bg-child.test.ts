// BGSAVE and BGREWRITEAOF write through a child process of the server
// (src/persistence/child-writer.ts), so killing that child fails the job as it fails
// Redis's fork child; and the AOF's manifest follows Redis 7.0's multi-part life cycle
// (src/persistence/aof.ts): an incr file per rewrite attempt, history files and
// aof-disable-auto-gc, a base-only AOF when rewritten with appendonly no, sequence
// numbers kept across appendonly no / yes, the temp incr file while the AOF waits for its
// first rewrite, and the backoff after repeated failures.
import { describe, it, expect, afterEach } from "vitest";
import type Redis from "ioredis";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, connectClient, type RunningServer } from "../helpers/server.js";
import { childrenOf } from "../helpers/proc.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function ours(args: string[] = []): Promise<{ srv: RunningServer; r: Redis }> {
  const srv = await startServer(["--enable-debug-command", "yes", ...args]);
  const r = await connectClient(srv.port, { retryStrategy: () => null });
  cleanups.push(async () => { r.disconnect(); await srv.stop(); });
  return { srv, r };
}

async function info(r: Redis, field: string): Promise<string> {
  const m = new RegExp(`^${field}:(.*)$`, "m").exec(await r.info());
  return m ? m[1].trim() : "";
}

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

function manifest(srv: RunningServer): string[] {
  const p = join(srv.dir, "appendonlydir", "appendonly.aof.manifest");
  return existsSync(p) ? readFileSync(p, "latin1").trim().split("\n") : [];
}
const aofFile = (srv: RunningServer, name: string) => existsSync(join(srv.dir, "appendonlydir", name));

/** Kills the one child of the server with SIGKILL (Redis's tests: kill -9 [get_child_pid 0]). */
function killChild(srv: RunningServer): number {
  const kids = childrenOf(srv.proc.pid!);
  expect(kids.length).toBe(1);
  process.kill(kids[0], "SIGKILL");
  return kids[0];
}

const idle = async (r: Redis) => (await info(r, "rdb_bgsave_in_progress")) === "0" && (await info(r, "aof_rewrite_in_progress")) === "0";

describe("background jobs run in a child process", { timeout: 60_000 }, () => {
  it("BGSAVE's writer is a child of the server; kill -9 on it fails the save and writes are refused with MISCONF", async () => {
    const { srv, r } = await ours(["--save", "900 1"]);
    await r.debug("populate", 100);
    expect(childrenOf(srv.proc.pid!)).toEqual([]);
    await r.config("set", "rdb-key-save-delay", "10000000");
    expect(await r.bgsave()).toBe("Background saving started");
    const pid = killChild(srv);
    await waitFor(() => srv.output().includes(`Background saving started by pid ${pid}`));
    await waitFor(() => idle(r));
    expect(await info(r, "rdb_last_bgsave_status")).toBe("err");
    await waitFor(() => srv.output().includes("Background saving terminated by signal 9"));
    expect(Number(await info(r, "total_forks"))).toBe(1);
    await expect(r.set("x", "y")).rejects.toThrow(/^MISCONF Redis is configured to save RDB snapshots/);
    expect(await r.get("key:1")).toBe("value:1");
    // No temp file is left behind, and a save that is let finish lifts the refusal.
    expect(readdirSync(srv.dir).filter((f) => f.startsWith("temp-"))).toEqual([]);
    await r.config("set", "rdb-key-save-delay", "0");
    await r.bgsave();
    await waitFor(() => idle(r));
    expect(await info(r, "rdb_last_bgsave_status")).toBe("ok");
    expect(await r.set("x", "y")).toBe("OK");
    expect(existsSync(join(srv.dir, "dump.rdb"))).toBe(true);
    expect(childrenOf(srv.proc.pid!)).toEqual([]);
  });

  it("a SAVE that succeeds after a killed BGSAVE clears the error state and MISCONF (rdbSave)", async () => {
    const { srv, r } = await ours(["--save", "900 1"]);
    await r.debug("populate", 20);
    await r.config("set", "rdb-key-save-delay", "10000000");
    expect(await r.bgsave()).toBe("Background saving started");
    killChild(srv);
    await waitFor(() => idle(r));
    expect(await info(r, "rdb_last_bgsave_status")).toBe("err");
    await expect(r.set("x", "y")).rejects.toThrow(/^MISCONF/);
    await r.config("set", "rdb-key-save-delay", "0");
    expect(await r.save()).toBe("OK");
    expect(await info(r, "rdb_last_bgsave_status")).toBe("ok");
    expect(await r.set("x", "y")).toBe("OK");
  });

  it("FLUSHALL stops a running BGSAVE without an error state (SIGUSR1, as Redis kills its child)", async () => {
    const { srv, r } = await ours(["--save", "900 1"]);
    await r.debug("populate", 50);
    await r.config("set", "rdb-key-save-delay", "10000000");
    await r.bgsave();
    expect(childrenOf(srv.proc.pid!).length).toBe(1);
    await r.flushall();
    await waitFor(() => idle(r));
    await waitFor(() => srv.output().includes("Background saving terminated by signal 10"));
    expect(await info(r, "rdb_last_bgsave_status")).toBe("ok");
    expect(await r.set("x", "y")).toBe("OK");
    await waitFor(() => childrenOf(srv.proc.pid!).length === 0);
  });

  it("a killed AOF rewrite leaves its incr file in the manifest; the next successful one turns them all into history and removes them", async () => {
    const { srv, r } = await ours(["--appendonly", "yes"]);
    expect(manifest(srv)).toEqual(["file appendonly.aof.1.base.rdb seq 1 type b", "file appendonly.aof.1.incr.aof seq 1 type i"]);
    await r.set("a", "1");
    await r.config("set", "rdb-key-save-delay", "10000000");
    for (let i = 0; i < 2; i++) {
      expect(await r.bgrewriteaof()).toBe("Background append only file rewriting started");
      await r.incr("a");
      killChild(srv);
      await waitFor(() => idle(r));
    }
    expect(await info(r, "aof_last_bgrewrite_status")).toBe("err");
    expect(await info(r, "aof_rewrites_consecutive_failures")).toBe("2");
    await waitFor(() => srv.output().includes("Background AOF rewrite terminated by signal 9"));
    expect(manifest(srv)).toEqual([
      "file appendonly.aof.1.base.rdb seq 1 type b",
      "file appendonly.aof.1.incr.aof seq 1 type i",
      "file appendonly.aof.2.incr.aof seq 2 type i",
      "file appendonly.aof.3.incr.aof seq 3 type i",
    ]);
    const live = await r.debug("digest");
    expect(await r.call("debug", "loadaof")).toBe("OK");
    expect(await r.debug("digest")).toBe(live);
    await r.config("set", "rdb-key-save-delay", "0");
    await r.bgrewriteaof();
    await waitFor(() => idle(r));
    expect(await info(r, "aof_last_bgrewrite_status")).toBe("ok");
    expect(await info(r, "aof_rewrites_consecutive_failures")).toBe("0");
    expect(manifest(srv)).toEqual(["file appendonly.aof.2.base.rdb seq 2 type b", "file appendonly.aof.4.incr.aof seq 4 type i"]);
    for (const f of ["appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", "appendonly.aof.2.incr.aof", "appendonly.aof.3.incr.aof"]) {
      expect(aofFile(srv, f)).toBe(false);
    }
    expect(await r.call("debug", "loadaof")).toBe("OK");
    expect(await r.get("a")).toBe("3");
  });

  it("aof-disable-auto-gc keeps replaced files as history (type h) until it is turned off", async () => {
    const { srv, r } = await ours(["--appendonly", "yes", "--aof-disable-auto-gc", "yes"]);
    await r.set("k", "v");
    await r.bgrewriteaof();
    await waitFor(() => idle(r));
    expect(manifest(srv)).toEqual([
      "file appendonly.aof.2.base.rdb seq 2 type b",
      "file appendonly.aof.1.incr.aof seq 1 type h",
      "file appendonly.aof.1.base.rdb seq 1 type h",
      "file appendonly.aof.2.incr.aof seq 2 type i",
    ]);
    expect(aofFile(srv, "appendonly.aof.1.base.rdb") && aofFile(srv, "appendonly.aof.1.incr.aof")).toBe(true);
    // History is not replayed.
    await r.set("k2", "v2");
    expect(await r.call("debug", "loadaof")).toBe("OK");
    expect(await r.mget("k", "k2")).toEqual(["v", "v2"]);
    await r.config("set", "aof-disable-auto-gc", "no");
    expect(manifest(srv)).toEqual(["file appendonly.aof.2.base.rdb seq 2 type b", "file appendonly.aof.2.incr.aof seq 2 type i"]);
    expect(aofFile(srv, "appendonly.aof.1.base.rdb") || aofFile(srv, "appendonly.aof.1.incr.aof")).toBe(false);
    await waitFor(() => srv.output().includes("Removing the history file appendonly.aof.1.base.rdb in the background"));
  });

  it("BGREWRITEAOF with appendonly no writes a base-only AOF; appendonly yes goes on from the manifest's numbers", async () => {
    const { srv, r } = await ours(["--appendonly", "yes"]);
    await r.set("k", "v");
    await r.bgrewriteaof();
    await waitFor(() => idle(r));
    await r.config("set", "appendonly", "no");
    await r.set("k2", "v2");
    expect(await r.bgrewriteaof()).toBe("Background append only file rewriting started");
    await waitFor(() => idle(r));
    expect(manifest(srv)).toEqual(["file appendonly.aof.3.base.rdb seq 3 type b"]);
    expect(aofFile(srv, "appendonly.aof.2.incr.aof")).toBe(false);
    const live = await r.debug("digest");
    expect(await r.call("debug", "loadaof")).toBe("OK");
    expect(await r.debug("digest")).toBe(live);
    await r.config("set", "appendonly", "yes");
    await waitFor(() => idle(r));
    // The incr numbering restarts from the manifest read back by DEBUG LOADAOF (no incr file).
    expect(manifest(srv)).toEqual(["file appendonly.aof.4.base.rdb seq 4 type b", "file appendonly.aof.1.incr.aof seq 1 type i"]);
    await r.set("k3", "v3");
    expect(await r.call("debug", "loadaof")).toBe("OK");
    expect(await r.mget("k", "k2", "k3")).toEqual(["v", "v2", "v3"]);
  });

  it("CONFIG SET appendonly yes writes to a temp incr file until its rewrite succeeds; a killed one removes it and is retried", async () => {
    const { srv, r } = await ours();
    await r.set("k", "v");
    await r.config("set", "rdb-key-save-delay", "10000000");
    await r.config("set", "appendonly", "yes");
    expect(await info(r, "aof_rewrite_in_progress")).toBe("1");
    await r.set("during", "1");
    expect(aofFile(srv, "temp-appendonly.aof.incr")).toBe(true);
    killChild(srv);
    await waitFor(() => srv.output().includes("Removing the temp incr aof file temp-appendonly.aof.incr in the background"));
    expect(manifest(srv)).toEqual([]);
    // Rescheduled by the cron; let this one through.
    await waitFor(async () => (await info(r, "aof_rewrite_in_progress")) === "1");
    const forks = Number(await info(r, "total_forks"));
    await r.config("set", "rdb-key-save-delay", "0");
    killChild(srv);
    await waitFor(async () => Number(await info(r, "total_forks")) === forks + 1 && (await idle(r)));
    expect(manifest(srv)).toEqual(["file appendonly.aof.1.base.rdb seq 1 type b", "file appendonly.aof.1.incr.aof seq 1 type i"]);
    expect(aofFile(srv, "temp-appendonly.aof.incr")).toBe(false);
    await r.set("after", "1");
    expect(await r.call("debug", "loadaof")).toBe("OK");
    expect(await r.mget("k", "during", "after")).toEqual(["v", "1", "1"]);
  });

  it("after three failed rewrites the automatic rewrite backs off, with Redis's log line", async () => {
    const { srv, r } = await ours(["--appendonly", "yes"]);
    await r.config("set", "rdb-key-save-delay", "10000000");
    await r.set("k", "v");
    for (let i = 0; i < 3; i++) {
      await r.bgrewriteaof();
      killChild(srv);
      await waitFor(() => idle(r));
    }
    await r.config("set", "auto-aof-rewrite-percentage", "1");
    await r.config("set", "auto-aof-rewrite-min-size", "1kb");
    await r.set("x", "x".repeat(2048));
    await waitFor(() => srv.output().includes("Background AOF rewrite has repeatedly failed and triggered the limit, will retry in 1 minutes"));
    await new Promise((res) => setTimeout(res, 300));
    expect(await info(r, "aof_rewrite_in_progress")).toBe("0");
    expect(srv.output().split("triggered the limit").length - 1).toBe(1);
    // A manual BGREWRITEAOF still runs at once.
    await r.config("set", "auto-aof-rewrite-percentage", "0");
    await r.config("set", "rdb-key-save-delay", "0");
    expect(await r.bgrewriteaof()).toBe("Background append only file rewriting started");
    await waitFor(() => idle(r));
    expect(await info(r, "aof_last_bgrewrite_status")).toBe("ok");
  });
});

describe("a slow script replayed from the AOF", { timeout: 60_000 }, () => {
  it("DEBUG LOADAOF lets other clients see -LOADING while the script runs, then answers OK", async () => {
    const { srv, r } = await ours(["--appendonly", "yes", "--aof-use-rdb-preamble", "no"]);
    await r.config("set", "busy-reply-threshold", "1");
    // An AOF holding a script verbatim (as Redis 6 or a hand-made file may), here in the incr file.
    const enc = (...argv: string[]) => `*${argv.length}\r\n` + argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("");
    const { appendFileSync } = await import("node:fs");
    appendFileSync(join(srv.dir, "appendonlydir", "appendonly.aof.1.incr.aof"),
      enc("select", "9") + enc("eval", "redis.call('set',KEYS[1],'y'); for i=1,20000 do redis.call('ping') end return 'ok'", "1", "x"));
    const loader = await connectClient(srv.port, { retryStrategy: () => null });
    cleanups.push(() => { loader.disconnect(); });
    const loaded = loader.call("debug", "loadaof");
    let sawLoading = false;
    await waitFor(async () => {
      try { await r.ping(); } catch (e) { sawLoading = /^LOADING Redis is loading the dataset in memory/.test((e as Error).message); }
      return sawLoading;
    });
    // INFO may run while loading, but not past the busy script (as in Redis: -BUSY).
    await expect(r.info()).rejects.toThrow(/^BUSY /);
    expect(await loaded).toBe("OK");
    await waitFor(() => srv.output().includes("Slow script detected"));
    expect(await r.ping()).toBe("PONG");
    await r.select(9);
    expect(await r.get("x")).toBe("y");
  });
});
