// Tombstone garbage collection (src/replication/gc.ts) in the deterministic simulator: removal
// metadata is dropped once every replica has acknowledged the removal, never earlier — a
// partitioned replica that still holds removed data must not bring it back.
import { describe, it, expect } from "vitest";
import { SimCluster } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";

const OPTS = { ...DEFAULT_GOSSIP, antiEntropyMs: 300, gcGraceMs: 1000 };
const QUIET_NET = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 20 };

/** The size of each node's first DIGEST looked at (firstDigest's later calls compare with it). */
const firstDigests = new WeakMap<SimCluster, Map<string, number>>();
function firstDigest(c: SimCluster, from: string, bytes: number): number {
  let m = firstDigests.get(c);
  if (!m) firstDigests.set(c, m = new Map());
  if (!m.has(from)) m.set(from, bytes);
  return m.get(from)!;
}

/** Per node, the counter reset points (bases) key holds, its hash fields' too; -1: no state. */
function resetPoints(c: SimCluster, key: string): number[] {
  return c.nodes.map((n) => {
    const s = n.rep.store.peek(`0:${key}`);
    return s ? s.cntBase.size + [...s.hcnt.values()].reduce((k, fc) => k + fc.base.size, 0) : -1;
  });
}

function tombstones(c: SimCluster): number[] {
  return c.nodes.map((n) => n.rep.store.tombstoneCount());
}

describe("tombstone garbage collection", () => {
  it("tombstone counts fall back to zero after a delete-heavy workload", () => {
    const c = new SimCluster(21, 3, QUIET_NET, OPTS);
    for (let i = 0; i < 60; i++) {
      const n = c.nodes[i % 3];
      n.run("set", `s${i}`, "v");
      n.run("sadd", "set", `m${i}`);
      n.run("hset", "hash", `f${i}`, "v");
      n.run("zadd", "zset", String(i), `z${i}`);
      n.run("incrby", `cnt${i}`, "5");
    }
    c.settle();
    for (let i = 0; i < 60; i++) {
      const n = c.nodes[(i + 1) % 3];
      n.run("del", `s${i}`, `cnt${i}`);
      if (i % 6) { n.run("srem", "set", `m${i}`); n.run("hdel", "hash", `f${i}`); n.run("zrem", "zset", `z${i}`); }
    }
    c.advance(100); // deletes delivered, not yet stable
    for (const t of tombstones(c)) expect(t).toBeGreaterThanOrEqual(120 + 3 * 50);
    c.settle();
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
    for (const n of c.nodes) {
      expect(n.rep.store.keys.size).toBe(3); // only the three collections remain
      expect(n.run("scard", "set")).toBe(10);
      expect(n.run("hlen", "hash")).toBe(10);
      expect(n.run("zcard", "zset")).toBe(10);
      expect(n.run("dbsize")).toBe(3);
    }
    // a counter deleted and collected starts again from zero everywhere
    c.node("n1").run("incrby", "cnt7", "2");
    c.node("n2").run("incrby", "cnt7", "3");
    c.settle();
    for (const n of c.nodes) expect(n.run("get", "cnt7")).toEqual(Buffer.from("5"));
    expect(c.check()).toEqual([]);
  });

  // Each dropped key state's removal metadata is joined into the node's `collected` record
  // (gossip.ts removalHorizon), one component per node incarnation it names: a node restarted
  // again and again added one per incarnation, for good. Departed incarnations final
  // everywhere are pruned (pruneCollected), so the record stays at about the live nodes.
  it("the record of collected removals stays bounded however often a node restarts", () => {
    const c = new SimCluster(25, 3, QUIET_NET, OPTS);
    const ROUNDS = 12;
    const sizes: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      c.node("n2").run("set", `k${r}`, "v");
      c.node("n2").run("sadd", "s", `m${r}`, `keep${r}`);
      c.settle();
      c.node("n0").run("del", `k${r}`);
      c.node("n1").run("srem", "s", `m${r}`);
      c.settle(); // (collected: k's and m's metadata name n2's incarnation of this round)
      c.node("n2").restart();
      c.settle();
      sizes.push(c.node("n0").gossip.collectedNodes);
    }
    for (const n of c.nodes) expect(n.gossip.collectedNodes).toBeLessThanOrEqual(4);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    for (const n of c.nodes) expect(n.run("scard", "s")).toBe(ROUNDS);
    expect(c.check()).toEqual([]);
  });

  // A departed incarnation, once final everywhere, was kept as an entry of its own in the
  // stability vectors (stable, gcStable), in `applied`, in every DIGEST and in each
  // removalHorizon coverage copy: one more per restart of any node, for good. One watermark
  // per node name ("every incarnation up to X is final") stands for them now
  // (final-incarnations.ts), so all of those stay at about the live nodes.
  it("departed incarnations leave one watermark per node name: stability, applied, DIGESTs and coverage copies stay bounded however often a node restarts", () => {
    const c = new SimCluster(26, 3, QUIET_NET, OPTS);
    const digestBytes = new Map<string, number>(); // (largest DIGEST each node sent since the last look)
    const send = c.send.bind(c);
    c.send = (from, to, msg, ...rest) => {
      if (msg[0] === 3) digestBytes.set(from, Math.max(digestBytes.get(from) ?? 0, msg.length));
      send(from, to, msg, ...rest);
    };
    const ROUNDS = 14;
    const sizes: number[][] = [];
    for (let r = 0; r < ROUNDS; r++) {
      c.node("n2").run("incrby", "cnt", "1");
      c.node("n2").run("sadd", "s", `m${r}`, `keep${r}`);
      c.node("n2").run("set", `k${r}`, "v");
      c.settle();
      c.node("n0").run("srem", "s", `m${r}`);
      c.node("n1").run("del", `k${r}`);
      // (every other round from the node's file, so its earlier incarnations' states come back with it)
      if (r % 2) c.node("n2").restartFrom(); else c.node("n2").restart();
      c.settle();
      digestBytes.clear();
      c.advance(3000); // (a few rounds each, all equal)
      for (const n of c.nodes) {
        const e = n.gossip.incarnationEntries;
        sizes.push([e.stable, e.gcStable, e.applied, e.final, e.gcFinal, e.coverage, e.links]);
        // live incarnations (3) + at most one watermark per name
        expect(e.stable + e.final, `${n.name} round ${r}: ${JSON.stringify(e)}`).toBeLessThanOrEqual(4);
        expect(e.gcStable + e.gcFinal).toBeLessThanOrEqual(4);
        expect(e.applied).toBeLessThanOrEqual(3);
        expect(e.coverage).toBeLessThanOrEqual(5);
        // (per peer, our link and its inbound connection to us, each identified by a HELLO, as
        // between servers; the simulator keyed both by the peer's name until linkOf's fix)
        expect(e.links).toBeLessThanOrEqual(4);
      }
      // (the DIGEST: its digests, then the stability and knowledge vectors; node ids are short here)
      for (const [from, bytes] of digestBytes) expect(bytes, `${from}'s DIGEST in round ${r}`).toBeLessThanOrEqual(firstDigest(c, from, bytes) + 8);
    }
    // the restarted node's old incarnations are final on every node, and refused
    for (const n of c.nodes) expect([...n.gossip.final.ids()]).toContain(`n2~${ROUNDS}`);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
    for (const n of c.nodes) expect(n.run("scard", "s")).toBe(ROUNDS);
  });

  // A node learns that a peer holds its writes from a round of its own answered "same"
  // (MSG_SAME), and also from a peer's DIGEST found equal to its state (gossip.ts
  // answeredSame). With only the first, a node whose DIGESTs are never answered "same" (the
  // simulator's adjacent nodes start their rounds in the same step; the larger id leaves the
  // smaller one's DIGEST unanswered as crossing: seeds 2378, 2673) never became stable, and
  // every removal carrying its stamp waited for good.
  it("a node whose DIGESTs are never answered 'same' still learns its peers hold its writes (from their DIGESTs equal to its state), and its removals are collected", () => {
    const c = new SimCluster(27, 3, QUIET_NET, OPTS);
    const send = c.send.bind(c);
    let dropped = 0;
    c.send = (from, to, msg, ...rest) => {
      if (to === "n0" && msg[0] === 5) { dropped++; return; } // (MSG_SAME to n0)
      send(from, to, msg, ...rest);
    };
    for (let i = 0; i < 10; i++) {
      c.node("n1").run("set", `k${i}`, "v");
      c.node("n2").run("sadd", "s", `m${i}`, `keep${i}`);
    }
    c.settle();
    for (let i = 0; i < 10; i++) {
      c.node("n0").run("del", `k${i}`);
      c.node("n0").run("srem", "s", `m${i}`);
    }
    c.advance(100); // (the removals delivered, not yet stable)
    expect(tombstones(c)).toEqual([20, 20, 20]);
    c.settle();
    expect(dropped).toBeGreaterThan(0);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.node("n0").gossip.stableOf(c.node("n0").rep.nodeId)).toBeGreaterThan(0);
    expect(c.check()).toEqual([]);
    for (const n of c.nodes) expect(n.run("scard", "s")).toBe(10);
  });

  // A MSG_SAME of an incarnation since restarted can arrive after its link learned the new one
  // (a delayed message; answeredSame learns a restart from the new incarnation's first DIGEST).
  // Taken as news, it marked the live incarnation departed, so it became final everywhere and
  // its messages were refused (simulation seeds 476, 1286, 1894 with answeredSame).
  it("a delayed MSG_SAME from a restarted node's old incarnation does not make its live incarnation departed", () => {
    const c = new SimCluster(28, 3, QUIET_NET, OPTS);
    const send = c.send.bind(c);
    const held: Buffer[] = [];
    let hold = false;
    c.send = (from, to, msg, ...rest) => {
      if (hold && from === "n2" && to === "n0" && msg[0] === 5) { held.push(msg); return; } // (MSG_SAME n2~1 -> n0)
      send(from, to, msg, ...rest);
    };
    c.node("n1").run("sadd", "s", "a", "b");
    c.settle();
    hold = true;
    c.advance(1500); // (rounds of n0 answered "same" by n2~1: held back)
    hold = false;
    expect(held.length).toBeGreaterThan(0);
    c.node("n2").restart();
    const n0 = c.node("n0");
    const live = c.node("n2").nodeId;
    // (delivered once n0's link knows n2's new incarnation, while the old one is not final yet:
    // a final incarnation's messages are refused)
    const known = () => (n0.gossip as unknown as { peerIds: Map<string, string> }).peerIds.get("n2");
    for (let t = 0; t < 10_000 && known() !== live; t += 10) c.advance(10);
    expect(known()).toBe(live);
    expect(n0.gossip.final.covers("n2~1")).toBe(false);
    for (const m of held) n0.gossip.onMessage("n2", m, (reply) => c.send("n0", "n2", reply));
    c.node("n1").run("srem", "s", "a");
    c.node("n2").run("sadd", "s", "c");
    c.settle();
    for (const n of c.nodes) expect(n.gossip.final.covers(live), `${n.name}: ${live} final`).toBe(false);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
    for (const n of c.nodes) expect(n.run("smembers", "s").map(String).sort()).toEqual(["b", "c"]);
  });

  // A counter's reset point (base) for a node that never counts again on the key stayed for
  // good: only a later run of that node's total let it go. Now the node acknowledges it (its
  // own state shows no total beyond the base: the reset saw its whole run), and once that
  // acknowledgement is stable every replica drops it; a departed incarnation's successor
  // acknowledges for it once it is final (gc.ts dropBases).
  it("a counter's reset points go once their nodes acknowledged them, and concurrent increments still sum", () => {
    const c = new SimCluster(27, 3, QUIET_NET, OPTS);
    const bases = (key: string) => resetPoints(c, key);
    const values = (key: string) => c.nodes.map((n) => String(n.run("get", key)));
    // 1. n0 and n1 count, n2 resets with SET: neither counts again
    c.node("n0").run("incrby", "a", "5");
    c.node("n1").run("incrby", "a", "7");
    c.node("n0").run("hincrby", "h", "f", "3");
    c.settle();
    c.node("n2").run("set", "a", "100");
    c.node("n2").run("hset", "h", "f", "9");
    c.advance(100);
    expect(bases("a")).toEqual([2, 2, 2]);
    expect(bases("h")).toEqual([1, 1, 1]);
    c.settle();
    expect(bases("a")).toEqual([0, 0, 0]);
    expect(bases("h")).toEqual([0, 0, 0]);
    expect(values("a")).toEqual(["100", "100", "100"]);
    expect(c.nodes.map((n) => String(n.run("hget", "h", "f")))).toEqual(["9", "9", "9"]);
    // 2. an increment concurrent with a reset still counts, once, everywhere; the base waits for it
    c.node("n0").run("incrby", "b", "5");
    c.settle();
    c.partition([["n0"], ["n1", "n2"]]);
    c.node("n1").run("set", "b", "100");
    c.node("n0").run("incrby", "b", "2"); // (n0 has not seen the SET: its total 7 is of the run the SET cancels 5 of)
    c.node("n2").run("incrby", "b", "1");
    c.advance(2000);
    c.heal();
    c.settle();
    expect(values("b")).toEqual(["103", "103", "103"]);
    expect(bases("b")).toEqual([1, 1, 1]); // (n0's total is still of the cancelled run)
    c.node("n0").run("incrby", "b", "1"); // a new run: the base goes
    c.settle();
    expect(values("b")).toEqual(["104", "104", "104"]);
    expect(bases("b")).toEqual([0, 0, 0]);
    // 3. a node that counted restarts (never to count as that incarnation again)
    c.node("n1").run("incrby", "d", "4");
    c.node("n2").run("incrby", "d", "6");
    c.settle();
    c.node("n0").run("set", "d", "1");
    c.node("n1").restart();
    c.settle();
    // (n1's successor acknowledges for n1~1 once that one is final past the grace period: more rounds)
    c.advance(3 * OPTS.gcGraceMs);
    c.settle();
    expect(values("d")).toEqual(["1", "1", "1"]);
    expect(bases("d")).toEqual([0, 0, 0]);
    // 4. INCR on both sides of a partition, then a reset, then INCR again on both: all count
    c.partition([["n0"], ["n1", "n2"]]);
    c.node("n0").run("incr", "e");
    c.node("n1").run("incr", "e");
    c.heal();
    c.settle();
    expect(values("e")).toEqual(["2", "2", "2"]);
    c.node("n2").run("set", "e", "10");
    c.settle();
    c.partition([["n0"], ["n1", "n2"]]);
    c.node("n0").run("incr", "e");
    c.node("n1").run("incr", "e");
    c.heal();
    c.settle();
    expect(values("e")).toEqual(["12", "12", "12"]);
    expect(bases("e")).toEqual([0, 0, 0]);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
  });

  // A node restarted from a file saved before its reset points were acknowledged and collected:
  // the file brings back its old incarnation's totals (and bases) of the cancelled runs. Its
  // successor acknowledges for that incarnation once it is final and the file's states are
  // joined (gc.ts dropBases), so the points go again, and no cancelled increment counts.
  it("counter reset points come back with a node restarted from an older file and are collected again; the values stay", () => {
    const c = new SimCluster(29, 3, QUIET_NET, OPTS);
    const bases = (key: string) => resetPoints(c, key);
    const values = (key: string) => c.nodes.map((n) => String(n.run("get", key)));
    c.node("n1").run("incrby", "a", "7");
    c.node("n1").run("incrby", "b", "3");
    c.node("n1").run("hincrby", "h", "f", "2");
    c.settle();
    c.node("n1").save(); // (its totals, before any reset)
    c.node("n0").run("set", "a", "100");
    c.node("n0").run("hset", "h", "f", "9");
    c.node("n2").run("set", "b", "50");
    c.advance(100);
    expect(bases("a")).toEqual([1, 1, 1]);
    c.node("n2").save(); // (n2's file: the reset points, not yet acknowledged)
    c.settle();
    expect(bases("a")).toEqual([0, 0, 0]);
    expect(bases("b")).toEqual([0, 0, 0]);
    expect(bases("h")).toEqual([0, 0, 0]);
    c.node("n1").restartFrom();
    c.node("n2").restartFrom();
    c.settle();
    c.advance(3 * OPTS.gcGraceMs); // (the successors acknowledge once the old incarnations are final past the grace period)
    c.settle();
    expect(values("a")).toEqual(["100", "100", "100"]);
    expect(values("b")).toEqual(["50", "50", "50"]);
    expect(c.nodes.map((n) => String(n.run("hget", "h", "f")))).toEqual(["9", "9", "9"]);
    expect(bases("a")).toEqual([0, 0, 0]);
    expect(bases("b")).toEqual([0, 0, 0]);
    expect(bases("h")).toEqual([0, 0, 0]);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
    // counting again after all of it starts from the reset values
    c.node("n1").run("incrby", "a", "1");
    c.node("n2").run("incrby", "b", "1");
    c.settle();
    expect(values("a")).toEqual(["101", "101", "101"]);
    expect(values("b")).toEqual(["51", "51", "51"]);
    expect(c.check()).toEqual([]);
  });

  it("a partitioned replica holds GC back, and coming back does not resurrect what was deleted", () => {
    const c = new SimCluster(22, 3, QUIET_NET, OPTS);
    c.node("n0").run("sadd", "s", "a", "b");
    c.node("n0").run("set", "k", "v");
    c.node("n0").run("hset", "h", "f", "1", "g", "2");
    c.settle();
    c.partition([["n0", "n1"], ["n2"]]);
    c.node("n1").run("srem", "s", "a");
    c.node("n1").run("del", "k");
    c.node("n0").run("hdel", "h", "f");
    c.advance(10_000); // many anti-entropy rounds and grace periods
    // n2 still holds a, k and f: nobody may forget the removals yet
    expect(c.node("n2").run("sismember", "s", "a")).toBe(1);
    expect(c.node("n2").run("get", "k")).toEqual(Buffer.from("v"));
    expect(tombstones(c).slice(0, 2)).toEqual([3, 3]);
    c.settle();
    for (const n of c.nodes) {
      expect(n.run("smembers", "s")).toEqual([Buffer.from("b")]);
      expect(n.run("exists", "k")).toBe(0);
      expect(n.run("hkeys", "h")).toEqual([Buffer.from("g")]);
    }
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
  });

  // crdt-peer-gc-timeout: a node silent longer than the timeout stops holding collection
  // back. The price: that incarnation can never rejoin with its data (it still holds what the
  // removals collected meanwhile killed), so it is refused, and only a restart empty (a new
  // incarnation) brings the node back. n2 is configured without the timeout, so it does not
  // expire the others in turn and still talks to them when the partition heals.
  it("a peer silent past the GC timeout leaves the quorum: removals are collected, its stale incarnation is refused, a restart empty converges", () => {
    const c = new SimCluster(30, 3, QUIET_NET, { ...OPTS, peerGcTimeoutMs: 3000 });
    c.nodeOptions.set("n2", { peerGcTimeoutMs: 0 });
    c.node("n2").restart(); // (before anything is written: boots with its own options)
    c.node("n2").run("sadd", "s", "a", "b");
    c.node("n2").run("set", "k", "v");
    c.node("n0").run("hset", "h", "f", "1", "g", "2");
    c.settle();
    const stale = c.node("n2").nodeId;
    c.partition([["n0", "n1"], ["n2"]]);
    c.node("n1").run("srem", "s", "a");
    c.node("n1").run("del", "k");
    c.node("n0").run("hdel", "h", "f");
    c.advance(10_000); // past the timeout, then stability and the grace period without n2
    expect(tombstones(c)).toEqual([0, 0, 0]); // (n2 never saw the removals)
    for (const n of ["n0", "n1"]) expect([...c.node(n).gossip.expired.ids()]).toEqual([stale]);
    expect(c.node("n2").gossip.expired.size).toBe(0);
    c.node("n0").run("set", "later", "1"); // (not sent to an expired incarnation)
    // the partition heals: the stale incarnation still holds a, k and f, and is refused
    c.heal();
    c.advance(10_000);
    expect(c.node("n2").run("get", "k")).toEqual(Buffer.from("v"));
    for (const name of ["n0", "n1"]) {
      const n = c.node(name);
      expect(n.run("smembers", "s")).toEqual([Buffer.from("b")]);
      expect(n.run("exists", "k")).toBe(0);
      expect(n.run("hkeys", "h")).toEqual([Buffer.from("g")]);
      expect(n.gossip.stats.refused).toBeGreaterThan(0);
    }
    expect([...c.node("n2").gossip.refusedBy.values()].map((r) => r.id).sort()).toEqual([c.node("n0").nodeId, c.node("n1").nodeId]);
    expect(c.node("n2").run("exists", "later")).toBe(0); // and gets nothing
    // restarted empty, it is a new incarnation: accepted, and it converges by a full copy
    c.node("n2").restart();
    c.settle();
    for (const n of c.nodes) {
      expect(n.run("smembers", "s")).toEqual([Buffer.from("b")]);
      expect(n.run("exists", "k")).toBe(0);
      expect(n.run("hkeys", "h")).toEqual([Buffer.from("g")]);
      expect(n.run("get", "later")).toEqual(Buffer.from("1"));
    }
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
    // and it is in the quorum again: a removal now waits for it
    c.partition([["n0", "n1"], ["n2"]]);
    c.node("n0").run("del", "later");
    c.advance(2000); // (less than the timeout)
    expect(tombstones(c)[0]).toBe(1);
    c.settle();
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
    // what n0 and n1 would tell the new incarnation of their collection, should it restart from
    // its file: a moment of its clock (its DIGESTs found equal since), not "cannot say" (-1)
    // because an earlier incarnation of its name expired
    for (const n of ["n0", "n1"]) expect(c.node(n).gossip.removalHorizonOf("n2"), n).toBeGreaterThan(0);
  });

  // Expired incarnations are kept as one watermark per node name (gossip.ts `expired`, like
  // the final ones), and so are the refusals told and heard: they used to grow by one entry
  // per expiry (expired, toldRefused) and per restart of a refusing peer (refusedBy), for good.
  it("a node expired again after each of its restarts leaves one entry per name in expired, toldRefused and refusedBy", () => {
    const c = new SimCluster(32, 3, QUIET_NET, { ...OPTS, peerGcTimeoutMs: 3000 });
    c.nodeOptions.set("n2", { peerGcTimeoutMs: 0 });
    c.node("n2").restart();
    c.node("n0").run("sadd", "s", "a", "b");
    c.settle();
    const expiredIds: string[] = [];
    for (let round = 0; round < 5; round++) {
      expiredIds.push(c.node("n2").nodeId);
      c.partition([["n0", "n1"], ["n2"]]);
      c.node("n0").run("sadd", "s", `r${round}`);
      c.advance(10_000); // (past the timeout: n0 and n1 expire this incarnation of n2)
      c.heal();
      c.advance(10_000);
      // n0 restarts twice while n2's incarnation is refused (each new one learns from n1 that it is final)
      for (let i = 0; i < 2; i++) { c.node("n0").restart(); c.advance(10_000); }
      expect(c.node("n1").gossip.stats.refused).toBeGreaterThan(0);
      expect(c.node("n2").gossip.refusedBy.get("n0")?.id).toBe(c.node("n0").nodeId);
      expect(c.node("n2").gossip.refusalEntries.refusedBy).toBe(2); // (n0 and n1: was one per n0 incarnation that refused)
      c.node("n2").restart(); // empty: a new incarnation, accepted
      c.settle();
      expect(c.node("n2").run("sismember", "s", `r${round}`)).toBe(1);
    }
    // n1 expired five incarnations of n2 and refused each: one entry each, all five still refused
    const g = c.node("n1").gossip;
    expect([...g.expired.ids()]).toEqual([expiredIds[4]]);
    expect(g.refusalEntries).toEqual({ expired: 1, toldRefused: 1, refusedBy: 0 });
    for (const id of expiredIds) expect(g.expired.covers(id)).toBe(true);
    expect(g.expired.covers(c.node("n2").nodeId)).toBe(false);
    const g0 = c.node("n0").gossip.refusalEntries;
    expect(g0.expired + g0.toldRefused).toBeLessThanOrEqual(2);
    expect(c.check()).toEqual([]);
  });

  // A partition longer than the timeout: each side expires the other (the cut-off node also
  // collects its own removals alone), and neither takes anything from the other afterwards.
  it("a partition past the GC timeout: both sides expire each other and stay apart until the cut-off node restarts empty", () => {
    const c = new SimCluster(31, 3, QUIET_NET, { ...OPTS, peerGcTimeoutMs: 3000 });
    c.node("n2").run("sadd", "s", "a", "b");
    c.settle();
    const ids = c.nodes.map((n) => n.nodeId);
    c.partition([["n0", "n1"], ["n2"]]);
    c.node("n0").run("srem", "s", "a");
    c.node("n2").run("srem", "s", "b");
    c.node("n2").run("set", "alone", "1");
    c.advance(10_000);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect([...c.node("n2").gossip.expired.ids()].sort()).toEqual([ids[0], ids[1]]);
    c.heal();
    c.advance(10_000);
    for (const n of ["n0", "n1"]) expect(c.node(n).run("smembers", "s")).toEqual([Buffer.from("b")]);
    expect(c.node("n2").run("smembers", "s")).toEqual([Buffer.from("a")]);
    expect(c.node("n0").run("exists", "alone")).toBe(0);
    c.node("n2").restart(); // (its write made alone is lost, as its incarnation is)
    c.settle();
    for (const n of c.nodes) expect(n.run("smembers", "s")).toEqual([Buffer.from("b")]);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
  });

  it("a write concurrent with a delete on the partitioned side survives, and the delete is still collected", () => {
    const c = new SimCluster(23, 3, QUIET_NET, OPTS);
    c.node("n0").run("sadd", "s", "a");
    c.settle();
    c.partition([["n0", "n1"], ["n2"]]);
    c.node("n0").run("del", "s");
    c.node("n2").run("sadd", "s", "c"); // concurrent: add-wins keeps c, the observed a goes
    c.advance(5000);
    c.settle();
    for (const n of c.nodes) expect(n.run("smembers", "s")).toEqual([Buffer.from("c")]);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
  });

  it("a list with a TTL emptied by pops leaves no state behind: its TTL is removed with its last element and the key is collected", () => {
    const c = new SimCluster(25, 3, QUIET_NET, OPTS);
    c.node("n0").run("rpush", "q", "a", "b", "c");
    c.node("n0").run("pexpire", "q", "100000000");
    c.node("n1").run("rpush", "q2", "x");
    c.node("n1").run("expire", "q2", "100000");
    c.settle();
    c.node("n1").run("lpop", "q", "3");
    c.node("n2").run("rpop", "q2");
    c.settle();
    for (const n of c.nodes) {
      expect(n.run("exists", "q", "q2")).toBe(0);
      expect(n.rep.store.get("0:q")).toBeUndefined();
      expect(n.rep.store.get("0:q2")).toBeUndefined();
    }
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
  });

  it("a crashed replica does not hold GC back forever: its restarted incarnation catches up and removals are collected", () => {
    const c = new SimCluster(24, 3, QUIET_NET, OPTS);
    for (let i = 0; i < 10; i++) c.node("n2").run("sadd", "s", `m${i}`);
    c.settle();
    c.node("n2").restart();
    for (let i = 0; i < 10; i += 2) c.node("n0").run("srem", "s", `m${i}`);
    c.settle();
    for (const n of c.nodes) expect(n.run("scard", "s")).toBe(5);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
  });

  // A removal's floor names every incarnation whose writes it removed; crashed ones become
  // stable only once gossip sees they departed. All of them must be found in one sweep: found
  // one per sweep (the stability check stops at the first unstable component), each waited a
  // whole stability cycle and grace period for the previous one (simulation seed 1975).
  it("a deletion over writes of several crashed incarnations is collected once they are known departed, not one incarnation per cycle", () => {
    const c = new SimCluster(29, 3, QUIET_NET, OPTS);
    for (let i = 0; i < 6; i++) {
      const n = c.nodes[1 + (i % 2)];
      n.run("sadd", "k", `m${i}`);
      c.advance(200); // delivered before the crash
      n.restart();
    }
    c.settle();
    expect(c.node("n0").run("scard", "k")).toBe(6);
    c.node("n0").run("del", "k");
    const floor = [...c.node("n0").rep.store.get("0:k")!.floor.keys()];
    expect(floor.filter((id) => id !== c.node("n0").nodeId).length).toBe(6); // n1~1..3, n2~1..3
    c.settle();
    for (const n of c.nodes) expect(n.run("exists", "k")).toBe(0);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
  });

  // A peer is one node, whatever address it was added under: n0 links to n1 twice (as with
  // CRDT.PEER ADD localhost ... and 127.0.0.1 ...). Stability waits for node n1 once, not for
  // a second link that shares n1's inbound stream.
  it("a peer added under two addresses is one node: GC still collects", () => {
    const c = new SimCluster(26, 3, QUIET_NET, OPTS);
    const alias = c.node("n0").gossip.addPeer("n1-alias", c.linkSend("n0", "n1", "n1-alias"));
    alias.reset = () => c.resetLink("n0", "n1");
    for (let i = 0; i < 20; i++) c.nodes[i % 3].run("sadd", "s", `m${i}`);
    c.settle();
    for (let i = 0; i < 20; i += 2) c.nodes[(i + 1) % 3].run("srem", "s", `m${i}`);
    c.node("n0").run("set", "gone", "1");
    c.settle();
    c.node("n1").run("del", "gone");
    c.settle();
    for (const n of c.nodes) expect(n.run("scard", "s")).toBe(10);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
    // one node, waited for once, and (once identified) sent one delta stream, not two epochs fighting over n1's inbound stream
    expect([...c.node("n0").gossip.covered.keys()].sort()).toEqual(["n1", "n2"]);
    const main = c.node("n0").gossip.peers.get("n1")!;
    expect([main.duplicateOf, alias.duplicateOf].filter(Boolean).length).toBe(1);
  });

  it("a peer removed under one address and added again under another is still the same node for GC", () => {
    const c = new SimCluster(27, 3, QUIET_NET, OPTS);
    c.node("n0").run("sadd", "s", "a", "b");
    c.settle();
    c.node("n0").gossip.removePeer("n2");
    const again = c.node("n0").gossip.addPeer("n2-new-address", c.linkSend("n0", "n2", "n2-new-address"));
    again.reset = () => c.resetLink("n0", "n2");
    c.node("n0").run("srem", "s", "a");
    c.settle();
    for (const n of c.nodes) expect(n.run("smembers", "s")).toEqual([Buffer.from("b")]);
    expect(tombstones(c)).toEqual([0, 0, 0]);
    expect(c.check()).toEqual([]);
  });

  it("counter reset points on a live key are collected once each node counts again after the reset, and the value stays", () => {
    const c = new SimCluster(28, 3, QUIET_NET, OPTS);
    c.node("n0").run("incrby", "n", "5");
    c.node("n1").run("incrby", "n", "7");
    c.node("n0").run("hincrby", "h", "f", "3");
    c.node("n1").run("hincrby", "h", "f", "4");
    c.settle();
    c.partition([["n0", "n1"], ["n2"]]);
    c.node("n2").run("set", "n", "100"); // resets what n2 saw: both totals
    c.node("n2").run("hset", "h", "f", "10");
    c.node("n0").run("incrby", "n", "1"); // concurrent with the reset: counts on top of it
    c.settle();
    for (const n of c.nodes) expect(n.run("get", "n")).toEqual(Buffer.from("101"));
    for (const n of c.nodes) expect(n.run("hget", "h", "f")).toEqual(Buffer.from("10"));
    c.node("n0").run("incrby", "n", "2");
    c.node("n1").run("incrby", "n", "3");
    c.node("n0").run("hincrby", "h", "f", "1");
    c.node("n1").run("hincrby", "h", "f", "1");
    c.settle();
    for (const n of c.nodes) {
      expect(n.run("get", "n")).toEqual(Buffer.from("106"));
      expect(n.run("hget", "h", "f")).toEqual(Buffer.from("12"));
      expect(n.rep.store.get("0:n")!.cntBase.size).toBe(0);
      expect(n.rep.store.get("0:h")!.hcnt.get("f")!.base.size).toBe(0);
    }
    expect(c.check()).toEqual([]);
  });
});
