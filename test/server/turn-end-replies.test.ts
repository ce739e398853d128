// A read of one command whose reply is big (LRANGE of 600 elements) has its reply held until the
// end of the event-loop turn, as Redis writes every client's replies in beforeSleep: kept where
// the read's batch gathered it and written by a setImmediate (src/server/turn-end-replies.ts).
// Small replies and pipelined reads are written at once. In-process, with a socket that keeps
// what it is sent while corked, as Node's does.
import { describe, it, expect, beforeAll } from "vitest";
import type { Socket } from "node:net";
import { scratchDir } from "../helpers/scratch.js";
import { Config } from "../../src/config/config.js";
import { Server } from "../../src/server/server.js";
import { Client } from "../../src/server/client.js";

/** What the socket sent (uncorked), in order. */
function corkingSocket(sent: Buffer[]): Socket {
  const held: Buffer[] = [];
  const s = {
    remoteAddress: "127.0.0.1", remotePort: 1, localAddress: "127.0.0.1", localPort: 2,
    writableLength: 0, writableCorked: 0,
    write(b: Uint8Array) {
      const copy = Buffer.from(b);
      if (s.writableCorked > 0) held.push(copy);
      else sent.push(copy);
      return true;
    },
    cork() { s.writableCorked++; },
    uncork() {
      if (s.writableCorked === 0) return;
      if (--s.writableCorked === 0) sent.push(...held.splice(0));
    },
    pause() {}, resume() {}, once() {}, on() {}, end() {}, destroy() {},
  };
  return s as unknown as Socket;
}

const cmd = (...argv: string[]) => Buffer.from(`*${argv.length}\r\n${argv.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`);
const turnEnd = () => new Promise<void>((r) => setImmediate(r));
const LIST_600 = `*600\r\n${"$3\r\nxxx\r\n".repeat(600)}`;

describe("replies held to the turn's end", () => {
  let server: Server;
  beforeAll(async () => {
    const config = new Config();
    config.set("dir", [scratchDir("turn-end")], true);
    server = new Server(config);
    const sent: Buffer[] = [];
    new Client(server, corkingSocket(sent)).onData(cmd("RPUSH", "mylist", ...Array(600).fill("xxx")));
    await turnEnd();
    expect(Buffer.concat(sent).toString()).toBe(":600\r\n");
  });

  it("a one-command read's big reply leaves at the turn's end, not during the read", async () => {
    const sent: Buffer[] = [];
    const c = new Client(server, corkingSocket(sent));
    c.onData(cmd("LRANGE", "mylist", "0", "599"));
    expect(sent).toEqual([]);
    await turnEnd();
    expect(Buffer.concat(sent).toString()).toBe(LIST_600);
  });

  it("a small reply and a pipelined read's replies leave during the read", () => {
    const sent: Buffer[] = [];
    const c = new Client(server, corkingSocket(sent));
    c.onData(cmd("LRANGE", "mylist", "0", "9"));
    expect(Buffer.concat(sent).toString()).toBe(`*10\r\n${"$3\r\nxxx\r\n".repeat(10)}`);
    sent.length = 0;
    c.onData(Buffer.concat([cmd("LRANGE", "mylist", "0", "599"), cmd("LLEN", "mylist")]));
    expect(Buffer.concat(sent).toString()).toBe(`${LIST_600}:600\r\n`);
  });

  it("what is written to a held socket later in the turn follows the held reply", async () => {
    const sent: Buffer[] = [];
    const c = new Client(server, corkingSocket(sent));
    c.onData(cmd("LRANGE", "mylist", "0", "599"));
    c.onData(cmd("LLEN", "mylist"));
    expect(sent).toEqual([]);
    await turnEnd();
    expect(Buffer.concat(sent).toString()).toBe(`${LIST_600}:600\r\n`);
  });

  it("many held replies in one turn, more than a scratch area holds, each leave intact, with the small replies gathered after them", async () => {
    // 30 held replies of 5.4 KB (more than reply-batch.ts's 64 KB area) and, between them,
    // small replies written at once from the same area: the held bytes must not be reused.
    for (let round = 0; round < 2; round++) {
      const big: Buffer[][] = [];
      const small: Buffer[][] = [];
      for (let i = 0; i < 30; i++) {
        const b: Buffer[] = [];
        new Client(server, corkingSocket(b)).onData(cmd("LRANGE", "mylist", "0", "599"));
        big.push(b);
        const s: Buffer[] = [];
        new Client(server, corkingSocket(s)).onData(cmd("LRANGE", "mylist", "0", String(i % 5)));
        small.push(s);
      }
      for (const b of big) expect(b).toEqual([]);
      await turnEnd();
      for (const b of big) expect(Buffer.concat(b).toString()).toBe(LIST_600);
      small.forEach((s, i) => expect(Buffer.concat(s).toString()).toBe(`*${i % 5 + 1}\r\n${"$3\r\nxxx\r\n".repeat(i % 5 + 1)}`));
    }
  });
});
