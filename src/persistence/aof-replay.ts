// Replaying an AOF file's commands at load (Redis's loadSingleAppendOnlyFile), for aof.ts.
//
// The file is RESP already, the bytes a client would send: runs of its commands go to the
// kernel straight from the file (Shard.runUnchecked, one call for up to RUN_MAX commands, as
// a replica applies its master's stream), and only the commands the kernel hands back (the
// host's: SELECT, MULTI/EXEC, lists, scripts...) are cut into arguments and run by
// execCommand. Before, every command was cut into Buffers up front, then encoded again by
// execCommand for the kernel: ~5 us of CPU a command against Redis's ~1 us (1M SET, INCR,
// RPUSH and HSET), most of it that cutting, its garbage and the per-command bookkeeping.
//
// As Redis's fake AOF client: no key counts as expired while loading (the kernel runs at
// time 0), nothing replayed is propagated (effects.replaying), MULTI/EXEC only frame what
// follows. A command goes alone (the old path) whenever something must see each one:
// key-load-delay (a delay per command), MONITOR, blocked clients, renamed kernel commands,
// the CRDT hand-back of active-active groups.
import type { Socket } from "node:net";
import type { Server } from "../server/server.js";
import { Client } from "../server/client.js";
import { STATUS_DONE, STATUS_HOST, STATUS_YIELD } from "../server/shard.js";
import { scriptPaused, afterScript } from "../commands/scripting.js";
import type { LoadStep } from "./aof.js";
import type { CrdtLineReader } from "./aof-crdt.js";

export class AofFormatError extends Error {}

const BAD_FORMAT = "Bad file format reading the append only file";

/**
 * The command measure() last read: argument i at [argPos[2i], argPos[2i] + argPos[2i+1]) of
 * its buffer, argCount of them. One shared table, not an object per command.
 */
let argPos = new Int32Array(64);
let argCount = 0;

/** Where the line starting at buf[from] ends (its CR), -1 when incomplete; a CR without LF is an error. */
function lineEnd(buf: Buffer, from: number): number {
  let nl = -1;
  const scan = Math.min(buf.length, from + 24); // count lines are short: no call into C++ for them
  for (let i = from; i < scan; i++) if (buf[i] === 0x0d) { nl = i; break; }
  if (nl < 0 && scan < buf.length) nl = buf.indexOf(0x0d, scan);
  if (nl < 0 || nl + 1 >= buf.length) return -1;
  if (buf[nl + 1] !== 0x0a) throw new AofFormatError(BAD_FORMAT);
  return nl;
}

/** The number written in buf[from, to) as Number() reads it; plain digits without a string. */
function countAt(buf: Buffer, from: number, to: number): number {
  if (to === from || to - from > 15) return Number(buf.toString("latin1", from, to));
  let v = 0;
  for (let i = from; i < to; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return Number(buf.toString("latin1", from, to));
    v = v * 10 + d;
  }
  return v;
}

/**
 * The multibulk command at buf[from] (a '*'): where it ends, -1 when the file ends inside it;
 * its arguments in argPos/argCount. A malformed one is an AofFormatError.
 */
function measure(buf: Buffer, from: number): number {
  let e = lineEnd(buf, from + 1);
  if (e < 0) return -1;
  const argc = countAt(buf, from + 1, e);
  if (!Number.isInteger(argc) || argc < 1) throw new AofFormatError(BAD_FORMAT);
  let pos = e + 2;
  for (let i = 0; i < argc; i++) {
    if (pos >= buf.length) return -1;
    if (buf[pos] !== 0x24) throw new AofFormatError(BAD_FORMAT);
    e = lineEnd(buf, pos + 1);
    if (e < 0) return -1;
    const n = countAt(buf, pos + 1, e);
    if (!Number.isInteger(n) || n < 0) throw new AofFormatError(BAD_FORMAT);
    if (e + 2 + n + 2 > buf.length) return -1;
    // Grown as arguments come: a corrupt count may be huge.
    if (2 * i + 2 > argPos.length) { const a = new Int32Array(argPos.length * 2); a.set(argPos); argPos = a; }
    argPos[2 * i] = e + 2;
    argPos[2 * i + 1] = n;
    pos = e + 2 + n + 2;
  }
  argCount = argc;
  return pos;
}

/** Is the measured command's name `word` (lowercase), in any case? */
function named(buf: Buffer, word: string): boolean {
  const at = argPos[0];
  if (argPos[1] !== word.length) return false;
  for (let i = 0; i < word.length; i++) if ((buf[at + i] | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

/**
 * Checks the commands of buf from `start` without running them: `validLen` is where the last
 * complete command ends (before an unclosed MULTI, whose commands must not be half-applied),
 * `truncated` whether anything is left after it. Annotations ("#TS:...") are skipped.
 */
export function scanAof(buf: Buffer, start: number): { validLen: number; truncated: boolean } {
  let pos = start;
  let validLen = start;
  let multiStart = -1;
  while (pos < buf.length) {
    const cmdStart = pos;
    if (buf[pos] === 0x23) {
      const e = lineEnd(buf, pos);
      if (e < 0) break;
      pos = e + 2;
      if (multiStart < 0) validLen = pos;
      continue;
    }
    if (buf[pos] !== 0x2a) throw new AofFormatError(`${BAD_FORMAT} at offset ${pos - start}`);
    const end = measure(buf, pos);
    if (end < 0) break;
    pos = end;
    if (named(buf, "multi")) multiStart = cmdStart;
    else if (named(buf, "exec")) multiStart = -1;
    if (multiStart < 0) validLen = pos;
  }
  return { validLen, truncated: pos < buf.length || multiStart >= 0 };
}

/** Most commands one kernel call of the replay takes (and one load step covers). */
const RUN_MAX = 1024;
/** runFrom's result: where each command of the run starts, then where the run ends. */
const runStarts = new Int32Array(RUN_MAX + 1);

/** The run of commands from buf[pos] up to `end` or an annotation; their count (runStarts). */
function runFrom(buf: Buffer, pos: number, end: number): number {
  let n = 0;
  while (n < RUN_MAX && pos < end && buf[pos] === 0x2a) {
    runStarts[n++] = pos;
    pos = measure(buf, pos);
  }
  runStarts[n] = pos;
  return n;
}

/** Replays the checked commands of one file (scanAof's [from, validLen)) into the server. */
export class AofReplay {
  /** Commands run (MULTI, EXEC and SELECT not counted), for the load's log line. */
  commands = 0;
  private readonly client: Client;

  /** @param crdt reads active-active's annotation lines (aof-crdt.ts; the start-up load of a replicating node) */
  constructor(private readonly server: Server, private readonly file: string, private readonly crdt?: CrdtLineReader) {
    // Replies go nowhere; a script that pauses (busy-reply-threshold) writes its reply and
    // resumes this client later, so the socket must take writes.
    const sink = { remoteAddress: "", remotePort: 0, writableLength: 0, write: () => true, destroy: () => {} } as unknown as Socket;
    this.client = new Client(server, sink);
    this.client.name = "aof-loader";
    this.client.replaysAof = true;
  }

  /** Runs buf[from, end), yielding the offset reached after each run or command. */
  *run(buf: Buffer, from: number, end: number): Generator<LoadStep, void> {
    let pos = from;
    while (pos < end) {
      if (buf[pos] === 0x23) { // an annotation
        const e = lineEnd(buf, pos);
        this.crdt?.line(buf, pos, e);
        pos = e + 2;
        continue;
      }
      const count = this.oneAtATime() ? 0 : runFrom(buf, pos, end);
      const ran = count < 2 ? 0 : this.replaying(() => this.kernelRun(buf, count));
      pos = ran > 0 ? (ran < count ? runStarts[ran] : runStarts[count]) : this.one(buf, pos);
      // A script that ran past busy-reply-threshold goes on in later ticks: the next command
      // waits for it (the load's driver awaits this, serving -LOADING meanwhile).
      if (scriptPaused(this.server)) yield new Promise<void>((res) => afterScript(this.server, res));
      yield pos;
    }
  }

  /**
   * Whether each command must go alone: what it did must be seen per command (a
   * key-load-delay wait each, MONITOR, clients blocked on keys), or the kernel cannot run the
   * file's bytes as they are (renamed commands, active-active's CRDT hand-back).
   */
  private oneAtATime(): boolean {
    const s = this.server;
    return s.config.getNumber("key-load-delay") > 0 || s.kernelRenamed || s.monitors.size > 0 ||
      s.blocking.count > 0 || s.shards.some((shard) => shard.handsBack);
  }

  /** As the AOF's fake client runs: time stands at 0, and nothing is propagated. */
  private replaying<T>(fn: () => T): T {
    const server = this.server;
    if (server.effects.replaying) return fn(); // a handed-back command inside a kernel run
    const realNow = server.now;
    server.now = () => 0;
    server.effects.replaying = true;
    try {
      return fn();
    } finally {
      server.now = realNow;
      server.effects.replaying = false;
    }
  }

  /**
   * The run of `count` commands at runStarts in as few kernel calls as it takes: one, unless a
   * command the kernel does not own is handed back (it runs as one() runs it, and the kernel
   * goes on after it), or with several shards a command of another shard's keys (the run goes
   * on in that shard). Returns how many commands it ran; 0 when the kernel ran none (the
   * caller runs the first alone, so the replay cannot spin).
   */
  private kernelRun(buf: Buffer, count: number): number {
    const from = runStarts[0];
    const end = runStarts[count];
    const shards = this.server.shards;
    const client = this.client;
    // The run's copy in each kernel's memory (callRaw's region is reused by handed-back commands).
    const bases = shards.map((s) => {
      const p = s.kernel.x.alloc(end - from);
      s.kernel.mem.set(buf.subarray(from, end), p);
      return p;
    });
    let si = 0;
    let ci = 0;
    try {
      while (ci < count) {
        const shard = shards[si];
        const k = shard.kernel;
        const base = bases[si];
        let reached = from;
        let follow = -1;
        shard.useProtocol(client.resp);
        const st = shard.runUnchecked(base + (runStarts[ci] - from), base + (end - from), client.db, 0, (st) => {
          // Where the kernel stopped: before a handed-back command, else after what it ran.
          reached = from + ((st === STATUS_HOST ? k.handedStart : k.consumed) - base);
          follow = st === STATUS_HOST ? k.handedShard : -1;
        });
        const first = ci;
        while (ci < count && runStarts[ci] < reached) ci++;
        this.commands += ci - first;
        if (follow >= 0 && follow !== si && ci < count && runStarts[ci] === reached) {
          si = follow; // every key of the next command is in shard `follow`
          shards[si].kernel.trustCommandAt(bases[si] + (reached - from));
          continue;
        }
        if (ci === first && st !== STATUS_HOST) break;
        if (st === STATUS_DONE || st === STATUS_YIELD) continue;
        if (st !== STATUS_HOST || ci >= count || runStarts[ci] !== reached) break;
        this.one(buf, runStarts[ci]);
        ci++;
        if (scriptPaused(this.server) || this.oneAtATime()) break;
      }
    } finally {
      for (let i = 0; i < shards.length; i++) shards[i].kernel.x.free(bases[i]);
    }
    return ci;
  }

  /** The command at buf[pos] alone, through execCommand; where it ends. */
  private one(buf: Buffer, pos: number): number {
    const end = measure(buf, pos);
    if (named(buf, "multi") || named(buf, "exec")) return end;
    // Its own copy: a host command may keep an argument (a list its elements), and a view of
    // buf would keep the whole file alive with it.
    const raw = Buffer.from(buf.subarray(pos, end));
    const argv: Buffer[] = new Array(argCount);
    for (let i = 0; i < argCount; i++) argv[i] = raw.subarray(argPos[2 * i] - pos, argPos[2 * i] - pos + argPos[2 * i + 1]);
    const name = argv[0].toString("latin1").toLowerCase();
    if (name === "select") { this.client.db = Number(argv[1].toString("latin1")); return end; }
    if (!this.server.table.lookup(name)) {
      throw new AofFormatError(`Unknown command '${argv[0].toString("latin1")}' reading the append only file ${this.file}`);
    }
    this.replaying(() => this.server.execCommand(this.client, argv, true, raw));
    this.client.reply.take();
    this.commands++;
    return end;
  }
}
