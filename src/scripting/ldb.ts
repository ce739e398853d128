// LDB, Redis's Lua debugger (eval.c's ldb* functions): the debugger's own state, its
// line hook and its REPL, with Redis's reply format to the letter.
//
// Redis runs the debugging session inside the Lua hook, reading the client's socket with
// blocking reads. We cannot block, so the hook yields the script's Lua thread instead
// (Lua 5.3 lets line and count hooks yield) whenever it must wait for the next debugger
// command; the client's input goes to this debugger meanwhile (Client.inputTap), and when a
// command arrives the thread is resumed with the hook armed to run again at the same
// instruction (fengari's CIST_HOOKYIELD mark cleared), so every debugger command still runs
// inside the hook, on the live stack, exactly where Redis runs it: `print` sees the locals,
// `eval` and `redis` run as Lua code of the script, `abort` raises a Lua error at the
// current line. The session wiring (SCRIPT DEBUG, the client, other clients) is in
// ldb-session.ts.
import { lua, lauxlib, toLuaString, type LuaState } from "./fengari.js";
import { pushErrorTable, toBuffer } from "./convert.js";
import { catRepr as repr } from "../util/repr.js";

const LDB_BREAKPOINTS_MAX = 64;
export const LDB_MAX_LEN_DEFAULT = 256;
/** LUA_MINSTACK / 2 */
const LDB_MAX_VALUES_DEPTH = 10;

/** What the debugger needs from the session: the client's socket, the clock. */
export interface LdbConnection {
  /** Writes bytes straight to the debugging client (connWrite), if it is still connected. */
  write(data: Buffer): void;
  /** busy-reply-threshold in ms (0: none). */
  busyReplyThreshold(): number;
}

export class Ldb {
  conn: LdbConnection | null = null;
  /** Are we debugging EVAL right now? */
  active = false;
  /** A fork()ed (SCRIPT DEBUG YES) session: its changes are rolled back. */
  forked = false;
  /** Messages to send to the client (latin1 strings: binary safe). */
  private logs: string[] = [];
  private bp: number[] = [];
  /** Stop at the next line regardless of breakpoints. */
  step = false;
  /** Stop at the next line because redis.breakpoint() was called. */
  luabp = false;
  private src: string[] = [];
  private lines = 0;
  currentline = 0;
  /** The debugging client's unread command bytes. */
  private cbuf: Buffer = Buffer.alloc(0);
  private maxlen = LDB_MAX_LEN_DEFAULT;
  private maxlenHintSent = false;
  /** The script is yielded inside the hook, waiting for the client's next command. */
  waiting = false;
  /** The thread that yielded to wait. */
  private yielded: LuaState = null;
  /** The next hook call on a line event is the REPL resuming, not a new line. */
  private reentering = false;
  /** The current stop was for a timeout (the client's going away then kills the script). */
  private stoppedForTimeout = false;
  /** The debugging client closed its connection (connRead returned 0). */
  connClosed = false;
  /** When the script (re)started running, for the timeout stop (rctx->start_time). */
  startTime = 0;
  /** Called after each stop, as Redis refreshes the script's start and snapshot time. */
  onStopEnd: (() => void) | null = null;

  /** ldbEnable's reset of the debugger state. */
  enable(): void {
    this.logs = [];
    this.step = true;
    this.bp = [];
    this.luabp = false;
    this.cbuf = Buffer.alloc(0);
    this.maxlen = LDB_MAX_LEN_DEFAULT;
    this.maxlenHintSent = false;
  }

  /** ldbStartSession's part: the source split in lines (trailing newlines dropped). */
  start(conn: LdbConnection, source: Buffer, forked: boolean): void {
    this.conn = conn;
    this.forked = forked;
    this.active = true;
    this.connClosed = false;
    this.waiting = false;
    this.reentering = false;
    let s = source.toString("latin1");
    s = s.replace(/[\r\n]+$/, "");
    this.src = s.length === 0 ? [] : s.split("\n");
    this.lines = this.src.length;
    this.startTime = Date.now();
  }

  /** ldbEndSession's part: the remaining logs and the <endsession> mark. */
  end(): void {
    this.log("<endsession>");
    this.sendLogs();
    this.src = [];
    this.lines = 0;
    this.active = false;
    this.waiting = false;
    this.reentering = false;
    this.conn = null;
  }

  /** ldbIsEnabled: logging of commands, replies and errors is on (stepping). */
  isEnabled(): boolean {
    return this.active && this.step;
  }

  log(entry: string): void {
    this.logs.push(entry);
  }

  /** ldbLogWithMaxLen */
  private logWithMaxLen(entry: string): void {
    let trimmed = false;
    if (this.maxlen && entry.length > this.maxlen) {
      entry = entry.slice(0, this.maxlen) + " ...";
      trimmed = true;
    }
    this.log(entry);
    if (trimmed && !this.maxlenHintSent) {
      this.maxlenHintSent = true;
      this.log("<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.");
    }
  }

  /** ldbSendLogs: the log as an array of status lines (newlines turned into spaces). */
  sendLogs(): void {
    let proto = `*${this.logs.length}\r\n`;
    for (const l of this.logs) proto += "+" + l.replace(/[\r\n]/g, " ") + "\r\n";
    this.logs = [];
    this.conn?.write(Buffer.from(proto, "latin1"));
  }

  /** The debugging client sent bytes. True when the waiting script should be resumed. */
  feed(chunk: Buffer): boolean {
    this.cbuf = this.cbuf.length === 0 ? chunk : Buffer.concat([this.cbuf, chunk]);
    return this.takeWaiting();
  }

  /** The debugging client went away. True when the waiting script should be resumed. */
  closed(): boolean {
    this.connClosed = true;
    return this.takeWaiting();
  }

  /**
   * Lets the yielded script be resumed into the REPL: fengari marks a frame whose hook
   * yielded so that the hook is not called again for that instruction; without the mark the
   * line hook runs again there (the pc did not move), and lineHook sees `reentering`.
   */
  private takeWaiting(): boolean {
    if (!this.waiting) return false;
    this.waiting = false;
    this.reentering = true;
    this.yielded.ci.callstatus &= ~CIST_HOOKYIELD;
    return true;
  }

  // ---- logging helpers used by the engine --------------------------------------------------

  /** redis.call's "<redis> cmd args" line (at most 10 arguments shown). */
  logRedisCommand(argv: Buffer[]): void {
    let s = "<redis>";
    for (let j = 0; j < argv.length; j++) {
      if (j === 10) {
        s += ` ... (${argv.length - j - 1} more)`;
        break;
      }
      s += " " + argv[j].toString("latin1");
    }
    this.log(s);
  }

  /** ldbLogRedisReply */
  logRedisReply(reply: Uint8Array): void {
    const out = { s: "<reply> " };
    protocolToHuman(out, Buffer.from(reply.buffer, reply.byteOffset, reply.length), 0);
    this.logWithMaxLen(out.s);
  }

  /** luaPushErrorBuff's log of an error while stepping. */
  logError(errBuffer: string): void {
    if (this.isEnabled()) this.log(`<error> ${errBuffer}`);
  }

  /** redis.debug(...) */
  debugCommand(L: LuaState): void {
    if (!this.active) return;
    let argc = lua.lua_gettop(L);
    let s = `<debug> line ${this.currentline}: `;
    while (argc--) {
      s = catStackValue(s, L, -1 - argc, 0);
      if (argc !== 0) s += ", ";
    }
    this.log(s);
  }

  // ---- the hook ----------------------------------------------------------------------------

  /**
   * luaLdbLineHook: called on every line (and count) event of a debugged script. Stops on
   * step, breakpoint, redis.breakpoint() or timeout, sends the stop and runs the REPL.
   */
  lineHook(L: LuaState, ar: LuaDebug): void {
    if (L.status === lua.LUA_YIELD) return; // the count hook already yielded this instruction
    const event = ar.event;
    lua.lua_getstack(L, 0, ar);
    lua.lua_getinfo(L, toLuaString("Sl"), ar);
    this.currentline = ar.currentline;
    const bp = this.isBreakpoint(this.currentline) || this.luabp;
    let timeout = false;
    // Events outside our script are not interesting.
    if (!Buffer.from(ar.short_src).toString("latin1").includes("user_script")) return;
    if (this.reentering) {
      // Resumed with a debugger command to run: on the line event for the same instruction.
      if (event !== lua.LUA_HOOKLINE) return;
      this.reentering = false;
      this.repl(L);
      return;
    }
    if (event === lua.LUA_HOOKCOUNT && !this.step && !bp) {
      const elapsed = Date.now() - this.startTime;
      const threshold = this.conn?.busyReplyThreshold() ?? 0;
      const timelimit = threshold ? threshold : 5000;
      if (elapsed >= timelimit) {
        timeout = true;
        this.step = true;
      } else {
        return;
      }
    }
    if (this.step || bp) {
      let reason = "step over";
      if (bp) reason = this.luabp ? "redis.breakpoint() called" : "break point";
      else if (timeout) reason = "timeout reached, infinite loop?";
      this.step = false;
      this.luabp = false;
      this.log(`* Stopped at ${this.currentline}, stop reason = ${reason}`);
      this.logSourceLine(this.currentline);
      this.sendLogs();
      this.stoppedForTimeout = timeout;
      this.repl(L);
    }
  }

  /** What happens once a stop's REPL lets the script go on. */
  private stopEnded(): void {
    this.startTime = Date.now();
    this.onStopEnd?.();
  }

  /** Raises a Lua error {err="ERR msg"} from the hook (luaPushError + luaError). */
  private raise(L: LuaState, msg: string): never {
    pushErrorTable(L, msg, false);
    lua.lua_error(L);
    throw new Error("unreachable");
  }

  /**
   * ldbRepl: runs the client's debugger commands until one lets the script go on (step,
   * continue) or ends it (abort); yields the thread when it must wait for more input.
   */
  private repl(L: LuaState): void {
    for (;;) {
      const parsed = this.parseCommand();
      if (parsed === null) {
        if (this.connClosed) {
          // The script goes on without user input: the client is no longer connected.
          this.step = false;
          this.bp = [];
          if (this.stoppedForTimeout) this.raise(L, "timeout during Lua debugging with client closing connection");
          this.stopEnded();
          return;
        }
        if (this.cbuf.length > 1 << 20) {
          this.cbuf = Buffer.alloc(0);
          this.raise(L, "max client buffer reached");
        }
        this.waiting = true;
        this.yielded = L;
        lua.lua_yield(L, 0);
        return;
      }
      if ("error" in parsed) this.raise(L, parsed.error);
      this.cbuf = Buffer.alloc(0);
      const argv = parsed.argv;
      const argc = argv.length;
      const cmd = argv[0].toString("latin1").toLowerCase();
      const is = (...names: string[]) => names.includes(cmd);
      if (is("h", "help")) {
        for (const line of HELP) this.log(line);
        this.sendLogs();
      } else if (is("s", "step", "n", "next")) {
        this.step = true;
        break;
      } else if (is("c", "continue")) {
        break;
      } else if (is("t", "trace")) {
        this.trace(L);
        this.sendLogs();
      } else if (is("m", "maxlen")) {
        this.maxlenCommand(argv);
        this.sendLogs();
      } else if (is("b", "break")) {
        this.breakCommand(argv);
        this.sendLogs();
      } else if (is("e", "eval")) {
        this.evalCommand(L, argv);
        this.sendLogs();
      } else if (is("a", "abort")) {
        this.raise(L, "script aborted for user request");
      } else if (argc > 1 && is("r", "redis")) {
        this.redisCommand(L, argv);
        this.sendLogs();
      } else if (is("p", "print")) {
        if (argc === 2) this.print(L, argv[1].toString("latin1"));
        else this.printAll(L);
        this.sendLogs();
      } else if (is("l", "list")) {
        let around = this.currentline;
        let ctx = 5;
        if (argc > 1) {
          const num = atoi(argv[1]);
          if (num > 0) around = num;
        }
        if (argc > 2) ctx = atoi(argv[2]);
        this.list(around, ctx);
        this.sendLogs();
      } else if (is("w", "whole")) {
        this.list(1, 1000000);
        this.sendLogs();
      } else {
        this.log("<error> Unknown Redis Lua debugger command or wrong number of arguments.");
        this.sendLogs();
      }
    }
    this.stopEnded();
  }

  /**
   * ldbReplParseCommand: Redis's deliberately simple multibulk parser over the client's
   * buffer, C-string semantics included (a NUL ends what strchr/strstr look at). null: read
   * more.
   */
  private parseCommand(): { argv: Buffer[] } | { error: string } | null {
    const buf = this.cbuf;
    if (buf.length === 0) return null;
    const protoerr = { error: "protocol error" };
    // The C code works on a NUL-terminated copy: nothing after the first NUL is seen by strchr/strstr.
    const nul = buf.indexOf(0);
    const cstrEnd = nul < 0 ? buf.length : nul;
    const strchr = (from: number, ch: number) => {
      for (let i = from; i < cstrEnd; i++) if (buf[i] === ch) return i;
      return -1;
    };
    const strstrCrlf = (from: number) => {
      // strstr stops at the first NUL at or after `from` (argument bodies may hold NULs).
      for (let i = from; i + 1 < buf.length; i++) {
        if (buf[i] === 0) return -1;
        if (buf[i] === 13 && buf[i + 1] === 10) return i;
      }
      return -1;
    };
    let p = strchr(0, 0x2a); // '*'
    if (p < 0) return protoerr;
    const plen = p + 1;
    p = strstrCrlf(p);
    if (p < 0) return null;
    const count = atoi(buf.subarray(plen, p));
    p += 2;
    if (count <= 0 || count > 1024) return protoerr;
    const argv: Buffer[] = [];
    while (argv.length < count) {
      // reached the end but there should be more data to read
      if (p >= buf.length || buf[p] === 0) return null;
      if (buf[p] !== 0x24) return protoerr; // '$'
      const blen = p + 1;
      p = strstrCrlf(p);
      if (p < 0) return null;
      const slen = atoi(buf.subarray(blen, p));
      p += 2;
      if (slen <= 0 || slen > 1024) return protoerr;
      if (p + slen + 2 > buf.length) return null;
      argv.push(Buffer.from(buf.subarray(p, p + slen)));
      p += slen;
      if (buf[p] !== 13 || buf[p + 1] !== 10) return protoerr;
      p += 2;
    }
    return { argv };
  }

  private sourceLine(line: number): string {
    const idx = line - 1;
    if (idx < 0 || idx >= this.lines) return "<out of range source code line>";
    return this.src[idx];
  }

  private isBreakpoint(line: number): boolean {
    return this.bp.includes(line);
  }

  /** ldbLogSourceLine: "-> 3   code", "  #3   code" (a breakpoint), "->#3   code". */
  private logSourceLine(lnum: number): void {
    const bp = this.isBreakpoint(lnum);
    const current = this.currentline === lnum;
    const prefix = current && bp ? "->#" : current ? "-> " : bp ? "  #" : "   ";
    this.log(`${prefix}${String(lnum).padEnd(3)} ${this.sourceLine(lnum)}`);
  }

  /** ldbList: the whole source (around 0), or `context` lines either side of `around`. */
  private list(around: number, context: number): void {
    for (let j = 1; j <= this.lines; j++) {
      if (around !== 0 && Math.abs(around - j) > context) continue;
      this.logSourceLine(j);
    }
  }

  /** ldbBreak */
  private breakCommand(argv: Buffer[]): void {
    if (argv.length === 1) {
      if (this.bp.length === 0) {
        this.log("No breakpoints set. Use 'b <line>' to add one.");
      } else {
        this.log(`${this.bp.length} breakpoints set:`);
        for (const line of this.bp) this.logSourceLine(line);
      }
      return;
    }
    for (let j = 1; j < argv.length; j++) {
      const arg = argv[j].toString("latin1");
      const line = string2l(arg);
      if (line === null) {
        this.log(`Invalid argument:'${arg}'`);
      } else if (line === 0) {
        this.bp = [];
        this.log("All breakpoints removed.");
      } else if (line > 0) {
        if (this.bp.length === LDB_BREAKPOINTS_MAX) this.log("Too many breakpoints set.");
        else if (this.addBreakpoint(line)) this.list(line, 1);
        else this.log("Wrong line number.");
      } else {
        const i = this.bp.indexOf(-line);
        if (i >= 0) {
          this.bp.splice(i, 1);
          this.log("Breakpoint removed.");
        } else {
          this.log("No breakpoint in the specified line.");
        }
      }
    }
  }

  /** ldbAddBreakpoint: 1 if added, 0 if out of range or already set. */
  private addBreakpoint(line: number): boolean {
    if (line <= 0 || line > this.lines) return false;
    if (!this.isBreakpoint(line) && this.bp.length !== LDB_BREAKPOINTS_MAX) {
      this.bp.push(line);
      return true;
    }
    return false;
  }

  /** ldbMaxlen */
  private maxlenCommand(argv: Buffer[]): void {
    if (argv.length === 2) {
      let newval = atoi(argv[1]);
      this.maxlenHintSent = true; // the user knows about this command
      if (newval !== 0 && newval <= 60) newval = 60;
      this.maxlen = newval;
    }
    if (this.maxlen) this.log(`<value> replies are truncated at ${this.maxlen} bytes.`);
    else this.log("<value> replies are unlimited.");
  }

  /** ldbEval: the code as an expression ("return " prepended), else as a statement. */
  private evalCommand(L: LuaState, argv: Buffer[]): void {
    const code = Buffer.concat(argv.slice(1).flatMap((a, i) => (i === 0 ? [a] : [Buffer.from(" "), a])));
    const expr = Buffer.concat([Buffer.from("return "), code]);
    const name = toLuaString("@ldb_eval");
    if (lauxlib.luaL_loadbuffer(L, new Uint8Array(expr), expr.length, name) !== 0) {
      lua.lua_pop(L, 1);
      if (lauxlib.luaL_loadbuffer(L, new Uint8Array(code), code.length, name) !== 0) {
        this.log(`<error> ${luaToString(L, -1)}`);
        lua.lua_pop(L, 1);
        return;
      }
    }
    if (lua.lua_pcall(L, 0, 1, 0) !== lua.LUA_OK) {
      this.log(`<error> ${luaToString(L, -1)}`);
      lua.lua_pop(L, 1);
      return;
    }
    this.logStackValue(L, "<retval> ");
    lua.lua_pop(L, 1);
  }

  /** ldbRedis: redis.call with the arguments, stepping on so the command and reply are logged. */
  private redisCommand(L: LuaState, argv: Buffer[]): void {
    if (!lua.lua_checkstack(L, argv.length + 1)) {
      this.logWithMaxLen("<reply> ");
      return;
    }
    lua.lua_getglobal(L, "redis");
    lua.lua_pushstring(L, toLuaString("call"));
    lua.lua_gettable(L, -2);
    for (let j = 1; j < argv.length; j++) lua.lua_pushlstring(L, new Uint8Array(argv[j]), argv[j].length);
    this.step = true; // force redis.call() to log
    lua.lua_pcall(L, argv.length - 1, 1, 0);
    this.step = false;
    lua.lua_pop(L, 2);
  }

  /** ldbTrace */
  private trace(L: LuaState): void {
    const ar = new lua.lua_Debug();
    let level = 0;
    while (lua.lua_getstack(L, level, ar)) {
      lua.lua_getinfo(L, toLuaString("Snl"), ar);
      if (Buffer.from(ar.short_src).toString("latin1").includes("user_script")) {
        const name = ar.name ? Buffer.from(ar.name).toString("latin1") : "top level";
        this.log(`${level === 0 ? "In" : "From"} ${name}:`);
        this.logSourceLine(ar.currentline);
      }
      level++;
    }
    if (level === 0) this.log("<error> Can't retrieve Lua stack.");
  }

  /** ldbPrint: the first local of that name from the current frame outwards; KEYS and ARGV. */
  private print(L: LuaState, varname: string): void {
    const ar = new lua.lua_Debug();
    let l = 0;
    while (lua.lua_getstack(L, l, ar) !== 0) {
      l++;
      let i = 1;
      let name;
      while ((name = lua.lua_getlocal(L, ar, i)) !== null && name !== undefined) {
        i++;
        if (Buffer.from(name).toString("latin1") === varname) {
          this.logStackValue(L, "<value> ");
          lua.lua_pop(L, 1);
          return;
        }
        lua.lua_pop(L, 1);
      }
    }
    if (varname === "ARGV" || varname === "KEYS") {
      lua.lua_getglobal(L, varname);
      this.logStackValue(L, "<value> ");
      lua.lua_pop(L, 1);
    } else {
      this.log("No such variable.");
    }
  }

  /** ldbPrintAll: the locals of the current frame. */
  private printAll(L: LuaState): void {
    const ar = new lua.lua_Debug();
    let vars = 0;
    if (lua.lua_getstack(L, 0, ar) !== 0) {
      let i = 1;
      let name;
      while ((name = lua.lua_getlocal(L, ar, i)) !== null && name !== undefined) {
        i++;
        const n = Buffer.from(name).toString("latin1");
        if (!n.includes("(*temporary)")) {
          this.logStackValue(L, `<value> ${n} = `);
          vars++;
        }
        lua.lua_pop(L, 1);
      }
    }
    if (vars === 0) this.log("No local variables in the current context.");
  }

  /** ldbLogStackValue */
  private logStackValue(L: LuaState, prefix: string): void {
    this.logWithMaxLen(catStackValue(prefix, L, -1, 0));
  }
}

/** fengari's lstate.CIST_HOOKYIELD: the last hook call yielded (do not call it again). */
const CIST_HOOKYIELD = 1 << 6;

/** fengari's lua_Debug record as the hook receives it. */
export interface LuaDebug { event: number; currentline: number; short_src: Uint8Array; name?: Uint8Array }

const HELP = [
  "Redis Lua debugger help:",
  "[h]elp               Show this help.",
  "[s]tep               Run current line and stop again.",
  "[n]ext               Alias for step.",
  "[c]ontinue           Run till next breakpoint.",
  "[l]ist               List source code around current line.",
  "[l]ist [line]        List source code around [line].",
  "                     line = 0 means: current position.",
  "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
  "                     to show before/after [line].",
  "[w]hole              List all source code. Alias for 'list 1 1000000'.",
  "[p]rint              Show all the local variables.",
  "[p]rint <var>        Show the value of the specified variable.",
  "                     Can also show global vars KEYS and ARGV.",
  "[b]reak              Show all breakpoints.",
  "[b]reak <line>       Add a breakpoint to the specified line.",
  "[b]reak -<line>      Remove breakpoint from the specified line.",
  "[b]reak 0            Remove all breakpoints.",
  "[t]race              Show a backtrace.",
  "[e]val <code>        Execute some Lua code (in a different callframe).",
  "[r]edis <cmd>        Execute a Redis command.",
  "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
  "                     Specifying zero as <len> means unlimited.",
  "[a]bort              Stop the execution of the script. In sync",
  "                     mode dataset changes will be retained.",
  "",
  "Debugger functions you can call from Lua scripts:",
  "redis.debug()        Produce logs in the debugger console.",
  "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
  "                     next line of code.",
];

/** C's atoi: optional blanks and sign, then digits; 0 when there are none. */
function atoi(b: Buffer): number {
  const m = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(b.toString("latin1"));
  if (!m) return 0;
  const n = Number(m[1]);
  return n > 2147483647 || n < -2147483648 ? (n | 0) : n;
}

/** string2l: the whole string is a decimal long (no blanks, no '+', no leading zeros). */
function string2l(s: string): number | null {
  if (!/^(0|-?[1-9]\d*)$/.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

/** lua_tostring of the value at idx, or "(null)" when it is not a string or number. */
function luaToString(L: LuaState, idx: number): string {
  const t = lua.lua_type(L, idx);
  if (t !== lua.LUA_TSTRING && t !== lua.LUA_TNUMBER) return "(null)";
  return toBuffer(L, idx).toString("latin1");
}

/** C's printf("%g") (6 significant digits). */
export function formatG(n: number, precision = 6): string {
  if (Number.isNaN(n)) return "nan";
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  const exp = n.toExponential(precision - 1);
  const e = Number(exp.slice(exp.indexOf("e") + 1));
  if (e < -4 || e >= precision) {
    let [m, x] = exp.split("e");
    if (m.includes(".")) m = m.replace(/0+$/, "").replace(/\.$/, "");
    const xe = Number(x);
    return m + "e" + (xe < 0 ? "-" : "+") + String(Math.abs(xe)).padStart(2, "0");
  }
  let s = n.toFixed(Math.max(0, precision - 1 - e));
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

/** Stand-ins for C pointers in "function@0x..." (one per object, stable for its life). */
const ids = new WeakMap<object, number>();
let nextId = 0x5610_0000;
function pointerOf(p: unknown): string {
  if (p === null || typeof p !== "object") return "0x0";
  let id = ids.get(p as object);
  if (id === undefined) ids.set(p as object, (id = (nextId += 0x40)));
  return "0x" + id.toString(16);
}

/** ldbCatStackValueRec: a human-readable Lua value (tables as {a; b} or {[k]=v; ...}). */
function catStackValue(s: string, L: LuaState, idx: number, level: number): string {
  idx = lua.lua_absindex(L, idx);
  const t = lua.lua_type(L, idx);
  if (level++ === LDB_MAX_VALUES_DEPTH) return s + "<max recursion level reached! Nested table?>";
  switch (t) {
    case lua.LUA_TSTRING:
      return s + repr(lua.lua_tolstring(L, idx));
    case lua.LUA_TBOOLEAN:
      return s + (lua.lua_toboolean(L, idx) ? "true" : "false");
    case lua.LUA_TNUMBER:
      return s + formatG(lua.lua_tonumber(L, idx));
    case lua.LUA_TNIL:
      return s + "nil";
    case lua.LUA_TTABLE: {
      // As ldbCatStackValueRec: one lua_next walk (in Lua 5.1's order, src/scripting/table-order.ts)
      // builds both forms; the array one is kept when the keys came as 1, 2, 3...
      let isArray = true;
      let expected = 1;
      let repr1 = "";
      let repr2 = "";
      lua.lua_checkstack(L, 3);
      lua.lua_pushnil(L);
      while (lua.lua_next(L, idx)) {
        if (isArray && (lua.lua_type(L, -2) !== lua.LUA_TNUMBER || lua.lua_tonumber(L, -2) !== expected)) isArray = false;
        repr1 = catStackValue(repr1, L, -1, level) + "; ";
        repr2 = catStackValue(catStackValue(repr2 + "[", L, -2, level) + "]=", L, -1, level) + "; ";
        lua.lua_pop(L, 1);
        expected++;
      }
      if (repr1.length) repr1 = repr1.slice(0, -2);
      if (repr2.length) repr2 = repr2.slice(0, -2);
      return s + "{" + (isArray ? repr1 : repr2) + "}";
    }
    case lua.LUA_TFUNCTION: case lua.LUA_TUSERDATA: case lua.LUA_TTHREAD: case lua.LUA_TLIGHTUSERDATA: {
      const name = t === lua.LUA_TFUNCTION ? "function" : t === lua.LUA_TUSERDATA ? "userdata" : t === lua.LUA_TTHREAD ? "thread" : "light-userdata";
      return s + `"${name}@${pointerOf(lua.lua_topointer(L, idx))}"`;
    }
    default:
      return s + '"<unknown-lua-type>"';
  }
}

/** ldbRedisProtocolToHuman: a RESP reply in the debugger's notation; returns where it ends. */
function protocolToHuman(o: { s: string }, b: Buffer, p: number): number {
  const lineEnd = (from: number) => {
    const i = b.indexOf("\r", from);
    return i < 0 ? b.length : i;
  };
  const e = lineEnd(p + 1);
  const head = b.toString("latin1", p + 1, e);
  switch (b[p]) {
    case 0x3a: // ':'
      o.s += head;
      return e + 2;
    case 0x24: { // '$'
      const n = Number(head);
      if (n === -1) {
        o.s += "NULL";
        return e + 2;
      }
      o.s += repr(b.subarray(e + 2, e + 2 + n));
      return e + 2 + n + 2;
    }
    case 0x2b: case 0x2d: // '+' '-'
      o.s += repr(b.subarray(p, e));
      return e + 2;
    case 0x2a: { // '*'
      const n = Number(head);
      let q = e + 2;
      if (n === -1) {
        o.s += "NULL";
        return q;
      }
      o.s += "[";
      for (let j = 0; j < n; j++) {
        q = protocolToHuman(o, b, q);
        if (j !== n - 1) o.s += ",";
      }
      o.s += "]";
      return q;
    }
    case 0x7e: { // '~'
      const n = Number(head);
      let q = e + 2;
      o.s += "~(";
      for (let j = 0; j < n; j++) {
        q = protocolToHuman(o, b, q);
        if (j !== n - 1) o.s += ",";
      }
      o.s += ")";
      return q;
    }
    case 0x25: { // '%'
      const n = Number(head);
      let q = e + 2;
      o.s += "{";
      for (let j = 0; j < n; j++) {
        q = protocolToHuman(o, b, q);
        o.s += " => ";
        q = protocolToHuman(o, b, q);
        if (j !== n - 1) o.s += ",";
      }
      o.s += "}";
      return q;
    }
    case 0x5f: // '_'
      o.s += "(null)";
      return e + 2;
    case 0x23: // '#'
      o.s += b[p + 1] === 0x74 ? "#true" : "#false";
      return e + 2;
    case 0x2c: // ','
      o.s += "(double) " + head;
      return e + 2;
    default:
      // Types Redis 7.0's debugger does not decode (big number, verbatim, attribute...).
      return p;
  }
}
