// The server's persistence state and actions: SAVE, BGSAVE, save rules, LASTSAVE, INFO
// persistence, loading on start-up, the final save on SHUTDOWN, DEBUG RELOAD.
//
// BGSAVE without fork: a copy-on-write snapshot of this instant (bgsave.ts) encoded in
// slices between event-loop turns, its bytes streamed to a child process that writes the
// temp file (child-writer.ts); when the child exits cleanly the file is fsynced and renamed
// over dbfilename. Killing the child fails the save as in Redis. SAVE is synchronous.
import { slowDisk } from "../server/faults.js";
import { openSync, writeSync, fsyncSync, closeSync, renameSync, readFileSync, unlinkSync, statSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { resolve } from "node:path";
import type { Server } from "../server/server.js";
import { log } from "../server/log.js";
import {
  snapshotRdb, readRdbHeader, readRdbRecord, newRecordState, checkRdbChecksum, checkRdbFile, readPlainStringRecord,
  functionsHook, replInfoHook, crdtStateHook, CRDT_AUX, type ParsedRdb, type RdbRecord, type PlainStringSink,
} from "./rdb-file.js";
import { storeKey, storeKeyBatched, storeStringBatchedFrom, flushStoredKeys, freshLru, lfuPolicy, lfuWord, LFU_INIT_VAL } from "./keyspace-io.js";
import { RdbFormatError, RdbReader } from "./rdb-format.js";
import { Crc64 } from "./crc64.js";
import { Aof, ManifestError, type LoadStep } from "./aof.js";
import { EFFECT_COMMAND, type Subscription } from "../server/effects.js";
import type { Client } from "../server/client.js";
import { setImmediate as nextTurn } from "node:timers/promises";
import { setWriteGate } from "../repl/write-gate.js";
import { updateDictResizePolicy } from "./resize-policy.js";
import { statOf } from "../commands/stats.js";
import { startBackgroundWrite, BackgroundSnapshot, type BackgroundJob, type SnapshotParts } from "./bgsave.js";
import { SIGUSR1 } from "./child-writer.js";

const states = new WeakMap<Server, Persistence>();

/** Redis's shared.bgsaveerr. */
export const MISCONF_RDB = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. " +
  "Commands that may modify the data set are disabled, because this instance is configured to report errors during writes " +
  "if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/** How long one slice of loading at start-up may hold the event loop. */
const LOAD_SLICE_MS = 5;
/** A function library of the file failed to load under functions: "fail" (loadFunction logged why). */
class FunctionLoadError extends RdbFormatError {}

/** How rdbLoadSteps treats what it reads (each field defaults to false / "warn"). */
export interface RdbLoadOptions {
  /** Start-up: replication restores its history from the aux fields, expired keys feed DELs. */
  boot?: boolean;
  /** An AOF's preamble: every key is kept, expired or not (RDBFLAGS_AOF_PREAMBLE). */
  aofPreamble?: boolean;
  /** The start-up load of an AOF's preamble: active-active's state is read too (aof-crdt.ts). */
  crdtState?: boolean;
  /** The caller checked the file's checksum already (checkRdbFile). */
  checksumChecked?: boolean;
  /**
   * A function library that fails to load: "warn" logs it and goes on; "fail" fails the load
   * (DEBUG RELOAD); "merge" replaces a library of that name (DEBUG RELOAD MERGE).
   */
  functions?: "warn" | "fail" | "merge";
}

/** Plain string records read in one load step (rdbLoadSteps fast path): a few KB of the file. */
const FAST_LOAD_RUN = 256;
/** The most keys a RESIZEDB hint reserves room for in one shard (2^22 buckets, 16 MB of kernel memory). */
const MAX_RESERVE = 1 << 22;

export function persistenceOf(server: Server): Persistence {
  let p = states.get(server);
  if (!p) states.set(server, (p = new Persistence(server)));
  return p;
}

/**
 * Whether the server is loading its data with the LOADING gate up (start-up, DEBUG RELOAD...)
 * or has yet to start its start-up load (listeners open first), without creating its
 * persistence state (the replication simulator's servers have none).
 */
export function loadingData(server: Server): boolean {
  const p = states.get(server);
  return !!p && (p.loading !== null || p.startupLoadPending);
}

/**
 * The moment whose state the file loaded at start-up holds (ms since the epoch; 0 when none was
 * loaded): an RDB's snapshot start (its "ctime" aux field, in whole seconds: a BGSAVE's file is
 * written after it, and its mtime would claim removals made during the save), an AOF's last
 * write (aof.ts contentTime). Active-active replication compares it with its peers' tombstone
 * collection (src/replication/loaded-keys.ts), where a time too early keeps keys local and
 * one too late could bring back a deleted key: each reading errs early.
 */
export function startupFileTime(server: Server): number {
  return states.get(server)?.loadedFileTime ?? 0;
}

/**
 * A load this file does not run, shown by INFO as one (loading:1 and the loading_* fields) as
 * Redis shows a replica loading its master's copy: active-active's join of a peer's large
 * answer behind -LOADING (src/replication/loading-gate.ts); null when it ends. Only on a server
 * with persistence state (the replication simulator's have none).
 */
export function showLoading(server: Server, l: { startedAt: number; totalBytes: number; loadedBytes: number } | null): void {
  const p = states.get(server);
  if (p) p.shownLoading = l;
}

export class Persistence {
  /** dirty() at the last successful save: rdb_changes_since_last_save is the difference. */
  private dirtyAtSave = 0;
  bgsaveInProgress = false;
  private bgsaveStartedAt = 0;
  private lastBgsaveTry = 0;
  lastBgsaveOk = true;
  private lastBgsaveSecs = -1;
  saves = 0;
  lastLoadKeysLoaded = 0;
  lastLoadKeysExpired = 0;
  /** startupFileTime. */
  loadedFileTime = 0;
  /** The "ctime" aux field of the last RDB (or AOF preamble) read, in ms; 0 when it had none. */
  snapshotCtimeMs = 0;
  private timer?: NodeJS.Timeout;
  /** Set while the dataset is replaced wholesale (DEBUG RELOAD, LOADAOF): the AOF does not record it. */
  reloading = false;
  /**
   * Set by the CLI from before the listeners open until loadOnStartup is done: the data on
   * disk is still to be loaded, so a replicaof link must not sync yet (src/repl/replica-link.ts).
   */
  startupLoadPending = false;
  readonly aof: Aof;

  constructor(private readonly server: Server) {
    this.dirtyAtSave = this.dirty();
    this.aof = new Aof(server, this);
  }

  /** Redis's server.dirty: writes by kernel and host commands. */
  dirty(): number {
    let d = this.server.types.dirty;
    for (const s of this.server.shards) d += s.kernel.x.statDirty();
    return d;
  }

  changesSinceLastSave(): number { return this.dirty() - this.dirtyAtSave; }

  /** dir is the working directory (CONFIG SET dir changes it, as Redis's chdir). */
  rdbPath(): string { return resolve(this.server.config.getString("dbfilename")); }

  /** SAVE (and the final save on shutdown): synchronous; false when the file could not be written. */
  saveSync(): boolean {
    const dirtyAt = this.dirty();
    const { data } = snapshotRdb(this.server, true);
    const tmp = tempRdbPath();
    try {
      const fd = writeTemp(tmp, data, slowDisk);
      this.commitTemp(fd, tmp);
    } catch (e) {
      return saveFailed(tmp, e);
    }
    return this.saveDone(dirtyAt);
  }

  /** fsyncs and closes the written temp file, then renames it over dbfilename (rdbSave's end). */
  private commitTemp(fd: number, tmp: string): void {
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.rdbPath());
  }

  /** A foreground save's success: logged and counted as rdbSave does. */
  private saveDone(dirtyAt: number): true {
    log("notice", "DB saved on disk");
    this.saved(dirtyAt);
    // rdbSave: a good save clears a failed BGSAVE's status (and so MISCONF).
    this.lastBgsaveOk = true;
    this.refreshWriteGate();
    return true;
  }

  /**
   * FLUSHALL with save points set saves synchronously (flushAllDataAndResetRDB), so the empty
   * dataset is on disk and rdb_changes_since_last_save is 0. Called after the command ran
   * (CommandSpec.afterCall): when the kernel ran FLUSHALL in a pipeline, the commands after
   * it in the same read have run too, and are in this save. A FLUSHALL that failed (a bad
   * argument: Redis answers before flushing) does not save: a call after which FLUSHALL's
   * failed_calls (commandstats, every path and shard) has grown since the last look is taken
   * as that failure. (Calls, not failures, also count flushes the server makes itself, such as
   * DEBUG RELOAD's.) Of a pipeline's FLUSHALLs run in one kernel call, one failure skips one.
   */
  afterFlushAll(): void {
    const spec = this.server.table.find("flushall");
    if (spec) {
      const failed = statOf(this.server, spec).failedCalls;
      // (CONFIG RESETSTAT restarts the count: then any failure since shows.)
      const failedNow = failed > this.flushAllFailed || (failed < this.flushAllFailed && failed > 0);
      this.flushAllFailed = failed;
      if (failedNow) return;
    }
    if (this.saveRules().length > 0) this.saveSync();
  }
  private flushAllFailed = 0;

  private saved(dirtyAt: number): void {
    this.dirtyAtSave = dirtyAt;
    this.server.lastSave = Date.now();
    this.saves++;
  }

  private flushWatch?: Subscription;

  /**
   * FLUSHALL during a BGSAVE kills the child in Redis (the snapshot is of data the user just
   * dropped), with SIGUSR1, which is no error: the file is not written, the change counter
   * is not reset and rdb_last_bgsave_status keeps its value. The effect bus is watched only
   * while a BGSAVE runs.
   */
  private watchFlushAll(on: boolean): void {
    if (!this.flushWatch) {
      this.flushWatch = this.server.effects.subscribe({
        onEffect: (e) => {
          // DEBUG LOADAOF / RELOAD empty the dataset too, but leave the child (emptyData).
          if (!this.bgsaveInProgress || e.kind !== EFFECT_COMMAND || this.reloading) return;
          if (e.argv[0].toString("latin1").toLowerCase() !== "flushall") return;
          // The flag drops at once (the next BGSAVE may start); the child's exit is not waited for.
          const job = this.bgJob;
          const repl = this.replSnapshot;
          if (!job && !repl) return;
          job?.kill();
          repl?.abort();
          this.bgJob = null;
          this.replSnapshot = null;
          this.bgsaveInProgress = false;
          this.childDone();
          this.flushWatch?.setActive(false);
          // A replica's snapshot: its transfer logs the end when its child exits.
          if (job) log("warning", `Background saving terminated by signal ${SIGUSR1}`);
        },
      }, false);
    }
    this.flushWatch.setActive(on);
  }

  /** The running BGSAVE: its child writer and snapshot. */
  private bgJob: BackgroundJob | null = null;
  private get bgSnapshot(): BackgroundSnapshot | null { return this.bgJob?.snap ?? this.replSnapshot; }

  /** Background jobs started (INFO total_forks) and the last start's cost (latest_fork_usec). */
  totalForks = 0;
  latestForkUsec = 0;

  /** Called by each background job as it starts its child. */
  forked(startedAt: number): void {
    this.totalForks++;
    this.latestForkUsec = Math.round((performance.now() - startedAt) * 1000);
    updateDictResizePolicy(this.server, true);
  }

  /** A background job ended (Redis's resetChildState): the dicts may resize as usual again. */
  childDone(): void {
    updateDictResizePolicy(this.server, this.bgsaveInProgress || this.aof.rewriteInProgress);
  }

  /** A replica's full-resync snapshot streaming now (snapshotForReplica), if any. */
  private replSnapshot: BackgroundSnapshot | null = null;

  /**
   * For replication (src/repl/, see /work/wt/notes/persist-to-repl.md): a full resync's RDB
   * without blocking clients. Starts the same copy-on-write snapshot as BGSAVE, now: the
   * image is of this instant, so answer +FULLRESYNC with the current offset in the same
   * turn and hold the replication stream until `done`. The RDB's bytes (header to CRC) go to
   * `write` in order; the snapshot waits on the promise it returns (backpressure: resolve
   * once the socket drained). `done` resolves with the keys written, or -1 when the snapshot
   * was aborted (FLUSHALL, abort(), a rejected write): then drop the replica.
   *
   * It takes the one background-job slot as Redis's diskless child of type RDB does
   * (rdb_bgsave_in_progress:1, BGSAVE answers "Background save already in progress"); null
   * when a BGSAVE, an AOF rewrite or another replica's snapshot runs: retry once
   * rdb_bgsave_in_progress and aof_rewrite_in_progress are 0 (Redis's replicas wait for the
   * next BGSAVE likewise). No child process: the bytes go to the socket from this process.
   */
  snapshotForReplica(write: (chunk: Uint8Array) => Promise<void>, target: "replicas sockets" | "disk" = "replicas sockets",
    holdUntil?: Promise<unknown>, parts?: SnapshotParts): { done: Promise<number>; abort(): void } | null {
    if (this.bgsaveInProgress || this.aof.rewriteInProgress) return null;
    const t0 = performance.now();
    const snap = new BackgroundSnapshot(this.server, { keyDelayUs: this.server.config.getNumber("rdb-key-save-delay"), write, parts });
    this.forked(t0);
    this.replSnapshot = snap;
    this.bgsaveInProgress = true;
    this.bgsaveStartedAt = Date.now();
    this.keysAtStart = this.keyCount();
    this.peakCow = 0;
    this.watchFlushAll(true);
    log("notice", `Starting BGSAVE for SYNC with target: ${target}`);
    // The slot stays taken until `holdUntil` too (the transfer's end: Redis's diskless child
    // exits only once its parent has read the whole pipe), so rdb_bgsave_in_progress:0 means
    // the payload has gone out.
    const done = snap.done.then((keys) => keys, () => -1).then((keys) => {
      if (!holdUntil) release();
      return keys;
    });
    if (holdUntil) void done.then(async () => { await holdUntil.catch(() => {}); release(); });
    const release = (): void => {
      if (this.replSnapshot === snap) {
        this.replSnapshot = null;
        this.bgsaveInProgress = false;
        this.childDone();
        this.watchFlushAll(false);
        this.lastCowSize = snap.cowBytes();
      }
      // The outcome's log line is the caller's (src/repl/rdb-transfer.ts): it knows how the
      // child the bytes pass through ended, which is what Redis's line reports.
    };
    return { done, abort: () => snap.abort() };
  }

  /**
   * finishShutdown: a running BGSAVE's child is killed and its temp file removed (the final
   * save must not race with it). Whether there was one.
   */
  killRdbChildForShutdown(): boolean {
    const job = this.bgJob;
    if (!job) return false;
    job.kill();
    this.bgJob = null;
    this.bgsaveInProgress = false;
    this.watchFlushAll(false);
    this.childDone();
    return true;
  }

  /** The pid of the running background job's child (BGSAVE or AOF rewrite), or -1. */
  childPid(): number {
    return this.bgJob?.pid ?? this.aof.childPid();
  }

  /** BGSAVE: null when started, else the error to answer. */
  bgsave(): string | null {
    if (this.bgsaveInProgress) return "Background save already in progress";
    this.lastBgsaveTry = Date.now();
    this.bgsaveStartedAt = Date.now();
    const dirtyAt = this.dirty();
    const tmp = tempRdbPath();
    const dest = this.rdbPath();
    this.keysAtStart = this.keyCount();
    this.peakCow = 0;
    const t0 = performance.now();
    // The child's file is temp-<child pid>.rdb, as Redis's rdbSave in the fork child names it.
    const job = startBackgroundWrite(this.server, tmp, dest, "snapshot", (pid) => resolve(`temp-${pid}.rdb`), true);
    this.forked(t0);
    this.bgJob = job;
    this.bgsaveInProgress = true;
    this.watchFlushAll(true);
    log("notice", `Background saving started by pid ${job.pid}`);
    void job.result.then((res) => {
      if (this.bgJob !== job) return;
      this.lastCowSize = job.snap?.cowBytes() ?? 0;
      this.bgJob = null;
      this.watchFlushAll(false);
      this.bgsaveInProgress = false;
      this.childDone();
      this.lastBgsaveSecs = Math.round((Date.now() - this.bgsaveStartedAt) / 1000);
      if (res.ok) {
        log("notice", "DB saved on disk");
        this.saved(dirtyAt);
        this.lastBgsaveOk = true;
        log("notice", "Background saving terminated with success");
      } else if (res.signal !== null) {
        log("warning", `Background saving terminated by signal ${res.signal}`);
        if (res.signal !== SIGUSR1) this.lastBgsaveOk = false;
      } else {
        log("warning", res.error);
        log("warning", "Background saving error");
        this.lastBgsaveOk = false;
      }
      this.refreshWriteGate();
    });
    return null;
  }

  /** The save rules (`save <seconds> <changes>`...), checked by the persistence cron. */
  private saveRules(): { secs: number; changes: number }[] {
    // Parsed again only when the setting changes: the cron asks every 100 ms.
    const text = this.server.config.getString("save");
    if (text === this.parsedSave.text) return this.parsedSave.rules;
    const w = text.trim().split(/\s+/).filter(Boolean).map(Number);
    const rules: { secs: number; changes: number }[] = [];
    for (let i = 0; i + 1 < w.length; i += 2) rules.push({ secs: w[i], changes: w[i + 1] });
    this.parsedSave = { text, rules };
    return rules;
  }
  private parsedSave: { text: string; rules: { secs: number; changes: number }[] } = { text: "", rules: [] };

  /**
   * Redis's writeCommandsDeniedByDiskError: the error a write from a client gets while the
   * last BGSAVE failed (stop-writes-on-bgsave-error, with save rules set) or the last AOF
   * write failed; null when writes are accepted.
   */
  diskError(): string | null {
    const c = this.server.config;
    // The last BGSAVE's state first: a script's first write asks this on every run.
    if (!this.lastBgsaveOk && c.getBool("stop-writes-on-bgsave-error") && this.saveRules().length > 0) return MISCONF_RDB;
    if (this.aof.enabled && !this.aof.lastWriteOk) return `-MISCONF Errors writing to the AOF file: ${this.aof.lastWriteError}`;
    return null;
  }

  /**
   * Puts the write gate up or down after a change of the disk-error state: the kernels hand
   * write commands back (as on a read-only replica) so dispatch can refuse them.
   */
  refreshWriteGate(): void {
    const denied = this.diskError() !== null;
    if (denied === this.gateUp) return;
    this.gateUp = denied;
    setWriteGate(this.server, "disk", denied);
  }
  gateUp = false;

  /** BGSAVE SCHEDULE (or BGSAVE in EXEC) while another background job ran. */
  bgsaveScheduled = false;

  /**
   * serverCron's part: a scheduled BGSAVE or AOF rewrite once no background job runs, the
   * AOF's automatic rewrite (auto-aof-rewrite-percentage / -min-size), then the save rules
   * (a failed BGSAVE is retried after 5 s).
   */
  cron(): void {
    // A failed AOF write is retried; CONFIG SET may have lifted the disk-error condition.
    if (this.aof.enabled && !this.aof.lastWriteOk) this.aof.flush(false);
    this.refreshWriteGate();
    updateDictResizePolicy(this.server, this.bgsaveInProgress || this.aof.rewriteInProgress);
    if (this.bgsaveInProgress || this.aof.rewriteInProgress) return;
    if (this.bgsaveScheduled) {
      this.bgsaveScheduled = false;
      this.bgsave();
      return;
    }
    if (this.aof.rewriteScheduled && !this.aof.rewriteLimited()) {
      this.aof.rewrite();
      return;
    }
    if (this.aof.autoRewriteDue()) return;
    const now = Date.now();
    const dirty = this.changesSinceLastSave();
    for (const r of this.saveRules()) {
      if (dirty >= r.changes && now - this.server.lastSave > r.secs * 1000 &&
          (this.lastBgsaveOk || now - this.lastBgsaveTry > 5000)) {
        log("notice", `${r.changes} changes in ${r.secs} seconds. Saving...`);
        this.bgsave();
        return;
      }
    }
  }

  startCron(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.cron(), 100);
    this.timer.unref();
  }

  /**
   * A replica's disk sync (src/repl/replica-link.ts): the master's RDB file, whose header and
   * checksum the caller checked (checkRdbFile), applied as it is read, as a start-up load is
   * (rdbLoadSteps: runs of plain strings take its fast path; parsing the whole file into
   * records first held a million of them at once). Expired keys are kept: the master's DEL
   * removes them. As Redis's rdbLoadProgressCallback, events are served only where the bytes read
   * cross a multiple of loading-process-events-interval-bytes (a payload under 2 MB loads
   * without a client seeing -LOADING: 04-resharding's CLUSTER INFO right after a replica's
   * full sync). Rejects on a record the reader refuses.
   */
  async loadMasterFile(data: Buffer): Promise<void> {
    const everyBytes = this.server.config.getNumber("loading-process-events-interval-bytes");
    await this.whileLoading(data.length, this.rdbLoadSteps(data, { checksumChecked: true }), everyBytes);
  }

  /**
   * One record of a master's RDB read as it arrives (src/repl/diskless-load.ts): a function
   * library or a key, stored now; keys whose TTL passed are kept (the master's DEL removes them).
   */
  applyMasterRecord(rec: RdbRecord): void {
    if (rec.kind === "function") this.loadFunction(rec.code);
    else if (rec.kind === "key") this.applyKey(rec.key, true);
    else if (rec.kind === "resize") this.reserveKeys(rec.db, rec.size);
  }

  /**
   * An RDB's RESIZEDB (rdbLoad's dictExpand): each shard's table for db gets room for its
   * share of the keys before they come, instead of growing and rehashing all the way (a
   * third of a million-key load's kernel time). Capped, so a corrupt size cannot claim a huge
   * table: past the cap the table grows as keys arrive, as before.
   */
  reserveKeys(db: number, size: number, temp = false): void {
    const shards = this.server.shards;
    const n = Math.min(Math.ceil(size / shards.length), MAX_RESERVE);
    for (const s of shards) s.kernel.x.dbReserve(db, n, temp);
  }

  /** A master's key stored into a swapdb diskless load's temp set (src/repl/diskless-load.ts). */
  applyMasterKeyTemp(k: ParsedRdb["keys"][number]): void {
    this.applyKey(k, true, true);
  }

  /** A streamed load ended: the counters and log line of a finished load. */
  masterLoadDone(keys: number): void { this.loadDone(keys, 0); }

  /** How far a streamed load is (INFO loading_loaded_bytes). */
  noteLoadedBytes(bytes: number): void { if (this.loading) this.loading.loadedBytes = bytes; }

  /** A replica's async-loading diskless sync is under way (INFO async_loading). */
  asyncLoading = false;

  /**
   * A replica's diskless load (repl-diskless-load): from the payload's first byte the replica
   * is loading (INFO loading:1, commands without the loading flag answer -LOADING) or, when
   * the master's history is ours (swapdb with the same replid), async-loading: the old data is
   * served and only commands flagged no_async_loading answer -LOADING. Returns the release,
   * called once the load ended or the transfer failed.
   */
  holdLoading(async: boolean, totalBytes: number): () => void {
    const server = this.server;
    const previous = server.inputGate;
    if (!async) this.loading = { startedAt: Date.now(), totalBytes, loadedBytes: 0 };
    else this.asyncLoading = true;
    const gate = (client: Client, argv: Buffer[]): boolean => {
      const found = server.resolveCommand(argv);
      const spec = found.spec;
      const denied = found.error === undefined && spec !== undefined &&
        (async ? spec.flags.has("no_async_loading") : !spec.flags.has("loading"));
      if (!denied) return previous ? previous(client, argv) : false;
      server.rejectCommand(client, "-LOADING Redis is loading the dataset in memory", spec);
      return true;
    };
    server.inputGate = gate;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (server.inputGate === gate) server.inputGate = previous;
      if (async) this.asyncLoading = false;
      else this.loading = null;
    };
  }

  /**
   * A disk-target full sync's RDB (Redis's replicas share a BGSAVE to dbfilename): the payload
   * also becomes dump.rdb, and the changes counter restarts from the snapshot's moment.
   */
  async savedForReplicas(payload: Buffer, dirtyAt: number, startedAt: number): Promise<void> {
    const tmp = resolve(`temp-${process.pid}-repl.rdb`);
    const dest = this.rdbPath();
    try {
      const fh = await open(tmp, "w");
      try {
        await fh.writeFile(payload);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, dest);
    } catch (e) {
      log("warning", `Failed saving the DB for SYNC: ${(e as Error).message}`);
      try { await unlink(tmp); } catch { /* never created */ }
      return;
    }
    this.saved(dirtyAt);
    this.lastBgsaveOk = true;
    this.lastBgsaveSecs = Math.round((Date.now() - startedAt) / 1000);
    log("notice", "DB saved on disk");
    this.refreshWriteGate();
  }

  private loadFunction(code: Buffer, mode: RdbLoadOptions["functions"] = "warn"): void {
    const err = functionsHook.load(this.server, code, mode === "merge");
    if (!err) return;
    if (mode === "warn") { log("warning", `Failed loading a function library from the RDB: ${err}`); return; }
    // rdbLoadRio's FUNCTION2 case: the library's error, then its eoferr line, and the load fails.
    log("warning", `Failed loading library, ${err}`);
    log("warning", "Short read or OOM loading DB. Unrecoverable error, aborting now.");
    throw new FunctionLoadError(`Failed loading library, ${err}`);
  }

  /** Stores one key read from an RDB; false when its TTL has passed (skipped, as a master does). */
  private applyKey(k: ParsedRdb["keys"][number], keepExpired = false, temp = false, batched = false): boolean {
    const server = this.server;
    const now = server.now();
    if (!keepExpired && k.expireAt >= 0 && k.expireAt <= now) return false;
    // freshLru's word unless the file kept one (one policy lookup per key: this runs per key).
    const lru = lfuPolicy(server)
      ? lfuWord(now, k.freq >= 0 ? k.freq : LFU_INIT_VAL)
      : Math.max(0, Math.floor(now / 1000) - (k.idle >= 0 ? k.idle : 0));
    // A whole file's keys go many per kernel call (flushStoredKeys before anything reads them).
    if (batched) storeKeyBatched(server, k.db, k.key, { value: k.value, expireAt: k.expireAt, lru });
    else storeKey(server, k.db, k.key, { value: k.value, expireAt: k.expireAt, lru }, temp);
    return true;
  }

  private loadDone(loaded: number, expired: number, emptySkipped = 0): void {
    this.lastLoadKeysLoaded = loaded;
    this.lastLoadKeysExpired = expired;
    log("notice", emptySkipped
      ? `Done loading RDB, keys loaded: ${loaded}, keys expired: ${expired}, empty keys skipped: ${emptySkipped}.`
      : `Done loading RDB, keys loaded: ${loaded}, keys expired: ${expired}.`);
  }

  /** How far the RDB being loaded got (redis-check-rdb's [info] lines when it is corrupt). */
  private loadProgress = { keys: 0, expires: 0, alreadyExpired: 0 };

  /**
   * Loading an RDB one record at a time, applied as read (start-up: a bad file ends the
   * process, so nothing half-loaded is ever served); yields the bytes read so far.
   */
  *rdbLoadSteps(buf: Buffer, o: RdbLoadOptions = {}): Generator<number, number> {
    const server = this.server;
    const { boot = false, aofPreamble = false, checksumChecked = false, crdtState = boot } = o;
    let loaded = 0, expired = 0, emptySkipped = 0;
    const progress = this.loadProgress = { keys: 0, expires: 0, alreadyExpired: 0 };
    // At start-up (not an AOF's preamble) replication restores its history from the aux fields.
    const aux = new Map<string, string>();
    this.snapshotCtimeMs = 0;
    if (boot) replInfoHook.loadBegin(server);
    const opts = { checksum: server.config.getBool("rdbchecksum"), databases: server.config.getNumber("databases") };
    // A replica (replicaof in the config, or a cluster replica) keeps keys whose TTL passed:
    // its master's DEL removes them (Redis's rdbLoad skips them only when iAmMaster()). A
    // cluster replica by nodes.conf counts at start-up, before its master link exists. An
    // AOF's preamble keeps every key (RDBFLAGS_AOF_PREAMBLE): the commands after it assume
    // the keyspace exactly as it was written.
    const keepExpired = aofPreamble || !replInfoHook.iAmMaster(server) || (boot && server.cluster?.isReplica() === true);
    // readRdb's loop, with a fast path: runs of plain string records go from the file's buffer
    // into the kernel's batches (readPlainStringRecord, storeStringBatchedFrom), a step per run.
    const version = readRdbHeader(buf);
    const r = new RdbReader(buf);
    r.pos = 9;
    const st = newRecordState();
    let now = 0, lru = 0;
    const storeString: PlainStringSink = (keyOff, keyLen, valOff, valLen, intVal, expireAt) => {
      progress.keys++;
      if (expireAt >= 0) {
        progress.expires++;
        if (!keepExpired && expireAt <= now) {
          expired++;
          progress.alreadyExpired++;
          if (boot) replInfoHook.expiredAtLoad(server, st.db, Buffer.from(buf.subarray(keyOff, keyOff + keyLen)));
          return;
        }
      }
      storeStringBatchedFrom(server, st.db, buf, keyOff, keyLen, valOff, valLen, intVal, expireAt, lru);
      loaded++;
    };
    for (;;) {
      // key-load-delay (tests) is per key, and whileLoading spends it per step: one key a step then.
      if (server.config.getNumber("key-load-delay") === 0) {
        now = server.now();
        lru = freshLru(server, now);
        let n = 0;
        while (n < FAST_LOAD_RUN && readPlainStringRecord(r, storeString)) n++;
        if (n > 0) {
          yield r.pos;
          continue;
        }
      }
      const rec = readRdbRecord(r, st, opts);
      if (rec === null) break;
      if (rec.kind === "function") this.loadFunction(rec.code, o.functions);
      else if (rec.kind === "aux") {
        // active-active's state, at start-up only (an AOF preamble's is joined with the records after it: aof-crdt.ts)
        if (rec.name === CRDT_AUX) { if (crdtState) crdtStateHook.load(server, Buffer.from(rec.value, "latin1")); }
        else aux.set(rec.name, rec.value);
      }
      else if (rec.kind === "resize") this.reserveKeys(rec.db, rec.size);
      else if (rec.kind === "key") {
        progress.keys++;
        if (rec.key.expireAt >= 0) progress.expires++;
        if (this.applyKey(rec.key, keepExpired, false, true)) loaded++;
        else {
          expired++;
          progress.alreadyExpired++;
          if (boot) replInfoHook.expiredAtLoad(server, rec.key.db, rec.key.key);
        }
      } else if (rec.kind === "empty") {
        // An empty collection (a bug of older Redis versions could save one) is skipped, not fatal.
        if (emptySkipped++ < 10) log("warning", `rdbLoadObject skipping empty key: ${rec.key.toString("latin1")}`);
      }
      yield rec.pos;
    }
    if (version >= 5) {
      const stored = r.bytes(8);
      if (opts.checksum && !checksumChecked) checkRdbChecksum(stored, new Crc64().update(buf, 0, r.pos - 8));
    }
    flushStoredKeys(server);
    const ctime = Number(aux.get("ctime"));
    this.snapshotCtimeMs = Number.isSafeInteger(ctime) && ctime > 0 ? ctime * 1000 : 0;
    this.loadDone(loaded, expired, emptySkipped);
    if (boot) replInfoHook.loadEnd(server, aux);
    return r.pos;
  }

  /**
   * A corrupt object in the RDB file being loaded at start-up (rdbReportCorruptRDB with
   * rdbFileBeingLoaded): the error, then redis-check-rdb's report on stdout as Redis runs it on
   * the file (redis_check_rdb_main: the key and type being read, the counts so far), then the
   * line before the exit.
   */
  private reportCorruptRdb(e: RdbFormatError, at: NonNullable<RdbFormatError["at"]>): void {
    const msg = `Internal error in RDB reading offset ${at.offset}, function at rdb.c:0 -> ${e.message}`;
    log("warning", msg);
    const p = this.loadProgress;
    process.stdout.write([
      `[offset 0] Checking RDB file ${this.server.config.getString("dbfilename")}`,
      "--- RDB ERROR DETECTED ---",
      `[offset ${at.offset}] ${msg}`,
      "[additional info] While doing: read-object-value",
      `[additional info] Reading key '${at.key.toString("latin1")}'`,
      `[additional info] Reading type ${at.rdbType} (${RDB_TYPE_NAMES[at.rdbType] ?? "unknown"})`,
      `[info] ${p.keys} keys read`,
      `[info] ${p.expires} expires`,
      `[info] ${p.alreadyExpired} already expired`,
      "",
    ].join("\n"));
    log("warning", "Terminating server after rdb file reading failure.");
  }

  /**
   * Start-up: loads the AOF (appendonly yes) or dbfilename from dir when it exists. Clients
   * may connect meanwhile: the load runs in slices between event-loop turns and every
   * command without Redis's "loading" flag is answered -LOADING (INFO, loading fields). An
   * unreadable or corrupt file stops the server (as Redis does) with a log line saying why.
   */
  async loadOnStartup(): Promise<void> {
    const started = Date.now();
    if (this.server.config.getBool("appendonly")) {
      // With AOF on, the AOF alone is the dataset (as Redis 7.0: the RDB is not read).
      try {
        this.aof.upgradeIfNeeded();
        this.aof.loadManifestFromDisk();
        const m = this.aof.manifestFiles();
        const loaded = m ? await this.whileLoading(m.bytes, this.aof.loadSteps(true)) : false;
        if (m) this.loadedFileTime = this.aof.contentTime(m.files);
        if (loaded) log("notice", `DB loaded from append only file: ${((Date.now() - started) / 1000).toFixed(3)} seconds`);
        this.aof.startOnBoot();
        this.aof.delHistoryFiles();
      } catch (e) {
        if (e instanceof ManifestError) {
          for (const line of e.logLines()) log("warning", line);
          process.exit(1);
        }
        // The reason is the last log line, as Redis's (tests read it from the log's tail).
        log("warning", "Fatal error loading the append only file.");
        log("warning", (e as Error).message);
        process.exit(1);
      }
    } else {
      // The manifest is read with the AOF off too (aofLoadManifestFromDisk), so a later
      // CONFIG SET appendonly yes goes on with its sequence numbers.
      try { this.aof.loadManifestFromDisk(); } catch (e) { log("warning", `Ignoring the AOF manifest: ${(e as Error).message}`); }
      let buf: Buffer | null = null;
      try {
        try {
          buf = readFileSync(this.rdbPath());
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
        }
        const mtime = buf ? statSync(this.rdbPath()).mtimeMs : 0;
        if (buf) await this.whileLoading(buf.length, this.rdbLoadSteps(buf, { boot: true }));
        if (buf) this.loadedFileTime = this.snapshotCtimeMs > 0 ? Math.min(this.snapshotCtimeMs, mtime) : mtime;
      } catch (e) {
        if (e instanceof RdbFormatError && e.at) {
          this.reportCorruptRdb(e, e.at);
        } else if (e instanceof RdbFormatError) {
          log("warning", e.message);
          log("warning", "Internal error in RDB reading offset 0, function at rdb.c:0 -> " +
            (e.message.includes("CRC") ? "RDB CRC error" : e.message));
          log("warning", "Short read or OOM loading DB. Unrecoverable error, aborting now.");
        } else {
          log("warning", `Fatal error loading the DB: ${errnoText(e)}. Exiting.`);
        }
        process.exit(1);
      }
      if (buf) log("notice", `DB loaded from disk: ${((Date.now() - started) / 1000).toFixed(3)} seconds`);
    }
    // The disk-error write gate follows CONFIG SET at once, not at the next cron tick.
    for (const name of ["stop-writes-on-bgsave-error", "save"]) this.server.config.onApply(name, () => this.refreshWriteGate());
    // CONFIG SET appendonly yes|no turns the AOF on (a base of the dataset now) or off.
    this.server.config.onApply("appendonly", (c) => {
      try {
        if (c.getBool("appendonly") && !this.aof.enabled) this.aof.enable();
        else if (!c.getBool("appendonly") && this.aof.enabled) this.aof.disable();
      } catch (e) {
        log("warning", `Could not turn the AOF ${c.getBool("appendonly") ? "on" : "off"}: ${(e as Error).message}`);
      }
    });
    // aof-disable-auto-gc no removes the history at once (updateAofAutoGCEnabled).
    this.server.config.onApply("aof-disable-auto-gc", (c) => { if (!c.getBool("aof-disable-auto-gc")) this.aof.delHistoryFiles(); });
    this.startCron();
  }

  /**
   * Runs a load's steps in slices of about LOAD_SLICE_MS between event-loop turns, with the
   * LOADING gate up (Redis processes events while loading, answering -LOADING). key-load-delay
   * (tests) spends that many microseconds per step. With `everyBytes` (an RDB load) and no
   * key-load-delay, a slice ends only where the loaded bytes cross a multiple of it, as
   * Redis's rdbLoadProgressCallback processes events, instead of every LOAD_SLICE_MS.
   * Resolves with the generator's result.
   */
  private async whileLoading<T>(totalBytes: number, steps: Generator<LoadStep, T>, everyBytes = 0): Promise<T> {
    const server = this.server;
    this.loading = { startedAt: Date.now(), totalBytes, loadedBytes: 0 };
    const previous = server.inputGate;
    const gate = (client: Client, argv: Buffer[]): boolean => {
      const found = server.resolveCommand(argv);
      if (found.error !== undefined || found.spec!.flags.has("loading")) return previous ? previous(client, argv) : false;
      server.rejectCommand(client, "-LOADING Redis is loading the dataset in memory", found.spec);
      return true;
    };
    server.inputGate = gate;
    try {
      let owedUs = 0;
      let lastBytes = 0;
      for (;;) {
        const until = performance.now() + LOAD_SLICE_MS;
        const delayUs = server.config.getNumber("key-load-delay");
        let r = steps.next();
        for (; !r.done; r = steps.next()) {
          if (typeof r.value !== "number") break;
          this.loading.loadedBytes = r.value;
          const crossed = everyBytes > 0 && Math.floor(r.value / everyBytes) > Math.floor(lastBytes / everyBytes);
          lastBytes = r.value;
          if (delayUs > 0) { owedUs += delayUs; if (owedUs >= 1000) break; }
          else if (everyBytes > 0) { if (crossed) break; }
          else if (performance.now() >= until) break;
        }
        if (r.done) return r.value;
        // Keys a step left in storeKeyBatched's batches are stored before the event loop runs.
        flushStoredKeys(server);
        if (typeof r.value !== "number") await r.value;
        else if (owedUs >= 1000) { const ms = Math.floor(owedUs / 1000); owedUs -= ms * 1000; await new Promise((res) => setTimeout(res, ms)); }
        else await nextTurn();
      }
    } finally {
      flushStoredKeys(server);
      if (server.inputGate === gate) server.inputGate = previous;
      this.loading = null;
    }
  }

  /**
   * DEBUG LOADAOF: writes what is pending, empties the dataset, replays the AOF. `done`
   * gets null or the error to answer; it is called before this returns unless a replayed
   * script pauses (ran past busy-reply-threshold): then the load goes on between
   * event-loop turns with the LOADING gate up, as Redis processes events while loading,
   * and `done` is called when it ends. Returns whether it finished synchronously.
   */
  debugLoadAof(done: (err: string | null) => void): boolean {
    if (this.aof.state === "on") this.aof.flush(true);
    this.reloading = true;
    const finish = (e: unknown): void => {
      this.reloading = false;
      if (e) {
        log("warning", (e as Error).message);
        done("Error trying to load the AOF");
        return;
      }
      this.dirtyAtSave = this.dirty();
      log("warning", "Append Only File loaded by DEBUG LOADAOF");
      done(null);
    };
    let steps: Generator<LoadStep, boolean>;
    let r: IteratorResult<LoadStep, boolean>;
    try {
      emptyData(this.server);
      // The manifest on disk is the one loaded (aofLoadManifestFromDisk), then the history
      // files go, as in Redis's DEBUG LOADAOF.
      this.aof.loadManifestFromDisk();
      this.aof.delHistoryFiles();
      steps = this.aof.loadSteps();
      for (r = steps.next(); !r.done && typeof r.value === "number"; r = steps.next());
    } catch (e) {
      finish(e);
      return true;
    }
    if (r.done) { finish(null); return true; }
    const waiting = r.value;
    const rest = (function* (): Generator<LoadStep, boolean> { yield waiting; return yield* steps; })();
    this.whileLoading(this.aof.manifestFiles()?.bytes ?? 0, rest).then(() => finish(null), finish);
    return false;
  }

  /**
   * SHUTDOWN's save step: SAVE forces it, NOSAVE skips it, otherwise it happens when save
   * rules are configured. False when the save failed (the shutdown is refused unless FORCE).
   */
  finalSave(opts: { save?: boolean; nosave?: boolean; force?: boolean }): boolean | Promise<boolean> {
    if (this.aof.enabled) {
      log("notice", "Calling fsync() on the AOF file.");
      this.aof.flush(true);
    }
    if (opts.nosave) return true;
    if (!opts.save && this.saveRules().length === 0) return true;
    log("notice", "Saving the final RDB snapshot before exiting.");
    const outcome = (ok: boolean): boolean => {
      if (ok) return true;
      if (opts.force) {
        log("warning", "Error trying to save the DB. Exit anyway.");
        return true;
      }
      log("warning", "Error trying to save the DB, can't exit.");
      return false;
    };
    const delayUs = this.server.config.getNumber("rdb-key-save-delay");
    if (delayUs > 0) return this.saveSlow(delayUs).then(outcome);
    return outcome(this.saveSync());
  }

  /** The slow final save's temp file while it is being written (removeTempFile). */
  private slowSaveTemp: string | null = null;

  /**
   * The final save with rdb-key-save-delay set (tests use it to make a save slow). Redis's
   * foreground rdbSave sleeps that long per key with temp-<pid>.rdb open, and a second SIGINT
   * meanwhile exits at once and removes the file (sigShutdownHandler). Node runs no signal
   * handler while JavaScript blocks, so here the image is taken and written at once, and the
   * keys' delay is waited between event-loop turns with the file still under its temp name;
   * then it is fsynced and renamed as saveSync does. Without this the temp file lived only
   * for the fsync, so whether a test polling for it saw it depended on the disk's latency.
   */
  private async saveSlow(delayUs: number): Promise<boolean> {
    const dirtyAt = this.dirty();
    const { data, keys } = snapshotRdb(this.server, true);
    const tmp = tempRdbPath();
    this.slowSaveTemp = tmp;
    try {
      const fd = writeTemp(tmp, data);
      await new Promise((r) => setTimeout(r, Math.max(1, (keys * delayUs) / 1000)));
      this.commitTemp(fd, tmp);
    } catch (e) {
      return saveFailed(tmp, e);
    } finally {
      this.slowSaveTemp = null;
    }
    return this.saveDone(dirtyAt);
  }

  /** A second SIGINT exits at once: the final save's temp file goes (Redis's rdbRemoveTempFile). */
  removeTempFile(): void {
    if (this.slowSaveTemp) try { unlinkSync(this.slowSaveTemp); } catch { /* already gone */ }
  }

  /**
   * DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the dataset (functions included), load
   * the file back, as Redis's debug.c: the flush comes first, so a missing or refused file
   * leaves the dataset empty. Without MERGE a library that already exists fails the load, as
   * rdbLoad without RDBFLAGS_ALLOW_DUP (functions come first in the file: no key is loaded).
   * The file goes through rdbLoadSteps in one synchronous run (runs of plain strings take its
   * fast path; parsing it whole into records first was most of a million-key reload's time);
   * its checksum is checked before any record is applied.
   */
  debugReload(opts: { save: boolean; flush: boolean; merge?: boolean }): string | null {
    const LOAD_ERR = "Error trying to load the RDB dump";
    if (opts.save && !this.saveSync()) return "ERR";
    if (opts.flush) {
      emptyData(this.server);
      functionsHook.clear(this.server);
    }
    this.reloading = true;
    try {
      const buf = readFileSync(this.rdbPath());
      checkRdbFile(buf);
      const steps = this.rdbLoadSteps(buf, { checksumChecked: true, functions: opts.merge ? "merge" : "fail" });
      while (!steps.next().done) { /* one synchronous run: DEBUG RELOAD serves nothing meanwhile */ }
    } catch (e) {
      flushStoredKeys(this.server);
      if (!(e instanceof FunctionLoadError)) log("warning", `DEBUG RELOAD: ${errnoText(e)}`);
      return LOAD_ERR;
    } finally {
      this.reloading = false;
    }
    log("warning", "DB reloaded by DEBUG RELOAD");
    return null;
  }

  /** Loading state at start-up (the LOADING error, INFO loading fields); null when not loading. */
  loading: { startedAt: number; totalBytes: number; loadedBytes: number } | null = null;
  /** showLoading's: INFO only. */
  shownLoading: { startedAt: number; totalBytes: number; loadedBytes: number } | null = null;

  /** INFO persistence, in Redis 7.0's order. */
  infoFields(): [string, string | number][] {
    const now = Date.now();
    const snap = this.bgSnapshot;
    const total = snap ? this.keysAtStart : 0;
    const fields: [string, string | number][] = [
      ["loading", this.loading ?? this.shownLoading ? 1 : 0],
      ["async_loading", this.asyncLoading ? 1 : 0],
      ["current_cow_peak", this.cowPeak(snap)],
      ["current_cow_size", snap ? snap.cowBytes() : 0],
      ["current_cow_size_age", 0],
      ["current_fork_perc", snap && total > 0 ? ((snap.keys / total) * 100).toFixed(2) : "0.00"],
      ["current_save_keys_processed", snap ? snap.keys : 0],
      ["current_save_keys_total", total],
      ["rdb_changes_since_last_save", this.changesSinceLastSave()],
      ["rdb_bgsave_in_progress", this.bgsaveInProgress ? 1 : 0],
      ["rdb_last_save_time", Math.floor(this.server.lastSave / 1000)],
      ["rdb_last_bgsave_status", this.lastBgsaveOk ? "ok" : "err"],
      ["rdb_last_bgsave_time_sec", this.lastBgsaveSecs],
      ["rdb_current_bgsave_time_sec", this.bgsaveInProgress ? Math.round((now - this.bgsaveStartedAt) / 1000) : -1],
      ["rdb_saves", this.saves],
      ["rdb_last_cow_size", this.lastCowSize],
      ["rdb_last_load_keys_expired", this.lastLoadKeysExpired],
      ["rdb_last_load_keys_loaded", this.lastLoadKeysLoaded],
      ...this.aof.infoFields(),
      ["module_fork_in_progress", 0],
      ["module_fork_last_cow_size", 0],
      ...this.aof.sizeFields(),
    ];
    const l = this.loading ?? this.shownLoading;
    if (l) {
      const perc = l.totalBytes ? (l.loadedBytes / l.totalBytes) * 100 : 0;
      const elapsed = Math.floor((now - l.startedAt) / 1000);
      const eta = elapsed === 0 ? 1 : Math.floor((elapsed * Math.max(1, l.totalBytes - l.loadedBytes)) / (l.loadedBytes + 1));
      fields.push(
        ["loading_start_time", Math.floor(l.startedAt / 1000)],
        ["loading_total_bytes", l.totalBytes],
        ["loading_rdb_used_mem", 0],
        ["loading_loaded_bytes", l.loadedBytes],
        ["loading_loaded_perc", perc.toFixed(2)],
        ["loading_eta_seconds", eta],
      );
    }
    return fields;
  }

  private keysAtStart = 0;
  private peakCow = 0;
  lastCowSize = 0;
  private cowPeak(snap: BackgroundSnapshot | null): number {
    if (snap) this.peakCow = Math.max(this.peakCow, snap.cowBytes());
    return snap ? this.peakCow : 0;
  }

  /** Keys in every db (current_save_keys_total's estimate). */
  keyCount(): number {
    let n = 0;
    const dbs = this.server.config.getNumber("databases");
    for (const s of this.server.shards) for (let db = 0; db < dbs; db++) n += s.kernel.x.dbSize(db);
    return n;
  }
}

/** redis-check-rdb's names of the RDB object types (rdb_type_string). */
const RDB_TYPE_NAMES: Record<number, string> = {
  0: "string", 1: "list-linked", 2: "set-hashtable", 3: "zset-v1", 4: "hash-hashtable", 5: "zset-v2",
  6: "module-value", 9: "hash-zipmap", 10: "list-ziplist", 11: "set-intset", 12: "zset-ziplist",
  13: "hash-ziplist", 14: "quicklist", 15: "stream", 16: "hash-listpack", 17: "zset-listpack",
  18: "quicklist-v2",
};

/** Empties every db of every shard (Redis's emptyData), releasing host values. */
export function emptyData(server: Server): void {
  const now = server.now();
  // Redis's emptyData is no command: it propagates nowhere (a master's DEBUG RELOAD flushed
  // its replicas, whose data then never came back) and counts no call or change. The local
  // watchers (WATCH, client tracking, a replica's list of keys with TTLs) still see the
  // flush, as signalFlushedDb tells them. SYNC: it is no user flush (lazyfree-lazy-user-flush).
  const before = server.effects.propagateTo;
  server.effects.propagateTo = 0;
  try {
    for (const s of server.shards) s.callInternal(FLUSHALL_SYNC, 0, now);
  } finally {
    server.effects.propagateTo = before;
  }
}
const FLUSHALL_SYNC = [Buffer.from("FLUSHALL"), Buffer.from("SYNC")];

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (err.code === "EACCES") return "Permission denied";
  if (err.code === "EISDIR") return "Is a directory";
  return err.message;
}

/** The foreground save's temporary file (Redis's temp-<pid>.rdb), in the working directory. */
function tempRdbPath(): string {
  return resolve(`temp-${process.pid}.rdb`);
}

/** Opens `tmp` and writes the image (after `before`, a fault point); the open fd. */
function writeTemp(tmp: string, data: Uint8Array, before?: () => void): number {
  const fd = openSync(tmp, "w");
  try {
    before?.();
    writeSync(fd, data);
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** A foreground save that failed: logged, and its temp file removed. */
function saveFailed(tmp: string, e: unknown): false {
  log("warning", `Failed saving the DB: ${(e as Error).message}`);
  try { unlinkSync(tmp); } catch { /* never created */ }
  return false;
}
