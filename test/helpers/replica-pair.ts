// A primary and a replica of it (two real servers linked by REPLICAOF), for tests of what
// the primary's writes do on its replica: both started, the link up, and a wait for the
// replica to have applied everything the primary produced so far.
import type Redis from "ioredis";
import { startServer, connectClient, type RunningServer } from "./server.js";
import { until } from "./wait.js";

export interface ReplicaPair {
  primary: RunningServer;
  replica: RunningServer;
  /** Clients of the primary and of the replica. */
  m: Redis;
  s: Redis;
  /**
   * Waits until the replica's offset reaches the primary's at the call. At least, not equal:
   * the primary PINGs its replicas every 10 s, which moves both offsets on meanwhile.
   */
  synced(): Promise<void>;
  stop(): Promise<void>;
}

async function offset(r: Redis, field: string): Promise<number> {
  const m = new RegExp(`${field}:(\\d+)`).exec(await r.info("replication"));
  return m ? Number(m[1]) : -1;
}

export async function startReplicaPair(primaryArgs: string[], replicaArgs: string[] = []): Promise<ReplicaPair> {
  const primary = await startServer(primaryArgs);
  const replica = await startServer(replicaArgs);
  const m = await connectClient(primary.port);
  const s = await connectClient(replica.port);
  await s.replicaof("127.0.0.1", String(primary.port));
  await until("link up", async () => /master_link_status:up/.test(await s.info("replication")));
  return {
    primary, replica, m, s,
    async synced() {
      const target = await offset(m, "master_repl_offset");
      await until("replica offset", async () => (await offset(s, "slave_repl_offset")) >= target);
    },
    async stop() {
      m.disconnect();
      s.disconnect();
      await replica.stop();
      await primary.stop();
    },
  };
}
