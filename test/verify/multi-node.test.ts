// A short workload on three replicating nodes (active-active CRDT replication over the peer
// bus): clients on every node; after they stop the nodes converge, and nothing the eventual
// model forbids happened (no value never written, no acknowledged write lost, no divergence).
import { describe, it, expect } from "vitest";
import { checkEventual, startCluster, waitForConvergence } from "../../src/verify/multi-node.js";
import { runWorkload } from "../../src/verify/workload.js";

describe("three replicating nodes", () => {
  it("converge after a mixed workload with nothing the eventual model forbids", { timeout: 180_000 }, async () => {
    const cluster = await startCluster(3);
    try {
      const ports = cluster.nodes.map((s) => s.port);
      const run = await runWorkload({ ports, seconds: 60, ops: 400, rate: 0, concurrency: 6, seed: 31, timeoutMs: 10_000 });
      const settled = await waitForConvergence(ports, [...run.registerKeys, ...run.counterKeys], 30_000);
      const e = checkEventual(run, settled);
      expect(settled.converged, e.diverged.join("\n")).toBe(true);
      expect([...e.neverWritten, ...e.lostWrites]).toEqual([]);
      expect(run.register.filter((o) => o.input.f === "write" && o.ret !== undefined).length).toBeGreaterThan(30);
    } finally {
      await cluster.stop();
    }
  });
});
