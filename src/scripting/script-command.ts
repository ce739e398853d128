// A command a script calls (redis.call, redis.pcall, redis.acl_check_cmd), as the engine hands
// it to the server: the RESP request written once from the Lua arguments (Redis's
// luaArgsToRedisArgv), with the argument Buffers made only when someone asks for them.
//
// A kernel command runs from the request bytes as they are (copied into the kernel's memory
// at once), and the server finds the command from its name alone: in a profile of a
// redis.call loop, a Buffer per call and a Buffer view per argument (a FastBuffer each) were
// ~8% of the server's time, for arguments nobody read as Buffers. So the request is written
// into one reused array, and argv is made on demand (a host command's handler, ACL, MONITOR,
// tracking, cluster routing, the debugger), from a copy of the request that it may keep.
import { lua, type LuaState } from "./fengari.js";
import { pushErrorTable } from "./convert.js";
import { putRespHeader } from "../server/resp-header.js";

export class ScriptCommand {
  /**
   * argv as a RESP multibulk, what a kernel command runs from: bytes[0, length). Overwritten
   * by the next command.
   */
  bytes: Uint8Array = new Uint8Array(0);
  length = 0;
  /** Where requests are written, reused (one of up to SCRATCH_KEEP bytes is kept). */
  private scratch = new Uint8Array(1024);
  /** bytes[0, length) as one array (made when asked: most calls need the bytes alone). */
  private requestView: Uint8Array | null = null;
  /** Number of arguments (the name included). */
  argc = 0;
  /** Where each argument's bytes start in bytes, and their length. */
  private starts = new Int32Array(16);
  private lengths = new Int32Array(16);
  private made: Buffer[] | null = null;

  /**
   * Writes the Lua arguments 1..top of L as the request (numbers as "%.17g", strings as they
   * are) and empties the stack. False, with an error table pushed, when there are none or one
   * is neither a string nor a number (luaArgsToRedisArgv's errors).
   */
  fromLuaArgs(L: LuaState, formatG17: (n: number) => string): boolean {
    // The arguments are read from fengari's stack slots directly (a TValue's type tag and
    // value; a string's bytes are its TString's realstring) and written in one pass: the API
    // calls (index2addr, lua_type, lua_tolstring per argument) and a list of the parts first
    // were ~10% of a redis.call loop (perf, issue #8).
    const first = L.ci.funcOff + 1;
    const argc = L.top - first;
    if (argc === 0) {
      pushErrorTable(L, "Please specify at least one argument for this redis lib call", false);
      return false;
    }
    if (argc > this.starts.length) {
      this.starts = new Int32Array(argc * 2);
      this.lengths = new Int32Array(argc * 2);
    }
    const stack = L.stack;
    let out = this.scratch;
    let o = putRespHeader(out, 0, 0x2a, argc);
    for (let j = 0; j < argc; j++) {
      const v = stack[first + j];
      const t = v.type & 0x0f;
      let part: Uint8Array | string;
      if (t === LUA_TNUMBER) part = formatG17(v.value);
      else if (t === LUA_TSTRING) part = v.value.realstring as Uint8Array;
      else {
        lua.lua_settop(L, 0);
        pushErrorTable(L, "Lua redis lib command arguments must be strings or integers", false);
        return false;
      }
      const n = part.length;
      if (o + n + 16 > out.length) {
        // A bigger array for this command; kept for the next ones up to SCRATCH_KEEP bytes.
        const grown = new Uint8Array(Math.max(o + n + 16 + 16 * (argc - j), 2 * out.length));
        grown.set(out.subarray(0, o));
        out = grown;
        if (out.length <= SCRATCH_KEEP) this.scratch = out;
      }
      o = putRespHeader(out, o, 0x24, n);
      this.starts[j] = o;
      this.lengths[j] = n;
      if (typeof part === "string") for (let i = 0; i < n; i++) out[o + i] = part.charCodeAt(i);
      else if (n <= 64) for (let i = 0; i < n; i++) out[o + i] = part[i];
      else out.set(part, o);
      o += n;
      out[o++] = 13;
      out[o++] = 10;
    }
    this.bytes = out;
    this.length = o;
    this.requestView = null;
    this.argc = argc;
    this.made = null;
    lua.lua_settop(L, 0);
    return true;
  }

  /** argv() as a function, made once: what the SLOWLOG calls for a slow call's arguments (Server.finishCall). */
  readonly argvLater = (): Buffer[] => this.argv();

  /** The request as one array (a view of bytes: valid for this command only). */
  get request(): Uint8Array {
    return (this.requestView ??= this.bytes.subarray(0, this.length));
  }

  /** Where argv[0], the command's name, is in bytes: [nameStart, nameEnd). */
  get nameStart(): number { return this.starts[0]; }
  get nameEnd(): number { return this.starts[0] + this.lengths[0]; }

  /** Where argv[i] is in bytes: [argStart(i), argEnd(i)). */
  argStart(i: number): number { return this.starts[i]; }
  argEnd(i: number): number { return this.starts[i] + this.lengths[i]; }

  /**
   * The arguments as Buffers, made on the first call: views of a copy of the request, so a
   * command may keep them (a host type's value, a blocked client's SLOWLOG entry).
   */
  argv(): Buffer[] {
    if (this.made !== null) return this.made;
    const argv: Buffer[] = new Array(this.argc);
    const req = Buffer.allocUnsafe(this.length);
    req.set(this.request);
    // Buffer.from(arrayBuffer, offset, length): a view without subarray's species lookup
    // (~20% less for a 3-argument call's argv, measured in a loop).
    const ab = req.buffer, at = req.byteOffset;
    for (let j = 0; j < this.argc; j++) argv[j] = Buffer.from(ab, at + this.starts[j], this.lengths[j]);
    return (this.made = argv);
  }
}

/** fengari's type tags without their variant bits (lua.h). */
const LUA_TNUMBER = 3, LUA_TSTRING = 4;

/** The largest request array kept for the next command (a bigger one is made for its call alone). */
const SCRATCH_KEEP = 64 * 1024;
