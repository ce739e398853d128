// Shard: one kernel instance plus the host's bookkeeping around it (input region,
// nested calls, freed handles, moving keys in and out). A shard owns the slots
// [slotLow, slotHigh] of the 16384; src/server/router.ts decides which shard runs what.
import { Kernel, STATUS_DONE, STATUS_HOST, STATUS_PROTO_ERROR, STATUS_YIELD } from "../kernel/kernel.js";
import { loadKernel } from "../kernel/load.js";
import { perfConfig } from "../config/perf-config.js";
import type { CommandTable, CommandSpec } from "../commands/table.js";
import { putRespCommand } from "./resp-header.js";

export { STATUS_DONE, STATUS_HOST, STATUS_PROTO_ERROR, STATUS_YIELD };

/** Kernel command flags (assembly/commands/table.ts). */
const CMD_WRITE = 1;
const CMD_ROUTE_HOST = 2;
const CMD_DENYOOM = 4;
const CMD_FAST = 8;

/** The kernel's flags for a command table row (the embedded kernel's table is generated from this too). */
export function kernelFlags(spec: CommandSpec): number {
  let flags = spec.flags.has("write") ? CMD_WRITE : 0;
  if (spec.firstKey <= 0 || spec.flags.has("movablekeys")) flags |= CMD_ROUTE_HOST;
  if (spec.flags.has("denyoom")) flags |= CMD_DENYOOM;
  if (spec.flags.has("fast")) flags |= CMD_FAST;
  return flags;
}

export class Shard {
  readonly kernel: Kernel;
  private inputPtr = 0;
  private inputCap = 0;
  private readonly sharded: boolean;
  /** The protocol (2 or 3) the kernel currently encodes replies in. */
  private protocol = 2;
  /** Whether the kernel hands every command back (setQueueing: the client is in MULTI). */
  private queueing = false;
  private unauthenticated = false;
  private recording = false;
  /**
   * Called with the kernel's effect log (assembly/effects.ts), mem[p, p + n), after each call
   * that wrote records. The log is emptied first, so the next kernel call writes over it: a
   * consumer that may call the kernel reads a copy. Records are written only while recording
   * is on.
   */
  onEffects: ((shard: Shard, mem: Uint8Array, p: number, n: number) => void) | null = null;
  /** Called with the handles of host-side values the kernel dropped. */
  onFreedHandles: (handles: number[]) => void = () => {};
  /** Called with the host values UNLINK dropped and the count of kernel values freed lazily. */
  onLazyFree: (handles: number[], kernelObjects: number) => void = () => {};

  constructor(readonly index: number, databases: number, readonly slotLow = 0, readonly slotHigh = 16383,
              shardCount = 1, seed?: number) {
    this.kernel = loadKernel({ databases, seed });
    this.sharded = shardCount > 1;
    this.kernel.x.setSlotRange(slotLow, slotHigh, shardCount);
  }

  /**
   * Binds every kernel command to its table row: arity, write flag, key positions. A
   * command without first/last/step keys (DBSIZE, KEYS, SCAN, FLUSHALL, OBJECT's parent
   * row...) or with keys found some other way (movablekeys) is the router's to place when
   * there are several shards.
   */
  bindCommands(table: CommandTable): void {
    for (const name of this.kernel.commandNames()) {
      const spec = table.find(name);
      if (!spec) throw new Error(`kernel implements ${name}, which Redis 7.0 does not have`);
      spec.kernelIndex = this.kernel.bindCommand(name, spec.arity, kernelFlags(spec), spec);
    }
  }

  /** Makes the kernel encode replies for a client speaking `resp` (HELLO 3 → RESP3). */
  useProtocol(resp: number): void {
    if (resp === this.protocol) return;
    this.kernel.x.setProtocol(resp);
    this.protocol = resp;
  }

  /** Makes the kernel hand every command back, for a client in MULTI whose commands are queued. */
  useQueueing(on: boolean): void {
    if (on === this.queueing) return;
    this.kernel.x.setQueueing(on ? 1 : 0);
    this.queueing = on;
  }

  /** Read-only replica: the kernel hands write commands back (src/repl/). */
  private readOnly = false;
  useReadOnly(on: boolean): void {
    if (on === this.readOnly) return;
    this.kernel.x.setReadOnly(on ? 1 : 0);
    this.readOnly = on;
  }

  /**
   * CRDT replication (src/replication/active-active.ts): the kernel hands back the write
   * commands whose capture reads their key back (each runs alone); the others stay in the
   * pipeline's one call.
   */
  private handBack = false;
  /** Whether the kernel hands back the writes CRDT replication captures (useHandBack). */
  get handsBack(): boolean { return this.handBack; }
  useHandBack(commandIndexes: number[]): void {
    const x = this.kernel.x;
    for (const i of commandIndexes) x.setCommandHandBack(i, 1);
    x.setHandBack(1);
    this.handBack = true;
  }

  /** Over maxmemory: the kernel hands denyoom commands back (src/server/maxmemory.ts). */
  private oom = false;
  useOom(on: boolean): void {
    if (on === this.oom) return;
    this.kernel.x.setOom(on ? 1 : 0);
    this.oom = on;
  }

  /** maxmemory: the dataset size past which the kernel hands denyoom commands back (0: none). */
  private memoryBudget = 0;
  useMemoryBudget(bytes: number): void {
    this.memoryBudget = bytes;
    this.kernel.x.setMemoryBudget(bytes);
  }
  /** Called after a call() the host made (src/server/maxmemory.ts checks the budget). */
  afterRoutedCall: (shard: Shard) => void = () => {};

  /** Makes the kernel parse with Redis's limits for a client that has not authenticated. */
  useAuthLimits(on: boolean): void {
    if (on === this.unauthenticated) return;
    this.kernel.x.setUnauthenticated(on ? 1 : 0);
    this.unauthenticated = on;
  }

  /**
   * Lets process() leave commands whose keys are all in one other shard for that shard to
   * run afterwards (assembly/cluster/deferred.ts, src/server/deferred-runs.ts).
   */
  private deferring = false;
  useDeferring(on: boolean): void {
    if (on === this.deferring) return;
    this.kernel.x.setDeferring(on ? 1 : 0);
    this.deferring = on;
  }

  /** Turns the kernel's effect log on or off (off by default: one branch on the hot path). */
  recordEffects(on: boolean): void {
    this.kernel.x.setEffectsEnabled(on ? 1 : 0);
    this.recording = on;
  }

  /** Copies bytes into the shard's input region and returns its address. */
  load(bytes: Uint8Array): number {
    if (bytes.length > this.inputCap) {
      if (this.inputPtr) this.kernel.x.free(this.inputPtr);
      this.inputCap = Math.max(bytes.length, perfConfig().buffers.inputRegion);
      this.inputPtr = this.kernel.x.alloc(this.inputCap);
    }
    this.kernel.mem.set(bytes, this.inputPtr);
    return this.inputPtr;
  }

  /**
   * Copies mem[start, end) of another shard's kernel (the hand-off block of the commands it
   * deferred to this one: src/server/deferred-runs.ts) into this kernel's hand-off region,
   * kept apart from the input region (which may hold the read being followed); returns its
   * address here.
   */
  loadHandoff(mem: Uint8Array, start: number, end: number): number {
    const n = end - start;
    if (n > this.handoffCap) {
      if (this.handoffPtr) this.kernel.x.free(this.handoffPtr);
      this.handoffCap = Math.max(n, 16 * 1024);
      this.handoffPtr = this.kernel.x.alloc(this.handoffCap);
    }
    this.kernel.mem.set(mem.subarray(start, end), this.handoffPtr);
    return this.handoffPtr;
  }
  private handoffPtr = 0;
  private handoffCap = 0;

  /** Releases host values the last kernel call dropped. */
  /** Keys the kernel created (the `new` keyspace event), while src/pubsub/notify.ts listens. */
  onNewKeys?: (shard: Shard, log: Uint8Array) => void;

  /** Hands the kernel's log of created keys to onNewKeys. */
  drainNewKeys(): void {
    if (!this.onNewKeys) return;
    const x = this.kernel.x;
    const n = x.newKeysLen();
    if (n === 0) return;
    const p = x.newKeysPtr();
    const log = this.kernel.mem.slice(p, p + n);
    x.clearNewKeys();
    this.onNewKeys(this, log);
  }

  /** `pending`: pendingWork() when the caller has it already (Kernel.run's results). */
  afterCall(pending = this.kernel.x.pendingWork()): void {
    // One kernel call when there is nothing to collect (the usual case), not one per kind.
    if (pending === 0) return;
    // Lazily freed values are judged (their free effort) before the registry drops them.
    const lazy = this.kernel.takeLazyHandles();
    const lazyKernel = this.kernel.x.takeLazyfreedObjects();
    if (lazy.length || lazyKernel) this.onLazyFree(lazy, lazyKernel);
    const freed = this.kernel.takeFreedHandles();
    if (freed.length) this.onFreedHandles(freed);
    this.drainNewKeys();
    if (!this.recording) return;
    const x = this.kernel.x;
    const n = x.effectsLen();
    if (n > 0) {
      const p = x.effectsPtr();
      x.clearEffects();
      this.onEffects?.(this, this.kernel.mem, p, n);
    }
  }

  /**
   * Runs one kernel command outside a client's input stream (MULTI/EXEC, Lua, a command the
   * router placed here) and returns its RESP reply. Uses its own memory so an outer
   * process() in progress is not disturbed, and runs the command here whatever its keys:
   * the caller has routed it.
   */
  call(argv: Uint8Array[], db: number, nowMs: number): Buffer {
    return this.callRaw(encodeCommand(argv), db, nowMs);
  }

  /**
   * call() for the host's own work (emptyData's FLUSHALL): the data changes and the effect
   * reaches the host's watchers, but no call or change is counted (assembly/index.ts
   * setInternalCall).
   */
  callInternal(argv: Uint8Array[], db: number, nowMs: number): Buffer {
    const x = this.kernel.x;
    x.setInternalCall(1);
    try {
      return this.call(argv, db, nowMs);
    } finally {
      x.setInternalCall(0);
    }
  }

  // callRaw's request region, kept between calls (cheaper than alloc/free per call). Safe
  // because a call never nests inside another's process() (kernel host hooks do not call
  // back into the kernel), and calls made from afterCall() start after the request is used.
  private callPtr = 0;
  private callCap = 0;

  /** Error replies the last callRaw/tryCallRaw counted (the kernel's errorstats), 0 for none. */
  nestedErrors = 0;

  /**
   * call() for a request already in RESP (a command forwarded as the client sent it): req's
   * first `len` bytes (a script's reused request array is longer than its request).
   */
  callRaw(req: Uint8Array, db: number, nowMs: number, replyToClient = false, len = req.length): Buffer {
    return this.runRaw(req, db, nowMs, replyToClient, false, len)!;
  }

  /**
   * callRaw for a command the host also runs (ZADD, SADD...: assembly/commands/context.ts
   * declineToHost): null, with nothing replied or changed, when the kernel declines it.
   */
  tryCallRaw(req: Uint8Array, db: number, nowMs: number, replyToClient = false, len = req.length): Buffer | null {
    return this.runRaw(req, db, nowMs, replyToClient, true, len);
  }

  private runRaw(req: Uint8Array, db: number, nowMs: number, replyToClient: boolean, declinable: boolean, len: number): Buffer | null {
    const kernel = this.kernel;
    const x = kernel.x;
    // The reply goes to a client's output as it is: a huge one may stop at its output limit (src/server/reply-limit.ts).
    if (replyToClient) x.setNestedReplyCut(1);
    // A nested call runs the command now, even while a client in MULTI is being processed.
    this.useQueueing(false);
    this.useAuthLimits(false);
    if (len > this.callCap) {
      if (this.callPtr) x.free(this.callPtr);
      this.callCap = Math.max(len, 4096);
      this.callPtr = x.alloc(this.callCap);
    }
    const p = this.callPtr;
    // The caller (the master's stream, EXEC, a routed call) has passed the host's checks.
    const checks = this.readOnly || this.handBack || this.oom || this.memoryBudget !== 0;
    if (checks) this.clientChecks(false);
    let st: number;
    copyIn(kernel.mem, req, len, p);
    try {
      // Routed here already (several shards, or cluster mode's slot checks done by the host),
      // and the caller may be between a client's process() and its reading of the results
      // (an effect consumer in afterCall, a handed-back command): the kernel turns routing
      // off and keeps those results around the call (assembly/index.ts processNested).
      st = kernel.runNested(p, p + len, db, nowMs);
    } catch (e) {
      x.unwindNested();
      this.endNested(replyToClient, checks, 1);
      throw e;
    }
    // Read before endNested: an effect consumer there may make a nested call of its own.
    this.nestedErrors = kernel.nestedErrors();
    let out: Buffer | null = null;
    if (st !== STATUS_HOST) out = kernel.nestedOutputCopy();
    const pending = kernel.nestedPending();
    this.endNested(replyToClient, checks, pending);
    if (st === STATUS_HOST && !declinable) throw new Error("Shard.call used for a command the kernel does not own");
    return out;
  }

  /** runRaw's end: what it turned off on again, a big request region freed, the call's work collected. */
  private endNested(replyToClient: boolean, checks: boolean, pending: number): void {
    if (replyToClient) this.kernel.x.setNestedReplyCut(0);
    if (checks) this.clientChecks(true);
    // A big request's region is not kept.
    if (this.callCap > CALL_REGION_KEEP) {
      this.kernel.x.free(this.callPtr);
      this.callPtr = this.callCap = 0;
    }
    this.afterCall(pending);
    if (this.memoryBudget) this.afterRoutedCall(this);
  }


  /**
   * The kernel's per-client checks this server has on (read-only replica, CRDT hand-back, OOM,
   * memory budget), off for a call whose caller has passed them already (callRaw,
   * runUnchecked), then back on.
   */
  private clientChecks(on: boolean): void {
    const x = this.kernel.x;
    const v = on ? 1 : 0;
    if (this.readOnly) x.setReadOnly(v);
    if (this.handBack) x.setHandBack(v);
    if (this.oom) x.setOom(v);
    if (this.memoryBudget) x.setMemoryBudget(on ? this.memoryBudget : 0);
  }

  /**
   * Runs the commands at [start, end) of this kernel's memory in one call, as a client's read
   * is run, but with the checks a client's commands get (read-only replica, OOM and memory
   * budget, routing, MULTI queueing, auth limits, CRDT hand-back) off and the caller's call
   * results kept, as callRaw has them: for commands that passed those checks on another
   * server, a replica's run of its master's stream (src/repl/replica-link.ts), one call for
   * many commands instead of a callRaw each. Stops at a command the kernel does not own
   * (STATUS_HOST). `ran` reads the kernel's run() results before afterCall. With several
   * shards the kernel still routes: a command of another shard's keys is handed back for it.
   */
  runUnchecked(start: number, end: number, db: number, nowMs: number, ran: (st: number) => void): number {
    const x = this.kernel.x;
    this.useQueueing(false);
    this.useAuthLimits(false);
    this.useDeferring(false);
    if (!this.sharded) x.setRouting(0);
    this.clientChecks(false);
    const saved = x.saveCallResults();
    let st = STATUS_DONE;
    try {
      st = this.kernel.run(start, end, db, nowMs);
      ran(st);
    } finally {
      x.setRouting(1);
      this.clientChecks(true);
      x.restoreCallResults(saved);
      this.afterCall(this.kernel.pending);
      if (this.memoryBudget) this.afterRoutedCall(this);
    }
    return st;
  }

  /**
   * Takes a key's entry out of this shard (or copies it, remove=false) as an opaque blob
   * for migrateIn on another shard; null when the key does not exist.
   */
  migrateOut(db: number, key: Uint8Array, remove: boolean): Uint8Array | null {
    const x = this.kernel.x;
    const p = x.alloc(key.length);
    try {
      this.kernel.mem.set(key, p);
      const n = x.migrateOut(db, p, key.length, remove ? 1 : 0);
      if (n < 0) return null;
      const b = x.migrateBlobPtr();
      return this.kernel.mem.slice(b, b + n);
    } finally {
      x.free(p);
      this.afterCall();
    }
  }

  /**
   * Creates or replaces a key from a migrateOut blob; `temp`: in the temp set of a swapdb
   * diskless load (tempDbs), not the live one.
   */
  migrateIn(db: number, key: Uint8Array, blob: Uint8Array, temp = false): void {
    const p = this.kernel.x.alloc(key.length + blob.length);
    const mem = this.kernel.mem;
    mem.set(key, p);
    mem.set(blob, p + key.length);
    this.migrateInAt(db, p, key.length, blob.length, temp);
  }

  /**
   * migrateIn of a key and blob the caller wrote at p (from x.alloc: freed here), so an RDB
   * load (persistence/keyspace-io.ts storeKey) builds each entry in place, without JS buffers.
   */
  migrateInAt(db: number, p: number, keyLen: number, blobLen: number, temp = false): void {
    const x = this.kernel.x;
    try {
      if (temp) x.migrateInTemp(db, p, keyLen, p + keyLen, blobLen);
      else x.migrateIn(db, p, keyLen, p + keyLen, blobLen);
    } finally {
      x.free(p);
      this.afterCall();
    }
  }

  /**
   * repl-diskless-load swapdb's second set of dbs (assembly/keyspace/keyspace.ts): create it,
   * swap it with the live one (O(1)), or discard it (its values freed).
   */
  tempDbs(op: "create" | "swap" | "discard"): void {
    const x = this.kernel.x;
    try {
      if (op === "create") x.tempDbsCreate();
      else if (op === "swap") x.tempDbsSwap();
      else x.tempDbsDiscard();
    } finally {
      this.afterCall();
    }
  }
}

/** callRaw keeps its request region between calls up to this size. */
const CALL_REGION_KEEP = 64 * 1024;

/** RESP multibulk encoding of an argv. */
export function encodeCommand(argv: Uint8Array[]): Uint8Array {
  // Byte by byte into a pooled Buffer: every command a script, EXEC or the router runs in the
  // kernel passes here, and a fresh Uint8Array of more than 64 bytes (an ArrayBuffer outside
  // V8's heap) cost ~0.9 µs, more than the command itself; the TextEncoder headers as much again.
  let size = 16;
  for (const a of argv) size += a.length + 16;
  const out = Buffer.allocUnsafe(size);
  return out.subarray(0, putRespCommand(out, 0, argv));
}

/**
 * Copies req's first n bytes to mem at p, for a nested call: a short request (a script's
 * redis.call, an EXEC'd command) byte by byte, which costs less here than TypedArray.set's
 * call for a few dozen bytes (a profile of a redis.call loop showed the set at ~4%).
 */
function copyIn(mem: Uint8Array, req: Uint8Array, n: number, p: number): void {
  if (n > 64) {
    mem.set(n === req.length ? req : req.subarray(0, n), p);
    return;
  }
  for (let i = 0; i < n; i++) mem[p + i] = req[i];
}
