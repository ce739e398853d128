// A keyspace-wide write (FLUSHDB, FLUSHALL, SWAPDB) runs once in each shard's kernel, but it
// is one command: replicas and the AOF get it once (Router.onEveryShard marks the runs before
// the last as Effect.fanOutPart). With 4 shards each run used to be propagated, and four
// SWAPDBs in a row swap nothing: the replica's and the reloaded AOF's dbs came out unswapped.
// Also here: an approximate MINID trim that empties a stream propagates the maximum ID as
// its exact threshold, as Redis's streamGetEdgeID, so the replica empties it too.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningServer } from "../helpers/server.js";
import { startReplicaPair, type ReplicaPair } from "../helpers/replica-pair.js";

async function field(r: Redis, section: string, name: string): Promise<string> {
  const m = new RegExp(`^${name}:(.*)$`, "m").exec(await r.info(section));
  return m ? m[1].trim() : "";
}

/** Every db's keys, sorted: { db: keys } for the non-empty ones. */
async function layout(r: Redis): Promise<Record<number, string[]>> {
  const out: Record<number, string[]> = {};
  for (let db = 0; db < 16; db++) {
    await r.select(db);
    const keys = (await r.keys("*")).sort();
    if (keys.length) out[db] = keys;
  }
  await r.select(0);
  return out;
}

describe("keyspace-wide writes propagate once", () => {
  let pair: ReplicaPair;
  let primary: RunningServer;
  let m: Redis, s: Redis;
  const synced = () => pair.synced();

  beforeAll(async () => {
    pair = await startReplicaPair(["--appendonly", "yes", "--enable-debug-command", "yes", "--repl-diskless-sync-delay", "0"]);
    ({ primary, m, s } = pair);
  });

  afterAll(async () => {
    await pair.stop();
  });

  it("SWAPDB, alone and in MULTI, leaves the replica's and the reloaded AOF's dbs as the master's", async () => {
    // Keys spread over every shard (different slots), in db 0 and db 3.
    for (const k of ["a", "b", "c", "d", "e", "f", "g", "h"]) await m.set(k, "0");
    await m.select(3);
    await m.set("z", "3");
    await m.select(0);
    await m.swapdb(0, 3);
    await m.multi().swapdb(0, 5).get("a").exec();
    const want = { 3: ["a", "b", "c", "d", "e", "f", "g", "h"], 5: ["z"] };
    expect(await layout(m)).toEqual(want);
    await synced();
    expect(await layout(s)).toEqual(want);
    // The replica ran each SWAPDB once.
    expect(await field(s, "commandstats", "cmdstat_swapdb")).toMatch(/^calls=2,/);
    // The AOF holds each once too, and replays to the same dbs.
    const dir = primary.dir;
    const incr = readdirSync(join(dir, "appendonlydir")).find((f) => f.endsWith(".incr.aof"))!;
    const aof = readFileSync(join(dir, "appendonlydir", incr), "latin1");
    expect(aof.match(/swapdb/gi)?.length).toBe(2);
    expect(await m.call("debug", "loadaof")).toBe("OK");
    expect(await layout(m)).toEqual(want);
  });

  it("FLUSHDB and FLUSHALL reach the replica once, and DEBUG LOADAOF's replay none of it", async () => {
    const before = Number(/calls=(\d+)/.exec(await field(s, "commandstats", "cmdstat_flushdb"))?.[1] ?? 0);
    await m.select(3);
    await m.flushdb();
    await m.select(0);
    await synced();
    expect(await layout(s)).toEqual({ 5: ["z"] });
    expect(await field(s, "commandstats", "cmdstat_flushdb")).toMatch(new RegExp(`^calls=${before + 1},`));
    await m.flushall();
    await synced();
    expect(await layout(s)).toEqual({});
  });

  it("XTRIM MINID ~ that empties a stream empties the replica's (threshold: the maximum ID)", async () => {
    await m.xadd("st", "1-1", "f", "v");
    await m.xadd("st", "2-1", "f", "w");
    expect(await m.xtrim("st", "MINID", "~", "10")).toBe(2);
    await synced();
    expect(await s.xlen("st")).toBe(0);
    const incr = readdirSync(join(primary.dir, "appendonlydir")).find((f) => f.endsWith(".incr.aof"))!;
    expect(readFileSync(join(primary.dir, "appendonlydir", incr), "latin1"))
      .toContain("$5\r\nMINID\r\n$1\r\n=\r\n$41\r\n18446744073709551615-18446744073709551615\r\n");
  });
});
