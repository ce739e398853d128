// bumpEpochWithoutConsensus (Redis's clusterBumpConfigEpochWithoutConsensus): SETSLOT NODE on the
// importing node, CLUSTER BUMPEPOCH and FAILOVER TAKEOVER take currentEpoch + 1 unless our epoch
// is already the greatest. Our replicas carry our configEpoch (their headers advertise their
// master's): they must not make a master whose epoch is already the greatest bump again, as
// they did on nearly every slot of a reshard.
import { describe, it, expect } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterState } from "../../src/cluster/state.js";
import { bumpEpochWithoutConsensus } from "../../src/cluster/failover.js";

function withState(f: (st: ClusterState) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "lkv-bump-"));
  try {
    f(new ClusterState(join(dir, "nodes.conf"), "127.0.0.1", 7000, 17000));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("bumpEpochWithoutConsensus", () => {
  it("keeps the greatest epoch when only our replicas share it, and bumps past another master's", () => {
    withState((st) => {
      const other = st.addNode("b".repeat(40), "127.0.0.1", 7001, 17001);
      const mine = st.addNode("c".repeat(40), "127.0.0.1", 7002, 17002);
      mine.master = st.myself;
      const theirs = st.addNode("d".repeat(40), "127.0.0.1", 7003, 17003);
      theirs.master = other;
      other.configEpoch = theirs.configEpoch = 3;
      st.currentEpoch = 3;
      // Epoch 0: always a new one.
      expect(bumpEpochWithoutConsensus(st)).toBe(true);
      expect([st.myself.configEpoch, st.currentEpoch]).toEqual([4, 4]);
      // Our replica learns our epoch from our header: still the greatest, no bump.
      mine.configEpoch = 4;
      expect(bumpEpochWithoutConsensus(st)).toBe(false);
      expect([st.myself.configEpoch, st.currentEpoch]).toEqual([4, 4]);
      // Another master (or its replica) at our epoch or above: a new one.
      theirs.configEpoch = other.configEpoch = 4;
      expect(bumpEpochWithoutConsensus(st)).toBe(true);
      expect([st.myself.configEpoch, st.currentEpoch]).toEqual([5, 5]);
      // currentEpoch moved past ours (another node's election): a new one.
      st.currentEpoch = 7;
      expect(bumpEpochWithoutConsensus(st)).toBe(true);
      expect([st.myself.configEpoch, st.currentEpoch]).toEqual([8, 8]);
    });
  });
});
