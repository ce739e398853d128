// ClusterState.directRanges: the slot ranges the kernels run without the host's cluster checks.
// Without a group it is computed from our cached ranges less the moving slots (a reshard asks
// for it on every SETSLOT); it must hold exactly the slots servesDirectly says yes to.
import { describe, it, expect } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterState, CLUSTER_SLOTS } from "../../src/cluster/state.js";

function walk(st: ClusterState): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  for (let s = 0; s <= CLUSTER_SLOTS; s++) {
    const on = s < CLUSTER_SLOTS && st.servesDirectly(s);
    if (on && start < 0) start = s;
    else if (!on && start >= 0) { out.push([start, s - 1]); start = -1; }
  }
  return out;
}

describe("ClusterState.directRanges", () => {
  it("equals the per-slot walk of servesDirectly with slots owned, migrating and importing at random", () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-direct-"));
    try {
      const st = new ClusterState(join(dir, "nodes.conf"), "127.0.0.1", 7000, 17000);
      const other = st.addNode("b".repeat(40), "127.0.0.1", 7001, 17001);
      let seed = 12345;
      const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
      for (let round = 0; round < 50; round++) {
        for (let i = 0; i < 40; i++) {
          const a = rand(CLUSTER_SLOTS), b = Math.min(CLUSTER_SLOTS - 1, a + rand(300));
          const who = [st.myself, other, null][rand(3)];
          for (let s = a; s <= b; s++) st.assign(s, who);
        }
        st.migrating.clear();
        st.importing.clear();
        // Edge slots too: 0, 16383 and the ends of our ranges.
        const edges = st.rangesOf(st.myself).flat();
        for (let i = 0; i < rand(6); i++) st.migrating.set([0, CLUSTER_SLOTS - 1, ...edges][rand(edges.length + 2)], other);
        for (let i = 0; i < rand(6); i++) st.importing.set(rand(CLUSTER_SLOTS), other);
        expect(st.directRanges()).toEqual(walk(st));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
