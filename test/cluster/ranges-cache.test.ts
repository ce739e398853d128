// ClusterState.rangesOf: a node's slot ranges, updated per slot moved (bumpRanges) rather than
// walked again, while the cached list is short. After any sequence of moves it must equal a walk
// of the owners: single slots, slots at the ends and in the middle of ranges, 0 and 16383, a
// node whose list grows past the kept length and shrinks back. CLUSTER NODES' slots text
// (describe, cached per ranges list) must list the same ranges.
import { describe, it, expect } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterState, CLUSTER_SLOTS, type ClusterNode } from "../../src/cluster/state.js";

function walk(st: ClusterState, n: ClusterNode): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let s = 0; s <= CLUSTER_SLOTS; s++) {
    const on = s < CLUSTER_SLOTS && st.owner[s] === n;
    if (on && start < 0) start = s;
    else if (!on && start >= 0) { out.push([start, s - 1]); start = -1; }
  }
  return out;
}

/** describe(n)'s slots: what follows the 8 fixed fields of a CLUSTER NODES line. */
const slotsField = (st: ClusterState, n: ClusterNode) => st.describe(n).split(" ").slice(8).join(" ");
const rangesText = (r: [number, number][]) => r.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(" ");

describe("ClusterState.rangesOf", () => {
  it("equals the walk of the slot owners after every move, with the cache read between moves", () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-ranges-"));
    try {
      const st = new ClusterState(join(dir, "nodes.conf"), "127.0.0.1", 7000, 17000);
      const b = st.addNode("b".repeat(40), "127.0.0.1", 7001, 17001);
      const c = st.addNode("c".repeat(40), "127.0.0.1", 7002, 17002);
      const nodes = [st.myself, b, c];
      let seed = 4242;
      const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
      for (let s = 0; s < CLUSTER_SLOTS; s++) st.assign(s, nodes[Math.floor(s / 5462)]);
      for (const n of nodes) expect(st.rangesOf(n)).toEqual(walk(st, n));
      for (let round = 0; round < 3000; round++) {
        // Mostly single slots (a reshard), near the ends of a range or anywhere, sometimes a run.
        const r = st.rangesOf(nodes[rand(3)]);
        const near = r.length ? r[rand(r.length)][rand(2)] + rand(3) - 1 : rand(CLUSTER_SLOTS);
        const a = [0, CLUSTER_SLOTS - 1, near, rand(CLUSTER_SLOTS)][rand(4)];
        const len = rand(10) === 0 ? rand(50) : 0;
        const who = [st.myself, b, c, null][rand(4)];
        for (let s = Math.max(0, a); s <= Math.min(CLUSTER_SLOTS - 1, a + len); s++) st.assign(s, who);
        const n = nodes[rand(3)];
        expect(st.rangesOf(n)).toEqual(walk(st, n));
        const m = nodes[rand(3)];
        expect(slotsField(st, m)).toBe(rangesText(walk(st, m)));
      }
      // Every other slot to b: its list passes the kept length (2048), then the walk takes over.
      for (let s = 0; s < 6000; s += 2) st.assign(s, b);
      for (const n of nodes) expect(st.rangesOf(n)).toEqual(walk(st, n));
      for (const n of nodes) expect(slotsField(st, n)).toBe(rangesText(walk(st, n)));
      for (let s = 0; s < 6000; s++) st.assign(s, c);
      for (const n of nodes) expect(st.rangesOf(n)).toEqual(walk(st, n));
      for (const n of nodes) expect(slotsField(st, n)).toBe(rangesText(walk(st, n)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a bulk claim with no read between its slots (more or fewer than the cache keeps) gives the walk's ranges", () => {
    // As a node absorbing a master's ADDSLOTS of every fifth slot (15-cluster-slots): past 32
    // unread updates the cached list is dropped and the next read walks.
    const dir = mkdtempSync(join(tmpdir(), "lkv-ranges-"));
    try {
      const st = new ClusterState(join(dir, "nodes.conf"), "127.0.0.1", 7000, 17000);
      const masters = [1, 2, 3, 4, 5].map((i) => st.addNode(String(i).repeat(40), "127.0.0.1", 7000 + i, 17000 + i));
      let s = 16383;
      for (const count of [1, 31, 32, 33, 100, 3100]) {
        for (const m of masters) {
          st.rangesOf(m); // cached before the claim
          for (let k = 0; k < count && s >= 0; k++, s--) st.assign(s, masters[s % 5]);
        }
        for (const m of [...masters, st.myself]) {
          expect(st.rangesOf(m)).toEqual(walk(st, m));
          expect(slotsField(st, m)).toBe(rangesText(walk(st, m)));
        }
      }
      expect(s).toBeLessThan(0);
      expect(st.rangesOf(masters[0]).length).toBe(3277);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
