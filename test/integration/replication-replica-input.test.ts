// What a connection sends once SYNC/PSYNC made it a replica (src/repl/replica-input.ts), as
// Redis's replication.tcl "replica do not write the reply to the replication link" tests:
// a command that would reply is logged and the link dropped, with no reply written, also
// when it was pipelined after SYNC/PSYNC in the same read.
import { describe, it, expect, afterAll } from "vitest";
import { serverGroup, rawExchange, connectSocket } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

describe("a replica's input on the master", { timeout: 60_000 }, () => {
  const servers = serverGroup(["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]);
  afterAll(() => servers.stopAll());

  it("SYNC and PING in one read: the PING is the replica's, refused and logged, and the link drops", async () => {
    const { srv, r } = await servers.start();
    await r.set("k", "v");
    const { text, closed } = await rawExchange(srv.port, "SYNC\r\nPING\r\n", { timeoutMs: 10_000 });
    expect(closed).toBe(true);
    expect(text).not.toContain("+PONG");
    await until("the log line", () => srv.output().includes("Replica generated a reply to command 'ping', disconnecting it: "));
    expect(await r.ping()).toBe("PONG");
  });

  it("PSYNC and GET in one read: the GET may not touch the keyspace, and is refused", async () => {
    const { srv, r } = await servers.start();
    await r.set("k", "v");
    const { text, closed } = await rawExchange(srv.port, "PSYNC ? -1\r\nGET k\r\n", { timeoutMs: 10_000 });
    expect(closed).toBe(true);
    expect(text).not.toContain("$1\r\nv\r\n");
    await until("the log lines", () => srv.output().includes("Replica generated a reply to command 'get', disconnecting it: "));
    expect(srv.output()).toContain("== CRITICAL == This master is sending an error to its replica: 'Replica can't interact with the keyspace' after processing the command 'get'");
  });

  it("newlines and REPLCONF ACK pipelined after PSYNC keep the link", async () => {
    const { srv } = await servers.start();
    const sock = await connectSocket(srv.port);
    let text = "";
    let closed = false;
    sock.on("data", (d) => { text += d.toString("latin1"); });
    sock.on("close", () => { closed = true; });
    sock.write("PSYNC ? -1\r\n\n\nREPLCONF ACK 0\r\n");
    await until("+FULLRESYNC", () => text.startsWith("+FULLRESYNC "), 20_000);
    await new Promise((res) => setTimeout(res, 1000));
    expect(closed).toBe(false);
    expect(srv.output()).not.toContain("Replica generated a reply");
    sock.destroy();
  });
});
