// An RDB load stores string and hash keys many per kernel call (src/persistence/keyspace-io.ts
// storeKeyBatched); lists, sets, zsets, streams and values over 16 KiB are stored one by one
// after the pending batches. These pin that such a load ends with exactly the saved dataset:
// keys on both sides of a batch boundary, every kind of value between them, two databases,
// TTLs, and a load paused for the event loop many times (key-load-delay).
import { describe, it, expect, afterEach } from "vitest";
import Redis from "ioredis";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../helpers/server.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function ours(dir: string, args: string[] = []): Promise<Redis> {
  const srv = await startServer(["--dir", dir, "--enable-debug-command", "yes", ...args]);
  const r = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null });
  await r.connect();
  cleanups.push(async () => { r.disconnect(); await srv.stop(); });
  return r;
}

/** 1400 keys in db 0 (more than two batches of 512) of every kind, interleaved, and 600 in db 5. */
async function writeKeys(r: Redis): Promise<void> {
  const p = r.pipeline();
  for (let i = 0; i < 1400; i++) {
    p.set(`s:${i}`, `value-${i}`);
    if (i % 3 === 0) p.set(`n:${i}`, String(i * 1000003 - 7));
    if (i % 5 === 0) p.hset(`h:${i}`, "a", String(i), "b", "x".repeat(i % 90));
    if (i % 97 === 0) p.rpush(`l:${i}`, "a", String(i));
    if (i % 101 === 0) p.sadd(`set:${i}`, String(i), "m");
    if (i % 103 === 0) p.zadd(`z:${i}`, String(i), "m");
    if (i % 251 === 0) p.set(`big:${i}`, "b".repeat(20_000 + i));
    if (i % 7 === 0) p.pexpire(`s:${i}`, 3_600_000);
  }
  p.set(Buffer.from([0, 13, 10, 255]), Buffer.from([1, 0, 2]));
  p.select(5);
  for (let i = 0; i < 600; i++) p.set(`db5:${i}`, String(i));
  p.select(0);
  await p.exec();
}

/** Every key of dbs 0 and 5 as DUMP payload and whether it has a TTL. */
async function snapshot(r: Redis): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const db of [0, 5]) {
    await r.select(db);
    const keys = await r.keysBuffer("*");
    for (const k of keys) {
      const dump = await r.dumpBuffer(k);
      const ttl = await r.pttl(k);
      out.set(`${db}:${k.toString("hex")}`, `${dump!.toString("hex")} ${ttl > 0 ? "ttl" : ttl}`);
    }
  }
  await r.select(0);
  return out;
}

describe("RDB load in batches", { timeout: 60_000 }, () => {
  it("a restart and DEBUG RELOAD load every key of a file of more than one batch, as saved", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-rdb-batch-"));
    cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
    const a = await ours(dir);
    await writeKeys(a);
    const before = await snapshot(a);
    expect(before.size).toBe(1400 + 467 + 280 + 15 + 14 + 14 + 6 + 1 + 600);
    expect(await a.save()).toBe("OK");
    await cleanups.pop()!();
    // A delay per key makes the load pause for the event loop every ~100 keys.
    const b = await ours(dir, ["--key-load-delay", "10"]);
    expect(await snapshot(b)).toEqual(before);
    await b.config("SET", "key-load-delay", "0");
    expect(await b.debug("RELOAD")).toBe("OK");
    expect(await snapshot(b)).toEqual(before);
  });
});
