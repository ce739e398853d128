// Redis's scriptVerifyClusterState: in cluster mode, each command a script runs must be one
// this node would serve to the script's caller (else the script gets "Script attempted to
// access a non local key in a cluster node", or the cluster-down texts), and, unless the
// script may cross slots (EVAL without a shebang, or the allow-cross-slot-keys flag), all
// its keys must hash to one slot: the slot of the keys the script declared, or else the
// first slot one of its commands touched. The caller's master link and the AOF being
// loaded are obeyed without these checks (mustObeyClient).
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import type { CommandSpec } from "../commands/table.js";
import { getNodeByQuery, type ClusterClientFlags } from "./redirect.js";
import { keySlot } from "../server/router.js";

/** What a script run carries for these checks. */
export interface ScriptSlot {
  /** SCRIPT_ALLOW_CROSS_SLOT: EVAL without a shebang, or flags=allow-cross-slot-keys. */
  allowCrossSlot?: boolean;
  /** The caller's slot (Redis's original_c->slot): its declared keys', else the first touched; -1 none. */
  slot?: number;
}

/** The slot a script's declared keys hash to (EVAL/FCALL checked they share one), or -1. */
export function declaredSlot(keys: Buffer[]): number {
  return keys.length > 0 ? keySlot(keys[0]) : -1;
}

/** The error (without "-ERR ") that refuses argv inside the script, or null to run it. */
export function scriptClusterError(server: Server, caller: Client, obeyed: boolean, run: ScriptSlot,
                                   spec: CommandSpec, argv: Buffer[]): string | null {
  const cluster = server.cluster;
  if (!cluster || obeyed) return null;
  const c = caller as Client & { cluster?: ClusterClientFlags };
  // The script's client has its caller's READONLY and ASKING (the ASKING its EVAL came with).
  const q = getNodeByQuery(server, cluster.state, c, spec, argv, c.cluster?.askingNow ?? false);
  if (q.error !== null) return q.scriptError ?? "Script attempted to access a non local key in a cluster node";
  if (q.slot !== -1 && !run.allowCrossSlot) {
    if (run.slot === undefined || run.slot === -1) run.slot = q.slot;
    else if (run.slot !== q.slot) return "Script attempted to access keys that do not hash to the same slot";
  }
  return null;
}
