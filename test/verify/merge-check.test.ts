// Exhaustive small-scope checking of the CRDT merges: every interleaving of a few
// operations on 2-3 replicas and every delivery order of their deltas converges, and what a
// client sees at quiescence is what the documented semantics say (src/verify/merge-check.ts).
import { describe, it, expect } from "vitest";
import { checkScope, LARGE_SCOPES, SCOPES, setSpec, type OpKind, type Scope } from "../../src/verify/merge-check.js";
import { elemWriteDelta, emptyKeyState, type KeyState } from "../../src/replication/key-state.js";

describe("CRDT merges, every interleaving in small scopes", () => {
  const scopes = process.env.MERGE_CHECK_LARGE ? [...SCOPES, ...LARGE_SCOPES] : SCOPES;
  for (const scope of scopes) {
    it(scope.name, { timeout: 600_000 }, () => {
      const r = checkScope(scope);
      expect(r.violations).toEqual([]);
      expect(r.quiescent).toBeGreaterThan(0);
    });
  }
});

describe("the merge checker can fail", () => {
  it("catches a remove-wins set posing as add-wins (SREM that also kills adds it never saw)", () => {
    // A broken SREM: its delta claims to have seen a far-future add on every replica.
    const brokenSrem: OpKind = {
      label: "SREM a",
      delta: (s: KeyState) => {
        const d = emptyKeyState();
        d.set.set("a", { entries: new Map(), floor: new Map([["A", 1e9], ["B", 1e9]]) });
        void s;
        return d;
      },
    };
    const sadd: OpKind = { label: "SADD a", delta: (s, n, ts) => elemWriteDelta(s, "set", "a", n, ts, true) };
    const scope: Scope = { name: "broken set", replicas: 2, maxOps: 2, alphabet: [sadd, brokenSrem], expected: setSpec };
    const r = checkScope(scope);
    expect(r.violations.length).toBeGreaterThan(0);
    expect(r.violations[0]).toMatch(/specification says set:a/);
  });
});
