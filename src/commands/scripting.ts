// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (Redis's eval.c), over the one Lua engine
// of the server (src/scripting/engine.ts).
//
// A command a script runs goes through Server.execCommand as the calling client, with the
// client's reply writer, db and protocol swapped for the script's while it runs (so SELECT
// inside a script does not move the caller, the reply comes back as RESP to convert, and a
// script inside EXEC does not disturb EXEC's own reply).
import { OOM_ERR } from "../server/maxmemory.js";
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import { arityOk, type CommandSpec } from "./table.js";
import { ReplyWriter } from "../server/reply-writer.js";
import { LuaEngine, type ScriptRun } from "../scripting/engine.js";
import { log, type LogLevel } from "../server/log.js";
import { replyHelp, subcommandSyntaxError } from "./help.js";
import { parseIntegerNumber } from "./context.js";
import type { FunctionsState } from "./functions.js";
import { busyGate, shouldPause } from "../scripting/busy.js";
import { mayReplicate } from "./may-replicate.js";
import { replicationOf } from "../repl/replication.js";
import { persistenceOf } from "../persistence/persistence.js";
import { discardTransaction } from "./multi.js";
import { aclOf } from "../acl/acl.js";
import { checkCommand, ACL_OK } from "../acl/check.js";
import { PROPAGATE_ALL } from "../server/effects.js";
import { staleReplica, MASTERDOWN_ERR } from "../server/stale-replica.js";
import type { ScriptFlags } from "../scripting/engine.js";
import type { ScriptCommand } from "../scripting/script-command.js";
import { debugging, endSession, holdGate, ldbOf, scriptDebugCommand, startSession } from "../scripting/ldb-session.js";
import { declaredSlot, scriptClusterError } from "../cluster/script-cluster.js";
import { lookupCommandBytes } from "../server/command-lookup.js";

export const NOSCRIPT_ERR = "NOSCRIPT No matching script. Please use EVAL.";
export const NOREPLICAS_ERR = "-NOREPLICAS Not enough good replicas to write.";

/**
 * checkGoodReplicasStatus: a replica, or min-replicas-to-write unset, or at least that many
 * replicas acknowledged within min-replicas-max-lag seconds (refreshGoodSlavesCount).
 */
export function goodReplicas(server: Server): boolean {
  return server.minReplicas.satisfied();
}

/** The server's scripting state: its Lua engines, libraries, and the script running now. */
export interface Scripting {
  /** EVAL's Lua state and script cache. */
  engine: LuaEngine;
  /** FUNCTION's own Lua state. */
  functionEngine: LuaEngine;
  functions: FunctionsState;
  caller: Client | null;
  run: ScriptRun | null;
  /** The running EVAL/FCALL's arguments (FUNCTION STATS). */
  runArgv: Buffer[] | null;
  /** The running call continues in later ticks (it ran past busy-reply-threshold). */
  paused: boolean;
  /** What runs once the paused call ends, before its client's input resumes (EXEC's rest). */
  afterScript: (() => void)[];
}

const states = new WeakMap<Server, Scripting>();

/** Servers where DEBUG SET-DISABLE-DENY-SCRIPTS 1 lets scripts run noscript commands (tests). */
const denyScriptsDisabled = new WeakSet<Server>();

/** DEBUG SET-DISABLE-DENY-SCRIPTS: server.script_disable_deny_script. */
export function setDenyScriptsDisabled(server: Server, on: boolean): void {
  if (on) denyScriptsDisabled.add(server);
  else denyScriptsDisabled.delete(server);
}

const LOG_LEVELS: LogLevel[] = ["debug", "verbose", "notice", "warning"];

/** Whether the server has scripting state yet (its Lua states are made on first use). */
export function scriptingStarted(server: Server): boolean {
  return states.has(server);
}

/** The last scriptingOf answer: an EVAL asks several times, and a WeakMap lookup is ~20 ns each. */
let lastServer: Server | null = null;
let lastState: Scripting | null = null;

export function scriptingOf(server: Server): Scripting {
  if (server === lastServer) return lastState!;
  let s = states.get(server);
  if (s) {
    lastServer = server;
    lastState = s;
  } else {
    const state: Scripting = {
      engine: null as unknown as LuaEngine, functionEngine: null as unknown as LuaEngine,
      functions: { libraries: new Map(), functions: new Map() }, caller: null, run: null, runArgv: null,
      paused: false, afterScript: [],
    };
    const host = {
      call: (run: ScriptRun, command: ScriptCommand) => callFromScript(server, state, run, command),
      log: (level: number, msg: string) => log(LOG_LEVELS[level] ?? "notice", msg),
      interrupt: (run: ScriptRun) => (shouldPause(server, run) ? "yield" as const : undefined),
      aclCheck: (argv: Buffer[]) => aclCheckFromScript(server, state, argv),
      setRepl: (flags: number) => { server.effects.propagateTo = flags; },
    };
    state.engine = new LuaEngine(host, "eval");
    state.functionEngine = new LuaEngine(host, "function");
    state.engine.debugger = state.functionEngine.debugger = ldbOf(server).ldb;
    states.set(server, (s = state));
    // Scripts never block (CLIENT_DENY_BLOCKING): a blocking command answers as if timed out.
    const denied = server.blocking.denied;
    server.blocking.denied = (c) => denied(c) || state.caller === c;
    // Clients blocked on keys are served when the script has ended, not while it is paused
    // (it may pop what it pushed before it pauses).
    const afterCommand = server.blocking.afterCommand.bind(server.blocking);
    server.blocking.afterCommand = () => { if (!state.paused) afterCommand(); };
  }
  return s;
}

/**
 * redis.acl_check_cmd (luaRedisAclCheckCmdPermissionsCommand): lookupCommand without an arity
 * check, then ACLCheckAllUserCommandPerm for the script's caller, keys and channels included.
 */
function aclCheckFromScript(server: Server, state: Scripting, argv: Buffer[]): boolean | null {
  let spec = server.table.lookup(argv[0].toString("latin1"));
  if (spec && spec.subcommands.size > 0 && argv.length >= 2) spec = spec.subcommands.get(argv[1].toString("latin1").toLowerCase());
  if (!spec) return null;
  const caller = state.caller;
  return caller === null || checkCommand(aclOf(server).userOf(caller), spec, argv).result === ACL_OK;
}

/** mustObeyClient: the master's link or the AOF being loaded. */
function obeyed(server: Server, c: Client): boolean {
  const link = replicationOf(server).link;
  return c.replaysAof || (link !== null && link !== undefined && link.isMasterClient(c));
}

/**
 * scriptPrepareForRun's checks of a script's declared flags against the server's state
 * (EVAL with a shebang, FCALL): the error to reply, or null when it may run. A script
 * without a shebang (EVAL's compatible mode) is only refused on a stale replica.
 */
export function prepareForRun(server: Server, caller: Client, f: ScriptFlags, ro: boolean): string | null {
  const runningStale = staleReplica(server);
  if (f.compat) return runningStale ? "-" + MASTERDOWN_ERR : null;
  if (f.noCluster && server.cluster) return "Can not run script on cluster, 'no-cluster' flag is set.";
  if (runningStale && !f.allowStale) {
    return "-MASTERDOWN Link with MASTER is down, replica-serve-stale-data is set to 'no' and 'allow-stale' flag is not set on the script.";
  }
  if (!f.noWrites) {
    const obey = obeyed(server, caller);
    if (replicationOf(server).link && server.config.getBool("replica-read-only") && !obey) {
      return "-READONLY Can not run script with write flag on readonly replica";
    }
    const disk = persistenceOf(server).diskError();
    if (disk && !obey) {
      if (disk.startsWith("-MISCONF Errors writing to the AOF file: ")) {
        return "-MISCONF Redis is configured to persist data to AOF, but it's currently unable to persist to disk. " +
          "Writable scripts are blocked. Use 'no-writes' flag for read only scripts. AOF error: " + disk.slice("-MISCONF Errors writing to the AOF file: ".length);
      }
      return "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. " +
        "Writable scripts are blocked. Use 'no-writes' flag for read only scripts.";
    }
    if (ro) return "Can not execute a script with write flag using *_ro command.";
    if (!goodReplicas(server)) return NOREPLICAS_ERR;
  }
  if (server.maxmemory.oom && !(f.allowOom || f.noWrites)) {
    return "-OOM allow-oom flag is not set on the script, can not run it when used memory > 'maxmemory'";
  }
  return null;
}

/** scriptCall's checks, then the command run as the script's client; its RESP reply. */
function callFromScript(server: Server, state: Scripting, run: ScriptRun, command: ScriptCommand): Buffer | { error: string } {
  const spec = lookupCommandBytes(server.table, command.bytes, command.nameStart, command.nameEnd);
  const argc = command.argc;
  if (!spec) {
    // A Redis command LatticeKV lacks, but that scripts may not run anyway, answers as Redis does.
    const argv = command.argv();
    let known = server.table.find(argv[0].toString("latin1").toLowerCase());
    if (known && known.subcommands.size > 0 && argc >= 2) known = known.subcommands.get(argv[1].toString("latin1").toLowerCase()) ?? known;
    if (known && known.flags.has("noscript")) return { error: "This Redis command is not allowed from script" };
    return { error: "Unknown Redis command called from script" };
  }
  // scriptCall's arity check counts a rejected call of the command (incrCommandStatsOnError).
  if (!arityOk(spec, argc)) return wrongArity(spec);
  let eff: CommandSpec = spec;
  if (spec.subcommands.size > 0 && argc >= 2) {
    const sub = spec.subcommands.get(command.argv()[1].toString("latin1").toLowerCase());
    if (sub && (sub.handler || sub.kernelIndex >= 0)) {
      if (!arityOk(sub, argc)) return wrongArity(sub);
      eff = sub;
    }
  }
  const flags = eff.scriptFlags ?? scriptFlagsOf(eff);
  if ((flags & NOSCRIPT) !== 0 && !denyScriptsDisabled.has(server)) return { error: "This Redis command is not allowed from script" };
  // scriptVerifyAllowStale: on a stale replica only commands flagged `stale` run.
  if ((flags & STALE) === 0 && staleReplica(server)) return reject(server, eff, "ERR", "ERR Can not execute the command on a stale replica");
  const write = (flags & WRITE) !== 0;
  if (run.readOnly && (write || mayReplicate(eff))) {
    return reject(server, eff, "ERR", "ERR Write commands are not allowed from read-only scripts.");
  }
  // scriptVerifyWriteCommandAllow: once the script wrote, its later writes are not refused
  // for the server's state (it cannot be undone half-way).
  if (write && !run.writeDirty) {
    // A read-only replica refuses a script's first write unless the script came from its
    // master or the AOF being loaded (mustObeyClient): EVAL itself is not a write command,
    // so processCommand's -READONLY check let the script run.
    if (replicationOf(server).link && server.config.getBool("replica-read-only") && !obeyed(server, state.caller!)) {
      return reject(server, eff, "READONLY", "READONLY You can't write against a read only replica.");
    }
    // writeCommandsDeniedByDiskError: -MISCONF while a BGSAVE or AOF write failed.
    const disk = persistenceOf(server).diskError();
    if (disk) return reject(server, eff, "MISCONF", disk.slice(1));
    if (!goodReplicas(server)) return reject(server, eff, "NOREPLICAS", NOREPLICAS_ERR.slice(1));
  }
  // scriptVerifyOOM: over maxmemory when the script started, its first write may not grow memory.
  if (run.oomAtStart && !run.writeDirty && (flags & DENYOOM) !== 0) return reject(server, eff, "OOM", OOM_ERR);
  if (write) run.writeDirty = true;
  if (server.cluster) {
    const clusterError = scriptClusterError(server, state.caller!, obeyed(server, state.caller!), run, eff, command.argv());
    if (clusterError !== null) return reject(server, eff, "ERR", "ERR " + clusterError);
  }
  return runAsScriptClient(server, state.caller!, run, command, eff === spec && spec.subcommands.size === 0 ? spec : null);
}

// The flags callFromScript checks on every call, as bits of CommandSpec.scriptFlags: a Set
// lookup each was ~2% of a redis.call loop's time (issue #8).
const NOSCRIPT = 1, STALE = 2, WRITE = 4, DENYOOM = 8;

function scriptFlagsOf(spec: CommandSpec): number {
  const f = spec.flags;
  return (spec.scriptFlags = (f.has("noscript") ? NOSCRIPT : 0) | (f.has("stale") ? STALE : 0) |
    (f.has("write") ? WRITE : 0) | (f.has("denyoom") ? DENYOOM : 0));
}

/** scriptCall's arity error, counted as a rejected call of the command (incrCommandStatsOnError). */
function wrongArity(spec: CommandSpec): { error: string } {
  spec.rejectedCalls++;
  return { error: "Wrong number of args calling Redis command from script" };
}

/**
 * scriptCall's state checks reject the command like Redis's rejectCommand: it counts in the
 * command's rejected_calls and in errorstats (once: EVAL's error does not count again).
 */
function reject(server: Server, spec: CommandSpec, code: string, message: string): { error: string } {
  spec.rejectedCalls++;
  server.countError(code, message);
  return { error: `-${message}` };
}

/** runAsScriptClient's reply writer. */
const captureWriter = new ReplyWriter();

/**
 * Runs the command for a script on behalf of its caller and captures the reply. resolved: its
 * table row when callFromScript found it whole (no subcommand), for Server.runScriptCall;
 * otherwise it goes through execCommand like any nested command.
 */
function runAsScriptClient(server: Server, c: Client, run: ScriptRun, command: ScriptCommand, resolved: CommandSpec | null): Buffer {
  const mc = c as unknown as { reply: ReplyWriter; db: number; resp: number; lastCommand: string };
  const savedReply = mc.reply, savedDb = mc.db, savedResp = mc.resp, savedLastCommand = mc.lastCommand;
  // One writer for every call (calls do not nest, and take() below empties it).
  const cap = captureWriter;
  cap.resp = run.resp;
  mc.reply = cap;
  mc.db = run.db;
  mc.resp = run.resp;
  try {
    if (resolved !== null) server.runScriptCall(c, resolved, command);
    else server.execCommand(c, command.argv(), true, command.request);
  } catch (e) {
    cap.take(); // (the shared writer starts the next call empty)
    throw e;
  } finally {
    run.db = mc.db;
    mc.reply = savedReply;
    mc.db = savedDb;
    mc.resp = savedResp;
    mc.lastCommand = savedLastCommand;
  }
  return cap.take();
}

function evalGeneric(ctx: CommandContext, evalsha: boolean, ro: boolean): void {
  const { argv, reply, server, client } = ctx;
  const scripting = scriptingOf(server);
  const engine = scripting.engine;
  // (a JS number: exact to 2^53, and any larger count is refused all the same)
  const numkeys = parseIntegerNumber(argv[2]);
  if (numkeys === null) return reply.error("value is not an integer or out of range");
  if (numkeys > argv.length - 3) return reply.error("Number of keys can't be greater than number of args");
  if (numkeys < 0) return reply.error("Number of keys can't be negative");
  let sha: string;
  if (evalsha) {
    if (argv[1].length !== 40) return reply.error(NOSCRIPT_ERR);
    sha = argv[1].toString("latin1").toLowerCase();
    if (!engine.scripts.has(sha)) return reply.error(NOSCRIPT_ERR);
  } else {
    sha = engine.shaOf(argv[1]);
    if (!engine.scripts.has(sha)) {
      const created = engine.createFunction(argv[1]);
      if ("error" in created) return reply.error(created.error);
    }
  }
  const script = engine.scripts.get(sha)!;
  const f = script.flags;
  const refused = prepareForRun(server, client, f, ro);
  if (refused !== null) return reply.error(refused);
  const n = numkeys;
  const run: ScriptRun = {
    funcname: sha, evalMode: true, readOnly: ro || (!f.compat && f.noWrites), writeDirty: false,
    oomAtStart: server.maxmemory.oom && !f.allowOom,
    resp: 2, killed: false, startedAt: Date.now(), db: client.db,
    debug: ldbOf(server).client === client, allowCrossSlot: f.compat || f.allowCrossSlot,
  };
  if (!engine.pushScript(sha)) return reply.error(NOSCRIPT_ERR);
  runScript(server, engine, client, run, argv.slice(3, 3 + n), argv.slice(3 + n), reply, argv);
}

/**
 * Runs the function the engine has on its stack (under its error handler) for client and
 * writes the reply; the script's commands run as client (callFromScript).
 *
 * A script that runs past busy-reply-threshold pauses (src/scripting/busy.ts): this returns
 * with scripting.paused set, the client waits (Client.blocked), other clients pass the busy
 * gate, and the script goes on in later ticks until it ends; then what was queued with
 * afterScript() runs and the client's input resumes.
 */
export function runScript(server: Server, engine: LuaEngine, client: Client, run: ScriptRun, keys: Buffer[], args: Buffer[], reply: ReplyWriter, argv?: Buffer[]): void {
  const scripting = scriptingOf(server);
  scripting.caller = client;
  scripting.run = run;
  scripting.runArgv = argv ?? null;
  // (only cluster mode checks a script's slots: src/cluster/script-cluster.ts)
  run.slot = server.cluster ? declaredSlot(keys) : -1;
  // AOF and replication apply a script's effects as one unit.
  server.effects.beginGroup();
  let call;
  try {
    call = engine.startCall(run, keys, args, reply);
  } catch (e) {
    endScript(server, scripting);
    throw e;
  }
  // The script sees time stand still at its start (Redis's script time snapshot): a key does
  // not expire under it. Only while it runs: when it pauses, the rest of the server has the clock.
  const realNow = server.now;
  let startedAt = realNow.call(server);
  const ldb = run.debug ? ldbOf(server) : null;
  // Each stop of the debugger starts the script's time again (rctx->snapshot_time).
  if (ldb !== null) ldb.ldb.onStopEnd = () => { startedAt = realNow.call(server); };
  const step = () => {
    const clock = server.now;
    server.now = () => startedAt;
    try {
      return call.step();
    } finally {
      server.now = clock;
    }
  };
  if (step()) return endScript(server, scripting);
  scripting.paused = true;
  client.blocked = true;
  // A gate already up (loading: a slow script replayed from the AOF) answers first, as
  // processCommand checks LOADING before the busy script.
  const outer = server.inputGate;
  server.inputGate = ldb !== null
    ? (c, argv) => (outer !== null && outer(c, argv)) || holdGate(server, c, argv)
    : (c, argv) => (outer !== null && outer(c, argv)) || busyGate(server, run, c, argv, discardTransaction);
  const tick = () => {
    if (!step()) {
      // A debugged script goes on when the debugger has its next command (ldb-session.ts).
      if (ldb === null) setImmediate(tick);
      return;
    }
    if (ldb !== null) ldb.ldb.onStopEnd = null;
    server.inputGate = outer;
    scripting.paused = false;
    endScript(server, scripting);
    for (const f of scripting.afterScript.splice(0)) f();
    // A continuation may have started another script that paused: it finishes the client.
    if (scripting.paused) return;
    client.blocked = false;
    client.flushAndMaybeClose();
    server.blocking.afterCommand();
    client.resumeInput();
  };
  if (ldb !== null) ldb.resume = tick;
  else setImmediate(tick);
}

function endScript(server: Server, scripting: Scripting): void {
  server.effects.endGroup();
  server.effects.propagateTo = PROPAGATE_ALL; // redis.set_repl lasts for one script
  scripting.caller = null;
  scripting.run = null;
  scripting.runArgv = null;
}

/** The client whose script is running now, if any (Redis's CLIENT_SCRIPT on the caller's commands). */
export function scriptCaller(server: Server): Client | null {
  return states.get(server)?.caller ?? null;
}

/** INFO memory's number_of_cached_scripts / number_of_functions / number_of_libraries. */
export function scriptCounts(server: Server): { scripts: number; functions: number; libraries: number } {
  const s = states.get(server);
  return { scripts: s?.engine.scripts.size ?? 0, functions: s?.functions.functions.size ?? 0, libraries: s?.functions.libraries.size ?? 0 };
}

/** Whether the script just started continues in later ticks (EXEC waits for it). */
export function scriptPaused(server: Server): boolean {
  return states.get(server)?.paused ?? false; // (no scripting state yet: no script)
}

/** Runs f once the paused script ends, before its client's input resumes. */
export function afterScript(server: Server, f: () => void): void {
  scriptingOf(server).afterScript.push(f);
}

const SCRIPT_HELP = [
  "DEBUG (YES|SYNC|NO)",
  "    Set the debug mode for subsequent scripts executed.",
  "EXISTS <sha1> [<sha1> ...]",
  "    Return information about the existence of the scripts in the script cache.",
  "FLUSH [ASYNC|SYNC]",
  "    Flush the Lua scripts cache. Very dangerous on replicas.",
  "    When called without the optional mode argument, the behavior is determined by the",
  "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
  "    * ASYNC: Asynchronously flush the scripts cache.",
  "    * SYNC: Synchronously flush the scripts cache.",
  "KILL",
  "    Kill the currently executing Lua script.",
  "LOAD <script>",
  "    Load a script into the scripts cache without executing it.",
];

/** evalGenericCommandWithDebugging: EVAL in a debugging session, ended once the script is. */
function evalWithDebugging(ctx: CommandContext, ro: boolean): void {
  const { server, client } = ctx;
  const session = startSession(server, client, ctx.argv[1]);
  try {
    evalGeneric(ctx, false, ro);
  } finally {
    const scripting = scriptingOf(server);
    if (scripting.paused && scripting.caller === client) afterScript(server, () => endSession(server, session));
    else endSession(server, session);
  }
}

/** evalShaCommand: a debugging client must use EVAL. */
function evalSha(ctx: CommandContext, ro: boolean): void {
  if (debugging(ctx.client) && ctx.argv[1].length === 40) return ctx.reply.error("Please use EVAL instead of EVALSHA for debugging");
  evalGeneric(ctx, true, ro);
}

export function registerScriptingCommands(t: CommandTable): void {
  t.define("eval", (ctx) => (debugging(ctx.client) ? evalWithDebugging(ctx, false) : evalGeneric(ctx, false, false)));
  t.define("evalsha", (ctx) => evalSha(ctx, false));
  t.define("eval_ro", (ctx) => (debugging(ctx.client) ? evalWithDebugging(ctx, true) : evalGeneric(ctx, false, true)));
  t.define("evalsha_ro", (ctx) => evalSha(ctx, true));
  t.define("script|debug", scriptDebugCommand);

  t.define("script|help", (ctx) => replyHelp(ctx, SCRIPT_HELP));
  t.define("script|flush", (ctx) => {
    const { argv, reply } = ctx;
    if (argv.length > 3) return subcommandSyntaxError(ctx);
    if (argv.length === 3) {
      const mode = argv[2].toString("latin1").toLowerCase();
      if (mode !== "sync" && mode !== "async") return reply.error("SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    scriptingOf(ctx.server).engine.reset();
    reply.ok();
  });
  t.define("script|exists", (ctx) => {
    const { argv, reply } = ctx;
    const scripts = scriptingOf(ctx.server).engine.scripts;
    reply.arrayLen(argv.length - 2);
    for (let j = 2; j < argv.length; j++) reply.integer(scripts.has(argv[j].toString("latin1")) ? 1 : 0);
  });
  t.define("script|load", (ctx) => {
    const created = scriptingOf(ctx.server).engine.createFunction(ctx.argv[2]);
    if ("error" in created) return ctx.reply.error(created.error);
    ctx.reply.bulk(created.sha);
  });
  t.define("script|kill", (ctx) => scriptKill(ctx, true));
}

/** scriptKill: a running read-only script can be stopped; one that wrote cannot. */
export function scriptKill(ctx: CommandContext, isEval: boolean): void {
  const run = scriptingOf(ctx.server).run;
  const { reply } = ctx;
  if (!run) return reply.error("-NOTBUSY No scripts in execution right now.");
  if (run.writeDirty) {
    return reply.error("-UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command.");
  }
  if (isEval && !run.evalMode) return reply.error("-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.");
  if (!isEval && run.evalMode) return reply.error("-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
  run.killed = true;
  reply.ok();
}
