// A dataset with every type, in compact and large encodings, with and without TTLs, and a
// reader that captures a server's whole content for comparison between two servers.
import type Redis from "ioredis";

/** Writes the dataset into db 0 (and a key in db 3) of the server behind r. */
export async function writeDataset(r: Redis): Promise<void> {
  await r.set("str", "hello");
  await r.set("int", "-12345");
  await r.set("bigint", "9223372036854775807");
  await r.set("long", "x".repeat(5000) + "y".repeat(100));
  await r.set("bin", Buffer.from([0, 255, 13, 10, 128]));
  await r.set("ttl:str", "soon", "PX", 500_000);
  // Strings an RDB load's fast path (plain bytes) must store as a SET would: digits that are not
  // an int64's canonical text stay strings; bytes past 64 and keys with a hash tag.
  await r.set("leading-zero", "007");
  await r.set("minus-zero", "-0");
  await r.set("over-int64", "12345678901234567890");
  await r.set("{tag}:" + "k".repeat(80), Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37 + 11) & 255)));
  await r.rpush("list:small", "a", "1", "-200", "70000", "9223372036854775807");
  const long: string[] = [];
  for (let i = 0; i < 1000; i++) long.push(`item-${i}-${"z".repeat(i % 70)}`);
  await r.rpush("list:big", ...long);
  await r.sadd("set:int", "1", "-40000", "3000000000");
  await r.sadd("set:str", "a", "b", "c");
  const many: string[] = [];
  for (let i = 0; i < 600; i++) many.push(String(i));
  await r.sadd("set:bigint", ...many);
  await r.zadd("zset:small", "1.5", "a", "-3", "b", "inf", "c", "0.1", "d");
  const zbig: string[] = [];
  for (let i = 0; i < 300; i++) zbig.push(String(i / 7), `m${i}`);
  await r.zadd("zset:big", ...zbig);
  await r.hset("hash:small", "f", "v", "n", "-1234567");
  const hbig: Record<string, string> = {};
  for (let i = 0; i < 300; i++) hbig[`f${i}`] = `v${i}`.repeat(1 + (i % 30));
  await r.hset("hash:big", hbig);
  await r.hset("ttl:hash", "a", "1");
  await r.pexpire("ttl:hash", 900_000);
  await r.select(3);
  await r.set("db3", "three");
  await r.select(0);
}

/** Every key of dbs 0 and 3 with its type, value and whether it has a TTL (and roughly how long). */
export async function readDataset(r: Redis): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const db of [0, 3]) {
    await r.select(db);
    const keys = (await r.keys("*")).sort();
    for (const k of keys) {
      const t = await r.type(k);
      let v: unknown;
      if (t === "string") v = [(await r.getBuffer(k))!.toString("hex"), await r.object("ENCODING", k)];
      else if (t === "list") v = await r.lrange(k, 0, -1);
      else if (t === "set") v = (await r.smembers(k)).sort();
      else if (t === "zset") v = await r.zrange(k, 0, -1, "WITHSCORES");
      else if (t === "hash") v = Object.entries(await r.hgetall(k)).sort();
      const pttl = await r.pttl(k);
      out[`${db}:${k}`] = { t, v, ttl: pttl < 0 ? pttl : Math.round(pttl / 100_000) };
    }
  }
  await r.select(0);
  return out;
}

/** MSETs `${prefix}:i` -> `${value}:i` for i below n, 1,000 keys a command. */
export async function msetKeys(r: Redis, prefix: string, value: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 1000) {
    const args: string[] = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) args.push(`${prefix}:${j}`, `${value}:${j}`);
    await r.mset(...args);
  }
}
