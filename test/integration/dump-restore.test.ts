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

  it("a stream payload with a wrong lp-count or a node twice is 'Bad data format' (corrupt-dump.tcl's payloads)", async () => {
    await r.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1");
    try {
      // "fuzzer findings - stream bad lp_count": an entry's lp-count is 0x2C, not 5.
      await expect(r.restore("s1", 0, Buffer.from("0f011000000173dedf7d9b00000000000000004042420000001800030100010201846974656d058576616c75650600010201000100010101000156010201220100010101825f3103050102012c010001010102010501ff038100000173dedf7dc70001076d7967726f75708100000173dedf7d9b000100000173dedf7d9b0000000000000000f97ddfde73010000010105416c696365eb7ddfde730100000100000173dedf7d9b00000000000000000900b2a8a75f1b6172d5", "hex"))).rejects.toThrow("Bad data format");
      // "stream double free listpack when insert dup node to rax returns 0": two nodes with one master ID.
      await expect(r.restore("s2", 0, Buffer.from("0f03100000017b605a23790000000000000000c3404f405c185c0000002400050100010201846974656d058576616c756506401000002001000120030005201c4009050101825f3103800d0002200d0002a0190003200b02825f33a0190004200d0004201900ff100000017b605a23790000000000000005c34051405e185e0000002400050100010201846974656d058576616c756506401000002001060101825f350305201e400b0301010601800b0002200b02825f37a0190003200d0008a0190004200b02825f39201900ff100000017b605a23790000000000000000c33b404918490000001500020100010201846974656d058576616c7565064010000020014000000520074009c02209010186756e6971756507a02c020801ff0c810000017b605a237a01000a009c8f1ebf2e055909", "hex"))).rejects.toThrow("Bad data format");
      expect(await r.exists("s1", "s2")).toBe(0);
    } finally {
      await r.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0");
    }
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
      real = await startRealRedis(["--enable-debug-command", "yes"]);
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

    it("a string over 20 bytes DUMPs to real Redis's bytes: LZF-compressed under rdbcompression yes, plain under no", async () => {
      // Debian's redis-server links liblzf 3.6; src/persistence/lzf.ts compresses as it does.
      let seed = 11;
      const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return Math.floor((seed / 0x80000000) * n); };
      const words = ["ab", "abcdefgh", "xyz0123456789", "\x00\x01\xff", "the quick brown fox "];
      const values: Buffer[] = [];
      for (let i = 0; i < 300; i++) {
        const w = words[i % words.length];
        const len = 1 + rnd(i % 25 === 0 ? 40_000 : 300);
        let v = "";
        while (v.length < len) {
          const pick = rnd(10);
          v += pick < 5 ? w[rnd(w.length)] : pick < 8 ? w.repeat(1 + rnd(5)) : String.fromCharCode(rnd(256));
        }
        values.push(Buffer.from(v.slice(0, len), "latin1"));
      }
      const compare = async () => {
        let lzf = 0;
        for (const v of values) {
          await r.set("s", v);
          await rr.set("s", v);
          const ours = await r.dumpBuffer("s");
          expect(ours.equals(await rr.dumpBuffer("s")), `${v.length} bytes`).toBe(true);
          if (ours[1] === 0xc3) lzf++; // RDB_ENCVAL | RDB_ENC_LZF after the type byte
          expect((await r.restore("back", 0, ours, "REPLACE"), await r.getBuffer("back"))!.equals(v)).toBe(true);
        }
        return lzf;
      };
      expect(await compare()).toBeGreaterThan(200);
      await r.config("SET", "rdbcompression", "no");
      await rr.config("SET", "rdbcompression", "no");
      try {
        expect(await compare()).toBe(0);
      } finally {
        await r.config("SET", "rdbcompression", "yes");
        await rr.config("SET", "rdbcompression", "yes");
      }
    });

    it("lists, intsets and listpack hashes and sorted sets DUMP to real Redis's bytes (its 7.0 encodings); skiplist sorted sets too", async () => {
      let seed = 5;
      const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return Math.floor((seed / 0x80000000) * n); };
      // Small and large integers (listpack int encodings), short and long strings.
      const elem = () => [String(rnd(200) - 100), String(rnd(2 ** 31) - 2 ** 30), "x".repeat(rnd(100)), String(2 ** 40 + rnd(1000)), `e${rnd(1000)}`][rnd(5)];
      const cmds: string[][] = [];
      const spread = (i: number, big: number) => 1 + rnd(i % 5 === 0 ? big : 20);
      for (let i = 0; i < 20; i++) cmds.push(["rpush", `l${i}`, ...Array.from({ length: spread(i, 2000) }, elem)]); // several quicklist nodes
      for (let i = 0; i < 20; i++) cmds.push(["sadd", `s${i}`, ...Array.from({ length: spread(i, 300) }, () => String(rnd(100_000) - 50_000))]);
      for (let i = 0; i < 20; i++) cmds.push(["hset", `h${i}`, ...Array.from({ length: 2 * (1 + rnd(20)) }, elem)]);
      for (let i = 0; i < 20; i++) cmds.push(["zadd", `z${i}`, ...Array.from({ length: spread(i, 300) }, () => [rnd(3) ? String(rnd(100_000) / 7) : String(rnd(100)), elem()]).flat()]);
      for (const c of [r, rr]) {
        await c.flushall();
        for (const cmd of cmds) await c.call(cmd[0], ...cmd.slice(1));
      }
      const encodings = new Set<string>();
      for (const cmd of cmds) {
        const k = cmd[1];
        const enc = String(await rr.object("ENCODING", k));
        expect(String(await r.object("ENCODING", k)), k).toBe(enc);
        encodings.add(`${cmd[0]}:${enc}`);
        // A hashtable hash (a value over 64 bytes) is written in its dict's order, Redis's own.
        if (enc !== "hashtable") expect((await r.dumpBuffer(k)).equals(await rr.dumpBuffer(k)), k).toBe(true);
      }
      for (const e of ["hset:listpack", "rpush:quicklist", "sadd:intset", "zadd:listpack", "zadd:skiplist"]) expect(encodings).toContain(e);
    });

    it("DEBUG OBJECT's serializedlength is the value's RDB size, as real Redis's", async () => {
      const serialized = async (c: Redis, k: string) => Number(/serializedlength:(\d+)/.exec(String(await c.call("DEBUG", "OBJECT", k)))![1]);
      for (const c of [r, rr]) {
        await c.flushall();
        await c.set("long", "a".repeat(200)); // LZF
        await c.set("int", "12345");
        await c.set("big", "12345678901");
        await c.set("short", "hello");
        await c.sadd("set", "alpha", "beta", "gamma");
        await c.sadd("intset", "1", "2", "300000");
        await c.rpush("list", "a", "b", "12");
        await c.hset("hash", "f", "v", "n", "7");
        await c.zadd("zset", 1, "a", 2.5, "b");
        await c.xadd("stream", "1-1", "f", "v");
      }
      for (const k of ["long", "int", "big", "short", "set", "intset", "list", "hash", "zset", "stream"]) expect(await serialized(r, k), k).toBe(await serialized(rr, k));
      expect(await serialized(r, "long")).toBeLessThan(20);
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
