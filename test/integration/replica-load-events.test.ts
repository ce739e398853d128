// When a replica loading its master's RDB answers other clients. Redis's rdbLoad serves events
// only when the bytes read cross a multiple of loading-process-events-interval-bytes (2 MB by
// default; rdbLoadProgressCallback), so a small payload loads without any client seeing
// -LOADING: the client's command simply waits for the load's end. 04-resharding depends on it:
// its CLUSTER INFO right after a restarted replica's full sync must not fail with -LOADING.
// With a 1 KB interval the same load serves events, and -LOADING, many times.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { serverGroup } from "../helpers/server.js";
import { until, infoField as field } from "../helpers/wait.js";

/** Sends GET in a loop until `done` says stop; returns the errors seen, by message. */
async function pollErrors(r: Redis, done: () => boolean): Promise<Set<string>> {
  const errors = new Set<string>();
  while (!done()) {
    try {
      await r.get("key:1");
    } catch (e) {
      errors.add((e as Error).message);
    }
  }
  return errors;
}

describe("replica full sync: events served during the RDB load", { timeout: 120_000 }, () => {
  const servers = serverGroup(["--repl-diskless-sync-delay", "0", "--enable-debug-command", "yes"]);
  afterAll(() => servers.stopAll());

  async function syncWhilePolling(replicaArgs: string[]): Promise<Set<string>> {
    const { srv: msrv, r: m } = await servers.start();
    // About 1 MB of RDB (under the default 2 MB interval): tens of ms or more to load here.
    await m.call("debug", "populate", "60000", "key", "10");
    const { r: s } = await servers.start(replicaArgs);
    const p = s.duplicate();
    let synced = false;
    const polling = pollErrors(p, () => synced);
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("link up", async () => (await field(s, "master_link_status")) === "up", 60_000, 20);
    synced = true;
    const errors = await polling;
    p.disconnect();
    expect(await s.dbsize()).toBe(60000);
    return errors;
  }

  it("a payload under loading-process-events-interval-bytes: no client sees -LOADING", async () => {
    const errors = await syncWhilePolling([]);
    expect([...errors]).toEqual([]);
  });

  it("with loading-process-events-interval-bytes 1024 the same load answers -LOADING", async () => {
    const errors = await syncWhilePolling(["--loading-process-events-interval-bytes", "1024"]);
    expect([...errors]).toEqual(["LOADING Redis is loading the dataset in memory"]);
  });
});
