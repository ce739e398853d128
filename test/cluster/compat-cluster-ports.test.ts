// runtest-cluster's instances (scripts/compat/cluster.mjs) have bus ports at port + 10000; a
// restarted instance must be able to bind its bus port again, so none may lie in Linux's
// ephemeral range (32768-60999), where an outgoing connection may hold it.
import { describe, it, expect } from "vitest";
import { clusterBaseport } from "../../scripts/compat/cluster.mjs";

describe("compat cluster base port", () => {
  it("keeps every instance's bus port below the ephemeral range, whatever the baseport", () => {
    for (let baseport = 2000; baseport <= 50000; baseport += 250) {
      const base = clusterBaseport(baseport);
      expect(base).toBeGreaterThanOrEqual(1024);
      // instances.tcl's redis_port_count: ports base .. base + 399
      expect(base + 399 + 10000).toBeLessThan(32768);
    }
  });

  it("leaves a baseport that is already low enough alone (ours: 21000; CI's 27000 moves)", () => {
    expect(clusterBaseport(21000)).toBe(21000);
    expect(clusterBaseport(22000)).toBe(22000);
    expect(clusterBaseport(27000)).toBe(7000);
  });
});
