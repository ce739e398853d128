// A write's stream leaves for the replicas before the write's reply leaves for its client
// (src/server/turn-end-replies.ts, Replication.repliesWaitForStream), as Redis writes both in
// beforeSleep: a client that read the reply and then asks a replica must not beat the stream
// there (psync2.tcl's consistency checks). The master runs in this process so the order of its
// socket writes can be read; its replica is a real server process.
import { describe, it, expect, afterAll } from "vitest";
import net from "node:net";
import { Config } from "../../src/config/config.js";
import { Server } from "../../src/server/server.js";
import { replicationOf } from "../../src/repl/replication.js";
import { startServer, connectClient, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";
import { scratchDir } from "../helpers/scratch.js";

describe("reply after stream", { timeout: 60_000 }, () => {
  let master: Server | null = null;
  let replica: RunningServer | null = null;
  afterAll(async () => {
    await replica?.stop();
    await master?.close();
  });

  it("a write's reply reaches the socket after the replicas' stream of it, a read-only reply of the same turn too, and pushes to other clients after both", async () => {
    const config = new Config();
    for (const [name, value] of [["port", "0"], ["bind", "127.0.0.1"], ["save", ""], ["repl-diskless-sync-delay", "0"], ["loglevel", "warning"], ["notify-keyspace-events", "KA"],
      ["dir", scratchDir("reply-order")]]) expect(config.set(name, [value], true)).toBeNull();
    master = new Server(config);
    const port = await master.listen();
    replica = await startServer(["--replicaof", "127.0.0.1", String(port)]);
    const s = await connectClient(replica.port);
    await until("link up", async () => /master_link_status:up/.test(await s.info("replication")));

    const c = await new Promise<net.Socket>((res) => { const k = net.connect(port, "127.0.0.1", () => res(k)); });
    const replies: Buffer[] = [];
    c.on("data", (d) => replies.push(d));
    const ask = async (req: string, n: number) => {
      const before = replies.length;
      c.write(req);
      await until("reply", async () => Buffer.concat(replies.slice(before)).toString().split("\r\n").length > n);
    };
    // The replica takes the stream (the master has had its first REPLCONF ACK, which ends the
    // hold of a diskless sync's stream) before the writes are recorded.
    await ask("SET warm 1\r\n", 1);
    await until("the stream flowing", async () => (await s.get("warm")) === "1");
    s.disconnect();

    // Every write of the master's sockets to the kernel, in order: spied on at the socket's
    // handle, which both Node's stream and the direct reply path (src/server/direct-write.ts)
    // write through.
    const writes: { who: string; data: string }[] = [];
    const spy = (sock: net.Socket, who: string) => {
      const h = (sock as unknown as { _handle: Record<string, (...a: unknown[]) => number> })._handle;
      const text = (x: unknown) => Buffer.isBuffer(x) || x instanceof Uint8Array ? Buffer.from(x as Uint8Array).toString("latin1") : String(x);
      for (const name of ["writeBuffer", "writeLatin1String", "writeUtf8String", "writeAsciiString"]) {
        const orig = h[name];
        if (typeof orig !== "function") continue;
        h[name] = function (this: unknown, req: unknown, data: unknown, ...rest: unknown[]) {
          writes.push({ who, data: text(data) });
          return orig.call(this, req, data, ...rest);
        };
      }
      const origv = h.writev;
      h.writev = function (this: unknown, req: unknown, chunks: unknown[], allBuffers: boolean) {
        const parts = allBuffers ? chunks : chunks.filter((_, i) => i % 2 === 0);
        writes.push({ who, data: parts.map(text).join("") });
        return origv.call(this, req, chunks, allBuffers);
      };
    };
    const repl = replicationOf(master);
    expect(repl.replicas.size).toBe(1);
    for (const r of repl.replicas.keys()) spy(r.socket, "replica");
    const mine = [...master.clients.values()].find((k) => !repl.replicas.has(k) && k.socket.remotePort === c.localPort);
    expect(mine).toBeDefined();
    spy(mine!.socket, "client");

    // One read with a write and a read after it; then a read alone, in a turn with no stream.
    await ask("INCR x\r\nGET x\r\n", 2);
    await ask("GET x\r\n", 2);
    const stream = writes.findIndex((w) => w.who === "replica" && /incr/i.test(w.data));
    const reply = writes.findIndex((w) => w.who === "client" && w.data.startsWith(":1\r\n"));
    expect(stream).toBeGreaterThanOrEqual(0);
    expect(reply).toBeGreaterThan(stream);
    expect(writes[reply].data).toBe(":1\r\n$1\r\n1\r\n");
    expect(writes.filter((w) => w.who === "client").map((w) => w.data)).toEqual([":1\r\n$1\r\n1\r\n", "$1\r\n1\r\n"]);

    // Pushes to another client (a keyspace notification of the SET, the PUBLISH's message) go
    // after the stream and after the writer's reply, as redis-server 7.0.15 writes them.
    const sub = await new Promise<net.Socket>((res) => { const k = net.connect(port, "127.0.0.1", () => res(k)); });
    const pushed: Buffer[] = [];
    sub.on("data", (d) => pushed.push(d));
    sub.write("SUBSCRIBE ch __keyspace@0__:k\r\n");
    await until("subscribed", () => Buffer.concat(pushed).toString().split("subscribe").length > 2);
    const theirs = [...master.clients.values()].find((k) => k.socket.remotePort === sub.localPort);
    expect(theirs).toBeDefined();
    spy(theirs!.socket, "subscriber");
    writes.length = 0;
    await ask("SET k v\r\nPUBLISH ch hi\r\n", 2);
    await until("both pushes", () => /hi/.test(Buffer.concat(pushed).toString()));
    const at = (who: string, re: RegExp) => writes.findIndex((w) => w.who === who && re.test(w.data));
    const streamed = at("replica", /publish/i);
    expect(at("replica", /\bk\b/)).toBeGreaterThanOrEqual(0);
    expect(streamed).toBeGreaterThanOrEqual(0);
    expect(at("client", /^\+OK/)).toBeGreaterThan(streamed);
    expect(at("subscriber", /__keyspace@0__:k/)).toBeGreaterThan(at("client", /^\+OK/));
    expect(at("subscriber", /hi/)).toBeGreaterThan(at("client", /^\+OK/));
    sub.destroy();
    c.destroy();
  });
});
