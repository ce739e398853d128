// Tombstone garbage collection between real server processes: after a delete-heavy workload
// the tombstone count (INFO crdt) falls back to zero on every node, and a node frozen with
// SIGSTOP while others delete holds collection back — when it resumes, what was deleted stays
// deleted; a node that is gone for good holds it back until CRDT.PEER FORGET.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated, infoNumber } from "../helpers/crdt-wait.js";
import { restartableTrio } from "../helpers/crdt-trio.js";

async function infoField(r: Redis, name: string): Promise<number> {
  const m = new RegExp(`^${name}:(-?\\d+)`, "m").exec(await r.info("crdt"));
  return m ? Number(m[1]) : NaN;
}

describe("active-active tombstone GC (3 processes)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const bus: number[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) bus.push(await freePort());
    for (let i = 0; i < 3; i++) {
      const peers = bus.filter((_, j) => j !== i).flatMap((p) => ["--peer", `127.0.0.1:${p}`]);
      servers.push(await startServer(["--crdt-node-id", `g${i}`, "--crdt-bus-port", String(bus[i]), "--crdt-gc-grace-ms", "300", ...peers]));
    }
    for (const s of servers) clients.push(await connectClient(s.port));
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) { try { process.kill(s.proc.pid!, "SIGCONT"); } catch { /* gone */ } await s.stop(); }
  });

  // Bounded by the replication's progress (anti-entropy rounds without any change), not by
  // a wall-clock window: on a loaded machine stability and the grace period take longer.
  const everywhere = (what: string, check: (r: Redis) => Promise<boolean>) =>
    untilReplicated(what, clients, async () => (await Promise.all(clients.map(check))).every(Boolean));

  it("after a delete-heavy workload every node's tombstone count falls back to zero", async () => {
    for (let i = 0; i < 100; i++) {
      const r = clients[i % 3];
      await r.set(`key:${i}`, "v");
      await r.sadd("members", `m${i}`);
    }
    await everywhere("written", async (r) => (await r.scard("members")) === 100 && (await r.dbsize()) === 101);
    for (let i = 0; i < 100; i++) {
      const r = clients[(i + 1) % 3];
      await r.del(`key:${i}`);
      if (i % 10) await r.srem("members", `m${i}`);
    }
    await everywhere("deleted", async (r) => (await r.dbsize()) === 1 && (await r.scard("members")) === 10);
    await everywhere("tombstones collected", async (r) =>
      (await infoField(r, "crdt_tombstones")) === 0 && (await infoField(r, "crdt_keys")) === 1);
    for (const r of clients) expect(await infoField(r, "crdt_gc_keys_dropped")).toBeGreaterThan(0);
    // the key left holds nothing to collect: kept packed (store.ts PackedState) on every node; a
    // write unpacks it where it lands and where it is merged, and it is packed again once stable
    await everywhere("the stable key packed", async (r) => (await infoField(r, "crdt_packed_keys")) === 1);
    const unpacked = await Promise.all(clients.map((r) => infoField(r, "crdt_keys_unpacked")));
    await clients[1].sadd("members", "late");
    await everywhere("the write replicated and packed again", async (r) =>
      (await r.sismember("members", "late")) === 1 && (await infoField(r, "crdt_packed_keys")) === 1);
    for (const [i, r] of clients.entries()) expect(await infoField(r, "crdt_keys_unpacked")).toBeGreaterThan(unpacked[i]);
  }, 300_000);

  it("a node frozen by SIGSTOP holds GC back, and after SIGCONT what was deleted stays deleted", async () => {
    await clients[0].sadd("frozen", "a", "b");
    await clients[0].set("doomed", "1");
    await everywhere("seeded", async (r) => (await r.scard("frozen")) === 2 && (await r.get("doomed")) === "1");
    const pid = servers[2].proc.pid!;
    process.kill(pid, "SIGSTOP");
    try {
      await clients[1].srem("frozen", "a");
      await clients[1].del("doomed");
      await new Promise((r) => setTimeout(r, 3000)); // several anti-entropy rounds and grace periods
      expect(await infoField(clients[0], "crdt_tombstones")).toBe(2);
      expect(await infoField(clients[1], "crdt_tombstones")).toBe(2);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await everywhere("removal reached the frozen node", async (r) =>
      (await r.smembers("frozen")).join() === "b" && (await r.exists("doomed")) === 0);
    await everywhere("tombstones collected", async (r) => (await infoField(r, "crdt_tombstones")) === 0);
    for (const r of clients) {
      expect(await r.smembers("frozen")).toEqual(["b"]);
      expect(await r.exists("doomed")).toBe(0);
    }
  }, 300_000);

  it("a peer that is gone holds GC back even after CRDT.PEER DEL, until CRDT.PEER FORGET", async () => {
    await clients[0].set("last", "1");
    await everywhere("last", async (r) => (await r.get("last")) === "1");
    const gone = servers.pop()!;
    clients.pop()!.disconnect();
    const exited = new Promise((r) => gone.proc.once("exit", r));
    gone.proc.kill("SIGKILL");
    await exited;
    for (const r of clients) expect(await r.call("crdt.peer", "del", "127.0.0.1", String(bus[2]))).toBe(1);
    await clients[0].del("last");
    await new Promise((r) => setTimeout(r, 3000));
    for (const r of clients) expect(await infoField(r, "crdt_tombstones")).toBe(1);
    for (const r of clients) expect(await r.call("crdt.peer", "forget", "127.0.0.1", String(bus[2]))).toBe(1);
    await everywhere("collected without the forgotten peer", async (r) => (await infoField(r, "crdt_tombstones")) === 0);
    expect(await clients[1].call("crdt.peer", "forget", "127.0.0.1", String(bus[2]))).toBe(0);
  }, 300_000);
});

// Each restart of a node gives it a new incarnation id; the old one, once final everywhere,
// was kept for good as an entry of its own in every node's stability vectors (INFO crdt's
// crdt_gc_stable listed one `=departed` per restart) and in `applied`. One watermark per node
// name stands for them now (src/replication/final-incarnations.ts).
describe("active-active: a node restarted three times leaves one departed entry per name (3 processes)", () => {
  const trio = restartableTrio("w", "gc-restarts", ["--crdt-gc-grace-ms", "300"]);
  const { clients, everywhere } = trio;
  const departedOf = async (r: Redis, name: string) =>
    (/^crdt_gc_stable:(.*)$/m.exec(await r.info("crdt"))?.[1] ?? "").split(",").filter((e) => e.startsWith(`${name}~`) && e.endsWith("=departed")).length;

  it("INFO crdt: one departed entry for the restarted node, and a bounded count of per-incarnation entries", async () => {
    for (let round = 0; round < 3; round++) {
      await clients[2].set(`c${round}`, "v");
      await clients[2].sadd("s", `m${round}`, `keep${round}`);
      await everywhere(`round ${round} written`, async (r) => (await r.scard("s")) === round + 2);
      await clients[0].srem("s", `m${round}`);
      await everywhere(`round ${round} removed`, async (r) => (await r.scard("s")) === round + 1);
      await trio.restartC(); // (empty: --save "", no AOF)
      await everywhere(`restart ${round + 1} caught up`, async (r) => (await r.scard("s")) === round + 1 && (await r.exists(`c${round}`)) === 1);
    }
    // every node: the old incarnations of w2 final (one watermark), nothing else left per restart
    await everywhere("old incarnations final", async (r) => {
      const info = await r.info("crdt");
      return (await departedOf(r, "w2")) === 1 && infoNumber(info, "crdt_tombstones") === 0 && infoNumber(info, "crdt_incarnation_entries") <= 10;
    });
    for (const r of clients) {
      expect(await departedOf(r, "w2")).toBe(1);
      expect(infoNumber(await r.info("crdt"), "crdt_incarnation_entries")).toBeLessThanOrEqual(10);
      expect((await r.smembers("s")).sort()).toEqual(["keep0", "keep1", "keep2"]);
    }
  }, 300_000);
});
