import { describe, it, expect, beforeAll, afterAll } from "vitest";
import Redis from "ioredis";
import { startServer, type RunningServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis, type RealRedis } from "../helpers/real-redis.js";
import { writeDataset, readDataset } from "../helpers/dataset.js";

let srv: RunningServer;
let r: Redis;

const connect = async (port: number) => {
  const c = new Redis({ port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
  await c.connect();
  return c;
};

beforeAll(async () => {
  srv = await startServer(["--enable-debug-command", "yes"]);
  r = await connect(srv.port);
});
afterAll(async () => {
  r?.disconnect();
  await srv?.stop();
});

/** DUMPs every key of `from` (dbs 0 and 3) and RESTOREs it into `to` with its remaining TTL. */
async function copyAll(from: Redis, to: Redis): Promise<void> {
  for (const db of [0, 3]) {
    await from.select(db);
    await to.select(db);
    for (const k of await from.keys("*")) {
      const payload = await from.dumpBuffer(k);
      const pttl = await from.pttl(k);
      expect(await to.restore(k, pttl > 0 ? pttl : 0, payload, "REPLACE")).toBe("OK");
    }
  }
  await from.select(0);
  await to.select(0);
}

describe("DUMP / RESTORE", () => {
  it("round-trips every type, large and small, with TTLs, through our own payloads", async () => {
    await r.flushall();
    await writeDataset(r);
    const before = await readDataset(r);
    const payloads = new Map<string, Buffer>();
    for (const k of await r.keys("*")) payloads.set(k, await r.dumpBuffer(k));
    await copyAll(r, r);
    expect(await readDataset(r)).toEqual(before);
    expect(payloads.size).toBeGreaterThan(10);
  });

  it("answers Redis's errors to the letter", async () => {
    await r.set("foo", "bar");
    const p = await r.dumpBuffer("foo");
    await expect(r.restore("foo", 0, p)).rejects.toThrow("BUSYKEY Target key name already exists.");
    await expect(r.restore("new", 0, Buffer.from("garbage-payload"))).rejects.toThrow("ERR DUMP payload version or checksum are wrong");
    const bad = Buffer.from(p);
    bad[1] ^= 0xff;
    await expect(r.restore("new", 0, bad)).rejects.toThrow("ERR DUMP payload version or checksum are wrong");
    await expect(r.restore("new", -1, p)).rejects.toThrow("ERR Invalid TTL value, must be >= 0");
    await expect(r.call("restore", "new", "0", p, "bogus")).rejects.toThrow("ERR syntax error");
    await expect(r.call("restore", "new", "0", p, "idletime", "-1")).rejects.toThrow("ERR Invalid IDLETIME value, must be >= 0");
    await expect(r.call("restore", "new", "0", p, "freq", "256")).rejects.toThrow("ERR Invalid FREQ value, must be >= 0 and <= 255");
    expect(await r.dump("no-such-key")).toBeNull();
  });

  it("a corrupt packed payload is 'Bad data format'; DEBUG SET-SKIP-CHECKSUM-VALIDATION 1 skips the CRC check", async () => {
    // corrupt-dump.tcl's "quicklist small ziplist prev len": its ziplist's second entry has a wrong prevlen.
    const payload = Buffer.from("0e0113130000000e00000002000002610002026200ff0900c77103970775b063", "hex");
    await expect(r.restore("corrupt", 0, payload)).rejects.toThrow("Bad data format");
    await r.set("src", "v");
    const badCrc = Buffer.from((await r.dumpBuffer("src"))!);
    badCrc[badCrc.length - 1] ^= 0xff;
    await expect(r.restore("crc", 0, badCrc)).rejects.toThrow("DUMP payload version or checksum are wrong");
    await r.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1");
    try {
      expect(await r.restore("crc", 0, badCrc)).toBe("OK");
      expect(await r.get("crc")).toBe("v");
    } finally {
      await r.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0");
      await r.del("src", "crc");
    }
    await expect(r.restore("crc", 0, badCrc)).rejects.toThrow("DUMP payload version or checksum are wrong");
  });

  it("REPLACE overwrites any type, ABSTTL sets an absolute expiry, a past one deletes the key", async () => {
    await r.rpush("k", "a");
    await r.set("src", "v");
    const p = await r.dumpBuffer("src");
    expect(await r.restore("k", 0, p, "REPLACE")).toBe("OK");
    expect(await r.get("k")).toBe("v");
    expect(await r.call("restore", "k", String(Date.now() + 60_000), p, "REPLACE", "ABSTTL")).toBe("OK");
    const pttl = await r.pttl("k");
    expect(pttl).toBeGreaterThan(50_000);
    expect(await r.call("restore", "k", String(Date.now() - 1000), p, "REPLACE", "ABSTTL")).toBe("OK");
    expect(await r.exists("k")).toBe(0);
  });

  it("IDLETIME sets the key's idle time", async () => {
    await r.set("src", "v");
    const p = await r.dumpBuffer("src");
    await r.call("restore", "idle", "0", p, "REPLACE", "IDLETIME", "1000");
    const idle = Number(await r.object("IDLETIME", "idle"));
    expect(idle).toBeGreaterThanOrEqual(1000);
    expect(idle).toBeLessThan(1010);
  });

  it("a restored list wakes a client blocked on it", async () => {
    await r.del("q");
    await r.rpush("tmp", "x");
    const p = await r.dumpBuffer("tmp");
    const b = await connect(srv.port);
    const popped = b.blpop("q", 5);
    await new Promise((res) => setTimeout(res, 100));
    await r.restore("q", 0, p);
    expect(await popped).toEqual(["q", "x"]);
    b.disconnect();
  });

  describe.skipIf(!hasRealRedis)("with Debian's redis-server 7.0.15", () => {
    let real: RealRedis;
    let rr: Redis;
    beforeAll(async () => {
      real = await startRealRedis();
      rr = await connect(real.port);
    });
    afterAll(async () => {
      rr?.disconnect();
      await real?.stop();
    });

    it("RESTOREs what real Redis DUMPs (listpack, intset, quicklist, LZF encodings)", async () => {
      await rr.flushall();
      await r.flushall();
      await writeDataset(rr);
      await copyAll(rr, r);
      expect(await readDataset(r)).toEqual(await readDataset(rr));
    });

    it("real Redis RESTOREs what we DUMP", async () => {
      await rr.flushall();
      await r.flushall();
      await writeDataset(r);
      await copyAll(r, rr);
      expect(await readDataset(rr)).toEqual(await readDataset(r));
    });
  });
});
