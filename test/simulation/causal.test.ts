// One node's writes reach every other node in the order it made them (README, "causal
// delivery of one node's updates"): a lost delta is waited for and resent, never skipped,
// even when it was the first of a stream the receiver had not seen yet.
import { describe, it, expect } from "vitest";
import { SimCluster } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";

const OPTS = { ...DEFAULT_GOSSIP, retryMs: 50, maxRetryMs: 200, antiEntropyMs: 60_000, gcGraceMs: 1000 };
const NET = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 5 };

/** Drops the first `n` DELTA messages from -> to (MSG_DELTA is 1). */
function dropDeltas(c: SimCluster, from: string, to: string, n: number): void {
  const send = c.send.bind(c);
  let left = n;
  c.send = (f, t, msg, inc) => {
    if (f === from && t === to && msg[0] === 1 && left > 0) { left--; return; }
    send(f, t, msg, inc);
  };
}

describe("per-node delivery order", () => {
  it("when a node's first delta to a peer is lost, the later ones wait for its resend", () => {
    const c = new SimCluster(61, 2, NET, OPTS);
    dropDeltas(c, "n0", "n1", 1);
    c.node("n0").run("set", "a", "1");
    c.node("n0").run("set", "b", "2");
    c.node("n0").run("set", "c", "3");
    let sawLaterFirst = false;
    for (let i = 0; i < 200; i++) {
      c.advance(5);
      const n1 = c.node("n1");
      const [a, b, cc] = ["a", "b", "c"].map((k) => n1.run("exists", k));
      if ((b || cc) && !a) sawLaterFirst = true;
      if (cc && !b) sawLaterFirst = true;
    }
    expect(sawLaterFirst).toBe(false);
    for (const k of ["a", "b", "c"]) expect(c.node("n1").run("exists", k)).toBe(1);
  });

  it("a lost delta in the middle of a stream: the ones after it wait too", () => {
    const c = new SimCluster(62, 2, NET, OPTS);
    c.node("n0").run("set", "x", "0");
    c.settle();
    dropDeltas(c, "n0", "n1", 1);
    c.node("n0").run("rpush", "l", "first");
    c.node("n0").run("rpush", "l", "second");
    let bad = false;
    for (let i = 0; i < 200; i++) {
      c.advance(5);
      const l = (c.node("n1").run("lrange", "l", "0", "-1") as Buffer[]).map(String);
      if (l.length === 1 && l[0] === "second") bad = true;
    }
    expect(bad).toBe(false);
    expect((c.node("n1").run("lrange", "l", "0", "-1") as Buffer[]).map(String)).toEqual(["first", "second"]);
  });
});
