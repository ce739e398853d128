// FLUSHALL, then the node's file saved before the flush's walk ends, and the node restarted
// from it (issue #7: "never the KeyDB failure mode where a deleted key comes back"). The
// real-process case, an AOF and SIGKILL mid-walk, is test/integration/active-active-flush-crash.test.ts;
// this one is the same window for a saved file (SAVE, BGSAVE, an AOF rewrite's preamble), in the
// simulator, deterministic and in seconds.
//
// FLUSHALL's per-key CRDT deletes are recorded by a walk, a slice per turn (Replicator.deleteAll).
// A file saved meanwhile holds the keyspace without the flushed keys and the live CRDT states of
// the keys the walk had not reached. Two ways a flushed key came back from such a file:
// - a key the load left absent: its live state was left out or joined as a write, and the
//   peers' live states brought it back (now recorded as deleted at the load's end,
//   loaded-keys.ts takeSaved);
// - a key written after the flush by a command recorded from its arguments alone (HSET): its
//   state kept the flushed fields alive next to the new one until the walk got there, so the
//   file's state, joined after the restart, showed them again (now the flush's delete of the key
//   is recorded before the write: Replicator.flushedFirst).
// A write the flush did not see (B's, concurrent, cut off) survives both (add-wins).
import { describe, it, expect } from "vitest";
import { SimCluster, type SimNode } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";

const N = 600;

/**
 * A runs FLUSHALL (then `afterFlush`), and its file is saved while the flush's walk is under
 * way. The walk goes a slice of 256 keys per step, as a server's goes a slice per event-loop
 * turn (a crashed incarnation's slices never run, as SimNode's own pacing has it).
 */
function flushSavedMidWalk(c: SimCluster, a: SimNode, afterFlush = () => {}): void {
  const inc = a.incarnation;
  a.rep.pacing = { later: (fn) => c.later(() => { if (a.incarnation === inc) fn(); }), slice: () => () => true };
  a.run("config", "set", "save", ""); // (FLUSHALL would write an RDB into the working directory)
  a.run("flushall");
  afterFlush();
  expect(a.rep.walking).toBe(true);
  a.save();
}

describe("simulation: FLUSHALL, the file saved before its walk ends, a restart from it", () => {
  it("flushed keys and fields stay deleted on both nodes; B's concurrent writes and A's write after the flush survive", () => {
    const c = new SimCluster(1, 2, { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 5 },
      { ...DEFAULT_GOSSIP, retryMs: 50, maxRetryMs: 400, antiEntropyMs: 300, gcGraceMs: 200 });
    const [a, b] = c.nodes;
    for (let i = 0; i < N; i++) a.run("set", `k:${i}`, "v");
    a.run("hset", "h", "f1", "1", "f2", "2"); // (last in the store: the walk reaches it last)
    c.advance(2_000);
    expect(b.run("dbsize")).toBe(N + 1);

    c.partition([[a.name], [b.name]]);
    b.run("set", "k:7", "from-b");
    b.run("hset", "h", "fb", "b");
    flushSavedMidWalk(c, a, () => a.run("hset", "h", "f3", "3"));
    a.restartFrom();
    expect(a.loaded!.stats.statesDeleted).toBe(N - 256);

    c.settle();
    expect(c.check()).toEqual([]);
    for (const n of c.nodes) {
      expect(n.run("dbsize")).toBe(2);
      expect(n.run("get", "k:7")?.toString()).toBe("from-b");
      const h = (n.run("hgetall", "h") as Buffer[]).map(String);
      const fields = new Map<string, string>();
      for (let i = 0; i + 1 < h.length; i += 2) fields.set(h[i], h[i + 1]);
      expect([...fields].sort()).toEqual([["f3", "3"], ["fb", "b"]]);
    }
  });
});

// The same file, with the load-end check going a chunk of states per step (SimCluster's
// slicedAnswers: a server's pacing, a slice per event-loop turn). B's live states for the flushed
// keys (its answers to the restarted node's digests) arrive while the check is under way; applied
// then, they wrote keys the check had not looked at yet back into the keyspace, their file states
// looked live, and the flushed keys came back on both nodes. They wait for the check's end
// (Replicator.atLoadEnd), as they wait for the load. (B writes nothing meanwhile: a stream with
// news for A would hold B's answers back until A took it, gossip.ts streamCarries.)
describe("simulation: the load-end check in slices, peers' states arriving meanwhile", () => {
  it("the flushed keys stay deleted on both nodes", () => {
    const M = 5000;
    const c = new SimCluster(2, 2, { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 5 },
      { ...DEFAULT_GOSSIP, retryMs: 50, maxRetryMs: 400, antiEntropyMs: 300, gcGraceMs: 200 }, true);
    const [a, b] = c.nodes;
    for (let i = 0; i < M; i++) a.run("set", `k:${i}`, "v");
    c.advance(2_000);
    expect(b.run("dbsize")).toBe(M);
    // (B's digests current before A restarts, so B answers A's first digest at once: B took
    // the 5,000 keys in a few merged messages, more changed keys in a turn than a digest hashes
    // inline, and this pacing's background hashing goes one key per step)
    b.rep.store.hashSome(() => false);
    expect(b.rep.store.dirtyCount).toBe(0);

    c.partition([[a.name], [b.name]]);
    flushSavedMidWalk(c, a);
    c.heal();
    // (A's first digest goes at once: B's answers come while the check is under way)
    c.nodeOptions.set(a.name, { antiEntropyMs: 10 });
    a.restartFrom();

    // (256 states per step: the check spans several steps, and B's answers come in between)
    expect(a.loaded!.checking).toBe(true);
    let steps = 0, answers = 0;
    while (a.loaded!.checking) {
      c.advance(10);
      steps++;
      const waiting = (a.gossip as unknown as { deferred: [string, Buffer][] }).deferred;
      answers = Math.max(answers, waiting.filter(([, m]) => m[0] === 4).length); // (MSG_RANGES: states)
    }
    expect(steps).toBeGreaterThan(2);
    expect(answers).toBeGreaterThan(0);
    // One answer came, to the digest A sent as its links came up: A starts no round while its
    // keyspace is busy (gossip.ts tick), as each answer would only wait with the others and be
    // joined after the check, back to back (before: 9,720 states received for 5,000 keys)
    expect((a.gossip as unknown as { stats: { keysReceived: number } }).stats.keysReceived).toBe(M);
    expect(a.loaded!.stats.statesDeleted).toBe(M - 256);

    c.settle();
    expect(c.check()).toEqual([]);
    for (const n of c.nodes) expect(n.run("dbsize")).toBe(0);
  });
});

// The same file, and a client writing while the load-end check is under way. A write of a key
// the check has not reached yet used to finish the whole check first, in one go (7.9 s for 1M
// states, every client waiting); now the check looks at the written keys first (checkFirst)
// and goes on in its slices. What it must still do for such a key: a flushed hash the load left
// absent is recorded as deleted before the client's HSET, so the flushed fields do not come back
// beside the new one. A command whose keys its arguments do not name (a script) still finishes
// the check first.
describe("simulation: a client's write during the load-end check", () => {
  it("checks the written keys first, the check goes on in its slices, and flushed fields stay deleted", () => {
    const M = 3000;
    const c = new SimCluster(3, 2, { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 5 },
      { ...DEFAULT_GOSSIP, retryMs: 50, maxRetryMs: 400, antiEntropyMs: 300, gcGraceMs: 200 }, true);
    const [a, b] = c.nodes;
    for (let i = 0; i < M; i++) a.run("set", `k:${i}`, "v");
    a.run("hset", "h", "f1", "1", "f2", "2"); // (last in the store and in the file: the check reaches it last)
    c.advance(2_000);
    expect(b.run("dbsize")).toBe(M + 1);

    c.partition([[a.name], [b.name]]);
    flushSavedMidWalk(c, a);
    a.restartFrom();

    expect(a.loaded!.checking).toBe(true);
    c.advance(10);
    expect(a.loaded!.checking).toBe(true);
    const before = a.loaded!.stats.statesDeleted;
    expect(a.run("get", "k:2999")).toBe(null); // (a read: nothing to check first)
    expect(a.run("hset", "h", "f3", "3")).toBe(1);
    // h's file state was recorded as deleted ahead of the rest, and the check is not finished
    expect(a.loaded!.stats.statesDeleted).toBe(before + 1);
    expect(a.loaded!.checking).toBe(true);
    c.advance(10);
    expect(a.loaded!.checking).toBe(true);
    // a script may write keys it does not declare: the check ends first
    expect(a.run("eval", "return redis.call('set', 'k:5', 'x')", "0")).toEqual({ status: "OK" });
    expect(a.loaded!.checking).toBe(false);
    expect(a.loaded!.stats.statesDeleted).toBe(M - 256 + 1);

    c.heal();
    c.settle();
    expect(c.check()).toEqual([]);
    for (const n of c.nodes) {
      expect(n.run("dbsize")).toBe(2);
      expect((n.run("hgetall", "h") as Buffer[]).map(String)).toEqual(["f3", "3"]);
      expect(n.run("get", "k:5")?.toString()).toBe("x");
    }
  });
});
