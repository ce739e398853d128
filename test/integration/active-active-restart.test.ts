// A node restarted from its own RDB file (not empty). Replication starts when the server
// listens, before the file is loaded; the loaded keys are not recorded as the node's writes
// (README: "A node restarted from its RDB or AOF"), so what its peers hold wins: a key they
// deleted while it was down is deleted on it too — it must not bring back what the others
// deleted meanwhile (the KeyDB failure mode issue #7 rules out).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated } from "../helpers/crdt-wait.js";

describe("active-active: a node restarted from its RDB (3 processes)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const dirC = mkdtempSync(join(tmpdir(), "lkv-aa-restart-"));
  const bus: number[] = [];
  let portC = 0;
  const args = (i: number) => ["--crdt-node-id", `r${i}`, "--crdt-bus-port", String(bus[i]),
    ...bus.filter((_, j) => j !== i).flatMap((p) => ["--peer", `127.0.0.1:${p}`])];

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) bus.push(await freePort());
    portC = await freePort();
    for (let i = 0; i < 2; i++) servers.push(await startServer(args(i)));
    servers.push(await startServer(args(2), {}, { port: portC, dir: dirC }));
    for (const s of servers) clients.push(await connectClient(s.port));
  });

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
    rmSync(dirC, { recursive: true, force: true });
  });

  const everywhere = (what: string, check: (r: Redis) => Promise<boolean>) =>
    untilReplicated(what, clients, async () => (await Promise.all(clients.map(check))).every(Boolean));

  /** C saves its RDB and stops; `meanwhile` runs; C starts again from the file (extra: more flags). */
  async function restartC(meanwhile: () => Promise<void>, extra: string[] = []): Promise<void> {
    expect(await clients[2].save()).toBe("OK");
    clients[2].disconnect();
    await servers[2].stop();
    await meanwhile();
    servers[2] = await startServer([...args(2), ...extra], {}, { port: portC, dir: dirC });
    clients[2] = await connectClient(portC);
  }

  it("keeps what was deleted while it was down deleted", async () => {
    const [a, b] = clients;
    await a.set("doomed", "1");
    await a.set("kept", "1");
    await a.sadd("s", "gone", "stays");
    await everywhere("written", async (r) => (await r.get("doomed")) === "1" && (await r.get("kept")) === "1" && (await r.scard("s")) === 2);
    await restartC(async () => {
      await a.del("doomed");
      await a.srem("s", "gone");
      await b.set("written-while-down", "1");
      await untilReplicated("deleted on A and B", [a, b], async () =>
        (await b.exists("doomed")) === 0 && (await b.scard("s")) === 1 && (await a.get("written-while-down")) === "1");
    });
    expect(await clients[2].info("persistence")).toMatch(/rdb_last_load_keys_loaded:3\r?\n/); // (doomed, kept and s, gone included)
    // Caught up: C holds what B wrote while it was down, and the three nodes hold the same
    // keys and members — whichever way the deletions went.
    const same = async () => {
      const views = await Promise.all(clients.map(async (r) => JSON.stringify([(await r.keys("*")).sort(), (await r.smembers("s")).sort()])));
      return views.every((v) => v === views[0]);
    };
    await everywhere("C caught up and the nodes agree", async (r) => (await r.get("written-while-down")) === "1" && (await same()));
    for (const r of clients) {
      expect(await r.get("kept")).toBe("1");
      expect(await r.exists("doomed")).toBe(0);
      expect((await r.smembers("s")).sort()).toEqual(["stays"]);
    }
  }, 300_000);

  // The load goes on between event-loop turns (-LOADING to clients meanwhile). A peer's state
  // applied in between was overwritten by the file's older value, while the CRDT state kept the
  // newer one: the node showed the old value for good (its digests equalled its peers', so
  // anti-entropy found nothing to repair).
  it("applies what peers send while it loads its file once the file is loaded", async () => {
    const [a, b] = clients;
    const pipe = a.pipeline();
    for (let i = 0; i < 100; i++) pipe.set(`filler:${i}`, "x");
    for (let i = 0; i < 100; i++) pipe.set(`v:${i}`, "old");
    await pipe.exec();
    await everywhere("written", async (r) => (await r.get("v:99")) === "old" && (await r.get("filler:99")) === "x");
    // (key-load-delay: 1 ms or more per key, so the load spans 0.2 s or more of turns while the
    // peers' anti-entropy answers come in; the start-up bound is 15 s, with the load)
    await restartC(async () => {
      const p = a.pipeline();
      for (let i = 0; i < 100; i++) p.set(`v:${i}`, "new");
      await p.exec();
      await untilReplicated("new on B", [a, b], async () => (await b.get("v:99")) === "new");
    }, ["--key-load-delay", "1000"]);
    await b.set("after-restart", "1");
    await everywhere("C caught up", async (r) => (await r.get("after-restart")) === "1");
    const values = await clients[2].mget(...Array.from({ length: 100 }, (_, i) => `v:${i}`));
    expect(values.filter((v) => v !== "new")).toEqual([]);
  }, 300_000);
});
