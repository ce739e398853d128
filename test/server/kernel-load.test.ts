// Sets and zsets read from an RDB payload (RESTORE, DEBUG RELOAD: the loader a restart and a
// replica's full sync use) become kernel values when they fit the kernel's small encodings,
// as SADD/ZADD would have built them (src/persistence/keyspace-io.ts kernelBody), and stay
// host values otherwise. Whether the kernel holds a key is the handle in its migrate blob
// (assembly/cluster/migrate.ts: 0 for a kernel value); nothing a client sees may differ.
import { describe, it, expect, beforeAll } from "vitest";
import type { Socket } from "node:net";
import { scratchDir } from "../helpers/scratch.js";

const { Config } = await import("../../src/config/config.js");
const { Server } = await import("../../src/server/server.js");
const { Client } = await import("../../src/server/client.js");

type ServerT = InstanceType<typeof Server>;
type ClientT = InstanceType<typeof Client>;

function run(server: ServerT, client: ClientT, ...args: (string | Buffer)[]): Buffer {
  server.execCommand(client, args.map((a) => (typeof a === "string" ? Buffer.from(a) : a)));
  return client.reply.take();
}
const text = (b: Buffer) => b.toString("latin1");

/** The key's host handle: 0 when the kernel holds its value. */
function handleOf(server: ServerT, key: string): number {
  const blob = server.router.shardOf(Buffer.from(key)).migrateOut(0, Buffer.from(key), false)!;
  return new DataView(blob.buffer, blob.byteOffset, blob.byteLength).getInt32(16, true);
}

/** The RESP payload of a bulk string reply (DUMP's). */
function bulk(reply: Buffer): Buffer {
  const nl = reply.indexOf("\r\n");
  const n = Number(reply.toString("latin1", 1, nl));
  return reply.subarray(nl + 2, nl + 2 + n);
}

describe("sets and zsets loaded from an RDB payload", () => {
  let server: ServerT;
  let c: ClientT;
  const members = (n: number, f: (i: number) => string) => Array.from({ length: n }, (_, i) => f(i));
  // name: [build commands, read commands whose replies must not change, kernel value after a load]
  const cases: Record<string, { build: string[][]; read: string[][]; kernel: boolean }> = {
    intset: { build: [["SADD", "k", ...members(100, (i) => String((i * 7919) % 1000 - 500))]], read: [["SMEMBERS", "k"]], kernel: true },
    hashtable: { build: [["SADD", "k", "b", "a", "c", "1", ...members(60, (i) => `m${i}`)], ["SREM", "k", "a", "m5"]], read: [["SMEMBERS", "k"]], kernel: true },
    "set of 129": { build: [["SADD", "k", ...members(129, (i) => `m${i}`)]], read: [["SCARD", "k"]], kernel: false },
    "set with a 65-byte member": { build: [["SADD", "k", "a", "x".repeat(65)]], read: [["SMEMBERS", "k"]], kernel: false },
    zset: { build: [["ZADD", "k", "2", "b", "1", "a", "1", "c", "-inf", "lo", "2.5", "half"]], read: [["ZRANGE", "k", "0", "-1", "WITHSCORES"]], kernel: true },
    "zset of 129": { build: [["ZADD", "k", ...members(129, (i) => [String(i), `m${i}`]).flat()]], read: [["ZCARD", "k"]], kernel: false },
    "zset with a 65-byte member": { build: [["ZADD", "k", "1", "x".repeat(65)]], read: [["ZRANGE", "k", "0", "-1"]], kernel: false },
  };

  beforeAll(() => {
    const config = new Config();
    config.set("dir", [scratchDir("kernel-load")], true);
    config.set("enable-debug-command", ["yes"], true);
    server = new Server(config);
    c = new Client(server, {} as Socket);
  });

  for (const [name, t] of Object.entries(cases)) {
    it(`${name}: RESTORE and DEBUG RELOAD give ${t.kernel ? "a kernel" : "a host"} value, read alike`, () => {
      run(server, c, "FLUSHALL");
      for (const cmd of t.build) run(server, c, ...cmd);
      const before = t.read.map((cmd) => text(run(server, c, ...cmd)));
      const encoding = text(run(server, c, "OBJECT", "ENCODING", "k"));
      const payload = bulk(run(server, c, "DUMP", "k"));
      expect(text(run(server, c, "RESTORE", "r", "0", payload))).toBe("+OK\r\n");
      expect(handleOf(server, "r") === 0).toBe(t.kernel);
      expect(t.read.map((cmd) => text(run(server, c, ...cmd.map((a) => (a === "k" ? "r" : a)))))).toEqual(before);
      expect(text(run(server, c, "OBJECT", "ENCODING", "r"))).toBe(encoding);
      run(server, c, "DEL", "r");
      expect(text(run(server, c, "DEBUG", "RELOAD"))).toBe("+OK\r\n");
      expect(handleOf(server, "k") === 0).toBe(t.kernel);
      expect(t.read.map((cmd) => text(run(server, c, ...cmd)))).toEqual(before);
      expect(text(run(server, c, "OBJECT", "ENCODING", "k"))).toBe(encoding);
    });
  }

  it("a loaded kernel set and zset go on in the kernel: SADD/ZADD on them answer as before", () => {
    run(server, c, "FLUSHALL");
    run(server, c, "SADD", "s", "1", "2", "3");
    run(server, c, "ZADD", "z", "1", "a", "2", "b");
    expect(text(run(server, c, "DEBUG", "RELOAD"))).toBe("+OK\r\n");
    expect(text(run(server, c, "SADD", "s", "0", "x"))).toBe(":2\r\n");
    expect(text(run(server, c, "SMEMBERS", "s"))).toBe("*5\r\n$1\r\n0\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\nx\r\n");
    expect(text(run(server, c, "OBJECT", "ENCODING", "s"))).toBe("$9\r\nhashtable\r\n");
    expect(text(run(server, c, "ZADD", "z", "0", "c"))).toBe(":1\r\n");
    expect(text(run(server, c, "ZPOPMIN", "z"))).toBe("*2\r\n$1\r\nc\r\n$1\r\n0\r\n");
    expect(handleOf(server, "s")).toBe(0);
    expect(handleOf(server, "z")).toBe(0);
  });
});
