// Batches that wait for the window (gossip.ts broadcast): while a peer has a full window of
// unacknowledged messages, the batches cut meanwhile are merged into one message of up to
// MERGE_BYTES instead of one message (and one ack, one backlog entry) each. A burst of
// pipelined SETs cut a batch of ~16 keys per client read; 1M of them were 62,500 messages.
import { describe, it, expect } from "vitest";
import { SimCluster } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";

const OPTS = { ...DEFAULT_GOSSIP, antiEntropyMs: 300, gcGraceMs: 1000 };
const QUIET_NET = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 20 };

describe("batches waiting for the window", () => {
  it("leave merged, apply in order on the peer, and the peer ends equal", () => {
    const c = new SimCluster(7, 2, QUIET_NET, OPTS);
    const [a, b] = c.nodes;
    a.run("set", "first", "1");
    c.settle();
    const link = a.gossip.peers.get("n1")!;
    const sent = a.gossip.stats.sent;
    // 3,000 batches (one per command here) with no time passing: no ack comes back, so all
    // but the first window wait, and merge
    for (let i = 0; i < 3000; i++) a.run("set", `k${i}`, `v${i}`);
    a.run("del", "k5");
    a.run("incr", "k6x");
    expect(link.backlog.length).toBeLessThan(OPTS.window + 10);
    c.settle();
    const messages = a.gossip.stats.sent - sent;
    expect(messages).toBeLessThan(OPTS.window + 10);
    expect(a.gossip.stats.resent).toBe(0);
    expect(b.run("dbsize")).toBe(3001);
    expect(b.run("get", "k2999")).toEqual(Buffer.from("v2999"));
    expect(b.run("get", "k5")).toBe(null);
    expect(b.run("get", "k6x")).toEqual(Buffer.from("1"));
    expect(c.check()).toEqual([]);
  });

  it("a lossy, reordering network still delivers every merged batch in order", () => {
    const c = new SimCluster(11, 3, { dropRate: 0.2, dupRate: 0.1, minDelay: 1, maxDelay: 80 }, OPTS);
    const [a] = c.nodes;
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 500; i++) a.run("set", `k${i}`, `r${round}`);
      for (let i = 0; i < 50; i++) a.run("rpush", "l", `${round}:${i}`);
      c.advance(30);
    }
    c.settle();
    for (const n of c.nodes) {
      expect(n.run("get", "k499")).toEqual(Buffer.from("r4"));
      expect(n.run("llen", "l")).toBe(250);
    }
    expect(c.check()).toEqual([]);
  });
});
