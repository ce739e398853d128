// Every command works whatever the number of shards: this file runs in the shards-1 and the
// shards-4 vitest projects (LATTICEKV_SHARDS), and its keys are chosen to land in every
// shard, so multi-key and keyspace-wide commands are split and joined by the host's router.
// Commands still being written elsewhere are skipped until the server knows them.
import { describe, it, expect, beforeEach } from "vitest";
import Redis from "ioredis";
import net from "node:net";
import { useServer, rawExchange, type RunningServer } from "../helpers/server.js";
import { keySlot, slotRange } from "../../src/server/router.js";
import { spreadKeys } from "../helpers/spread-keys.js";

let srv: RunningServer;
let r: Redis;
const known = new Map<string, boolean>();

useServer((s, c) => { srv = s; r = c; }, { client: { maxRetriesPerRequest: 0 } });

/** Whether the server implements every named command (an arity error means it does). */
async function has(...names: string[]): Promise<boolean> {
  for (const name of names) {
    if (!known.has(name)) {
      const err = await r.call(name).then(() => null, (e: Error) => e.message);
      known.set(name, !(err ?? "").startsWith("ERR unknown command"));
    }
    if (!known.get(name)) return false;
  }
  return true;
}

/** Writes `parts` one by one, each once the server has answered what came before; returns all replies. */
function exchangeInParts(port: number, parts: string[], want: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => { sock.destroy(); resolve(text); }, 5000);
    sock.on("error", reject);
    sock.on("data", (d) => {
      text += d.toString("latin1");
      if (text.length >= want.length) { clearTimeout(timer); sock.destroy(); resolve(text); }
    });
    // A pause between writes makes each part a read of its own.
    (async () => {
      for (const p of parts) {
        sock.write(p);
        await new Promise((res) => setTimeout(res, 50));
      }
    })();
  });
}

const shardOf = (k: string) => { const s = keySlot(Buffer.from(k)); return [0, 1, 2, 3].find((i) => s <= slotRange(i, 4)[1])!; };

beforeEach(async () => {
  if (await has("flushall")) await r.flushall();
});

describe("single-key commands in every shard", () => {
  it("SET and GET keys spread over all shards", async () => {
    const keys = spreadKeys("sg", 25);
    expect(new Set(keys.map(shardOf)).size).toBe(4);
    const p = r.pipeline();
    keys.forEach((k, i) => p.set(k, `v${i}`));
    keys.forEach((k) => p.get(k));
    const res = (await p.exec())!.map(([e, v]) => (e ? e.message : v));
    expect(res.slice(keys.length)).toEqual(keys.map((_, i) => `v${i}`));
  });

  it("a raw pipeline mixing keys of every shard gets its replies in order", async () => {
    const keys = spreadKeys("order", 50);
    let req = "";
    let want = "";
    keys.forEach((k, i) => { req += `SET ${k} ${i}\r\nGET ${k}\r\n`; want += `+OK\r\n$${String(i).length}\r\n${i}\r\n`; });
    const { text } = await rawExchange(srv.port, req, { until: (s) => s.length >= want.length });
    expect(text).toBe(want);
  });

  it("a command cut between two reads completes after the parsing moved to the shard of its key", async () => {
    // Each read's commands run in the shard that owns their keys (src/server/input-placement.ts):
    // the tail left incomplete in one shard must wait there and complete with the next read.
    const keys = spreadKeys("cut", 2);
    const body = keys.map((k, i) => `*3\r\n$3\r\nSET\r\n$${k.length}\r\n${k}\r\n$2\r\nv${i}\r\n`).join("");
    for (const cut of [body.length - 3, body.length - 20, Math.floor(body.length / 2)]) {
      await r.flushall();
      const text = await exchangeInParts(srv.port, [body.slice(0, cut), body.slice(cut)], "+OK\r\n".repeat(keys.length));
      expect(text).toBe("+OK\r\n".repeat(keys.length));
      expect(await r.mget(...keys)).toEqual(keys.map((_, i) => `v${i}`));
    }
  });

  it("a big value arriving over many reads lands whole after the parsing moved to its key's shard", async () => {
    const [a, b] = spreadKeys("bigcut", 1).filter((k, i, all) => shardOf(k) !== shardOf(all[0]) || i === 0);
    const value = Buffer.alloc(200_000, "x").toString();
    const cmd = `SET ${a} small\r\n*3\r\n$3\r\nSET\r\n$${b.length}\r\n${b}\r\n$${value.length}\r\n${value}\r\nGET ${a}\r\n`;
    const parts = [cmd.slice(0, 30_000), cmd.slice(30_000, 90_000), cmd.slice(90_000)];
    const want = "+OK\r\n+OK\r\n$5\r\nsmall\r\n";
    expect(await exchangeInParts(srv.port, parts, want)).toBe(want);
    expect(await r.strlen(b)).toBe(value.length);
  });

  it("INFO commandstats counts each command of a pipeline spread over every shard once", async () => {
    const keys = spreadKeys("cs", 10);
    await r.config("RESETSTAT");
    let req = "";
    for (const k of keys) req += `SET ${k} 1\r\nGET ${k}\r\nINCR ${k}\r\n`;
    const want = keys.length * ("+OK\r\n$1\r\n1\r\n:2\r\n".length);
    await rawExchange(srv.port, req, { until: (t) => t.length >= want });
    const info = (await r.info("commandstats")) as string;
    for (const name of ["set", "get", "incr"]) expect(info).toMatch(new RegExp(`cmdstat_${name}:calls=${keys.length},`));
  });

  it("keys with one hash tag live together and behave as one group", async () => {
    await r.set("{user1}.a", "1");
    await r.set("{user1}.b", "2");
    expect(await r.get("{user1}.a")).toBe("1");
    expect(await r.get("{user1}.b")).toBe("2");
  });
});

describe("multi-key commands across shards", () => {
  it("MSET then MGET keep argument order across shards", async (ctx) => {
    if (!(await has("mset", "mget"))) return ctx.skip();
    const keys = spreadKeys("m", 3);
    await r.mset(...keys.flatMap((k, i) => [k, `v${i}`]));
    expect(await r.mget(...keys, "missing", keys[0])).toEqual([...keys.map((_, i) => `v${i}`), null, "v0"]);
  });

  it("MGET joins empty, short, long and binary values of every shard byte for byte", async (ctx) => {
    if (!(await has("mset", "mget"))) return ctx.skip();
    const keys = spreadKeys("mb", 2);
    // Lengths around the 64-byte copy switch of the join (router.ts mget), CR LF inside.
    const values = [0, 1, 63, 64, 65, 1000, 70_000, 5].map((n, i) =>
      Buffer.from(Array.from({ length: n }, (_, j) => (j % 7 === 3 ? 13 : j % 7 === 4 ? 10 : (i * 31 + j) % 256))));
    await r.mset(...keys.flatMap((k, i) => [k, values[i]]));
    const got = await r.mgetBuffer(keys[7], "missing:mb", ...keys);
    expect(got.map((b) => (b === null ? null : b.toString("hex")))).toEqual(
      [values[7], null, ...values].map((b) => (b === null ? null : b.toString("hex"))));
  });

  it("MSET with a missing value is an arity error and writes nothing", async (ctx) => {
    if (!(await has("mset", "exists"))) return ctx.skip();
    const keys = spreadKeys("mo", 1);
    await expect(r.call("mset", keys[0], "1", keys[1], "2", keys[2])).rejects.toThrow("ERR wrong number of arguments for 'mset' command");
    expect(await r.exists(...keys)).toBe(0);
  });

  it("MGET answers nil for a key of another type", async (ctx) => {
    if (!(await has("mget", "hset"))) return ctx.skip();
    const keys = spreadKeys("mt", 1);
    await r.set(keys[0], "a");
    await r.hset(keys[1], "f", "v");
    expect(await r.mget(keys[0], keys[1])).toEqual(["a", null]);
  });

  it("MSETNX sets all keys or none, atomically across shards", async (ctx) => {
    if (!(await has("msetnx"))) return ctx.skip();
    const keys = spreadKeys("nx", 2);
    await r.set(keys[7], "old");
    expect(await r.msetnx(...keys.flatMap((k) => [k, "new"]))).toBe(0);
    expect(await r.mget(...keys)).toEqual([...keys.slice(0, 7).map(() => null), "old"]);
    await r.del(keys[7]);
    expect(await r.msetnx(...keys.flatMap((k) => [k, "new"]))).toBe(1);
    expect(await r.mget(...keys)).toEqual(keys.map(() => "new"));
  });

  it("DEL, UNLINK, EXISTS and TOUCH count keys across shards (duplicates counted as Redis does)", async (ctx) => {
    if (!(await has("del", "exists"))) return ctx.skip();
    const keys = spreadKeys("d", 2);
    for (const k of keys) await r.set(k, "x");
    expect(await r.exists(...keys, keys[0], "nope")).toBe(9);
    if (await has("touch")) expect(await r.touch(...keys, "nope")).toBe(8);
    expect(await r.del(keys[0], keys[1], keys[2], "nope")).toBe(3);
    if (await has("unlink")) expect(await r.unlink(keys[3], keys[4], keys[4])).toBe(2);
    expect(await r.del(...keys)).toBe(3);
    expect(await r.exists(...keys)).toBe(0);
  });

  it("RENAME and RENAMENX move a value and its TTL to a key in another shard", async (ctx) => {
    if (!(await has("rename", "renamenx", "pttl"))) return ctx.skip();
    const [a, b, c] = spreadKeys("rn", 1).filter((_, i) => i % 4 !== 3).slice(0, 3);
    expect(shardOf(a)).not.toBe(shardOf(b));
    await r.set(a, "va", "PX", 100000);
    expect(await r.rename(a, b)).toBe("OK");
    expect(await r.get(a)).toBeNull();
    expect(await r.get(b)).toBe("va");
    expect(await r.pttl(b)).toBeGreaterThan(90000);
    await r.set(c, "vc");
    expect(await r.renamenx(b, c)).toBe(0);
    expect(await r.get(b)).toBe("va");
    expect(await r.renamenx(b, a)).toBe(1);
    expect(await r.get(a)).toBe("va");
    await expect(r.rename("nosuchkey", a)).rejects.toThrow("ERR no such key");
  });

  it("RENAME moves a hash between shards", async (ctx) => {
    if (!(await has("rename", "hset", "hgetall"))) return ctx.skip();
    const [a, b] = spreadKeys("rh", 1);
    await r.hset(a, "f1", "v1", "f2", "v2");
    await r.rename(a, b);
    expect(await r.hgetall(b)).toEqual({ f1: "v1", f2: "v2" });
    expect(await r.exists(a)).toBe(0);
  });

  it("COPY duplicates across shards, with REPLACE and DB", async (ctx) => {
    if (!(await has("copy", "select"))) return ctx.skip();
    const [a, b] = spreadKeys("cp", 1);
    await r.set(a, "1");
    expect(await r.copy(a, b)).toBe(1);
    expect(await r.get(a)).toBe("1");
    expect(await r.get(b)).toBe("1");
    await r.set(a, "2");
    expect(await r.copy(a, b)).toBe(0);
    expect(await r.copy(a, b, "REPLACE")).toBe(1);
    expect(await r.get(b)).toBe("2");
    expect(await r.copy(a, b, "DB", 9)).toBe(1);
    await r.select(9);
    expect(await r.get(b)).toBe("2");
    expect(await r.get(a)).toBeNull();
    await r.select(0);
  });

  it("MOVE moves a key to another database in its own shard", async (ctx) => {
    if (!(await has("move", "select"))) return ctx.skip();
    const keys = spreadKeys("mv", 1);
    for (const k of keys) { await r.set(k, k); expect(await r.move(k, 3)).toBe(1); }
    await r.select(3);
    for (const k of keys) expect(await r.get(k)).toBe(k);
    await r.select(0);
  });

  it("LCS compares strings that live in different shards", async (ctx) => {
    if (!(await has("lcs"))) return ctx.skip();
    const [a, b] = spreadKeys("lcs", 1);
    await r.set(a, "ohmytext");
    await r.set(b, "mynewtext");
    expect(await r.call("lcs", a, b)).toBe("mytext");
    expect(await r.get(a)).toBe("ohmytext");
  });
});

describe("statistics across shards", () => {
  it("INFO commandstats counts a split or keyspace-wide command once", async () => {
    const keys = spreadKeys("st", 1);
    await r.config("RESETSTAT");
    await r.mset(...keys.flatMap((k) => [k, "1"]));
    await r.mget(...keys);
    await r.dbsize();
    await r.del(...keys);
    const info = (await r.info("commandstats")) as string;
    for (const name of ["mset", "mget", "dbsize", "del"]) expect(info).toMatch(new RegExp(`cmdstat_${name}:calls=1,`));
  });
});

describe("keyspace-wide commands across shards", () => {
  it("DBSIZE, KEYS and RANDOMKEY see every shard", async (ctx) => {
    if (!(await has("dbsize", "keys", "randomkey"))) return ctx.skip();
    expect(await r.randomkey()).toBeNull();
    const keys = spreadKeys("ks", 5);
    for (const k of keys) await r.set(k, "1");
    await r.set("other", "1");
    expect(await r.dbsize()).toBe(keys.length + 1);
    expect((await r.keys("ks:*")).sort()).toEqual([...keys].sort());
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add((await r.randomkey())!);
    for (const k of seen) expect([...keys, "other"]).toContain(k);
    expect(seen.size).toBeGreaterThan(4);
  });

  it("SCAN's cursor walks every shard and returns each key", async (ctx) => {
    if (!(await has("scan"))) return ctx.skip();
    const keys = spreadKeys("sc", 40);
    for (const k of keys) await r.set(k, "1");
    for (const count of [1, 7, 1000]) {
      const seen = new Set<string>();
      let cursor = "0";
      let calls = 0;
      do {
        const [next, batch] = await r.scan(cursor, "COUNT", count);
        batch.forEach((k) => seen.add(k));
        cursor = next;
        calls++;
      } while (cursor !== "0" && calls < 10000);
      expect(cursor).toBe("0");
      expect([...seen].sort()).toEqual([...keys].sort());
    }
    const [, some] = await r.scan("0", "MATCH", "sc:1*", "COUNT", 1000);
    for (const k of some) expect(k.startsWith("sc:1")).toBe(true);
    await expect(r.scan("abc")).rejects.toThrow("ERR invalid cursor");
  });

  it("FLUSHDB and FLUSHALL empty every shard; SWAPDB swaps in every shard", async (ctx) => {
    if (!(await has("flushdb", "flushall", "swapdb", "dbsize", "select"))) return ctx.skip();
    const keys = spreadKeys("fl", 2);
    for (const k of keys) await r.set(k, "0");
    expect(await r.swapdb(0, 1)).toBe("OK");
    expect(await r.dbsize()).toBe(0);
    await r.select(1);
    expect(await r.dbsize()).toBe(keys.length);
    expect(await r.flushdb()).toBe("OK");
    expect(await r.dbsize()).toBe(0);
    for (const k of keys) await r.set(k, "1");
    await r.select(0);
    for (const k of keys) await r.set(k, "0");
    expect(await r.flushall()).toBe("OK");
    expect(await r.dbsize()).toBe(0);
    await r.select(1);
    expect(await r.dbsize()).toBe(0);
    await r.select(0);
    await expect(r.swapdb(0, 99)).rejects.toThrow("ERR DB index is out of range");
  });
});
