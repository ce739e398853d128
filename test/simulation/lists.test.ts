// Lists under active-active replication (README, "Lists"): a sequence CRDT (src/replication/
// seq.ts). Concurrent pushes, inserts, pops, LREM, LSET and LTRIM on different nodes all
// take effect, interleave in one deterministic order, and every node ends with the same list;
// an element popped on two nodes at once is returned to both clients and removed once.
import { describe, it, expect } from "vitest";
import { SimCluster } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";

const OPTS = { ...DEFAULT_GOSSIP, antiEntropyMs: 300, gcGraceMs: 1000 };
const NET = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 20 };
const strs = (v: unknown) => (v as Buffer[]).map(String);

/** Every node's list; fails unless they are all the same. */
function converged(c: SimCluster, key: string): string[] {
  const lists = c.nodes.map((n) => strs(n.run("lrange", key, "0", "-1")));
  for (const l of lists) expect(l).toEqual(lists[0]);
  expect(c.check()).toEqual([]);
  return lists[0];
}

/** Two partitions [n0] and [n1, ...] after a common list `init` has replicated. */
function split(seed: number, init: string[], nodes = 2): SimCluster {
  const c = new SimCluster(seed, nodes, NET, OPTS);
  if (init.length) c.node("n0").run("rpush", "l", ...init);
  c.settle();
  c.partition([["n0"], c.names.slice(1)]);
  return c;
}

describe("lists: a sequence CRDT", () => {
  it("concurrent RPUSHes on two nodes: both elements are there, in the same order everywhere", () => {
    const c = split(31, ["base"], 3);
    c.node("n0").run("rpush", "l", "from-n0");
    c.advance(50);
    c.node("n1").run("rpush", "l", "from-n1");
    c.settle();
    const l = converged(c, "l");
    expect(l[0]).toBe("base");
    expect(l.slice(1).sort()).toEqual(["from-n0", "from-n1"]);
  });

  it("concurrent LPUSH, RPUSH and LINSERT on two nodes all land, around the elements they were next to", () => {
    const c = split(32, ["a", "b", "c"]);
    c.node("n0").run("lpush", "l", "x1", "x2");
    c.node("n0").run("linsert", "l", "after", "a", "ab");
    c.node("n1").run("rpush", "l", "y1", "y2");
    c.node("n1").run("linsert", "l", "before", "c", "bc");
    c.settle();
    expect(converged(c, "l")).toEqual(["x2", "x1", "a", "ab", "b", "bc", "c", "y1", "y2"]);
  });

  it("runs pushed at the same end on two nodes interleave deterministically: the same result whichever node's delta arrives first", () => {
    const results: string[][] = [];
    for (const [first, second] of [["n0", "n1"], ["n1", "n0"]]) {
      const c = split(33, ["z0"]);
      c.node("n0").run("rpush", "l", "a1", "a2", "a3");
      c.node("n1").run("rpush", "l", "b1", "b2", "b3");
      // deliver one side's push before the other's
      c.partition([[first], [second]]);
      c.heal();
      c.settle();
      results.push(converged(c, "l"));
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[0].filter((v) => v.startsWith("a"))).toEqual(["a1", "a2", "a3"]);
    expect(results[0].filter((v) => v.startsWith("b"))).toEqual(["b1", "b2", "b3"]);
  });

  it("the same element popped on two nodes at once: both clients get it, and it is removed once", () => {
    const c = split(34, ["job1", "job2", "job3"]);
    expect(String(c.node("n0").run("lpop", "l"))).toBe("job1");
    expect(String(c.node("n1").run("lpop", "l"))).toBe("job1"); // popped on both sides: documented
    c.settle();
    expect(converged(c, "l")).toEqual(["job2", "job3"]);
  });

  it("pops of different elements on two nodes both take effect", () => {
    const c = split(35, ["job1", "job2", "job3", "job4"]);
    expect(String(c.node("n0").run("lpop", "l"))).toBe("job1");
    expect(String(c.node("n1").run("rpop", "l"))).toBe("job4");
    c.settle();
    expect(converged(c, "l")).toEqual(["job2", "job3"]);
  });

  it("a pop wins over a concurrent LSET of the same element", () => {
    const c = split(36, ["a", "b"]);
    c.node("n0").run("lpop", "l");
    c.advance(10);
    c.node("n1").run("lset", "l", "0", "A");
    c.settle();
    expect(converged(c, "l")).toEqual(["b"]);
  });

  it("concurrent LSETs of one element: the later write wins; LSETs of different elements both apply", () => {
    const c = split(37, ["a", "b", "c"]);
    c.node("n0").run("lset", "l", "0", "A0");
    c.node("n0").run("lset", "l", "2", "C0");
    c.advance(10);
    c.node("n1").run("lset", "l", "0", "A1");
    c.settle();
    expect(converged(c, "l")).toEqual(["A1", "b", "C0"]);
  });

  it("LREM and LTRIM remove only the elements they saw: concurrent pushes survive", () => {
    const c = split(38, ["x", "a", "x", "b", "x"]);
    c.node("n0").run("lrem", "l", "0", "x");
    c.node("n0").run("ltrim", "l", "0", "0");
    c.node("n1").run("rpush", "l", "x", "new");
    c.node("n1").run("lpush", "l", "head");
    c.settle();
    expect(converged(c, "l")).toEqual(["head", "a", "x", "new"]);
  });

  it("DEL of a list removes what the deleting node saw; an element pushed concurrently elsewhere survives", () => {
    const c = split(39, ["a", "b"]);
    c.node("n0").run("del", "l");
    c.node("n1").run("rpush", "l", "late");
    c.settle();
    expect(converged(c, "l")).toEqual(["late"]);
  });

  it("a pushed element's copy on another node keeps its identity: popping it there removes it everywhere", () => {
    const c = split(40, ["a", "b"], 3);
    c.heal();
    c.node("n1").run("rpush", "l", "c");
    c.settle();
    expect(String(c.node("n2").run("rpop", "l"))).toBe("c");
    c.settle();
    expect(converged(c, "l")).toEqual(["a", "b"]);
  });

  it("removed elements are garbage-collected once every node has the removal", () => {
    const c = split(41, ["a", "b", "c", "d"], 3);
    c.heal();
    c.node("n0").run("lpop", "l");
    c.node("n1").run("rpop", "l");
    c.node("n2").run("lrem", "l", "0", "b");
    c.settle();
    expect(converged(c, "l")).toEqual(["c"]);
    for (const n of c.nodes) {
      expect(n.rep.store.tombstoneCount()).toBe(0);
      expect(n.rep.store.get("0:l")!.list.elems.size).toBe(1);
    }
  });

  it("random list edits on 3 nodes under partitions, loss and duplication converge to one list (many seeds)", () => {
    const ops = ["lpush", "rpush", "lpop", "rpop", "linsert", "lrem", "lset", "ltrim", "rpoplpush", "del"];
    const seeds = Number(process.env.SIM_LIST_SEEDS ?? "20");
    for (let seed = 1; seed <= seeds; seed++) {
      const c = new SimCluster(1000 + seed, 3, { dropRate: 0.1, dupRate: 0.1, minDelay: 1, maxDelay: 60 }, OPTS);
      for (let i = 0; i < 200; i++) {
        const n = c.nodes[c.int(0, 2)];
        const v = `v${c.int(0, 20)}`;
        switch (ops[c.int(0, ops.length - 1)]) {
          case "lpush": n.run("lpush", "l", v); break;
          case "rpush": n.run("rpush", "l", v, `${v}'`); break;
          case "lpop": n.run("lpop", "l"); break;
          case "rpop": n.run("rpop", "l"); break;
          case "linsert": n.run("linsert", "l", c.rand() < 0.5 ? "before" : "after", `v${c.int(0, 20)}`, v); break;
          case "lrem": n.run("lrem", "l", String(c.int(-2, 2)), `v${c.int(0, 20)}`); break;
          case "lset": n.run("lset", "l", String(c.int(-3, 3)), v); break;
          case "ltrim": if (c.rand() < 0.2) n.run("ltrim", "l", "1", "-2"); break;
          case "rpoplpush": n.run("rpoplpush", "l", "l"); break;
          case "del": if (c.rand() < 0.1) n.run("del", "l"); break;
        }
        const r = c.rand();
        if (r < 0.03) c.partition([[c.names[c.int(0, 2)]], []].map((g, i) => (i ? c.names.filter((x) => !g.includes(x)) : g)));
        else if (r < 0.05) c.heal();
        c.advance(c.int(0, 20));
      }
      c.settle();
      const lists = c.nodes.map((n) => strs(n.run("lrange", "l", "0", "-1")).join(","));
      expect(new Set(lists).size, `seed ${seed}`).toBe(1);
      expect(c.check(), `seed ${seed}`).toEqual([]);
      for (const n of c.nodes) expect(n.rep.store.tombstoneCount(), `seed ${seed}`).toBe(0);
    }
  }, 300_000);
});
