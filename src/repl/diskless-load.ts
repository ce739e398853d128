// A replica's diskless load (repl-diskless-load swapdb / on-empty-db): the master's RDB is
// parsed as it arrives on the link, as Redis's replica reads it with rdbLoadRio over the
// connection. The replica is loading from the payload's first byte (INFO loading:1 and
// -LOADING, or async_loading:1 when swapdb keeps serving the old data); it reads the socket
// only as fast as it loads (key-load-delay slows the load, and so the reading: the master
// sees a slow replica); it sends the master a newline a second meanwhile, as Redis's
// loading callback does, so the master does not time it out.
//
// Where the records go:
//  - swapdb: into a temporary set (Redis's tempDb), swapped in once the whole payload is
//    loaded and checked; a transfer that fails leaves the old data untouched. The keys go
//    into the kernel's second set of dbs as they arrive (Shard.tempDbs), so the swap is a
//    pointer exchange per shard, as Redis's swapMainDbWithTempDb; in cluster mode (db 0's
//    slot index is the live set's) they are held as records and stored at the swap.
//  - on-empty-db (the replica holds no keys): the old data is flushed and the records are
//    stored as they come; a transfer that fails empties the half-loaded data.
import type { Socket } from "node:net";
import type { Server } from "../server/server.js";
import { log } from "../server/log.js";
import { emptyData, persistenceOf } from "../persistence/persistence.js";
import { functionsHook, type RdbRecord } from "../persistence/rdb-file.js";
import { RdbStreamParser } from "../persistence/rdb-stream.js";

/** How long one slice of parsing may hold the event loop. */
const SLICE_MS = 5;
/** Stop reading the socket while this many bytes wait to be parsed (and the parser is not starved). */
const HIGH_WATER = 1 << 20;

export type DisklessResult = { ok: true; rest: Buffer; bytes: number } | { ok: false };

export class DisklessLoad {
  private readonly parser: RdbStreamParser;
  /** swapdb: the records loaded so far, swapped in at the end (the keys only in cluster mode). */
  private held: RdbRecord[] = [];
  /** swapdb outside cluster mode: keys go to the shards' temp dbs as they arrive. */
  private readonly temp: boolean;
  /** Keys of the temp set that clients may block on (lists, zsets, streams): signalled at the swap. */
  private waitable: { db: number; key: Buffer }[] = [];
  private keys = 0;
  private fed = 0;
  /** The last 40 bytes fed (EOF mode: the payload may be complete when they are the mark). */
  private last40 = Buffer.alloc(0);
  private pumping = false;
  /** When the load last moved (a record stored or bytes read): the link's repl-timeout counts from it. */
  lastProgress = Date.now();
  /** Set once the RDB was read: what followed it, until the end mark is complete. */
  private afterPayload: Buffer | null = null;
  private over = false;
  private paused = false;
  private readonly alive: NodeJS.Timeout;
  private readonly release: () => void;
  readonly done: Promise<DisklessResult>;
  private resolve!: (r: DisklessResult) => void;

  /**
   * swapdb: load into a temporary set; async: the old data is served meanwhile (same
   * replid). mark: the EOF mark (diskless master) or null with a $<len> payload of `size`.
   */
  constructor(private readonly server: Server, private readonly socket: Socket,
    private readonly opts: { swapdb: boolean; async: boolean; mark: Buffer | null; size: number }) {
    this.done = new Promise((r) => { this.resolve = r; });
    const p = persistenceOf(server);
    this.release = p.holdLoading(opts.async, opts.size);
    this.parser = new RdbStreamParser({ checksum: true, databases: server.config.getNumber("databases") });
    this.temp = opts.swapdb && !server.cluster;
    if (this.temp) for (const s of server.shards) { s.tempDbs("discard"); s.tempDbs("create"); }
    if (!opts.swapdb) {
      log("notice", "MASTER <-> REPLICA sync: Flushing old data");
      emptyData(server);
      functionsHook.clear(server);
    }
    log("notice", "MASTER <-> REPLICA sync: Loading DB in memory");
    this.alive = setInterval(() => { if (!socket.destroyed) socket.write("\n"); }, 1000);
  }

  /** Payload bytes read from the master (and anything after them). */
  feed(chunk: Buffer): void {
    if (this.over || chunk.length === 0) return;
    if (this.afterPayload) {
      this.fed += chunk.length;
      this.afterPayload = Buffer.concat([this.afterPayload, chunk]);
      return this.checkMark();
    }
    this.parser.push(chunk);
    this.fed += chunk.length;
    this.last40 = Buffer.concat([this.last40, chunk.subarray(Math.max(0, chunk.length - 40))]);
    if (this.last40.length > 40) this.last40 = this.last40.subarray(this.last40.length - 40);
    void this.pump();
  }

  /** Bytes of the payload read and parsed so far (INFO master_sync_read_bytes counts what was read). */
  get readBytes(): number { return this.fed; }

  /**
   * The link closed mid-transfer. Redis's replica reads the payload from the connection as it
   * loads, so it sees the EOF only once it has loaded what it had already received (with
   * key-load-delay, long after the master dropped it: integration/replication "diskless
   * replication child being killed is collected" counts on that quiet spell). The load goes
   * on with the bytes already here and fails when it needs more; `done` tells the link when.
   * Whether it is still going (false: it failed now, nothing was pending).
   */
  linkLost(): boolean {
    if (this.over) return false;
    this.lost = true;
    if (!this.pumping) this.abort();
    return !this.over;
  }

  /** Set by linkLost: no more bytes will come. */
  private lost = false;

  /** The transfer was cut (the link closed): the load fails, the old data stays (swapdb) or is emptied. */
  abort(): void {
    if (this.over) return;
    log("warning", `Internal error in RDB reading offset ${this.parser.consumed}, function at rdb.c:0 -> Unexpected EOF reading RDB file`);
    this.fail("Unexpected EOF reading RDB file");
  }

  /** Whether the payload may be complete with what was read: then a short record is retried at once. */
  private mayBeComplete(): boolean {
    if (this.opts.mark) return this.last40.equals(this.opts.mark);
    return this.fed >= this.opts.size;
  }

  private async pump(): Promise<void> {
    if (this.pumping || this.over) return;
    this.pumping = true;
    const p = persistenceOf(this.server);
    try {
      let owedUs = 0;
      for (;;) {
        const until = performance.now() + SLICE_MS;
        const delayUs = this.server.config.getNumber("key-load-delay");
        let r: RdbRecord | "more" | "done" = "more";
        for (;;) {
          r = this.parser.next(this.mayBeComplete());
          if (r === "more" || r === "done") break;
          this.record(r);
          p.noteLoadedBytes(this.parser.consumed);
          this.lastProgress = Date.now();
          if (r.kind === "key" && delayUs > 0) { owedUs += delayUs; if (owedUs >= 1000) break; }
          else if (performance.now() >= until) break;
        }
        if (this.over) return;
        if (r === "done") return this.finish();
        if (r === "more") {
          if (this.lost) return this.abort(); // what the link gave before it closed is loaded
          this.flow(false);
          return;
        }
        // A slice is spent: read no further ahead than the load while it waits.
        this.flow(this.parser.pending > HIGH_WATER && !this.parser.starved);
        if (owedUs >= 1000) {
          const ms = Math.floor(owedUs / 1000);
          owedUs -= ms * 1000;
          await new Promise((res) => setTimeout(res, ms));
        } else {
          await new Promise((res) => setImmediate(res));
        }
        if (this.over) return;
      }
    } catch (e) {
      log("warning", `Internal error in RDB reading offset ${this.parser.consumed}, function at rdb.c:0 -> ${(e as Error).message}`);
      this.fail((e as Error).message);
    } finally {
      this.pumping = false;
    }
  }

  private flow(pause: boolean): void {
    if (pause === this.paused || this.socket.destroyed) return;
    this.paused = pause;
    if (pause) this.socket.pause(); else this.socket.resume();
  }

  private record(r: RdbRecord): void {
    if (r.kind === "resize") {
      // Size the table the keys go to: the temp set, or the live one when they go in as read
      // (swapdb without a temp set holds its records until the swap: no hint then).
      if (this.temp) persistenceOf(this.server).reserveKeys(r.db, r.size, true);
      else if (!this.opts.swapdb) persistenceOf(this.server).applyMasterRecord(r);
      return;
    }
    if (r.kind !== "key" && r.kind !== "function") return;
    if (r.kind === "key") this.keys++;
    if (this.temp && r.kind === "key") {
      persistenceOf(this.server).applyMasterKeyTemp(r.key);
      const t = r.key.value.type;
      if (t === "list" || t === "zset" || t === "stream") this.waitable.push({ db: r.key.db, key: r.key.key });
    } else if (this.opts.swapdb) this.held.push(r);
    else persistenceOf(this.server).applyMasterRecord(r);
  }

  /** The RDB is all here and checked; EOF mode: the mark must follow it. */
  private finish(): void {
    this.afterPayload = this.parser.takeRest();
    this.checkMark();
  }

  /** After the payload: the 40-byte end mark (EOF mode), then the stream. */
  private checkMark(): void {
    const rest = this.afterPayload!;
    let stream = rest;
    if (this.opts.mark) {
      if (rest.length < 40) return; // the mark is still on its way
      if (!rest.subarray(0, 40).equals(this.opts.mark)) {
        log("warning", "Replication stream EOF marker is broken");
        return this.fail("EOF marker is broken");
      }
      stream = rest.subarray(40);
    }
    this.over = true;
    clearInterval(this.alive);
    this.flow(false);
    const p = persistenceOf(this.server);
    if (this.opts.swapdb) {
      log("notice", "MASTER <-> REPLICA sync: Swapping active DB with loaded DB");
      // The old data leaves as a flush does (watched keys touched, tracking told, its values
      // freed), then the loaded set takes its place.
      emptyData(this.server);
      if (this.temp) {
        for (const s of this.server.shards) { s.tempDbs("swap"); s.tempDbs("discard"); }
        // Clients blocked on a key the new data holds are served (Redis's scanDatabaseForReadyKeys).
        for (const w of this.waitable) this.server.types.onAdd(w.db, w.key);
        this.waitable = [];
      }
      functionsHook.clear(this.server);
      for (const r of this.held) p.applyMasterRecord(r);
      this.held = [];
      log("notice", "MASTER <-> REPLICA sync: Discarding old DB in background");
    }
    p.masterLoadDone(this.keys);
    this.release();
    this.resolve({ ok: true, rest: Buffer.from(stream), bytes: this.parser.consumed });
  }

  private fail(why: string): void {
    if (this.over) return;
    this.over = true;
    clearInterval(this.alive);
    log("warning", `Failed trying to load the MASTER synchronization DB from socket: ${why}`);
    if (this.opts.swapdb) {
      this.held = [];
      this.waitable = [];
      if (this.temp) for (const s of this.server.shards) s.tempDbs("discard");
      log("notice", "MASTER <-> REPLICA sync: Discarding temporary DB in background");
    } else {
      // The half-loaded data of a replica that started empty goes.
      emptyData(this.server);
      functionsHook.clear(this.server);
    }
    this.release();
    this.resolve({ ok: false });
  }
}
