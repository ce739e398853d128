// PFCOUNT writes the cardinality it computed into the value's header, so, as in Redis, it
// is propagated the first time (a replica's bytes stay equal) and not when the cache is valid.
import { describe, it, expect } from "vitest";
import type { Socket } from "node:net";
import { Config } from "../../src/config/config.js";
import { Server } from "../../src/server/server.js";
import { Client } from "../../src/server/client.js";

describe("HyperLogLog effects", () => {
  it("PFADD and a PFCOUNT that refreshes the cache are effects; a cached PFCOUNT is not", () => {
    const server = new Server(new Config());
    const client = new Client(server, {} as Socket);
    const seen: string[] = [];
    server.effects.subscribe({ onEffect: (e) => seen.push(e.argv.map((a) => a.toString("latin1")).join(" ").toLowerCase()) });
    const run = (...args: string[]) => {
      server.execCommand(client, args.map((a) => Buffer.from(a)));
      return client.reply.take().toString("latin1");
    };
    run("pfadd", "h", "a", "b");
    expect(run("pfcount", "h")).toBe(":2\r\n");
    expect(run("pfcount", "h")).toBe(":2\r\n");
    expect(seen).toEqual(["pfadd h a b", "pfcount h"]);
  });
});
