// The window CrdtStore.gcHold closes (Replicator.holdSaved, loaded-keys.ts): a node restarted
// from a file whose states wait for every peer's answer, while it already holds the peers'
// tombstone of a key its file still holds alive, must not collect that tombstone before it
// joins the file's state. Stability treats the departed incarnation's writes as held
// everywhere, but the restarted node holds the key's write only in its waiting file state: with
// the tombstone collected first, the join brought the key back, and the node sent it to the
// others as a live key (a deleted key coming back, issue #7's KeyDB failure mode).
//
// Three nodes. A writes x and everybody has it; A is cut off, B deletes x, A saves its file (x
// alive) and restarts from it. C answers A's digests late (its answers to A are lost; C's own
// rounds with A go through, so C finds A equal and stability is reached); A collects
// tombstones after 200 ms, B and C after a minute, so A would collect before them. Then C's
// answers get through: A decides (nobody has collected yet, so the file passes) and joins x's
// file state.
import { describe, it, expect } from "vitest";
import { SimCluster } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";
import { Replicator } from "../../src/replication/replicator.js";

const MSG_RANGES = 4, MSG_SAME = 5, ROLE_REPLY = 1;

function run(gcHold: boolean): { xOn: string[]; aHeldTombstone: boolean; decided: boolean } {
  const orig = Replicator.prototype.holdSaved;
  if (!gcHold) Replicator.prototype.holdSaved = function (states) { orig.call(this, states); this.store.gcHold = undefined; };
  try {
    const c = new SimCluster(1, 3, { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 5 },
      { ...DEFAULT_GOSSIP, retryMs: 50, maxRetryMs: 400, antiEntropyMs: 300, maxBacklog: 40, gcGraceMs: 200 });
    const [a, b, cc] = c.nodes;
    // B and C collect a minute after stability (from their next boot: now, empty)
    for (const n of [b, cc]) { c.nodeOptions.set(n.name, { gcGraceMs: 60_000 }); n.restart(); }
    c.advance(2_000);
    a.run("set", "x", "v");
    c.advance(3_000);
    expect(b.run("get", "x")?.toString()).toBe("v");
    c.partition([[a.name], [b.name, cc.name]]);
    expect(b.run("del", "x")).toBe(1);
    c.advance(1_000);
    a.save();
    a.restartFrom();
    // C's answers to the restarted A's digests are lost (its own rounds with A go through)
    const g = a.gossip;
    const deliver = g.onMessage.bind(g);
    let late = true;
    g.onMessage = (from, msg, reply) => {
      if (late && from === cc.name && (msg[0] === MSG_SAME || (msg[0] === MSG_RANGES && msg[2] === ROLE_REPLY))) return;
      deliver(from, msg, reply);
    };
    c.heal();
    c.advance(10_000);
    const decided = !a.loaded!.deciding;
    const aHeldTombstone = a.rep.store.get("0:x") !== undefined;
    late = false;
    c.advance(10_000);
    // and B and C collect too
    c.advance(70_000);
    const xOn = c.nodes.filter((n) => n.run("exists", "x") === 1).map((n) => n.name);
    return { xOn, aHeldTombstone, decided };
  } finally {
    Replicator.prototype.holdSaved = orig;
  }
}

describe("simulation: a restarted node does not collect a tombstone its waiting file state needs", () => {
  it("x deleted while A was cut off stays deleted after A restarts from a file holding it", () => {
    const r = run(true);
    // (the window is there: A had not decided after 10 s, and held x's tombstone)
    expect([r.decided, r.aHeldTombstone]).toEqual([false, true]);
    expect(r.xOn).toEqual([]);
  });

  it("without gcHold, x comes back (the test reaches the window)", () => {
    const r = run(false);
    expect(r.decided).toBe(false);
    expect(r.xOn.length).toBeGreaterThan(0);
  });
});
