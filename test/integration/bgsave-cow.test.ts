// BGSAVE and BGREWRITEAOF without fork: a copy-on-write snapshot per key
// (src/persistence/bgsave.ts, assembly/persistence/bgsave.ts). The file holds the dataset
// as it was when the command ran, whatever clients change while it is written, and clients
// are served meanwhile. Scheduling between the two jobs and the AOF's automatic rewrite
// follow Redis.
import { describe, it, expect, afterEach } from "vitest";
import type Redis from "ioredis";
import net from "node:net";
import { startServer, connectClient } from "../helpers/server.js";
import { writeDataset } from "../helpers/dataset.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function ours(args: string[] = []): Promise<Redis> {
  const srv = await startServer(["--enable-debug-command", "yes", ...args]);
  const r = await connectClient(srv.port, { retryStrategy: () => null });
  cleanups.push(async () => { r.disconnect(); await srv.stop(); });
  return r;
}

async function info(r: Redis, field: string): Promise<string> {
  const m = new RegExp(`^${field}:(.*)$`, "m").exec(await r.info("persistence"));
  return m ? m[1].trim() : "";
}

async function waitFor(cond: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const idle = async (r: Redis) => (await info(r, "rdb_bgsave_in_progress")) === "0" && (await info(r, "aof_rewrite_in_progress")) === "0";

/** Writes over every kind of key of writeDataset (and more) while a snapshot runs. */
async function churn(r: Redis): Promise<void> {
  await r.set("str", "changed");
  await r.incrby("int", 5);
  await r.append("long", "tail");
  await r.del("bin");
  await r.persist("ttl:str");
  await r.expire("str", 1000);
  await r.rpush("list:small", "more");
  await r.lpop("list:big");
  await r.sadd("set:int", "99");
  await r.srem("set:bigint", "7");
  await r.zadd("zset:small", "42", "new");
  await r.zincrby("zset:big", 1, "m3");
  await r.hset("hash:small", "f", "other");
  await r.hdel("hash:big", "f1");
  await r.rename("hash:small", "hash:renamed");
  await r.rename("list:small", "list:renamed");
  await r.set("born:during", "x");
  await r.rpush("born:list", "x");
  await r.move("set:str", 5);
  await r.eval("redis.call('set', KEYS[1], 'lua'); redis.call('sadd', KEYS[2], 'lua')", 2, "filler:0", "set:int");
  await r.multi().set("filler:1", "tx").del("filler:2").exec();
  for (let i = 3; i < 60; i++) await r.set(`filler:${i}`, `new-${i}`);
  await r.select(3);
  await r.set("db3", "changed");
  await r.select(0);
}

async function populate(r: Redis): Promise<void> {
  await writeDataset(r);
  for (let i = 0; i < 300; i++) await r.set(`filler:${i}`, `v${i}`);
}

describe("background snapshots without fork", { timeout: 90_000 }, () => {
  it("BGSAVE writes the dataset as it was when it started, whatever clients change while it runs", async () => {
    const r = await ours();
    await populate(r);
    const before = await r.debug("digest");
    // 10 ms per key (~3 s for the ~320 keys; the delay is fixed when the save starts, as
    // in Redis's forked child): the save outlasts the writes below even on a loaded machine.
    await r.config("set", "rdb-key-save-delay", "10000");
    expect(await r.bgsave()).toBe("Background saving started");
    await churn(r);
    expect(await info(r, "rdb_bgsave_in_progress")).toBe("1");
    const after = await r.debug("digest");
    expect(after).not.toBe(before);
    await r.config("set", "rdb-key-save-delay", "0");
    await waitFor(() => idle(r));
    expect(await info(r, "rdb_last_bgsave_status")).toBe("ok");
    // Load the file written in the background: the dataset of the moment BGSAVE ran.
    expect(await r.call("debug", "reload", "nosave")).toBe("OK");
    expect(await r.debug("digest")).toBe(before);
    expect(await r.get("str")).toBe("hello");
    expect(await r.exists("born:during", "born:list", "hash:renamed")).toBe(0);
    expect(await r.hget("hash:small", "f")).toBe("v");
  });

  it("SWAPDB and FLUSHDB during a BGSAVE do not change what it writes", async () => {
    const r = await ours();
    await populate(r);
    const before = await r.debug("digest");
    await r.config("set", "rdb-key-save-delay", "1000");
    await r.bgsave();
    await r.set("str", "changed");
    await r.swapdb(0, 3);
    await r.select(3);
    await r.flushdb();
    await r.select(0);
    await r.set("db3", "after-swap");
    await r.config("set", "rdb-key-save-delay", "0");
    await waitFor(() => idle(r));
    await r.call("debug", "reload", "nosave");
    expect(await r.debug("digest")).toBe(before);
  });

  it("clients are answered while a BGSAVE of many keys runs", async () => {
    const r = await ours();
    await r.debug("populate", 50_000, "key", 20);
    const port = (r.options.port as number);
    // A client pinging back to back counts the answers it gets while the save is in progress.
    const sock = net.connect(port, "127.0.0.1");
    await new Promise((res) => sock.once("connect", res));
    let answered = 0;
    let saving = false;
    let stop = false;
    sock.on("data", (d) => {
      answered += d.toString().split("+PONG").length - 1;
      if (!stop) sock.write("PING\r\n");
    });
    sock.write("PING\r\n");
    expect(await r.bgsave()).toBe("Background saving started");
    saving = true;
    const atStart = answered;
    // The save advances between the clients' commands: INFO sees it part-way.
    let partWay = false;
    for (;;) {
      const p = await r.info("persistence");
      const done = Number(/current_save_keys_processed:(\d+)/.exec(p)![1]);
      const total = Number(/current_save_keys_total:(\d+)/.exec(p)![1]);
      if (done > 0 && done < total) partWay = true;
      if (/rdb_bgsave_in_progress:0/.test(p)) break;
    }
    stop = true;
    const during = answered - atStart;
    sock.destroy();
    expect(saving).toBe(true);
    expect(partWay).toBe(true);
    expect(during).toBeGreaterThan(0);
    expect(await info(r, "rdb_last_bgsave_status")).toBe("ok");
    await r.call("debug", "reload", "nosave");
    expect(await r.dbsize()).toBe(50_000);
  });

  it("BGREWRITEAOF's base is the dataset at its start; writes during it are replayed once from the new incr file", async () => {
    const r = await ours(["--appendonly", "yes"]);
    await populate(r);
    await r.set("counter", "0");
    // ~3 s of rewrite, so it is still running after the ~140 writes below on a loaded machine.
    await r.config("set", "rdb-key-save-delay", "10000");
    expect(await r.bgrewriteaof()).toBe("Background append only file rewriting started");
    await churn(r);
    for (let i = 0; i < 50; i++) await r.incr("counter");
    await r.rpush("list:big", "x", "y");
    expect(await info(r, "aof_rewrite_in_progress")).toBe("1");
    await r.config("set", "rdb-key-save-delay", "0");
    await waitFor(() => idle(r));
    expect(await info(r, "aof_last_bgrewrite_status")).toBe("ok");
    const live = await r.debug("digest");
    expect(await r.call("debug", "loadaof")).toBe("OK");
    expect(await r.debug("digest")).toBe(live);
    expect(await r.get("counter")).toBe("50");
  });

  it("one background job at a time: BGSAVE is refused or scheduled during a rewrite, BGREWRITEAOF scheduled during a save", async () => {
    const r = await ours(["--appendonly", "yes"]);
    await populate(r);
    await r.config("set", "rdb-key-save-delay", "2000");
    await r.bgrewriteaof();
    await expect(r.bgsave()).rejects.toThrow("Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    expect(await r.call("bgsave", "schedule")).toBe("Background saving scheduled");
    await expect(r.bgrewriteaof()).rejects.toThrow("Background append only file rewriting already in progress");
    await r.config("set", "rdb-key-save-delay", "0");
    // The scheduled BGSAVE runs once the rewrite is over.
    await waitFor(async () => (await info(r, "rdb_saves")) === "1" && (await idle(r)));
    await r.config("set", "rdb-key-save-delay", "2000");
    await r.bgsave();
    expect(await r.bgrewriteaof()).toBe("Background append only file rewriting scheduled");
    expect(await info(r, "aof_rewrite_scheduled")).toBe("1");
    await r.config("set", "rdb-key-save-delay", "0");
    await waitFor(async () => (await info(r, "aof_rewrites")) === "2" && (await idle(r)));
  });

  it("the AOF rewrites itself once it grows auto-aof-rewrite-percentage over its last size", async () => {
    const r = await ours(["--appendonly", "yes", "--auto-aof-rewrite-min-size", "10kb", "--auto-aof-rewrite-percentage", "100"]);
    expect(await info(r, "aof_rewrites")).toBe("0");
    const base = Number(await info(r, "aof_base_size"));
    for (let i = 0; i < 300; i++) await r.set(`k${i}`, "v".repeat(50));
    // (A rewrite may already have run while the keys were written, and another after it.)
    await waitFor(async () => Number(await info(r, "aof_rewrites")) >= 1 && (await idle(r)));
    // The growth is measured from the last rewrite's size: the 300 keys are in the base now.
    const newBase = Number(await info(r, "aof_base_size"));
    expect(newBase).toBeGreaterThan(base);
    expect(Number(await info(r, "aof_current_size"))).toBeGreaterThanOrEqual(newBase);
  });
});
