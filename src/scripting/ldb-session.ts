// SCRIPT DEBUG and the debugging session of an EVAL (eval.c's ldbEnable/ldbDisable,
// ldbStartSession/ldbEndSession, evalGenericCommandWithDebugging), around the debugger
// itself (ldb.ts).
//
// In a session the debugging client's input goes to the debugger (Client.inputTap) and its
// script stops where the debugger stops it (its Lua thread yields, src/commands/scripting.ts
// runScript waits for the debugger to resume it). Redis's synchronous session blocks the
// whole server meanwhile; here the event loop goes on, so every other client's command is
// held (the client is blocked, as under CLIENT PAUSE) and run in order when the session ends:
// what other clients observe is the same, a server that answers them after the session.
// The server's cron does not run during the session either (Server.inputGate is up).
//
// SCRIPT DEBUG YES asks for Redis's forked session, whose changes to the dataset are
// discarded and seen by nobody: ldb-fork.ts.
import type { Client } from "../server/client.js";
import type { Server } from "../server/server.js";
import type { CommandContext } from "../commands/context.js";
import { batchLength, batchOpen } from "../server/reply-batch.js";
import { log } from "../server/log.js";
import { setErrorLog } from "./convert.js";
import { Ldb } from "./ldb.js";
import { forkDataset, rollbackDataset, type ForkedDataset } from "./ldb-fork.js";

/** Redis's CLIENT_LUA_DEBUG (true: with CLIENT_LUA_DEBUG_SYNC). */
const debugFlags = new WeakMap<Client, { sync: boolean }>();

interface Held { client: Client; argv: Buffer[]; onClose: () => void }

export interface LdbSession {
  ldb: Ldb;
  client: Client | null;
  /** Runs the stopped script on once the debugger has input for it (set by runScript). */
  resume: (() => void) | null;
  /** Other clients' commands, held while the session runs. */
  held: Held[];
  /** SCRIPT DEBUG YES: the dataset to roll back to. */
  fork: ForkedDataset | null;
}

const sessions = new WeakMap<Server, LdbSession>();

export function ldbOf(server: Server): LdbSession {
  let s = sessions.get(server);
  if (!s) sessions.set(server, (s = { ldb: new Ldb(), client: null, resume: null, held: [], fork: null }));
  return s;
}

/** SCRIPT DEBUG YES|SYNC|NO */
export function scriptDebugCommand(ctx: CommandContext): void {
  const { client, reply, argv, server } = ctx;
  if ((batchOpen(client) && batchLength() > 0) || reply.pending > 0 || client.outputBufferLength > 0) {
    return reply.error("SCRIPT DEBUG must be called outside a pipeline");
  }
  const mode = argv[2].toString("latin1").toLowerCase();
  if (mode === "no") {
    debugFlags.delete(client);
  } else if (mode === "yes" || mode === "sync") {
    enable(server, client, mode === "sync");
  } else {
    return reply.error("Use SCRIPT DEBUG YES/SYNC/NO");
  }
  reply.ok();
}

/** ldbEnable */
function enable(server: Server, client: Client, sync: boolean): void {
  debugFlags.set(client, { sync });
  ldbOf(server).ldb.enable();
}

/** Whether EVAL from this client runs under the debugger (CLIENT_LUA_DEBUG). */
export function debugging(client: Client): boolean {
  return debugFlags.has(client);
}

/**
 * ldbStartSession: the debugger takes the client's input and the script's source. The
 * caller runs EVAL, then calls endSession once the script has ended.
 */
export function startSession(server: Server, client: Client, source: Buffer): LdbSession {
  const session = ldbOf(server);
  const forked = !debugFlags.get(client)!.sync;
  const ldb = session.ldb;
  if (forked) log("warning", "Redis forked for debugging eval");
  else log("warning", "Redis synchronous debugging eval session started");
  session.client = client;
  session.fork = forked ? forkDataset(server) : null;
  ldb.start({
    write: (data) => {
      if (client.closed) return;
      client.flushTurnHold();
      client.socket.write(data);
    },
    busyReplyThreshold: () => server.config.getNumber("busy-reply-threshold"),
  }, source, forked);
  setErrorLog((err) => ldb.logError(err));
  const wake = () => { if (session.resume !== null) setImmediate(session.resume); };
  client.inputTap = (chunk) => { if (ldb.feed(chunk)) wake(); };
  const onClose = () => { if (ldb.closed()) wake(); };
  client.socket.once("close", onClose);
  sessionCloseListeners.set(session, onClose);
  return session;
}

const sessionCloseListeners = new WeakMap<LdbSession, () => void>();

/**
 * ldbEndSession: the remaining logs and <endsession>, then the client is closed after its
 * EVAL reply; held clients run.
 */
export function endSession(server: Server, session: LdbSession): void {
  const client = session.client!;
  const ldb = session.ldb;
  ldb.end();
  setErrorLog(null);
  if (ldb.forked) log("warning", "Lua debugging session child exiting");
  else log("warning", "Redis synchronous debugging eval session ended");
  if (session.fork !== null) rollbackDataset(server, session.fork);
  session.fork = null;
  client.inputTap = null;
  const onClose = sessionCloseListeners.get(session);
  if (onClose) client.socket.off("close", onClose);
  client.closeAfterReply = true;
  debugFlags.delete(client);
  session.client = null;
  session.resume = null;
  if (session.held.length > 0) setImmediate(() => releaseHeld(server, session));
}

/**
 * Server.inputGate while a debugged script is stopped: another client's command waits for
 * the session's end (Redis serves nobody during a synchronous session).
 */
export function holdGate(server: Server, c: Client, argv: Buffer[]): boolean {
  const session = ldbOf(server);
  const h: Held = { client: c, argv, onClose: () => forget(session, h) };
  session.held.push(h);
  c.blocked = true;
  c.socket.once("close", h.onClose);
  return true;
}

function forget(session: LdbSession, h: Held): void {
  const i = session.held.indexOf(h);
  if (i >= 0) session.held.splice(i, 1);
}

/** Runs the held commands, in the order they arrived. */
function releaseHeld(server: Server, session: LdbSession): void {
  const list = session.held.splice(0);
  for (const h of list) {
    const c = h.client;
    c.socket.off("close", h.onClose);
    if (c.closed) continue;
    c.blocked = false;
    server.dispatch(c, h.argv);
    c.flushAndMaybeClose();
    server.blocking.afterCommand();
    if (!c.blocked) c.resumeInput();
  }
}
