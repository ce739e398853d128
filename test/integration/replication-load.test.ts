// The replica's side of a full sync once the payload arrived: the RDB is loaded in slices with
// the LOADING gate up, as Redis's replica loads it (INFO loading:1, -LOADING, ROLE "sync",
// master_sync_in_progress:1; key-load-delay makes it observable), and the stream the master
// sent meanwhile is applied after it. On the master, a disk-target sync is a BGSAVE: it also
// writes dump.rdb and restarts the changes counter.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { serverGroup } from "../helpers/server.js";

async function until(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const field = async (r: Redis, name: string) => (await r.info()).match(new RegExp(`^${name}:(.*)$`, "m"))?.[1]?.trim();

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
});
