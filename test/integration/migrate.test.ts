// MIGRATE between two real servers: keys of every type with their TTLs arrive on the
// target and leave the source (or stay, with COPY), REPLACE, KEYS, NOKEY, and Redis's
// errors when the target refuses or cannot be reached.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import Redis from "ioredis";
import { startServer, connectClient, freePort, type RunningServer } from "../helpers/server.js";

describe("MIGRATE", () => {
  let a: RunningServer, b: RunningServer;
  let ra: Redis, rb: Redis;
  beforeAll(async () => {
    a = await startServer();
    b = await startServer();
    ra = await connectClient(a.port, { protocol: 2 } as never);
    rb = await connectClient(b.port, { protocol: 2 } as never);
  });
  afterAll(async () => {
    ra?.disconnect();
    rb?.disconnect();
    await a?.stop();
    await b?.stop();
  });

  it("moves a key with its TTL and deletes it here", async () => {
    await ra.set("s", "v", "PX", 100_000);
    expect(await ra.call("migrate", "127.0.0.1", b.port, "s", 3, 5000)).toBe("OK");
    expect(await ra.exists("s")).toBe(0);
    await rb.select(3);
    expect(await rb.get("s")).toBe("v");
    expect(await rb.pttl("s")).toBeGreaterThan(90_000);
    await rb.select(0);
  });

  it("moves several keys of every type with KEYS; COPY keeps them here", async () => {
    await ra.rpush("l", "a", "b");
    await ra.sadd("st", "x");
    await ra.zadd("z", 1, "m");
    await ra.hset("h", "f", "v");
    expect(await ra.call("migrate", "127.0.0.1", b.port, "", 0, 5000, "COPY", "KEYS", "l", "st", "z", "h", "missing")).toBe("OK");
    expect(await ra.exists("l", "st", "z", "h")).toBe(4);
    expect(await rb.lrange("l", 0, -1)).toEqual(["a", "b"]);
    expect(await rb.smembers("st")).toEqual(["x"]);
    expect(await rb.zrange("z", 0, -1, "WITHSCORES")).toEqual(["m", "1"]);
    expect(await rb.hgetall("h")).toEqual({ f: "v" });
  });

  it("answers NOKEY when no key exists, BUSYKEY from the target without REPLACE", async () => {
    expect(await ra.call("migrate", "127.0.0.1", b.port, "nothing", 0, 5000)).toBe("NOKEY");
    await ra.set("dup", "new");
    await rb.set("dup", "old");
    await expect(ra.call("migrate", "127.0.0.1", b.port, "dup", 0, 5000))
      .rejects.toThrow("Target instance replied with error: BUSYKEY Target key name already exists.");
    expect(await ra.get("dup")).toBe("new");
    expect(await ra.call("migrate", "127.0.0.1", b.port, "dup", 0, 5000, "REPLACE")).toBe("OK");
    expect(await rb.get("dup")).toBe("new");
  });

  it("answers IOERR when the target cannot be reached, keeping the key", async () => {
    await ra.set("stay", "1");
    const closed = await freePort();
    await expect(ra.call("migrate", "127.0.0.1", closed, "stay", 0, 500))
      .rejects.toThrow(/^IOERR error or timeout (writing|reading) to target instance$/);
    expect(await ra.get("stay")).toBe("1");
    await expect(ra.call("migrate", "127.0.0.1", b.port, "stay", 0, 500, "KEYS", "x"))
      .rejects.toThrow("When using MIGRATE KEYS option, the key argument must be set to the empty string");
  });

  it("keeps the connection to a target for the next MIGRATE, and opens a new one when the target closed it", async () => {
    // (Earlier tests already migrated to b over a connection the cache now holds.)
    const migrateLinks = async () => (await rb.client("LIST") as string).split("\n").filter((l) => /cmd=restore/.test(l));
    await ra.set("c1", "1");
    expect(await ra.call("migrate", "127.0.0.1", b.port, "c1", 0, 5000)).toBe("OK");
    expect(await ra.info("stats")).toMatch(/migrate_cached_sockets:1\r\n/);
    const links = await migrateLinks();
    expect(links).toHaveLength(1);
    await rb.client("KILL", "ID", /id=(\d+)/.exec(links[0])![1]);
    await ra.set("c2", "2");
    expect(await ra.call("migrate", "127.0.0.1", b.port, "c2", 0, 5000)).toBe("OK");
    expect(await rb.get("c2")).toBe("2");
    expect(await ra.info("stats")).toMatch(/migrate_cached_sockets:1\r\n/);
  });

  it("a timeout beyond what a timer can hold still waits for the target", async () => {
    await ra.set("long", "1");
    expect(await ra.call("migrate", "127.0.0.1", b.port, "long", 0, "9999999999999")).toBe("OK");
    expect(await rb.get("long")).toBe("1");
  });
});
