// A read's replies leave at the end of the event-loop turn, after every client read in that
// turn ran (src/server/turn-writes.ts), and a client's bytes stay in order when something
// else writes to it in the same turn (a push, QUIT) or it was killed meanwhile. The server runs
// in this process: the test hands two clients' reads to their Client objects in one turn,
// as the event loop would, and reads the order of the socket writes at their handles.
import { describe, it, expect, afterAll } from "vitest";
import net from "node:net";
import { Buffer } from "node:buffer";
import { Config } from "../../src/config/config.js";
import { Server } from "../../src/server/server.js";
import type { Client } from "../../src/server/client.js";
import { until } from "../helpers/wait.js";
import { scratchDir } from "../helpers/scratch.js";

describe("turn writes", { timeout: 30_000 }, () => {
  let server: Server | null = null;
  const sockets: net.Socket[] = [];
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await server?.close();
  });

  it("holds replies to the turn's end in order, sends them before a push or QUIT's close, and drops a killed client's", async () => {
    const config = new Config();
    for (const [name, value] of [["port", "0"], ["bind", "127.0.0.1"], ["save", ""], ["loglevel", "warning"],
      ["dir", scratchDir("turn-writes")]]) expect(config.set(name, [value], true)).toBeNull();
    server = new Server(config);
    const port = await server.listen();
    const received = new Map<string, Buffer[]>();
    const connect = async (name: string) => {
      const s = await new Promise<net.Socket>((res) => { const k = net.connect(port, "127.0.0.1", () => res(k)); });
      sockets.push(s);
      received.set(name, []);
      s.on("data", (d) => received.get(name)!.push(d));
      await until(`${name} accepted`, async () => [...server!.clients.values()].some((c) => c.socket.remotePort === s.localPort));
      return { sock: s, client: [...server!.clients.values()].find((c) => c.socket.remotePort === s.localPort)! };
    };
    const text = (name: string) => Buffer.concat(received.get(name)!).toString("latin1");

    // Every write at the server sockets' handles (what Node's stream and the direct path both
    // write through), in order.
    const writes: { who: string; data: string }[] = [];
    const spy = (c: Client, who: string) => {
      const h = (c.socket as unknown as { _handle: Record<string, (...a: unknown[]) => number> })._handle;
      const str = (x: unknown) => typeof x === "string" ? x : Buffer.from(x as Uint8Array).toString("latin1");
      for (const name of ["writeBuffer", "writeLatin1String", "writeUtf8String", "writeAsciiString"]) {
        const orig = h[name];
        if (typeof orig !== "function") continue;
        h[name] = function (this: unknown, req: unknown, data: unknown, ...rest: unknown[]) {
          writes.push({ who, data: str(data) });
          return orig.call(this, req, data, ...rest);
        };
      }
      const origv = h.writev;
      h.writev = function (this: unknown, req: unknown, chunks: unknown[], allBuffers: boolean) {
        const parts = allBuffers ? chunks : chunks.filter((_, i) => i % 2 === 0);
        writes.push({ who, data: parts.map(str).join("") });
        return origv.call(this, req, chunks, allBuffers);
      };
    };
    const turnEnd = () => new Promise<void>((res) => setImmediate(res));

    const a = await connect("a");
    const b = await connect("b");
    spy(a.client, "a");
    spy(b.client, "b");

    // Two clients' reads in one turn: nothing leaves until the turn ends, then both, in order.
    a.client.onData(Buffer.from("SET k 1\r\nGET k\r\n"));
    b.client.onData(Buffer.from("GET k\r\n"));
    expect(writes).toEqual([]);
    await turnEnd();
    expect(writes).toEqual([{ who: "a", data: "+OK\r\n$1\r\n1\r\n" }, { who: "b", data: "$1\r\n1\r\n" }]);
    await until("replies read", () => text("a") === "+OK\r\n$1\r\n1\r\n" && text("b") === "$1\r\n1\r\n");

    // A push to a client whose reply is held: the reply first (RESP3, so the subscriber may
    // still send PING).
    a.client.onData(Buffer.from("HELLO 3\r\nSUBSCRIBE ch\r\n"));
    await until("subscribed", () => text("a").includes("subscribe"));
    writes.length = 0;
    a.client.onData(Buffer.from("PING\r\n"));
    b.client.onData(Buffer.from("PUBLISH ch hi\r\n"));
    const pong = writes.findIndex((w) => w.who === "a" && w.data === "+PONG\r\n");
    const message = writes.findIndex((w) => w.who === "a" && /hi/.test(w.data));
    expect(pong).toBe(0);
    expect(message).toBe(1);
    await turnEnd();
    expect(writes.map((w) => w.who)).toEqual(["a", "a", "b"]);
    expect(writes[2].data).toBe(":1\r\n");

    // A second read of the same client in the turn, then QUIT: every reply, in order, before
    // the connection closes.
    const c = await connect("c");
    spy(c.client, "c");
    writes.length = 0;
    c.client.onData(Buffer.from("GET k\r\n"));
    c.client.onData(Buffer.from("ECHO x\r\nQUIT\r\n"));
    expect(writes.map((w) => w.data)).toEqual(["$1\r\n1\r\n", "$1\r\nx\r\n+OK\r\n"]);
    await new Promise<void>((res) => c.sock.once("close", () => res()));
    expect(text("c")).toBe("$1\r\n1\r\n$1\r\nx\r\n+OK\r\n");

    // A client killed in the turn after its reply was held: the reply is dropped, as Redis drops
    // a freed client's buffers; the killer's reply still leaves.
    const d = await connect("d");
    spy(d.client, "d");
    writes.length = 0;
    d.client.onData(Buffer.from("GET k\r\n"));
    b.client.onData(Buffer.from(`CLIENT KILL ID ${d.client.id}\r\n`));
    await turnEnd();
    expect(writes).toEqual([{ who: "b", data: ":1\r\n" }]);
    await new Promise<void>((res) => d.sock.once("close", () => res()));
    expect(text("d")).toBe("");
  });
});
