// The hybrid logical clock (src/replication/hlc.ts) as fast-check properties: timestamps
// never go backwards whatever the physical clock does, every timestamp exceeds everything
// the node has seen, causality (happened-before across nodes exchanging messages) implies a
// greater timestamp, and compareStamp is the total order last-writer-wins needs.
import { describe, it, expect } from "vitest";
import { fc, fcParams } from "../helpers/fc.js";
import { Hlc, compareStamp, physicalOf, LOGICAL_BITS } from "../../src/replication/hlc.js";

const RUNS = 1000;

/** A physical clock a test moves by hand: forwards, backwards or not at all. */
function manualClock(start: number) {
  const c = { ms: start, now: () => c.ms };
  return c;
}

const action = fc.oneof(
  fc.record({ kind: fc.constant("tick" as const) }),
  fc.record({ kind: fc.constant("clock" as const), by: fc.integer({ min: -5000, max: 5000 }) }),
  fc.record({ kind: fc.constant("observe" as const), remote: fc.integer({ min: 0, max: 3_000_000 * LOGICAL_BITS }) }),
);

describe("hybrid logical clock", () => {
  it("a tick exceeds every timestamp issued or observed before, and is never behind physical time", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2_000_000 }), fc.array(action, { maxLength: 200 }), (start, actions) => {
      const clock = manualClock(start);
      const hlc = new Hlc(clock.now);
      let highest = 0;
      for (const a of actions) {
        if (a.kind === "clock") clock.ms = Math.max(0, clock.ms + a.by);
        else if (a.kind === "observe") { hlc.observe(a.remote); highest = Math.max(highest, a.remote); }
        else {
          const ts = hlc.tick();
          if (ts <= highest) return false;
          if (physicalOf(ts) < clock.ms) return false;
          highest = ts;
        }
      }
      return hlc.current === highest;
    }), fcParams(RUNS));
  });

  it("happened-before implies a greater timestamp, across nodes whose physical clocks disagree", () => {
    // Three nodes with skewed clocks; events are local writes, sends and receipts of earlier
    // sends. Vector clocks give happened-before exactly; it must imply timestamp order.
    const event = fc.record({ node: fc.nat(2), kind: fc.constantFrom("local", "send", "receive"), pick: fc.nat(), advance: fc.integer({ min: -20, max: 50 }) });
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 3, maxLength: 3 }), fc.array(event, { maxLength: 80 }), (skews, events) => {
      const phys = skews.map((s) => 1_000_000 + s);
      const hlcs = phys.map((_, i) => new Hlc(() => phys[i]));
      const vcs = [0, 1, 2].map(() => [0, 0, 0]);
      const sent: { ts: number; vc: number[] }[] = [];
      const done: { ts: number; vc: number[] }[] = [];
      for (const e of events) {
        phys[e.node] = Math.max(0, phys[e.node] + e.advance);
        const vc = vcs[e.node];
        if (e.kind === "receive" && sent.length) {
          const m = sent[e.pick % sent.length];
          hlcs[e.node].observe(m.ts);
          for (let i = 0; i < 3; i++) vc[i] = Math.max(vc[i], m.vc[i]);
        }
        vc[e.node]++;
        const rec = { ts: hlcs[e.node].tick(), vc: vc.slice() };
        done.push(rec);
        if (e.kind === "send") sent.push(rec);
      }
      const before = (a: number[], b: number[]) => a.every((x, i) => x <= b[i]) && a.some((x, i) => x < b[i]);
      for (const a of done) for (const b of done) if (before(a.vc, b.vc) && !(a.ts < b.ts)) return false;
      return true;
    }), fcParams(RUNS / 2));
  });

  it("a clock frozen for more ticks than the logical counter holds still moves forwards (the counter carries into the ms)", () => {
    const hlc = new Hlc(() => 5000);
    let last = 0;
    for (let i = 0; i < LOGICAL_BITS * 3; i++) { const ts = hlc.tick(); expect(ts).toBeGreaterThan(last); last = ts; }
    expect(physicalOf(last)).toBe(5002);
  });
});

describe("compareStamp (the last-writer-wins order)", () => {
  const stamp = fc.record({ ts: fc.nat(50), node: fc.constantFrom("A", "B", "n1", "n10", "") });
  const cmp = (a: { ts: number; node: string }, b: { ts: number; node: string }) => compareStamp(a.ts, a.node, b.ts, b.node);

  it("is antisymmetric and zero only for the same stamp", () => {
    fc.assert(fc.property(stamp, stamp, (a, b) => {
      const ab = cmp(a, b), ba = cmp(b, a);
      return Math.sign(ab) === -Math.sign(ba) && (ab === 0) === (a.ts === b.ts && a.node === b.node);
    }), fcParams(RUNS));
  });

  it("is transitive", () => {
    fc.assert(fc.property(stamp, stamp, stamp, (a, b, c) => !(cmp(a, b) < 0 && cmp(b, c) < 0) || cmp(a, c) < 0), fcParams(RUNS));
  });

  it("orders by timestamp first, node id only on a tie", () => {
    fc.assert(fc.property(stamp, stamp, (a, b) => a.ts === b.ts || Math.sign(cmp(a, b)) === Math.sign(a.ts - b.ts)), fcParams(RUNS));
  });
});
