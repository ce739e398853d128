// stop-writes-on-bgsave-error (Redis's writeCommandsDeniedByDiskError): after a failed BGSAVE,
// with save rules set, writes from clients and scripts are refused with -MISCONF to the
// letter, reads still work, and a successful BGSAVE (or turning the option off) lifts it.
import { describe, it, expect, afterEach } from "vitest";
import type Redis from "ioredis";
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startServer, connectClient, type RunningServer } from "../helpers/server.js";

const MISCONF = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. " +
  "Commands that may modify the data set are disabled, because this instance is configured to report errors during writes " +
  "if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function info(r: Redis, field: string): Promise<string> {
  return new RegExp(`^${field}:(.*)$`, "m").exec(await r.info("persistence"))?.[1].trim() ?? "";
}

async function waitIdle(r: Redis): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await info(r, "rdb_bgsave_in_progress")) !== "0") {
    if (Date.now() > deadline) throw new Error("BGSAVE did not end");
    await new Promise((res) => setTimeout(res, 25));
  }
}

describe("stop-writes-on-bgsave-error", { timeout: 30_000 }, () => {
  it("a failed BGSAVE makes writes answer -MISCONF until a BGSAVE succeeds", async () => {
    const srv: RunningServer = await startServer(["--save", "3600 1"]);
    const r = await connectClient(srv.port, { retryStrategy: () => null });
    cleanups.push(async () => { r.disconnect(); await srv.stop(); });
    await r.set("x", "x");
    // A directory where dump.rdb goes: the background write cannot rename over it.
    const blocker = join(srv.dir, "dump.rdb");
    mkdirSync(join(blocker, "inside"), { recursive: true });
    await r.bgsave();
    await waitIdle(r);
    expect(await info(r, "rdb_last_bgsave_status")).toBe("err");

    expect(await r.get("x")).toBe("x");
    await expect(r.set("x", "y")).rejects.toThrow(MISCONF);
    await expect(r.lpush("l", "a")).rejects.toThrow(MISCONF);
    await expect(r.eval("return redis.call('set','x',1)", 1, "x")).rejects.toThrow(/MISCONF Redis is configured to save RDB snapshots/);
    expect(await r.eval("return redis.call('get','x')", 1, "x")).toBe("x");
    // In MULTI the write is refused when queued (the transaction is flagged).
    const tx = await r.multi().set("x", "z").exec().catch((e: Error) => e);
    expect(String(tx)).toMatch(/EXECABORT|MISCONF/);

    // Turning the option off lifts the refusal; on again, it is back.
    await r.config("set", "stop-writes-on-bgsave-error", "no");
    expect(await r.set("x", "y")).toBe("OK");
    await r.config("set", "stop-writes-on-bgsave-error", "yes");
    await expect(r.set("x", "y")).rejects.toThrow(MISCONF);

    rmSync(blocker, { recursive: true, force: true });
    await r.bgsave();
    await waitIdle(r);
    expect(await info(r, "rdb_last_bgsave_status")).toBe("ok");
    expect(await r.set("x", "w")).toBe("OK");
  });

  it("without save rules a failed BGSAVE does not stop writes", async () => {
    const srv: RunningServer = await startServer([]);
    const r = await connectClient(srv.port, { retryStrategy: () => null });
    cleanups.push(async () => { r.disconnect(); await srv.stop(); });
    mkdirSync(join(srv.dir, "dump.rdb", "inside"), { recursive: true });
    await r.bgsave();
    await waitIdle(r);
    expect(await info(r, "rdb_last_bgsave_status")).toBe("err");
    expect(await r.set("x", "y")).toBe("OK");
  });
});
