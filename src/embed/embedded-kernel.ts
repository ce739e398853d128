// EmbeddedKernel: the WASM kernel as an in-process store with Redis semantics, for a
// browser tab, a Web Worker, an edge function or another Node program. No server, no
// sockets, no node:* imports and no Buffer on this path: it needs only kernel.wasm and the
// compiled JS next to this file.
//
// What it runs: every command the kernel implements (strings, hashes, bitmaps, keys,
// expiry, SCAN...: supportedCommands()), plus PING, ECHO and SELECT, which a connection
// would otherwise answer. Sets and sorted sets (but small ones, through the commands the
// kernel runs on them: SADD, SREM, SPOP, SRANDMEMBER, SISMEMBER, SMISMEMBER, SCARD, SMEMBERS,
// ZADD, ZPOPMIN, ZPOPMAX, ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK, ZCOUNT, ZRANGE and ZREVRANGE
// by rank), scripting
// and the rest live in the server's host and answer Redis's "unknown command" error here.
//
// Time: the kernel has no clock. Each call passes `now()` in (default Date.now), so a
// simulator or a test can drive expiry deterministically.
//
// Memory: `maxMemoryBytes` caps the kernel's linear memory. WebAssembly memory never
// shrinks, but the kernel reuses freed space, so the cap bounds the footprint: once the
// memory has grown to the cap, commands that may grow memory (Redis's denyoom flag) answer
// Redis's -OOM error (reads and deletes still run), as Redis does under maxmemory with the
// noeviction policy: the kernel's OOM mode hands those commands back (Kernel.setOom).
import { Kernel, STATUS_DONE, STATUS_HOST, STATUS_PROTO_ERROR, STATUS_YIELD } from "../kernel/kernel.js";
import { unknownCommandError } from "../server/unknown-command.js";
import { KERNEL_COMMANDS } from "./kernel-commands.js";
import { decodeReply, type Reply } from "./reply.js";
import { encodeSnapshot, decodeSnapshot } from "./snapshot.js";

export interface EmbeddedKernelOptions {
  /** Number of logical databases (SELECT 0..n-1), 16 as in Redis by default. */
  databases?: number;
  /** The clock, in ms since the epoch (default Date.now). */
  now?: () => number;
  /** Cap on the kernel's linear memory, in bytes (default: none). */
  maxMemoryBytes?: number;
  /** Seed for the kernel's hashing and sampling (default: random). */
  seed?: number;
}

/** A command argument: strings are sent as UTF-8, numbers in decimal. */
export type Arg = string | number | Uint8Array;

/** The kernel's denyoom flag in KERNEL_COMMANDS (assembly/commands/table.ts CMD_DENYOOM). */
const DENYOOM = 4;
const OOM = "OOM command not allowed when used memory > 'maxmemory'.";
const encoder = new TextEncoder();

export class EmbeddedKernel {
  /** The underlying kernel instance (the low-level boundary: src/kernel/kernel.ts). */
  readonly kernel: Kernel;
  private db = 0;
  private readonly databases: number;
  private readonly now: () => number;
  private readonly maxMemory: number;
  /** Bytes of an incomplete command left over from the last feed(). */
  private pending: Uint8Array = new Uint8Array(0);
  /** Kernel command names -> whether they may grow memory (refused over the cap). */
  private readonly denyOom = new Map<string, boolean>();

  private constructor(kernel: Kernel, opts: EmbeddedKernelOptions) {
    this.kernel = kernel;
    this.databases = opts.databases ?? 16;
    this.now = opts.now ?? Date.now;
    this.maxMemory = opts.maxMemoryBytes ?? Infinity;
    const bound = new Set(kernel.commandNames());
    for (const [name, arity, flags, firstKey, lastKey, keyStep] of KERNEL_COMMANDS) {
      if (!bound.has(name)) continue;
      kernel.bindCommand(name, arity, flags, { firstKey, lastKey, keyStep });
      this.denyOom.set(name, (flags & DENYOOM) !== 0);
    }
  }

  /**
   * Creates a kernel from kernel.wasm: its bytes, a compiled module, or a fetch() Response
   * (streamed compilation in browsers).
   */
  static async create(wasm: BufferSource | WebAssembly.Module | Response | Promise<Response>,
                      opts: EmbeddedKernelOptions = {}): Promise<EmbeddedKernel> {
    const source = await wasm;
    let module: WebAssembly.Module;
    if (source instanceof WebAssembly.Module) module = source;
    else if (typeof Response !== "undefined" && source instanceof Response) {
      module = typeof WebAssembly.compileStreaming === "function" && source.headers.get("content-type") === "application/wasm"
        ? await WebAssembly.compileStreaming(source)
        : await WebAssembly.compile(await source.arrayBuffer());
    } else module = await WebAssembly.compile(source as BufferSource);
    return EmbeddedKernel.fromModule(module, opts);
  }

  /** Synchronous creation from an already compiled module. */
  static fromModule(module: WebAssembly.Module, opts: EmbeddedKernelOptions = {}): EmbeddedKernel {
    return new EmbeddedKernel(Kernel.fromModule(module, { databases: opts.databases, seed: opts.seed }), opts);
  }

  /** Commands this instance runs (lowercase), as COMMAND would list them. */
  supportedCommands(): string[] {
    return [...new Set([...this.denyOom.keys(), "echo", "ping", "select"])].sort();
  }

  /** The database commands run in (SELECT changes it too). */
  get selectedDb(): number { return this.db; }

  select(db: number): void {
    if (!Number.isInteger(db) || db < 0 || db >= this.databases) throw new RangeError("DB index is out of range");
    this.db = db;
  }

  /**
   * Runs one command and returns its reply decoded (errors are returned as ReplyError, not
   * thrown). Bulk strings come back as UTF-8 strings; use commandBytes() for binary values.
   */
  command(...args: Arg[]): Reply {
    return this.run(args, false);
  }

  /** command() with bulk strings returned as bytes. */
  commandBytes(...args: Arg[]): Reply {
    return this.run(args, true);
  }

  /**
   * Feeds raw RESP (what a client would send on a connection: multibulk or inline commands,
   * pipelined, possibly split anywhere) and returns the RESP replies of every command it
   * completed. An incomplete trailing command waits for the next feed(). A protocol error
   * ends with Redis's error reply and discards the rest, as Redis closes that connection.
   */
  feed(bytes: Uint8Array): Uint8Array {
    const data = this.pending.length ? concat([this.pending, bytes]) : bytes;
    this.pending = new Uint8Array(0);
    const out: Uint8Array[] = [];
    const x = this.kernel.x;
    const base = x.alloc(Math.max(1, data.length));
    try {
      this.kernel.mem.set(data, base);
      const end = base + data.length;
      let pos = base;
      for (;;) {
        this.oomNow = this.overMemory();
        x.setOom(this.oomNow ? 1 : 0);
        const st = x.process(pos, end, this.db, this.now());
        out.push(this.kernel.output().slice());
        pos = x.consumedPos();
        if (st === STATUS_HOST) {
          out.push(this.handBack());
          continue;
        }
        if (st === STATUS_YIELD) continue;
        if (st === STATUS_PROTO_ERROR) break;
        if (st === STATUS_DONE) this.pending = data.slice(pos - base);
        break;
      }
    } finally {
      x.setOom(0);
      x.free(base);
      this.kernel.takeFreedHandles();
    }
    return concat(out);
  }

  /** The whole keyspace (every db, values and TTLs) as bytes; restore() takes them back. */
  snapshot(): Uint8Array {
    return encodeSnapshot(this.kernel, this.databases, (argv, db) => this.callRaw(encodeArgv(argv), db));
  }

  /** Replaces the whole keyspace with a snapshot() (from this or another instance). */
  restore(bytes: Uint8Array): void {
    this.callRaw(encodeArgv(["FLUSHALL"]), 0);
    decodeSnapshot(this.kernel, this.databases, bytes);
  }

  // ---- internals ---------------------------------------------------------------------------

  private run(args: Arg[], bytes: boolean): Reply {
    if (args.length === 0) throw new TypeError("command() needs at least the command name");
    const req = encodeArgv(args);
    const saved = this.pending;
    this.pending = new Uint8Array(0);
    try {
      return decodeReply(this.feed(req), 0, bytes).value;
    } finally {
      this.pending = saved;
    }
  }

  /** Runs RESP request bytes in db, outside feed()'s input, and returns the reply bytes. */
  private callRaw(req: Uint8Array, db: number): Uint8Array {
    const x = this.kernel.x;
    const p = x.alloc(req.length);
    try {
      this.kernel.mem.set(req, p);
      const st = x.process(p, p + req.length, db, this.now());
      if (st !== STATUS_DONE) throw new Error(`kernel status ${st} for an internal command`);
      return this.kernel.output().slice();
    } finally {
      x.free(p);
      this.kernel.takeFreedHandles();
    }
  }

  /** A command the kernel handed back: ours (PING/ECHO/SELECT), refused for OOM, or unknown. */
  private handBack(): Uint8Array {
    const argv = this.kernel.argv();
    const name = latin1(argv[0]).toLowerCase();
    // A kernel command comes back in OOM mode for being denyoom, or (the set and zset
    // commands below) because only the server's host runs that form of it.
    if (this.oomNow && this.denyOom.has(name)) return errorReply(OOM);
    switch (name) {
      case "ping":
        if (argv.length > 2) return arityError(name);
        return argv.length === 2 ? bulkReply(argv[1]) : encoder.encode("+PONG\r\n");
      case "echo":
        if (argv.length !== 2) return arityError(name);
        return bulkReply(argv[1]);
      case "select": {
        if (argv.length !== 2) return arityError(name);
        const s = latin1(argv[1]);
        const n = /^-?\d+$/.test(s) ? Number(s) : NaN;
        if (!Number.isSafeInteger(n)) return errorReply("ERR value is not an integer or out of range");
        if (n < 0 || n >= this.databases) return errorReply("ERR DB index is out of range");
        this.db = n;
        return encoder.encode("+OK\r\n");
      }
      // The kernel's ZADD/ZPOPMIN/ZPOPMAX hand back what only the server's host runs
      // (assembly/commands/zsets.ts: INCR, a set past the listpack limits, a count, RESP3...).
      case "zadd": case "zpopmin": case "zpopmax": case "zrem": case "zcard": case "zscore":
      case "zmscore": case "zrange": case "zrevrange": case "zrank": case "zrevrank": case "zcount": case "zincrby":
      case "zrangebyscore": case "zrevrangebyscore": case "zremrangebyscore": case "zremrangebyrank":
      case "zrangebylex": case "zrevrangebylex": case "zlexcount": case "zremrangebylex": case "zscan":
        return errorReply(`ERR this form of ${name.toUpperCase()} needs the server's sorted sets (the embedded kernel holds small ones only)`);
      // Likewise its set commands (assembly/commands/sets.ts: big sets, SPOP's count, RESP3 SMEMBERS).
      case "sadd": case "srem": case "sismember": case "smismember": case "scard": case "smembers": case "spop":
      case "srandmember": case "sscan":
        return errorReply(`ERR this form of ${name.toUpperCase()} needs the server's sets (the embedded kernel holds small ones only)`);
    }
    return errorReply("ERR " + unknownCommandError(latin1(argv[0]), argv));
  }

  /** Whether the last process() ran in OOM mode. */
  private oomNow = false;

  private overMemory(): boolean {
    return this.maxMemory !== Infinity && this.kernel.x.memory.buffer.byteLength >= this.maxMemory;
  }
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function toBytes(a: Arg): Uint8Array {
  return a instanceof Uint8Array ? a : encoder.encode(String(a));
}

/** A RESP multibulk request for argv. */
export function encodeArgv(args: Arg[]): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = toBytes(a);
    parts.push(encoder.encode(`$${b.length}\r\n`), b, encoder.encode("\r\n"));
  }
  return concat(parts);
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

function errorReply(msg: string): Uint8Array {
  return encoder.encode(`-${msg}\r\n`);
}

function arityError(name: string): Uint8Array {
  return errorReply(`ERR wrong number of arguments for '${name}' command`);
}

function bulkReply(b: Uint8Array): Uint8Array {
  return concat([encoder.encode(`$${b.length}\r\n`), b, encoder.encode("\r\n")]);
}
