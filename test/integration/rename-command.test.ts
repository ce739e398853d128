// rename-command (redis.conf / --rename-command): a command answers to its new name only,
// or to none when renamed to "", for clients, MULTI and scripts alike, kernel commands
// included. The replies are redis-server 7.0.15's for the same configuration.
import { it, expect } from "vitest";
import type Redis from "ioredis";
import { useServer } from "../helpers/server.js";

let r: Redis;
useServer((_s, c) => { r = c; }, {
  args: ["--rename-command", "flushdb", "", "--rename-command", "flushall", "badger", "--rename-command", "get", "fetch", "--rename-command", "config", "cfg"],
  client: { protocol: 2 } as never,
});

it("renamed commands answer to their new names, the old names are unknown, and removed ones are gone", async () => {
  await r.set("k", "v");
  await expect(r.get("k")).rejects.toThrow("ERR unknown command 'get', with args beginning with: 'k' ");
  expect(await r.call("fetch", "k")).toBe("v");
  await expect(r.call("flushdb")).rejects.toThrow("ERR unknown command 'flushdb'");
  await expect(r.call("config", "get", "port")).rejects.toThrow(/unknown command 'config'/);
  expect(((await r.call("cfg", "get", "maxmemory")) as string[])[0]).toBe("maxmemory");
  expect(await r.call("multi")).toBe("OK");
  expect(await r.call("fetch", "k")).toBe("QUEUED");
  expect(await r.call("exec")).toEqual(["v"]);
  expect(await r.eval("return redis.call('fetch', KEYS[1])", 1, "k")).toBe("v");
  await expect(r.eval("return redis.call('get', KEYS[1])", 1, "k")).rejects.toThrow(/Unknown Redis command called from script/);
  expect((await r.call("command", "info", "fetch") as unknown[][])[0][0]).toBe("get");
  expect(await r.call("badger")).toBe("OK");
  expect(await r.dbsize()).toBe(0);
});
