// REPLCONF rdb-only / rdb-filter-only (Redis 7.0): a client that wants a snapshot and no
// replication stream, as `redis-cli --rdb FILE` and `redis-cli --functions-rdb FILE` ask for
// it. The RDB comes through the replication handshake (SYNC), the connection closes once it
// is out, and a filtered RDB (functions only) always goes to the socket so the server's own
// snapshot file is never overwritten with a partial image. The REPLCONF errors are checked
// against Debian's redis-server 7.0.15 answering the same requests.
import { describe, it, expect, afterAll } from "vitest";
import { execFile } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { startServer, connectClient, type RunningServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { RawConn } from "../helpers/raw-conn.js";
import { until } from "../helpers/wait.js";

const inCI = process.env.CI === "true" || process.env.CI === "1";
const redisCli = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"].find((p) => existsSync(p));
if (!redisCli && inCI) throw new Error("rdb-only test: redis-cli not found; CI installs redis-tools");

/** redis-cli's stderr (where --rdb reports); rejects if it exits non-zero. */
async function cli(port: number, ...args: string[]): Promise<string> {
  const { stderr } = await promisify(execFile)(redisCli!, ["-p", String(port), ...args], { timeout: 60_000 });
  return stderr;
}

/** Takes the next line (without its CRLF or LF) once it has arrived. */
async function line(r: RawConn): Promise<string> {
  await until("a line", () => r.text.includes("\n") || r.closed, 10_000, 10);
  const i = r.text.indexOf("\n");
  if (i < 0) throw new Error(`connection closed; got ${JSON.stringify(r.text)}`);
  const l = r.text.slice(0, i).replace(/\r$/, "");
  r.text = r.text.slice(i + 1);
  return l;
}

const LIB = "#!lua name=lib1\nredis.register_function('func1', function() return 123 end)";

describe.skipIf(!redisCli || !hasRealRedis)("REPLCONF rdb-only and rdb-filter-only (redis-cli --rdb / --functions-rdb)", { timeout: 120_000 }, () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const f of cleanup.reverse()) await f(); });

  async function server(args: string[] = [], at?: { port: number; dir: string }): Promise<RunningServer> {
    const s = await startServer(args, {}, at);
    cleanup.push(() => s.stop());
    return s;
  }

  /** Keys and function libraries of an RDB file, loaded by a fresh LatticeKV server. */
  async function contents(dir: string, file: string): Promise<{ keys: number; libs: string[] }> {
    const s = await server(["--dbfilename", file, "--dir", dir]);
    const c = await connectClient(s.port);
    try {
      const libs = (await c.call("FUNCTION", "LIST")) as unknown[][];
      return { keys: await c.dbsize(), libs: libs.map((l) => String(l[1])) };
    } finally {
      c.disconnect();
      await s.stop();
    }
  }

  for (const diskless of ["no", "yes"]) {
    it(`--rdb gets keys and functions, --functions-rdb only the functions (repl-diskless-sync ${diskless}); neither stays a replica`, async () => {
      const s = await server(["--repl-diskless-sync", diskless, "--repl-diskless-sync-delay", "0"]);
      const c = await connectClient(s.port);
      cleanup.push(async () => c.disconnect());
      for (let i = 0; i < 500; i++) await c.set(`k${i}`, "v");
      await c.rpush("list", "a", "b");
      await c.call("FUNCTION", "LOAD", LIB);

      const whole = join(s.dir, "whole.rdb");
      expect(await cli(s.port, "--rdb", whole)).toMatch(/Transfer finished with success/);
      const fn = join(s.dir, "fn.rdb");
      // Before the fix: "REPLCONF rdb-filter-only error: ERR Unrecognized REPLCONF option", exit 1.
      expect(await cli(s.port, "--functions-rdb", fn)).toMatch(/Transfer finished with success after \d+ bytes/);

      expect(await contents(s.dir, "whole.rdb")).toEqual({ keys: 501, libs: ["lib1"] });
      expect(await contents(s.dir, "fn.rdb")).toEqual({ keys: 0, libs: ["lib1"] });
      expect(statSync(fn).size).toBeLessThan(statSync(whole).size);

      // The rdb-only clients were closed after their RDB and got no stream.
      expect(await c.info("replication")).toMatch(/connected_slaves:0/);
      expect(s.output()).toMatch(/RDB transfer completed, rdb only replica \(.*\) should be disconnected asap/);
      // The filtered one went to the socket: the snapshot file, if any, has every key.
      const dump = join(s.dir, "dump.rdb");
      if (existsSync(dump)) expect((await contents(s.dir, "dump.rdb")).keys).toBe(501);
    });
  }

  it("redis-cli --replica (rdb-filter-only \"\") gets an empty RDB and then the stream", async () => {
    const s = await server(["--repl-diskless-sync", "no"]);
    const c = await connectClient(s.port);
    cleanup.push(async () => c.disconnect());
    for (let i = 0; i < 200; i++) await c.set(`k${i}`, "x".repeat(100));
    const r = await RawConn.open(s.port);
    cleanup.push(async () => r.close());
    r.send("REPLCONF", "capa", "eof");
    expect(await line(r)).toBe("+OK");
    r.send("REPLCONF", "rdb-filter-only", "");
    expect(await line(r)).toBe("+OK");
    r.send("SYNC");
    // A socket-target transfer (EOF-marked) even though the master syncs to disk; a
    // newline or two may come first while it starts.
    let head = await line(r);
    while (head === "") head = await line(r);
    expect(head).toMatch(/^\$EOF:[0-9a-f]{40}$/);
    const mark = head.slice(5);
    await until("the end mark", () => r.text.includes(mark) || r.closed, 10_000, 10);
    // Header and aux fields, EOF, checksum: no key (20,000 bytes of values were left out).
    const payload = r.text.slice(0, r.text.indexOf(mark));
    expect(payload.length).toBeGreaterThan(9);
    expect(payload.length).toBeLessThan(400);
    r.text = r.text.slice(r.text.indexOf(mark) + mark.length);
    r.send("REPLCONF", "ACK", "0");
    await c.set("after", "1");
    await r.skipPast("$5\r\nafter\r\n$1\r\n1\r\n", 10_000);
  });

  it("REPLCONF rdb-only / rdb-filter-only errors, SYNC without capa eof and unanswered GETACK/ACK, as Redis answers them", async () => {
    const ours = await server();
    const real = await startRealRedis();
    cleanup.push(() => real.stop(true));
    const answers = async (port: number) => {
      const out: string[] = [];
      // Each request on a fresh connection, its commands in turn.
      const ask = async (...cmds: string[]) => {
        const r = await RawConn.open(port);
        try {
          for (const cmd of cmds) {
            r.send(...cmd.split("\u0000"));
            out.push(await line(r));
          }
        } finally {
          r.close();
        }
      };
      await ask("REPLCONF\u0000rdb-only\u00002");
      await ask("REPLCONF\u0000rdb-only\u0000x");
      await ask("REPLCONF\u0000rdb-filter-only\u0000functions keys");
      await ask("REPLCONF\u0000rdb-filter-only\u0000\"unbalanced");
      await ask("REPLCONF\u0000rdb-only\u00000");
      // Filtered, no capa eof: refused before it becomes a replica.
      await ask("REPLCONF\u0000rdb-filter-only\u0000functions", "SYNC", "PING");
      // GETACK and ACK from a client that is not a master / not a replica get no reply at
      // all (replconfCommand returns before addReply): the next line is PING's.
      const r = await RawConn.open(port);
      try {
        r.send("REPLCONF", "getack", "*");
        r.send("REPLCONF", "ack", "10");
        r.send("PING");
        out.push(await line(r));
      } finally {
        r.close();
      }
      return out;
    };
    const mine = await answers(ours.port);
    expect(mine).toEqual(await answers(real.port));
    expect(mine).toContain("-ERR Filtered replica requires EOF capability");
    expect(mine.at(-1)).toBe("+PONG");
  });
});
