// The multi-node (eventual) checks on hand-made histories: what the replication model
// forbids (a value never written, a lost acknowledged write after convergence, a counter
// missing acknowledged increments, divergence) is flagged; stale reads and lost CAS are
// only counted.
import { describe, it, expect } from "vitest";
import { checkEventual, type Settled } from "../../src/verify/multi-node.js";
import type { WorkloadRun } from "../../src/verify/workload.js";
import { ctr, reg } from "./histories.js";

const converged = (values: Record<string, string | null>): Settled => ({
  values: new Map(Object.entries(values)),
  converged: true,
  differing: new Map(),
  ms: 10,
});

function run(register: ReturnType<typeof reg>[], counter: ReturnType<typeof ctr>[] = []): WorkloadRun {
  return { register, counter, registerKeys: ["k"], counterKeys: ["c"], ms: 1000 };
}

describe("checkEventual", () => {
  it("accepts a history that converged on the latest write, counting a stale read and a lost CAS as figures", () => {
    const h = [
      reg(0, 0, 0, 1000, { f: "write", value: "a" }),
      reg(1, 1, 5000, 6000, { f: "write", value: "b" }),
      reg(2, 2, 10_000, 11_000, { f: "read" }, "a"), // stale: b completed before this began
      reg(3, 0, 12_000, 13_000, { f: "cas", from: "b", to: "c" }, true),
      reg(4, 1, 12_000, 13_000, { f: "cas", from: "b", to: "d" }, true), // lost CAS
    ];
    const e = checkEventual(run(h, [ctr(5, 0, 0, 10, { f: "incr", by: 2 }, 2)]), converged({ k: "d", c: "2" }));
    expect(e.staleReads).toBe(1);
    expect(e.lostCas).toBe(1);
    expect([...e.neverWritten, ...e.lostWrites, ...e.diverged]).toEqual([]);
  });

  it("flags a read of a value nobody wrote", () => {
    const h = [reg(0, 0, 0, 1000, { f: "write", value: "a" }), reg(1, 1, 2000, 3000, { f: "read" }, "zzz")];
    expect(checkEventual(run(h), converged({ k: "a", c: null })).neverWritten).toHaveLength(1);
  });

  it("flags convergence on a write older than an acknowledged later one (a lost write)", () => {
    const h = [reg(0, 0, 0, 1000, { f: "write", value: "a" }), reg(1, 1, 10_000, 11_000, { f: "write", value: "b" })];
    expect(checkEventual(run(h), converged({ k: "a", c: null })).lostWrites).toHaveLength(1);
    // concurrent writes: either may win
    const c = [reg(0, 0, 0, 1000, { f: "write", value: "a" }), reg(1, 1, 500, 1500, { f: "write", value: "b" })];
    expect(checkEventual(run(c), converged({ k: "a", c: null })).lostWrites).toEqual([]);
  });

  it("flags a counter that lost acknowledged increments, and allows unknown ones either way", () => {
    const incs = [ctr(0, 0, 0, 10, { f: "incr", by: 2 }, 2), ctr(1, 1, 0, 10, { f: "incr", by: 3 }, 3), ctr(2, 2, 0, undefined, { f: "incr", by: 5 })];
    expect(checkEventual(run([], incs), converged({ k: null, c: "3" })).lostWrites).toHaveLength(1);
    expect(checkEventual(run([], incs), converged({ k: null, c: "5" })).lostWrites).toEqual([]);
    expect(checkEventual(run([], incs), converged({ k: null, c: "10" })).lostWrites).toEqual([]);
  });

  it("flags keys the nodes still disagree on after quiescence", () => {
    const settled: Settled = { values: new Map(), converged: false, differing: new Map([["k", ["a", "b", "a"]]]), ms: 20_000 };
    expect(checkEventual(run([reg(0, 0, 0, 1, { f: "write", value: "a" })]), settled).diverged).toEqual(['k: "a" / "b" / "a"']);
  });
});
