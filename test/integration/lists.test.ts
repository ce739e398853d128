import { describe, it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import { useServer, type RunningServer } from "../helpers/server.js";

let srv: RunningServer;
let r: Redis;

useServer((s, c) => { srv = s; r = c; });
beforeEach(async () => { await r.flushall(); });

const err = (p: Promise<unknown>) => p.then(() => "no error", (e: Error) => e.message);

describe("lists through a real server", () => {
  it("binary-safe elements round-trip, including bytes above 0x7f and CRLF", async () => {
    const a = Buffer.from([0, 13, 10, 0xff, 0x80]);
    const b = Buffer.from("caf\u00e9", "utf8");
    expect(await r.rpush("bin", a, b, "")).toBe(3);
    expect(await r.lrangeBuffer("bin", 0, -1)).toEqual([a, b, Buffer.alloc(0)]);
    expect(await r.lpos("bin", b)).toBe(1);
    expect(await r.lrem("bin", 0, a)).toBe(1);
    expect(await r.lpopBuffer("bin")).toEqual(b);
  });

  it("a long list stays consistent at both ends and in the middle", async () => {
    const model: string[] = [];
    for (let i = 0; i < 2000; i += 100) {
      const head = Array.from({ length: 100 }, (_, j) => `h${i + j}`);
      const tail = Array.from({ length: 100 }, (_, j) => `t${i + j}`);
      await r.lpush("big", ...head);
      await r.rpush("big", ...tail);
      model.unshift(...head.slice().reverse());
      model.push(...tail);
    }
    expect(await r.llen("big")).toBe(4000);
    expect(await r.lindex("big", 1999)).toBe(model[1999]);
    expect(await r.lindex("big", -1)).toBe(model[3999]);
    expect(await r.linsert("big", "BEFORE", model[2500], "mid")).toBe(4001);
    model.splice(2500, 0, "mid");
    expect(await r.lset("big", 1234, "set")).toBe("OK");
    model[1234] = "set";
    expect(await r.lrange("big", 2490, 2510)).toEqual(model.slice(2490, 2511));
    expect(await r.ltrim("big", 100, -101)).toBe("OK");
    const trimmed = model.slice(100, model.length - 100);
    expect(await r.lrange("big", 0, -1)).toEqual(trimmed);
  });

  it("answers Redis's errors to the letter", async () => {
    await r.rpush("l", "a", "b");
    await r.set("s", "x");
    expect(await err(r.lset("nolist", 0, "x"))).toBe("ERR no such key");
    expect(await err(r.lset("l", 5, "x"))).toBe("ERR index out of range");
    expect(await err(r.call("lpop", "l", "-1"))).toBe("ERR value is out of range, must be positive");
    expect(await err(r.call("lindex", "l", "x"))).toBe("ERR value is not an integer or out of range");
    expect(await err(r.call("lpos", "l", "a", "RANK", "0"))).toMatch(/^ERR RANK can't be zero: use 1 to start/);
    expect(await err(r.call("lpos", "l", "a", "COUNT", "-1"))).toBe("ERR COUNT can't be negative");
    expect(await err(r.call("lpos", "l", "a", "MAXLEN", "-1"))).toBe("ERR MAXLEN can't be negative");
    expect(await err(r.call("lmpop", "0", "l", "LEFT"))).toBe("ERR numkeys should be greater than 0");
    expect(await err(r.call("lmpop", "1", "l", "LEFT", "COUNT", "0"))).toBe("ERR count should be greater than 0");
    expect(await err(r.call("lmove", "l", "m", "UP", "LEFT"))).toBe("ERR syntax error");
    expect(await err(r.call("linsert", "l", "around", "a", "b"))).toBe("ERR syntax error");
    expect(await err(r.lpush("s", "a"))).toBe("WRONGTYPE Operation against a key holding the wrong kind of value");
    expect(await err(r.lmove("l", "s", "LEFT", "LEFT"))).toMatch(/^WRONGTYPE/);
    expect(await r.lrange("l", 0, -1)).toEqual(["a", "b"]); // a WRONGTYPE destination moves nothing
    expect(await err(r.call("blpop", "l", "abc"))).toBe("ERR timeout is not a float or out of range");
    expect(await err(r.call("blpop", "l", "-1"))).toBe("ERR timeout is negative");
  });

  it("pops with a count, LMPOP, LPOS options, and deletes emptied lists", async () => {
    await r.rpush("l", "a", "b", "c", "b", "d", "b");
    expect(await r.call("lpos", "l", "b", "RANK", "-1", "COUNT", "0")).toEqual([5, 3, 1]);
    expect(await r.call("lpos", "l", "b", "COUNT", "2", "MAXLEN", "3")).toEqual([1]);
    expect(await r.call("lpos", "l", "x", "COUNT", "1")).toEqual([]);
    expect(await r.call("lpop", "l", "0")).toEqual([]);
    expect(await r.call("lpop", "nolist", "2")).toBeNull();
    expect(await r.call("rpop", "l", "2")).toEqual(["b", "d"]);
    expect(await r.call("lmpop", "2", "nolist", "l", "RIGHT", "COUNT", "10")).toEqual(["l", ["b", "c", "b", "a"]]);
    expect(await r.exists("l")).toBe(0);
    expect(await r.call("lmpop", "1", "l", "LEFT")).toBeNull();
  });

  it("LMOVE and RPOPLPUSH between keys in different slots, and onto the same key", async () => {
    await r.rpush("src", "1", "2", "3");
    expect(await r.lmove("src", "dst", "LEFT", "RIGHT")).toBe("1");
    expect(await r.rpoplpush("src", "dst")).toBe("3");
    expect(await r.lrange("dst", 0, -1)).toEqual(["3", "1"]);
    expect(await r.lmove("src", "src", "LEFT", "RIGHT")).toBe("2");
    expect(await r.lrange("src", 0, -1)).toEqual(["2"]);
    expect(await r.rpoplpush("src", "dst")).toBe("2");
    expect(await r.exists("src")).toBe(0);
    expect(await r.rpoplpush("src", "dst")).toBeNull();
  });

  it("lists share the keyspace: TYPE, OBJECT ENCODING, COPY, RENAME, EXPIRE, SCAN TYPE", async () => {
    await r.rpush("l", "a");
    expect(await r.type("l")).toBe("list");
    expect(await r.object("ENCODING", "l")).toBe("quicklist");
    expect(await r.copy("l", "l2")).toBe(1);
    await r.rpush("l2", "b");
    expect(await r.lrange("l", 0, -1)).toEqual(["a"]);
    expect(await r.rename("l2", "l3")).toBe("OK");
    expect(await r.lrange("l3", 0, -1)).toEqual(["a", "b"]);
    expect(await r.pexpire("l3", 1)).toBe(1);
    await new Promise((res) => setTimeout(res, 10));
    expect(await r.llen("l3")).toBe(0);
    const [, keys] = await r.scan(0, "TYPE", "list", "COUNT", 1000);
    expect(keys).toEqual(["l"]);
  });
});
