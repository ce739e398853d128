// The commands a write leaves in the AOF (the replication stream is made from the same
// effects) are the ones redis-server 7.0 writes, command for command: rewritten commands in
// Redis's spelling (SET ... PXAT, PEXPIREAT, PERSIST, HSET for HINCRBYFLOAT), DEL or UNLINK
// as the lazyfree switches say, ZPOPMIN/ZPOPMAX as each pop command replays, and a one-command
// EXEC or script without MULTI/EXEC, and MULTI/EXEC around one command's several commands
// (keys it found expired, SPOP with a count, XREADGROUP/XCLAIM's entries, a DEL or MGET split
// over shards). Both servers get the same commands; times and SPOP's random members are masked.
import { describe, it, expect, afterEach } from "vitest";
import Redis from "ioredis";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { takeCommand } from "../helpers/resp-commands.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

const COMMANDS: string[][] = [
  ["SET", "a", "1"], ["GETDEL", "a"],
  ["SET", "b", "2"], ["GETEX", "b", "PX", "100000"], ["GETEX", "b", "PERSIST"], ["GETEX", "b", "PXAT", "1"],
  ["SETEX", "c", "100", "v"], ["PSETEX", "d", "100000", "v"], ["set", "e", "v", "ex", "100"],
  ["SET", "f", "1.5"], ["INCRBYFLOAT", "f", "2"],
  ["HSET", "h", "x", "1.5"], ["HINCRBYFLOAT", "h", "x", "2"],
  ["SET", "g", "v"], ["EXPIRE", "g", "-1"], ["SET", "g", "v"], ["PEXPIREAT", "g", "1"],
  ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f"],
  ["BZPOPMIN", "z", "0"], ["zpopmax", "z", "10"], ["ZADD", "z", "1", "a", "2", "b"],
  ["ZMPOP", "1", "z", "MIN", "COUNT", "10"], ["ZADD", "z", "1", "a"], ["BZMPOP", "0", "1", "z", "MAX"],
  ["MULTI"], ["SET", "m", "1"], ["EXEC"],
  ["MULTI"], ["SET", "m", "2"], ["SET", "n", "2"], ["EXEC"],
  ["EVAL", "redis.call('set', KEYS[1], 'x')", "1", "s"],
  ["EVAL", "redis.call('set', KEYS[1], 'x') redis.call('del', KEYS[1])", "1", "s"],
  ["DEBUG", "SET-ACTIVE-EXPIRE", "0"],
  ["SET", "x1", "1", "PX", "1"], ["SET", "x2", "1", "PX", "1"], ["SET", "x3", "1", "PX", "1"], ["SET", "x4", "1", "PX", "1"],
  ["DEBUG", "SLEEP", "0.01"],
  ["MGET", "x1", "x2"], ["SET", "x3", "2"], ["DEL", "x4", "x5", "x6"],
  ["SADD", "sp", "a", "b", "c", "d", "e"], ["SPOP", "sp", "2"],
  ["XADD", "xs", "1-1", "a", "1"], ["XADD", "xs", "2-1", "a", "2"], ["XGROUP", "CREATE", "xs", "g", "0"],
  ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "xs", ">"], ["XCLAIM", "xs", "g", "c2", "0", "1-1", "2-1"],
];

async function aofCommands(dir: string): Promise<string[]> {
  const incr = readdirSync(join(dir, "appendonlydir")).find((f) => f.endsWith(".incr.aof"))!;
  let rest = readFileSync(join(dir, "appendonlydir", incr), "latin1");
  const out: string[] = [];
  for (let c = takeCommand(rest); c; c = takeCommand(rest)) { out.push(c.argv.join(" ")); rest = c.rest; }
  // Absolute times differ between the two runs.
  return out.map((l) => l.replace(/ \d{13}$/, " T").replace(/ TIME \d+ /, " TIME T ").replace(/^SREM sp \S+$/, "SREM sp m"));
}

async function run(port: number): Promise<void> {
  const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  cleanups.push(() => { r.disconnect(); });
  for (const c of COMMANDS) await r.call(c[0], ...c.slice(1)).catch(() => undefined);
}

describe("what writes leave in the AOF, against redis-server 7.0", { timeout: 60_000 }, () => {
  for (const lazy of ["no", "yes"]) {
    it.skipIf(!hasRealRedis)(`is Redis's, command for command (lazyfree-lazy-user-del and -expire ${lazy})`, async () => {
      const args = ["--appendonly", "yes", "--appendfsync", "always", "--lazyfree-lazy-user-del", lazy, "--lazyfree-lazy-expire", lazy,
        "--enable-debug-command", "yes"];
      const dir = mkdtempSync(join(tmpdir(), "lkv-prop-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const ours = await startServer(["--dir", dir, ...args]);
      cleanups.push(() => ours.stop());
      const real = await startRealRedis(args);
      cleanups.push(() => real.stop());
      await run(ours.port);
      await run(real.port);
      const expected = await aofCommands(real.dir);
      expect(expected).toContain(lazy === "yes" ? "UNLINK a" : "DEL a");
      expect(expected.filter((l) => l === "MULTI").length).toBe(7);
      expect(await aofCommands(dir)).toEqual(expected);
    });
  }
});
