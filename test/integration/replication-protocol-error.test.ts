// A malformed replication stream (Redis's setProtocolError for the master client): the
// replica logs "Protocol error (<reason>) from client: <the master client's info, with its
// last command>. Query buffer during protocol error: '<sample>'", drops the link and
// discards the cached master, so it reconnects with PSYNC ? -1 (a full sync) instead of
// continuing from an offset it can no longer trust. Inline text from a master gets Redis's
// "Receiving inline protocol from master" warning first. The "master" here is a socket
// that answers the handshake, sends an empty RDB, then the bytes under test
// (test/helpers/scripted-master.ts).
import { describe, it, expect, afterAll } from "vitest";
import { serverGroup } from "../helpers/server.js";
import { until } from "../helpers/wait.js";
import { scriptedMaster } from "../helpers/scripted-master.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import Redis from "ioredis";

/**
 * What Redis 7.0.15 logs for the stream SET k v, then "*2\r\nX3\r\nfoo\r\n" (checked against
 * real Redis below): the error reply's CRITICAL line with the last command, the latest
 * backlog (the SET) when there is one, then the protocol error with a sample from where
 * parsing stopped.
 */
const BAD_STREAM_LOG = new RegExp([
  String.raw`== CRITICAL == This replica is sending an error to its master: 'Protocol error: expected '\$', got 'X'' after processing the command 'set'\n`,
  // Redis's replica always keeps a backlog after its sync and logs its tail here; ours has
  // one only once it has replicas of its own.
  String.raw`(.*Latest backlog is: '".*\*3\\r\\n\$3\\r\\nSET\\r\\n\$1\\r\\nk\\r\\n\$1\\r\\nv\\r\\n"'\n)?`,
  String.raw`.*Protocol error \(expected \$ but got something else\) from client: id=\d+ .*flags=M .*cmd=set .*\. Query buffer during protocol error: 'X3\.\.foo\.\.'`,
].join(""));

const cmd = (...a: string[]) => `*${a.length}\r\n${a.map((x) => `$${x.length}\r\n${x}\r\n`).join("")}`;
const BAD_STREAM = cmd("SET", "k", "v") + "*2\r\nX3\r\nfoo\r\n";
/** A keepalive newline (fine), a command, then inline text (a desync). */
const INLINE_STREAM = "\n" + cmd("SET", "a", "1") + "SET b 2\r\n";
const INLINE_LOG = new RegExp([
  String.raw`WARNING: Receiving inline protocol from master, master stream corruption\? Closing the master connection and discarding the cached master\.\n`,
  String.raw`.*Protocol error \(Master using the inline protocol\. Desync\?\) from client: .*cmd=set .*Query buffer during protocol error: 'SET b 2\.\.'`,
].join(""));

describe("a malformed replication stream", { timeout: 60_000 }, () => {
  const servers = serverGroup();
  afterAll(() => servers.stopAll());

  it("is logged with the master client's last command and a sample, the link drops, and the next sync is a full one", async () => {
    const fake = await scriptedMaster(Buffer.from(BAD_STREAM, "latin1"));
    try {
      const { srv, r } = await servers.start();
      await r.replicaof("127.0.0.1", String(fake.port));
      await until("a second PSYNC", () => fake.psyncs.length >= 2, 20_000);
      expect(await r.get("k")).toBe("v"); // what came before the bad bytes ran
      const out = srv.output();
      expect(out).toMatch(BAD_STREAM_LOG);
      // The cached master was discarded: no partial resync from the offset of the bad stream.
      expect(fake.psyncs[1]).toBe("? -1");
      expect(out).toContain("Partial resynchronization not possible (no cached master)");
    } finally {
      fake.close();
    }
  });

  it("inline text from a master is a desync: Redis's warning, then the protocol error", async () => {
    const fake = await scriptedMaster(Buffer.from(INLINE_STREAM, "latin1"));
    try {
      const { srv, r } = await servers.start();
      await r.replicaof("127.0.0.1", String(fake.port));
      await until("a second PSYNC", () => fake.psyncs.length >= 2, 20_000);
      expect(await r.get("a")).toBe("1");
      expect(await r.get("b")).toBe(null);
      const out = srv.output();
      expect(out).toMatch(INLINE_LOG);
    } finally {
      fake.close();
    }
  });

  // The yardstick: real Redis 7.0.15 as the replica of the same scripted masters.
  for (const [name, stream, logged, key] of [
    ["a bad bulk header", BAD_STREAM, BAD_STREAM_LOG, "k"],
    ["inline text", INLINE_STREAM, INLINE_LOG, "a"],
  ] as const) {
    it.skipIf(!hasRealRedis)(`real Redis 7.0 logs the same lines for ${name} and resyncs fully`, async () => {
      const fake = await scriptedMaster(Buffer.from(stream, "latin1"));
      const real = await startRealRedis();
      const r = new Redis(real.port, "127.0.0.1");
      try {
        await r.replicaof("127.0.0.1", String(fake.port));
        await until("a second PSYNC", () => fake.psyncs.length >= 2, 20_000);
        expect(await r.exists(key)).toBe(1);
        expect(real.output()).toMatch(logged);
        expect(fake.psyncs[1]).toBe("? -1");
      } finally {
        r.disconnect();
        fake.close();
        await real.stop(true);
      }
    });
  }
});
