// FLUSHALL with save points set saves the emptied dataset at once (Redis's
// flushAllDataAndResetRDB), so the change counter is 0 after it; without save points it does
// not save; nor does a FLUSHALL that fails.
import { describe, it, expect } from "vitest";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Redis } from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; }, { args: ["--enable-debug-command", "yes"] });

const changes = async () => Number(/rdb_changes_since_last_save:(\d+)/.exec(await r.info("persistence"))![1]);

describe("FLUSHALL and save points", () => {
  it("without save points FLUSHALL leaves the change counter counting and writes no file", async () => {
    await r.config("SET", "save", "");
    await r.set("k", "v");
    await r.flushall();
    expect(await changes()).toBeGreaterThan(0);
    expect(existsSync(join(srv.dir, "dump.rdb"))).toBe(false);
  });

  it("with save points FLUSHALL saves synchronously: the counter is 0 and the file holds the empty dataset", async () => {
    await r.config("SET", "save", "3600 1 300 100 60 10000");
    await r.set("k", "v");
    await r.flushall();
    expect(await changes()).toBe(0);
    const file = join(srv.dir, "dump.rdb");
    expect(existsSync(file)).toBe(true);
    await r.set("after", "1");
    expect(await changes()).toBe(1);
    // The file is the empty dataset: DEBUG RELOAD NOSAVE brings back no key.
    await r.call("debug", "reload", "nosave");
    expect(await r.dbsize()).toBe(0);
    expect(statSync(file).size).toBeGreaterThan(0);
    await r.config("SET", "save", "");
  });

  it("a FLUSHALL that fails (a bad argument) does not save, a later one in the same pipeline does", async () => {
    await r.config("SET", "save", "3600 1");
    await r.set("k", "v");
    await expect(r.call("flushall", "foo")).rejects.toThrow("ERR syntax error");
    expect(await changes()).toBeGreaterThan(0);
    expect(await r.dbsize()).toBe(1);
    const replies = await r.pipeline().call("flushall", "foo").flushall().exec();
    expect(replies![0][0]).toBeInstanceOf(Error);
    expect(replies![1]).toEqual([null, "OK"]);
    expect(await changes()).toBe(0);
    await r.set("k", "v");
    await r.config("RESETSTAT");
    await expect(r.call("flushall", "foo")).rejects.toThrow("ERR syntax error");
    expect(await changes()).toBeGreaterThan(0);
    await r.flushall();
    expect(await changes()).toBe(0);
    await r.config("SET", "save", "");
  });
});
