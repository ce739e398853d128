// Redis Cluster's per-command rules (cluster.c getNodeByQuery), applied to every command
// the kernel hands back in cluster mode (the kernel runs by itself only commands whose keys
// all hash to one slot this node serves with nothing in flight):
//   - keys in several slots                         -> -CROSSSLOT
//   - the slot is unassigned, or the cluster is down -> -CLUSTERDOWN
//   - the slot is another node's                     -> -MOVED slot ip:port (with an
//     active-active group: a member we can reach; a member of our own group serves it here)
//   - the slot is migrating out and a key is missing -> -ASK slot ip:port (the target has it)
//   - the slot is importing: served only after ASKING
//   - a replica serves reads of its master's slots to a READONLY client
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import type { CommandSpec } from "../commands/table.js";
import { keysFromSpecs } from "../commands/command.js";
import { keySlot } from "../server/router.js";
import type { ClusterNode, ClusterState } from "./state.js";
import { preferredEndpoint } from "./endpoints.js";
import { scriptAwareFlags } from "../server/pause.js";
import { clientPort, usePport } from "./ports.js";

/** Per-client cluster flags (ASKING lasts one command; READONLY until READWRITE). */
export interface ClusterClientFlags { asking: boolean; readonly: boolean }

const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

/** The error that replaces running argv here, or null when it runs here. */
export function clusterRedirect(server: Server, state: ClusterState, client: Client & { cluster?: ClusterClientFlags },
                                spec: CommandSpec, argv: Buffer[],
                                target: (owner: ClusterNode) => ClusterNode = (owner) => owner): string | null {
  const flags = client.cluster;
  // ASKING lasts one command. (A command the kernel runs by itself, in a slot served here,
  // does not reach this point, so it does not clear the flag: the next one checked does.)
  const asking = flags?.asking ?? false;
  if (flags && spec.name !== "asking") flags.asking = false;
  // EXEC's commands were checked when queued; MULTI/EXEC/DISCARD themselves have no keys.
  // Shard channels route like keys (Redis's pubsubshard_included).
  const refs = keysFromSpecs(spec, argv, spec.flags.has("pubsub"));
  if (!refs || refs.length === 0) return null;
  let slot = -1;
  for (const r of refs) {
    const s = keySlot(argv[r.pos]);
    if (slot < 0) slot = s;
    else if (s !== slot) return CROSSSLOT;
  }
  const owner = state.owner[slot];
  const requireFull = server.config.getBool("cluster-require-full-coverage");
  if (!owner) return `CLUSTERDOWN Hash slot not served`;
  // A script's declared flags decide whether EVAL/FCALL writes (Redis's getCommandFlags).
  const isWrite = () => scriptAwareFlags(server, spec, argv).write;
  if (!state.stateOk(requireFull) && !(server.config.getBool("cluster-allow-reads-when-down") && !isWrite())) {
    return "CLUSTERDOWN The cluster is down";
  }
  if (owner === state.myself) {
    // A shard channel is served here until the slot's migration ends (SETSLOT NODE): its
    // name is no key, so it is never "missing" (Redis's is_pubsubshard).
    const target = spec.flags.has("pubsub") ? undefined : state.migrating.get(slot);
    if (target && refs.some((r) => server.types.typeOf(client.db, argv[r.pos]) < 0)) {
      // Some keys already left for the target: the client asks it (or retries there).
      return refs.length > 1 && refs.some((r) => server.types.typeOf(client.db, argv[r.pos]) >= 0)
        ? "TRYAGAIN Multiple keys request during rehashing of slot"
        : `ASK ${slot} ${preferredEndpoint(server.config, target)}:${clientPort(target, usePport(server.config, client))}`;
    }
    return null;
  }
  // A member of the owner's active-active group serves the slot as its own (group.ts).
  if (state.sameGroup(owner, state.myself)) return null;
  if (state.importing.has(slot) && (asking || spec.flags.has("asking"))) return null;
  // A READONLY client reads its master's slots from this replica; shard channels
  // (SSUBSCRIBE, SPUBLISH...) are served by the shard's replicas for every client.
  if ((flags?.readonly || spec.flags.has("pubsub")) && state.myself.master === owner && !isWrite()) return null;
  // A plain-text client in a TLS cluster is sent to the owner's plain-text port (use_pport).
  const to = target(owner);
  return `MOVED ${slot} ${preferredEndpoint(server.config, to)}:${clientPort(to, usePport(server.config, client))}`;
}
