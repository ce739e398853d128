// Causal order across keys when writes arrive by anti-entropy (README, "Delivery order"):
// a node never shows a write without every write its origin had made or seen before it,
// even when the deltas never reach it and anti-entropy sends whole key states, in chunks
// that the network reorders. Each node writes fresh keys <node>-1, <node>-2... in order,
// and now and then a key dep-<node>-<j> whose value is the latest other node's key it had
// seen; at every step of virtual time, on every node, each origin's keys present must be a
// prefix 1..m, and a dep key present must come with the key it names.
import { describe, it, expect } from "vitest";
import { fc, fcParams } from "../helpers/fc.js";
import { SimCluster } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";

const MSG_DELTA = 1;

function violations(c: SimCluster, written: Map<string, number>): string[] {
  const out: string[] = [];
  for (const n of c.nodes) {
    for (const [origin, count] of written) {
      let gap = 0;
      for (let i = 1; i <= count; i++) {
        const here = n.run("exists", `${origin}-${i}`) === 1;
        if (!here) { if (!gap) gap = i; } else if (gap) { out.push(`${n.name} shows ${origin}-${i} without ${origin}-${gap}`); break; }
      }
    }
    for (const k of (n.run("keys", "dep-*") as Buffer[]).map(String)) {
      const named = String(n.run("get", k));
      if (named !== "none" && n.run("exists", named) !== 1) out.push(`${n.name} shows ${k} without ${named}, which its writer had seen`);
    }
  }
  return out;
}

/** One run: deltas to `isolated` are all lost (it learns only by anti-entropy), chunks of one key each. */
function run(seed: number, steps: number, maxDelay: number): string[] {
  const c = new SimCluster(seed, 3, { dropRate: 0.05, dupRate: 0.05, minDelay: 1, maxDelay },
    { ...DEFAULT_GOSSIP, retryMs: 30, maxRetryMs: 200, antiEntropyMs: 50, chunkKeys: 1, gcGraceMs: 1000 });
  const isolated = c.names[c.int(0, 2)];
  const send = c.send.bind(c);
  c.send = (f, t, msg, inc) => { if (t === isolated && msg[0] === MSG_DELTA) return; send(f, t, msg, inc); };
  const written = new Map<string, number>();
  const problems: string[] = [];
  for (let step = 0; step < steps; step++) {
    const n = c.nodes[c.int(0, 2)];
    if (c.rand() < 0.7) {
      const i = (written.get(n.name) ?? 0) + 1;
      n.run("set", `${n.name}-${i}`, String(i));
      written.set(n.name, i);
    } else {
      // the latest key of another node this node shows
      const other = c.names.filter((x) => x !== n.name)[c.int(0, 1)];
      let seen = "none";
      for (let i = written.get(other) ?? 0; i > 0; i--) if (n.run("exists", `${other}-${i}`) === 1) { seen = `${other}-${i}`; break; }
      n.run("set", `dep-${n.name}-${step}`, seen);
    }
    c.advance(c.int(0, 40));
    problems.push(...violations(c, written));
    if (problems.length) return problems;
  }
  c.settle();
  problems.push(...violations(c, written));
  for (const [origin, count] of written) {
    if (c.node(isolated).run("exists", `${origin}-${count}`) !== 1) problems.push(`${isolated} never got ${origin}-${count}`);
  }
  return problems;
}

describe("causal order across keys by anti-entropy", () => {
  it("a node that gets every write by anti-entropy shows each origin's writes as a prefix, and dependent writes after what they saw", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 0x7fffffff }), fc.integer({ min: 10, max: 60 }), fc.integer({ min: 1, max: 120 }), (seed, steps, maxDelay) => {
      const problems = run(seed, steps, maxDelay);
      if (problems.length) throw new Error(`seed ${seed}, steps ${steps}, maxDelay ${maxDelay}: ${problems.slice(0, 4).join("; ")}`);
    }), fcParams(15));
  }, 300_000);

  it("a fixed case: writes reordered across anti-entropy chunks", () => {
    expect(run(7, 40, 100)).toEqual([]);
  });
});
