// A node restarted from its own RDB or AOF (not empty). Replication starts when the server
// listens, before the file is loaded; the loaded keys are not recorded as the node's new writes:
// the file's CRDT states (saved-state.ts) wait for the peers' states, and keys without state
// are left to what the peers hold (README: "A node restarted from its RDB or AOF",
// src/replication/loaded-keys.ts). So a key the peers deleted while it was down is deleted on
// it too — it must not bring back what the others deleted meanwhile (the KeyDB failure mode
// issue #7 rules out); keys only its file holds are sent, unless the file is older than a
// removal a peer collected (then they stay on the node, across its later restarts too).
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { cpSync, mkdtempSync, rmSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated, infoNumber, peerLine } from "../helpers/crdt-wait.js";
import { restartableTrio } from "../helpers/crdt-trio.js";

/**
 * Gives node A (clients[0]) a stale file and stops it: A saves a file holding x, then B deletes
 * x and collects its tombstone, so B's removal is one A's file predates.
 */
async function saveThenPeerCollectsX(servers: RunningServer[], clients: Redis[]): Promise<void> {
  const [a, b] = clients;
  expect(await a.save()).toBe("OK");
  await b.del("x");
  await untilReplicated("x deleted and collected on B", clients, async () =>
    (await a.exists("x")) === 0 && infoNumber(await b.info("crdt"), "crdt_gc_keys_dropped") >= 1);
  a.disconnect();
  await servers[0].stop();
}

/**
 * Waits until B (clients[1]) can tell A (its peer at bus port `busA`) by which moment of A's
 * clock A's state held every removal B collected (INFO crdt's removal_horizon_ms, B's
 * gossip.ts removalHorizon): once one of A's digests was found equal to B's state after the
 * collection. A file A writes from then on counts as newer than that collection; one A writes
 * before (a node stopped before any such digest) keeps its unknown keys local (README), so
 * a test whose restarted node must send them waits for this, not for a number of rounds.
 */
async function untilPeerCanSay(clients: Redis[], busA: number): Promise<number> {
  let horizon = -1;
  await untilReplicated("B to know A's removal horizon", clients, async () =>
    (horizon = Number(peerLine(await clients[1].info("crdt"), busA).removal_horizon_ms ?? -1)) > 0);
  return horizon;
}

/**
 * Two peers for a describe, node ids `${tag}0` and `${tag}1`: node 0 runs from its own dir on
 * a fixed port, so restartA() starts it again from its files. Started before the describe's
 * tests, stopped (and node 0's dir removed) after them.
 */
function restartablePair(tag: string, dirName: string, extra: (i: number) => string[], envA: Record<string, string> = {}) {
  const pair = {
    servers: [] as RunningServer[],
    clients: [] as Redis[],
    bus: [] as number[],
    portA: 0,
    dirA: mkdtempSync(join(tmpdir(), `lkv-aa-${dirName}-`)),
    args: (i: number) => ["--crdt-node-id", `${tag}${i}`, "--crdt-bus-port", String(pair.bus[i]), "--peer", `127.0.0.1:${pair.bus[1 - i]}`, ...extra(i)],
    /** Starts node 0 again from its dir and port (once stopped), with a new client. */
    restartA: async () => {
      pair.servers[0] = await startServer(pair.args(0), {}, { port: pair.portA, dir: pair.dirA });
      pair.clients[0] = await connectClient(pair.portA);
    },
  };
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) pair.bus.push(await freePort());
    pair.portA = await freePort();
    pair.servers.push(await startServer(pair.args(0), envA, { port: pair.portA, dir: pair.dirA }));
    pair.servers.push(await startServer(pair.args(1)));
    for (const s of pair.servers) pair.clients.push(await connectClient(s.port));
  });
  afterAll(async () => {
    for (const c of pair.clients) c.disconnect();
    for (const s of pair.servers) await s.stop();
    rmSync(pair.dirA, { recursive: true, force: true });
  });
  return pair;
}

describe("active-active: a node restarted from its RDB (3 processes)", () => {
  const trio = restartableTrio("r", "restart");
  const { clients, everywhere } = trio;

  /** C saves its RDB and stops; `meanwhile` runs; C starts again from the file (extra: more flags). */
  async function restartC(meanwhile: () => Promise<void>, extra: string[] = []): Promise<void> {
    expect(await clients[2].save()).toBe("OK");
    await trio.restartC(meanwhile, extra);
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

// What only the restarted node's file holds: a write acknowledged and fsynced (appendfsync
// always) that never left the node before it was killed. Once the node is back and has joined
// its peers' states, the write reaches them (src/replication/loaded-keys.ts); keys the peers
// have state for — one deleted while the node was down — are left to that state. A node whose
// outgoing messages are all lost (the crdt-drop-message fault point at probability 1) stands for
// a node killed before its delta left.
describe("active-active: a write only the restarted node's file holds (2 processes)", () => {
  const MANY = 3000;
  const { servers, clients, dirA, restartA } = restartablePair("f", "fileonly",
    (i) => (i === 0 ? ["--appendonly", "yes", "--appendfsync", "always"] : []), { LATTICEKV_BUGGIFY: "1:crdt-drop-message=1" });

  it("sends it to the peers once the node is back; what a peer deleted meanwhile stays deleted", async () => {
    const [a, b] = clients;
    await b.set("doomed", "1");
    await b.set("kept", "1");
    await b.sadd("s", "gone", "stays");
    // B's writes reach A (only A's messages are lost); A's own writes stay on A.
    await untilReplicated("B's writes on A", [a, b], async () =>
      (await a.get("doomed")) === "1" && (await a.get("kept")) === "1" && (await a.scard("s")) === 2);
    await a.set("mine", "1");
    await a.sadd("mine-set", "x", "y");
    // And keys enough, in another database, that listing them takes several SCAN calls and
    // event-loop turns (loaded-keys.ts walks the keyspace a slice at a time).
    const many = a.pipeline().select(1);
    for (let i = 0; i < MANY; i++) many.set(`many:${i}`, String(i));
    await many.select(0).exec();
    expect(await b.exists("mine")).toBe(0);
    servers[0].proc.kill("SIGKILL");
    await new Promise((r) => servers[0].proc.once("exit", r));
    clients[0].disconnect();
    // (A's file holds B's keys too: applied peers' writes go to the AOF like any write)
    const aof = join(dirA, "appendonlydir");
    expect(readdirSync(aof).map((f) => readFileSync(join(aof, f), "latin1")).join("")).toContain("doomed");
    await b.del("doomed");
    await b.srem("s", "gone");
    await restartA();
    const both = () => clients;
    const manyOnB = async () => (await b.pipeline().select(1).dbsize().select(0).exec())![1][1];
    await untilReplicated("A's file-only writes on B", both(), async () =>
      (await b.get("mine")) === "1" && (await b.scard("mine-set")) === 2 && (await clients[0].exists("doomed")) === 0 &&
      (await manyOnB()) === MANY);
    // (mine, mine-set and the many keys, each once: SCAN may return a key twice)
    expect(await clients[0].info("crdt")).toMatch(new RegExp(`crdt_loaded_keys_sent:${MANY + 2}\r?\n`));
    expect((await b.pipeline().select(1).get(`many:${MANY - 1}`).select(0).exec())![1][1]).toBe(String(MANY - 1));
    for (const r of both()) {
      expect(await r.get("mine")).toBe("1");
      expect((await r.smembers("mine-set")).sort()).toEqual(["x", "y"]);
      expect(await r.get("kept")).toBe("1");
      expect(await r.exists("doomed")).toBe(0);
      expect((await r.smembers("s")).sort()).toEqual(["stays"]);
    }
    // Replaying its AOF is not a set_repl write of A's: no key of it is kept from the peers
    // (every replayed key was marked local; kept and s stayed so, and A's next restart would
    // have kept them to itself).
    expect(infoNumber(await clients[0].info("crdt"), "crdt_local_only_keys")).toBe(0);
  }, 300_000);
});

// The other side of the same rule: a key the peers deleted and then collected (no state left
// anywhere) also looks like "a key only the file holds" when the file is older than the
// collection — here an RDB saved before the DEL. Sending it would bring the deleted key back
// everywhere (issue #7 rules that out); the peer says by which moment of the restarted node's
// own clock that node held the removals it collected, and the node keeps such keys to itself
// (loaded-keys.ts, gossip.ts removalHorizon). No two nodes' clocks are compared: the peer's
// clock 1 h behind (crdt-clock-offset-ms) made the node send x back when the peer's horizon
// was its own drop time.
for (const skew of [0, -3_600_000]) {
  describe(`active-active: a restarted node's stale file (2 processes, the peer's clock ${skew / 60_000} min off)`, () => {
    const { servers, clients, restartA } = restartablePair("g", "stale",
      (i) => ["--crdt-gc-grace-ms", "200", ...(i === 1 ? ["--crdt-clock-offset-ms", String(skew)] : [])]);

    it("does not send a key whose removal the peers collected after the file was written", async () => {
      const [a, b] = clients;
      await b.set("x", "1");
      await untilReplicated("x on A", clients, async () => (await a.get("x")) === "1");
      await saveThenPeerCollectsX(servers, clients);
      await restartA();
      expect(await clients[0].info("persistence")).toMatch(/rdb_last_load_keys_loaded:1\r?\n/);
      const decided = async () => {
        const info = await clients[0].info("crdt");
        return infoNumber(info, "crdt_loaded_keys_sent") + infoNumber(info, "crdt_loaded_keys_kept_local") > 0;
      };
      await untilReplicated("A to decide about x", clients, decided);
      // A's writes from now on reach B in order: x would have arrived before this one.
      await clients[0].set("after", "1");
      await untilReplicated("A's next write on B", clients, async () => (await b.get("after")) === "1");
      expect(await b.exists("x")).toBe(0);
      expect(infoNumber(await clients[0].info("crdt"), "crdt_loaded_keys_kept_local")).toBe(1);
      expect(await clients[0].get("x")).toBe("1"); // (it stays on A alone: README says so)
    }, 300_000);
  });
}

// And the file written after the collection: its keys no peer holds are sent, whatever the
// peer's clock says. Here the peer's clock runs 1 h ahead (its drop time minus the grace, the
// horizon it used to send, was later than any file of A's: A kept the key to itself). The
// file-only key is one A wrote while neither node had the other as a peer (CRDT.PEER DEL on
// both, so no connection carried it): in A's file, in no peer's state. (A script's
// redis.set_repl write is not one: it stays local after a restart, test below.)
describe("active-active: a file written after the peer's collection (2 processes, the peer's clock 1 h ahead)", () => {
  const { servers, clients, bus, restartA } = restartablePair("h", "fresh",
    (i) => ["--crdt-gc-grace-ms", "200", ...(i === 1 ? ["--crdt-clock-offset-ms", "3600000"] : [])]);

  it("sends the keys only its file holds", async () => {
    const [a, b] = clients;
    await b.set("x", "1");
    await untilReplicated("x on A", clients, async () => (await a.get("x")) === "1");
    await b.del("x");
    await untilReplicated("x deleted and collected on both", clients, async () =>
      infoNumber(await a.info("crdt"), "crdt_gc_keys_dropped") >= 1 && infoNumber(await b.info("crdt"), "crdt_gc_keys_dropped") >= 1);
    // A's next anti-entropy round finds both states equal (nothing else differs): B learns by
    // which moment of A's clock A held the removal it collected. An RDB's time is its ctime,
    // whole seconds: the save must come in a later second than that moment (A's clock is
    // this host's), or the file counts as not newer than it.
    const horizon = await untilPeerCanSay(clients, bus[0]);
    while (Date.now() < Math.floor(horizon / 1000) * 1000 + 1000) await new Promise((r) => setTimeout(r, 50));
    expect(await a.call("crdt.peer", "del", "127.0.0.1", String(bus[1]))).toBe(1);
    expect(await b.call("crdt.peer", "del", "127.0.0.1", String(bus[0]))).toBe(1);
    await a.set("mine", "1");
    expect(await a.save()).toBe("OK");
    clients[0].disconnect();
    await servers[0].stop();
    expect(await b.exists("mine")).toBe(0);
    expect(await b.call("crdt.peer", "add", "127.0.0.1", String(bus[0]))).toBe("OK");
    await restartA();
    await untilReplicated("A's file-only key on B", clients, async () => (await b.get("mine")) === "1");
    const info = await clients[0].info("crdt");
    expect(infoNumber(info, "crdt_loaded_keys_sent")).toBe(1);
    expect(infoNumber(info, "crdt_loaded_keys_kept_local")).toBe(0);
    expect(await b.exists("x")).toBe(0);
  }, 300_000);
});

// What a node keeps from its peers stays on it after its next restart too: a script's write
// after redis.set_repl(REPL_NONE), and a key an earlier restart kept local because the peers
// may have deleted and collected it since the file was written. Neither has CRDT state, so
// both used to look like "a key only the file holds" at the next restart: once the node had
// written a newer file, both were sent — the deleted key x came back on the peer. The node now
// remembers them beside its file (src/replication/local-keys.ts).
describe("active-active: keys kept local stay local after the next restart (2 processes)", () => {
  const { servers, clients, bus, restartA } = restartablePair("l", "local", () => ["--crdt-gc-grace-ms", "200"]);

  /** A saves its RDB, stops and starts again from it; resolves once it has decided about its 2 file-only keys. */
  async function saveAndRestartA(): Promise<void> {
    expect(await clients[0].save()).toBe("OK");
    clients[0].disconnect();
    await servers[0].stop();
    await restartA();
    await untilReplicated("A to decide about its file-only keys", clients, async () => {
      const info = await clients[0].info("crdt");
      return infoNumber(info, "crdt_loaded_keys_sent") + infoNumber(info, "crdt_loaded_keys_kept_local") >= 2;
    });
    // A's writes from now on reach B in order: what A sent would have arrived before this one.
    const mark = `after:${Date.now()}`;
    await clients[0].set(mark, "1");
    await untilReplicated("A's next write on B", clients, async () => (await clients[1].get(mark)) === "1");
  }

  it("a set_repl write and a key kept local by an earlier restart", async () => {
    const [a, b] = clients;
    await b.set("x", "1");
    await untilReplicated("x on A", clients, async () => (await a.get("x")) === "1");
    expect(await a.eval("redis.set_repl(redis.REPL_NONE) return redis.call('set', KEYS[1], ARGV[1])", 1, "mine", "1")).toBe("OK");
    expect(infoNumber(await a.info("crdt"), "crdt_local_only_keys")).toBe(1);
    // the file A restarts from holds x, which B then deletes and collects
    await saveThenPeerCollectsX(servers, clients);
    await restartA();
    await untilReplicated("A to decide about its file-only keys", clients, async () => {
      const info = await clients[0].info("crdt");
      return infoNumber(info, "crdt_loaded_keys_sent") + infoNumber(info, "crdt_loaded_keys_kept_local") >= 2;
    });
    await clients[0].set("after", "1");
    await untilReplicated("A's next write on B", clients, async () => (await b.get("after")) === "1");
    expect(infoNumber(await clients[0].info("crdt"), "crdt_loaded_keys_kept_local")).toBe(2);
    expect(await b.exists("x", "mine")).toBe(0);
    // B can say by when A held its collection: A's next file is newer than B's horizon for it
    await untilPeerCanSay(clients, bus[0]);
    for (let i = 0; i < 2; i++) {
      await saveAndRestartA();
      const info = await clients[0].info("crdt");
      expect(infoNumber(info, "crdt_loaded_keys_sent")).toBe(0);
      expect(infoNumber(info, "crdt_loaded_keys_kept_local")).toBe(2);
      expect(infoNumber(info, "crdt_local_only_keys")).toBe(2);
      expect(await b.exists("x", "mine")).toBe(0);
      expect(await clients[0].mget("x", "mine")).toEqual(["1", "1"]);
    }
    // a replicated write of a key kept local makes it the peers' business again
    await clients[0].set("mine", "2");
    await untilReplicated("mine on B", clients, async () => (await b.get("mine")) === "2");
    expect(infoNumber(await clients[0].info("crdt"), "crdt_local_only_keys")).toBe(1);
  }, 300_000);
});

// A key a node loads from a file without CRDT state (an older LatticeKV's AOF: here A's own with
// its `#CRDT` lines taken out, src/persistence/aof-crdt.ts) takes its peers' value when their
// state for it arrives — the whole value. The state used to be applied member by member, so a
// member only the file held (added while the nodes were cut off) stayed in the node's set
// while both nodes' states agreed without it: anti-entropy found nothing to repair, for good.
// (With its state, A's file keeps its concurrent SADD: active-active-aof-restart.test.ts.)
describe("active-active: a set loaded without state takes the peer's whole value (2 processes)", () => {
  const { servers, clients, bus, dirA, restartA } = restartablePair("v", "setview",
    (i) => (i === 0 ? ["--appendonly", "yes", "--appendfsync", "always"] : []));

  it("drops the member only its file held, as the peers' value wins", async () => {
    const [a, b] = clients;
    await b.sadd("s", "m");
    await untilReplicated("s on A", clients, async () => (await a.sismember("s", "m")) === 1);
    expect(await a.call("crdt.peer", "del", "127.0.0.1", String(bus[1]))).toBe(1);
    expect(await b.call("crdt.peer", "del", "127.0.0.1", String(bus[0]))).toBe(1);
    await a.sadd("s", "a-only");
    await b.sadd("s", "b-only");
    clients[0].disconnect();
    await servers[0].stop();
    const aof = join(dirA, "appendonlydir");
    let stripped = 0;
    for (const f of readdirSync(aof).filter((n) => n.endsWith(".incr.aof"))) {
      const lines = readFileSync(join(aof, f), "latin1").split(/(?<=\n)/);
      const kept = lines.filter((l) => !l.startsWith("#CRDT"));
      stripped += lines.length - kept.length;
      writeFileSync(join(aof, f), kept.join(""), "latin1");
    }
    expect(stripped).toBeGreaterThan(0);
    expect(await b.call("crdt.peer", "add", "127.0.0.1", String(bus[0]))).toBe("OK");
    await restartA();
    const members = async (r: Redis) => JSON.stringify((await r.smembers("s")).sort());
    await untilReplicated("A's set equal to B's", clients, async () => (await members(clients[0])) === (await members(b)),
      { snapshot: async () => (await members(clients[0])) + (await members(b)) });
    expect(await members(b)).toBe(JSON.stringify(["b-only", "m"]));
  }, 300_000);
});

// The AOF's marks across two restarts (src/replication/saved-state.ts filePieces). A node whose
// file's states wait for its peers marks its AOF "as old as when loaded" (its later writes make
// it look newer). When the decision then finds the file older than a removal the peers
// collected, the states are dropped; the mark used to stay until the next rewrite, so the next
// restart counted the whole file as that old again and dropped the states of every write made
// since: here z, written on A while cut off from B (a key only A's file holds), stayed on A
// alone instead of reaching B. The node now rewrites its AOF after such a decision
// (Replicator.fileDropped). The stale file is a copy of A's AOF taken before B's DEL of x.
describe("active-active: the AOF of a node restarted from a stale file, restarted again (2 processes)", () => {
  const { servers, clients, bus, dirA, restartA } = restartablePair("m", "aofmarks",
    (i) => ["--crdt-gc-grace-ms", "200", ...(i === 0 ? ["--appendonly", "yes", "--appendfsync", "always"] : [])]);
  const aofDir = () => join(dirA, "appendonlydir");
  const aside = join(dirA, "stale-copy");
  const decided = async (n: number) => {
    const info = await clients[0].info("crdt");
    return infoNumber(info, "crdt_loaded_keys_sent") + infoNumber(info, "crdt_loaded_keys_kept_local") >= n;
  };
  const stopA = async () => { clients[0].disconnect(); await servers[0].stop(); };

  it("keeps the stale key on A alone and sends the key written after the first restart", async () => {
    const [a, b] = clients;
    await b.set("x", "1");
    await untilReplicated("x on A", clients, async () => (await a.get("x")) === "1");
    cpSync(aofDir(), aside, { recursive: true, preserveTimestamps: true });
    await b.del("x");
    await untilReplicated("x deleted and collected on B", clients, async () =>
      (await a.exists("x")) === 0 && infoNumber(await b.info("crdt"), "crdt_gc_keys_dropped") >= 1);
    await stopA();
    rmSync(aofDir(), { recursive: true });
    cpSync(aside, aofDir(), { recursive: true, preserveTimestamps: true });

    // first restart, from the stale copy: x's state is dropped and x stays on A alone
    await restartA();
    await untilReplicated("A to decide about x", clients, () => decided(1));
    expect(infoNumber(await clients[0].info("crdt"), "crdt_loaded_keys_kept_local")).toBe(1);
    // (the rewrite that replaces the stale content, done before A stops)
    await untilReplicated("A's AOF rewrite done", clients, async () =>
      /aof_rewrite_in_progress:0\r?\n[\s\S]*aof_rewrite_scheduled:0\r?\n/.test(await clients[0].info("persistence")));
    // (and B can say by when A held the removal it collected: else z, in a file A writes before
    // any of its digests was found equal, stays local at the next restart, as README says)
    await untilPeerCanSay(clients, bus[0]);
    // z: a key only A's file holds (written while neither node has the other as a peer)
    expect(await clients[0].call("crdt.peer", "del", "127.0.0.1", String(bus[1]))).toBe(1);
    expect(await b.call("crdt.peer", "del", "127.0.0.1", String(bus[0]))).toBe(1);
    await clients[0].set("z", "1");
    await stopA();
    expect(await b.call("crdt.peer", "add", "127.0.0.1", String(bus[0]))).toBe("OK");

    // second restart: the file is as new as its last write, so z goes to B; x stays local
    await restartA();
    await untilReplicated("z on B", clients, async () => (await b.get("z")) === "1");
    const info = await clients[0].info("crdt");
    expect(infoNumber(info, "crdt_loaded_keys_kept_local")).toBe(1);
    expect(infoNumber(info, "crdt_local_only_keys")).toBe(1);
    expect(await b.exists("x")).toBe(0);
    expect(await clients[0].get("x")).toBe("1");
  }, 300_000);
});

// A stale file's decision keeps the keys no peer holds on the node alone, but only those that
// still have no CRDT state: a key the node's client wrote after the load walk listed it (while
// the peers had not answered yet) has state by then, recorded against the file's (Replicator.
// adoptWaiting) and sent to the peers. It used to be marked local too (local-keys.ts), so it
// counted among crdt_local_only_keys, and after the next restart its state was set aside and
// the key kept from the peers. Here B is stopped (SIGSTOP) while A restarts, so A's decision
// waits for it, and A's client writes w meanwhile.
describe("active-active: a key written on a restarted node before its stale file's decision (2 processes)", () => {
  const { servers, clients, restartA } = restartablePair("k", "stalewrite", () => ["--crdt-gc-grace-ms", "200"]);

  it("is not kept local with the keys only the file holds", async () => {
    const [a, b] = clients;
    await b.set("x", "1");
    await b.set("w", "1");
    await untilReplicated("x and w on A", clients, async () => (await a.get("x")) === "1" && (await a.get("w")) === "1");
    await saveThenPeerCollectsX(servers, clients);
    process.kill(servers[1].proc.pid!, "SIGSTOP");
    try {
      await restartA();
      // the load walk listed x and w (no CRDT state), the decision waits for B
      while (infoNumber(await clients[0].info("crdt"), "crdt_loaded_keys_pending") !== 2) await new Promise((r) => setTimeout(r, 50));
      await clients[0].set("w", "2");
    } finally {
      process.kill(servers[1].proc.pid!, "SIGCONT");
    }
    await untilReplicated("A to decide and w on B", clients, async () =>
      infoNumber(await clients[0].info("crdt"), "crdt_loaded_keys_kept_local") >= 1 && (await b.get("w")) === "2");
    const info = await clients[0].info("crdt");
    expect(infoNumber(info, "crdt_loaded_keys_kept_local")).toBe(1);
    expect(infoNumber(info, "crdt_local_only_keys")).toBe(1); // (x alone)
    expect(await b.exists("x")).toBe(0);
    expect(await clients[0].get("x")).toBe("1");
  }, 300_000);
});
