// Writes through an ioredis Cluster client while the cluster changes under it.
import { expect } from "vitest";
import type { Cluster } from "ioredis";

/** Retries a cluster write until it is acknowledged (a slot's node may be failing over or restarting). */
export async function setAcked(cluster: Cluster, key: string, value: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      expect(await cluster.set(key, value)).toBe("OK");
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
