// Replicator: turns local writes into CRDT deltas and merges remote deltas into the keyspace.
//
// Capture: it subscribes to the effect bus (src/server/effects.ts). For each write it reads
// the touched keys back (LocalKeyspace) and records the difference between what the key
// now holds and what the CRDT state shows, as local CRDT writes: INCR/DECR/INCRBY/DECRBY
// become counter increments, SADD/HSET/ZADD re-add the members they name (so a re-add wins
// over a concurrent remove), and everything else is diffed (members added or removed, a
// string or list rewritten, the TTL changed, the key gone). Reading back instead of
// re-deriving every command's semantics keeps the kernel and host the only authority on what
// a command did. Deltas made inside EXEC or a script are sent as one batch at its end.
//
// Apply: a remote batch is joined into the CRDT state; every key whose state changed is
// rewritten in the keyspace with its merged visible value, with capture suspended so it is
// not sent back out as a local write.
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import type { CommandSpec } from "../commands/table.js";
import { EFFECT_COMMAND, EFFECT_HINT_FLOAT_INCR, PROPAGATE_REPL, type Effect } from "../server/effects.js";
import { Hlc } from "./hlc.js";
import { CrdtStore, dbKey, splitDbKey, encodeBatch, decodeBatch } from "./store.js";
import { LocalKeys } from "./local-keys.js";
import type { Pacing } from "./gossip.js";
import { LocalKeyspace, parseScore, formatScore, type Actual } from "./keyspace-io.js";
import { scriptPaused, afterScript } from "../commands/scripting.js";
import { loadingData } from "../persistence/persistence.js";
import { raiseLoadingGate, type LoadProgress } from "./loading-gate.js";
import { buggify } from "../util/buggify.js";
import { WALK_STALL_MS } from "./faults.js";
import { orWinner, type OrRegister } from "./or-register.js";
import { gcKeyState } from "./gc.js";
import { alignLists, elemAlive, elemId, seqIndexOf, seqOrder, type ListElem } from "./seq.js";
import { compareStamp } from "./hlc.js";
import { parseDecimal, toUnits } from "./decimal.js";
import {
  visible, delDelta, setStringDelta, incrDelta, listEditDelta, elemWriteDelta, elemRemoveDelta, ttlDelta,
  clearTypesDelta, emptyKeyState, joinInto, maxStamp, visibleExpireAt, hincrDelta, visibleField, zincrDelta, visibleScore,
  incrUnitsDelta, hincrUnitsDelta, visibleString, typeStamps, ttlRemoveDelta, holdsOtherType,
  type KeyState, type Visible, type ElemKind, type ListEdit,
} from "./key-state.js";
import { BLANK, shrink, unshareFor } from "./compact-state.js";
import type { FileStates } from "./file-states.js";

const INCR_BY: Record<string, (argv: Buffer[]) => bigint> = {
  incr: () => 1n,
  decr: () => -1n,
  incrby: (a) => BigInt(a[2].toString("latin1")),
  decrby: (a) => -BigInt(a[2].toString("latin1")),
};

/** Writes that replace a string even with the same bytes (so they win over concurrent writes). */
const STRING_WRITES = new Set(["set", "mset", "msetnx", "setnx", "getset", "setex", "psetex"]);

/** Commands that edit a list in place (an emptied list is their last removals, not a DEL). */
const LIST_COMMANDS = new Set(["lpop", "rpop", "lmpop", "blpop", "brpop", "blmpop", "lrem", "ltrim", "lmove", "blmove", "rpoplpush", "brpoplpush"]);

const ZADD_FLAGS = new Set(["nx", "xx", "gt", "lt", "ch", "incr"]);

/** A keyspace walk's share of an event-loop turn (ms): that of a sliced join (gossip.ts JOIN_SLICE_MS). */
const WALK_SLICE_MS = 20;
/** Keys per SCAN call of a keyspace walk. */
const WALK_SCAN_COUNT = 1000;

/**
 * A walk of one db recording every key's difference from its CRDT state (walkDbs): SCAN
 * over the keyspace, then, with `removals`, the CRDT state's keys of that db SCAN did not
 * return (gone from the keyspace: recorded as deleted). A flush's walk (deleteAll) has no
 * SCAN: only the CRDT state's keys of the dbs it emptied.
 */
interface Walk {
  db: number;
  cursor: string;
  /** The keys SCAN returned (removals only). */
  seen?: Set<string>;
  /** The CRDT state's keys, once SCAN is done (removals only; a live Map iterator). */
  stored?: Iterator<string>;
  /** A flush's walk: the dbs FLUSHALL / FLUSHDB emptied (db is then unused). */
  flushed?: (db: number) => boolean;
  /** A flush's walk, first: the keys of the file states waiting to be joined (pendingSaved; a live Map iterator). */
  waiting?: Iterator<string>;
  /** A flush's walk: a stamp of this node's clock taken at the flush (every state of before it is older; flushedFirst). */
  flushStamp?: number;
}

export class Replicator {
  /**
   * Writes recorded from their effect record alone, never read back (fromRecord): they may
   * run in the same kernel call as the commands after them. The kernel hands every other
   * write back to run alone (active-active.ts), so reading its key back sees its own effect.
   * GETDEL, GETEX, SETEX and PSETEX, EXPIRE... are recorded as DEL, SET ... PXAT, PEXPIREAT
   * or PERSIST.
   */
  static readonly RECORDED = new Set(["set", "setnx", "getset", "mset", "msetnx", "setex", "psetex",
    "incr", "decr", "incrby", "decrby", "del", "unlink", "getdel", "getex",
    "expire", "pexpire", "expireat", "pexpireat", "persist", "hset", "hmset"]);

  readonly store = new CrdtStore();
  readonly hlc: Hlc;
  readonly io: LocalKeyspace;
  /**
   * Called with each outgoing batch of deltas (the peer links send it) and, per other node,
   * the greatest stamp of that node's list elements the batch carries (a pop or LSET of
   * another node's element carries the element: gossip.ts makes receivers wait for it).
   */
  onBatch: (batch: Buffer, carried: Map<string, number>) => void = () => {};
  readonly stats = { localDeltas: 0, remoteBatches: 0, remoteKeysChanged: 0, localOnly: 0, walkedKeys: 0 };
  /** Keys whose content this node keeps from its peers (redis.set_repl writes, loaded keys kept local). */
  readonly localKeys = new LocalKeys();
  private applying = false;
  private busy = false;
  private depth = 0;
  private readonly queue: Effect[] = [];
  private readonly outgoing = new Map<string, KeyState>();

  /**
   * The AOF's share (active-active.ts wires it; src/persistence/aof-crdt.ts): while it takes
   * writes, every delta this node records and every peer state that changed a key are kept
   * until the AOF takes them (takeFile), with the commands they go with; changed() says there
   * are some, once no MULTI/EXEC or script is open.
   */
  file?: { wants(): boolean; changed(): void; rewrite(): void };
  private toFile: [string, KeyState][] = [];
  /**
   * Keys whose delta in toFile is their outgoing one (emit), which later local deltas of the key
   * are joined into until a flush or takeFile: they need no entry of their own. (Each went in as
   * well before, so an HSET of 10 fields wrote its key's record ~twice: the first delta, grown
   * to all ten fields by the outgoing joins, then nine deltas of one field.)
   */
  private readonly fileHasOutgoing = new Set<string>();
  /** Times the file's state is as old as (loaded-keys.ts; -1: as new as the file), for the AOF. */
  private fileMarks: number[] = [];

  /** @param clock the physical clock of the HLC (ms; the server's, unless crdt-clock-offset-ms) */
  constructor(private readonly server: Server, readonly nodeId: string, clock: () => number = () => server.now()) {
    this.hlc = new Hlc(clock);
    this.io = new LocalKeyspace(server);
    server.effects.subscribe({
      onEffect: (e) => this.onEffect(e),
      onGroup: (begin) => this.onGroup(begin),
    });
  }

  private onEffect(e: Effect): void {
    if (this.applying) return;
    // The node's AOF being replayed (its writes carry no targets): that is the file's content,
    // which loaded-keys.ts decides about once it is loaded, not this node's new writes. Taken
    // for set_repl writes, every key it replayed was marked local, and a later restart kept
    // them from the peers, with their file states.
    if (this.server.effects.replaying) return;
    // A keyspace-wide command is recorded once, after its last shard's run (SWAPDB's walk
    // then reads both dbs whole, not half swapped).
    if (e.fanOutPart) return;
    // A script's write that redis.set_repl kept from replicas (REPL_NONE, REPL_AOF) is not
    // sent to peers either: it stays this node's until a later write of the key replaces it,
    // across restarts too (local-keys.ts).
    if (e.targets !== undefined && !(e.targets & PROPAGATE_REPL)) { this.stats.localOnly++; this.markLocal(e); return; }
    this.queue.push(e);
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length) this.capture(this.queue.shift()!);
    } finally {
      this.busy = false;
    }
    if (this.depth === 0) this.flushSoon();
  }

  /**
   * How a flush is put off to the end of the current turn (ActiveActive: a microtask, so a
   * pipelined read's writes leave as one batch per peer instead of one per command); unset
   * (the simulator), batches leave at once.
   */
  deferFlush?: (flush: () => void) => void;
  private flushQueued = false;

  private flushSoon(): void {
    this.fileChanged();
    if (!this.deferFlush) return this.flush();
    if (this.flushQueued) return;
    this.flushQueued = true;
    this.deferFlush(() => { this.flushQueued = false; this.flush(); });
  }

  /**
   * A Lua script paused past busy-reply-threshold (it goes on in later ticks) still owns the
   * keyspace: nothing else may write it in between, as nothing else runs during a script in
   * Redis (the AOF loader waits the same way). So does a load of the node's RDB/AOF, which
   * also goes on between turns (replication starts when the server listens, before the load):
   * a peer's state applied then was overwritten by the file's older value while the CRDT
   * state kept the newer one, and the node showed the old value for good
   * (test/integration/active-active-restart.test.ts).
   */
  keyspaceBusy(): boolean {
    if (this.hostBusy() || this.walks.length > 0) return true;
    this.loadEndNow();
    return this.loadEnding;
  }

  /** A paused script or a load owns the keyspace (a walk waits for it too). */
  private hostBusy(): boolean {
    return scriptPaused(this.server) || loadingData(this.server);
  }

  /** Runs f now, or once the paused script, the load, or a keyspace walk (walkDbs) has ended. */
  whenKeyspaceFree(f: () => void): void {
    if (scriptPaused(this.server)) afterScript(this.server, f);
    else if (loadingData(this.server)) setTimeout(() => this.whenKeyspaceFree(f), 10); // (the load has no end hook)
    else if (this.walks.length > 0) this.walkWaiters.push(f);
    else {
      this.loadEndNow();
      if (this.loadEnding) this.loadEndWaiters.push(f);
      else f();
    }
  }

  /**
   * What runs once the load has ended, before anything else that waited for the keyspace
   * (loaded-keys.ts: its look at which keys the load left absent must come before any peer's
   * state writes them back; a peer's message polls for the load's end as it does). It may go
   * on over several event-loop turns: until it calls `done`, the keyspace counts as busy
   * (keyspaceBusy), so peers' messages and anything else that waits for it wait for it too.
   */
  private loadEndFirst?: (done: () => void) => void;
  /** Set from the start of the load-end step until it calls `done` (see loadEndFirst). */
  private loadEnding = false;
  private loadEndWaiters: (() => void)[] = [];

  /** Runs f at the load's end, first (see loadEndFirst): at once when the keyspace is free. */
  atLoadEnd(f: (done: () => void) => void): void {
    this.loadEndFirst = f;
    this.whenKeyspaceFree(() => {});
  }

  private loadEndNow(): void {
    const f = this.loadEndFirst;
    if (!f) return;
    this.loadEndFirst = undefined;
    this.loadEnding = true;
    f(() => {
      this.loadEnding = false;
      const waiters = this.loadEndWaiters;
      this.loadEndWaiters = [];
      for (const w of waiters) this.whenKeyspaceFree(w);
    });
  }

  /** Whether the node's start-up load is still to come or under way (persistence.ts loadingData). */
  loadPending(): boolean {
    return loadingData(this.server);
  }

  /**
   * Calls `before` ahead of each client command until the function returned is called, with
   * the command's spec, or undefined when the command only reads (Redis's `readonly` or
   * `loading` flag: it writes no key) or is unknown (refused later). During a load, the load's
   * gate answers the others -LOADING before this runs. The gate holds no cron back
   * (Server.watchOnlyGates): the server's housekeeping goes on while it looks.
   */
  beforeCommands(before: (write: CommandSpec | undefined, client: Client, argv: Buffer[]) => void): () => void {
    const server = this.server;
    const previous = server.inputGate;
    let on = true;
    const gate = (client: Client, argv: Buffer[]): boolean => {
      if (on) {
        const spec = server.resolveCommand(argv).spec;
        const write = spec !== undefined && !spec.flags.has("readonly") && !spec.flags.has("loading") ? spec : undefined;
        before(write, client, argv);
      }
      return previous ? previous(client, argv) : false;
    };
    // (over a load's or a busy script's gate it stands for that gate: the cron waits)
    if (previous === null || server.watchOnlyGates.has(previous)) server.watchOnlyGates.add(gate);
    server.inputGate = gate;
    return () => {
      on = false;
      if (server.inputGate === gate) server.inputGate = previous;
    };
  }

  private onGroup(begin: boolean): void {
    if (this.applying) return;
    if (begin) this.depth++;
    else if (this.depth > 0 && --this.depth === 0) this.flushSoon();
  }

  /** Records every key the keyspace already holds as this node's writes (replication starting late). */
  seedFromKeyspace(databases: number): void {
    const dbs: number[] = [];
    for (let db = 0; db < databases; db++) if (this.io.run(db, "DBSIZE") !== 0) dbs.push(db);
    this.walkDbs(dbs, false); // (the CRDT state is empty: nothing in it to find gone)
  }

  /**
   * How keyspace walks (walkDbs) share event-loop turns; unset (the simulator), a walk runs
   * in the turn that asked for it.
   */
  pacing?: Pacing;
  private readonly walks: Walk[] = [];
  /** Whether a keyspace walk is under way (INFO crdt: crdt_walking). */
  get walking(): boolean { return this.walks.length > 0; }
  private walkWaiters: (() => void)[] = [];

  /**
   * Records how every key of the dbs differs from its CRDT state (CRDT.PEER ADD on a node
   * holding data, SWAPDB), a slice of WALK_SLICE_MS per event-loop turn, flushing the
   * deltas at the end of each: one KEYS * and a sync of every key in one turn held the loop as
   * long as the keyspace is large. Meanwhile the keyspace counts as busy (keyspaceBusy):
   * peers' messages wait, as during a load, so a peer's state cannot overwrite a key this
   * node holds before the walk has recorded it as this node's write. A client's write
   * meanwhile is recorded as usual, and the walk's sync of that key finds nothing more
   * (sync records only what differs); a key SCAN returns twice is synced twice, harmlessly.
   * A SWAPDB during a walk queues a new walk of both dbs (SCAN's cursor does not survive the
   * swap; the walk under way goes on, and the new one records what it missed).
   */
  private walkDbs(dbs: number[], removals: boolean): void {
    this.startWalks(dbs.map((db) => ({ db, cursor: "0", seen: removals ? new Set() : undefined })));
  }

  private startWalks(ws: Walk[]): void {
    if (ws.length === 0) return;
    const idle = this.walks.length === 0;
    this.walks.push(...ws);
    if (idle) this.walkStep();
  }

  private walkStep(): void {
    // A script holding the keyspace between its calls (a busy script): not in the middle of it.
    if (this.hostBusy()) { this.whenHostFree(() => this.walkStep()); return; }
    const pacing = this.pacing;
    const enough = pacing ? pacing.slice(WALK_SLICE_MS) : () => false;
    while (this.walks.length > 0) {
      const w = this.walks[0];
      if (!w.stored) {
        const [next, keys] = this.io.run(w.db, "SCAN", w.cursor, "COUNT", String(WALK_SCAN_COUNT)) as [Buffer, Buffer[]];
        for (const key of keys) { w.seen?.add(dbKey(w.db, key)); this.sync(w.db, key); }
        this.stats.walkedKeys += keys.length;
        w.cursor = next.toString("latin1");
        if (w.cursor === "0") {
          if (w.seen) w.stored = this.store.keys.keys();
          else this.walks.shift();
        }
      } else {
        // (a live iterator: keys added meanwhile were written since, so their state is current)
        const prefix = `${w.db}:`;
        for (let n = 0; n < 256; n++) {
          if (w.waiting) {
            const it = w.waiting.next();
            if (it.done) { w.waiting = undefined; continue; }
            // (a key written since the flush has no waiting state any more: emit dropped it)
            const s = this.pendingSaved?.get(it.value);
            if (s && w.flushed!(splitDbKey(it.value).db)) this.emit(it.value, delDelta(s, this.nodeId, this.hlc.tick()));
            continue;
          }
          const it = w.stored.next();
          if (it.done) { this.walks.shift(); break; }
          const k = it.value;
          if (w.flushed) {
            const { db, key } = splitDbKey(k);
            if (w.flushed(db)) this.sync(db, key);
          } else if (k.startsWith(prefix) && !w.seen!.has(k)) this.sync(w.db, splitDbKey(k).key);
        }
      }
      // (not in the middle of a MULTI/EXEC or script: its deltas leave as one batch at its end)
      if (this.walks.length === 0) break;
      const stall = !!pacing && buggify("crdt-walk-stall"); // (a test's fault point: faults.ts)
      if (stall || enough()) {
        if (this.depth === 0) this.flush();
        if (stall) setTimeout(() => this.walkStep(), WALK_STALL_MS);
        else pacing!.later(() => this.walkStep());
        return;
      }
    }
    if (this.depth === 0) this.flush();
    const waiters = this.walkWaiters;
    this.walkWaiters = [];
    for (const f of waiters) this.whenKeyspaceFree(f);
  }

  /** whenKeyspaceFree without waiting for a walk (the walk's own steps). */
  private whenHostFree(f: () => void): void {
    if (scriptPaused(this.server)) afterScript(this.server, f);
    else if (loadingData(this.server)) setTimeout(() => this.whenHostFree(f), 10);
    else f();
  }

  /**
   * A live file state whose key the load left absent (loaded-keys.ts takeSaved): recorded as
   * this node's delete of exactly what the state saw, as the command that removed the key
   * would have been recorded had the node not stopped first (a flush's walk, a SWAPDB's);
   * the caller flushes.
   */
  recordLoadedGone(k: string, s: KeyState): void {
    // (kept small, as the store keeps states: it waits in the outgoing batch, and the AOF's
    // record when there is one, until the check's slice ends; fourteen maps each of 1M deletes
    // took the heap's peak to 2 GB, and most of the check's time went to collecting them)
    const d = delDelta(s, this.nodeId, this.hlc.tick());
    shrink(d);
    this.emit(k, d);
  }

  /**
   * Records a key loaded from the node's file as this node's write, unless it has CRDT state
   * by now (a client wrote it, or a peer's state for it arrived: that wins) or is gone
   * (loaded-keys.ts). Returns whether it was recorded; the caller flushes.
   */
  recordLoaded(db: number, key: Buffer): boolean {
    if (this.store.keys.has(dbKey(db, key))) return false;
    this.sync(db, key);
    return this.store.keys.has(dbKey(db, key));
  }

  /** Sends what local writes produced since the last flush, as one batch. */
  flush(): void {
    this.fileChanged();
    if (this.outgoing.size === 0) return;
    const batch = encodeBatch(this.outgoing);
    const carried = new Map<string, number>();
    for (const d of this.outgoing.values()) {
      for (const e of d.list.elems.values()) if (e.node !== this.nodeId && e.ts > (carried.get(e.node) ?? 0)) carried.set(e.node, e.ts);
    }
    this.outgoing.clear();
    this.fileHasOutgoing.clear();
    this.onBatch(batch, carried);
  }

  /** Tells the AOF it has CRDT writes to take, unless a MULTI/EXEC or script is still open. */
  private fileChanged(): void {
    if (this.depth === 0 && (this.toFile.length !== 0 || this.fileMarks.length !== 0)) this.file?.changed();
  }

  /**
   * The CRDT writes kept for the AOF since its last call (saved-state.ts filePieces encodes
   * them), and the marks (fileMark); nothing while a MULTI/EXEC or script is open (its
   * commands go into the AOF at its end, and its writes with them).
   */
  takeFile(): { entries: [string, KeyState][]; marks: number[] } | null {
    if (this.depth > 0 || (this.toFile.length === 0 && this.fileMarks.length === 0)) return null;
    const entries = this.toFile;
    const marks = this.fileMarks;
    this.fileHasOutgoing.clear();
    this.toFile = [];
    this.fileMarks = [];
    return { entries, marks };
  }

  /** A mark for the AOF (loaded-keys.ts): what it holds so far is as old as `since` (-1: as new as the file). */
  fileMark(since: number): void {
    this.fileMarks.push(since);
    this.fileChanged();
  }

  /**
   * The states the AOF held when it was loaded were dropped (loaded-keys.ts: a file older than
   * a removal the peers collected): it is rewritten, so that it holds what this node holds.
   * No mark can say so: "as new as it looks" would make those states count as new at the next
   * start, and without one the "as old as loaded" mark makes every later write count as that old.
   */
  fileDropped(): void {
    this.file?.rewrite();
  }

  // ---- capture ------------------------------------------------------------------------------

  /** The keys a write kept from the peers wrote (MOVE and COPY: the one they wrote in the other db). */
  private markLocal(e: Effect): void {
    if (e.kind !== EFFECT_COMMAND) return;
    const argv = e.argv;
    const name = argv[0].toString("latin1").toLowerCase();
    if (name === "move") { this.localKeys.add(dbKey(Number(argv[2]), argv[1])); return; }
    if (name === "copy") {
      let db = e.db;
      for (let i = 3; i + 1 < argv.length; i++) if (argv[i].toString("latin1").toLowerCase() === "db") db = Number(argv[i + 1]);
      this.localKeys.add(dbKey(db, argv[2]));
      return;
    }
    for (const key of this.keysOf(name, argv)) this.localKeys.add(dbKey(e.db, key));
  }

  /**
   * The live key states this node's RDB carried, while loaded-keys.ts has not joined them yet:
   * a local write of such a key joins its entry first when the key holds no other state, else
   * drops it (adoptWaiting), and the key's tombstones are not collected meanwhile (CrdtStore.gcHold).
   */
  private pendingSaved?: FileStates;

  /** Sets (or, undefined, clears) the file states waiting to be joined (see pendingSaved). */
  holdSaved(states: FileStates | undefined): void {
    this.pendingSaved = states;
    this.store.gcHold = states;
  }

  /**
   * A local write of a key whose file state is waiting (pendingSaved) and which holds no other
   * state: the file state is joined first, so the write is recorded against what the node had
   * seen of the key. Without it a DEL found no state and recorded nothing (the state, joined
   * later, brought the key back), and any write was recorded against an empty state, so the
   * key's older writes a peer still holds were not removed by it. The keyspace holds the
   * file's value then (loaded from the same file), so the join changes nothing a client sees.
   * A key holding a peer's state by now shows that state, not the file's: its file state is
   * dropped (emit), as before.
   */
  private adoptWaiting(k: string): void {
    const st = this.pendingSaved!.get(k);
    if (st === undefined) return;
    this.pendingSaved!.delete(k);
    // (loaded-keys.ts observes each file state as it goes over them: this one may come first)
    this.hlc.observe(maxStamp(st));
    if (!this.store.keys.has(k)) this.store.join(k, st);
  }

  private emit(k: string, d: KeyState): void {
    // a replicated write of a key kept local: the key is the peers' business again
    if (this.localKeys.keys.size !== 0) this.localKeys.delete(k);
    if (this.pendingSaved !== undefined) this.pendingSaved.delete(k);
    this.store.join(k, d);
    const acc = this.outgoing.get(k);
    // (a delta may be compact, recordLoadedGone: it gets its own maps where d writes)
    if (acc) { unshareFor(acc, d); joinInto(acc, d); }
    else this.outgoing.set(k, d);
    if (this.file?.wants()) {
      // (acc, in toFile since the key's first delta of this batch, just took d)
      if (acc === undefined) { this.toFile.push([k, d]); this.fileHasOutgoing.add(k); }
      else if (!this.fileHasOutgoing.has(k)) this.toFile.push([k, d]);
    }
    this.stats.localDeltas++;
  }

  /** The key's state, to read (a key with none: the shared BLANK, which refuses writes). */
  private state(k: string): KeyState {
    return this.store.get(k) ?? BLANK;
  }

  private capture(e: Effect): void {
    if (e.kind !== EFFECT_COMMAND) { // expired or evicted: the key is gone
      if (this.pendingSaved?.size) this.adoptWaiting(dbKey(e.db, e.argv[0]));
      return this.recordGone(e.db, e.argv[0]);
    }
    const argv = e.argv;
    let name = argv[0].toString("latin1").toLowerCase();
    // INCRBYFLOAT / HINCRBYFLOAT are recorded as the SET / HSET of their result (as Redis
    // propagates them); the hint says so, and the increment is the result minus the value
    // the key held before (floatIncr).
    if (e.hint !== undefined && (e.hint & EFFECT_HINT_FLOAT_INCR) !== 0) name = name === "hset" ? "hincrbyfloat" : "incrbyfloat";
    switch (name) {
      case "flushall": return this.deleteAll(() => true);
      case "flushdb": return this.deleteAll((db) => db === e.db);
      case "swapdb": {
        const a = Number(argv[1]), b = Number(argv[2]);
        // (file states not joined yet name their keys' db before the swap: dropped, their keys
        // are recorded by the walk as this node's writes)
        this.pendingSaved?.clear();
        return this.walkDbs(a === b ? [a] : [a, b], true);
      }
      case "move":
        if (this.pendingSaved?.size) { this.adoptWaiting(dbKey(e.db, argv[1])); this.adoptWaiting(dbKey(Number(argv[2]), argv[1])); }
        if (this.walks.length) { this.flushedFirst(e.db, argv[1]); this.flushedFirst(Number(argv[2]), argv[1]); }
        this.sync(e.db, argv[1]); return this.sync(Number(argv[2]), argv[1]);
      case "copy": {
        let db = e.db;
        for (let i = 3; i + 1 < argv.length; i++) if (argv[i].toString("latin1").toLowerCase() === "db") db = Number(argv[i + 1]);
        if (this.pendingSaved?.size) this.adoptWaiting(dbKey(db, argv[2]));
        if (this.walks.length) this.flushedFirst(db, argv[2]);
        return this.sync(db, argv[2]);
      }
    }
    if (this.pendingSaved?.size) for (const key of this.keysOf(name, argv)) this.adoptWaiting(dbKey(e.db, key));
    // (after adoptWaiting: a waiting file state adopted now is of before the flush too)
    if (this.walks.length) for (const key of this.keysOf(name, argv)) this.flushedFirst(e.db, key);
    if (this.fromRecord(e.db, name, argv, e.intResult)) return;
    const keys = this.keysOf(name, argv);
    const rewrite = STRING_WRITES.has(name);
    for (const k of keys) this.sync(e.db, k, name, argv, rewrite);
  }

  // ---- capture from the effect record alone ----------------------------------------------------
  //
  // Writes whose effect record says all the slow path (sync) would read back: the key's
  // value and TTL after a SET (the kernel records an expiry as an absolute PXAT), the value an
  // INCR produced (the record carries it: assembly/effects.ts HINT_INT_RESULT), a key gone
  // (DEL, UNLINK, expired, evicted), an absolute TTL set or removed. They are recorded with
  // no keyspace read, exactly as sync would record them.

  /** Records the write from its effect record; false when the slow path (sync) must read the key. */
  private fromRecord(db: number, name: string, argv: Buffer[], intResult: bigint | undefined): boolean {
    switch (name) {
      case "set": {
        let expireAt = 0;
        for (let i = 3; i < argv.length; i++) {
          const opt = argv[i].toString("latin1").toLowerCase();
          if (opt === "nx" || opt === "xx") continue;
          if (opt === "pxat" && i + 1 < argv.length) { expireAt = Number(argv[++i].toString("latin1")); continue; }
          if (opt === "keepttl") {
            // the TTL the key had, which the replicated state shows (none for a new key: a TTL
            // register that outlived the key's other content does not apply)
            const s = this.store.get(dbKey(db, argv[1]));
            expireAt = s && typeStamps(s).size ? visibleExpireAt(s) : 0;
            continue;
          }
          return false; // anything unexpected: read it back
        }
        if (!(expireAt >= 0 && Number.isSafeInteger(expireAt))) return false;
        this.recordString(db, argv[1], argv[2], expireAt);
        return true;
      }
      case "setnx": case "getset":
        this.recordString(db, argv[1], argv[2], 0);
        return true;
      case "mset": case "msetnx":
        for (let i = 1; i + 1 < argv.length; i += 2) this.recordString(db, argv[i], argv[i + 1], 0);
        return true;
      case "incr": case "decr": case "incrby": case "decrby":
        return intResult !== undefined && this.recordIncr(db, argv[1], name, argv, intResult);
      case "del": case "unlink":
        for (let i = 1; i < argv.length; i++) this.recordGone(db, argv[i]);
        return true;
      case "sadd": case "hset": case "hmset": case "zadd": case "srem": case "hdel": case "zrem":
        return this.recordMembers(db, name, argv);
      case "pexpireat": case "persist": {
        const k = dbKey(db, argv[1]);
        const s = this.store.get(k);
        if (!s || !typeStamps(s).size) return false; // a key replication does not show: read it
        const expireAt = name === "persist" ? 0 : Number(argv[2].toString("latin1"));
        if (!Number.isSafeInteger(expireAt) || expireAt < 0) return false;
        if (visibleExpireAt(s) !== expireAt) this.emit(k, ttlDelta(s, this.nodeId, this.hlc.tick(), expireAt));
        return true;
      }
    }
    return false;
  }

  /** A string write that replaces the key with `value` and TTL `expireAt` (0: none), as sync records it. */
  private recordString(db: number, key: Buffer, value: Buffer, expireAt: number): void {
    const k = dbKey(db, key);
    let s = this.state(k);
    if (holdsOtherType(s, "string")) { this.emit(k, clearTypesDelta(s, "string", this.nodeId, this.hlc.tick())); s = this.state(k); }
    this.emit(k, setStringDelta(s, this.nodeId, this.hlc.tick(), value));
    s = this.state(k);
    if (visibleExpireAt(s) !== expireAt) this.emit(k, ttlDelta(s, this.nodeId, this.hlc.tick(), expireAt));
  }

  /**
   * INCR/DECR/INCRBY/DECRBY: this node's counter grows, and the kernel's result says what
   * the key holds now. When the counter's value is not that result (the keyspace held
   * something replication did not show, e.g. a script's redis.set_repl local write), the
   * result is recorded as the key's new value, as sync would record it. False only when the
   * increment is not an integer.
   */
  private recordIncr(db: number, key: Buffer, name: string, argv: Buffer[], result: bigint): boolean {
    const k = dbKey(db, key);
    let s = this.state(k);
    const types = typeStamps(s);
    let by: bigint;
    try { by = INCR_BY[name](argv); } catch { return false; }
    // The key holds a string now: other types' content (a hidden loser of a type conflict)
    // is removed as observed, as sync does for any write.
    if ([...types.keys()].some((t) => t !== "string")) { this.emit(k, clearTypesDelta(s, "string", this.nodeId, this.hlc.tick())); s = this.state(k); }
    this.emit(k, incrDelta(s, this.nodeId, this.hlc.tick(), by));
    const after = this.state(k);
    const v = visibleString(after);
    const value = Buffer.from(result.toString(), "latin1");
    if (!v || !v.equals(value)) {
      // The keyspace held something replication did not show: the result is what it holds now
      // (recorded as a write of that value; read back, it could already show a later command
      // of the same pipeline). The write of a value clears the TTL, which INCR keeps: the
      // keyspace's TTL is recorded again (read back: any later command of the pipeline that
      // changes it records its own TTL after this).
      this.diff(k, after, { type: "string", value, expireAt: visibleExpireAt(after) }, false, name);
      const st = this.state(k);
      const expireAt = this.io.expireAt(db, key);
      if (visibleExpireAt(st) !== expireAt) this.emit(k, ttlDelta(st, this.nodeId, this.hlc.tick(), expireAt));
      return true;
    }
    // a new key has no TTL (a TTL register that outlived the key's other content does not apply)
    if (!types.size && visibleExpireAt(after) !== 0) this.emit(k, ttlDelta(after, this.nodeId, this.hlc.tick(), 0));
    return true;
  }

  /**
   * SADD, HSET/HMSET, ZADD without flags: every member named now holds the value given (the
   * last one given, for a member named twice); SREM, HDEL, ZREM: none of the members named is
   * there. Recorded as syncMembers records them after reading them back. HSET/HMSET (kernel
   * commands that run inside a pipeline's one call: Replicator.RECORDED) clear other types'
   * hidden content as any write of a hash does; the others leave a key whose replicated state
   * holds other types, or that replication does not know, to the slow path.
   */
  private recordMembers(db: number, name: string, argv: Buffer[]): boolean {
    const kind: ElemKind = name[0] === "s" ? "set" : name[0] === "h" ? "hash" : "zset";
    const adds = name === "sadd" || name === "hset" || name === "hmset" || name === "zadd";
    const k = dbKey(db, argv[1]);
    const s0 = this.store.get(k);
    const node = this.nodeId;
    // (a new key has no TTL: only when a TTL register is there is it worth finding out whether the key was)
    const hadTtl = !!s0 && s0.ttl.entries.size > 0;
    const existed = hadTtl ? typeStamps(s0!).size > 0 : true;
    if (name === "hset" || name === "hmset") {
      if (s0 && soleKind(s0) !== "hash" && holdsOtherType(s0, "hash")) this.emit(k, clearTypesDelta(s0, "hash", node, this.hlc.tick()));
    } else if (!s0 ? !adds : soleKind(s0) !== kind) return false;
    if (name === "zadd") {
      if (argv.length < 4 || argv.length % 2 !== 0 || !isScore(argv[2])) return false; // flags (NX, GT, INCR...): read back
      for (let i = 2; i + 1 < argv.length; i += 2) this.emit(k, elemWriteDelta(this.state(k), "zset", argv[i + 1].toString("latin1"), node, this.hlc.tick(), parseScore(argv[i])));
    } else if (name === "hset" || name === "hmset") {
      for (let i = 2; i + 1 < argv.length; i += 2) this.emit(k, elemWriteDelta(this.state(k), "hash", argv[i].toString("latin1"), node, this.hlc.tick(), argv[i + 1]));
    } else if (name === "sadd") {
      for (let i = 2; i < argv.length; i++) this.emit(k, elemWriteDelta(this.state(k), "set", argv[i].toString("latin1"), node, this.hlc.tick(), true));
    } else {
      for (let i = 2; i < argv.length; i++) {
        const m = argv[i].toString("latin1");
        const st = this.state(k);
        const reg = (st[kind] as Map<string, OrRegister<unknown>>).get(m);
        const win = kind === "hash" ? visibleField(st, m) : kind === "zset" ? visibleScore(st, m) : reg ? orWinner(reg, st.floor) : undefined;
        if (win !== undefined) this.emit(k, elemRemoveDelta(st, kind, m, node, this.hlc.tick()));
      }
    }
    const st = this.state(k);
    // a new key has no TTL; a key emptied by its last removal has none either
    if (visibleExpireAt(st) !== 0 && (adds ? !existed : !anyAlive(st, kind))) this.emit(k, ttlDelta(st, node, this.hlc.tick(), 0));
    return true;
  }

  /** The key is gone from the keyspace (DEL, UNLINK, expired, evicted): removed as observed here. */
  private recordGone(db: number, key: Buffer): void {
    const k = dbKey(db, key);
    const s = this.store.get(k);
    if (s && typeStamps(s).size) this.emit(k, delDelta(s, this.nodeId, this.hlc.tick()));
  }

  /** The keys a write names (the command table's key range; SORT ... STORE dest). */
  private keysOf(name: string, argv: Buffer[]): Buffer[] {
    if (name === "sort") {
      for (let i = 2; i + 1 < argv.length; i++) if (argv[i].toString("latin1").toLowerCase() === "store") return [argv[i + 1]];
      return [];
    }
    const spec = this.server.table.lookup(name);
    if (!spec || spec.firstKey <= 0) return [];
    const last = spec.lastKey < 0 ? argv.length + spec.lastKey : spec.lastKey;
    const out: Buffer[] = [];
    for (let i = spec.firstKey; i <= last && i < argv.length; i += Math.max(1, spec.keyStep)) out.push(argv[i]);
    return out;
  }

  /**
   * FLUSHALL / FLUSHDB: every CRDT key of the emptied dbs is recorded as deleted, a slice per
   * event-loop turn as walkDbs records keys (one turn for all of them held the loop as long
   * as the store is large). Each key is synced with the keyspace rather than deleted
   * outright, so a key a client writes after the flush, before the walk reaches it, keeps
   * that write (the keyspace holds it, and its CRDT state already does), as in Redis. Peers'
   * messages wait for the walk's end (keyspaceBusy): one applied meanwhile would write a
   * flushed key's old CRDT value back into the keyspace.
   */
  private deleteAll(inDb: (db: number) => boolean): void {
    // A restarted node's file states not joined yet (loaded-keys.ts) are what it had seen of
    // those keys: the flush removes that too (else joining them later would bring the keys
    // back), in the walk's first slices (they are not in the store it goes over next). Their
    // join waits for the walk's end (loaded-keys.ts tryRecord), as peers' messages do.
    const waiting = this.pendingSaved?.size ? this.pendingSaved.keys() : undefined;
    this.startWalks([{ db: -1, cursor: "0", stored: this.store.keys.keys(), flushed: inDb, waiting, flushStamp: this.hlc.tick() }]);
  }

  /**
   * Before a client's write of key `key` of `db` is recorded: when a flush's walk has not reached
   * the key yet and nothing wrote it since the flush (its state is all older than the flush's
   * stamp), the flush's delete of it is recorded first, so the write is recorded against an
   * empty key, as the keyspace had it. Without it a write recorded from the command alone
   * (HSET's fields, SADD's members) left the flushed fields alive in the state until the walk got
   * there, and a node that saved its file or was stopped meanwhile kept them in its file, from
   * which they came back (loaded-keys.ts joins a present key's file state).
   */
  private flushedFirst(db: number, key: Buffer): void {
    for (const w of this.walks) {
      if (w.flushStamp === undefined || !w.flushed!(db)) continue;
      const k = dbKey(db, key);
      const s = this.store.get(k);
      if (s && typeStamps(s).size && maxStamp(s) < w.flushStamp) this.emit(k, delDelta(s, this.nodeId, this.hlc.tick()));
    }
  }

  /** Records, as local CRDT writes, how the key now differs from its CRDT state. */
  private sync(db: number, key: Buffer, cmd = "", argv: Buffer[] = [], rewrite = false): void {
    const k = dbKey(db, key);
    if (this.syncMembers(db, key, k, cmd, argv)) return;
    if (this.syncListEnds(db, key, k, cmd, argv)) return;
    let actual = this.io.read(db, key);
    let s = this.state(k);
    if (!actual) {
      const was = visible(s);
      // A list emptied by a list command (its last element popped, trimmed or removed) removes
      // the elements it saw, one by one: a key-level delete would also kill elements of the
      // same origin not received yet (a dropped delta that anti-entropy repairs later).
      // Its TTL goes too: a TTL register left behind would keep the key's state alive (never
      // dead, so never collected) long after the key is gone.
      if (was?.type === "list" && LIST_COMMANDS.has(cmd)) {
        this.listDiff(k, s, [], true, cmd);
        const after = this.state(k);
        if (after.ttl.entries.size) this.emit(k, ttlRemoveDelta(after, this.nodeId, this.hlc.tick()));
        return;
      }
      if (was) this.emit(k, delDelta(s, this.nodeId, this.hlc.tick()));
      return;
    }
    if (actual.type === "other") return; // streams and other types are not replicated
    const node = this.nodeId;
    const vis = visible(s);
    // A local write fixes the key's type: content of other types (the visible one when the
    // type changed, or a hidden loser of a type conflict, which would otherwise show again
    // once this type's newer writes are removed) is removed as observed.
    if (holdsOtherType(s, actual!.type)) { this.emit(k, clearTypesDelta(s, actual.type, this.nodeId, this.hlc.tick())); s = this.state(k); }

    // Hints: what the command says beyond the resulting value.
    const incr = INCR_BY[cmd];
    let counted = !!incr;
    if (incr && actual.type === "string") {
      try { this.emit(k, incrDelta(s, node, this.hlc.tick(), incr(argv))); } catch { /* not a number: diff below */ }
      s = this.state(k);
    } else if (cmd === "incrbyfloat" && actual.type === "string") {
      const before = vis?.type === "string" ? visibleString(s) : undefined;
      if (this.floatIncr(k, actual.value, before, (u) => incrUnitsDelta(this.state(k), node, this.hlc.tick(), u),
        () => visibleString(this.state(k)), (v) => this.io.run(db, "SET", key, v, "KEEPTTL"))) {
        counted = true;
        actual = this.io.read(db, key)!;
        s = this.state(k);
      }
    } else if (actual.type === "set" && cmd === "sadd") {
      const have = new Set(actual.value.map((m) => m.toString("latin1")));
      for (let i = 2; i < argv.length; i++) {
        const m = argv[i].toString("latin1");
        if (have.has(m)) { this.emit(k, elemWriteDelta(s, "set", m, node, this.hlc.tick(), true)); s = this.state(k); }
      }
    } else if (actual.type === "hash" && (cmd === "hset" || cmd === "hmset" || cmd === "hsetnx" || cmd === "hincrby" || cmd === "hincrbyfloat")) {
      const values = new Map(actual.value.map(([f, v]) => [f.toString("latin1"), v]));
      const fields = cmd === "hset" || cmd === "hmset" ? argv.filter((_, i) => i >= 2 && i % 2 === 0) : [argv[2]];
      for (const f of fields) {
        const v = values.get(f.toString("latin1"));
        if (!v) continue;
        if (cmd === "hincrby") {
          try { this.emit(k, hincrDelta(s, f.toString("latin1"), node, this.hlc.tick(), BigInt(argv[3].toString("latin1")))); } catch { /* diff below */ }
        } else if (cmd !== "hincrbyfloat" || !this.hfloatIncr(db, key, k, f, v, vis?.type === "hash")) {
          this.emit(k, elemWriteDelta(s, "hash", f.toString("latin1"), node, this.hlc.tick(), v));
        }
        s = this.state(k);
      }
      if (cmd === "hincrbyfloat") actual = this.io.read(db, key)!; // the counted value may have replaced the result
    } else if (actual.type === "zset" && cmd === "zincrby") {
      if (this.zincr(db, key, k, argv)) { actual = this.io.read(db, key)!; s = this.state(k); }
    } else if (actual.type === "zset" && cmd === "zadd") {
      const scores = new Map(actual.value.map(([m, sc]) => [m.toString("latin1"), sc]));
      const members: Buffer[] = [];
      {
        let i = 2;
        while (i < argv.length && ZADD_FLAGS.has(argv[i].toString("latin1").toLowerCase())) i++;
        for (i++; i < argv.length; i += 2) members.push(argv[i]);
      }
      for (const m of members) {
        const sc = scores.get(m.toString("latin1"));
        if (sc !== undefined) { this.emit(k, elemWriteDelta(s, "zset", m.toString("latin1"), node, this.hlc.tick(), sc)); s = this.state(k); }
      }
    }
    this.diff(k, s, actual, rewrite && !counted, cmd);
    s = this.state(k);
    if (visibleExpireAt(s) !== actual.expireAt) this.emit(k, ttlDelta(s, node, this.hlc.tick(), actual.expireAt));
  }

  /**
   * The fast path for a set, hash or sorted set: when the command names the members it
   * touched (SADD, HDEL, ZINCRBY...) or only changes the TTL, reads back just those members
   * instead of the whole value. Returns false when the slow path (full read and diff) must run.
   */
  private syncMembers(db: number, key: Buffer, k: string, cmd: string, argv: Buffer[]): boolean {
    const s = this.store.get(k);
    const members = namedMembers(cmd, argv, key);
    if (!members) return false;
    // A key replication does not know yet (new, or holding only writes a script kept local
    // with redis.set_repl) records just the members the command named, as a known key does.
    const kind = s ? soleKind(s) : ADDING.has(cmd) ? KIND_OF[this.io.typeOf(db, key)] : undefined;
    if (!kind) return false;
    if (s && this.io.typeOf(db, key) !== kind) return false;
    const node = this.nodeId;
    const readers = { set: "SMISMEMBER", hash: "HMGET", zset: "ZMSCORE" } as const;
    const now = members.length ? (this.io.run(db, readers[kind], key, ...members) as (number | Buffer | null)[]) : [];
    const writes = ADDING.has(cmd);
    members.forEach((mb, i) => {
      const m = mb.toString("latin1");
      const st = this.state(k);
      const reg = (st[kind] as Map<string, OrRegister<unknown>>).get(m);
      const win = kind === "hash" ? visibleField(st, m) : kind === "zset" ? visibleScore(st, m) : reg ? orWinner(reg, st.floor) : undefined;
      const got = now[i];
      const present = kind === "set" ? got === 1 : got !== null;
      if (!present) { if (win !== undefined) this.emit(k, elemRemoveDelta(st, kind, m, node, this.hlc.tick())); return; }
      if (kind === "set") {
        if (!win || writes) this.emit(k, elemWriteDelta(st, "set", m, node, this.hlc.tick(), true));
      } else if (kind === "hash") {
        const v = got as Buffer;
        let counted = false;
        if (cmd === "hincrby") {
          try { this.emit(k, hincrDelta(st, m, node, this.hlc.tick(), BigInt(argv[3].toString("latin1")))); counted = true; } catch { /* diff below */ }
        } else if (cmd === "hincrbyfloat" && this.hfloatIncr(db, key, k, mb, v, true)) return; // the keyspace holds the counted value
        const cur = visibleField(this.state(k), m);
        if (!cur || (writes && !counted) || !cur.equals(v)) this.emit(k, elemWriteDelta(this.state(k), "hash", m, node, this.hlc.tick(), v));
      } else if (cmd === "zincrby" && this.zincr(db, key, k, argv)) {
        // counted (zincr): nothing more
      } else {
        const sc = parseScore(got as Buffer);
        if (win === undefined || writes || win !== sc) this.emit(k, elemWriteDelta(st, "zset", m, node, this.hlc.tick(), sc));
      }
    });
    const st = this.state(k);
    const expireAt = this.io.expireAt(db, key);
    if (visibleExpireAt(st) !== expireAt) this.emit(k, ttlDelta(st, node, this.hlc.tick(), expireAt));
    return true;
  }

  /**
   * The fast path for a list: a push or pop at an end, or an LSET, read back by what it
   * touched (LLEN and the elements at that end) instead of the whole list, and recorded
   * against the CRDT's cached element order (seq.ts) — so a write to a long list costs
   * about the elements it wrote, not the list's length. Applies only while the key holds a
   * list and nothing else and the keyspace agrees with the CRDT at the touched end; returns
   * false otherwise (the slow path reads and aligns the whole list).
   */
  private syncListEnds(db: number, key: Buffer, k: string, cmd: string, argv: Buffer[]): boolean {
    const s = this.store.get(k);
    if (!s || !LIST_ENDS.has(cmd) || !listOnly(s)) return false;
    const old = seqOrder(s.list, s.floor);
    if (old.length === 0) return false;
    const id = (e: ListElem) => elemId(e.ts, e.node);
    const at = (i: number) => this.io.run(db, "LINDEX", key, String(i)) as Buffer | null;
    const edit: ListEdit = { removed: [], set: [], inserted: [] };
    const len = this.io.run(db, "LLEN", key);
    if (typeof len !== "number") return false;
    switch (cmd) {
      case "rpush": case "rpushx": case "lpush": case "lpushx": {
        const values = argv.slice(2);
        if (len !== old.length + values.length) return false;
        const tail = cmd === "rpush" || cmd === "rpushx";
        const got = tail
          ? this.io.run(db, "LRANGE", key, String(-values.length), "-1") as Buffer[]
          : this.io.run(db, "LRANGE", key, "0", String(values.length - 1)) as Buffer[];
        const want = tail ? values : values.slice().reverse();
        if (!Array.isArray(got) || got.length !== want.length || !got.every((v, i) => v.equals(want[i]))) return false;
        edit.inserted.push(tail ? { after: id(old[old.length - 1]), before: "", values: want } : { after: "", before: id(old[0]), values: want });
        break;
      }
      case "lpop": case "rpop": {
        const count = argv.length > 2 ? Number(argv[2].toString("latin1")) : 1;
        const n = Math.min(count, old.length);
        if (!(n > 0) || len !== old.length - n || len === 0) return false; // emptied: the slow path removes its TTL too
        const head = cmd === "lpop";
        const next = head ? old[n] : old[old.length - 1 - n];
        const v = at(head ? 0 : -1);
        if (!v || !v.equals(next.v)) return false;
        for (let i = 0; i < n; i++) edit.removed.push(id(head ? old[i] : old[old.length - 1 - i]));
        break;
      }
      case "lset": {
        let i = Number(argv[2].toString("latin1"));
        if (i < 0) i += old.length;
        if (!Number.isInteger(i) || i < 0 || i >= old.length || len !== old.length) return false;
        const v = at(i);
        if (!v || !v.equals(argv[3])) return false;
        edit.set.push([id(old[i]), argv[3]]);
        break;
      }
    }
    this.emit(k, listEditDelta(s, this.nodeId, () => this.hlc.tick(), edit));
    const st = this.state(k);
    const expireAt = this.io.expireAt(db, key);
    if (visibleExpireAt(st) !== expireAt) this.emit(k, ttlDelta(st, this.nodeId, this.hlc.tick(), expireAt));
    return true;
  }

  /**
   * INCRBYFLOAT / HINCRBYFLOAT as a counter increment: the exact decimal difference between
   * the result and the value before (`before`, undefined for none), in units of 10^-17
   * (decimal.ts), is added to this node's total. Replicated sums are exact decimals, the
   * same text on every node; when one differs from the kernel's long-double result (more
   * than 17 decimals, or precision the long double did not have), the keyspace takes the
   * replicated value (`store`). False when either value is not a number (the write is then
   * replicated as the SET / HSET it was recorded as).
   */
  private floatIncr(k: string, result: Buffer, before: Buffer | undefined, delta: (units: bigint) => KeyState,
    visibleNow: () => Buffer | undefined, store: (v: Buffer) => void): boolean {
    const now = parseDecimal(result.toString("latin1"));
    const was = before === undefined ? { n: 0n, scale: 0 } : parseDecimal(before.toString("latin1"));
    if (!now || !was) return false;
    this.emit(k, delta(toUnits(now) - toUnits(was)));
    const want = visibleNow();
    if (want && !want.equals(result)) {
      this.applying = true;
      try { store(want); } finally { this.applying = false; }
    }
    return true;
  }

  /** HINCRBYFLOAT key field: floatIncr on the field (`had`: the key was a hash before). */
  private hfloatIncr(db: number, key: Buffer, k: string, field: Buffer, result: Buffer, had: boolean): boolean {
    const f = field.toString("latin1");
    const before = had ? visibleField(this.state(k), f) : undefined;
    return this.floatIncr(k, result, before, (u) => hincrUnitsDelta(this.state(k), f, this.nodeId, this.hlc.tick(), u),
      () => visibleField(this.state(k), f), (v) => this.io.run(db, "HSET", key, field, v));
  }

  /**
   * ZINCRBY key incr member as a counter increment. The score everywhere is the ZADD winner
   * plus every node's increments summed in node order, which can differ in the last bits
   * from the sum this node's zset computed: the keyspace then takes the replicated score, so
   * that every node shows the same double. False when the increment is not a finite number
   * (the write is then replicated as a ZADD of the result).
   */
  private zincr(db: number, key: Buffer, k: string, argv: Buffer[]): boolean {
    const by = Number(argv[2].toString("latin1"));
    if (!Number.isFinite(by)) return false;
    const m = argv[3].toString("latin1");
    const now = this.io.run(db, "ZSCORE", key, argv[3]);
    if (now === null) return false;
    this.emit(k, zincrDelta(this.state(k), m, this.nodeId, this.hlc.tick(), by));
    const want = visibleScore(this.state(k), m);
    if (want !== undefined && want !== parseScore(now as Buffer)) {
      this.applying = true;
      try { this.io.run(db, "ZADD", key, formatScore(want), argv[3]); } finally { this.applying = false; }
    }
    return true;
  }

  private diff(k: string, s: KeyState, actual: Actual, rewrite: boolean, cmd: string): void {
    const node = this.nodeId;
    const vis = visible(s);
    const same = vis?.type === actual.type;
    switch (actual.type) {
      case "string":
        if (rewrite || !same || !(vis!.value as Buffer).equals(actual.value)) this.emit(k, setStringDelta(s, node, this.hlc.tick(), actual.value));
        return;
      case "list": return this.listDiff(k, s, actual.value, same, cmd);
      case "set": {
        const cur = new Set(same ? (vis!.value as Buffer[]).map((m) => m.toString("latin1")) : []);
        const want = new Set(actual.value.map((m) => m.toString("latin1")));
        for (const m of want) if (!cur.has(m)) { this.emit(k, elemWriteDelta(s, "set", m, node, this.hlc.tick(), true)); s = this.state(k); }
        for (const m of cur) if (!want.has(m)) { this.emit(k, elemRemoveDelta(s, "set", m, node, this.hlc.tick())); s = this.state(k); }
        return;
      }
      case "hash": {
        const cur = new Map(same ? (vis!.value as [Buffer, Buffer][]).map(([f, v]) => [f.toString("latin1"), v]) : []);
        const want = new Map(actual.value.map(([f, v]) => [f.toString("latin1"), v]));
        for (const [f, v] of want) {
          const c = cur.get(f);
          if (!c || !c.equals(v)) { this.emit(k, elemWriteDelta(s, "hash", f, node, this.hlc.tick(), v)); s = this.state(k); }
        }
        for (const f of cur.keys()) if (!want.has(f)) { this.emit(k, elemRemoveDelta(s, "hash", f, node, this.hlc.tick())); s = this.state(k); }
        return;
      }
      case "zset": {
        const cur = new Map(same ? (vis!.value as [Buffer, number][]).map(([m, sc]) => [m.toString("latin1"), sc]) : []);
        const want = new Map(actual.value.map(([m, sc]) => [m.toString("latin1"), sc]));
        for (const [m, sc] of want) {
          if (cur.get(m) !== sc) { this.emit(k, elemWriteDelta(s, "zset", m, node, this.hlc.tick(), sc)); s = this.state(k); }
        }
        for (const m of cur.keys()) if (!want.has(m)) { this.emit(k, elemRemoveDelta(s, "zset", m, node, this.hlc.tick())); s = this.state(k); }
        return;
      }
    }
  }

  /**
   * A list write as sequence edits: the list now in the keyspace is aligned with the
   * elements the CRDT shows (alignLists), so a push adds elements at its end, a pop or LREM
   * removes exactly the elements that went, LINSERT inserts one in between, and LSET (one
   * element replaced in place by LSET) updates that element's value. Elements that stay keep
   * their ids, which is what lets concurrent edits on other nodes interleave with these.
   */
  private listDiff(k: string, s: KeyState, now: Buffer[], same: boolean, cmd: string): void {
    const old = same ? seqOrder(s.list, s.floor) : [];
    const match = alignLists(old.map((e) => e.v), now);
    const edit: ListEdit = { removed: [], set: [], inserted: [] };
    const kept = new Set<number>();
    for (const i of match) if (i >= 0) kept.add(i);
    const removedAt: number[] = [];
    old.forEach((e, i) => { if (!kept.has(i)) removedAt.push(i); });
    const id = (i: number) => elemId(old[i].ts, old[i].node);
    // LSET: one element replaced where it stood is a value update, not a remove and insert
    if (cmd === "lset" && removedAt.length === 1 && match.filter((m) => m < 0).length === 1) {
      const j = match.indexOf(-1);
      if ((j === 0 || match[j - 1] === removedAt[0] - 1) && (j === now.length - 1 || match[j + 1] === removedAt[0] + 1)) {
        edit.set.push([id(removedAt[0]), now[j]]);
        this.emit(k, listEditDelta(s, this.nodeId, () => this.hlc.tick(), edit));
        return;
      }
    }
    for (const i of removedAt) edit.removed.push(id(i));
    for (let j = 0; j < now.length;) {
      if (match[j] >= 0) { j++; continue; }
      const start = j;
      while (j < now.length && match[j] < 0) j++;
      edit.inserted.push({
        after: start > 0 ? id(match[start - 1]) : "",
        before: j < now.length ? id(match[j]) : "",
        values: now.slice(start, j),
      });
    }
    if (!same && old.length === 0 && now.length === 0) return;
    if (edit.removed.length || edit.inserted.length || !same) this.emit(k, listEditDelta(s, this.nodeId, () => this.hlc.tick(), edit));
  }

  /**
   * The fast path of apply: a delta that only touches members of the key's one collection
   * type (no key-level DEL, no type change) is applied member by member, instead of
   * rewriting the whole key. Returns false when the whole key must be rewritten.
   */
  private materializeMembers(db: number, key: Buffer, k: string, d: KeyState): boolean {
    const s = this.store.get(k)!;
    const kind = soleKind(s);
    const dk = soleKind(d);
    const onlyTtl = !dk && !d.str.entries.size && !d.cnt.size && !d.list.elems.size && !d.set.size && !d.hash.size && !d.zset.size && !d.zcnt.size;
    if (!kind || d.floor.size || d.cntBase.size || !(dk === kind || onlyTtl)) return false;
    if (this.io.typeOf(db, key) !== kind) return false;
    const changed = [...new Set([...(d[kind] as Map<string, OrRegister<unknown>>).keys(), ...(kind === "hash" ? d.hcnt.keys() : kind === "zset" ? d.zcnt.keys() : [])])];
    const regs = s[kind] as Map<string, OrRegister<unknown>>;
    let alive = 0;
    for (const [m, r] of regs) if (orWinner(r, s.floor) || (kind === "hash" && visibleField(s, m))) { alive++; break; }
    if (!alive && kind === "hash") for (const f of s.hcnt.keys()) if (visibleField(s, f)) { alive++; break; }
    if (!alive && kind === "zset") for (const m of s.zcnt.keys()) if (visibleScore(s, m) !== undefined) { alive++; break; }
    if (!alive) return false; // the key ends empty: the slow path deletes it
    const members = changed.map((m) => Buffer.from(m, "latin1"));
    for (const [m, mb] of changed.map((m, i) => [m, members[i]] as const)) {
      const reg = regs.get(m);
      const win = reg ? orWinner(reg, s.floor) : undefined;
      if (kind === "set") this.io.run(db, win ? "SADD" : "SREM", key, mb);
      else if (kind === "hash") { const v = visibleField(s, m); if (v) this.io.run(db, "HSET", key, mb, v); else this.io.run(db, "HDEL", key, mb); }
      else { const sc = visibleScore(s, m); if (sc !== undefined) this.io.run(db, "ZADD", key, formatScore(sc), mb); else this.io.run(db, "ZREM", key, mb); }
    }
    const want = visibleExpireAt(s);
    if (want !== this.io.expireAt(db, key)) {
      if (want) this.io.run(db, "PEXPIREAT", key, String(want));
      else this.io.run(db, "PERSIST", key);
    }
    return true;
  }

  /**
   * Brings a local list to `want` with the list commands a client would use when the merge
   * only added or removed elements at one end or replaced one in place (the usual case:
   * a peer's push or pop), so the local list is edited, not rebuilt, and blocked clients are
   * served by a push as usual. False when the change is elsewhere (the caller rewrites).
   */
  private editList(db: number, key: Buffer, have: Buffer[], want: Buffer[]): boolean {
    let p = 0;
    while (p < have.length && p < want.length && have[p].equals(want[p])) p++;
    let q = 0;
    while (q < have.length - p && q < want.length - p && have[have.length - 1 - q].equals(want[want.length - 1 - q])) q++;
    const gone = have.length - p - q, added = want.slice(p, want.length - q);
    if (want.length === 0) return false; // the key goes: the caller deletes it
    if (gone === 0 && p === 0) { this.io.run(db, "LPUSH", key, ...added.reverse()); return true; }
    if (gone === 0 && q === 0) { this.io.run(db, "RPUSH", key, ...added); return true; }
    if (added.length === 0 && p === 0) { this.io.run(db, "LPOP", key, String(gone)); return true; }
    if (added.length === 0 && q === 0) { this.io.run(db, "RPOP", key, String(gone)); return true; }
    if (gone === 1 && added.length === 1) { this.io.run(db, "LSET", key, String(p), added[0]); return true; }
    return false;
  }

  // ---- apply ----------------------------------------------------------------------------------

  /** Merges a batch from a peer (deltas or anti-entropy states); returns keys whose state changed. */
  receive(batch: Buffer): number {
    const entries = decodeBatch(batch);
    this.stats.remoteBatches++;
    return this.receiveEntries(entries, 0, entries.length);
  }

  /**
   * Merges entries [from, to) of a decoded batch; returns keys whose state changed.
   * serveBlocked: serve clients blocked on the keys (off while a sliced join is under way:
   * gossip.ts joinSliced serves them at its end, when the whole answer is in).
   */
  receiveEntries(entries: [string, KeyState][], from: number, to: number, serveBlocked = true): number {
    let changed = 0;
    const st = this.store.gcStable;
    const file = this.file?.wants() === true;
    for (let i = from; i < to; i++) {
      const [k, d] = entries[i];
      this.hlc.observe(maxStamp(d));
      // What we would collect anyway is not taken back in: otherwise replicas that collect at
      // different moments keep handing each other the same stable tombstones (gc.ts).
      if (st && gcKeyState(d, st) === "drop") continue;
      // A key with no state here yet may still be in the keyspace without one (loaded from a file
      // that carried none): the first state joined sets its whole value. Applied member by member,
      // a member only the file held stayed in the keyspace while the states agreed, for good.
      const fresh = !this.store.keys.has(k);
      const plan = fresh ? undefined : this.listPlan(k, d);
      if (!this.store.join(k, d)) continue;
      changed++;
      if (file) this.toFile.push([k, d]);
      this.materialize(k, fresh ? undefined : d, plan, fresh);
    }
    this.stats.remoteKeysChanged += changed;
    if (file && changed) this.fileChanged();
    // A merged push may serve clients blocked on the key (BLPOP...), as after a client's
    // command; with capture back on, their pops replicate as this node's writes.
    if (changed && serveBlocked) this.server.blocking.afterCommand();
    return changed;
  }

  /** Clients blocked on keys a sliced join changed are served (see receiveEntries). */
  serveBlocked(): void {
    this.server.blocking.afterCommand();
  }

  /** Answers clients -LOADING until the function returned is called, INFO showing `progress` (loading-gate.ts). */
  holdClients(progress: LoadProgress): () => void {
    return raiseLoadingGate(this.server, progress);
  }

  /**
   * Before joining a peer's delta to a list: which alive elements it inserts, removes (by
   * their index now) or gives a new value — or undefined when the delta does more than that
   * (floors, other types) and the whole list must be compared after the join.
   */
  private listPlan(k: string, d: KeyState): ListPlan | undefined {
    const s = this.store.get(k);
    if (!s || !d.list.elems.size || !listOnly(s) || !listOnly(d) || d.floor.size || d.list.floor.size || d.str.floor.size || d.cntBase.size) return undefined;
    const pre = seqOrder(s.list, s.floor);
    if (pre.length === 0) return undefined;
    const plan: ListPlan = { preLen: pre.length, inserted: [], removedAt: [], set: [] };
    for (const [id, e] of d.list.elems) {
      const cur = s.list.elems.get(id);
      if (!cur) { if (elemAlive(e, s.list, s.floor)) plan.inserted.push(id); continue; }
      if (!elemAlive(cur, s.list, s.floor)) continue; // already removed: no visible change
      if (e.rts !== 0) {
        const i = seqIndexOf(s.list, s.floor, cur);
        if (i < 0) return undefined;
        plan.removedAt.push(i);
      } else if (compareStamp(e.vts, e.vnode, cur.vts, cur.vnode) > 0) plan.set.push(id);
    }
    return plan;
  }

  /**
   * The fast path of applying a list change (listPlan): elements added at one end become an
   * LPUSH/RPUSH, removed from one end an LPOP/RPOP, new values LSETs — commands on what
   * changed, after checking that the local list has the length the CRDT had before the
   * join, instead of reading and comparing the whole list. False when the change is
   * anything else (the caller compares the whole list).
   */
  private applyListPlan(db: number, key: Buffer, k: string, plan: ListPlan): boolean {
    const s = this.store.get(k)!;
    const post = seqOrder(s.list, s.floor);
    const ins = plan.inserted.length, rem = plan.removedAt.length;
    if ((ins && rem) || ((ins || rem) && plan.set.length) || post.length === 0) return false;
    if (this.io.run(db, "LLEN", key) !== plan.preLen) return false;
    const contiguous = (xs: number[]) => xs.every((x, j) => x === xs[0] + j);
    if (ins) {
      const at = plan.inserted.map((id) => seqIndexOf(s.list, s.floor, s.list.elems.get(id)!)).sort((a, b) => a - b);
      if (at[0] < 0 || !contiguous(at)) return false;
      const values = at.map((i) => post[i].v);
      if (at[0] === 0) this.io.run(db, "LPUSH", key, ...values.reverse());
      else if (at[ins - 1] === post.length - 1) this.io.run(db, "RPUSH", key, ...values);
      else return false;
    } else if (rem) {
      const at = plan.removedAt.sort((a, b) => a - b);
      if (!contiguous(at)) return false;
      if (at[0] === 0) this.io.run(db, "LPOP", key, String(rem));
      else if (at[rem - 1] === plan.preLen - 1) this.io.run(db, "RPOP", key, String(rem));
      else return false;
    } else {
      for (const id of plan.set) {
        const e = s.list.elems.get(id)!;
        const i = seqIndexOf(s.list, s.floor, e);
        if (i < 0) return false;
        this.io.run(db, "LSET", key, String(i), e.v);
      }
    }
    const want = visibleExpireAt(s);
    if (want !== this.io.expireAt(db, key)) {
      if (want) this.io.run(db, "PEXPIREAT", key, String(want));
      else this.io.run(db, "PERSIST", key);
    }
    return true;
  }

  /**
   * The fast path of applying a string: GET, and SET (with its PXAT) when the value or TTL
   * differs — instead of reading the key's type, TTL and value and rewriting it with DEL and
   * SET. False when the key holds another type (GET answers WRONGTYPE: the caller rewrites).
   */
  private materializeString(db: number, key: Buffer, value: Buffer, expireAt: number, fresh: boolean): boolean {
    // A key with no state here is nearly always missing from the keyspace too (a peer's new
    // key, every key of a catch-up copy into an empty node): SET NX writes it in one command
    // instead of GET and SET, and leaves a key that is there after all (a file's key without
    // state, a type we do not replicate) untouched for the comparison below.
    if (fresh && this.io.run(db, "SET", key, value, "NX", ...(expireAt ? ["PXAT", String(expireAt)] : [])) !== null) return true;
    const got = this.io.run(db, "GET", key);
    if (got !== null && !Buffer.isBuffer(got)) return false;
    if (got && got.equals(value) && this.io.expireAt(db, key) === expireAt) return true;
    if (expireAt) this.io.run(db, "SET", key, value, "PXAT", String(expireAt));
    else this.io.run(db, "SET", key, value);
    return true;
  }

  /** Makes the keyspace hold the key's merged visible value (after joining delta d; plan: listPlan's, made before the join). */
  materialize(k: string, d?: KeyState, plan?: ListPlan, fresh = false): void {
    const { db, key } = splitDbKey(k);
    this.applying = true;
    try {
      if (d && this.materializeMembers(db, key, k, d)) return;
      if (plan && this.applyListPlan(db, key, k, plan)) return;
      const want = visible(this.store.get(k)!);
      if (!want) {
        // the key is gone: no need to read what it held (a type we do not replicate stays)
        const t = this.io.typeOf(db, key);
        if (t !== "none" && t !== "other") this.io.run(db, "DEL", key);
        return;
      }
      if (want.type === "string" && this.materializeString(db, key, want.value, want.expireAt, fresh)) return;
      const actual = this.io.read(db, key);
      if (actual?.type === "other") return; // a type we do not replicate stays as it is
      if (sameValue(want, actual)) return;
      if (want?.type === "list" && actual?.type === "list" && this.editList(db, key, actual.value, want.value)) {
        if (want.expireAt !== actual.expireAt) {
          if (want.expireAt) this.io.run(db, "PEXPIREAT", key, String(want.expireAt));
          else this.io.run(db, "PERSIST", key);
        }
        return;
      }
      this.io.write(db, key, want, actual !== undefined);
    } finally {
      this.applying = false;
    }
  }
}

/**
 * The one collection type a state holds content of (no string, counter, list or other
 * collection entries), or undefined. Checked in O(1) for the usual single-typed key.
 */
function soleKind(s: KeyState): ElemKind | undefined {
  if (s.str.entries.size || s.cnt.size || s.list.elems.size) return undefined;
  let kind: ElemKind | undefined;
  for (const kd of ["set", "hash", "zset"] as const) {
    const m = s[kd] as Map<string, OrRegister<unknown>>;
    if (m.size === 0 && !(kd === "hash" && s.hcnt.size) && !(kd === "zset" && s.zcnt.size)) continue;
    if (kind) return undefined;
    kind = kd;
  }
  return kind;
}

/** Whether a ZADD argument is a score (not a flag such as NX or INCR). */
function isScore(b: Buffer): boolean {
  return !ZADD_FLAGS.has(b.toString("latin1").toLowerCase());
}

/** Whether any member of the kind is visible (stops at the first). */
function anyAlive(s: KeyState, kind: ElemKind): boolean {
  for (const [m, r] of s[kind] as Map<string, OrRegister<unknown>>) {
    if (kind === "hash" ? visibleField(s, m) : kind === "zset" ? visibleScore(s, m) !== undefined : orWinner(r, s.floor)) return true;
  }
  if (kind === "hash") for (const f of s.hcnt.keys()) if (visibleField(s, f)) return true;
  if (kind === "zset") for (const m of s.zcnt.keys()) if (visibleScore(s, m) !== undefined) return true;
  return false;
}

/** A peer's list change, worked out before joining it (Replicator.listPlan): ids, and indexes before the join. */
interface ListPlan { preLen: number; inserted: string[]; removedAt: number[]; set: string[] }

/** List writes syncListEnds reads back by the end they touched. */
const LIST_ENDS = new Set(["rpush", "rpushx", "lpush", "lpushx", "lpop", "rpop", "lset"]);

/** Whether the state holds list content and nothing of another type (no type conflict to settle). */
function listOnly(s: KeyState): boolean {
  return !s.str.entries.size && !s.cnt.size && !s.set.size && !s.hash.size && !s.hcnt.size && !s.zset.size && !s.zcnt.size;
}

const KIND_OF: Record<string, ElemKind | undefined> = { set: "set", hash: "hash", zset: "zset" };

/** Commands whose named members are all they change (besides the TTL). */
const ADDING = new Set(["sadd", "hset", "hmset", "hsetnx", "hincrby", "hincrbyfloat", "zadd", "zincrby"]);

/** The members a command names, or null when it may touch others (the slow path reads all). */
function namedMembers(cmd: string, argv: Buffer[], key: Buffer): Buffer[] | null {
  switch (cmd) {
    case "sadd": case "srem": case "hdel": case "zrem": return argv.slice(2);
    case "smove": return [argv[3]];
    case "hset": case "hmset": return argv.filter((_, i) => i >= 2 && i % 2 === 0);
    case "hsetnx": case "hincrby": case "hincrbyfloat": return [argv[2]];
    case "zincrby": return [argv[3]];
    case "zadd": {
      let i = 2;
      while (i < argv.length && ZADD_FLAGS.has(argv[i].toString("latin1").toLowerCase())) i++;
      const out: Buffer[] = [];
      for (i++; i < argv.length; i += 2) out.push(argv[i]);
      return out;
    }
    case "pexpireat": case "persist": case "pexpire": case "expire": case "expireat": return [];
    default: void key; return null;
  }
}

export function sameValue(v: Visible | undefined, a: Actual | undefined): boolean {
  if (!v || !a) return !v && !a;
  if (v.type !== a.type || v.expireAt !== a.expireAt) return false;
  const key = (x: unknown): string => {
    if (Buffer.isBuffer(x)) return x.toString("latin1");
    if (Array.isArray(x)) return JSON.stringify(x.map(key));
    return String(x);
  };
  switch (v.type) {
    case "string": return v.value.equals(a.value as Buffer);
    case "list": return key(v.value) === key(a.value);
    default: {
      const sv = (v.value as unknown[]).map(key).sort();
      const sa = ((a as { value: unknown[] }).value).map(key).sort();
      return JSON.stringify(sv) === JSON.stringify(sa);
    }
  }
}
