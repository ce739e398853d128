// Pipelined reads over a dataset big enough for the kernel to prefetch their keys
// (assembly/keyspace/prefetch.ts: 2 MiB in the process and 1024 keys in a shard). The prefetch only loads
// memory, so every reply must be what it is without it: reads mixing every kind of value,
// missing keys, keyless and inline commands, writes to the keys read, and a read that ends
// in the middle of a command. Runs in both vitest projects: with 4 shards each shard holds
// more than 16 MiB, and the commands handed to another shard are prefetched there.
import { describe, it, expect, beforeAll } from "vitest";
import Redis from "ioredis";
import { useServer, rawExchange, connectSocket, SHARDS, type RunningServer } from "../helpers/server.js";
import { spreadKeys } from "../helpers/spread-keys.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; });

const bulk = (v: string) => `$${v.length}\r\n${v}\r\n`;
const int = (n: number) => `:${n}\r\n`;
const NIL = "$-1\r\n";
const cmd = (...argv: string[]) => `*${argv.length}\r\n${argv.map(bulk).join("")}`;

const KEYS = 6000;
/** Key i's value: 1 KB (a value object of its own), short (inline in the entry) or an integer. */
const valueOf = (i: number) => (i % 3 === 0 ? `v${i}:`.padEnd(1024, "x") : i % 3 === 1 ? `s${i}` : String(i * 7));

beforeAll(async () => {
  // 4.5 MiB values, four in each quarter of the slot space: over 16 MiB in each of 4 shards.
  for (const [i, k] of spreadKeys("pf:big", 4).entries()) await r.set(k, String.fromCharCode(97 + (i % 26)).repeat(4.5 * 2 ** 20));
  const p = r.pipeline();
  for (let i = 0; i < KEYS; i++) p.set(`pf:${i}`, valueOf(i));
  p.hset("pf:hash", "f", "hv");
  p.rpush("pf:list", "a", "b", "c");
  await p.exec();
  const info = await r.info("memory");
  expect(Number(/used_memory:(\d+)/.exec(info)![1])).toBeGreaterThan(4 * 17 * 2 ** 20);
});

describe("key prefetch over a big dataset", () => {
  it("mixed pipelined reads get the replies they get one by one", async () => {
    let req = "";
    let want = "";
    const model = new Map<string, string>();
    for (let i = 0; i < KEYS; i++) model.set(`pf:${i}`, valueOf(i));
    let seed = 7;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    for (let n = 0; n < 400; n++) {
      const k = `pf:${rnd(KEYS + 500)}`; // one in 13 is missing
      switch (rnd(8)) {
        case 0: case 1: case 2: {
          const v = model.get(k);
          req += cmd("GET", k);
          want += v === undefined ? NIL : bulk(v);
          break;
        }
        case 3: {
          const v = rnd(2) ? `new${n}`.padEnd(900, "y") : `n${n}`;
          req += cmd("SET", k, v);
          model.set(k, v);
          want += "+OK\r\n";
          break;
        }
        case 4:
          req += cmd("EXISTS", k, "pf:hash");
          want += int((model.has(k) ? 1 : 0) + 1);
          break;
        case 5:
          req += cmd("HGET", "pf:hash", "f") + cmd("LLEN", "pf:list") + cmd("PING");
          want += bulk("hv") + int(3) + "+PONG\r\n";
          break;
        case 6:
          req += "PING\r\n"; // inline: the prefetch scan stops here, the commands after it still run
          want += "+PONG\r\n";
          break;
        default: {
          const v = model.get(k);
          req += cmd("STRLEN", k);
          want += int(v === undefined ? 0 : v.length);
        }
      }
    }
    const { text } = await rawExchange(srv.port, req, { until: (t) => t.length >= want.length, timeoutMs: 10_000 });
    expect(text.length).toBe(want.length);
    expect(text === want).toBe(true);
    for (const k of ["pf:3", "pf:4", "pf:5"]) expect(await r.get(k)).toBe(model.get(k));
  });

  it("a read whose first two keys are one is not prefetched; a read of several keys is", async () => {
    const counts = async () => {
      const info = await r.info("kernel");
      return [Number(/kernel_prefetched_reads:(\d+)/.exec(info)![1]), Number(/kernel_prefetch_one_key_reads:(\d+)/.exec(info)![1])];
    };
    const exchange = async (req: string, want: string) => {
      const { text } = await rawExchange(srv.port, req, { until: (t) => t.length >= want.length, timeoutMs: 10_000 });
      expect(text === want).toBe(true);
    };
    const [p0, o0] = await counts();
    // redis-benchmark's SET and GET without -r: every command names "key:__rand_int__".
    let oneKey = cmd("PING");
    for (let i = 0; i < 16; i++) oneKey += cmd("GET", "pf:3");
    await exchange(oneKey, "+PONG\r\n" + bulk(valueOf(3)).repeat(16));
    let sets = "";
    for (let i = 0; i < 16; i++) sets += cmd("SET", "pf:one", `v${i}`);
    await exchange(sets, "+OK\r\n".repeat(16));
    const [p1, o1] = await counts();
    expect(p1).toBe(p0);
    // With 4 shards the read is parsed by the connection's home shard: a hand-off list of one
    // key is skipped in its owner, a read of one key of the home shard's own slots in the home.
    expect(o1).toBe(o0 + 2);
    // With 4 shards each owner's list holds its share of the keys: all distinct, so that none is one-key.
    let several = "";
    for (let i = 0; i < 16; i++) several += cmd("GET", `pf:${i}`);
    await exchange(several, Array.from({ length: 16 }, (_, i) => bulk(valueOf(i))).join(""));
    const [p2, o2] = await counts();
    expect(p2).toBeGreaterThan(p1);
    expect(o2).toBe(o1);
  });

  it("a read of the keys of the client's shard is prefetched there, keyless arguments passed over", async () => {
    // One hash tag: every key in one slot, so with 4 shards the client moves to that slot's
    // shard after its first read and its later reads run there whole, with nothing to hand
    // off; the shard prefetches the keys of its own slots and keeps their slots for routing
    // (cluster/slot.ts memoSlot). ECHO's argument and EXISTS's second key sit between them.
    const tagged = (i: number) => `{pft}:${i}`;
    const p = r.pipeline();
    for (let i = 0; i < 16; i++) p.set(tagged(i), `t${i}`);
    await p.exec();
    const prefetched = async () => Number(/kernel_prefetched_reads:(\d+)/.exec(await r.info("kernel"))![1]);
    const sock = await connectSocket(srv.port);
    let text = "";
    sock.on("data", (d) => { text += d.toString("latin1"); });
    const exchange = async (req: string, want: string) => {
      text = "";
      sock.write(req);
      for (let i = 0; i < 400 && text.length < want.length; i++) await new Promise((res) => setTimeout(res, 10));
      expect(text === want).toBe(true);
    };
    let req = "";
    let want = "";
    for (let i = 0; i < 16; i++) {
      req += cmd("GET", tagged(i));
      want += bulk(`t${i}`);
      if (i % 5 === 2) { req += cmd("ECHO", tagged(i + 1)); want += bulk(tagged(i + 1)); }
      if (i % 7 === 3) { req += cmd("EXISTS", tagged(i), tagged(i + 1)); want += int(2); }
    }
    await exchange(req, want); // with 4 shards this one may be handed to the tag's shard
    const before = await prefetched();
    await exchange(req, want);
    await exchange(req, want);
    expect(await prefetched()).toBe(before + 2);
    sock.destroy();
  });

  it("a read that ends inside a command runs it whole once the rest arrives", async () => {
    const sock = await connectSocket(srv.port);
    let text = "";
    sock.on("data", (d) => { text += d.toString("latin1"); });
    const req = cmd("GET", "pf:0") + cmd("GET", "pf:1") + cmd("SET", "pf:split", "z".repeat(5000)) + cmd("GET", "pf:split") + cmd("GET", "pf:2");
    const [v0, v1, v2] = [await r.get("pf:0"), await r.get("pf:1"), await r.get("pf:2")];
    const want = bulk(v0!) + bulk(v1!) + "+OK\r\n" + bulk("z".repeat(5000)) + bulk(v2!);
    const cut = req.indexOf("zzzz") + 1000; // inside SET's value
    sock.write(req.slice(0, cut));
    await new Promise((res) => setTimeout(res, 50));
    sock.write(req.slice(cut));
    for (let i = 0; i < 200 && text.length < want.length; i++) await new Promise((res) => setTimeout(res, 25));
    sock.destroy();
    expect(text === want).toBe(true);
  });
});
