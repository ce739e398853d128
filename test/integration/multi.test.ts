// MULTI/EXEC/DISCARD/WATCH/UNWATCH (Redis 7.0 semantics) through ioredis and raw sockets.
// Runs with 1 and 4 shards; keys are spread over every quarter of the slot space so queued
// kernel commands run on shards other than the client's home shard.
import { describe, it, expect, beforeAll, afterAll, beforeEach } from "vitest";
import Redis from "ioredis";
import { startServer, rawExchange, type RunningServer } from "../helpers/server.js";
import { keySlot } from "../../src/server/router.js";

let srv: RunningServer;
let r: Redis;
let r2: Redis;

function client(): Redis {
  return new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
}

beforeAll(async () => {
  srv = await startServer();
  r = client();
  r2 = client();
  await r.connect();
  await r2.connect();
});
afterAll(async () => {
  r?.disconnect();
  r2?.disconnect();
  await srv?.stop();
});
beforeEach(async () => {
  await r.flushall();
});

/** One key in each quarter of the slot space (one per shard with 4 shards). */
function spreadKeys(prefix: string): string[] {
  const out: string[] = [];
  const seen = new Set<number>();
  for (let i = 0; out.length < 4; i++) {
    const k = `${prefix}:${i}`;
    const q = Math.floor(keySlot(Buffer.from(k)) / 4096);
    if (!seen.has(q)) { seen.add(q); out.push(k); }
  }
  return out;
}

describe("MULTI / EXEC", () => {
  it("queues commands (+QUEUED) and EXEC replies with each command's reply, kernel and host commands alike", async () => {
    const keys = spreadKeys("tx");
    const tx = r.multi();
    for (const k of keys) tx.set(k, k).incr(`${k}:n`).get(k);
    tx.rpush("list", "a", "b").lrange("list", 0, -1).ping().echo("hi");
    const res = await tx.exec();
    const expected: [null, unknown][] = [];
    for (const k of keys) expected.push([null, "OK"], [null, 1], [null, k]);
    expected.push([null, 2], [null, ["a", "b"]], [null, "PONG"], [null, "hi"]);
    expect(res).toEqual(expected);
    expect(await r.mget(...keys)).toEqual(keys);
  });

  it("replies QUEUED to each command and the EXEC array on the wire", async () => {
    const { text } = await rawExchange(srv.port, "MULTI\r\nSET k v\r\nGET k\r\nEXEC\r\n", { until: (s) => s.endsWith("$1\r\nv\r\n") });
    expect(text).toBe("+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$1\r\nv\r\n");
  });

  it("an empty transaction replies an empty array", async () => {
    expect(await r.multi().exec()).toEqual([]);
  });

  it("errors inside EXEC do not roll the transaction back", async () => {
    await r.set("s", "notanumber");
    const res = await r.multi().set("a", "1").incr("s").lpush("a", "x").incr("a").exec();
    expect(res![0]).toEqual([null, "OK"]);
    expect((res![1][0] as Error).message).toBe("ERR value is not an integer or out of range");
    expect((res![2][0] as Error).message).toMatch(/^WRONGTYPE/);
    expect(res![3]).toEqual([null, 2]);
    expect(await r.get("a")).toBe("2");
  });

  it("an unknown command or wrong arity while queueing is an error now and EXECABORT at EXEC; nothing runs", async () => {
    const { text } = await rawExchange(srv.port,
      "MULTI\r\nSET a 1\r\nNOSUCH x\r\nGET\r\nSET b 2\r\nEXEC\r\nEXISTS a b\r\n",
      { until: (s) => s.endsWith(":0\r\n") });
    expect(text).toBe(
      "+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n" +
      "-ERR wrong number of arguments for 'get' command\r\n+QUEUED\r\n" +
      "-EXECABORT Transaction discarded because of previous errors.\r\n:0\r\n");
  });

  it("ioredis sees EXECABORT as a rejected exec", async () => {
    const tx = r.multi().set("a", "1");
    (tx as unknown as { call: (...a: string[]) => void }).call("nosuchcommand");
    await expect(tx.exec()).rejects.toThrow(/EXECABORT Transaction discarded because of previous errors/);
    expect(await r.exists("a")).toBe(0);
    expect(await r.ping()).toBe("PONG"); // out of MULTI again
  });

  it("MULTI, EXEC, DISCARD and WATCH errors use Redis's words", async () => {
    const { text } = await rawExchange(srv.port,
      "EXEC\r\nDISCARD\r\nMULTI\r\nMULTI\r\nWATCH x\r\nDISCARD\r\nPING\r\n",
      { until: (s) => s.endsWith("+PONG\r\n") });
    expect(text).toBe(
      "-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n+OK\r\n-ERR MULTI calls can not be nested\r\n" +
      "-ERR WATCH inside MULTI is not allowed\r\n+OK\r\n+PONG\r\n");
  });

  it("DISCARD drops the queue", async () => {
    const { text } = await rawExchange(srv.port, "MULTI\r\nSET a 1\r\nDISCARD\r\nEXISTS a\r\n", { until: (s) => s.endsWith(":0\r\n") });
    expect(text).toBe("+OK\r\n+QUEUED\r\n+OK\r\n:0\r\n");
  });

  it("a no-multi command (SHUTDOWN) is refused while queueing and aborts the transaction", async () => {
    const { text } = await rawExchange(srv.port, "MULTI\r\nSET a 1\r\nSHUTDOWN\r\nEXEC\r\n", { until: (s) => s.includes("EXECABORT") });
    expect(text).toBe("+OK\r\n+QUEUED\r\n-ERR Command not allowed inside a transaction\r\n" +
      "-EXECABORT Transaction discarded because of previous errors.\r\n");
  });

  it("blocking commands inside MULTI do not block: they answer as timed out", async () => {
    const res = await r.multi().blpop("empty", 0).brpoplpush("e1", "e2", 0).exec();
    expect(res).toEqual([[null, null], [null, null]]);
  });

  it("EXEC is atomic: another client's commands never run between the queued ones", async () => {
    const n = 200;
    const tx = r.multi();
    for (let i = 0; i < n; i++) tx.incr("counter");
    const other: Promise<unknown>[] = [];
    for (let i = 0; i < 50; i++) other.push(r2.incr("counter"));
    const [res] = await Promise.all([tx.exec(), Promise.all(other)]);
    const values = res!.map(([, v]) => v as number);
    for (let i = 1; i < n; i++) expect(values[i]).toBe(values[0] + i);
    expect(await r.get("counter")).toBe(String(n + 50));
  });

  it("SELECT inside MULTI applies to the commands after it", async () => {
    const res = await r.multi().select(3).set("indb3", "x").select(0).exists("indb3").exec();
    expect(res).toEqual([[null, "OK"], [null, "OK"], [null, "OK"], [null, 0]]);
    await r.select(3);
    expect(await r.get("indb3")).toBe("x");
    await r.select(0);
  });

  it("CLIENT LIST shows flags=x and multi=<queued> for a client in MULTI", async () => {
    const c = client();
    await c.connect();
    try {
      await c.call("CLIENT", "SETNAME", "txclient");
      await c.call("MULTI");
      await c.call("SET", "a", "1");
      await c.call("GET", "a");
      const line = (await r.call("CLIENT", "LIST") as string).split("\n").find((l) => l.includes("name=txclient"))!;
      expect(line).toMatch(/ flags=x /);
      expect(line).toMatch(/ multi=2 /);
      await c.call("DISCARD");
      const after = (await r.call("CLIENT", "LIST") as string).split("\n").find((l) => l.includes("name=txclient"))!;
      expect(after).toMatch(/ flags=N .* multi=-1 /);
    } finally {
      c.disconnect();
    }
  });

  it("RESET leaves MULTI", async () => {
    const { text } = await rawExchange(srv.port, "MULTI\r\nSET a 1\r\nRESET\r\nEXEC\r\n", { until: (s) => s.includes("EXEC without") });
    expect(text).toBe("+OK\r\n+QUEUED\r\n+RESET\r\n-ERR EXEC without MULTI\r\n");
  });
});

describe("WATCH", () => {
  it("EXEC runs when no watched key was touched", async () => {
    const keys = spreadKeys("w");
    await r.watch(...keys);
    await r2.set("unrelated", "1");
    expect(await r.multi().ping().exec()).toEqual([[null, "PONG"]]);
  });

  it("another client's write to a watched key makes EXEC answer nil, on every shard", async () => {
    for (const k of spreadKeys("w")) {
      await r.set(k, "1");
      await r.watch(k);
      await r2.incr(k);
      expect(await r.multi().set(k, "mine").exec()).toBeNull();
      expect(await r.get(k)).toBe("2");
    }
  });

  it("writing the same value back still counts as a modification", async () => {
    await r.set("same", "v");
    await r.watch("same");
    await r2.set("same", "v");
    expect(await r.multi().get("same").exec()).toBeNull();
  });

  it("host-side type writes (lists, sets) touch watched keys", async () => {
    await r.watch("l", "s");
    await r2.rpush("l", "x");
    expect(await r.multi().ping().exec()).toBeNull();
    await r.watch("s");
    await r2.sadd("s", "m");
    expect(await r.multi().ping().exec()).toBeNull();
  });

  it("DEL, EXPIRE, RENAME, MOVE and FLUSHDB touch watched keys; FLUSHALL of a missing key does not", async () => {
    const touch: [string, () => Promise<unknown>][] = [
      ["del", () => r2.del("k")],
      ["expire", () => r2.expire("k", 100)],
      ["rename", () => r2.rename("other", "k")],
      ["move", () => r2.move("k", 5)],
      ["flushdb", () => r2.flushdb()],
    ];
    for (const [name, write] of touch) {
      await r.flushall();
      await r.mset("k", "1", "other", "2");
      await r.watch("k");
      await write();
      expect([name, await r.multi().ping().exec()]).toEqual([name, null]);
    }
    await r.flushall();
    await r.watch("missing");
    await r2.flushall();
    expect(await r.multi().ping().exec()).toEqual([[null, "PONG"]]);
  });

  it("SWAPDB touches a watched key that exists in either database", async () => {
    await r.select(1);
    await r.set("x", "30");
    await r.select(0);
    await r.watch("x");
    await r2.swapdb(0, 1);
    expect(await r.multi().ping().exec()).toBeNull();
  });

  it("a watched key whose TTL passes before EXEC fails it (no access needed)", async () => {
    // A TTL long enough that WATCH surely comes before it passes, even on a loaded machine.
    await r.set("ttl", "1", "PX", 1000);
    await r.watch("ttl");
    await new Promise((res) => setTimeout(res, 1100));
    expect(await r.multi().ping().exec()).toBeNull();
  });

  it("UNWATCH forgets the keys, and EXEC/DISCARD unwatch them too", async () => {
    await r.watch("u");
    await r2.set("u", "1");
    await r.unwatch();
    expect(await r.multi().ping().exec()).toEqual([[null, "PONG"]]);
    await r.watch("u");
    expect(await r.multi().ping().exec()).toEqual([[null, "PONG"]]);
    await r2.set("u", "2"); // no longer watched
    expect(await r.multi().ping().exec()).toEqual([[null, "PONG"]]);
  });

  it("a compare-and-set loop with two competing clients never loses an update", async () => {
    await r.set("cas", "0");
    const cas = async (c: Redis) => {
      for (;;) {
        await c.watch("cas");
        const v = Number(await c.get("cas"));
        const res = await c.multi().set("cas", String(v + 1)).exec();
        if (res) return;
      }
    };
    const a = client(), b = client();
    await a.connect();
    await b.connect();
    try {
      // WATCH state is per connection: each connection runs its increments one after another.
      const run = async (c: Redis) => { for (let i = 0; i < 20; i++) await cas(c); };
      await Promise.all([run(a), run(b)]);
    } finally {
      a.disconnect();
      b.disconnect();
    }
    expect(await r.get("cas")).toBe("40");
  });
});
