// A peer whose link is down (the transport says so: PeerStream.connected, set by
// peer-link.ts): the node keeps at most maxDownBacklog batches for it, then drops the backlog
// and queues nothing more until the link is back, and starts no anti-entropy rounds with it
// (each would hash every key changed since the last one, for a digest that goes nowhere).
// When the link returns, the round it starts brings the peer everything.
import { describe, it, expect } from "vitest";
import { SimCluster } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";

const OPTS = { ...DEFAULT_GOSSIP, antiEntropyMs: 300, gcGraceMs: 1000, maxDownBacklog: 50 };
const QUIET_NET = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 20 };

describe("a peer whose link is down", () => {
  it("gets a bounded backlog and no anti-entropy rounds while down, and everything once the link is back", () => {
    const c = new SimCluster(41, 2, QUIET_NET, OPTS);
    const [a, b] = c.nodes;
    a.run("set", "before", "1");
    c.settle();
    const link = a.gossip.peers.get("n1")!;
    c.partition([["n0"], ["n1"]]);
    link.connected = false; // (as peer-link.ts marks it when the connection closes)
    const rounds = a.gossip.stats.antiEntropyRounds;
    for (let i = 0; i < 400; i++) {
      a.run("set", `k${i}`, "v");
      a.run("sadd", "s", `m${i}`);
      if (i % 20 === 0) c.advance(50);
    }
    c.advance(5000);
    expect(link.backlog.length).toBe(0); // dropped at the bound, nothing queued since
    expect(link.droppedBacklogs).toBe(1);
    expect(link.parked).toBe(true);
    expect(a.gossip.stats.antiEntropyRounds).toBe(rounds);
    // the link comes back: the round it starts (peer-link.ts up) repairs everything
    c.heal();
    link.connected = true;
    a.gossip.antiEntropyWith(link);
    a.run("set", "after", "1"); // (queued again: its stream waits for the round's copy)
    c.settle();
    expect(link.parked).toBe(false);
    expect(b.run("dbsize")).toBe(403);
    expect(b.run("scard", "s")).toBe(400);
    expect(b.run("get", "after")).toEqual(Buffer.from("1"));
    expect(c.check()).toEqual([]);
  });

  it("with pacing, hashes changed keys as fast as writes change them while a link is up, none while every link is down, and a digest waits for the hashing instead of doing it in one turn", () => {
    // (slicedAnswers: a server's pacing, one key or chunk per 10 ms step; digestsSlicedFrom
    // 100 stands for the server's 2,048)
    const c = new SimCluster(43, 2, QUIET_NET, { ...OPTS, digestsSlicedFrom: 100 }, true);
    const [a, b] = c.nodes;
    a.run("set", "before", "1");
    c.settle();
    const link = a.gossip.peers.get("n1")!;
    let most = 0;
    for (let i = 0; i < 1200; i++) {
      a.run("set", `u${i}`, "v");
      if (i % 40 === 39) { c.advance(10); most = Math.max(most, a.rep.store.dirtyCount); }
    }
    // each step hashed at least the keys changed since the step before (40), so what waits
    // stays near the threshold plus a step's writes (with one key per step it grew by 39 a step)
    expect(most).toBeLessThan(200);
    c.settle();
    c.partition([["n0"], ["n1"]]);
    link.connected = false;
    const dirty0 = a.rep.store.dirtyCount;
    for (let i = 0; i < 1200; i++) {
      a.run("set", `k${i % 600}`, "v" + i);
      if (i % 40 === 39) c.advance(10);
    }
    // no link up: no digest is coming, nothing is hashed (each key once, later)
    expect(a.rep.store.dirtyCount).toBe(dirty0 + 600);
    // the link comes back right after a burst of writes: the round's digest waits until they
    // are hashed, over later steps, instead of hashing them in this turn
    c.heal();
    link.connected = true;
    for (let i = 0; i < 500; i++) a.run("set", `j${i}`, "v");
    const rounds = a.gossip.stats.antiEntropyRounds;
    a.gossip.antiEntropyWith(link);
    expect(a.gossip.stats.antiEntropyRounds).toBe(rounds);
    expect(a.rep.store.dirtyCount).toBeGreaterThan(1000);
    c.advance(50);
    expect(a.rep.store.dirtyCount).toBeGreaterThan(0);
    c.settle();
    expect(a.gossip.stats.antiEntropyRounds).toBeGreaterThan(rounds);
    expect(b.run("dbsize")).toBe(2301);
    expect(c.check()).toEqual([]);
  });

  it("with a peer never up, keys are parked and packed while nothing is stable, nothing is collected, and all converges once it is up", () => {
    // (with pacing: the parking runs a slice per step, as the periodic sweep)
    const c = new SimCluster(45, 2, QUIET_NET, OPTS, true);
    const [a, b] = c.nodes;
    c.partition([["n0"], ["n1"]]);
    const link = a.gossip.peers.get("n1")!;
    link.connected = false;
    for (let i = 0; i < 300; i++) {
      a.run("set", `k${i}`, "v");
      if (i % 3 === 0) a.run("del", `k${i}`);
      if (i % 20 === 0) c.advance(50);
    }
    a.run("sadd", "s", "m1", "m2");
    a.run("srem", "s", "m1");
    c.advance(2000);
    const st = a.rep.store;
    expect(a.gossip.gcStable.size + a.gossip.gcFinal.size).toBe(0);
    expect(st.gcStable).toBeUndefined();
    expect(st.gcStats).toMatchObject({ sweeps: 0, keysDropped: 0, keysCollected: 0 });
    expect(st.gcStats.parkSweeps).toBeGreaterThan(0);
    // every key packed (the deleted ones too), its tombstones still counted, none hashed
    expect(st.keys.size).toBe(301);
    expect(st.packStats.now).toBe(301);
    expect(st.tombstoneCount()).toBe(101);
    expect(st.tombstoneRecount()).toBe(101);
    expect(st.dirtyCount).toBe(301);
    // the link comes up: the round repairs everything, stability follows, the tombstones go
    c.heal();
    link.connected = true;
    a.gossip.antiEntropyWith(link);
    c.settle();
    expect(b.run("dbsize")).toBe(201);
    expect(b.run("smembers", "s")).toEqual([Buffer.from("m2")]);
    c.advance(5000);
    c.settle();
    expect(st.gcStats.sweeps).toBeGreaterThan(0);
    expect(st.gcStats.keysDropped).toBe(100);
    expect(st.tombstoneCount()).toBe(0);
    expect(b.rep.store.tombstoneCount()).toBe(0);
    expect(c.check()).toEqual([]);
  });

  it("a large answer to a node catching up is joined a slice per turn, its clients answered -LOADING until all of it is in", () => {
    // (slicedJoinFrom 100 stands for the server's 10,000; one slice of 64 keys per 10 ms step)
    const c = new SimCluster(44, 2, QUIET_NET, { ...OPTS, slicedJoinFrom: 100 }, true);
    const [a, b] = c.nodes;
    for (let i = 0; i < 400; i++) a.run("set", `k${i}`, `v${i}`);
    c.settle();
    b.restart(); // (empty: it gets a's 400 keys in one answer)
    let loading = 0, partial = 0;
    for (let i = 0; i < 1000 && b.gossip.stats.slicedJoins + b.gossip.joining === 0 || b.gossip.joining > 0; i++) {
      c.advance(10);
      if (b.gossip.joining === 0) continue;
      const got = b.run("get", "k1") as { error?: string };
      if (got?.error?.startsWith("LOADING")) loading++;
      const held = b.rep.store.keys.size;
      if (held > 0 && held < 400) partial++;
      expect(b.run("config", "get", "maxmemory")).toHaveLength(2); // (a command allowed while loading runs)
    }
    expect(b.gossip.stats.slicedJoins).toBeGreaterThanOrEqual(1);
    expect(partial).toBeGreaterThan(2); // (joined over several steps...)
    expect(loading).toBeGreaterThan(2); // (...while clients were told to wait)
    expect(b.run("get", "k399")).toEqual(Buffer.from("v399"));
    c.settle();
    expect(b.run("dbsize")).toBe(400);
    expect(c.check()).toEqual([]);
  });
});
