// The wire protocol at the edges, over raw sockets: protocol errors (reply, then close),
// commands split across reads, clients that disconnect mid-command, huge declared lengths,
// and clients that pipeline without reading (backpressure bounds what the server buffers).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import net from "node:net";
import { readFileSync } from "node:fs";
import { startServer, rawExchange, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

let srv: RunningServer;

beforeAll(async () => { srv = await startServer(); });
afterAll(async () => { await srv?.stop(); });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The server process's resident set size in bytes (Linux). */
function serverRss(): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${srv.proc.pid}/status`, "utf8"));
  return Number(m![1]) * 1024;
}

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(srv.port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/** One command on a fresh connection; its reply text. */
async function ask(req: string): Promise<string> {
  return (await rawExchange(srv.port, req, { until: (s) => s.endsWith("\r\n") })).text;
}

describe("protocol errors reply and close the connection, as Redis 7.0", () => {
  const cases: [string, string][] = [
    ["*x\r\n", "invalid multibulk length"],
    ["*2147483648\r\n", "invalid multibulk length"],
    ["*1\r\n$-1\r\n", "invalid bulk length"],
    ["*1\r\n$abc\r\n", "invalid bulk length"],
    ["*1\r\n$536870913\r\n", "invalid bulk length"],
    ["*1\r\nfoo\r\n", "expected '$', got 'f'"],
    ['PING "a\r\n', "unbalanced quotes in request"],
    ["PING 'a'b\r\n", "unbalanced quotes in request"],
    ["PING " + "x".repeat(70 * 1024), "too big inline request"],
    ["*1\r\n$" + "1".repeat(70 * 1024), "too big bulk count string"],
    ["*" + "1".repeat(70 * 1024), "too big mbulk count string"],
  ];
  for (const [req, msg] of cases) {
    it(`${JSON.stringify(req.slice(0, 24))} -> ${msg}`, async () => {
      const { text, closed } = await rawExchange(srv.port, req, { timeoutMs: 3000 });
      expect(text).toBe(`-ERR Protocol error: ${msg}\r\n`);
      expect(closed).toBe(true);
    });
  }

  it("commands before the bad one in a pipeline are answered first", async () => {
    const { text, closed } = await rawExchange(srv.port, "SET pe 1\r\nGET pe\r\n*x\r\nGET pe\r\n");
    expect(text).toBe("+OK\r\n$1\r\n1\r\n-ERR Protocol error: invalid multibulk length\r\n");
    expect(closed).toBe(true);
  });

  it("empty and negative multibulks and blank lines are skipped, not errors", async () => {
    expect(await ask("*0\r\n*-5\r\n\r\n\r\nPING\r\n")).toBe("+PONG\r\n");
  });
});

describe("reads split anywhere", () => {
  it("a pipeline written one byte at a time gets every reply, in order", async () => {
    const req = "*3\r\n$3\r\nSET\r\n$2\r\nsp\r\n$5\r\nhello\r\nGET sp\r\n*2\r\n$6\r\nSTRLEN\r\n$2\r\nsp\r\nPING\r\n";
    const want = "+OK\r\n$5\r\nhello\r\n:5\r\n+PONG\r\n";
    const s = await connect();
    s.setNoDelay(true);
    let text = "";
    s.on("data", (d) => (text += d.toString("latin1")));
    for (const ch of req) {
      s.write(ch);
      await sleep(1);
    }
    while (text.length < want.length) await sleep(5);
    s.destroy();
    expect(text).toBe(want);
  });

  it("a 3 MB value arriving in many reads is stored whole", async () => {
    const value = Buffer.alloc(3 * 1024 * 1024, "abcdefgh");
    const req = Buffer.concat([Buffer.from(`*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$${value.length}\r\n`), value, Buffer.from("\r\n")]);
    const s = await connect();
    let text = "";
    s.on("data", (d) => (text += d.toString("latin1")));
    for (let i = 0; i < req.length; i += 16 * 1024) {
      s.write(req.subarray(i, i + 16 * 1024));
      if (i % (256 * 1024) === 0) await sleep(1);
    }
    while (!text.includes("\r\n")) await sleep(5);
    expect(text).toBe("+OK\r\n");
    s.write("STRLEN big\r\n");
    while (!text.endsWith(`:${value.length}\r\n`)) await sleep(5);
    s.destroy();
  });

  it("a multibulk of 200k arguments arriving in many reads runs once complete", async () => {
    const n = 100_000;
    const parts = [`*${1 + 2 * n}\r\n$4\r\nMSET\r\n`];
    for (let i = 0; i < n; i++) parts.push(`$${`mk${i}`.length}\r\nmk${i}\r\n$1\r\nv\r\n`);
    const req = Buffer.from(parts.join(""));
    const s = await connect();
    let text = "";
    s.on("data", (d) => (text += d.toString("latin1")));
    for (let i = 0; i < req.length; i += 8 * 1024) {
      s.write(req.subarray(i, i + 8 * 1024));
      if (i % (128 * 1024) === 0) await sleep(1);
    }
    s.write("GET mk99999\r\n");
    while (text.length < "+OK\r\n$1\r\nv\r\n".length) await sleep(5);
    s.destroy();
    expect(text).toBe("+OK\r\n$1\r\nv\r\n");
  });
});

describe("bad clients", () => {
  it("a client that disconnects mid-command changes nothing and bothers no one", async () => {
    for (const cut of ["*3\r\n$3\r\nSET\r\n$3\r\ncut\r\n$10\r\nabc", "*3\r\n$3\r\nSET\r\n$3\r\ncut", "SET cut 1", "*3\r\n$3\r\nSE"]) {
      const s = await connect();
      s.write(cut);
      await sleep(20);
      s.destroy();
    }
    // One that asked for a lot of output and left without reading it.
    const s = await connect();
    s.write("SET filler " + "x".repeat(10000) + "\r\n" + "GET filler\r\n".repeat(5000));
    await sleep(50);
    s.destroy();
    await sleep(50);
    expect(await ask("EXISTS cut\r\n")).toBe(":0\r\n");
    expect(await ask("PING\r\n")).toBe("+PONG\r\n");
    expect(srv.proc.exitCode).toBeNull();
  });

  it("a client that half-closes is freed at once, with the replies it did not read (Redis frees a client whose read returns 0)", async () => {
    // ~15 MB owed: more than loopback's socket buffers take from a peer that does not read,
    // less than the output high-water mark (16 MB), so the server keeps reading and sees the end.
    expect(await ask("SETRANGE halfbig 15000000 x\r\n")).toBe(":15000001\r\n");
    const wholeBulk = (t: string) => { const m = /^\$(\d+)\r\n/.exec(t); return !!m && t.length >= m[0].length + Number(m[1]) + 2; };
    const listed = async () => (await rawExchange(srv.port, "CLIENT LIST\r\n", { until: wholeBulk })).text.includes("name=halfclosed");
    const s = await connect();
    s.pause(); // reads nothing
    s.on("error", () => {});
    s.write("CLIENT SETNAME halfclosed\r\nGET halfbig\r\n");
    await until("the reader to be listed", listed, 5000);
    s.end(); // FIN: the server's read returns 0
    // Ending our side after the unsent 15 MB instead (net's default) kept it listed for good.
    await until("the half-closed client to be gone", async () => !(await listed()), 5000);
    s.destroy();
    expect(await ask("DEL halfbig\r\n")).toBe(":1\r\n");
  });

  it("a client that writes its commands and half-closes still gets every reply", async () => {
    const value = "h".repeat(3000); // a one-command read's big reply waits for the turn's end
    expect(await ask(`SET halfreply ${value}\r\n`)).toBe("+OK\r\n");
    for (const req of ["GET halfreply\r\n", "PING\r\nGET halfreply\r\n"]) {
      const s = await connect();
      let text = "";
      s.on("data", (d: Buffer) => { text += d.toString("latin1"); });
      const closed = new Promise<void>((r) => s.on("close", () => r()));
      s.end(req); // the commands and the FIN together
      await closed;
      expect(text).toBe((req.startsWith("PING") ? "+PONG\r\n" : "") + `$3000\r\n${value}\r\n`);
    }
  });

  it("a huge declared bulk length allocates nothing up front", async () => {
    const before = serverRss();
    const socks: net.Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await connect();
      s.write("*2\r\n$3\r\nGET\r\n$536870000\r\nabc");
      socks.push(s);
    }
    await sleep(200);
    expect(serverRss() - before).toBeLessThan(64 * 1024 * 1024);
    expect(await ask("PING\r\n")).toBe("+PONG\r\n");
    for (const s of socks) s.destroy();
  });

  it("a client pipelining 100k commands without reading is held back, then gets every reply", async () => {
    const value = "v".repeat(2000);
    expect(await ask(`SET pipe ${value}\r\n`)).toBe("+OK\r\n");
    const one = `$${value.length}\r\n${value}\r\n`;
    const n = 100_000;
    const before = serverRss();
    const s = await connect();
    s.pause(); // read nothing for now: ~200 MB of replies are owed
    s.write("GET pipe\r\n".repeat(n));
    await sleep(1500);
    // Unbounded, the server would hold ~200 MB of replies; backpressure keeps it near a few MB.
    expect(serverRss() - before).toBeLessThan(80 * 1024 * 1024);
    // Everyone else is still served meanwhile.
    expect(await ask("PING\r\n")).toBe("+PONG\r\n");
    let received = 0;
    let tail = "";
    const want = one.length * n;
    await new Promise<void>((resolve, reject) => {
      s.on("data", (d: Buffer) => {
        received += d.length;
        tail = (tail + d.toString("latin1")).slice(-one.length);
        if (received >= want) resolve();
      });
      s.on("close", () => reject(new Error(`closed after ${received} of ${want} bytes`)));
      s.resume();
    });
    s.destroy();
    expect(received).toBe(want);
    expect(tail).toBe(one);
  });

  it("client-output-buffer-limit's normal hard limit disconnects a client past it", async (ctx) => {
    const set = await ask('CONFIG SET client-output-buffer-limit "normal 100000 0 0"\r\n');
    if (!set.startsWith("+OK")) return ctx.skip(); // until CONFIG SET knows the directive
    try {
      expect(await ask(`SET obuf ${"x".repeat(10000)}\r\n`)).toBe("+OK\r\n");
      const s = await connect();
      s.pause();
      s.write("GET obuf\r\n".repeat(2000));
      const closed = await new Promise<boolean>((resolve) => {
        s.on("close", () => resolve(true));
        setTimeout(() => resolve(false), 3000);
        setTimeout(() => s.resume(), 500);
      });
      s.destroy();
      expect(closed).toBe(true);
      expect(await ask("PING\r\n")).toBe("+PONG\r\n");
    } finally {
      await ask('CONFIG SET client-output-buffer-limit "normal 0 0 0"\r\n');
    }
  });

  it("client-output-buffer-limit's normal soft limit disconnects a client over it for its seconds", async (ctx) => {
    const set = await ask('CONFIG SET client-output-buffer-limit "normal 0 100000 1"\r\n');
    if (!set.startsWith("+OK")) return ctx.skip();
    try {
      expect(await ask(`SET obuf ${"x".repeat(10000)}\r\n`)).toBe("+OK\r\n");
      const s = await connect();
      s.pause(); // never reads: its unsent replies stay above the soft limit
      s.write("CLIENT SETNAME slowreader\r\n" + "GET obuf\r\n".repeat(2000));
      const wholeBulk = (t: string) => { const m = /^\$(\d+)\r\n/.exec(t); return !!m && t.length >= m[0].length + Number(m[1]) + 2; };
      const listed = async () => (await rawExchange(srv.port, "CLIENT LIST\r\n", { until: wholeBulk })).text.includes("name=slowreader");
      await sleep(400);
      expect(await listed()).toBe(true); // over the soft limit, but not for a second yet
      await sleep(1600);
      expect(await listed()).toBe(false);
      s.destroy();
      expect(await ask("PING\r\n")).toBe("+PONG\r\n");
    } finally {
      await ask('CONFIG SET client-output-buffer-limit "normal 0 0 0"\r\n');
    }
  });
});
