// Deferred runs: the replies of one socket read whose commands spread over several shards,
// put back in order.
//
// With several shards the parsing shard's kernel may leave a command whose keys all live in
// one other shard for that shard to run (assembly/cluster/deferred.ts): it records the
// command and where its reply belongs in the output, copies the command, already parsed,
// into a hand-off block for that shard, and goes on with the read. Before anything else is
// sent or run (the kernel call's end, a host command, a yield), Client.processRange calls
// flushDeferred: every other shard with recorded commands gets its block (one copy) and runs
// it in one processList() call, and the replies go into the client's output in the order the
// commands came: the parsing shard's up to the first record, that record's reply from its
// shard, and so on. A read of 16 commands on random keys costs one call per shard instead of
// one per switch of shard.
//
// The read of 16 GETs on random keys with 4 shards, step by step (perf record -F 2000 of
// bench/read-loop.mjs --shards 4 --test get, samples under Client.onData by the JS frame
// that made them; 2026-11-28, load 1-3; that read cost 0.43 µs of CPU per command in-process,
// 1 shard 0.21):
//   1. onData: the read copied into the parsing shard's input region            6%
//   2. processRange: client state, clocks, the parsing call's statistics        8%
//   3. process() in the parsing shard: parse and look up all 16 commands,      26%
//      hash every key to its slot (crc16, ~9% of the read), run its own ~4,
//      record the ~12 others
//   4. flush (this file): before the hand-off blocks, the read was copied      21%
//      into each other shard from its first command on and a list of request
//      addresses written there; then the replies joined in order (~8% of the
//      read: the join's copies alone, measured by leaving them out)
//   5. runList, once per other shard: clock, statistics, afterCall             10%
//   6. processList() in each other shard: before the hand-off blocks, every    27%
//      command parsed and looked up again (~5%), then run (their dict lookups
//      cost more per key than the parsing shard's: four memories in the cache)
// The same read with 1 shard spent ~38% as many samples (process() alone ~28%). With the
// hand-off blocks, step 6 fell by ~10-30% and step 4 by ~15-20% (step 3 pays ~2% for the
// copies into the blocks); in-process CPU per command SET -4%, GET -0 to -5% (load 5-12).
// No step above is more than about a quarter: what is left is the cost of four instances
// (four calls, four memories, a join) rather than of any one piece of code.
//
// Running another shard's commands after the parsing shard's own is invisible while nothing
// watches the order in which keys change (the caller allows deferring only then: no effect
// consumer such as AOF, replication, keyspace events or WATCH, no blocked client, no
// per-command checks; deferAllowed below): each command touches only its own shard's keys,
// and each shard runs its commands in their order. A command the other shard hands back
// (a declined ZADD on a value the host holds, maxmemory) is run by the host at its place in
// the replies, once every reply before it is written; the replies after it that are still
// in kernel memory are copied out first (the host command may call those kernels).
import { performance } from "node:perf_hooks";
import { Buffer } from "node:buffer";
import type { Client } from "./client.js";
import type { Shard } from "./shard.js";
import type { Server } from "./server.js";
import { STATUS_HOST, STATUS_YIELD } from "./shard.js";
import { recordKernelRun } from "../commands/stats.js";
import { logSlowKernelCommands } from "./command-timing.js";
import { handedBackArgv } from "./handed-argv.js";
import type { CommandSpec } from "../commands/table.js";
import { batchCommit, batchRoom, batchUsed } from "./reply-batch.js";

/** Words of a log record and of a list entry (assembly/cluster/deferred.ts DEFER_RECORD, LIST_ENTRY). */
const RECORD_WORDS = 5;
const ENTRY_WORDS = 3;
/** Words per shard of the hand-off block table (assembly/cluster/deferred.ts HANDOFF_WORDS). */
const HANDOFF_WORDS = 4;
/** The kernel's DEFER_CAP. */
const CAP = 1024;

/** What flushDeferred needs of the client (Client implements it). */
export interface DeferredClient {
  readonly server: Server;
  readonly resp: number;
  readonly closed: boolean;
  lastCommand: string;
  /** write() of kernel output mem[ptr, ptr + len). */
  writeKernelOutput(mem: Uint8Array, ptr: number, len: number): void;
  /** Whether writeKernelOutput appends to the open batch as it is (Client.batchesReplies). */
  readonly batchesReplies: boolean;
  /**
   * Runs a command a shard handed back from its list, as a host command of the read (the
   * lane or dispatch), and sends its reply; returns the lane's closing clock or -1.
   */
  runDeferredHostCommand(argv: Buffer[], now: number, perfNow: number): number;
}

/**
 * Whether `client`'s next kernel call may defer commands: the read's bytes are at hand
 * (several shards, not a big command assembled in a region), the client's commands need no
 * per-command checks (host-lane.ts plainState, which covers MULTI, tracking, MONITOR, ACL,
 * pause, maxmemory...), nothing consumes effects and nobody is blocked on keys.
 */
export function deferAllowed(server: Server, plain: boolean): boolean {
  return plain && !server.effects.listening && server.blocking.count === 0;
}

/**
 * The shard of the read's last command when `home`'s last kernel run left it to another shard
 * (deferredCount > 0), else -1. A read whose commands all go to one other shard (every
 * pipeline of a one-key benchmark, a client working on one hash tag) would otherwise be
 * parsed by its home shard and copied to the owner on every read: the client moves there
 * instead, as a read that follows its keys ends in the shard of its last command. Read it
 * before flushDeferred, while home's results are the last run's.
 */
export function lastCommandShard(home: Shard): number {
  const hk = home.kernel;
  const n = hk.deferredCount;
  if (n === 0) return -1;
  const w = hk.words();
  const r = hk.deferLogAt + (n - 1) * RECORD_WORDS;
  // The count of commands home had run when the last record was met: none after it.
  return hk.ranCount <= w[r + 4] ? w[r] : -1;
}

/** Per-call scratch, reused (a flush never runs inside another: see `busy`). */
class Flush {
  busy = false;
  /** Per record: its index in its shard's list. */
  readonly entryOf = new Int32Array(CAP);
  /** Per shard index. */
  count: Int32Array = new Int32Array(0);
  /** Where the shard's hand-off block was copied in its memory. */
  block: Float64Array = new Float64Array(0);
  /** The shard's memory as words, and its list's first word. */
  words: Uint32Array[] = [];
  listAt: Float64Array = new Float64Array(0);
  /** The run in progress: entries run (index of the first not run), status, output in mem[base + x]. */
  done: Int32Array = new Int32Array(0);
  status: Int32Array = new Int32Array(0);
  mem: Uint8Array[] = [];
  base: Float64Array = new Float64Array(0);
  /** Output offset of the run written so far, and the run's output length. */
  pos: Float64Array = new Float64Array(0);
  outLen: Float64Array = new Float64Array(0);
  copied: Uint8Array = new Uint8Array(0);
  argv: (Buffer[] | null)[] = [];
  lastSpec: (CommandSpec | undefined)[] = [];

  size(n: number): void {
    if (this.count.length === n) return;
    this.count = new Int32Array(n);
    this.block = new Float64Array(n);
    this.words = new Array(n).fill(EMPTY_WORDS);
    this.listAt = new Float64Array(n);
    this.done = new Int32Array(n);
    this.status = new Int32Array(n);
    this.base = new Float64Array(n);
    this.pos = new Float64Array(n);
    this.outLen = new Float64Array(n);
    this.copied = new Uint8Array(n);
    this.mem = new Array(n).fill(EMPTY);
    this.argv = new Array(n).fill(null);
    this.lastSpec = new Array(n).fill(undefined);
  }
}

const EMPTY = new Uint8Array(0);
const EMPTY_WORDS = new Uint32Array(0);
let shared = new Flush();

/**
 * Sends the output of `home`'s last kernel run (Kernel.run, with deferredCount > 0) with
 * the deferred commands run and their replies in place (each other shard runs the hand-off
 * block home made for it). Returns the performance.now() that the next kernel run's time
 * starts from (t0 in, as Client.processRange keeps it).
 */
export function flushDeferred(client: DeferredClient, home: Shard, db: number, now: number, t0: number): number {
  let f = shared;
  if (f.busy) f = new Flush(); // not expected: a host command does not run another client's input
  f.busy = true;
  try {
    return flush(f, client, home, db, now, t0);
  } finally {
    f.busy = false;
    // No kernel memory view or argv kept past the read (loops: fill() is a runtime call).
    for (let s = 0; s < f.count.length; s++) {
      if (f.count[s] === 0) continue;
      f.mem[s] = EMPTY;
      f.argv[s] = null;
      f.lastSpec[s] = undefined;
      f.words[s] = EMPTY_WORDS;
    }
  }
}

function flush(f: Flush, client: DeferredClient, home: Shard, db: number, now: number, t0: number): number {
  const server = client.server;
  const shards = server.router.shards;
  const hk = home.kernel;
  const n = hk.deferredCount;
  const homeRan = hk.ranCount;
  f.size(shards.length);
  const count = f.count;
  for (let s = 0; s < count.length; s++) count[s] = 0;

  // Each record's place in its shard's list.
  let w = hk.words();
  const logAt = hk.deferLogAt;
  for (let i = 0, r = logAt; i < n; i++, r += RECORD_WORDS) f.entryOf[i] = count[w[r]]++;
  // Each shard's hand-off block (its commands, parsed) into that shard, in one copy.
  const homeMem = hk.mem;
  const table = hk.handoffAt;
  for (let s = 0; s < shards.length; s++) {
    if (count[s] === 0) continue;
    const t = table + s * HANDOFF_WORDS;
    f.block[s] = shards[s].loadHandoff(homeMem, w[t], w[t] + w[t + 2]);
    f.listAt[s] = shards[s].kernel.deferListAt;
  }
  for (let s = 0; s < shards.length; s++) {
    if (count[s] > 0) t0 = runList(f, client, shards[s], 0, db, now, t0);
  }

  // The usual case: every list ran to its end, and the replies go as they are into the read's
  // batch: joined straight into its scratch area, with no call and no checks per reply (the
  // join by writeKernelOutput calls, two a record, was the biggest cost of a split read that
  // 1 shard does not have: ~9% of GET of random keys at -P 16 with 4 shards, in-process).
  if (client.batchesReplies) {
    let total = hk.outLen;
    let all = true;
    for (let s = 0; s < shards.length && all; s++) {
      if (count[s] === 0) continue;
      all = f.done[s] === count[s];
      total += f.outLen[s];
    }
    const dst = all ? batchRoom(total) : null;
    if (dst !== null) {
      batchCommit(joinInto(f, dst, batchUsed(), home, n));
      server.stats.netOutputBytes += total;
      const r = logAt + (n - 1) * RECORD_WORDS;
      w = hk.words();
      // CLIENT LIST cmd=, as below.
      if (homeRan <= w[r + 4]) {
        const spec = f.lastSpec[w[r]];
        if (spec !== undefined) client.lastCommand = spec.name;
      }
      return t0;
    }
  }

  // The replies in order.
  const homeBase = hk.outPtr;
  const homeEnd = hk.outLen;
  let homeSrc = homeMem;
  let homeOff = homeBase;
  let cursor = 0;
  let lastOwner = -1;
  w = hk.words();
  for (let i = 0, r = logAt; i < n; i++, r += RECORD_WORDS) {
    const s = w[r];
    const gap = w[r + 3];
    if (gap > cursor) {
      client.writeKernelOutput(homeSrc, homeOff + cursor, gap - cursor);
      cursor = gap;
    }
    const j = f.entryOf[i];
    const shard = shards[s];
    lastOwner = s;
    if (j >= f.done[s] && f.status[s] === STATUS_YIELD) {
      t0 = runList(f, client, shard, j, db, now, t0);
    }
    if (j >= f.done[s]) {
      // Handed back (STATUS_HOST at entry j): the host runs it here, in order. What is still
      // in kernel memory is copied first: the host command may call those kernels.
      if (homeSrc === homeMem && cursor < homeEnd) {
        homeSrc = Buffer.from(homeMem.subarray(homeBase + cursor, homeBase + homeEnd));
        homeOff = -cursor;
      }
      for (let t = 0; t < shards.length; t++) {
        if (f.count[t] > 0 && !f.copied[t] && f.pos[t] < f.outLen[t]) {
          f.mem[t] = Buffer.from(f.mem[t].subarray(f.base[t] + f.pos[t], f.base[t] + f.outLen[t]));
          f.base[t] = -f.pos[t];
          f.copied[t] = 1;
        }
      }
      const argv = f.argv[s]!;
      f.argv[s] = null;
      const laneEnd = client.runDeferredHostCommand(argv, now, t0);
      if (laneEnd >= 0) t0 = laneEnd;
      else t0 = performance.now();
      f.lastSpec[s] = undefined; // the host named its own command
      if (j + 1 < count[s]) t0 = runList(f, client, shard, j + 1, db, now, t0);
      else f.done[s] = count[s];
      // The host command may have grown memories: views again.
      w = hk.words();
      for (let t = 0; t < shards.length; t++) if (count[t] > 0) f.words[t] = shards[t].kernel.words();
      continue;
    }
    const end = f.words[s][f.listAt[s] + j * ENTRY_WORDS + 2];
    const start = f.pos[s];
    if (end > start) client.writeKernelOutput(f.mem[s], f.base[s] + start, end - start);
    f.pos[s] = end;
  }
  if (homeEnd > cursor) client.writeKernelOutput(homeSrc, homeOff + cursor, homeEnd - cursor);
  // CLIENT LIST cmd=: the read's last command, unless the parsing shard ran one after the last record.
  const lastRecordRan = w[logAt + (n - 1) * RECORD_WORDS + 4];
  if (homeRan <= lastRecordRan && lastOwner >= 0) {
    const spec = f.lastSpec[lastOwner];
    if (spec !== undefined) client.lastCommand = spec.name;
  }
  return t0;
}

/**
 * Writes the replies of home's last run and of every shard's list, in the order of the read's
 * commands, into dst from o on (room checked by the caller); returns where they end. Every
 * list ran to its end (no command handed back).
 */
function joinInto(f: Flush, dst: Uint8Array, o: number, home: Shard, n: number): number {
  const hk = home.kernel;
  const homeMem = hk.mem;
  const homeBase = hk.outPtr;
  const w = hk.words();
  let cursor = 0;
  for (let i = 0, r = hk.deferLogAt; i < n; i++, r += RECORD_WORDS) {
    const s = w[r];
    const gap = w[r + 3];
    if (gap > cursor) {
      o = copyRange(dst, o, homeMem, homeBase + cursor, homeBase + gap);
      cursor = gap;
    }
    const end = f.words[s][f.listAt[s] + f.entryOf[i] * ENTRY_WORDS + 2];
    const start = f.pos[s];
    if (end > start) o = copyRange(dst, o, f.mem[s], f.base[s] + start, f.base[s] + end);
    f.pos[s] = end;
  }
  const homeEnd = hk.outLen;
  if (homeEnd > cursor) o = copyRange(dst, o, homeMem, homeBase + cursor, homeBase + homeEnd);
  return o;
}

/**
 * Copies src[from, to) into dst at o; returns o past it. A short range by hand: a view and
 * set() cost more than the loop below ~64 bytes (reply-batch.ts SHORT_COPY).
 */
function copyRange(dst: Uint8Array, o: number, src: Uint8Array, from: number, to: number): number {
  if (to - from > 64) {
    dst.set(src.subarray(from, to), o);
    return o + to - from;
  }
  for (let i = from; i < to; i++) dst[o++] = src[i];
  return o;
}

/** Runs entries [first, count) of shard's list; records where its output is. Returns the new t0. */
function runList(f: Flush, client: DeferredClient, shard: Shard, first: number, db: number, now: number, t0: number): number {
  const server = client.server;
  const s = shard.index;
  const k = shard.kernel;
  shard.useProtocol(client.resp);
  shard.useQueueing(false);
  shard.useAuthLimits(false);
  const st = k.runList(f.block[s], first, f.count[s], db, now);
  f.done[s] = k.consumed;
  f.status[s] = st;
  f.mem[s] = k.mem;
  f.base[s] = k.outPtr;
  f.pos[s] = 0;
  f.outLen[s] = k.outLen;
  f.copied[s] = 0;
  f.words[s] = k.words();
  // Copied now: other kernels run before the host reaches it.
  if (st === STATUS_HOST) f.argv[s] = handedBackArgv(k);
  if (k.ranCount > 0 || k.slowCount > 0) {
    const t1 = performance.now();
    const ms = t1 - t0;
    t0 = t1;
    const last = recordKernelRun(server, k, k.mem, ms);
    if (last !== undefined) f.lastSpec[s] = last;
    logSlowKernelCommands(server, client as unknown as Client, k, k.lastRanStart, k.lastRanEnd, ms);
  }
  shard.afterCall(k.pending);
  server.blocking.afterCommand();
  return t0;
}

