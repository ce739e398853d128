// FUNCTION LOAD/DELETE/LIST/FLUSH/STATS/KILL/HELP, FCALL and FCALL_RO (Redis 7.0's
// functions.c), over the FUNCTION engine's own Lua state (LuaEngine kind "function").
//
// A library is "#!lua name=<lib>\n<code>"; running its code registers functions with
// redis.register_function. Libraries and functions live in the server's scripting state
// (scripting.ts scriptingOf), next to the EVAL engine.
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import type { Server } from "../server/server.js";
import { subcommandSyntaxError, replyHelp } from "./help.js";
import { scriptingOf, scriptingStarted, scriptKill, runScript, prepareForRun } from "./scripting.js";
import { SCRIPT_FLAG_NAMES, type LibraryFunction, type ScriptRun } from "../scripting/engine.js";
import { parseInteger } from "./context.js";
import { stringMatch } from "../util/glob.js";
import { splitConfigLine } from "../config/config.js";
import { RdbReader, RdbWriter, RdbFormatError, RDB_VERSION, RDB_OPCODE_FUNCTION, RDB_OPCODE_FUNCTION2 } from "../persistence/rdb-format.js";
import { verifyDumpPayload } from "../persistence/dump.js";
import { crc64 } from "../persistence/crc64.js";

export interface Library { name: string; engine: string; code: Buffer; functions: Map<string, LibraryFunction> }

/** The libraries and the function index of one server. */
export interface FunctionsState {
  libraries: Map<string, Library>;
  functions: Map<string, { lib: Library; fn: LibraryFunction }>;
}

const LIB_NAME_ERR = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/** functionExtractLibMetaData: "#!<engine> name=<lib>" on the first line. */
function libraryMetadata(code: Buffer): { engine: string; name: string; body: Buffer } | { error: string } {
  if (code[0] !== 0x23 || code[1] !== 0x21) return { error: "Missing library metadata" };
  const nl = code.indexOf(10);
  if (nl < 0) return { error: "Invalid library metadata" };
  // sdssplitargs: quotes group (name="foo" is foo).
  const parts = splitConfigLine(code.toString("latin1", 0, nl));
  if (!parts || parts.length === 0) return { error: "Invalid library metadata" };
  const engine = parts[0].slice(2);
  let name: string | undefined;
  for (const part of parts.slice(1)) {
    if (part.toLowerCase().startsWith("name=")) {
      if (name !== undefined) return { error: "Invalid metadata value, name argument was given multiple times" };
      name = part.slice(5);
      continue;
    }
    return { error: `Invalid metadata value given: ${part}` };
  }
  if (name === undefined) return { error: "Library name was not given" };
  return { engine, name, body: code.subarray(nl) };
}

/** functionsCreateWithLibraryCtx: compiles and links a library; its name or an error. */
export function createLibrary(server: Server, code: Buffer, replace: boolean, fs = scriptingOf(server).functions): { name: string } | { error: string } {
  const s = scriptingOf(server);
  const md = libraryMetadata(code);
  if ("error" in md) return md;
  if (!/^[A-Za-z0-9_]+$/.test(md.name)) return { error: LIB_NAME_ERR };
  if (md.engine.toLowerCase() !== "lua") return { error: `Engine '${md.engine}' not found` };
  const old = fs.libraries.get(md.name);
  if (old && !replace) return { error: `Library '${md.name}' already exists` };
  const loaded = s.functionEngine.loadLibrary(md.body);
  if ("error" in loaded) return loaded;
  const fail = (error: string) => {
    s.functionEngine.unrefFunctions(loaded.functions.values());
    return { error };
  };
  if (loaded.functions.size === 0) return fail("No functions registered");
  for (const fn of loaded.functions.values()) {
    const existing = fs.functions.get(fn.name.toLowerCase());
    if (existing && existing.lib !== old) return fail(`Function ${fn.name} already exists`);
  }
  if (old) unlinkLibrary(server, old, fs);
  const lib: Library = { name: md.name, engine: "LUA", code: Buffer.from(code), functions: loaded.functions };
  linkLibrary(fs, lib);
  return { name: lib.name };
}

/** FUNCTION FLUSH (and emptyData without EMPTYDB_NOFUNCTIONS): every library dropped. */
export function flushFunctions(server: Server): void {
  // Nothing to flush before scripting's first use; making its Lua states here would only
  // stall the caller (a replica's full sync empties the functions).
  if (!scriptingStarted(server)) return;
  const s = scriptingOf(server);
  s.functions.libraries.clear();
  s.functions.functions.clear();
  s.functionEngine.reset();
}

function linkLibrary(fs: FunctionsState, lib: Library): void {
  fs.libraries.set(lib.name, lib);
  // Function names are case-insensitive (functionDictType), library names are not.
  for (const fn of lib.functions.values()) fs.functions.set(fn.name.toLowerCase(), { lib, fn });
}

/** Removes a library from fs; its functions are freed unless keep (it may be linked back). */
function unlinkLibrary(server: Server, lib: Library, fs = scriptingOf(server).functions, keep = false): void {
  fs.libraries.delete(lib.name);
  for (const fn of lib.functions.values()) fs.functions.delete(fn.name.toLowerCase());
  if (!keep) scriptingOf(server).functionEngine.unrefFunctions(lib.functions.values());
}

/** rdbSaveFunctions: each library as RDB_OPCODE_FUNCTION2 + its code. */
function dumpFunctions(server: Server): Buffer {
  const w = new RdbWriter(server.config.getBool("rdbcompression"));
  for (const lib of scriptingOf(server).functions.libraries.values()) {
    w.u8(RDB_OPCODE_FUNCTION2);
    w.string(lib.code);
  }
  w.u8(RDB_VERSION & 0xff);
  w.u8((RDB_VERSION >> 8) & 0xff);
  const body = w.take();
  return Buffer.concat([body, crc64(body).bytesLE()]);
}

/**
 * libraryJoin: adds src's libraries to the server's. A library name already present fails
 * (or, with replace, the old library goes); a function name present in another library
 * fails; on failure nothing changed. Returns the error, or null.
 */
function joinLibraries(server: Server, src: FunctionsState, replace: boolean): string | null {
  const dst = scriptingOf(server).functions;
  const replaced: Library[] = [];
  const revert = (error: string) => {
    for (const old of replaced) linkLibrary(dst, old);
    return error;
  };
  for (const lib of src.libraries.values()) {
    const old = dst.libraries.get(lib.name);
    if (!old) continue;
    if (!replace) return revert(`Library ${lib.name} already exists`);
    unlinkLibrary(server, old, dst, true);
    replaced.push(old);
  }
  for (const [key, { fn }] of src.functions) {
    if (dst.functions.has(key)) return revert(`Function ${fn.name} already exists`);
  }
  for (const lib of src.libraries.values()) linkLibrary(dst, lib);
  for (const old of replaced) scriptingOf(server).functionEngine.unrefFunctions(old.functions.values());
  return null;
}

/** functionRestoreCommand. */
function restoreFunctions(ctx: CommandContext): void {
  const { argv, reply, server } = ctx;
  if (argv.length > 4) return subcommandSyntaxError(ctx);
  let policy = "append";
  if (argv.length > 3) {
    policy = argv[3].toString("latin1").toLowerCase();
    if (policy !== "append" && policy !== "replace" && policy !== "flush") {
      return reply.error("Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
    }
  }
  const payload = argv[2];
  if (!verifyDumpPayload(payload, false)) {
    return reply.error("payload version or checksum are wrong");
  }
  const loaded: FunctionsState = { libraries: new Map(), functions: new Map() };
  const drop = () => {
    for (const lib of loaded.libraries.values()) scriptingOf(server).functionEngine.unrefFunctions(lib.functions.values());
  };
  const r = new RdbReader(payload, payload.length - 10);
  try {
    while (r.remaining > 0) {
      const type = r.u8();
      if (type === RDB_OPCODE_FUNCTION) { drop(); return reply.error("Pre-GA function format not supported"); }
      if (type !== RDB_OPCODE_FUNCTION2) { drop(); return reply.error("given type is not a function"); }
      const created = createLibrary(server, r.string(), false, loaded);
      if ("error" in created) { drop(); return reply.error(created.error); }
    }
  } catch (e) {
    drop();
    if (e instanceof RdbFormatError) return reply.error("failed loading the given functions payload");
    throw e;
  }
  if (policy === "flush") {
    const fs = scriptingOf(server).functions;
    for (const lib of [...fs.libraries.values()]) unlinkLibrary(server, lib, fs);
    for (const lib of loaded.libraries.values()) linkLibrary(fs, lib);
  } else {
    const err = joinLibraries(server, loaded, policy === "replace");
    if (err !== null) { drop(); return reply.error(err); }
  }
  propagateFunctionCommand(ctx);
  reply.ok();
}

/**
 * FUNCTION LOAD / DELETE / FLUSH / RESTORE change the server's functions: like any write
 * they go to the AOF and the replicas as they were given (Redis propagates them through call()).
 */
function propagateFunctionCommand(ctx: CommandContext): void {
  ctx.server.types.propagate(ctx.client.db, ctx.argv);
}

function fcallGeneric(ctx: CommandContext, ro: boolean): void {
  const { argv, reply, server, client } = ctx;
  const s = scriptingOf(server);
  const entry = s.functions.functions.get(argv[1].toString("latin1").toLowerCase());
  if (!entry) return reply.error("Function not found");
  const numkeys = parseInteger(argv[2]);
  if (numkeys === null) return reply.error("Bad number of keys provided");
  if (numkeys > BigInt(argv.length - 3)) return reply.error("Number of keys can't be greater than number of args");
  if (numkeys < 0n) return reply.error("Number of keys can't be negative");
  const f = entry.fn.flags;
  const refused = prepareForRun(server, client, f, ro);
  if (refused !== null) return reply.error(refused);
  const n = Number(numkeys);
  const run: ScriptRun = {
    funcname: entry.fn.name, evalMode: false, readOnly: ro || f.noWrites, writeDirty: false,
    oomAtStart: server.maxmemory.oom && !f.allowOom,
    resp: 2, killed: false, startedAt: Date.now(), db: client.db, allowCrossSlot: f.allowCrossSlot,
  };
  s.functionEngine.pushFunction(entry.fn);
  runScript(server, s.functionEngine, client, run, argv.slice(3, 3 + n), argv.slice(3 + n), reply, argv);
}

const FUNCTION_HELP = [
  "LOAD [REPLACE] <FUNCTION CODE>",
  "    Create a new library with the given library name and code.",
  "DELETE <LIBRARY NAME>",
  "    Delete the given library.",
  "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
  "    Return general information on all the libraries:",
  "    * Library name",
  "    * The engine used to run the Library",
  "    * Library description",
  "    * Functions list",
  "    * Library code (if WITHCODE is given)",
  "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
  "STATS",
  "    Return information about the current function running:",
  "    * Function name",
  "    * Command used to run the function",
  "    * Duration in MS that the function is running",
  "    If no function is running, return nil",
  "    In addition, returns a list of available engines.",
  "KILL",
  "    Kill the current running function.",
  "FLUSH [ASYNC|SYNC]",
  "    Delete all the libraries.",
  "    When called without the optional mode argument, the behavior is determined by the",
  "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
  "    * ASYNC: Asynchronously flush the libraries.",
  "    * SYNC: Synchronously flush the libraries.",
  "DUMP",
  "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
  "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
  "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
  "    control how to handle existing libraries (default APPEND):",
  "    * FLUSH: delete all existing libraries.",
  "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
  "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
  "      libraries with the new libraries (notice that even on this option there is a chance of failure",
  "      in case of functions name collision with another library).",
];

export function registerFunctionCommands(t: CommandTable): void {
  t.define("fcall", (ctx) => fcallGeneric(ctx, false));
  t.define("fcall_ro", (ctx) => fcallGeneric(ctx, true));
  t.define("function|help", (ctx) => replyHelp(ctx, FUNCTION_HELP));

  t.define("function|load", (ctx) => {
    const { argv, reply } = ctx;
    let replace = false;
    let pos = 2;
    while (pos < argv.length - 1) {
      const arg = argv[pos++].toString("latin1");
      if (arg.toLowerCase() === "replace") { replace = true; continue; }
      return reply.error(`Unknown option given: ${arg}`);
    }
    if (pos >= argv.length) return reply.error("Function code is missing");
    const created = createLibrary(ctx.server, argv[pos], replace);
    if ("error" in created) return reply.error(created.error);
    propagateFunctionCommand(ctx);
    reply.bulk(created.name);
  });

  t.define("function|delete", (ctx) => {
    const lib = scriptingOf(ctx.server).functions.libraries.get(ctx.argv[2].toString("latin1"));
    if (!lib) return ctx.reply.error("Library not found");
    unlinkLibrary(ctx.server, lib);
    propagateFunctionCommand(ctx);
    ctx.reply.ok();
  });

  t.define("function|flush", (ctx) => {
    const { argv, reply } = ctx;
    if (argv.length > 3) return subcommandSyntaxError(ctx);
    if (argv.length === 3) {
      const mode = argv[2].toString("latin1").toLowerCase();
      if (mode !== "sync" && mode !== "async") return reply.error("FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    flushFunctions(ctx.server);
    propagateFunctionCommand(ctx);
    reply.ok();
  });

  t.define("function|list", (ctx) => {
    const { argv, reply } = ctx;
    let withCode = false;
    let pattern: Buffer | null = null;
    for (let i = 2; i < argv.length; i++) {
      const arg = argv[i].toString("latin1").toLowerCase();
      if (!withCode && arg === "withcode") { withCode = true; continue; }
      if (pattern === null && arg === "libraryname") {
        if (i >= argv.length - 1) return reply.error("library name argument was not given");
        pattern = argv[++i];
        continue;
      }
      return reply.error(`Unknown argument ${argv[i].toString("latin1")}`);
    }
    const libs = [...scriptingOf(ctx.server).functions.libraries.values()]
      .filter((l) => pattern === null || stringMatch(pattern, Buffer.from(l.name, "latin1"), true));
    reply.arrayLen(libs.length);
    for (const lib of libs) {
      reply.mapLen(withCode ? 4 : 3);
      reply.bulk("library_name");
      reply.bulk(lib.name);
      reply.bulk("engine");
      reply.bulk(lib.engine);
      reply.bulk("functions");
      reply.arrayLen(lib.functions.size);
      for (const fn of lib.functions.values()) {
        reply.mapLen(3);
        reply.bulk("name");
        reply.bulk(fn.name);
        reply.bulk("description");
        if (fn.desc === null) reply.nullBulk();
        else reply.bulk(fn.desc);
        reply.bulk("flags");
        const names = SCRIPT_FLAG_NAMES.filter(([k]) => fn.flags[k]).map(([, n]) => n);
        reply.setLen(names.length);
        for (const n of names) reply.status(n);
      }
      if (withCode) {
        reply.bulk("library_code");
        reply.bulk(lib.code);
      }
    }
  });

  t.define("function|stats", (ctx) => {
    const { reply } = ctx;
    const s = scriptingOf(ctx.server);
    if (s.run && s.run.evalMode) return reply.error("-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.");
    reply.mapLen(2);
    reply.bulk("running_script");
    if (!s.run) reply.nullBulk();
    else {
      reply.mapLen(3);
      reply.bulk("name");
      reply.bulk(s.run.funcname);
      reply.bulk("command");
      reply.bulkArray(s.runArgv ?? []);
      reply.bulk("duration_ms");
      reply.integer(Date.now() - s.run.startedAt);
    }
    reply.bulk("engines");
    reply.mapLen(1);
    reply.bulk("LUA");
    reply.mapLen(2);
    reply.bulk("libraries_count");
    reply.integer(s.functions.libraries.size);
    reply.bulk("functions_count");
    reply.integer(s.functions.functions.size);
  });

  t.define("function|kill", (ctx) => scriptKill(ctx, false));
  t.define("function|dump", (ctx) => ctx.reply.bulk(dumpFunctions(ctx.server)));
  t.define("function|restore", (ctx) => restoreFunctions(ctx));
}
