// Kernel: a thin typed wrapper over one WebAssembly kernel instance (one shard).
// Browser-safe on purpose: no node:* imports and no Buffer, so the same file loads in a
// worker or a page (issue: embedding). See assembly/index.ts for the call protocol.

import { formatDouble } from "./format-double.js";

export const STATUS_DONE = 0;
export const STATUS_HOST = 1;
export const STATUS_PROTO_ERROR = 2;
export const STATUS_YIELD = 3;

export interface KernelExports {
  memory: WebAssembly.Memory;
  init(databases: number, seed: number): void;
  alloc(size: number): number;
  realloc(ptr: number, size: number): number;
  free(ptr: number): void;
  process(start: number, end: number, db: number, nowMs: number): number;
  /** Runs entries [first, count) of the deferred-command list (assembly/cluster/deferred.ts). */
  processList(block: number, first: number, count: number, db: number, nowMs: number): number;
  /** process() may record commands whose keys are all in one other shard instead of stopping there. */
  setDeferring(on: number): void;
  /** The deferred-command log process() writes, and the list processList() reads. */
  deferLogPtr(): number;
  deferListPtr(): number;
  /** Per shard, where the hand-off block of the commands deferred to it is (assembly/cluster/deferred.ts). */
  handoffTablePtr(): number;
  consumedPos(): number;
  commandStart(): number;
  handedForRouting(): number;
  /** With STATUS_HOST for routing: the one shard owning every key of the command, or -1. */
  handedShard(): number;
  /** Where process() leaves its results for Kernel.run (assembly/index.ts publishCallResults). */
  callResultsPtr(): number;
  /** Bits of what Shard.afterCall has to collect (0: nothing). */
  pendingWork(): number;
  needBytes(): number;
  outputPtr(): number;
  outputLen(): number;
  argc(): number;
  argvPtr(): number;
  setProtoMaxBulkLen(n: number): void;
  setUnauthenticated(on: number): void;
  savePartial(start: number): number;
  resumePartial(block: number): void;
  dropPartial(block: number): void;
  /** Sets aside the last process() call's results around a nested call (Shard.callRaw); 1 if it did. */
  saveCallResults(): number;
  restoreCallResults(saved: number): void;
  /** A nested call in one entry: routing off, results set aside, process(), both put back (Shard.callRaw). */
  processNested(start: number, end: number, db: number, nowMs: number): number;
  /** After a trap in processNested: its set-aside results and routing put back. */
  unwindNested(): void;
  /** The client's protocol (2 or 3, from HELLO) for the replies of the next process() calls. */
  setProtocol(v: number): void;
  /** CONFIG SET hash-max-listpack-entries / hash-max-listpack-value. */
  setHashListpackLimits(entries: number, value: number): void;
  setListLimits(fill: number, depth: number): void;
  setZsetListpackLimits(entries: number, value: number): void;
  setSetIntsetLimit(entries: number): void;
  /** CONFIG SET hll-sparse-max-bytes. */
  setHllSparseMaxBytes(n: number): void;
  commandCount(): number;
  commandNamePtr(i: number): number;
  commandNameLen(i: number): number;
  bindCommand(namePtr: number, nameLen: number, arity: number, flags: number,
              firstKey: number, lastKey: number, keyStep: number): number;
  commandCalls(i: number): number;
  commandFailedCalls(i: number): number;
  commandCallsTotal(): number;
  resetCommandStats(): void;
  commandRejectedCalls(i: number): number;
  ranCommands(): number;
  ranCommandsPtr(): number;
  /** Per-command timing (assembly/command-timing.ts): record commands of at least `ms`; negative: off. */
  setSlowCommandThreshold(ms: number): void;
  slowCommands(): number;
  slowCommandsPtr(): number;
  errorCodeCount(): number;
  errorCodeNamePtr(i: number): number;
  errorCodeNameLen(i: number): number;
  errorCodeTotal(i: number): number;
  /** Error replies counted since the kernel started (monotonic; CONFIG RESETSTAT leaves it). */
  errorRepliesEver(): number;
  resetErrorStats(): void;
  freedHandleCount(): number;
  freedHandleAt(i: number): number;
  clearFreedHandles(): void;
  setEffectsEnabled(on: number): void;
  effectsPtr(): number;
  effectsLen(): number;
  clearEffects(): void;
  /** The client is in MULTI: hand every command back for the host to queue. */
  setQueueing(on: number): void;
  /** A read-only replica: hand write commands back (the host answers -READONLY). */
  setReadOnly(on: number): void;
  /** CRDT replication: hand back the commands marked with setCommandHandBack. */
  setHandBack(on: number): void;
  setCommandHandBack(index: number, on: number): void;
  /** Over maxmemory: hand denyoom commands back (the host answers -OOM). */
  setOom(on: number): void;
  setInternalCall(on: number): void;
  /** maxmemory: hand denyoom commands back once the dataset exceeds this many bytes (0: off). */
  setMemoryBudget(bytes: number): void;
  /** Dataset bytes held by this kernel (assembly/keyspace/memory.ts). */
  memoryUsed(): number;
  /** Evicts one key by policy (src/server/maxmemory.ts POLICY_CODES): bytes freed, or -1. */
  evictOne(policy: number, samples: number, nowMs: number): number;
  resetEvictionPool(): void;
  lazyHandleCount(): number;
  lazyHandleAt(i: number): number;
  clearLazyHandles(): void;
  takeLazyfreedObjects(): number;
  setSharedIntegers(on: number): void;
  /** The lazyfree-lazy-* switches as bits (assembly/keyspace/keyspace.ts LAZY_*). */
  setLazyfreeConfig(bits: number): void;
  setClientReplyLimit(bytes: number): void;
  setNestedReplyCut(on: number): void;
  /** 0 absent, 1 live, 2 present but past its TTL (not reclaimed). */
  keyPresence(db: number, ptr: number, len: number, nowMs: number): number;
  activeExpireCycle(nowMs: number, maxSamples: number): number;
  setActiveExpire(on: number): void;
  /** CLIENT PAUSE: reads leave keys past their TTL in place (src/server/pause.ts). */
  setExpiryPaused(on: number): void;
  setReplicaExpiry(on: number): void;
  setApplyingMasterStream(on: number): void;
  replicaKeyExpire(db: number, ptr: number, len: number, nowMs: number): number;
  /** The `new` keyspace event: dbAdd logs the keys it creates (src/pubsub/notify.ts). */
  setNewKeyLogEnabled(on: number): void;
  /** Command effects say whether argv[1]/argv[2] exist after the command (assembly/effects.ts HINT_KEY*_GONE). */
  setKeyGoneHints(on: number): void;
  newKeysPtr(): number;
  newKeysLen(): number;
  clearNewKeys(): void;
  setLfuPolicy(on: number): void;
  setLfuParams(logFactor: number, decayTime: number): void;
  setKeyHandle(db: number, ptr: number, len: number, type: number, handle: number, nowMs: number): void;
  keyHandle(db: number, ptr: number, len: number, nowMs: number): number;
  keyType(db: number, ptr: number, len: number, read: number, nowMs: number): number;
  /** keyType + keyHandle in one call: the handle of a live key of `type`, 0 absent, -1 another type. */
  keyHandleOfType(db: number, ptr: number, len: number, type: number, read: number, nowMs: number): number;
  /** keyHandleOfType(OBJ_SET, read) that leaves a kernel-held set there: -2, members at keySetPeekPtr(). */
  keySetPeek(db: number, ptr: number, len: number, nowMs: number): number;
  keySetPeekPtr(): number;
  keySetPeekCount(): number;
  keySetPeekIntset(): number;
  keyDelete(db: number, ptr: number, len: number, nowMs: number): number;
  /** MEMORY USAGE: bytes of a key and its kernel-held value, or -1 when absent. */
  keyMemoryUsage(db: number, ptr: number, len: number): number;
  stringMatch(pat: number, patLen: number, str: number, strLen: number, nocase: number): number;
  dbSize(db: number): number;
  dbExpires(db: number): number;
  dbAvgTtl(db: number): number;
  dbTableSize(db: number): number;
  dbRehashTarget(db: number): number;
  /** DEBUG HTSTATS: 1 when the db's dict has table `htidx` (0 main, 1 rehash target), its numbers at dictStatsPtr(). */
  dbDictStats(db: number, htidx: number): number;
  dictStatsPtr(): number;
  /** DEBUG HTSTATS-KEY: -1 no key, 0 no dict, 1 table `htidx` at dictStatsPtr(), 2 no such table. */
  keyDictStats(db: number, ptr: number, len: number, htidx: number, nowMs: number): number;
  /** Redis's dict_can_resize: 0 enable, 1 avoid (a background child runs), 2 forbid. */
  setDictResizePolicy(policy: number): void;
  statDirty(): number;
  statKeyspaceHits(): number;
  statPrefetchedReads(): number;
  statOneKeyReads(): number;
  statKeyspaceMisses(): number;
  statExpiredKeys(): number;
  keySlot(ptr: number, len: number): number;
  setSlotRange(low: number, high: number, shards: number): void;
  setRouting(on: number): void;
  /** Cluster mode: hand back commands unless all keys are in one slot marked served. */
  setClusterMode(on: number): void;
  setSlotsServed(low: number, high: number, on: number): void;
  migrateOut(db: number, keyPtr: number, keyLen: number, remove: number): number;
  migrateIn(db: number, keyPtr: number, keyLen: number, blobPtr: number, blobLen: number): void;
  /** repl-diskless-load swapdb: a second set of dbs loaded aside and swapped in (O(1)). */
  migrateInTemp(db: number, keyPtr: number, keyLen: number, blobPtr: number, blobLen: number): void;
  /** Records `u32 keyLen, u32 blobLen, key, blob` at [ptr, end), each as migrateIn (an RDB load's batch). */
  migrateInBatch(db: number, ptr: number, end: number, temp: boolean): void;
  /** An RDB's RESIZEDB hint: room for n keys in db (or its swapdb temp twin), as Redis's dictExpand. */
  dbReserve(db: number, n: number, temp: boolean): void;
  tempDbsCreate(): void;
  tempDbsSwap(): void;
  /** Empties and drops the temp set; the keys freed. */
  tempDbsDiscard(): number;
  migrateBlobPtr(): number;
  migrateBlobLen(): number;
  /** Cluster mode, db 0: keys in a slot (assembly/cluster/slot-index.ts); -1 without the index. */
  countKeysInSlot(db: number, slot: number): number;
  /** Up to max keys of a slot, as (u32 length, bytes)* at slotKeysPtr(); how many, or -1. */
  keysInSlot(db: number, slot: number, max: number): number;
  /** Bytes of that index (MEMORY STATS' slot-to-keys); 0 outside cluster mode. */
  slotIndexBytes(): number;
  slotKeysPtr(): number;
  slotKeysLen(): number;
  /** Every live key of a db with its entry, in the staging region (assembly/persistence/snapshot.ts). */
  snapshotDb(db: number, nowMs: number): number;
  /** Background snapshot, copy-on-write per key (assembly/persistence/bgsave.ts). */
  bgsaveBegin(): void;
  /** Walks up to `budget` entries; 1 when the walk is complete. */
  bgsaveStep(budget: number): number;
  bgsaveEnd(): void;
  bgsaveOutPtr(): number;
  bgsaveOutLen(): number;
  bgsaveDrained(): void;
  /** Bytes of pre-images written because of writes since bgsaveBegin. */
  bgsaveCowBytes(): number;
}

export interface KernelOptions {
  databases?: number;
  /** Random seed for hashing and sampling; default from Math.random. */
  seed?: number;
}

const textDecoder = new TextDecoder();

export class Kernel {
  readonly x: KernelExports;
  private view: Uint8Array;

  /**
   * Calls the kernel makes into the host while a command runs (COPY and OBJECT ENCODING of
   * values the host holds). The host's type layer replaces these; they must not call back
   * into the kernel.
   */
  readonly hooks: KernelHostHooks;

  private constructor(instance: WebAssembly.Instance, opts: KernelOptions, hooks: KernelHostHooks) {
    this.hooks = hooks;
    this.x = withUnsignedResults(instance.exports) as unknown as KernelExports;
    this.view = new Uint8Array(this.x.memory.buffer);
    const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 53);
    this.x.init(opts.databases ?? 16, seed);
  }

  static async instantiate(wasm: BufferSource | WebAssembly.Module, opts: KernelOptions = {}): Promise<Kernel> {
    const module = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm);
    const hooks = defaultHooks();
    const memory = { current: null as WebAssembly.Memory | null };
    const instance = await WebAssembly.instantiate(module, kernelImports(hooks, memory));
    memory.current = instance.exports.memory as WebAssembly.Memory;
    return new Kernel(instance, opts, hooks);
  }

  static fromModule(module: WebAssembly.Module, opts: KernelOptions = {}): Kernel {
    const hooks = defaultHooks();
    const memory = { current: null as WebAssembly.Memory | null };
    const instance = new WebAssembly.Instance(module, kernelImports(hooks, memory));
    memory.current = instance.exports.memory as WebAssembly.Memory;
    return new Kernel(instance, opts, hooks);
  }

  // The results of the last run(), read from the kernel's results block (assembly/index.ts).
  /** consumedPos() */
  consumed = 0;
  /** needBytes() */
  need = 0;
  /** commandStart() */
  handedStart = 0;
  /** handedForRouting() */
  handedToRoute = false;
  /** handedShard() with STATUS_HOST for routing, else -1. */
  handedShard = -1;
  /** ranCommands() */
  ranCount = 0;
  /** slowCommands() */
  slowCount = 0;
  /** outputPtr(), outputLen() */
  outPtr = 0;
  outLen = 0;
  /** pendingWork() at the end of the call (Shard.afterCall). */
  pending = 0;
  /** Commands the call deferred to other shards (assembly/cluster/deferred.ts). */
  deferredCount = 0;
  /** The request bytes [start, end) of the last command the call ran. */
  lastRanStart = 0;
  lastRanEnd = 0;
  private results: Uint32Array | null = null;
  private resultsAt = 0;

  /** The results block as u32s (re-made after memory.grow detached the old view). */
  private resultsView(): Uint32Array {
    let r = this.results;
    if (r === null || r.length === 0) {
      r = this.results = new Uint32Array(this.x.memory.buffer);
      this.resultsAt = this.x.callResultsPtr() >>> 2;
    }
    return r;
  }

  /**
   * The next call starts with a command this shard owns every key of (its slots were computed
   * by the shard that handed it back): the kernel does not compute them again.
   */
  trustCommandAt(pos: number): void {
    this.resultsView()[this.resultsAt + 11] = pos;
  }

  /**
   * process() for the client input loop: the results are read from the kernel's results
   * block into the fields above in one go, instead of one export call each. They describe
   * this call until the next run(); nested calls (Shard.callRaw) call x.process directly and
   * leave them alone.
   */
  run(start: number, end: number, db: number, nowMs: number): number {
    return this.readResults(this.x.process(start, end, db, nowMs));
  }

  /**
   * processNested() (Shard.callRaw): the nested call's output and pendingWork are read from
   * the results block with nestedOutput()/nestedPending(); the fields above stay the
   * interrupted call's.
   */
  runNested(start: number, end: number, db: number, nowMs: number): number {
    return this.x.processNested(start, end, db, nowMs);
  }
  /** The last runNested()'s reply bytes (a view of kernel memory: copy before the next call). */
  nestedOutput(): Uint8Array {
    const r = this.resultsView();
    const p = r[this.resultsAt + 8];
    return this.mem.subarray(p, p + r[this.resultsAt + 9]);
  }
  /**
   * A copy of nestedOutput() from Node's Buffer pool. A short reply (+OK, :1, a small bulk) is
   * copied byte by byte, without the view of kernel memory and Buffer.from's copy of it.
   */
  nestedOutputCopy(): Buffer {
    const r = this.resultsView();
    const p = r[this.resultsAt + 8];
    const n = r[this.resultsAt + 9];
    if (n > 64) return Buffer.from(this.mem.subarray(p, p + n));
    const out = Buffer.allocUnsafe(n);
    const mem = this.mem;
    for (let i = 0; i < n; i++) out[i] = mem[p + i];
    return out;
  }
  /** Error replies the last runNested() counted (in errorRepliesEver()). */
  nestedErrors(): number {
    return this.resultsView()[this.resultsAt + 15];
  }
  /** The last runNested()'s pendingWork() (Shard.afterCall). */
  nestedPending(): number {
    return this.resultsView()[this.resultsAt + 10];
  }

  /**
   * processList() for deferred commands, its results read as run()'s: `consumed` is the index
   * of the first entry not run. `block`: where the hand-off block was copied in this memory.
   */
  runList(block: number, first: number, count: number, db: number, nowMs: number): number {
    return this.readResults(this.x.processList(block, first, count, db, nowMs));
  }

  /** The kernel's memory as u32 words (re-made after memory.grow), for the deferred log and lists. */
  words(): Uint32Array { return this.resultsView(); }
  /** Word indexes of the deferred log and list (fixed buffers of the kernel's). */
  get deferLogAt(): number {
    if (this.logAt < 0) this.logAt = this.x.deferLogPtr() >>> 2;
    return this.logAt;
  }
  get deferListAt(): number {
    if (this.listAt < 0) this.listAt = this.x.deferListPtr() >>> 2;
    return this.listAt;
  }
  /** Word index of the hand-off block table (HANDOFF_WORDS words per shard: address, capacity, bytes used). */
  get handoffAt(): number {
    if (this.handoffIdx < 0) this.handoffIdx = this.x.handoffTablePtr() >>> 2;
    return this.handoffIdx;
  }
  private logAt = -1;
  private listAt = -1;
  private handoffIdx = -1;

  private readResults(st: number): number {
    const r = this.resultsView();
    const i = this.resultsAt;
    this.consumed = r[i + 1];
    this.need = r[i + 2];
    this.handedStart = r[i + 3];
    this.handedToRoute = r[i + 4] !== 0;
    this.handedShard = r[i + 5] | 0;
    this.ranCount = r[i + 6];
    this.slowCount = r[i + 7];
    this.outPtr = r[i + 8];
    this.outLen = r[i + 9];
    this.pending = r[i + 10];
    this.deferredCount = r[i + 12];
    this.lastRanStart = r[i + 13];
    this.lastRanEnd = r[i + 14];
    return st;
  }

  /** The last run()'s ran commands, as recordKernelRun (src/commands/stats.ts) reads them. */
  ranCommands(): number { return this.ranCount; }
  private ranPtr = -1;
  ranCommandsPtr(): number {
    // A fixed buffer of the kernel's (assembly/index.ts ranBuf).
    if (this.ranPtr < 0) this.ranPtr = this.x.ranCommandsPtr();
    return this.ranPtr;
  }

  /** The kernel's memory as bytes. Re-read after every call: memory.grow detaches views. */
  get mem(): Uint8Array {
    // Growing a (non-shared) memory detaches its old buffer, so a view of length 0 is stale;
    // reading memory.buffer on every call instead showed up in profiles of routed commands.
    if (this.view.byteLength === 0) this.view = new Uint8Array(this.x.memory.buffer);
    return this.view;
  }

  /** The output region of the last call (a view: copy it before the next call). */
  output(): Uint8Array {
    const p = this.x.outputPtr();
    return this.mem.subarray(p, p + this.x.outputLen());
  }

  /** The argv of a command handed back with STATUS_HOST, as copies. */
  argv(): Uint8Array[] {
    const n = this.x.argc();
    const base = this.x.argvPtr();
    const mem = this.mem;
    const dv = new DataView(mem.buffer);
    const out = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) {
      const ptr = dv.getUint32(base + i * 8, true);
      const len = dv.getUint32(base + i * 8 + 4, true);
      out[i] = mem.slice(ptr, ptr + len);
    }
    return out;
  }

  /** Where argument i of a command handed back with STATUS_HOST is: [ptr, ptr + len) of mem. */
  argPtr(i: number): number {
    const m = this.mem;
    const a = this.x.argvPtr() + i * 8;
    return (m[a] | (m[a + 1] << 8) | (m[a + 2] << 16) | (m[a + 3] << 24)) >>> 0;
  }
  argLen(i: number): number {
    const m = this.mem;
    const a = this.x.argvPtr() + i * 8 + 4;
    return (m[a] | (m[a + 1] << 8) | (m[a + 2] << 16) | (m[a + 3] << 24)) >>> 0;
  }

  /** Argument i of a handed-back command as a latin1 string (a command name). */
  argName(i: number): string {
    const p = this.argPtr(i);
    let s = "";
    const m = this.mem;
    for (let j = p, e = p + this.argLen(i); j < e; j++) s += String.fromCharCode(m[j]);
    return s;
  }

  /** Names of the commands this kernel implements (bound or not). */
  commandNames(): string[] {
    const names: string[] = [];
    for (let i = 0; i < this.x.commandCount(); i++) {
      const p = this.x.commandNamePtr(i);
      names.push(textDecoder.decode(this.mem.subarray(p, p + this.x.commandNameLen(i))));
    }
    return names;
  }

  /** Binds a kernel command to its table row; returns its kernel index or -1. */
  bindCommand(name: string, arity: number, flags: number, keys: { firstKey: number; lastKey: number; keyStep: number } =
    { firstKey: 0, lastKey: 0, keyStep: 0 }): number {
    // Command names are ASCII, written in place: a TextEncoder and a Uint8Array per name were
    // 7% of the simulator's CPU (each node's start binds ~100 names).
    const p = this.x.alloc(name.length);
    const mem = this.mem;
    for (let i = 0; i < name.length; i++) mem[p + i] = name.charCodeAt(i);
    const r = this.x.bindCommand(p, name.length, arity, flags, keys.firstKey, keys.lastKey, keys.keyStep);
    this.x.free(p);
    return r;
  }

  /** Handles of host-side values the keyspace dropped since the last call. */
  /** Handles UNLINK dropped (also among the freed handles), for INFO lazyfreed_objects. */
  takeLazyHandles(): number[] {
    const n = this.x.lazyHandleCount();
    if (n === 0) return EMPTY;
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.x.lazyHandleAt(i));
    this.x.clearLazyHandles();
    return out;
  }

  takeFreedHandles(): number[] {
    const n = this.x.freedHandleCount();
    if (n === 0) return EMPTY;
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.x.freedHandleAt(i));
    this.x.clearFreedHandles();
    return out;
  }
}

const EMPTY: number[] = [];

/** Host callbacks the kernel invokes synchronously during process(). */
export interface KernelHostHooks {
  /** A new handle holding an independent copy of a host value (COPY), or 0 if unsupported. */
  dupHandle(type: number, handle: number): number;
  /** Redis's OBJ_ENCODING_* number for a host value (OBJECT ENCODING), or -1 for a default. */
  handleEncoding(type: number, handle: number): number;
  /**
   * A kernel-held zset moves to the host (assembly/keyspace/zset-value.ts): `count` elements
   * from `ptr` in its layout; the new host value's handle, or 0 when there is no host to
   * hold it (the embedded kernel), which leaves it in the kernel.
   */
  zsetToHost(ptr: number, count: number): number;
  /** The same for a kernel-held set (assembly/keyspace/set-value.ts): its members from `ptr`. */
  setToHost(ptr: number, count: number, intset: boolean): number;
}

function defaultHooks(): KernelHostHooks {
  return { dupHandle: () => 0, handleEncoding: () => -1, zsetToHost: () => 0, setToHost: () => 0 };
}

function kernelImports(hooks: KernelHostHooks, memory: { current: WebAssembly.Memory | null }): WebAssembly.Imports {
  return {
    env: {
      // %.17g of a zset score that is not an integer, written at dst (assembly/commands/zsets.ts
      // addScore); its length. At most 24 bytes ("-2.2250738585072014e-308").
      formatScore(d: number, dst: number): number {
        const s = formatDouble(d);
        const view = new Uint8Array(memory.current!.buffer, dst >>> 0, s.length);
        for (let i = 0; i < s.length; i++) view[i] = s.charCodeAt(i);
        return s.length;
      },
      dupHandle: (type: number, handle: number) => hooks.dupHandle(type, handle),
      handleEncoding: (type: number, handle: number) => hooks.handleEncoding(type, handle),
      zsetToHost: (ptr: number, count: number) => hooks.zsetToHost(ptr >>> 0, count),
      setToHost: (ptr: number, count: number, intset: number) => hooks.setToHost(ptr >>> 0, count, intset !== 0),
      abort(msgPtr: number, filePtr: number, line: number, col: number) {
        throw new Error(`kernel abort at ${line}:${col} (${msgPtr}, ${filePtr})`);
      },
      seed: () => Math.random() * 2 ** 53,
      // Only read while the host asked for per-command timing (src/server/command-timing.ts).
      monotonicMs: performance.now.bind(performance),
    },
  };
}

/**
 * Kernel exports whose result is a usize (an address or a length). WebAssembly hands an
 * i32 result to JS as a signed number, so an address past 2 GiB would come back negative;
 * these are read back as unsigned. test/kernel/unsigned-exports.test.ts keeps this list in
 * step with the `: usize` / `: u32` exports of assembly/index.ts.
 */
export const UNSIGNED_EXPORTS = [
  "alloc", "realloc", "consumedPos", "commandStart", "needBytes", "outputPtr", "outputLen",
  "argvPtr", "commandNamePtr", "ranCommandsPtr", "slowCommandsPtr", "errorCodeNamePtr", "effectsPtr", "effectsLen",
  "migrateBlobPtr", "migrateBlobLen", "savePartial", "newKeysPtr", "newKeysLen", "slotKeysPtr", "slotKeysLen", "bgsaveOutPtr", "bgsaveOutLen",
  "callResultsPtr", "dictStatsPtr", "deferLogPtr", "deferListPtr", "handoffTablePtr", "keySetPeekPtr",
] as const;

export function withUnsignedResults(exports: WebAssembly.Exports): WebAssembly.Exports {
  const out: Record<string, unknown> = { ...exports };
  for (const name of UNSIGNED_EXPORTS) {
    const f = exports[name] as (...args: number[]) => number;
    if (typeof f !== "function") throw new Error(`kernel export ${name} is missing`);
    // Wrappers of fixed arity: a rest-parameter wrapper allocates an array on every call,
    // and consumedPos/outputPtr/outputLen run once per socket read or host command.
    switch (f.length) {
      case 0: out[name] = () => f() >>> 0; break;
      case 1: out[name] = (a: number) => f(a) >>> 0; break;
      case 2: out[name] = (a: number, b: number) => f(a, b) >>> 0; break;
      default: out[name] = (...args: number[]) => f(...args) >>> 0;
    }
  }
  return out as WebAssembly.Exports;
}
