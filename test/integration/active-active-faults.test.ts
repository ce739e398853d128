// Replication fault points (src/replication/faults.ts) in real processes: three nodes whose
// gossip drops, duplicates and delays messages and resets peer links, and whose clocks jump
// ahead (LATTICEKV_BUGGIFY)
// still converge on every write made concurrently on all of them — counters count every
// increment once, sets and strings agree.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated } from "../helpers/crdt-wait.js";

const FAULTS = "crdt-drop-message=0.2,crdt-dup-message=0.1,crdt-delay-message=0.2,crdt-link-reset=0.02,crdt-hlc-skew=0.05";

describe("active-active under replication faults (3 processes, buggify)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const bus: number[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) bus.push(await freePort());
    for (let i = 0; i < 3; i++) {
      const peers = bus.filter((_, j) => j !== i).flatMap((p) => ["--peer", `127.0.0.1:${p}`]);
      servers.push(await startServer(["--crdt-node-id", `f${i}`, "--crdt-bus-port", String(bus[i]), ...peers],
        { LATTICEKV_BUGGIFY: `${40 + i}:${FAULTS}` }));
    }
    for (const s of servers) clients.push(await connectClient(s.port));
  }, 120_000); // (three servers started one after another: over 30 s at load ~50)

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
  }, 120_000);

  it("concurrent writes on every node converge despite lost, duplicated and delayed messages and link resets", async () => {
    await Promise.all(clients.map(async (r, i) => {
      for (let k = 0; k < 40; k++) {
        await r.incr("hits");
        await r.sadd("members", `n${i}-${k}`);
        if (k % 4 === 0) await r.srem("members", `n${i}-${k}`);
        await r.set(`key:${i}:${k % 5}`, String(k));
        await r.hincrby("h", `f${k % 3}`, 1);
      }
    }));
    const snapshot = async (r: Redis) => JSON.stringify([
      await r.get("hits"), (await r.smembers("members")).sort(), await r.hgetall("h"),
      await r.mget(...[0, 1, 2].flatMap((i) => [0, 1, 2, 3, 4].map((k) => `key:${i}:${k}`))),
    ]);
    // (bounded by the replication's progress, not a wall-clock window: under load the
    // resends and anti-entropy rounds that repair the faults are slower, not fewer)
    const all = async () => JSON.stringify(await Promise.all(clients.map(snapshot)));
    await untilReplicated("every node agrees", clients, async () => {
      const snaps = await Promise.all(clients.map(snapshot));
      return snaps.every((s) => s === snaps[0]) && JSON.parse(snaps[0])[0] === "120";
    }, { snapshot: all, stallRounds: 30 });
    expect(await clients[0].scard("members")).toBe(90);
    expect(await clients[1].hgetall("h")).toEqual({ f0: "42", f1: "39", f2: "39" });
    // the fault points did fire: links were reset, messages resent or dropped as duplicates
    const info = await Promise.all(clients.map((r) => r.info("crdt")));
    const field = (s: string, f: string) => Number(new RegExp(`^${f}:(\\d+)`, "m").exec(s)![1]);
    expect(info.reduce((n, s) => n + field(s, "crdt_deltas_resent") + field(s, "crdt_duplicates"), 0)).toBeGreaterThan(0);
  }, 600_000);
});
