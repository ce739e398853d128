// min-replicas-to-write / min-replicas-max-lag for every write (Redis's processCommand:
// "Don't accept write commands if there are not enough good slaves"): a master with fewer
// than min-replicas-to-write replicas that acked within min-replicas-max-lag seconds refuses
// writes with -NOREPLICAS, and an EXEC holding a write is aborted with it. (Scripts check
// the same rule at their first write, src/commands/scripting.ts.)
//
// Kernel-run writes never reach the host's dispatch on their own, so while the rule is
// configured on a master the kernels hand every write back (the read-only hand-back a
// replica uses), and the host decides per command from the replicas' last acks.
import type { Server } from "./server.js";
import { replicationOf } from "../repl/replication.js";

export const NOREPLICAS_ERR = "NOREPLICAS Not enough good replicas to write.";

export class MinReplicas {
  /** The rule is configured and this server is a master: writes are checked. */
  active = false;

  constructor(private readonly server: Server) {
    const update = () => this.refresh();
    server.config.onApply("min-replicas-to-write", update);
    server.config.onApply("min-replicas-max-lag", update);
  }

  /** After a config change, on serverCron, and when the role changes. */
  refresh(): void {
    const s = this.server;
    const active = s.config.getNumber("min-replicas-to-write") > 0 && s.config.getNumber("min-replicas-max-lag") > 0 &&
      !replicationOf(s).link;
    if (active === this.active) return;
    this.active = active;
    // A replica's own read-only hand-back is REPLICAOF's to set (src/commands/replication.ts).
    if (!replicationOf(s).link) for (const shard of s.shards) shard.useReadOnly(active);
  }

  /** Redis's checkGoodReplicasStatus: enough replicas acked within the lag. */
  satisfied(): boolean {
    const toWrite = this.server.config.getNumber("min-replicas-to-write");
    if (!this.active || toWrite === 0 || this.server.config.getNumber("min-replicas-max-lag") === 0) return true;
    return this.goodReplicas() >= toWrite;
  }

  /**
   * Redis's refreshGoodSlavesCount: the replicas online (past their sync) whose last ack is
   * at most min-replicas-max-lag seconds old (INFO's min_slaves_good_slaves).
   */
  goodReplicas(): number {
    const maxLag = this.server.config.getNumber("min-replicas-max-lag");
    let good = 0;
    for (const r of replicationOf(this.server).replicas.values()) {
      if (r.syncState === "online" && Math.floor((Date.now() - r.ackAt) / 1000) <= maxLag) good++;
    }
    return good;
  }
}
