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
});
