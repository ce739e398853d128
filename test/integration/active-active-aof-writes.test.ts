// An active-active node's AOF writes the commands of a write and its `#CRDT` record in one
// write(2) also when the write comes from no client's read: a peer's batch applied, keys
// expired by the active expire cycle (src/server/reply-fence.ts, src/persistence/aof-crdt.ts).
// Written apart (each command at once, then the record), a kill between the two left the
// commands without their state: a restart then loaded the key with an older state than its
// value. The test counts the node's write system calls (/proc/PID/io syscw): one AOF write per
// applied batch or expire cycle, against one per key before (2 × 200 + 1 writes for 200 keys).
// The other writes counted are the replies to the test's own polls (counted and subtracted),
// the pipeline's replies and the node's bus messages (acks, anti-entropy rounds; the expiry case
// cuts the link first), well under one per key. One shard only: a 4-shard process also writes
// event-loop wake-ups (8-byte eventfd writes, ~15 per poll of the expiry case under strace), a
// count that moves with the machine's load; the AOF's code is the same in both modes.
import { describe, it, expect, afterAll, beforeAll } from "vitest";
import type Redis from "ioredis";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startServer, freePort, connectClient, SHARDS, type RunningServer } from "../helpers/server.js";

/** Write system calls the process made so far. */
function writeCalls(pid: number): number {
  return Number(/^syscw: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "latin1"))![1]);
}

function incrText(dir: string): string {
  const d = join(dir, "appendonlydir");
  return readdirSync(d).filter((f) => f.endsWith(".incr.aof")).map((f) => readFileSync(join(d, f), "latin1")).join("");
}

const N = 200;
/** The bound on the write calls a case may make: a quarter of one per key. */
const OTHER = N / 4;

describe.skipIf(!existsSync("/proc/self/io") || SHARDS !== 1)("active-active: a write from no client's read is one AOF write with its CRDT record (2 processes)", { timeout: 120_000 }, () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const bus: number[] = [];
  beforeAll(async () => {
    bus.push(await freePort(), await freePort());
    // A: appendonly yes, fsync always (a write per turn, as under everysec); B: no AOF.
    for (let i = 0; i < 2; i++) {
      const aof = i === 0 ? ["--appendonly", "yes", "--appendfsync", "always"] : [];
      servers[i] = await startServer(["--crdt-node-id", `w${i}`, "--crdt-bus-port", String(bus[i]), "--peer", `127.0.0.1:${bus[1 - i]}`, ...aof]);
      clients[i] = await connectClient(servers[i].port);
    }
    await clients[1].set("ready", "1");
    while ((await clients[0].get("ready")) !== "1") await new Promise((r) => setTimeout(r, 50));
  });
  afterAll(async () => {
    for (const c of clients) c?.disconnect();
    for (const s of servers) await s?.stop();
  });

  /** Polls A with check() until it holds; returns A's write calls meanwhile, less the polls' replies. */
  async function writesUntil(during: () => Promise<unknown>, check: () => Promise<boolean>): Promise<number> {
    const pid = servers[0].proc.pid!;
    const before = writeCalls(pid);
    await during();
    let polls = 0;
    for (;;) {
      polls++;
      if (await check()) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    return writeCalls(pid) - before - polls;
  }

  it(`a peer's batch of ${N} keys applied: its commands and its record in one write`, async () => {
    const [a, b] = clients;
    const args = Array.from({ length: N }, (_, i) => [`p:${i}`, `v${i}`]).flat();
    const writes = await writesUntil(() => b.mset(...args), async () => (await a.exists(`p:${N - 1}`, "p:0")) === 2);
    expect(writes).toBeLessThan(OTHER);
    // the record follows the batch's last command in the file
    const text = incrText(servers[0].dir);
    const last = text.lastIndexOf(`p:${N - 1}\r\n`);
    expect(last).toBeGreaterThan(0);
    expect(text.slice(last).split("\r\n").some((l) => l.startsWith("#CRDT"))).toBe(true);
  });

  it(`${N} keys expired by the active expire cycle: each cycle's deletions and their record in one write`, async () => {
    const [a, b] = clients;
    // (no bus traffic: A records the deletions for its AOF all the same)
    expect(await a.call("crdt.peer", "del", "127.0.0.1", String(bus[1]))).toBe(1);
    expect(await b.call("crdt.peer", "del", "127.0.0.1", String(bus[0]))).toBe(1);
    const before = await a.dbsize();
    const writes = await writesUntil(async () => {
      const pipe = a.pipeline();
      for (let i = 0; i < N; i++) pipe.set(`e:${i}`, "v", "PX", 200);
      await pipe.exec();
    }, async () => (await a.dbsize()) === before); // (DBSIZE counts expired keys until deleted)
    expect(writes).toBeLessThan(OTHER);
    // every key's deletion is in the file, and a record after the last of them
    const text = incrText(servers[0].dir);
    const lastDeletion = Math.max(...Array.from({ length: N }, (_, i) => text.lastIndexOf(`\r\ne:${i}\r\n`)));
    expect(text.slice(lastDeletion).split("\r\n").some((l) => l.startsWith("#CRDT"))).toBe(true);
  });

  // A write's record holds each key once: the key's first delta of the write is also the one its
  // later deltas are joined into for the peers (Replicator.emit), and went into the record beside
  // them, so an HSET of 10 fields wrote that key's entry and then nine one-field entries again.
  it("an HSET of 10 fields: its record holds the key once", async () => {
    const a = clients[0];
    await a.hset("h:ten", ...Array.from({ length: 10 }, (_, i) => [`f${i}`, `v${i}`]).flat());
    const text = incrText(servers[0].dir);
    const lines = text.slice(text.lastIndexOf("h:ten\r\n")).split("\r\n");
    const first = lines.findIndex((l) => l.startsWith("#CRDT"));
    expect(first).toBeGreaterThan(0);
    let b64 = "";
    for (let i = first; ; i++) {
      b64 += lines[i].slice(6);
      if (lines[i].startsWith("#CRDT:") || lines[i].startsWith("#CRDT>")) break;
    }
    const piece = Buffer.from(b64, "base64");
    expect(piece[0]).toBe(3); // (RECORD: format, node table, then per key its name, tag and state)
    expect(piece.toString("latin1").split("0:h:ten").length - 1).toBe(1);
    expect(await a.hlen("h:ten")).toBe(10);
  });
});
