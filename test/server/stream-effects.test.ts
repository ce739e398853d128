// Stream writes reach the effect bus as Redis propagates them: XADD with the ID it generated,
// "~" trims rewritten as exact ones, group reads as XCLAIM ... FORCE JUSTID LASTID, and
// NOACK reads as XGROUP SETID. Reads propagate nothing.
import { describe, it, expect, beforeEach } from "vitest";
import type { Socket } from "node:net";
import { Config } from "../../src/config/config.js";
import { Server } from "../../src/server/server.js";
import { Client } from "../../src/server/client.js";

describe("stream effects", () => {
  let server: Server;
  let client: Client;
  let seen: string[];
  const run = (...args: string[]) => {
    server.execCommand(client, args.map((a) => Buffer.from(a)));
    return client.reply.take().toString("latin1");
  };

  beforeEach(() => {
    server = new Server(new Config());
    client = new Client(server, {} as Socket);
    seen = [];
    server.effects.subscribe({ onEffect: (e) => seen.push(e.argv.map((a) => a.toString("latin1")).join(" ")) });
  });

  it("XADD * is propagated with the generated ID", () => {
    const reply = run("xadd", "s", "*", "f", "v");
    const id = reply.split("\r\n")[1];
    expect(seen).toEqual([`xadd s ${id} f v`]);
  });

  it("XADD 5-* is propagated with the sequence it chose", () => {
    run("xadd", "s", "5-1", "f", "v");
    run("xadd", "s", "5-*", "f", "v");
    expect(seen[1]).toBe("xadd s 5-2 f v");
  });

  it("an approximate MAXLEN trim is propagated as the exact length it left", () => {
    run("config", "set", "stream-node-max-entries", "10");
    for (let i = 1; i <= 30; i++) run("xadd", "s", `${i}-0`, "f", "v");
    seen = [];
    run("xadd", "s", "MAXLEN", "~", "15", "31-0", "f", "v");
    expect(seen).toEqual(["xadd s MAXLEN = 21 31-0 f v"]);
  });

  it("XREADGROUP propagates one XCLAIM per delivered entry; XRANGE propagates nothing", () => {
    run("xadd", "s", "1-0", "f", "v");
    run("xgroup", "create", "s", "g", "0");
    seen = [];
    run("xrange", "s", "-", "+");
    run("xreadgroup", "group", "g", "alice", "streams", "s", ">");
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatch(/^XCLAIM s g alice 0 1-0 TIME \d+ RETRYCOUNT 1 FORCE JUSTID LASTID 1-0$/);
  });

  it("XREADGROUP NOACK propagates the consumer's creation and the group's new last ID", () => {
    run("xadd", "s", "1-0", "f", "v");
    run("xgroup", "create", "s", "g", "0");
    seen = [];
    run("xreadgroup", "group", "g", "bob", "noack", "streams", "s", ">");
    expect(seen).toEqual(["XGROUP CREATECONSUMER s g bob", "XGROUP SETID s g 1-0 ENTRIESREAD 1"]);
  });
});
