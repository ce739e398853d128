// A node stopped for a while (SIGSTOP, a VM paused, a long stall) comes back with its input
// queued: its peers' delta batches, their DIGESTs, and a timer overdue. Whatever it compares
// before that input is in differs by what the input carries, so a round of its own, or an
// answer to a queued DIGEST, had its peers send the keys the delta streams were bringing anyway:
// on servers (active-active-catch-up.test.ts, "frozen C"), C back from 6 s stopped while A
// rewrote 3,000 keys received all 3,000 from each peer when its overdue timer's round went to B
// and it then answered A's queued DIGEST. Here the orders Node's event loop may take after a stop are
// laid out: the overdue timer before or after the queued messages, one peer's connection
// read before the other's.
import { describe, it, expect } from "vitest";
import { SimCluster } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";

const OPTS = { ...DEFAULT_GOSSIP, antiEntropyMs: 2000, gcGraceMs: 1000 };
const NET = { dropRate: 0, dupRate: 0, minDelay: 1, maxDelay: 2 };
const KEYS = 3000;

describe("a node back from a stop", () => {
  // timerFirst: its overdue timer runs before the queued messages are read (its round goes to
  // `roundTo`, the rotation's next: gossip.ts aeNext), or after them. bFirst: B's
  // connection is read before A's (whose delta batches are queued ahead of its DIGESTs).
  it.each([
    { timerFirst: true, roundTo: "A", bFirst: false },
    { timerFirst: true, roundTo: "B", bFirst: false },
    { timerFirst: true, roundTo: "A", bFirst: true },
    { timerFirst: true, roundTo: "B", bFirst: true },
    { timerFirst: false, roundTo: "A", bFirst: true },
  ])("gets no keys from its peers that the writer's stream brings (timer first: $timerFirst, its round to $roundTo; B read first: $bFirst)", ({ timerFirst, roundTo, bFirst }) => {
    const round = roundTo === "A" ? 0 : 1;
    const c = new SimCluster(31 + round, 3, NET, OPTS);
    const [a, b, frozen] = c.nodes;
    for (let i = 0; i < KEYS; i++) a.run("set", `k${i}`, "old");
    c.settle();
    expect(frozen.run("dbsize")).toBe(KEYS);
    const before = frozen.gossip.stats.keysReceived;
    c.freeze(frozen.name, 6000);
    for (let i = 0; i < KEYS; i++) {
      a.run("set", `k${i}`, "new");
      if (i % 500 === 499) c.advance(10);
    }
    c.advance(6000 - 80);
    c.freeze(frozen.name, 0);
    if (bFirst) {
      const q = (c as unknown as { inFlight: { at: number; from: string; to: string }[] }).inFlight.filter((m) => m.to === frozen.name);
      const first = Math.min(...q.map((m) => m.at));
      for (const m of q) if (m.from === b.name) m.at = first - 1;
    }
    if (timerFirst) {
      (frozen.gossip as unknown as { aeNext: number }).aeNext = round;
      frozen.gossip.tick();
    }
    c.settle();
    expect(frozen.run("get", `k${KEYS - 1}`)?.toString()).toBe("new");
    expect(c.check()).toEqual([]);
    // (before backFromStall: 3,000 when B's queued DIGEST or B's answer came first)
    expect(frozen.gossip.stats.keysReceived - before).toBe(0);
  });
});
