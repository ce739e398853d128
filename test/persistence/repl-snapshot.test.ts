// Persistence.snapshotForReplica: the copy-on-write snapshot of BGSAVE handed to a stream
// (a replica's socket) instead of a file: the bytes are the RDB of the instant it started,
// whatever is written meanwhile, and it shares the single background-job slot.
import { describe, it, expect } from "vitest";
import type { Socket } from "node:net";

process.env.LATTICEKV_SHARDS = "2";
const { Config } = await import("../../src/config/config.js");
const { Server } = await import("../../src/server/server.js");
const { Client } = await import("../../src/server/client.js");
const { persistenceOf } = await import("../../src/persistence/persistence.js");
const { parseRdb } = await import("../../src/persistence/rdb-file.js");

function setup() {
  const server = new Server(new Config());
  const client = new Client(server, {} as Socket);
  const run = (...args: string[]) => {
    server.execCommand(client, args.map((a) => Buffer.from(a)));
    return client.reply.take().toString("latin1");
  };
  return { server, run };
}

function contents(rdb: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  for (const k of parseRdb(rdb, { checksum: true, databases: 16 }).keys) {
    const v = k.value;
    out.set(k.key.toString(), v.type === "string" ? Buffer.from(v.value).toString()
      : v.type === "list" ? v.items.map((i) => Buffer.from(i).toString()).join(",") : v.type);
  }
  return out;
}

describe("snapshotForReplica", () => {
  it("streams the RDB of the instant it started while writes go on, and holds the background slot until done", async () => {
    const { server, run } = setup();
    const p = persistenceOf(server);
    for (let i = 0; i < 2000; i++) run("SET", `k${i}`, `v${i}`);
    run("RPUSH", "list", "a", "b");
    const chunks: Buffer[] = [];
    // A slow consumer: every chunk waits a tick, as a socket waiting for drain would.
    const job = p.snapshotForReplica(async (c) => { chunks.push(Buffer.from(c)); await new Promise((r) => setImmediate(r)); });
    expect(job).not.toBeNull();
    expect(p.bgsaveInProgress).toBe(true);
    expect(p.snapshotForReplica(async () => {})).toBeNull();
    expect(p.bgsave()).toBe("Background save already in progress");
    run("SET", "k1", "changed");
    run("DEL", "k2");
    run("RPUSH", "list", "c");
    run("SET", "new", "x");
    expect(await job!.done).toBe(2001);
    expect(p.bgsaveInProgress).toBe(false);
    const got = contents(Buffer.concat(chunks));
    expect(got.size).toBe(2001);
    expect(got.get("k1")).toBe("v1");
    expect(got.has("k2")).toBe(true);
    expect(got.has("new")).toBe(false);
    expect(got.get("list")).toBe("a,b");
  });

  it("FLUSHALL aborts it: done resolves -1 and the slot is free again", async () => {
    const { server, run } = setup();
    const p = persistenceOf(server);
    for (let i = 0; i < 500; i++) run("SET", `k${i}`, "v");
    const job = p.snapshotForReplica(() => new Promise((r) => setTimeout(r, 5)))!;
    run("FLUSHALL");
    expect(await job.done).toBe(-1);
    expect(p.bgsaveInProgress).toBe(false);
    expect(p.snapshotForReplica(async () => {})).not.toBeNull();
  });
});
