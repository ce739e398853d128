// Server.execCommand: running a command on a client's behalf (EXEC, Lua's redis.call) from
// inside the host, with the reply left in the client's ReplyWriter. Four shards, so kernel
// commands whose keys live in shards other than the client's home shard are covered.
import { describe, it, expect, beforeAll } from "vitest";
import type { Socket } from "node:net";

process.env.LATTICEKV_SHARDS = "4";
const { Config } = await import("../../src/config/config.js");
const { Server } = await import("../../src/server/server.js");
const { Client } = await import("../../src/server/client.js");

type ServerT = InstanceType<typeof Server>;
type ClientT = InstanceType<typeof Client>;

function run(server: ServerT, client: ClientT, ...args: string[]): string {
  server.execCommand(client, args.map((a) => Buffer.from(a)));
  return client.reply.take().toString("latin1");
}

describe("Server.execCommand", () => {
  let server: ServerT;
  let client: ClientT;
  beforeAll(() => {
    server = new Server(new Config());
    client = new Client(server, {} as Socket);
  });

  it("runs kernel commands on the shard owning each key and leaves the reply in client.reply", () => {
    expect(server.shards.length).toBe(4);
    const keys = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const owners = new Set(keys.map((k) => server.router.shardOf(Buffer.from(k)).index));
    expect(owners.size).toBeGreaterThan(1);
    for (const k of keys) expect(run(server, client, "SET", k, `v-${k}`)).toBe("+OK\r\n");
    for (const k of keys) expect(run(server, client, "get", k)).toBe(`$${2 + k.length}\r\nv-${k}\r\n`);
    expect(run(server, client, "MGET", "a", "h", "nokey")).toBe("*3\r\n$3\r\nv-a\r\n$3\r\nv-h\r\n$-1\r\n");
    expect(run(server, client, "DBSIZE")).toBe(":8\r\n");
  });

  it("runs host commands", () => {
    expect(run(server, client, "ECHO", "hi")).toBe("$2\r\nhi\r\n");
  });

  it("replies unknown commands and wrong arity as Redis does", () => {
    expect(run(server, client, "NOSUCH", "x")).toBe("-ERR unknown command 'NOSUCH', with args beginning with: 'x' \r\n");
    expect(run(server, client, "GET")).toBe("-ERR wrong number of arguments for 'get' command\r\n");
    expect(run(server, client, "CONFIG", "NOPE")).toBe("-ERR unknown subcommand 'NOPE'. Try CONFIG HELP.\r\n");
  });
});
