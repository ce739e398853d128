// A script that runs past busy-reply-threshold (lua-time-limit): Redis's "timed out" script
// state (script.c's scriptInterrupt and processCommand's busy check).
//
// Until the threshold the script holds the server, as in Redis. Past it, the engine's count
// hook yields the script's Lua thread back to the event loop on every call, so other clients
// are read and answered while the script goes on in later ticks: each of their commands
// passes through busyGate first (Server.inputGate; the kernel hands every command back to
// the host meanwhile), which lets only Redis's allow-busy commands run (SCRIPT KILL,
// FUNCTION KILL, FUNCTION STATS, SHUTDOWN NOSAVE, MULTI/WATCH/DISCARD, AUTH, HELLO...) and
// answers the rest -BUSY. The script's own client waits (its later input stays unread), and
// no other client's write can interleave with the script's: it stays atomic.
import type { Client } from "../server/client.js";
import type { Server } from "../server/server.js";
import { log } from "../server/log.js";
import type { ScriptRun } from "./engine.js";

/** shared.slowevalerr */
export const BUSY_EVAL_ERR = "-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
/** shared.slowscripterr */
export const BUSY_FUNCTION_ERR = "-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

export function busyError(run: ScriptRun): string {
  return run.evalMode ? BUSY_EVAL_ERR : BUSY_FUNCTION_ERR;
}

/** A timed-out script runs in slices of about this long (ms) between event-loop turns. */
const SLICE_MS = 2;

/**
 * scriptInterrupt: whether the running script should pause for the event loop now. The
 * first time it is past the threshold it enters the timed-out state (logged as Redis does);
 * from then on it pauses every SLICE_MS.
 */
export function shouldPause(server: Server, run: ScriptRun): boolean {
  const now = Date.now();
  if (run.timedOut) {
    if (now - run.pausedAt! < SLICE_MS) return false;
    run.pausedAt = now;
    return true;
  }
  const elapsed = now - run.startedAt;
  // Read once per run (every redis.call asks): no command a script runs, nor one served
  // while it is paused, can change it.
  if (elapsed < (run.busyThreshold ??= server.config.getNumber("busy-reply-threshold"))) return false;
  log("warning", `Slow script detected: still in execution after ${elapsed} milliseconds. ` +
    `You can try killing the script using the ${run.evalMode ? "SCRIPT KILL" : "FUNCTION KILL"} command. ` +
    `Script name is: ${run.funcname}.`);
  run.timedOut = true;
  run.pausedAt = now;
  return true;
}

/**
 * processCommand's busy check, for a command another client sent while a script is timed
 * out: true when it was answered (-BUSY, or EXEC's EXECABORT) instead of run.
 */
export function busyGate(server: Server, run: ScriptRun, client: Client, argv: Buffer[],
  discardTransaction: (server: Server, client: Client) => void): boolean {
  const found = server.resolveCommand(argv);
  // Unknown commands and arity errors are answered as at any time.
  if (found.error !== undefined) return false;
  const spec = found.spec!;
  const err = busyError(run);
  if (spec.flags.has("allow_busy")) {
    // SHUTDOWN may stop the server only without saving (shutdownCommand).
    if (spec.name === "shutdown" && !argv.slice(1).some((a) => a.toString("latin1").toLowerCase() === "nosave")) {
      client.lastCommand = spec.name;
      server.rejectCommand(client, err);
      spec.failedCalls++;
      return true;
    }
    return false;
  }
  client.lastCommand = spec.name;
  // rejectCommand: flagTransaction, and EXEC answers execCommandAbort's error.
  if (client.multi !== null) client.dirtyExec = true;
  if (spec.name === "exec") {
    discardTransaction(server, client);
    server.rejectCommand(client, `-EXECABORT Transaction discarded because of: ${err.slice(1)}`, spec);
  } else {
    server.rejectCommand(client, err, spec);
  }
  return true;
}
