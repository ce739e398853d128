// Replica migration (Redis's clusterHandleSlaveMigration, cluster.c): a master left with no
// working replica ("orphaned") is joined by a replica of the master that has the most,
// so a cluster keeps a failover candidate for every slot range without an operator.
//
// Only masters that are supposed to have replicas are targets: a master that once had a
// replica, or a replica promoted by a failover (Redis's CLUSTER_NODE_MIGRATE_TO, here
// ClusterNode.migrateTo). A replica moves when, as in Redis:
//   - the cluster is ok and cluster-allow-replica-migration is yes;
//   - its master is among those with the most non-failed replicas, and has at least two;
//   - its master keeps more than cluster-migration-barrier working replicas without it;
//   - it has the smallest node id among the replicas of those masters (one replica moves);
//   - the target has been orphaned for CLUSTER_SLAVE_MIGRATION_DELAY (5 s), so that the
//     natural replicas of a failed-over master have time to announce their new master.
import { isReplica, type ClusterNode, type ClusterState } from "./state.js";
import { log } from "../server/log.js";

const MIGRATION_DELAY_MS = 5000;

export interface MigrationHost {
  clusterOk(): boolean;
  allowed(): boolean;
  barrier(): number;
  becomeReplicaOf(master: ClusterNode): void;
}

/** Non-failed replicas of master (clusterCountNonFailingSlaves). */
export function okReplicas(st: ClusterState, master: ClusterNode): ClusterNode[] {
  const out: ClusterNode[] = [];
  for (const n of st.nodes.values()) if (n.master === master && !n.fail) out.push(n);
  return out;
}

/** Called from the cluster cron on a replica (clusterCron's orphaned-master scan, then the migration). */
export function handleReplicaMigration(st: ClusterState, h: MigrationHost, now: number): void {
  const me = st.myself;
  const mine = me.master;
  if (!mine) return;
  let orphaned = 0;
  let maxReplicas = 0;
  let myMasterReplicas = 0;
  for (const n of st.nodes.values()) {
    if (n.myself || n.handshake || isReplica(n) || n.fail) continue;
    const ok = okReplicas(st, n).length;
    if (ok === 0 && st.numSlots(n) > 0 && n.migrateTo) orphaned++;
    if (ok > maxReplicas) maxReplicas = ok;
    if (n === mine) myMasterReplicas = ok;
  }
  if (!orphaned || maxReplicas < 2 || myMasterReplicas !== maxReplicas || !h.allowed()) return;

  if (!h.clusterOk()) return;
  // My master keeps more than the barrier's working (not failed, not suspected) replicas?
  let working = 0;
  for (const n of st.nodes.values()) if (n.master === mine && !n.fail && !n.pfail) working++;
  if (working <= h.barrier()) return;

  let target: ClusterNode | null = null;
  let candidate: ClusterNode = me;
  for (const n of st.nodes.values()) {
    const ok = isReplica(n) ? 0 : okReplicas(st, n).length;
    const isOrphaned = !isReplica(n) && !n.fail && !!n.migrateTo && ok === 0;
    if (isOrphaned) {
      if (!target && st.numSlots(n) > 0) target = n;
      if (!n.orphanedTime) n.orphanedTime = now;
    } else {
      n.orphanedTime = 0;
    }
    if (!isReplica(n) && ok === maxReplicas) {
      for (const r of st.nodes.values()) if (r.master === n && r.id < candidate.id) candidate = r;
    }
  }
  if (target && candidate === me && now - (target.orphanedTime ?? now) > MIGRATION_DELAY_MS) {
    log("notice", `Migrating to orphaned master ${target.id}`);
    h.becomeReplicaOf(target);
  }
}
