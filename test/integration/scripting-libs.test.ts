// The Lua libraries Redis bundles beyond base/table/string/math: cmsgpack and struct
// (expected bytes recorded from redis-server 7.0.15), plus FUNCTION DUMP/RESTORE, SORT's
// forced order inside scripts and INFO's script counts.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import Redis from "ioredis";
import { startServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

beforeAll(async () => {
  srv = await startServer(["--enable-debug-command", "yes"]);
  r = new Redis({ port: srv.port, host: "127.0.0.1", enableReadyCheck: false });
});
afterAll(async () => {
  r?.disconnect();
  await srv?.stop();
});

const HEX = "local h = '' for i = 1, #s do h = h .. string.format('%02x', string.byte(s, i)) end ";

async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected an error reply");
}

describe("cmsgpack", () => {
  it("packs as lua-cmsgpack 0.4.0 does: arrays, maps, negative ints, uint64, float32, booleans, nil", async () => {
    const res = await r.eval("local s = cmsgpack.pack({1,2,3}, {a=1}, 'x', -33, 4294967296, 3.5, true, nil) " + HEX +
      "local t = {cmsgpack.unpack(s)} return {h, #t, t[3], t[4], tostring(t[5]), tostring(t[6])}", 0);
    expect(res).toEqual(["9301020381a16101a178d0dfcf0000000100000000ca40600000c3c0", 7, "x", -33, "4294967296", "3.5"]);
  });

  it("packs 0.1 as a double and -2^40 as int64", async () => {
    expect(await r.eval("local s = cmsgpack.pack(0.1) " + HEX + "return h", 0)).toBe("cb3fb999999999999a");
    expect(await r.eval("local s = cmsgpack.pack(-1099511627776) " + HEX + "return h", 0)).toBe("d3ffffff0000000000");
  });

  it("unpack_one and unpack_limit return the next offset first, -1 at the end", async () => {
    expect(await r.eval("return {cmsgpack.unpack_limit(cmsgpack.pack(1,2,3), 2)}", 0)).toEqual([2, 1, 2]);
    expect(await r.eval("local s = cmsgpack.pack('a', 'b') local o, v = cmsgpack.unpack_one(s, 2) return {o, v}", 0)).toEqual([-1, "b"]);
  });

  it("stops at 16 levels of nesting, so a circular table packs", async () => {
    const res = await r.eval("local a = {y=5} local b = {x=a} a.x = b local re = cmsgpack.unpack(cmsgpack.pack(a)) " +
      "return {re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.y, tostring(re.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x.x)}", 0);
    expect(res).toEqual([5, "nil"]);
  });

  it("reports bad input as Lua errors, and the table is read-only", async () => {
    expect(await r.eval("return select(2, pcall(cmsgpack.unpack, string.char(0xc1)))", 0)).toBe("Bad data format in input.");
    expect(await r.eval("return select(2, pcall(cmsgpack.unpack, string.char(0xcd, 1)))", 0)).toBe("Missing bytes in input.");
    expect(await errorOf(r.eval("cmsgpack.pack = function() return 1 end", 0))).toMatch(/Attempt to modify a readonly table/);
  });
});

describe("struct", () => {
  it("packs and unpacks with endianness, alignment, strings and doubles as Redis's struct.c", async () => {
    const res = await r.eval("local s = struct.pack('>i4Hbc3s!4d', -2, 65535, -1, 'abcdef', 'zz', 1.5) " + HEX +
      "return {h, {struct.unpack('>i4Hbc3s!4d', s)}, struct.size('<!8bd')}", 0);
    expect(res).toEqual(["fffffffeffffff6162637a7a000000003ff8000000000000", [-2, 65535, -1, "abc", "zz", 1, 25], 16]);
  });

  it("checks its arguments", async () => {
    expect(await r.eval("return select(2, pcall(struct.unpack, 'i4', 'ab'))", 0)).toMatch(/data string too short/);
    expect(await r.eval("return select(2, pcall(struct.pack, 'y', 1))", 0)).toMatch(/invalid format option 'y'/);
  });
});

describe("FUNCTION DUMP / RESTORE", () => {
  const lib = (name: string, fn: string, ret: string) => `#!lua name=${name}\nredis.register_function('${fn}', function() return '${ret}' end)`;

  it("round-trips the libraries, with APPEND (default), REPLACE and FLUSH policies", async () => {
    await r.function("FLUSH");
    await r.function("LOAD", lib("l1", "f1", "one"));
    const payload = (await r.callBuffer("FUNCTION", "DUMP")) as Buffer;
    await r.function("DELETE", "l1");
    expect(await r.callBuffer("FUNCTION", "RESTORE", payload)).toEqual(Buffer.from("OK"));
    expect(await r.fcall("f1", 0)).toBe("one");
    expect(await errorOf(r.callBuffer("FUNCTION", "RESTORE", payload, "APPEND"))).toBe("ERR Library l1 already exists");
    await r.function("LOAD", "REPLACE", lib("l1", "f1", "changed"));
    await r.callBuffer("FUNCTION", "RESTORE", payload, "REPLACE");
    expect(await r.fcall("f1", 0)).toBe("one");
    await r.function("LOAD", lib("l2", "f2", "two"));
    await r.callBuffer("FUNCTION", "RESTORE", payload, "FLUSH");
    expect(await errorOf(r.fcall("f2", 0))).toBe("ERR Function not found");
  });

  it("refuses a function name another library has, changing nothing", async () => {
    await r.function("FLUSH");
    await r.function("LOAD", lib("l1", "f1", "one"));
    const payload = (await r.callBuffer("FUNCTION", "DUMP")) as Buffer;
    await r.function("FLUSH");
    await r.function("LOAD", lib("other", "f1", "mine"));
    expect(await errorOf(r.callBuffer("FUNCTION", "RESTORE", payload, "REPLACE"))).toBe("ERR Function f1 already exists");
    expect(await r.fcall("f1", 0)).toBe("mine");
  });

  it("refuses a bad payload and a bad policy", async () => {
    expect(await errorOf(r.function("RESTORE", "bad_payload"))).toBe("ERR payload version or checksum are wrong");
    expect(await errorOf(r.function("RESTORE", "x", "MERGE"))).toBe("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
  });
});

describe("scripts and the rest of the server", () => {
  it("SORT BY a constant orders a set's members inside a script (Redis forces ALPHA for determinism)", async () => {
    await r.del("myset");
    await r.sadd("myset", "b", "a", "c");
    expect(await r.eval("return redis.call('sort', KEYS[1], 'by', '_')", 1, "myset")).toEqual(["a", "b", "c"]);
  });

  it("time stands still inside a script: a key set with PX 1 still exists after a sleep", async () => {
    await r.debug("SET-DISABLE-DENY-SCRIPTS", "1");
    try {
      const res = await r.eval("redis.call('SET', 'k', 'v', 'PX', 1) redis.call('DEBUG', 'SLEEP', 0.01) return redis.call('EXISTS', 'k')", 0);
      expect(res).toBe(1);
      expect(await r.exists("k")).toBe(0);
    } finally {
      await r.debug("SET-DISABLE-DENY-SCRIPTS", "0");
    }
    expect(await errorOf(r.eval("return redis.call('DEBUG', 'SLEEP', 0)", 0))).toMatch(/This Redis command is not allowed from script/);
  });

  it("a verbatim string a RESP3 script receives goes back to a RESP3 client as verbatim", async () => {
    await r.debug("SET-DISABLE-DENY-SCRIPTS", "1");
    try {
      // ioredis speaks RESP3 and reads a verbatim string as its text.
      expect(await r.eval("redis.setresp(3) return redis.call('DEBUG', 'PROTOCOL', 'verbatim')", 0)).toBe("This is a verbatim\nstring");
    } finally {
      await r.debug("SET-DISABLE-DENY-SCRIPTS", "0");
    }
  });

  it("min-replicas-to-write without replicas refuses scripts that may write (NOREPLICAS), not read-only ones", async () => {
    await r.set("nr", "v");
    await r.config("SET", "min-replicas-to-write", "1");
    try {
      expect(await r.eval("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", 1, "nr")).toBe("v");
      expect(await r.eval("return redis.call('get', KEYS[1])", 1, "nr")).toBe("v");
      expect(await errorOf(r.eval("#!lua\nreturn redis.call('get', KEYS[1])", 1, "nr"))).toBe("NOREPLICAS Not enough good replicas to write.");
      expect(await errorOf(r.eval("return redis.call('set', KEYS[1], 'w')", 1, "nr"))).toMatch(/^NOREPLICAS Not enough good replicas to write\./);
    } finally {
      await r.config("SET", "min-replicas-to-write", "0");
    }
    expect(await r.get("nr")).toBe("v");
  });

  it("INFO memory counts cached scripts", async () => {
    await r.script("FLUSH");
    await r.script("LOAD", "return 1");
    await r.script("LOAD", "return 2");
    expect(await r.info("memory")).toMatch(/number_of_cached_scripts:2\r\n/);
  });
});
