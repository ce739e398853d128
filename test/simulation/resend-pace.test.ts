// Delta batches are resent when their peer stops acknowledging (gossip.ts tick). A peer busy
// for a moment elsewhere (a join, a sweep, a GC pause) stops acknowledging too, and with the
// window full of large merged messages it has seconds of them to work through: a timeout of
// twice one batch's ack time resent all of them (312-1,555 messages during a 1M-SET burst
// between two servers). The timeout now also covers twice the time the peer needs for the
// bytes in flight, at the pace it acknowledged a full window (drainTime), so a pause shorter
// than that resends nothing, while a peer that stays silent longer still gets the batches
// again, backing off.
import { describe, it, expect } from "vitest";
import { SimCluster } from "./cluster.js";
import { DEFAULT_GOSSIP } from "../../src/replication/gossip.js";

// (window 4, maxRetryMs 400: the server's 64 and 5,000, scaled to a short run; no anti-entropy)
const OPTS = { ...DEFAULT_GOSSIP, window: 4, retryMs: 50, maxRetryMs: 400, antiEntropyMs: 600_000, gcGraceMs: 1000 };
// B works through 1 KiB in 2 ms
const SLOW_PEER = { dropRate: 0, dupRate: 0, minDelay: 5, maxDelay: 5, msPerKiB: 2 };

function burst(c: SimCluster, n: number, from = 0): void {
  const a = c.nodes[0];
  const value = "x".repeat(1000);
  for (let i = from; i < from + n; i++) {
    a.run("set", `k${i}`, value);
    if (i % 50 === 49) c.advance(10);
  }
}

describe("delta resends to a slow peer", () => {
  it("a pause shorter than the time to work through what is in flight resends nothing", () => {
    const c = new SimCluster(11, 2, SLOW_PEER, OPTS);
    const [a, b] = c.nodes;
    const link = a.gossip.peers.get("n1")!;
    burst(c, 2000);
    // the window is full of merged messages, and the peer's pace is known
    expect(link.backlog.length).toBeGreaterThan(OPTS.window);
    expect(link.msPerByte).toBeGreaterThan(0);
    const inFlight = a.gossip.drainTime(link, OPTS.window);
    expect(inFlight).toBeGreaterThan(a.gossip.resendTimeout(link) + 400);
    // B stops for less than that but longer than a plain resend timeout (at most maxRetryMs).
    // (The burst's first large messages, sent before the pace was known, may have been resent:
    // only what follows counts.)
    const before = a.gossip.stats.resent;
    c.freeze("n1", inFlight - 200);
    burst(c, 1000, 2000);
    for (let i = 0; i < 200 && !c.quiet; i++) c.advance(100);
    expect(c.quiet).toBe(true);
    expect(a.gossip.stats.resent - before).toBe(0);
    expect(b.run("dbsize")).toBe(3000);
    expect(c.check()).toEqual([]);
  });

  it("a peer silent for longer gets the batches again, with backoff, and converges", () => {
    const c = new SimCluster(12, 2, SLOW_PEER, OPTS);
    const [a, b] = c.nodes;
    const link = a.gossip.peers.get("n1")!;
    burst(c, 2000);
    const inFlight = a.gossip.drainTime(link, OPTS.window);
    expect(inFlight).toBeGreaterThan(0);
    const before = a.gossip.stats.resent;
    c.freeze("n1", 4 * inFlight + 1000);
    c.advance(4 * inFlight + 1000);
    const resent = a.gossip.stats.resent - before;
    expect(resent).toBeGreaterThan(0);
    // each of the window's batches at most once per wait, and the wait at least that timeout
    expect(resent).toBeLessThanOrEqual(OPTS.window * 6);
    for (let i = 0; i < 300 && !c.quiet; i++) c.advance(100);
    expect(b.run("dbsize")).toBe(2000);
    expect(c.check()).toEqual([]);
  });
});
