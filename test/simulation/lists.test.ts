// What lists do under active-active replication today (README, "Lists"): a list replicates
// as one last-writer-wins value. Concurrent pushes on two nodes keep the whole list of the
// later write (greater HLC timestamp, then node id) on every node; the other node's push is
// lost. Pins the documented rule so a change to it is deliberate.
import { describe, it, expect } from "vitest";
import { SimCluster } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";

const OPTS = { ...DEFAULT_GOSSIP, antiEntropyMs: 300, gcGraceMs: 1000 };
const NET = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 20 };
const strs = (v: unknown) => (v as Buffer[]).map(String);

describe("lists: last writer wins on the whole list", () => {
  it("concurrent RPUSHes on two nodes: the later push's whole list is the list everywhere", () => {
    const c = new SimCluster(31, 3, NET, OPTS);
    c.node("n0").run("rpush", "l", "base");
    c.settle();
    c.partition([["n0"], ["n1", "n2"]]);
    c.node("n0").run("rpush", "l", "from-n0");
    c.advance(50);
    c.node("n1").run("rpush", "l", "from-n1"); // later: wins
    c.settle();
    for (const n of c.nodes) expect(strs(n.run("lrange", "l", "0", "-1"))).toEqual(["base", "from-n1"]);
    expect(c.check()).toEqual([]);
  });

  it("pushes at the same clock reading: the greater node id wins, on every node", () => {
    const c = new SimCluster(32, 2, NET, OPTS);
    c.partition([["n0"], ["n1"]]);
    c.node("n0").run("lpush", "l", "a");
    c.node("n1").run("lpush", "l", "b");
    c.settle();
    for (const n of c.nodes) expect(strs(n.run("lrange", "l", "0", "-1"))).toEqual(["b"]);
  });

  it("a pop concurrent with a pop of the same element: each node served its own pop, the lists converge", () => {
    const c = new SimCluster(33, 2, NET, OPTS);
    c.node("n0").run("rpush", "q", "job1", "job2", "job3");
    c.settle();
    c.partition([["n0"], ["n1"]]);
    expect(String(c.node("n0").run("lpop", "q"))).toBe("job1");
    c.advance(10);
    expect(String(c.node("n1").run("lpop", "q"))).toBe("job1"); // popped twice: documented
    c.settle();
    for (const n of c.nodes) expect(strs(n.run("lrange", "q", "0", "-1"))).toEqual(["job2", "job3"]);
  });
});
