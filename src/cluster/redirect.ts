// Redis Cluster's per-command rules (cluster.c getNodeByQuery), applied to every command
// the kernel hands back in cluster mode (the kernel runs by itself only commands whose keys
// all hash to one slot this node serves with nothing in flight):
//   - keys in several slots                         -> -CROSSSLOT
//   - the slot is unassigned, or the cluster is down -> -CLUSTERDOWN
//   - the slot is another node's                     -> -MOVED slot ip:port (with an
//     active-active group: a member we can reach; a member of our own group serves it here,
//     unless a group peer is migrating it out of the group: -MOVED to that peer)
//   - the slot is migrating out and a key is missing -> -ASK slot ip:port (the target has it)
//   - the slot is importing: served only after ASKING (-TRYAGAIN when some of several keys
//     have not arrived)
//   - a replica serves reads of its master's slots to a READONLY client
//   - MIGRATE runs here while its slot is migrating or importing, key or no key (so that
//     redis-cli --cluster reshard can move keys either way), but not while the cluster is down
// EXEC is checked over every queued command's keys together (Redis's getNodeByQuery reads the
// client's mstate): a transaction whose commands are each fine alone but whose keys span slots
// gets -CROSSSLOT at EXEC, and one whose slot moved since queueing gets -MOVED/-ASK; the
// caller then discards it.
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import type { CommandSpec } from "../commands/table.js";
import { keysFromSpecs, migrateKeys } from "../commands/command.js";
import { keySlot } from "../server/router.js";
import type { ClusterNode, ClusterState } from "./state.js";
import { preferredEndpoint } from "./endpoints.js";
import { scriptAwareFlags } from "../server/pause.js";
import { clientPort, usePport } from "./ports.js";

/** Per-client cluster flags (ASKING lasts one command; READONLY until READWRITE). */
export interface ClusterClientFlags {
  asking: boolean;
  readonly: boolean;
  /** ASKING as it was when the command now running was checked (a script's commands see it). */
  askingNow?: boolean;
}

const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

/**
 * getNodeByQuery's verdict on argv for client: error is the reply that replaces running it
 * here (null: it runs here); slot is the slot its keys hash to (-1: no keys, or refused
 * before the slot counted); scriptError is the text scriptVerifyClusterState puts in a
 * script's error for the same refusal.
 */
export interface NodeQuery { error: string | null; slot: number; scriptError?: string }

const NON_LOCAL = "Script attempted to access a non local key in a cluster node";
const refuse = (error: string, scriptError = NON_LOCAL): NodeQuery => ({ error, slot: -1, scriptError });

/** The error that replaces running argv here, or null when it runs here. */
export function clusterRedirect(server: Server, state: ClusterState, client: Client & { cluster?: ClusterClientFlags },
                                spec: CommandSpec, argv: Buffer[],
                                target: (owner: ClusterNode) => ClusterNode = (owner) => owner): string | null {
  const flags = client.cluster;
  // ASKING lasts one command (while it is set the kernel hands every command back, so even a
  // PING comes here and ends it: Client.processRange).
  // The command checked now keeps it (askingNow), so that a script it runs sees it too.
  const asking = flags?.asking ?? false;
  // Redis's resetClient keeps ASKING while the client is in MULTI (MULTI itself included), so
  // ASKING, MULTI, its commands and EXEC all reach an importing slot; EXEC ends it.
  const staysInMulti = spec.name === "multi" || (client.multi !== null && spec.name !== "exec" && spec.name !== "discard");
  if (flags && spec.name !== "asking" && !staysInMulti) flags.asking = false;
  if (flags) flags.askingNow = asking;
  return getNodeByQuery(server, state, client, spec, argv, asking, target).error;
}

/** A command getNodeByQuery looks at: the one checked, or each command an EXEC would run. */
interface Queried { spec: CommandSpec; argv: Buffer[] }

/** EXEC's queued commands (Redis's mstate), or the command itself. */
function queriedCommands(server: Server, client: Client, spec: CommandSpec, argv: Buffer[]): Queried[] {
  if (spec.name !== "exec") return [{ spec, argv }];
  const out: Queried[] = [];
  for (const queued of client.multi ?? []) {
    const found = server.resolveCommand(queued);
    if (found.spec !== undefined && found.error === undefined) out.push({ spec: found.spec, argv: queued });
  }
  return out;
}

/** Redis's getNodeByQuery for one command, or for EXEC over its queued commands' keys together. */
export function getNodeByQuery(server: Server, state: ClusterState, client: Client & { cluster?: ClusterClientFlags },
                               spec: CommandSpec, argv: Buffer[], asking: boolean,
                               target: (owner: ClusterNode) => ClusterNode = (owner) => owner): NodeQuery {
  const flags = client.cluster;
  const commands = queriedCommands(server, client, spec, argv);
  // Shard channels route like keys (Redis's pubsubshard_included).
  const isShardChannel = commands.some((c) => c.spec.flags.has("pubsub"));
  const keys: Buffer[] = [];
  for (const c of commands) {
    // MIGRATE's KEYS form has an incomplete key spec: Redis falls back to migrateGetKeys.
    const refs = c.spec.name === "migrate" ? migrateKeys(c.argv) : keysFromSpecs(c.spec, c.argv, c.spec.flags.has("pubsub"));
    for (const r of refs ?? []) keys.push(c.argv[r.pos]);
  }
  if (keys.length === 0) return { error: null, slot: -1 };
  let slot = -1;
  let multipleKeys = false;
  for (const key of keys) {
    const s = keySlot(key);
    if (slot < 0) slot = s;
    else if (s !== slot) return refuse(CROSSSLOT);
    else if (!multipleKeys && !key.equals(keys[0])) multipleKeys = true;
  }
  const owner = state.owner[slot];
  const requireFull = server.config.getBool("cluster-require-full-coverage");
  if (!owner) return refuse("CLUSTERDOWN Hash slot not served");
  // A script's declared flags decide whether EVAL/FCALL writes (Redis's getCommandFlags); EXEC
  // writes when a queued command does (Redis's mstate.cmd_flags).
  const isWrite = () => commands.some((c) => scriptAwareFlags(server, c.spec, c.argv).write);
  if (!state.stateOk(requireFull)) {
    // Shard channels have their own setting (cluster-allow-pubsubshard-when-down, default yes).
    if (isShardChannel) {
      if (!server.config.getBool("cluster-allow-pubsubshard-when-down")) {
        return refuse("CLUSTERDOWN The cluster is down", "Script attempted to execute a command while the cluster is down");
      }
    } else if (!server.config.getBool("cluster-allow-reads-when-down")) {
      return refuse("CLUSTERDOWN The cluster is down", "Script attempted to execute a command while the cluster is down");
    } else if (isWrite()) {
      return refuse("CLUSTERDOWN The cluster is down and only accepts read commands",
        "Script attempted to execute a write command while the cluster is down and readonly");
    }
  }
  // A member of the owner's active-active group serves the slot as its own (group.ts).
  const ours = state.sameGroup(owner, state.myself);
  // Redis's "MIGRATE always works in the context of the local node if the slot is open".
  if (spec.name === "migrate" && ((ours && state.migrating.has(slot)) || state.importing.has(slot))) {
    return { error: null, slot };
  }
  const keyMissing = (key: Buffer) => server.types.typeOf(client.db, key) < 0;
  // A node's address for this client (a plain-text client in a TLS cluster gets the plain port: use_pport).
  const at = (n: ClusterNode) => `${preferredEndpoint(server.config, n)}:${clientPort(n, usePport(server.config, client))}`;
  if (ours) {
    // A shard channel is served here until the slot's migration ends (SETSLOT NODE): its
    // name is no key, so it is never "missing" (Redis's is_pubsubshard).
    if (!isShardChannel) {
      // A group peer is migrating the slot out of the group: its writes serialize there
      // (group-migration.ts).
      const runner = state.groupMoving.get(slot);
      if (runner) {
        return { error: `MOVED ${slot} ${at(runner)}`, slot, scriptError: NON_LOCAL };
      }
    }
    const to = isShardChannel ? undefined : state.migrating.get(slot);
    if (to && keys.some(keyMissing)) {
      // Some keys already left for the target: the client asks it (or retries there).
      return keys.length > 1 && keys.some((k) => !keyMissing(k))
        ? { error: "TRYAGAIN Multiple keys request during rehashing of slot", slot, scriptError: NON_LOCAL }
        : { error: `ASK ${slot} ${at(to)}`, slot, scriptError: NON_LOCAL };
    }
    return { error: null, slot };
  }
  if (state.importing.has(slot) && (asking || spec.flags.has("asking"))) {
    // Several keys of which some have not arrived yet: the client retries later.
    if (multipleKeys && !isShardChannel && keys.some(keyMissing)) {
      return { error: "TRYAGAIN Multiple keys request during rehashing of slot", slot, scriptError: NON_LOCAL };
    }
    return { error: null, slot };
  }
  // A READONLY client reads its master's slots from this replica; shard channels
  // (SSUBSCRIBE, SPUBLISH...) are served by the shard's replicas for every client.
  if ((flags?.readonly || isShardChannel) && state.myself.master === owner && !isWrite()) return { error: null, slot };
  return { error: `MOVED ${slot} ${at(target(owner))}`, slot, scriptError: NON_LOCAL };
}
