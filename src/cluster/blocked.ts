// Redis's clusterRedirectBlockedClientIfNeeded: a client blocked on a key (BLPOP, BZPOPMIN,
// XREAD BLOCK...) is not left waiting for a write that can no longer come here. Checked from
// the cluster's cron (Redis: clientsCron), it is unblocked with
//   -CLUSTERDOWN The cluster is down      when the cluster is down (even with
//                                          cluster-allow-reads-when-down: a write is needed)
//   -CLUSTERDOWN Hash slot not served     when its key's slot has no owner
//   -MOVED slot ip:port                   when another node serves the slot, unless it is
//                                          being imported here (or a peer of our
//                                          active-active group migrates it: group-migration.ts)
// A READONLY client reading its master's slot on this replica stays blocked.
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import type { ClusterState } from "./state.js";
import type { ClusterClientFlags } from "./redirect.js";
import { keySlot } from "../server/router.js";
import { preferredEndpoint } from "./endpoints.js";
import { clientPort, usePport } from "./ports.js";

export function redirectBlockedClients(server: Server, state: ClusterState, clusterOk: boolean): void {
  if (server.blocking.count === 0) return;
  const me = state.myself;
  server.blocking.unblockWithError((req) => {
    if (!clusterOk) return "-CLUSTERDOWN The cluster is down";
    if (req.keys.length === 0) return null;
    // Every key of a blocking command is in one slot (CROSSSLOT otherwise).
    const slot = keySlot(req.keys[0]);
    let node = state.owner[slot];
    const c = req.client as Client & { cluster?: ClusterClientFlags };
    if (node !== null && state.sameGroup(node, me)) node = state.groupMoving.get(slot) ?? me;
    if (c.cluster?.readonly && me.master !== null && me.master === node &&
        !server.table.lookup(c.lastCommand)?.flags.has("write")) {
      node = me;
    }
    if (node === me || state.importing.has(slot)) return null;
    if (node === null) return "-CLUSTERDOWN Hash slot not served";
    return `-MOVED ${slot} ${preferredEndpoint(server.config, node)}:${clientPort(node, usePport(server.config, c))}`;
  });
}
