// A point-in-time RDB image of the whole server, written while clients keep being served
// (BGSAVE, BGREWRITEAOF's base): there is no fork, so the snapshot is copy-on-write per key.
//
// Kernel side (assembly/persistence/bgsave.ts): bgsaveBegin freezes each shard's keyspace
// tables and starts an epoch; bgsaveStep walks them a few buckets at a time; a write first
// emits the entry it is about to change (its pre-image). Both land in the shard's output
// region, drained here into the RDB writer.
//
// Host side (lists, sets, zsets, streams live in the HandleRegistry, the kernel entry holds
// a handle): the registry's watcher sees every value before a command can change or free it
// (HandleRegistry.get / free). A value not yet written is encoded right then and kept by
// handle until its entry's record arrives; a value never touched is read when its record
// arrives. Values created after the start are marked written at birth. So each host value
// is encoded as it was at the start, however the record and the change interleave.
//
// The work runs in slices of about SLICE_MS between event-loop turns (setImmediate), so a
// client waits at most about one slice behind it. Begin costs one pass over the dbs to freeze
// them; nothing is proportional to the dataset's size.
import { setChildOomScoreAdj } from "../server/oom-score-adj.js";
import { setImmediate as nextTurn } from "node:timers/promises";
import { rename } from "node:fs/promises";
import { ChildWriter, type ChildExit } from "./child-writer.js";
import { log } from "../server/log.js";
import { slowDiskAsync } from "../server/faults.js";
import type { Server } from "../server/server.js";
import type { HostValue } from "../types/value.js";
import { RdbWriter, RDB_OPCODE_EOF, RDB_OPCODE_SELECTDB } from "./rdb-format.js";
import { Crc64 } from "./crc64.js";
import { objectType, writeObjectBody } from "./value-codec.js";
import { hostToRdb } from "./keyspace-io.js";
import { writeRdbHeader, accessFields, crdtStateHook, writeCrdtAux } from "./rdb-file.js";
import { writeKeyMeta, writeEntryRecord, entryExpireAt } from "./rdb-entry.js";
import { OBJ_STRING, OBJ_HASH, OBJ_LIST, OBJ_SET, OBJ_ZSET } from "../types/value.js";

/** How long one slice of snapshot work may hold the event loop. */
const SLICE_MS = 2;
/** Entries per kernel step between clock checks. */
const STEP_BUDGET = 512;

export interface SnapshotOptions {
  /** rdb-key-save-delay: microseconds to spend per key (tests use it to make a save slow). */
  keyDelayUs: number;
  /** Receives the file's bytes in order (the last call's end is the CRC). */
  write: (chunk: Buffer) => Promise<void>;
  /** What the image holds (a replica's REPLCONF rdb-filter-only); default everything. */
  parts?: SnapshotParts;
  /** The node's own RDB file: active-active's state of the same moment goes in too (rdb-file.ts crdtStateHook). */
  crdt?: boolean;
}

/** The parts of an RDB image: the keyspace, and the functions' libraries. */
export interface SnapshotParts { data: boolean; functions: boolean }

/** One running background snapshot; `done` resolves with the keys written, or rejects. */
export class BackgroundSnapshot {
  readonly done: Promise<number>;
  private aborted = false;
  private ended = false;
  private readonly written = new Set<number>();
  private readonly preimages = new Map<number, { type: number; body: Buffer }>();
  private readonly w: RdbWriter;
  private readonly crc = new Crc64();
  private readonly startMs: number;
  private readonly access: { lru: boolean; lfu: boolean };
  private lastDb = -1;
  keys = 0;
  /** Active-active's state as of the start, encoded after the keys (opts.crdt). */
  private crdt: { next(): Buffer | null; release(): void } | null = null;
  private hostCowBytes = 0;

  /**
   * What a fork's copy-on-write would have cost: bytes of the images copied because a
   * command was about to change a value not yet written (INFO current_cow_size).
   */
  cowBytes(): number {
    if (this.ended) return this.finalCowBytes;
    let n = this.hostCowBytes;
    for (const s of this.server.shards) n += s.kernel.x.bgsaveCowBytes();
    return n;
  }
  private finalCowBytes = 0;

  /** The longest time one slice held the event loop, and how many slices ran (log line). */
  longestSliceMs = 0;
  slices = 0;

  constructor(private readonly server: Server, private readonly opts: SnapshotOptions) {
    this.startMs = server.now();
    this.access = accessFields(server);
    const compress = server.config.getBool("rdbcompression");
    this.w = new RdbWriter(compress);
    writeRdbHeader(this.w, server, this.startMs, opts.parts?.functions ?? true);
    for (const s of server.shards) s.kernel.x.bgsaveBegin();
    // (taken in the same turn as the keyspace's: copy-on-write in the CRDT store until encoded)
    if (opts.crdt) this.crdt = crdtStateHook.begin(server);
    server.types.registry.watcher = {
      before: (h, v) => {
        if (this.written.has(h)) return;
        this.written.add(h);
        const pre = encodeHost(v, compress);
        this.hostCowBytes += pre.body.length;
        this.preimages.set(h, pre);
      },
      added: (h) => { this.written.add(h); },
    };
    this.done = this.run();
    // The caller observes `done`; an abort resolves it too.
    this.done.catch(() => {});
  }

  /** Stops the walk (FLUSHALL, shutdown): `done` resolves with -1 and nothing more is written. */
  abort(): void {
    this.aborted = true;
    this.end();
    this.crdt?.release(); // (the CRDT store stops keeping copies for it)
    this.crdt = null;
    this.keyDelay.end();
  }

  /** rdb-key-save-delay's sleeps between slices (abort ends the current one early). */
  private readonly keyDelay = new KeyDelay();

  private end(): void {
    if (this.ended) return;
    this.finalCowBytes = this.cowBytes();
    this.ended = true;
    for (const s of this.server.shards) s.kernel.x.bgsaveEnd();
    this.server.types.registry.watcher = null;
    this.preimages.clear();
    this.written.clear();
  }

  private async run(): Promise<number> {
    const shards = this.server.shards;
    // Without the keyspace (rdb-filter-only) there is nothing to walk: header, EOF, CRC.
    let shard = this.opts.parts?.data === false ? shards.length : 0;
    try {
      while (!this.aborted) {
        const sliceStart = performance.now();
        const until = sliceStart + SLICE_MS;
        const delayUs = this.opts.keyDelayUs;
        const keysBefore = this.keys;
        do {
          if (shard < shards.length && shards[shard].kernel.x.bgsaveStep(delayUs > 0 ? 1 : STEP_BUDGET)) shard++;
          this.drainAll();
        } while (shard < shards.length && performance.now() < until && (delayUs <= 0 || this.keys - keysBefore < 1));
        this.longestSliceMs = Math.max(this.longestSliceMs, performance.now() - sliceStart);
        this.slices++;
        if (shard >= shards.length) {
          // Every shard walked and drained in this same turn: no entry is left to change.
          this.end();
          if (this.crdt && !(await this.writeCrdt())) break;
          this.w.u8(RDB_OPCODE_EOF);
          await this.flush();
          if (this.aborted) return -1;
          const sum = this.crc.bytesLE();
          await this.opts.write(sum);
          // Aborted while the last bytes were in flight (FLUSHALL): the image is not delivered.
          return this.aborted ? -1 : this.keys;
        }
        await this.flush();
        if (this.aborted) break;
        if (delayUs > 0) {
          await this.keyDelay.sleep(((this.keys - keysBefore) * delayUs) / 1000);
        } else {
          await nextTurn();
        }
      }
      return -1;
    } finally {
      this.end();
      this.crdt?.release();
      this.crdt = null;
    }
  }

  /**
   * Active-active's state of the snapshot's moment, after the keys: a piece (a slot range's
   * keys) at a time, SLICE_MS of encoding per event-loop turn. The keyspace is walked and
   * drained by now, and the CRDT store keeps what changes meanwhile as it was (copy on write).
   * Returns false when aborted.
   */
  private async writeCrdt(): Promise<boolean> {
    for (;;) {
      const sliceStart = performance.now();
      const until = sliceStart + SLICE_MS;
      let piece: Buffer | null = null;
      while (performance.now() < until && (piece = this.crdt!.next()) !== null) writeCrdtAux(this.w, piece);
      this.longestSliceMs = Math.max(this.longestSliceMs, performance.now() - sliceStart);
      this.slices++;
      await this.flush();
      if (this.aborted) return false;
      if (piece === null && performance.now() < until) break;
      await nextTurn();
      if (this.aborted) return false;
    }
    this.crdt!.release();
    this.crdt = null;
    return true;
  }

  private async flush(): Promise<void> {
    for (const c of this.w.drain()) {
      if (this.aborted) return;
      this.crc.update(c);
      await this.opts.write(c);
    }
  }

  /** Moves every shard's records (walk and pre-images) into the RDB writer. */
  private drainAll(): void {
    for (const s of this.server.shards) {
      const x = s.kernel.x;
      const n = x.bgsaveOutLen();
      if (n === 0) continue;
      const p = x.bgsaveOutPtr();
      this.records(s.kernel.mem.subarray(p, p + n));
      x.bgsaveDrained();
    }
  }

  private records(buf: Uint8Array): void {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const registry = this.server.types.registry;
    const w = this.w;
    let off = 0;
    while (off < buf.length) {
      const db = dv.getUint32(off, true);
      const kl = dv.getUint32(off + 4, true);
      const keyOff = off + 8;
      off = keyOff + kl;
      const el = dv.getUint32(off, true);
      off += 4;
      const type = buf[off];
      const handle = dv.getInt32(off + 16, true);
      const at = off;
      off += el;
      // A set or zset with no handle is one the kernel holds, written in the record (parseEntry).
      const host = type !== OBJ_STRING && type !== OBJ_HASH && type !== OBJ_LIST && !((type === OBJ_ZSET || type === OBJ_SET) && handle === 0);
      if (host) {
        // Consume the handle's image whatever happens to the key, so a later change is not kept.
        const pre = this.preimages.get(handle);
        if (pre) this.preimages.delete(handle);
        else this.written.add(handle);
        const v = pre ? null : registry.peek(handle);
        if (!pre && !v) continue;
        this.selectDb(db);
        writeKeyMeta(w, entryExpireAt(dv, at), dv.getUint32(at + 4, true), this.access, this.startMs);
        if (pre) { w.u8(pre.type); w.stringAt(buf, keyOff, kl); w.raw(pre.body); }
        else { const rv = hostToRdb(v!); w.u8(objectType(rv)); w.stringAt(buf, keyOff, kl); writeObjectBody(w, rv); }
      } else {
        this.selectDb(db);
        writeEntryRecord(w, buf, dv, keyOff, kl, at, this.access, this.startMs, registry);
      }
      this.keys++;
    }
  }

  /** Records of several dbs interleave (pre-images): SELECTDB whenever the db changes. */
  private selectDb(db: number): void {
    if (db === this.lastDb) return;
    this.w.u8(RDB_OPCODE_SELECTDB);
    this.w.len(db);
    this.lastDb = db;
  }
}

function encodeHost(v: HostValue, compress: boolean): { type: number; body: Buffer } {
  const rv = hostToRdb(v);
  const w = new RdbWriter(compress);
  writeObjectBody(w, rv);
  return { type: objectType(rv), body: w.take() };
}

/** rdb-key-save-delay's sleeps in a background write (at least 1 ms each), which end() cuts short. */
class KeyDelay {
  private wake: (() => void) | null = null;

  sleep(ms: number): Promise<void> {
    return new Promise<void>((r) => {
      const t = setTimeout(() => { this.wake = null; r(); }, Math.max(1, ms));
      this.wake = () => { clearTimeout(t); this.wake = null; r(); };
    });
  }

  /** Ends the current sleep, if any. */
  end(): void {
    this.wake?.();
  }
}

/** Bytes to write made of what comes first, then one piece per key (an AOF rewrite's commands). */
export interface KeyPieces { prelude: Buffer; keys: Buffer[] }

/**
 * Writes pieces to the child, waiting rdb-key-save-delay microseconds after each key's (tests
 * make a rewrite slow with it: Redis's rewriteAppendOnlyFileRio calls debugDelay per key), or
 * all at once without a delay. False when the child exited meanwhile (killed: the wait ends).
 */
async function writePaced(child: ChildWriter, pieces: KeyPieces, delayUs: number): Promise<boolean> {
  if (delayUs <= 0) {
    await child.write(Buffer.concat([pieces.prelude, ...pieces.keys]));
    return true;
  }
  let gone = false;
  const delay = new KeyDelay();
  void child.exited.then(() => { gone = true; delay.end(); });
  await child.write(pieces.prelude);
  for (const k of pieces.keys) {
    if (gone) return false;
    await child.write(k);
    if (gone) return false; // (exited during the write: no wait)
    await delay.sleep(delayUs / 1000);
  }
  return !gone;
}

/** How a background job ended. `signal`: the child was killed (SIGUSR1 is no error). */
export type JobResult = { ok: true; keys: number } | { ok: false; signal: number | null; error: string };

/** A background write: the snapshot (or fixed bytes) streamed to a child writer. */
export interface BackgroundJob {
  /** The writer child's pid (-1 when it could not start). */
  readonly pid: number;
  /** The running snapshot, if the job writes one (INFO's progress and cow fields). */
  readonly snap: BackgroundSnapshot | null;
  readonly result: Promise<JobResult>;
  /** Abandons the job: the child gets SIGUSR1, the temp file is removed. */
  kill(): void;
}

/**
 * Starts a background job now (for a snapshot, this instant is the image's): the bytes go
 * to a child writer (child-writer.ts) that writes `tmp`; when the child exits cleanly the
 * file is fsynced and, with `dest`, renamed over it. Killing the child (kill -9 <pid>, as
 * Redis's tests do to its fork child) fails the job at once.
 */
export function startBackgroundWrite(server: Server, tmp: string, dest: string | null,
                                     source: "snapshot" | Buffer | KeyPieces, nameByChild?: (pid: number) => string, crdt = false): BackgroundJob {
  let child: ChildWriter;
  try {
    child = new ChildWriter(tmp, nameByChild);
  } catch (e) {
    const error = `Failed opening the temp file ${tmp.split("/").pop()} for saving: ${(e as Error).message}`;
    return { pid: -1, snap: null, result: Promise.resolve({ ok: false, signal: null, error }), kill: () => {} };
  }
  setChildOomScoreAdj(server, child.pid);
  let snap: BackgroundSnapshot | null = null;
  if (source === "snapshot") {
    snap = new BackgroundSnapshot(server, {
      keyDelayUs: server.config.getNumber("rdb-key-save-delay"),
      write: (chunk) => child.write(chunk),
      crdt,
    });
    // A child killed part-way stops the walk at once (it may be sleeping on a key delay).
    void child.exited.then(() => snap!.abort());
  }
  const result = (async (): Promise<JobResult> => {
    try {
      await slowDiskAsync();
      let keys = 0;
      if (snap) {
        keys = await snap.done;
        if (keys >= 0) log("verbose", `Background snapshot: ${keys} keys in ${snap.slices} slices, the longest ${snap.longestSliceMs.toFixed(1)} ms`);
      } else if (Buffer.isBuffer(source)) {
        await child.write(source);
      } else if (!(await writePaced(child, source as KeyPieces, server.config.getNumber("rdb-key-save-delay")))) {
        return failed(await child.exited, "the background writer was stopped");
      }
      if (keys < 0 || !(await child.finish())) {
        child.kill();
        return failed(await child.exited, "the background writer was stopped");
      }
      if (dest) await rename(child.tmpPath, dest);
      return { ok: true, keys };
    } catch (e) {
      child.kill();
      await child.exited;
      return failed(child.exit, (e as Error).message);
    }
  })();
  return { pid: child.pid, snap, result, kill: () => { child.kill(); snap?.abort(); } };
}

function failed(exit: ChildExit | null, error: string): JobResult {
  return { ok: false, signal: exit?.signal ?? null, error };
}
