// A replica applies runs of its master's stream in one kernel call (ReplicaLink.applyRun),
// as a client's pipeline is run. What each command did must stay what it was when they ran
// one at a time: an error reply to the master is logged with its own command's name, in
// order; REPLCONF GETACK in the middle of a run reports the offset of the bytes before it;
// SELECT in a run moves the commands after it to the other db; the offset ends at the
// stream's end. The stream below comes in one write from a scripted master
// (test/helpers/scripted-master.ts), so it is one read and one run; real Redis 7.0.15 gets
// the same stream as the yardstick.
import { describe, it, expect, afterAll } from "vitest";
import Redis from "ioredis";
import { serverGroup } from "../helpers/server.js";
import { until } from "../helpers/wait.js";
import { scriptedMaster } from "../helpers/scripted-master.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";

const cmd = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${x.length}\r\n${x}\r\n`).join("")}`;
const BEFORE_GETACK = [
  cmd("SET", "a", "1"),
  cmd("SET", "s", "x"),
  cmd("INCR", "s"), // an error: not an integer
  cmd("SET", "b", "2"),
  cmd("HSET", "h", "f"), // an error: wrong number of arguments
  // Errors Redis sends as shared objects (logged with their "-ERR" or own code) and one it formats.
  cmd("SET", "b", "9", "XX", "NX"), // -ERR syntax error
  cmd("LSET", "nolist", "0", "x"), // -ERR no such key
  cmd("LPUSH", "s", "x"), // -WRONGTYPE ...
  // The logged name is c->lastcmd's: none for an unknown command or subcommand, the
  // subcommand's full name otherwise, even when its arity is wrong.
  cmd("FAKE-CMD", "x"),
  cmd("CONFIG", "NOSUCH"),
  cmd("CONFIG", "GET"),
  cmd("CONFIG", "SET", "nosuch", "1"),
  cmd("SELECT", "1"), // run by the host, the kernel goes on after it
  cmd("SET", "c", "3"),
].join("");
const STREAM = BEFORE_GETACK + cmd("REPLCONF", "GETACK", "*") + cmd("SET", "d", "4") + cmd("SET", "e", "5");

/** The CRITICAL lines, in order, each naming its own command and giving the error as Redis logs it. */
const ERRORS_LOG = new RegExp([
  String.raw`value is not an integer or out of range' after processing the command 'incr'`,
  String.raw`wrong number of arguments for 'hset' command' after processing the command 'hset'`,
  String.raw`-ERR syntax error' after processing the command 'set'`,
  String.raw`-ERR no such key' after processing the command 'lset'`,
  String.raw`-WRONGTYPE Operation against a key holding the wrong kind of value' after processing the command 'lpush'`,
  String.raw`unknown command 'FAKE-CMD', with args beginning with: 'x' ' after processing the command '<unknown>'`,
  String.raw`unknown subcommand 'NOSUCH'. Try CONFIG HELP.' after processing the command '<unknown>'`,
  String.raw`wrong number of arguments for 'config\|get' command' after processing the command 'config\|get'`,
  String.raw`Unknown option or number of arguments for CONFIG SET - 'nosuch'' after processing the command 'config\|set'`,
].map((e) => String.raw`== CRITICAL == This replica is sending an error to its master: '` + e + String.raw`\n(.*Latest backlog is: .*\n)?`).join(".*"));

async function check(r: Redis, acks: number[], output: () => string): Promise<void> {
  await until("the whole stream is applied", async () => (await r.info("replication")).includes(`slave_repl_offset:${STREAM.length}`), 20_000);
  // The ACK the GETACK asked for: the bytes before it (periodic ACKs say 0 or the end).
  await until("the GETACK's ACK", () => acks.includes(BEFORE_GETACK.length), 10_000);
  expect(await r.get("a")).toBe("1");
  expect(await r.get("b")).toBe("2");
  expect(await r.get("s")).toBe("x");
  expect(await r.exists("h", "c", "d", "e")).toBe(0);
  await r.select(1);
  expect(await r.mget("c", "d", "e")).toEqual(["3", "4", "5"]);
  expect(output()).toMatch(ERRORS_LOG);
}

describe("the master's stream applied in runs", { timeout: 60_000 }, () => {
  const servers = serverGroup();
  afterAll(() => servers.stopAll());

  it("keeps each command's error log, a GETACK's offset and SELECT's db when a read's commands run in one kernel call", async () => {
    const fake = await scriptedMaster(Buffer.from(STREAM, "latin1"));
    try {
      const { srv, r } = await servers.start();
      await r.replicaof("127.0.0.1", String(fake.port));
      await check(r, fake.acks, () => srv.output());
    } finally {
      fake.close();
    }
  });

  it.skipIf(!hasRealRedis)("real Redis 7.0 as the replica of the same stream: the same errors, ACK and data", async () => {
    const fake = await scriptedMaster(Buffer.from(STREAM, "latin1"));
    const real = await startRealRedis();
    const r = new Redis(real.port, "127.0.0.1");
    try {
      await r.replicaof("127.0.0.1", String(fake.port));
      await check(r, fake.acks, () => real.output());
    } finally {
      r.disconnect();
      fake.close();
      await real.stop(true);
    }
  });
});
