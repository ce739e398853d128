// With several shards a client's read is parsed by the client's shard, which leaves the
// commands of other shards to them (src/server/deferred-runs.ts). A client whose commands all
// go to one other shard (a one-key pipeline: redis-benchmark's SET/INCR/RPUSH rows) moved
// its whole read there on every read; now the next read is parsed where the last one's last
// command ran (deferred-runs.ts lastCommandShard), as a read that follows its keys does, also
// when the read ends with an incomplete command (whose bytes then wait as chunks). A read of a
// single command of another shard is not left to it: parsing moves there at once
// (assembly/index.ts processCommands); a first command with more input after it is left to
// its shard like the others (following it copied the rest of the read there).
// In-process with 4 shards whatever the vitest project: which shard parses is not visible to
// a client, only to Client.shard.
import { describe, it, expect, beforeAll } from "vitest";
import type { Socket } from "node:net";
import { scratchDir } from "../helpers/scratch.js";

process.env.LATTICEKV_SHARDS = "4";
const { Config } = await import("../../src/config/config.js");
const { Server } = await import("../../src/server/server.js");
const { Client } = await import("../../src/server/client.js");

type ServerT = InstanceType<typeof Server>;

/** The bytes a client was sent, through the calls Client makes on its socket. */
function fakeSocket(out: Buffer[]): Socket {
  return {
    remoteAddress: "127.0.0.1", remotePort: 1, localAddress: "127.0.0.1", localPort: 2,
    writableLength: 0, writableCorked: 0,
    write(b: Uint8Array) { out.push(Buffer.from(b)); return true; },
    cork() {}, uncork() {}, pause() {}, resume() {}, once() {}, on() {}, end() {}, destroy() {},
  } as unknown as Socket;
}

const cmd = (...argv: string[]) => `*${argv.length}\r\n${argv.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`;

describe("the shard that parses a client's reads", () => {
  let server: ServerT;
  beforeAll(() => {
    const config = new Config();
    config.set("dir", [scratchDir("deferred-home")], true);
    server = new Server(config);
    expect(server.router.shards.length).toBe(4);
  });

  /** A client whose home shard does not own `key`. */
  function clientAway(key: string, out: Buffer[]) {
    const owner = server.router.shardOf(Buffer.from(key));
    for (;;) {
      const c = new Client(server, fakeSocket(out));
      if (c.shard !== owner) return { c, owner };
    }
  }

  /** A key that `shard` owns, named prefix:N. */
  function keyIn(shard: unknown, prefix: string): string {
    for (let i = 0; ; i++) if (server.router.shardOf(Buffer.from(`${prefix}:${i}`)) === shard) return `${prefix}:${i}`;
  }

  it("moves to the shard of the read's last command when the read was left to it", () => {
    const out: Buffer[] = [];
    const { c, owner } = clientAway("ctr", out);
    const home = c.shard;
    c.onData(Buffer.from(cmd("INCR", "ctr").repeat(16)));
    expect(Buffer.concat(out).toString()).toBe(Array.from({ length: 16 }, (_, i) => `:${i + 1}\r\n`).join(""));
    expect(c.shard.index).toBe(owner.index);
    expect(c.shard.index).not.toBe(home.index);
    // The next read runs in the owner, same replies.
    out.length = 0;
    c.onData(Buffer.from(cmd("INCR", "ctr").repeat(4) + cmd("GET", "ctr")));
    expect(Buffer.concat(out).toString()).toBe(":17\r\n:18\r\n:19\r\n:20\r\n$2\r\n20\r\n");
    expect(c.shard.index).toBe(owner.index);
  });

  it("moves to the shard of the read's last command also when the read ends with an incomplete command", () => {
    const out: Buffer[] = [];
    const { c, owner } = clientAway("ctr2", out);
    const whole = cmd("INCR", "ctr2").repeat(3) + cmd("INCR", "ctr2");
    c.onData(Buffer.from(whole.slice(0, -5)));
    expect(Buffer.concat(out).toString()).toBe(":1\r\n:2\r\n:3\r\n");
    // The three were left to the owner; the incomplete fourth waits as chunks, parsed there next.
    expect(c.shard.index).toBe(owner.index);
    c.onData(Buffer.from(whole.slice(-5)));
    expect(Buffer.concat(out).toString()).toBe(":1\r\n:2\r\n:3\r\n:4\r\n");
    expect(c.shard.index).toBe(owner.index);
  });

  it("leaves a later command of another shard to it, and goes on there when the read ends with it", () => {
    const out: Buffer[] = [];
    const { c, owner } = clientAway("ctr4", out);
    const mine = keyIn(c.shard, "mine4");
    // Home's command first: it runs there, the owner's two are left to the owner.
    c.onData(Buffer.from(cmd("INCR", mine) + cmd("INCR", "ctr4") + cmd("INCR", "ctr4")));
    expect(Buffer.concat(out).toString()).toBe(":1\r\n:1\r\n:2\r\n");
    expect(c.shard.index).toBe(owner.index);
  });

  it("leaves the read's first command to its shard when more input follows it", () => {
    const out: Buffer[] = [];
    const { c, owner } = clientAway("ctr5", out);
    const home = c.shard;
    const mine = keyIn(home, "mine5");
    // The owner's INCR first, then home's, then home's next command, incomplete: the first is
    // left to the owner and home parses on (following it would have left the client in the
    // owner, where the rest of the read was copied and parsed).
    const last = cmd("INCR", mine);
    c.onData(Buffer.from(cmd("INCR", "ctr5") + cmd("INCR", mine) + last.slice(0, -3)));
    expect(Buffer.concat(out).toString()).toBe(":1\r\n:1\r\n");
    expect(c.shard.index).toBe(home.index);
    c.onData(Buffer.from(last.slice(-3)));
    expect(Buffer.concat(out).toString()).toBe(":1\r\n:1\r\n:2\r\n");
    // A read of the owner's command alone moves there.
    c.onData(Buffer.from(cmd("INCR", "ctr5")));
    expect(Buffer.concat(out).toString()).toBe(":1\r\n:1\r\n:2\r\n:2\r\n");
    expect(c.shard.index).toBe(owner.index);
  });

  it("stays when its own shard ran the read's last command", () => {
    const out: Buffer[] = [];
    const { c, owner } = clientAway("ctr3", out);
    const home = c.shard;
    const mine = keyIn(home, "mine");
    c.onData(Buffer.from(cmd("INCR", "ctr3") + cmd("INCR", "ctr3") + cmd("INCR", mine)));
    expect(Buffer.concat(out).toString()).toBe(":1\r\n:2\r\n:1\r\n");
    expect(c.shard.index).toBe(home.index);
    expect(c.shard.index).not.toBe(owner.index);
  });
});
