// Every node of a group restarted from its RDB at once (issue #7: "never the KeyDB failure mode
// where a deleted key comes back"). No node keeps any state in memory across that, so what a
// node's file holds must say, by itself, what the node knew: its keys' CRDT state (writes'
// stamps, removals' tombstones, counters' per-node totals) is saved with the keys
// (src/replication/saved-state.ts). Before, each restarted node sent the others the keys they
// lacked (src/replication/loaded-keys.ts: no peer had collected anything, so nothing looked
// stale): a key one node deleted came back from the file of a node that had not seen the
// delete, and a counter incremented on both nodes came back as one node's value.
//
// Two real processes, each with its own dir. The nodes stop exchanging (CRDT.PEER DEL both
// ways: a cut-off link, which also keeps tombstones from being collected), write concurrently,
// save (A by SAVE, B by BGSAVE, the fork-less snapshot), and both stop. Both start again from
// their files with their peer configured; then the whole group restarts once more, saving by
// SHUTDOWN SAVE (the state joined at the first restart is in those files).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated, infoNumber } from "../helpers/crdt-wait.js";
import { groupOfTwo, bothShowExpected, untilTombstonesCollected, writeThenCutOff, concurrentWrites, view, EXPECTED } from "../helpers/group-restart.js";

describe("active-active: the whole group restarted from its RDB files (2 processes)", () => {
  const { servers, clients, ports, bus, start } = groupOfTwo("gr");

  it("a key deleted on one node stays deleted, a concurrent write survives, counts from both nodes add up", async () => {
    const [a, b] = clients;
    await writeThenCutOff(clients, bus);
    // B deletes x (A still holds it) and w; A writes w concurrently; both count and add members
    await b.del("x", "w");
    await a.set("w", "new");
    await concurrentWrites(clients);

    expect(await a.save()).toBe("OK");
    expect(await b.bgsave()).toBe("Background saving started");
    await untilReplicated("B's BGSAVE done", [b], async () => /rdb_bgsave_in_progress:0/.test(await b.info("persistence")));
    expect(await b.info("persistence")).toMatch(/rdb_last_bgsave_status:ok/);
    for (let i = 0; i < 2; i++) { clients[i].disconnect(); await servers[i].stop(); }

    // both back from their files, each with the other as its peer
    for (let i = 0; i < 2; i++) await start(i);
    for (const r of clients) expect(infoNumber(await r.info("crdt"), "crdt_loaded_states")).toBeGreaterThan(0);
    await bothShowExpected(clients, "the group to converge after its restart");

    // and once more, every node saving on SHUTDOWN: what the first restart joined is in these files
    for (let i = 0; i < 2; i++) {
      clients[i].disconnect();
      const c = await connectClient(ports[i], { retryStrategy: () => null });
      await c.call("shutdown", "save").catch(() => {}); // (the connection closes)
      c.disconnect();
      await servers[i].stop();
    }
    for (let i = 0; i < 2; i++) await start(i);
    await bothShowExpected(clients, "the group to converge after its second restart");
    // x's tombstone came back from B's files and is collected again (the incarnations it names departed)
    await untilTombstonesCollected(clients);
    for (const r of clients) expect(await view(r)).toBe(EXPECTED);
  }, 300_000);
});

// A client's write of a key on a restarted node before the node has decided about its file (it
// waits for every peer's state: here B is stopped by SIGSTOP) is recorded against the key's
// file state (Replicator.adoptWaiting). Before, a DEL found no state and recorded nothing:
// the file state, joined once B answered, brought x back on A, and B's copy of A's old write
// was never removed.
describe("active-active: a DEL on a restarted node before its peers answered (2 processes)", () => {
  const { servers, clients, start } = groupOfTwo("dw");

  it("removes the key everywhere, the writes its file had seen included", async () => {
    const [a, b] = clients;
    await a.set("x", "old");
    await a.sadd("s", "m");
    await untilReplicated("B to hold x and s", clients, async () => (await b.get("x")) === "old" && (await b.sismember("s", "m")) === 1);
    expect(await a.save()).toBe("OK");
    a.disconnect();
    await servers[0].stop();
    const bPid = servers[1].proc.pid!;
    process.kill(bPid, "SIGSTOP");
    try {
      await start(0);
      const a2 = clients[0];
      expect(infoNumber(await a2.info("crdt"), "crdt_loaded_states")).toBe(2);
      expect(await a2.del("x")).toBe(1);
      expect(await a2.srem("s", "m")).toBe(1);
    } finally { process.kill(bPid, "SIGCONT"); }
    const gone = async () => (await Promise.all(clients.flatMap((r) => [r.exists("x", "s")]))).every((n) => n === 0);
    await untilReplicated("x and s gone from both nodes", clients, gone);
    // and still after A's decision (its file states joined) and two more rounds of each
    await untilReplicated("A's decision", clients, async () => infoNumber(await clients[0].info("crdt"), "crdt_loaded_keys_pending") === 0);
    const rounds = await Promise.all(clients.map(async (r) => infoNumber(await r.info("crdt"), "crdt_anti_entropy_rounds")));
    await untilReplicated("two more rounds of each node", clients, async () =>
      (await Promise.all(clients.map(async (r, i) => infoNumber(await r.info("crdt"), "crdt_anti_entropy_rounds") >= rounds[i] + 2))).every(Boolean));
    for (const r of clients) expect(await r.exists("x", "s")).toBe(0);
  }, 120_000);
});

// The state in a BGSAVE's file is the one of the moment the BGSAVE started, as its keys are
// (the store keeps a copy of what changes until it is encoded, after the keys), and states a
// restarted node has not joined yet (it waits for its peers' states: here it has none) are
// carried into its next file, and removed by a FLUSHALL.
describe("active-active: the CRDT state in an RDB (1 process, no peers)", () => {
  const dir = mkdtempSync(join(tmpdir(), "lkv-aa-solo-"));
  let port = 0;
  let server: RunningServer;
  let r: Redis;
  const start = async () => {
    server = await startServer(["--crdt-node-id", "solo"], {}, { port, dir });
    r = await connectClient(port);
  };
  beforeAll(async () => { port = await freePort(); await start(); });
  afterAll(async () => {
    r.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const restart = async () => { r.disconnect(); await server.stop(); await start(); };

  it("a BGSAVE holds the states of its start; states not yet joined go into the next file", async () => {
    for (let i = 0; i < 10; i++) await r.set(`k${i}`, "v");
    // 0.2 s per key: the writes below land while the keys are being written
    await r.config("SET", "rdb-key-save-delay", "200000");
    expect(await r.bgsave()).toBe("Background saving started");
    await r.del("k0");
    await r.set("k10", "v");
    expect(await r.info("persistence")).toMatch(/rdb_bgsave_in_progress:1/);
    await untilReplicated("the BGSAVE done", [r], async () => /rdb_bgsave_in_progress:0/.test(await r.info("persistence")));
    expect(await r.info("persistence")).toMatch(/rdb_last_bgsave_status:ok/);
    await restart();
    expect(await r.dbsize()).toBe(10);
    expect(await r.exists("k0", "k10")).toBe(1);
    expect(infoNumber(await r.info("crdt"), "crdt_loaded_states")).toBe(10);
    // no peer has answered (there is none): the states wait, and a SAVE keeps them
    expect(await r.save()).toBe("OK");
    await restart();
    expect(infoNumber(await r.info("crdt"), "crdt_loaded_states")).toBe(10);
    // a FLUSHALL meanwhile removes what the file's states hold too (joined later, they would
    // bring the keys back): a tombstone per key
    await r.flushall();
    const info = await r.info("crdt");
    expect([infoNumber(info, "crdt_keys"), infoNumber(info, "crdt_tombstones")]).toEqual([10, 10]);
  }, 120_000);
});
