// nodes.conf is fsynced when Redis would (CLUSTER_TODO_FSYNC_CONFIG): after a change of an
// epoch, a vote, our own role or a slot owner taken from the bus, on the first save and on
// CLUSTER SAVECONFIG; a save for anything else (a ping time, a node's address, a slot moved by
// SETSLOT) is only written. ClusterState's
// syncFile is the seam: the subclass counts the fsyncs it is asked for (and still does them).
import { describe, it, expect } from "vitest";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterState } from "../../src/cluster/state.js";

let syncs = 0;
class CountingState extends ClusterState {
  protected override syncFile(fd: number): void {
    syncs++;
    super.syncFile(fd);
  }
}

describe("nodes.conf fsync", () => {
  it("syncs the saves that change epochs, votes, slots or our role, and no others", () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-fsync-"));
    try {
      syncs = 0;
      const st = new CountingState(join(dir, "nodes.conf"), "127.0.0.1", 7000, 17000);
      expect(syncs).toBe(1); // the first save (clusterInit)
      const peer = st.addNode("b".repeat(40), "127.0.0.1", 7001, 17001);
      const step = (change: () => void) => { const before = syncs; change(); st.save(); return syncs - before; };
      expect(step(() => {})).toBe(0);
      expect(step(() => { peer.pingSent = Date.now(); peer.pongReceived = Date.now(); })).toBe(0);
      expect(step(() => { peer.ip = "127.0.0.2"; })).toBe(0);
      expect(step(() => { st.currentEpoch++; })).toBe(1);
      expect(step(() => { st.lastVoteEpoch = st.currentEpoch; })).toBe(1);
      expect(step(() => { peer.configEpoch = 5; })).toBe(1);
      // A slot moved by a command (SETSLOT, ADDSLOTS) is saved unsynced; one a peer's claim moved
      // (the bus sets slotsFromBus in updateSlotsConfigWith) is synced.
      expect(step(() => { st.assign(100, peer); })).toBe(0);
      expect(step(() => { st.assign(101, peer); st.slotsFromBus = true; })).toBe(1);
      expect(step(() => { st.myself.master = peer; })).toBe(1);
      expect(step(() => {})).toBe(0);
      const before = syncs;
      st.save(true); // CLUSTER SAVECONFIG
      expect(syncs - before).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
