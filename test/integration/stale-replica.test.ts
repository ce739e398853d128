// replica-serve-stale-data no: a replica whose master link is down answers only commands
// flagged `stale` and refuses the rest with -MASTERDOWN, kernel-run reads included; EXEC of
// such a queued command is aborted. Replies as redis-server 7.0.15 gives them.
import { it, expect } from "vitest";
import type Redis from "ioredis";
import { useServer, freePort } from "../helpers/server.js";

let r: Redis;
useServer((_s, c) => { r = c; });

const MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

it("a replica with its link down refuses non-stale commands with -MASTERDOWN until it is a master again", async () => {
  await r.set("a", "1");
  await r.config("SET", "replica-serve-stale-data", "no");
  await r.call("replicaof", "127.0.0.1", String(await freePort())); // nobody listens there
  try {
    await expect(r.get("a")).rejects.toThrow(MASTERDOWN);
    await expect(r.call("dbsize")).rejects.toThrow(MASTERDOWN);
    await expect(r.set("a", "2")).rejects.toThrow("READONLY You can't write against a read only replica.");
    expect(await r.info("replication")).toContain("role:slave");
    expect(await r.config("GET", "maxmemory")).toEqual(["maxmemory", "0"]);
    expect(await r.call("multi")).toBe("OK");
    await expect(r.call("get", "a")).rejects.toThrow(MASTERDOWN);
    await expect(r.call("exec")).rejects.toThrow("EXECABORT Transaction discarded because of previous errors.");
    await r.config("SET", "replica-serve-stale-data", "yes");
    expect(await r.get("a")).toBe("1");
  } finally {
    await r.call("replicaof", "no", "one");
    await r.config("SET", "replica-serve-stale-data", "yes");
  }
  expect(await r.get("a")).toBe("1");
});
