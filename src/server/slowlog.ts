// The slow log (Redis's slowlog.c): commands that ran for at least slowlog-log-slower-than
// microseconds, newest first, at most slowlog-max-len of them.
//
// Timing. Host commands (and kernel commands run through Server.run: MULTI/EXEC, handed
// back) are timed one by one in Server.run. The kernel runs every complete command of a
// read in one call and times each one itself while a threshold is set
// (src/server/command-timing.ts), so a slow command inside a pipeline is logged on its own.
//
// As in Redis: EXEC is not logged (its commands are), commands called by scripts are not
// (the script is), a blocked command is logged when it is unblocked, the logged arguments
// are the client's original ones with passwords redacted (src/server/redact.ts), at most 32
// arguments (the last saying how many more) and 128 bytes each (saying how many more).
import type { Client } from "./client.js";
import type { Server } from "./server.js";
import type { CommandSpec } from "../commands/table.js";
import { redactArgv } from "./redact.js";
import { scriptCaller } from "../commands/scripting.js";
import { applyCommandTiming } from "./command-timing.js";

const SLOWLOG_ENTRY_MAX_ARGC = 32;
const SLOWLOG_ENTRY_MAX_STRING = 128;

export interface SlowLogEntry {
  id: number;
  /** Unix time (seconds) when it was logged. */
  time: number;
  /** Microseconds. */
  duration: number;
  argv: Buffer[];
  peer: string;
  name: string;
}

export class SlowLog {
  /** Newest first. */
  entries: SlowLogEntry[] = [];
  private nextId = 0;
  /** slowlog-log-slower-than (µs); negative: disabled. */
  slowerThan = 10000;
  /** The same, Infinity when disabled: kernel calls at least this long are looked at. */
  slowerThanUs = 10000;
  private maxLen = 128;
  /** Blocked commands, logged when they are unblocked (with the time of their first run). */
  readonly pendingUnblock = new Map<Client, { argv: Buffer[]; usec: number }>();

  constructor(server: Server) {
    server.blocking.onUnblocked = (c) => {
      const p = this.pendingUnblock.get(c);
      if (!p) return;
      this.pendingUnblock.delete(c);
      this.pushIfNeeded(c, p.argv, p.usec);
    };
    const cfg = server.config;
    const update = () => {
      this.slowerThan = cfg.getNumber("slowlog-log-slower-than");
      this.maxLen = cfg.getNumber("slowlog-max-len");
      this.slowerThanUs = this.slowerThan < 0 ? Infinity : this.slowerThan;
      this.trim();
      applyCommandTiming(server);
    };
    cfg.onApply("slowlog-log-slower-than", update);
    cfg.onApply("slowlog-max-len", update);
    update();
  }

  /**
   * slowlogPushEntryIfNeeded. `byScript`: a command a script called, which Redis runs as its
   * Lua client: no peer ("?:0", getClientPeerId of a client without a connection) and no name.
   */
  pushIfNeeded(client: Client, argv: Buffer[], usec: number, byScript = false): void {
    if (this.slowerThan < 0 || usec < this.slowerThan) return;
    this.entries.unshift({
      id: this.nextId++,
      time: Math.floor(Date.now() / 1000),
      duration: Math.floor(usec),
      argv: entryArgv(redactArgv(argv)),
      peer: byScript ? "?:0" : client.addr,
      name: byScript ? "" : client.name,
    });
    this.trim();
  }

  reset(): void {
    this.entries = [];
  }

  private trim(): void {
    if (this.entries.length > this.maxLen) this.entries.length = this.maxLen;
  }
}

/** slowlogCreateEntry's argument vector: at most 32 arguments, each at most 128 bytes. */
function entryArgv(argv: Buffer[]): Buffer[] {
  const n = Math.min(argv.length, SLOWLOG_ENTRY_MAX_ARGC);
  const out: Buffer[] = [];
  for (let j = 0; j < n; j++) {
    if (n !== argv.length && j === n - 1) {
      out.push(Buffer.from(`... (${argv.length - n + 1} more arguments)`));
    } else if (argv[j].length > SLOWLOG_ENTRY_MAX_STRING) {
      out.push(Buffer.concat([argv[j].subarray(0, SLOWLOG_ENTRY_MAX_STRING),
        Buffer.from(`... (${argv[j].length - SLOWLOG_ENTRY_MAX_STRING} more bytes)`)]));
    } else {
      out.push(Buffer.from(argv[j]));
    }
  }
  return out;
}

/**
 * After Server.run timed a command: the slow log (unless the command is EXEC, or blocked: then
 * when it is unblocked) and the latency monitor's "command" / "fast-command" events (Redis's
 * call()). A command a script calls counts too, as in Redis 7.0 (scriptCall passes
 * CMD_CALL_SLOWLOG): its entry comes before the script's, under the Lua client.
 */
export function logCall(server: Server, client: Client, spec: CommandSpec, argvOrMake: Buffer[] | (() => Buffer[]), usec: number): void {
  const slowlog = server.slowlog;
  const latency = server.latency;
  const slow = usec >= slowlog.slowerThanUs;
  if (!slow && usec / 1000 < latency.thresholdMs) return;
  latency.addSampleIfNeeded(spec.flags.has("fast") ? "fast-command" : "command", usec / 1000);
  if (!slow || spec.name === "exec") return;
  // (a script's call makes its argv only when something reads it: Server.runScriptCall)
  const argv = typeof argvOrMake === "function" ? argvOrMake() : argvOrMake;
  if (!SCRIPT_COMMANDS.has(spec.name) && inScriptCall(server, client)) {
    slowlog.pushIfNeeded(client, argv, usec, true);
    return;
  }
  if (server.blocking.isBlocked(client)) {
    // Kept past this call: arguments may be views of kernel memory (firstCommandArgv).
    slowlog.pendingUnblock.set(client, { argv: argv.map((a) => Buffer.from(a)), usec });
    return;
  }
  slowlog.pushIfNeeded(client, argv, usec);
}

/**
 * Script commands: a script past busy-reply-threshold returns from Server.run while it still
 * runs (it continues in later ticks), so it is logged then, with the time of its first slice.
 */
const SCRIPT_COMMANDS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);

/** Whether the script running for `client` is the caller (the command is one of its calls). */
function inScriptCall(server: Server, client: Client): boolean {
  // (a peek: a slow command must not create the Lua state when no script ever ran)
  return scriptCaller(server) === client;
}

/** A kernel command the router ran over several shards, timed as one call: logCall, its argv read back from its request bytes. */
export function logRoutedCall(server: Server, client: Client, spec: CommandSpec, mem: Uint8Array, start: number, end: number, usec: number): void {
  const argv = firstCommandArgv(mem, start, end);
  if (argv) logCall(server, client, spec, argv, usec);
}

/**
 * The first command's arguments in RESP request bytes (multibulk or inline), or null. A
 * multibulk's arguments are views of `mem`, valid until the next kernel call: the slow log
 * keeps 128 bytes of each (entryArgv copies them), so a 64 MB SET that was slow is not copied
 * whole to be logged (that copy had cost more than the SET itself).
 */
export function firstCommandArgv(mem: Uint8Array, start: number, end: number): Buffer[] | null {
  let p = start;
  while (p < end && (mem[p] === 0x0d || mem[p] === 0x0a || mem[p] === 0x20)) p++;
  if (p >= end) return null;
  const line = (from: number): [string, number] | null => {
    for (let i = from; i + 1 < end; i++) if (mem[i] === 0x0d && mem[i + 1] === 0x0a) return [Buffer.from(mem.subarray(from, i)).toString("latin1"), i + 2];
    return null;
  };
  if (mem[p] !== 0x2a) {
    let e = p;
    while (e < end && mem[e] !== 0x0a) e++;
    return Buffer.from(mem.subarray(p, e)).toString("latin1").trim().split(/\s+/).filter(Boolean).map((w) => Buffer.from(w, "latin1"));
  }
  const head = line(p + 1);
  if (!head) return null;
  const argc = Number(head[0]);
  p = head[1];
  const argv: Buffer[] = [];
  for (let i = 0; i < argc; i++) {
    const len = line(p + 1);
    if (!len) return null;
    const n = Number(len[0]);
    argv.push(Buffer.from(mem.buffer, mem.byteOffset + len[1], n));
    p = len[1] + n + 2;
  }
  return argv;
}
