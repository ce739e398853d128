// The Lua engine: one long-lived Lua state shared by EVAL scripts (cached by SHA1) and
// FUNCTION libraries, set up as Redis 7.0's scripting.c/script_lua.c set theirs up:
// libraries base/table/string/math (+ cjson, bit, struct, cmsgpack), the `redis` API, the
// __redis__err__handler that adds source/line to errors, and then every table reachable from
// the globals made read-only, with reading an unknown global an error.
//
// Running a command from Lua goes through ScriptHost.call (the server runs it as the
// calling client would, in the script's db and protocol, and hands back the RESP reply).
import { syntaxError51 } from "./syntax51.js";
import { openLib51 } from "./lib51.js";
import { createHash } from "node:crypto";
import { lua, lauxlib, lualib, loadFengari, formatG14, setReadonly, tableAt, toLuaString, pushLuaBytes, pushName, type LuaState } from "./fengari.js";
import { pushReply, pushErrorTable, toBuffer, writeLuaReply, errorInfo } from "./convert.js";
import { openCjson } from "./lib-cjson.js";
import { openBit } from "./lib-bit.js";
import { openCmsgpack } from "./lib-cmsgpack.js";
import { YIELDABLE_LIB, YIELDABLE_CHUNK, YIELDABLE_FRAMES_SKIP } from "./lib-yieldable.js";
import { openStruct } from "./lib-struct.js";
import { patchStringFormat } from "./lib-format.js";
import type { ReplyWriter } from "../server/reply-writer.js";
import type { Ldb } from "./ldb.js";
import { ScriptCommand } from "./script-command.js";

/**
 * The body of the Lua error handler Redis installs for EVAL (__redis__err__handler, eval.c)
 * and for functions (function_lua.c): the error as a table with the erring frame's source
 * and line, skipping a C frame (error() itself) and our yieldable wrapper's frames.
 */
const ERROR_HANDLER_BODY =
  "  local lvl = 2\n" +
  "  local i = dbg.getinfo(lvl,'nSl')\n" +
  "  if i and (i.what == 'C' or i.what == 'J') then\n" +
  "    lvl = 3\n" +
  "    i = dbg.getinfo(lvl,'nSl')\n" +
  "  end\n" +
  YIELDABLE_FRAMES_SKIP +
  "  if type(err) ~= 'table' then\n" +
  "    err = {err='ERR ' .. tostring(err)}" +
  "  end" +
  "  if i then\n" +
  "    err['source'] = i.source\n" +
  "    err['line'] = i.currentline\n" +
  "  end" +
  "  return err\n" +
  "end\n";


export const REDIS_VERSION = "7.0.15";
export const REDIS_VERSION_NUM = 0x07000f;

/** One running script or function call (Redis's scriptRunCtx). */
export interface ScriptRun {
  /** "f_<sha>"'s sha for EVAL, the function name for FCALL. */
  funcname: string;
  evalMode: boolean;
  readOnly: boolean;
  /** A write command ran: the script can no longer be killed. */
  writeDirty: boolean;
  /** Over maxmemory when it started, without allow-oom: its first write may not be denyoom. */
  oomAtStart?: boolean;
  /** Protocol the script reads replies in (redis.setresp). */
  resp: number;
  killed: boolean;
  startedAt: number;
  /** Database the script's commands run in (SELECT inside the script changes only this). */
  db: number;
  /** It ran past busy-reply-threshold (SCRIPT_TIMEDOUT): other clients get -BUSY. */
  timedOut?: boolean;
  /** busy-reply-threshold as the run first read it (busy.ts). */
  busyThreshold?: number;
  /** When it last paused for the event loop (ms). */
  pausedAt?: number;
  /** Runs under the Lua debugger (SCRIPT DEBUG): its line hook instead of the count hook. */
  debug?: boolean;
  /** Cluster mode: may touch keys of several slots (src/cluster/script-cluster.ts). */
  allowCrossSlot?: boolean;
  /** Cluster mode: the slot its keys must hash to, once known (-1: not yet). */
  slot?: number;
}

/** What the engine needs from the server. */
export interface ScriptHost {
  /**
   * Runs the command for the running script and returns its RESP reply, or a string error
   * (without a code: the engine adds ERR) when the script may not run it. The command is
   * valid until the call returns (the engine reuses it).
   */
  call(run: ScriptRun, command: ScriptCommand): Buffer | { error: string };
  log(level: number, msg: string): void;
  /**
   * Called from the count hook while a script runs (Redis's scriptInterrupt): may set
   * run.killed (SCRIPT KILL), and answers "yield" when the script should pause so the event
   * loop can serve other clients (it ran past busy-reply-threshold).
   */
  interrupt?(run: ScriptRun): "yield" | void;
  /**
   * redis.acl_check_cmd: whether the script's user may run argv (ACLCheckAllUserCommandPerm,
   * keys included), or null when argv[0] names no command.
   */
  aclCheck(argv: Buffer[]): boolean | null;
  /** redis.set_repl: where the script's next writes propagate (PROPAGATE_AOF | PROPAGATE_REPL). */
  setRepl?(flags: number): void;
}

/** A script or function call in progress (LuaEngine.startCall). */
export interface ScriptCall {
  /** Runs the call until it ends (true: its reply is written) or pauses (false: call again). */
  step(): boolean;
}

/**
 * Instructions between two count-hook calls. Redis uses 100000; fengari runs some 20M
 * simple instructions a second and a redis.call costs ~20 µs, so 100000 could mean a third
 * of a second between looks at the clock.
 */
const HOOK_COUNT = 1000;
/**
 * redisCall asks the host whether to pause (the clock) after every CLOCK_EVERY-th call: a loop
 * of slow commands still pauses within a few of them (Redis looks only in its count hook).
 */
const CLOCK_EVERY = 8;

/** A function a library registered (FUNCTION LOAD): its callback is registry[ref]. */
export interface LibraryFunction { name: string; desc: string | null; flags: ScriptFlags; ref: number }

/** A script in EVAL's cache: its compiled function is registry[ref] (an integer key: no string to hash per call). */
export interface CachedScript { sha: string; body: Buffer; flags: ScriptFlags; ref: number }

export interface ScriptFlags {
  /** No shebang: EVAL's backwards-compatible mode. */
  compat: boolean;
  noWrites: boolean;
  allowOom: boolean;
  allowStale: boolean;
  noCluster: boolean;
  allowCrossSlot: boolean;
}

export const SCRIPT_FLAG_NAMES: [keyof ScriptFlags, string][] = [
  ["noWrites", "no-writes"], ["allowOom", "allow-oom"], ["allowStale", "allow-stale"],
  ["noCluster", "no-cluster"], ["allowCrossSlot", "allow-cross-slot-keys"],
];

export function sha1hex(b: Uint8Array | string): string {
  return createHash("sha1").update(b).digest("hex");
}

const LL = { debug: 0, verbose: 1, notice: 2, warning: 3 };

export class LuaEngine {
  L: LuaState;
  readonly scripts = new Map<string, CachedScript>();
  /**
   * The sha of each cached script by its body (latin1), so that EVAL of a cached script does
   * not hash its body again (SHA-1 was ~5% of an EVAL of a short script).
   */
  private shaByBody = new Map<string, string>();
  /** registry[errHandlerRef] is the error handler: __redis__err__handler ("eval"), the function engine's error_handler ("function"). */
  private errHandlerRef = -1;
  /** The running call, or null (redis.call outside a script is an error). */
  current: ScriptRun | null = null;
  /** The running call's Lua thread (the one that may yield to the event loop). */
  private thread: LuaState | null = null;
  /** A thread whose call ended normally, for the next call (startCall). */
  private spareThread: LuaState | null = null;
  /** The count hook of every call's thread (one function, not a closure per call). */
  private readonly countHook = (L: LuaState) => this.hook(L);
  private rand = new Rand48();
  /** The Lua debugger (ldb.ts): redis.debug, redis.breakpoint and, while a session is active, its logs. */
  debugger: Ldb | null = null;
  /** Extra set-up run on every new state (the FUNCTION engine registers its API here). */
  onInit: ((L: LuaState) => void)[] = [];

  /** FUNCTION LOAD in progress: the library whose functions redis.register_function adds. */
  loading: { functions: Map<string, LibraryFunction>; startedAt: number } | null = null;

  /**
   * "eval": EVAL's state (scripts are registry entries by integer ref, KEYS/ARGV are globals).
   * "function": the FUNCTION engine's own state, as function_lua.c sets it up: the globals
   * scripts see are an empty read-only table whose __index is the real (read-only) globals;
   * while a library loads, __index is the library API instead ({redis = {register_function,
   * log, ...}}), so loading code cannot call commands.
   */
  constructor(readonly host: ScriptHost, readonly kind: "eval" | "function" = "eval") {
    loadFengari();
    this.L = this.newState();
  }

  /** SCRIPT FLUSH: a fresh Lua state and an empty script cache. */
  reset(): void {
    this.scripts.clear();
    this.shaByBody.clear();
    this.spareThread = null; // (a thread of the old state)
    this.lastShaOf = null;
    this.L = this.newState();
  }

  private newState(): LuaState {
    const L = lauxlib.luaL_newstate();
    const open = (name: string, fn: unknown) => {
      lauxlib.luaL_requiref(L, toLuaString(name), fn, 1);
      lua.lua_pop(L, 1);
    };
    open("_G", lualib.luaopen_base);
    open("table", lualib.luaopen_table);
    open("string", lualib.luaopen_string);
    open("math", lualib.luaopen_math);
    open("debug", lualib.luaopen_debug);
    open("coroutine", lualib.luaopen_coroutine);
    openCjson(L);
    openBit(L);
    openCmsgpack(L);
    openStruct(L);
    patchStringFormat(L);
    this.lua51Compat(L);
    this.registerRedisApi(L);
    for (const f of this.onInit) f(L);
    if (this.kind === "function") {
      this.setupFunctionState(L);
      return L;
    }
    const errh =
      "local dbg = debug\n" +
      "debug = nil\n" +
      "function __redis__err__handler(err)\n" +
      ERROR_HANDLER_BODY;
    if (loadString(L, errh, "@err_handler_def") !== 0 || lua.lua_pcall(L, 0, 0, 0) !== 0) {
      throw new Error("Lua error handler: " + lua.lua_tojsstring(L, -1));
    }
    lua.lua_getglobal(L, "__redis__err__handler");
    this.errHandlerRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    // Lock the globals: unknown names are an error to read, and nothing reachable is writable.
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    setErrorMetatable(L);
    protectRecursively(L);
    lua.lua_pop(L, 1);
    return L;
  }

  private setupFunctionState(L: LuaState): void {
    // The library API: what code sees while FUNCTION LOAD runs it.
    lua.lua_createtable(L, 0, 1);
    lua.lua_createtable(L, 0, 8);
    lua.lua_pushjsfunction(L, (L: LuaState) => this.registerFunction(L));
    lua.lua_setfield(L, -2, "register_function");
    lua.lua_getglobal(L, "redis");
    for (const name of ["log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"]) {
      lua.lua_getfield(L, -1, name);
      lua.lua_setfield(L, -3, name);
    }
    lua.lua_pop(L, 1);
    setErrorMetatable(L);
    lua.lua_setfield(L, -2, "redis");
    setErrorMetatable(L);
    protectRecursively(L);
    lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, "__LIBRARY_API__");
    const errh =
      "local dbg = debug\n" +
      "debug = nil\n" +
      "local error_handler = function (err)\n" +
      ERROR_HANDLER_BODY +
      "return error_handler";
    if (loadString(L, errh, "@err_handler_def") !== 0 || lua.lua_pcall(L, 0, 1, 0) !== 0) {
      throw new Error("Lua error handler: " + lua.lua_tojsstring(L, -1));
    }
    // Redis's registry name for it is __ERROR_HANDLER__; FCALL takes it by reference.
    this.errHandlerRef = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    setErrorMetatable(L);
    protectRecursively(L);
    lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, "__GLOBALS_API__");
    // The globals code sees: empty, read-only, reading through to the real ones.
    lua.lua_createtable(L, 0, 0);
    lua.lua_createtable(L, 0, 1);
    lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, "__GLOBALS_API__");
    lua.lua_setfield(L, -2, "__index");
    setReadonly(tableAt(L, -1), true);
    lua.lua_setmetatable(L, -2);
    setReadonly(tableAt(L, -1), true);
    lua.lua_rawseti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
  }

  /** Points the globals' __index at the library API (loading) or at the real globals. */
  private globalsIndex(api: "__LIBRARY_API__" | "__GLOBALS_API__"): void {
    const L = this.L;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    lua.lua_getmetatable(L, -1);
    const mt = tableAt(L, -1);
    setReadonly(mt, false);
    lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, api);
    lua.lua_setfield(L, -2, "__index");
    setReadonly(mt, true);
    lua.lua_pop(L, 2);
  }

  /**
   * luaEngineCreate: runs a library's code (after its shebang line) with the library API as
   * its globals; the functions it registers, or an error message.
   */
  loadLibrary(code: Buffer): { functions: Map<string, LibraryFunction> } | { error: string } {
    const L = this.L;
    this.globalsIndex("__LIBRARY_API__");
    const functions = new Map<string, LibraryFunction>();
    try {
      const src = new Uint8Array(code);
      const msg = compile51(L, src, "@user_function");
      if (msg !== null) return { error: `Error compiling function: ${msg}` };
      this.loading = { functions, startedAt: Date.now() };
      lua.lua_sethook(L, (L: LuaState) => {
        if (this.loading && Date.now() - this.loading.startedAt > 500) {
          lua.lua_sethook(L, (L: LuaState) => { pushErrorTable(L, "FUNCTION LOAD timeout", false); lua.lua_error(L); }, lua.LUA_MASKLINE, 0);
          pushErrorTable(L, "FUNCTION LOAD timeout", false);
          lua.lua_error(L);
        }
      }, lua.LUA_MASKCOUNT, 100000);
      if (lua.lua_pcall(L, 0, 0, 0) !== 0) {
        const info = errorInfo(L);
        lua.lua_pop(L, 1);
        for (const f of functions.values()) lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, f.ref);
        return { error: `Error registering functions: ${info.msg}` };
      }
      return { functions };
    } finally {
      lua.lua_sethook(L, null, 0, 0);
      this.loading = null;
      this.globalsIndex("__GLOBALS_API__");
    }
  }

  /** Frees a library's functions (FUNCTION DELETE, a replaced library). */
  unrefFunctions(functions: Iterable<LibraryFunction>): void {
    for (const f of functions) lauxlib.luaL_unref(this.L, lua.LUA_REGISTRYINDEX, f.ref);
  }

  /** Pushes the error handler and a registered function (FCALL). */
  pushFunction(f: LibraryFunction): void {
    lua.lua_rawgeti(this.L, lua.LUA_REGISTRYINDEX, this.errHandlerRef);
    lua.lua_rawgeti(this.L, lua.LUA_REGISTRYINDEX, f.ref);
  }

  /** redis.register_function(name, fn) or redis.register_function{function_name=, callback=, flags=, description=}. */
  private registerFunction(L: LuaState): number {
    const load = this.loading;
    if (!load) return this.raise(L, "redis.register_function can only be called on FUNCTION LOAD command");
    const argc = lua.lua_gettop(L);
    if (argc < 1 || argc > 2) return this.raise(L, "wrong number of arguments to redis.register_function");
    let name: string | undefined;
    let desc: string | null = null;
    let ref = -1;
    const flags: ScriptFlags = { compat: false, noWrites: false, allowOom: false, allowStale: false, noCluster: false, allowCrossSlot: false };
    const fail = (msg: string) => {
      if (ref >= 0) lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, ref);
      return this.raise(L, msg);
    };
    if (argc === 2) {
      if (!lua.lua_isstring(L, 1)) return fail("first argument to redis.register_function must be a string");
      name = toBuffer(L, 1).toString("latin1");
      if (!lua.lua_isfunction(L, 2)) return fail("second argument to redis.register_function must be a function");
      ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    } else {
      if (!lua.lua_istable(L, 1)) return fail("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
      lua.lua_pushnil(L);
      while (lua.lua_next(L, -2)) {
        if (!lua.lua_isstring(L, -2)) return fail("named argument key given to redis.register_function is not a string");
        const key = toBuffer(L, -2).toString("latin1").toLowerCase();
        if (key === "function_name") {
          if (!lua.lua_isstring(L, -1)) return fail("function_name argument given to redis.register_function must be a string");
          name = toBuffer(L, -1).toString("latin1");
        } else if (key === "description") {
          if (!lua.lua_isstring(L, -1)) return fail("description argument given to redis.register_function must be a string");
          desc = toBuffer(L, -1).toString("latin1");
        } else if (key === "callback") {
          if (!lua.lua_isfunction(L, -1)) return fail("callback argument given to redis.register_function must be a function");
          if (ref >= 0) lauxlib.luaL_unref(L, lua.LUA_REGISTRYINDEX, ref);
          ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
          continue;
        } else if (key === "flags") {
          if (!lua.lua_istable(L, -1)) return fail("flags argument to redis.register_function must be a table representing function flags");
          for (let j = 1; ; j++) {
            lua.lua_rawgeti(L, -1, j);
            if (lua.lua_isnil(L, -1)) { lua.lua_pop(L, 1); break; }
            const f = lua.lua_isstring(L, -1) ? toBuffer(L, -1).toString("latin1").toLowerCase() : null;
            lua.lua_pop(L, 1);
            const def = f === null ? undefined : SCRIPT_FLAG_NAMES.find(([, n]) => n === f);
            if (!def) return fail("unknown flag given");
            flags[def[0]] = true;
          }
        } else {
          return fail("unknown argument given to redis.register_function");
        }
        lua.lua_pop(L, 1);
      }
      if (name === undefined) return fail("redis.register_function must get a function name argument");
      if (ref < 0) return fail("redis.register_function must get a callback argument");
    }
    if (!/^[A-Za-z0-9_]+$/.test(name!)) return fail("Library names can only contain letters, numbers, or underscores(_) and must be at least one character long");
    // Function names are case-insensitive (functionDictType).
    if (load.functions.has(name!.toLowerCase())) return fail("Function already exists in the library");
    load.functions.set(name!.toLowerCase(), { name: name!, desc, flags, ref });
    return 0;
  }

  /** Lua 5.1 names fengari (5.3) lacks, and the ones Redis removes. */
  private lua51Compat(L: LuaState): void {
    const run = (code: string) => {
      if (loadString(L, code, "=compat") !== 0 || lua.lua_pcall(L, 0, 0, 0) !== 0) {
        throw new Error("Lua compat: " + lua.lua_tojsstring(L, -1));
      }
    };
    if (loadString(L, YIELDABLE_LIB, YIELDABLE_CHUNK) !== 0 || lua.lua_pcall(L, 0, 0, 0) !== 0) {
      throw new Error("Lua yieldable library: " + lua.lua_tojsstring(L, -1));
    }
    openLib51(L);
    run(
      "unpack = table.unpack\n" +
      "loadstring = function(s, name) return load(s, name, 't') end\n" +
      "local _load = load\n" +
      "load = function(chunk, name) return _load(chunk, name, 't') end\n" +
      "table.getn = function(t) return #t end\n" +
      "table.maxn = function(t) local m = 0 for k in pairs(t) do if type(k) == 'number' and k > m then m = k end end return m end\n" +
      "math.mod = math.fmod\n" +
      "math.pow = function(x, y) return x ^ y end\n" +
      "math.log10 = function(x) return math.log(x, 10) end\n" +
      "string.gfind = string.gmatch\n" +
      "gcinfo = function() return collectgarbage('count') end\n" +
      "dofile = nil loadfile = nil print = nil utf8 = nil require = nil\n" +
      "rawlen = nil\n",
    );
    const jsfn = (table: string, name: string, fn: (L: LuaState) => number) => {
      lua.lua_getglobal(L, table);
      lua.lua_pushjsfunction(L, fn);
      lua.lua_setfield(L, -2, name);
      lua.lua_pop(L, 1);
    };
    // 5.3's math.floor/ceil/tointeger return integers; here every number is a double anyway.
    jsfn("math", "floor", (L) => { lua.lua_pushnumber(L, Math.floor(lauxlib.luaL_checknumber(L, 1))); return 1; });
    jsfn("math", "ceil", (L) => { lua.lua_pushnumber(L, Math.ceil(lauxlib.luaL_checknumber(L, 1))); return 1; });
    jsfn("math", "cosh", (L) => { lua.lua_pushnumber(L, Math.cosh(lauxlib.luaL_checknumber(L, 1))); return 1; });
    jsfn("math", "sinh", (L) => { lua.lua_pushnumber(L, Math.sinh(lauxlib.luaL_checknumber(L, 1))); return 1; });
    jsfn("math", "tanh", (L) => { lua.lua_pushnumber(L, Math.tanh(lauxlib.luaL_checknumber(L, 1))); return 1; });
    jsfn("math", "ldexp", (L) => { lua.lua_pushnumber(L, lauxlib.luaL_checknumber(L, 1) * 2 ** lauxlib.luaL_checknumber(L, 2)); return 1; });
    jsfn("math", "frexp", (L) => {
      const x = lauxlib.luaL_checknumber(L, 1);
      if (x === 0 || !Number.isFinite(x)) { lua.lua_pushnumber(L, x); lua.lua_pushnumber(L, 0); return 2; }
      let e = Math.max(-1073, Math.floor(Math.log2(Math.abs(x))) + 1);
      let m = x * 2 ** -e;
      while (Math.abs(m) < 0.5) { m *= 2; e--; }
      while (Math.abs(m) >= 1) { m /= 2; e++; }
      lua.lua_pushnumber(L, m); lua.lua_pushnumber(L, e); return 2;
    });
    jsfn("math", "random", (L) => this.mathRandom(L));
    jsfn("math", "randomseed", (L) => {
      if (!this.current) return lauxlib.luaL_error(L, toLuaString("math.randomseed can only be called inside a script invocation"));
      this.rand.seed(lauxlib.luaL_checknumber(L, 1) | 0);
      return 0;
    });
    // setmetatable on a read-only table is a write.
    jsfn("_G", "setmetatable", (L) => {
      const t = lua.lua_type(L, 2);
      lauxlib.luaL_checktype(L, 1, lua.LUA_TTABLE);
      lauxlib.luaL_argcheck(L, t === lua.LUA_TNIL || t === lua.LUA_TTABLE, 2, toLuaString("nil or table expected"));
      if (tableAt(L, 1).readonly) {
        lua.lua_pushstring(L, toLuaString("Attempt to modify a readonly table"));
        return lua.lua_error(L);
      }
      if (lauxlib.luaL_getmetafield(L, 1, toLuaString("__metatable")) !== lua.LUA_TNIL) {
        return lauxlib.luaL_error(L, toLuaString("cannot change a protected metatable"));
      }
      lua.lua_settop(L, 2);
      lua.lua_setmetatable(L, 1);
      return 1;
    });
    // tostring/.. of numbers as Lua 5.1 prints them ("%.14g").
    jsfn("_G", "tostring", (L) => {
      lauxlib.luaL_checkany(L, 1);
      if (lua.lua_type(L, 1) === lua.LUA_TNUMBER) lua.lua_pushstring(L, toLuaString(formatG14(lua.lua_tonumber(L, 1))));
      else lauxlib.luaL_tolstring(L, 1);
      return 1;
    });
  }

  private mathRandom(L: LuaState): number {
    if (!this.current) return lauxlib.luaL_error(L, toLuaString("math.random can only be called inside a script invocation"));
    const r = (this.rand.next() % 2147483647) / 2147483647;
    switch (lua.lua_gettop(L)) {
      case 0: lua.lua_pushnumber(L, r); break;
      case 1: {
        const u = lauxlib.luaL_checknumber(L, 1) | 0;
        lauxlib.luaL_argcheck(L, 1 <= u, 1, toLuaString("interval is empty"));
        lua.lua_pushnumber(L, Math.floor(r * u) + 1);
        break;
      }
      case 2: {
        const l = lauxlib.luaL_checknumber(L, 1) | 0;
        const u = lauxlib.luaL_checknumber(L, 2) | 0;
        lauxlib.luaL_argcheck(L, l <= u, 2, toLuaString("interval is empty"));
        lua.lua_pushnumber(L, Math.floor(r * (u - l + 1)) + l);
        break;
      }
      default: return lauxlib.luaL_error(L, toLuaString("wrong number of arguments"));
    }
    return 1;
  }

  private registerRedisApi(L: LuaState): void {
    // Redis replaces pcall so that a {err=} table raised by redis.call comes back as it was.
    // It continues after a yield (lua_pcallk), so a script inside pcall can still pause.
    const pcallDone = (L: LuaState, status: number): number => {
      if (status !== lua.LUA_OK && status !== lua.LUA_YIELD) {
        restoreHooks(L);
        lua.lua_remove(L, 1);
        if (lua.lua_istable(L, -1)) {
          lua.lua_getfield(L, -1, "err");
          if (lua.lua_isstring(L, -1)) lua.lua_replace(L, -2);
          else lua.lua_pop(L, 1);
        }
        lua.lua_pushboolean(L, false);
        lua.lua_insert(L, 1);
      }
      return lua.lua_gettop(L);
    };
    lua.lua_pushjsfunction(L, (L: LuaState) => {
      const argc = lua.lua_gettop(L);
      lauxlib.luaL_checkany(L, 1);
      lua.lua_pushboolean(L, true);
      lua.lua_insert(L, 1);
      return pcallDone(L, lua.lua_pcallk(L, argc - 1, lua.LUA_MULTRET, 0, 0, pcallDone));
    });
    lua.lua_setglobal(L, "pcall");
    // xpcall as lbaselib's, with the same hook repair as pcall.
    const xpcallDone = (L: LuaState, status: number, extra: number): number => {
      if (status !== lua.LUA_OK && status !== lua.LUA_YIELD) {
        restoreHooks(L);
        lua.lua_pushboolean(L, false);
        lua.lua_pushvalue(L, -2);
        return 2;
      }
      return lua.lua_gettop(L) - extra;
    };
    lua.lua_pushjsfunction(L, (L: LuaState) => {
      const n = lua.lua_gettop(L);
      lauxlib.luaL_checktype(L, 2, lua.LUA_TFUNCTION);
      lua.lua_pushboolean(L, true);
      lua.lua_pushvalue(L, 1);
      lua.lua_rotate(L, 3, 2);
      return xpcallDone(L, lua.lua_pcallk(L, n - 2, lua.LUA_MULTRET, 2, 2, xpcallDone), 2);
    });
    lua.lua_setglobal(L, "xpcall");

    lua.lua_createtable(L, 0, 32);
    const fn = (name: string, f: (L: LuaState) => number) => {
      lua.lua_pushjsfunction(L, f);
      lua.lua_setfield(L, -2, name);
    };
    const num = (name: string, v: number) => {
      lua.lua_pushnumber(L, v);
      lua.lua_setfield(L, -2, name);
    };
    fn("call", (L) => this.redisCall(L, true));
    fn("pcall", (L) => this.redisCall(L, false));
    fn("log", (L) => {
      const argc = lua.lua_gettop(L);
      if (argc < 2) return this.raise(L, "redis.log() requires two arguments or more.");
      if (!lua.lua_isnumber(L, 1)) return this.raise(L, "First argument must be a number (log level).");
      const level = lua.lua_tonumber(L, 1);
      if (level < LL.debug || level > LL.warning) return this.raise(L, "Invalid debug level.");
      const parts: string[] = [];
      for (let j = 2; j <= argc; j++) if (lua.lua_isstring(L, j)) parts.push(toBuffer(L, j).toString("latin1"));
      this.host.log(level, parts.join(" "));
      return 0;
    });
    num("LOG_DEBUG", LL.debug);
    num("LOG_VERBOSE", LL.verbose);
    num("LOG_NOTICE", LL.notice);
    num("LOG_WARNING", LL.warning);
    num("REDIS_VERSION_NUM", REDIS_VERSION_NUM);
    lua.lua_pushstring(L, REDIS_VERSION);
    lua.lua_setfield(L, -2, "REDIS_VERSION");
    fn("setresp", (L) => {
      if (!this.current) return this.raise(L, "redis.setresp can only be called inside a script invocation");
      if (lua.lua_gettop(L) !== 1) return this.raise(L, "redis.setresp() requires one argument.");
      const resp = lua.lua_tonumber(L, 1);
      if (resp !== 2 && resp !== 3) return this.raise(L, "RESP version must be 2 or 3.");
      this.current.resp = resp;
      return 0;
    });
    fn("sha1hex", (L) => {
      if (lua.lua_gettop(L) !== 1) return this.raise(L, "wrong number of arguments");
      const s = lua.lua_isstring(L, 1) ? toBuffer(L, 1) : Buffer.alloc(0);
      lua.lua_pushstring(L, sha1hex(s));
      return 1;
    });
    fn("error_reply", (L) => {
      if (lua.lua_gettop(L) !== 1 || lua.lua_type(L, -1) !== lua.LUA_TSTRING) {
        pushErrorTable(L, "wrong number or type of arguments", false);
        return 1;
      }
      const s = toBuffer(L, -1).toString("latin1");
      pushErrorTable(L, s.startsWith("-") ? s.slice(1) : s, true);
      return 1;
    });
    fn("status_reply", (L) => {
      if (lua.lua_gettop(L) !== 1 || lua.lua_type(L, -1) !== lua.LUA_TSTRING) {
        pushErrorTable(L, "wrong number or type of arguments", false);
        return 1;
      }
      lua.lua_createtable(L, 0, 1);
      lua.lua_pushvalue(L, -2);
      lua.lua_setfield(L, -2, "ok");
      return 1;
    });
    fn("set_repl", (L) => {
      if (!this.current) return this.raise(L, "redis.set_repl can only be called inside a script invocation");
      if (lua.lua_gettop(L) !== 1) return this.raise(L, "redis.set_repl() requires two arguments.");
      const flags = lua.lua_tonumber(L, -1);
      if ((flags & ~3) !== 0) return this.raise(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
      this.host.setRepl?.(flags);
      return 0;
    });
    num("REPL_NONE", 0);
    num("REPL_AOF", 1);
    num("REPL_SLAVE", 2);
    num("REPL_REPLICA", 2);
    num("REPL_ALL", 3);
    fn("replicate_commands", (L) => { lua.lua_pushboolean(L, true); return 1; });
    // redis.breakpoint(): stop at the next line, when a debugging session is active.
    fn("breakpoint", (L) => {
      const ldb = this.debugger;
      if (ldb !== null && ldb.active) ldb.luabp = true;
      lua.lua_pushboolean(L, ldb !== null && ldb.active);
      return 1;
    });
    // redis.debug(...): a "<debug>" line in the debugger's console.
    fn("debug", (L) => {
      this.debugger?.debugCommand(L);
      return 0;
    });
    fn("acl_check_cmd", (L) => {
      if (!this.current) return this.raise(L, "redis.acl_check_cmd can only be called inside a script invocation");
      if (!this.command.fromLuaArgs(L, formatG17)) return lua.lua_error(L);
      const allowed = this.host.aclCheck(this.command.argv());
      if (allowed === null) return this.raise(L, "Invalid command passed to redis.acl_check_cmd()");
      lua.lua_pushboolean(L, allowed);
      return 1;
    });
    lua.lua_setglobal(L, "redis");
  }

  /** Raises a Lua error {err="ERR msg"} (luaPushError + luaError). */
  raise(L: LuaState, msg: string): number {
    pushErrorTable(L, msg, false);
    return lua.lua_error(L);
  }

  /** The command redis.call/pcall and acl_check_cmd write their arguments into (one per engine: calls do not nest). */
  private readonly command = new ScriptCommand();
  /** redis.calls since the last look at the clock (redisCall). */
  private callsSinceClock = 0;

  private redisCall(L: LuaState, raiseError: boolean): number {
    const run = this.current;
    if (!run) return this.raise(L, "redis.call/pcall can only be called inside a script invocation");
    const command = this.command;
    if (!command.fromLuaArgs(L, formatG17)) return raiseError ? lua.lua_error(L) : 1;
    const ldb = this.debugger;
    if (ldb !== null && ldb.isEnabled()) ldb.logRedisCommand(command.argv());
    const reply = this.host.call(run, command);
    if (!Buffer.isBuffer(reply)) {
      const e = (reply as { error: string }).error;
      pushErrorTable(L, e.startsWith("-") ? e.slice(1) : e, e.startsWith("-"), true);
      return raiseError ? lua.lua_error(L) : 1;
    }
    pushReply(L, reply, 0);
    if (ldb !== null && ldb.isEnabled()) ldb.logRedisReply(reply);
    if (raiseError && reply[0] === 0x2d) return lua.lua_error(L);
    // A debugged script stops only where the debugger stops it.
    if (run.debug) return 1;
    // A loop of slow commands may run few instructions between two count hooks: look at
    // the clock here too, every CLOCK_EVERY calls (a clock read costs ~100 ns here, a fast
    // command's whole call ~1 us), and pause after the command if the host says so.
    if (++this.callsSinceClock < CLOCK_EVERY) return 1;
    this.callsSinceClock = 0;
    if (L === this.thread && lua.lua_isyieldable(L) && this.host.interrupt?.(run) === "yield") {
      return lua.lua_yieldk(L, 0, 1, resumeWithReply);
    }
    return 1;
  }

  // ---- scripts ---------------------------------------------------------------------------

  /** luaCreateFunction: compiles and caches a script body; returns its sha or an error. */
  createFunction(body: Buffer): { sha: string } | { error: string } {
    const sha = this.shaOf(body);
    if (this.scripts.has(sha)) return { sha };
    const parsed = parseShebang(body);
    if ("error" in parsed) return parsed;
    const L = this.L;
    // A shebang line is skipped but its newline kept, so line numbers stay the user's.
    const code = body.subarray(parsed.shebangLen);
    const msg = compile51(L, new Uint8Array(code), "@user_script");
    if (msg !== null) return { error: `Error compiling script (new function): ${msg}` };
    const ref = lauxlib.luaL_ref(L, lua.LUA_REGISTRYINDEX);
    this.scripts.set(sha, { sha, body: Buffer.from(body), flags: parsed.flags, ref });
    this.shaByBody.set(body.toString("latin1"), sha);
    return { sha };
  }

  /** The SHA-1 of a script body, from the cache when the script is in it (evalGenericCommand's sha1hex). */
  shaOf(body: Buffer): string {
    // The same body as the last EVAL (the common case) is found by a compare, without making
    // the body a string for the map.
    const last = this.lastShaOf;
    if (last !== null && last.body.length === body.length && last.body.equals(body) && this.scripts.has(last.sha)) return last.sha;
    const sha = this.shaByBody.get(body.toString("latin1"));
    if (sha === undefined) return sha1hex(body);
    this.lastShaOf = { body: this.scripts.get(sha)!.body, sha };
    return sha;
  }
  private lastShaOf: { body: Buffer; sha: string } | null = null;

  /**
   * Starts the Lua function on top of the stack (under the error handler pushed before it);
   * step() runs it and writes its reply (luaCallFunction). EVAL mode sets KEYS/ARGV globals;
   * FCALL passes them.
   *
   * The call runs on a Lua thread of its own, so that the count hook can yield it back to
   * the event loop once the host says so (a script past busy-reply-threshold: other clients
   * get -BUSY, SCRIPT KILL can arrive); step() then returns false and is called again later.
   */
  startCall(run: ScriptRun, keys: Buffer[], args: Buffer[], reply: ReplyWriter): ScriptCall {
    const L = this.L;
    // The last call's thread when it ended normally (a new thread is ~40 stack slots to fill).
    let T = this.spareThread;
    this.spareThread = null;
    if (T === null) {
      T = lua.lua_newthread(L);
      lua.lua_pop(L, 1);
    }
    lua.lua_xmove(L, T, 2); // the error handler and the function
    lua.lua_pushjsfunction(T, callBody);
    lua.lua_insert(T, 1);
    if (run.evalMode) this.setKeysAndArgv(T, keys, args);
    else {
      pushArray(T, keys);
      pushArray(T, args);
    }
    const nargs = lua.lua_gettop(T) - 1;
    const ldb = this.debugger;
    if (run.debug && ldb !== null) {
      // luaCallFunction with debug_enabled: luaLdbLineHook on lines and every 100000 instructions.
      lua.lua_sethook(T, (T: LuaState, ar: unknown) => ldb.lineHook(T, ar as Parameters<Ldb["lineHook"]>[1]), lua.LUA_MASKLINE | lua.LUA_MASKCOUNT, 100000);
    } else {
      lua.lua_sethook(T, this.countHook, lua.LUA_MASKCOUNT, HOOK_COUNT);
    }
    let started = false;
    let finished = false;
    const step = (): boolean => {
      if (finished) return true;
      this.current = run;
      this.thread = T;
      let st: number;
      let reusable = false;
      try {
        st = lua.lua_resume(T, L, started ? 0 : nargs);
        started = true;
        if (st === lua.LUA_YIELD) return false;
        // Ended (callBody's pcall caught any Lua error): back at its base level, resumable
        // with the next call's function, as a coroutine that returned is.
        reusable = st === lua.LUA_OK && !run.debug;
        if (st === lua.LUA_OK && lua.lua_toboolean(T, 1)) {
          lua.lua_settop(T, 2);
          writeLuaReply(T, reply, run.resp);
        } else if (lua.lua_type(T, -1) !== lua.LUA_TTABLE) {
          const msg = lua.lua_isstring(T, -1) ? toBuffer(T, -1).toString("latin1") : "execution failure";
          reply.error(`Error running script ${run.funcname}, ${msg.slice(0, 100)}`);
        } else {
          const info = errorInfo(T);
          let msg = "-" + info.msg;
          if (info.line !== undefined && info.source !== undefined) msg += ` script: ${run.funcname}, on ${info.source}:${info.line}.`;
          reply.error(msg);
        }
      } catch (e) {
        reusable = false;
        // A fault of the engine itself (a JS exception, not a Lua error): answer, stay up.
        reply.error(`Error running script ${run.funcname}, ${String((e as Error)?.message ?? e).slice(0, 100)}`);
      }
      finished = true;
      lua.lua_sethook(T, null, 0, 0);
      this.current = null;
      this.thread = null;
      if (reusable) {
        lua.lua_settop(T, 0);
        this.spareThread = T;
      }
      return true;
    };
    return { step };
  }

  /** EVAL's KEYS and ARGV globals (the globals are read-only to scripts). */
  private setKeysAndArgv(T: LuaState, keys: Buffer[], args: Buffer[]): void {
    lua.lua_rawgeti(T, lua.LUA_REGISTRYINDEX, lua.LUA_RIDX_GLOBALS);
    const globals = tableAt(T, -1);
    setReadonly(globals, false);
    try {
      pushName(T, "KEYS");
      pushArray(T, keys);
      lua.lua_rawset(T, -3);
      pushName(T, "ARGV");
      pushArray(T, args);
      lua.lua_rawset(T, -3);
    } finally {
      setReadonly(globals, true);
    }
    lua.lua_pop(T, 1);
  }

  /**
   * The count hook (luaMaskCountHook): a killed script raises an error, on every line from
   * then on so that a pcall cannot swallow it; a script the host wants to pause (past
   * busy-reply-threshold) yields its thread to the event loop. Only the call's own thread
   * yields, and only where Lua can (not inside a metamethod called from JS, not inside a
   * coroutine of the script's own; table.sort and string.gsub call their callbacks from
   * Lua, lib-yieldable.ts).
   */
  private hook(L: LuaState): void {
    const thread = this.thread;
    const run = this.current;
    if (!run) return;
    const pause = this.host.interrupt?.(run) === "yield";
    if (run.killed) {
      lua.lua_sethook(L, (L: LuaState) => { pushErrorTable(L, "Script killed by user with SCRIPT KILL...", false); lua.lua_error(L); }, lua.LUA_MASKLINE, 0);
      pushErrorTable(L, "Script killed by user with SCRIPT KILL...", false);
      lua.lua_error(L);
    }
    if (pause && L === thread && lua.lua_isyieldable(L)) lua.lua_yield(L, 0);
  }

  /** Pushes the error handler and the cached script's function; false if it is not cached. */
  pushScript(sha: string): boolean {
    const L = this.L;
    const script = this.scripts.get(sha);
    if (script === undefined) return false;
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, this.errHandlerRef);
    lua.lua_rawgeti(L, lua.LUA_REGISTRYINDEX, script.ref);
    return true;
  }

  /** Pops n values (after callFunction: the error handler). */
  pop(n: number): void { lua.lua_pop(this.L, n); }
}

/**
 * A Lua error caught by a yieldable pcall leaves fengari 0.1.5 with hooks off for the thread
 * (lapi.lua_pcallk saves 'allowhook' as `callstatus &= ~CIST_OAH | allowhook`, which never
 * sets the bit, and ldo's recover() restores it from that bit), so the count hook would
 * never fire again and the script could neither pause nor be killed. Scripts never run
 * inside a hook, so hooks were on when the pcall started: turn them back on.
 */
function restoreHooks(L: LuaState): void {
  L.allowhook = 1;
}

/** Continuation of a redis.call that paused after its command: returns the reply it pushed. */
function resumeWithReply(_L: LuaState, _status: number, n: number): number {
  return n;
}

/**
 * The body of a call's thread: runs the function (stack: error handler, function, args)
 * under the error handler and returns (ok, result or error object). lua_pcallk, so the
 * function may yield through it.
 */
function callBody(T: LuaState): number {
  const done = (T: LuaState, status: number): number => {
    const ok = status === lua.LUA_OK || status === lua.LUA_YIELD;
    if (!ok) restoreHooks(T);
    lua.lua_pushboolean(T, ok);
    lua.lua_replace(T, 1);
    return 2;
  };
  return done(T, lua.lua_pcallk(T, lua.lua_gettop(T) - 2, 1, 1, 0, done));
}

/** luaSetErrorMetatable: reading a missing field of the table on top is an error. */
function setErrorMetatable(L: LuaState): void {
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushjsfunction(L, (L: LuaState) => {
    const name = lua.lua_isstring(L, 2) ? toBuffer(L, 2).toString("latin1") : "?";
    return lauxlib.luaL_error(L, toLuaString("Script attempted to access nonexistent global variable '%s'"), toLuaString(name));
  });
  lua.lua_setfield(L, -2, "__index");
  lua.lua_setmetatable(L, -2);
}

function loadString(L: LuaState, code: string, name: string): number {
  const b = toLuaString(code);
  return lauxlib.luaL_loadbuffer(L, b, b.length, toLuaString(name));
}

function pushArray(L: LuaState, items: Buffer[]): void {
  lua.lua_createtable(L, items.length, 0);
  for (let j = 0; j < items.length; j++) {
    pushLuaBytes(L, items[j]); // (a copy: items may be views of the client's query buffer)
    lua.lua_rawseti(L, -2, j + 1);
  }
}

/** Marks the table on top of the stack, and every table reachable from it, read-only. */
function protectRecursively(L: LuaState): void {
  const t = tableAt(L, -1);
  if (t.readonly) return;
  setReadonly(t, true);
  lua.lua_checkstack(L, 2);
  lua.lua_pushnil(L);
  while (lua.lua_next(L, -2)) {
    if (lua.lua_istable(L, -1)) protectRecursively(L);
    lua.lua_pop(L, 1);
  }
  if (lua.lua_getmetatable(L, -1)) {
    protectRecursively(L);
    lua.lua_pop(L, 1);
  }
}

/** evalExtractShebangFlags: "#!lua flags=no-writes,allow-oom" on the first line. */
export function parseShebang(body: Buffer): { flags: ScriptFlags; shebangLen: number } | { error: string } {
  const flags: ScriptFlags = { compat: true, noWrites: false, allowOom: false, allowStale: false, noCluster: false, allowCrossSlot: false };
  if (body[0] !== 0x23 || body[1] !== 0x21) return { flags, shebangLen: 0 };
  const nl = body.indexOf(10);
  if (nl < 0) return { error: "Invalid script shebang" };
  const parts = body.toString("latin1", 0, nl).split(/[ \t\r]+/).filter(Boolean);
  if (parts.length === 0) return { error: "Invalid engine in script shebang" };
  if (parts[0] !== "#!lua") return { error: `Unexpected engine in script shebang: ${parts[0]}` };
  flags.compat = false;
  for (const p of parts.slice(1)) {
    if (!p.startsWith("flags=")) return { error: `Unknown lua shebang option: ${p}` };
    const list = p.slice(6);
    if (list === "") continue;
    for (const f of list.split(",")) {
      const def = SCRIPT_FLAG_NAMES.find(([, n]) => n === f);
      if (!def) return { error: `Unexpected flag in script shebang: ${f}` };
      flags[def[0]] = true;
    }
  }
  return { flags, shebangLen: nl };
}


/** C's "%.17g". */
export function formatG17(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  // A safe integer has at most 16 digits, all exact: %.17g prints it as String() does.
  if (Number.isSafeInteger(n)) return String(n);
  const exp = n.toExponential(16);
  const e = Number(exp.slice(exp.indexOf("e") + 1));
  if (e < -4 || e >= 17) {
    let [m, x] = exp.split("e");
    if (m.includes(".")) m = m.replace(/0+$/, "").replace(/\.$/, "");
    const xe = Number(x);
    return m + "e" + (xe < 0 ? "-" : "+") + String(Math.abs(xe)).padStart(2, "0");
  }
  let s = n.toFixed(Math.max(0, 16 - e));
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

/** Redis's rand.c (erand48's 48-bit LCG), so math.randomseed(n) repeats Redis's sequences. */
class Rand48 {
  private x = (0x1234abcd330en);
  seed(v: number): void {
    this.x = ((BigInt(v >>> 0) << 16n) | 0x330en) & 0xffffffffffffn;
  }
  /** redisLrand48: the next 31-bit value. */
  next(): number {
    this.x = (this.x * 0x5deece66dn + 0xbn) & 0xffffffffffffn;
    return Number(this.x >> 17n);
  }
}

/**
 * Compiles `src` as Redis's Lua 5.1 would (src/scripting/syntax51.ts): leaves the function on
 * the stack and returns null, or leaves nothing and returns 5.1's error message.
 */
function compile51(L: LuaState, src: Uint8Array, chunkName: string): string | null {
  return syntaxError51(src, (code) => {
    if (lauxlib.luaL_loadbufferx(L, code, code.length, toLuaString(chunkName), toLuaString("t")) === 0) return null;
    const msg = lua.lua_isstring(L, -1) ? toBuffer(L, -1).toString("latin1") : "";
    lua.lua_pop(L, 1);
    return msg;
  });
}
