// Host lane: the short way through dispatch for a list, set or sorted-set command when
// nothing about the server or the client needs dispatch's per-command checks.
//
// Server.dispatch checks, for every command the kernel hands back, ACL, cluster slots, a
// busy script's input gate, a read-only or stale replica, the Pub/Sub context, maxmemory,
// min-replicas, CLIENT PAUSE and MULTI, and Server.run keeps MONITOR's and client
// tracking's per-command state. On a server where none of them is in force (the usual
// case, and every redis-benchmark run) they all answer "go on", yet cost, with the timing and
// statistics, about as much as LPUSH itself (profiles of redis-benchmark LPUSH -P 16).
//
// So Client.processRange asks plainState() once per read, and again after any command that
// did not go through the lane (only such a command can change what it looks at: MULTI,
// CLIENT TRACKING, MONITOR, CONFIG SET, ACL...; the rest changes between reads, in timers
// and socket events). While it holds, a lane command (a host handler of the list, set or
// sorted-set family that never blocks) runs here: the handler, then exactly the statistics
// Server.run keeps (calls, failed calls, error counts, usec and the latency histogram,
// slowlog and latency monitor, total commands). Anything else goes through dispatch.
// The global `performance` is a getter (node's lazy bootstrap): a module binding is a plain load.
import { commandFault } from "./command-fault.js";
import { performance } from "node:perf_hooks";
import type { Client } from "./client.js";
import type { Server } from "./server.js";
import type { Config } from "../config/config.js";
import type { CommandSpec } from "../commands/table.js";
import type { CommandContext } from "../commands/context.js";
import { arityOk } from "../commands/table.js";
import { lookupCommandBytes } from "./command-lookup.js";
import { recordCall } from "../commands/stats.js";
import { logCall } from "./slowlog.js";
import { writeGateUp } from "../repl/write-gate.js";
import { staleReplica } from "./stale-replica.js";
import { trackingOf } from "./tracking.js";
import { PAUSE_OFF } from "./pause.js";
import { perfConfig } from "../config/perf-config.js";
import { buggifyEnabled } from "../util/buggify.js";

/**
 * Whether dispatch's checks would all pass any lane command of `client` now: every
 * condition under which Server.dispatch or Server.run does more than run the handler.
 */
/** The last config asked about and its answer, at the config's generation (every read asks). */
let limitsConfig: Config | null = null;
let limitsGeneration = -1;
let limitsMemory = false;

/** maxmemory or maxmemory-clients is set. */
function configLimitsMemory(config: Config): boolean {
  if (config !== limitsConfig || config.generation !== limitsGeneration) {
    limitsConfig = config;
    limitsGeneration = config.generation;
    limitsMemory = config.getNumber("maxmemory") > 0 || config.getString("maxmemory-clients") !== "0";
  }
  return limitsMemory;
}

export function plainState(server: Server, client: Client): boolean {
  if (client.multi !== null || client.aclGuarded || client.tracked || client.subscriptions > 0) return false;
  if (server.cluster !== null || server.inputGate !== null || server.monitors.size > 0 || server.kernelRenamed ||
      server.pause.type !== PAUSE_OFF || server.effectsPerCommand || server.minReplicas.active) return false;
  if (writeGateUp(server) || staleReplica(server)) return false;
  // maxmemory's check() does nothing without a limit (keys or clients), a kernel memory cap,
  // an OOM state left over, or fault injection.
  if (configLimitsMemory(server.config) || perfConfig().kernel.maxMemory > 0 || server.maxmemory.oom ||
      buggifyEnabled()) return false;
  // Tracking keeps per-command state while any client tracks or any key is remembered.
  const t = trackingOf(server);
  return t.trackingClients === 0 && t.totalKeys === 0 && t.totalPrefixes === 0;
}

/**
 * Lane eligibility, decided once per table row (a Map, not a property on the row: rows given
 * an extra property would no longer share one shape, and every access to a row's fields
 * elsewhere would get slower).
 */
const laneRows = new Map<CommandSpec, boolean>();

function laneCommand(spec: CommandSpec): boolean {
  let on = laneRows.get(spec);
  if (on === undefined) {
    const c = spec.aclCategories;
    // A row with a kernel twin too (ZADD, ZPOPMIN, ZPOPMAX: the kernel hands back what it
    // declines, assembly/commands/zsets.ts) is a host command here like the others.
    on = spec.handler !== undefined && spec.subcommands.size === 0 &&
      !spec.flags.has("blocking") && !spec.flags.has("noscript") &&
      (c.includes("@list") || c.includes("@set") || c.includes("@sortedset"));
    laneRows.set(spec, on);
  }
  return on;
}

/**
 * Runs argv through the lane if it is a lane command with a valid arity (the caller has
 * checked plainState); -1, having done nothing, when it must go through dispatch.
 *
 * Clocks (each read costs ~50-200 ns on this VM, and a lane command used to read five):
 * `nowMs` is the read's "now" that its kernel commands share, and the command's keys are
 * looked up at that time (HostKeyspace.commandNow), as Redis 7.0's call() caches
 * server.mstime once per command for every lookup it makes; `startPerf` is the
 * performance.now() the caller read last (after the kernel call that handed the command
 * back), where the command's usec starts. Returns the performance.now() read at its end,
 * for the caller's next kernel run to start from.
 */
export function runInLane(server: Server, client: Client, argv: Buffer[], nowMs: number, startPerf: number): number {
  const spec = lookupCommandBytes(server.table, argv[0]);
  if (spec === undefined || !laneCommand(spec) || !arityOk(spec, argv.length)) return -1;
  const reply = client.reply;
  const errorsBefore = reply.errors;
  client.lastCommand = spec.name;
  const ctx: CommandContext = { server, client, argv, reply, spec };
  let argvBytes = 0;
  for (let i = 0; i < argv.length; i++) argvBytes += argv[i].length;
  client.currentArgvBytes = argvBytes;
  const types = server.types;
  types.commandNow = nowMs;
  const pendingBefore = reply.pending;
  const effects = server.effects;
  effects.hostCommand = true;
  try {
    spec.handler!(ctx);
  } catch (e) {
    commandFault(client, spec, pendingBefore, e);
  } finally {
    types.commandNow = -1;
    effects.endHostCommand();
  }
  client.currentArgvBytes = 0;
  spec.calls++;
  const end = performance.now();
  const usec = (end - startPerf) * 1000;
  recordCall(server, spec, usec);
  logCall(server, client, spec, argv, usec);
  if (reply.errors !== errorsBefore) {
    spec.failedCalls++;
    server.countError(reply.lastErrorCode, reply.lastErrorMessage);
  }
  server.stats.commandsProcessed++;
  return end;
}
