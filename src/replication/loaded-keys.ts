// LoadedKeys: the keys a node restarted from its RDB or AOF holds that no peer knows of are
// sent to the peers as this node's new writes.
//
// A restarted node comes back under a new incarnation id with an empty CRDT state, and its
// file's keys are not in that state. What the peers hold wins over the file: the node joins
// their states (a key they changed takes their value, a key they deleted while it was down is
// deleted by their tombstone, which collection has kept since it waits for this node). But a
// key its peers have no state for at all — a write acknowledged (and fsynced) just before the
// node stopped, or made while it was cut off — is one only the file holds; without this it
// stayed on that node alone (cluster-active-active's restarted member lost k:198/k:199 this
// way: appendfsync always, SIGKILL before the delta left).
//
// So once the load is done and every peer's whole state has been joined here (gossip.ts
// wholeView: a complete answer to our digest, or "equal"), each key the file loaded that still
// has no CRDT state is recorded as this node's write (Replicator.recordLoaded), a slice per
// event-loop turn. Keys the peers have state for are left to that state. One case must not be
// sent: a key whose removal the peers collected after the file was written (an RDB saved long
// before the node stopped, or a node expired by crdt-peer-gc-timeout while cut off) is also "a
// key no peer has state for", and sending it would bring a deleted key back everywhere. Each
// peer says by which moment of this node's own clock this node's earlier state held every
// removal it collected (gossip.ts removalHorizon: no two nodes' clocks are compared); when the
// file is not newer than that for any peer, the keys stay on this node alone, with a warning.
// Keys kept local — those, and a script's redis.set_repl writes — stay local after the next
// restart as well: the node remembers them in a file beside its RDB/AOF (local-keys.ts).
//
// An RDB this node saved also carries its keys' CRDT state of the file's moment (saved-state.ts):
// their writes' stamps, what removals removed (tombstones of deleted keys too), counters' per-node
// totals. A tombstone is joined as soon as the load ends (a removal can only remove what it
// saw). The other states wait with the keys for the same decision: when the file is not older
// than a removal a peer collected, each joins the key's state as a peer's would (a write the
// peers lack is kept, one they removed stays removed, concurrent counts add up) and
// anti-entropy takes it to them; otherwise they are dropped and the keys go the way of keys
// without state. When every node restarts from its file at once, nobody has collected anything
// yet, so every file's states join: a deletion one node's file holds removes the key another's
// file still had.
import type { Replicator } from "./replicator.js";
import type { Gossip, Pacing } from "./gossip.js";
import { dbKey, splitDbKey } from "./store.js";
import type { KeyState } from "./key-state.js";
import { FileStates, type FileState } from "./file-states.js";
import type { LoadedStates, PendingStates } from "./saved-state.js";
import type { CommandSpec } from "../commands/table.js";
import { keysFromSpecs, sortKeys } from "../commands/command.js";

/** A loaded key's share of a turn is that of a sliced join (gossip.ts JOIN_SLICE_MS). */
const RECORD_SLICE_MS = 20;
/**
 * File states per chunk of the load-end check (takeSaved), and keys per EXISTS call of its look
 * for states whose key the load left absent (LoadedKeys.checkAbsent); a slice ends between chunks.
 */
const CHECK_CHUNK = 256;
/** The load-end check's share of a turn (takeSaved): a keyspace walk's (replicator.ts WALK_SLICE_MS). */
const CHECK_SLICE_MS = 20;
/** Keys per SCAN call of the walk that lists the loaded keys. */
const SCAN_COUNT = 1000;

export class LoadedKeys {
  /** The loaded keys with no CRDT state when the load ended; undefined until then. */
  private candidates?: [number, Buffer][];
  /** Per peer link: the removal horizon of its latest whole state joined here. */
  private readonly seen = new Map<string, number>();
  private done = false;
  /** Whether the decision about the file's keys and states is still to come (the simulator's clients wait for it). */
  get deciding(): boolean { return !this.done; }
  /** Whether the load-end check (takeSaved) is under way: from the load's end until its last slice. */
  get checking(): boolean { return this.rush !== undefined; }
  /** The live key states the file carried, until the decision (see above); a client's write of the key takes its entry (Replicator.adoptWaiting). */
  private saved = new FileStates();
  /**
   * The oldest file time whose states the loaded file still carried undecided (a save made
   * while they waited: pendingForSave); 0 when none. The file counts as that old.
   */
  private since = 0;
  /** takeSaved marked the AOF as old as the file (its states waited): the decision says how it ends. */
  private markedOld = false;
  /** states: key states the file carried; statesJoined: those joined into the CRDT state. */
  readonly stats = { pending: 0, sent: 0, keptLocal: 0, states: 0, statesJoined: 0, statesDeleted: 0 };
  /** Ends the look at clients' commands during the load-end check (constructor). */
  private releaseClients?: () => void;
  /** While the load-end check is under way (and only then): finishes it now, in one go (takeSaved). */
  private rush?: () => void;
  /** While the load-end check is under way: checks these keys of a db now, ahead of the rest (takeSaved). */
  private checkFirst?: (db: number, keys: Buffer[]) => void;

  /**
   * @param fileTime when the loaded file was last written (ms; persistence.ts startupFileTime)
   * @param savedStates the key states the file carried (saved-state.ts takeLoadedStates)
   */
  constructor(private readonly rep: Replicator, private readonly gossip: Gossip, private readonly databases: number,
              private readonly fileTime: () => number, private readonly pacing?: Pacing,
              private readonly savedStates?: () => LoadedStates) {
    gossip.wholeView = (link, horizon) => {
      if (this.done) return;
      this.seen.set(link, horizon);
      this.tryRecord();
    };
    // No client may write a key before the load-end check (takeSaved) has looked at it. From
    // before the load (whose own gate answers -LOADING) until the check is done, each client
    // command first starts the check if the poll for the load's end (Replicator.whenKeyspaceFree)
    // has not yet, and a command that may write has the check look at its keys first
    // (checkFirst) or, when which keys it writes is not known from its arguments, finishes the
    // check in one go (rush) before it runs; reads are served between the check's slices. (On
    // CRDT.PEER ADD on a running node nothing is loaded: the check ends at once, and with it
    // this look.)
    if (pacing) {
      this.releaseClients = rep.beforeCommands((write, client, argv) => {
        rep.keyspaceBusy();
        if (write === undefined || this.rush === undefined) return;
        const keys = client.multi === null ? writtenKeys(write, argv) : undefined;
        if (keys === undefined) this.rush();
        else this.checkFirst!(client.db, keys);
      });
    }
    // (peer messages wait for the load as well: Replicator.keyspaceBusy; this runs before them,
    // and they wait until it calls done)
    rep.atLoadEnd((done) => this.loadEnded(done));
  }

  /**
   * Lists the loaded keys that have no CRDT state, with SCAN, a slice of RECORD_SLICE_MS per
   * event-loop turn: one KEYS * (and the check of every key) held the loop for as long as the
   * keyspace is large (1M keys: 2.3 s at load 13, no PING answered). SCAN returns every key
   * present for the whole walk; a key a client or a peer's state creates meanwhile has CRDT
   * state and is not a candidate, a key deleted meanwhile is not one either, and a key SCAN
   * returns twice is recorded once (recordLoaded skips a key with state).
   */
  private loadEnded(done: () => void): void {
    this.takeSaved(() => {
      this.releaseClients?.();
      this.releaseClients = undefined;
      // (its first step waits for done, and comes first: a peer's message waited longer)
      this.walkLoaded();
      done();
    });
  }

  private walkLoaded(): void {
    const found: [number, Buffer][] = [];
    let db = 0;
    let cursor = "0";
    const step = () => {
      // A script holding the keyspace between its calls (a busy script): not in the middle of it.
      if (this.rep.keyspaceBusy()) { this.rep.whenKeyspaceFree(step); return; }
      const enough = this.pacing ? this.pacing.slice(RECORD_SLICE_MS) : () => false;
      while (db < this.databases) {
        if (cursor === "0" && this.rep.io.run(db, "DBSIZE") === 0) { db++; continue; }
        const [next, keys] = this.rep.io.run(db, "SCAN", cursor, "COUNT", String(SCAN_COUNT)) as [Buffer, Buffer[]];
        for (const key of keys) {
          const k = dbKey(db, key);
          if (this.rep.store.keys.has(k)) continue;
          // a key an earlier incarnation kept from its peers stays local (local-keys.ts)
          if (this.rep.localKeys.wasLocal(k)) { this.rep.localKeys.add(k); this.stats.keptLocal++; this.saved.delete(k); continue; }
          found.push([db, key]);
        }
        this.stats.pending = found.length;
        cursor = next.toString("latin1");
        if (cursor === "0") db++;
        if (db < this.databases && enough()) { this.pacing!.later(step); return; }
      }
      this.rep.localKeys.loadWalked();
      this.candidates = found;
      if (found.length === 0 && this.saved.size === 0) { this.finish(); return; }
      this.tryRecord();
    };
    step();
  }

  /** Records the candidates once every peer link's whole state has been joined. */
  private tryRecord(): void {
    if (this.done || !this.candidates) return;
    const links = [...this.gossip.peers].filter(([, p]) => !p.duplicateOf && p.expired === undefined).map(([l]) => l);
    if (links.length === 0 || links.some((l) => !this.seen.has(l))) return;
    const horizon = Math.max(...links.map((l) => this.seen.get(l)!));
    const keys = this.candidates;
    const saved = this.saved;
    this.finish();
    // The horizon is a reading of this node's own clock by an earlier incarnation (gossip.ts
    // removalHorizon), the file's time a reading of the same clock: a file written after it
    // holds none of the keys the peers collected.
    const written = this.written();
    if (horizon !== 0 && written <= horizon) {
      // (the states go too: a member or write in them may be one the peers removed and collected)
      this.saved = new FileStates();
      this.rep.holdSaved(undefined);
      // (an AOF marked as old as loaded still holds them: rewritten, Replicator.fileDropped)
      if (this.markedOld) this.rep.fileDropped();
      // Not a candidate that has CRDT state by now: a client wrote it after the walk listed it
      // (recorded against its file state, and sent to the peers), or a peer's state for it came.
      const local = keys.filter(([db, key]) => !this.rep.store.keys.has(dbKey(db, key)));
      this.stats.keptLocal += local.length;
      // (and after the next restart too, when the file holding them is newer: local-keys.ts)
      for (const [db, key] of local) this.rep.localKeys.add(dbKey(db, key));
      if (local.length) this.gossip.warn(`CRDT: ${local.length} keys loaded from disk that no peer holds stay on this node alone: ` +
        `a peer collected removals this node's file (${new Date(written).toISOString()}) may predate, so they may be keys deleted since`);
      return;
    }
    // The file's states first: each is joined into the key's state (a candidate's reaches the
    // peers by anti-entropy, and counts as sent while no peer's state for the key arrived);
    // then a candidate without one is recorded as this node's write. A state whose key is
    // neither a candidate nor held here is left out (a key the load left absent was recorded as
    // deleted then, takeSaved; a client's DEL or an expiry since took its state, adoptWaiting).
    const candidate = new Set(keys.map(([db, key]) => dbKey(db, key)));
    // (keys: each state is decoded when joined, file-states.ts)
    const joins: string[] = [];
    for (const k of saved.keys()) {
      const held = this.rep.store.keys.has(k); // (a peer's state for it arrived, or a client wrote it)
      if (!held && !candidate.has(k)) continue;
      if (!held) this.stats.sent++; // (a key no peer knows: it goes to them)
      joins.push(k);
    }
    const rest = keys.filter(([db, key]) => !saved.has(dbKey(db, key)));
    // (until joined, a client's write of the key still takes its state: Replicator.adoptWaiting)
    this.rep.holdSaved(saved);
    let i = 0, j = 0;
    let joined = false;
    const step = () => {
      // (a FLUSHALL's walk deletes waiting states a slice at a time: a state joined before the
      // walk reached it would bring its key back; Replicator.deleteAll)
      if (this.rep.keyspaceBusy()) { this.rep.whenKeyspaceFree(step); return; }
      const enough = this.pacing ? this.pacing.slice(RECORD_SLICE_MS) : () => false;
      for (; j < joins.length; j++) {
        const st = saved.get(joins[j]);
        if (st !== undefined) {
          this.stats.statesJoined++;
          this.rep.receiveEntries([[joins[j], st]], 0, 1);
        }
        if (j + 1 < joins.length && enough()) { j++; this.pacing!.later(step); return; }
      }
      if (!joined) {
        joined = true;
        this.rep.holdSaved(undefined);
        this.saved = new FileStates();
        // (an AOF holding them is as new as it looks again: saved-state.ts filePieces)
        // (also when clients' writes took every state meanwhile: Replicator.adoptWaiting)
        if (this.markedOld) this.rep.fileMark(-1);
      }
      for (; i < rest.length; i++) {
        if (this.rep.recordLoaded(rest[i][0], rest[i][1])) this.stats.sent++;
        if (i + 1 < rest.length && enough()) { i++; this.rep.flush(); this.pacing!.later(step); return; }
      }
      this.rep.flush();
    };
    step();
  }

  /**
   * The file's key states: tombstones (a deleted key's, nothing alive in it) are joined now, as
   * a peer's would be — a removal removes only what its node saw, whatever the peers collected;
   * the live ones wait for tryRecord. A client's write of a key meanwhile takes the key's
   * entry (Replicator.adoptWaiting): joined first when the key holds no other state, so the
   * write (a DEL too) is recorded against what the file had seen; dropped when a peer's state
   * for the key arrived meanwhile (the keyspace shows that state, and the write is recorded against it).
   *
   * A live state whose key the load left absent: the file holds the command that removed the
   * key but not its CRDT record, which a node records after the command (a FLUSHALL's or
   * FLUSHDB's per-key deletes, SWAPDB's moves: a walk, a slice per turn, Replicator.deleteAll)
   * or, for a key expired while the node was down, never. Killed before that record, the
   * node used to leave the state out (or join it as a write when a peer's state came first),
   * so the peers' live states brought the key back everywhere although the flush had been
   * acknowledged. Now it is recorded as this node's delete of what the state saw, as the walk
   * or the expiry would have recorded it: a write the file did not see (a peer's concurrent
   * one) survives it.
   *
   * The check goes over the states a slice of CHECK_SLICE_MS per event-loop turn (`then` runs
   * at its end): in one go it held the loop 5.3 s for 1M states (load ~3), the server answering
   * nothing. Nothing may write a key before the check has looked at it, or a flushed key comes
   * back: a key the load left absent, written meanwhile, would look present and its file state
   * would be kept as live. So, until `then`:
   *  - peers' messages wait (Replicator.atLoadEnd: the keyspace counts as busy until done);
   *  - a client's command that may write finishes the check first, in one go (rush; the hook
   *    is set in the constructor, before the load), and reads are served between slices;
   *  - the only other writer is expiry (a key loaded with a TTL that passes meanwhile): a
   *    present key, so its file state is live and is adopted by the expiry's delete
   *    (Replicator.adoptWaiting, holdSaved is set from the start), and the check then skips it
   *    (the states are one live Map: an entry taken meanwhile is not reached).
   * The HLC observes the greatest stamp of the file's states before the check begins (this
   * node's next writes of any of their keys come after them; it used to observe each state as
   * the check reached it, which needs every state decoded: file-states.ts), and the AOF is
   * marked as old as the file before the check's first delete is written to it (see fileMark below).
   */
  private takeSaved(then: () => void): void {
    const { states: all, since } = this.savedStates?.() ?? { states: new FileStates(), since: 0 };
    this.since = since;
    this.stats.states = all.size;
    // (the file's states are this.saved: the dead, local and absent ones leave it as reached)
    this.saved = all;
    if (all.size === 0) { then(); return; }
    this.rep.holdSaved(all);
    this.rep.hlc.observe(all.maxStamp);
    // An AOF goes on growing from here, so it would look newer than these states are: it
    // says how old they are until they are joined (saved-state.ts filePieces). Before the
    // check's deletes reach it (an AOF cut between two slices must not look newer).
    this.rep.fileMark(this.written());
    this.markedOld = true;
    const it = all.keptEntries();
    const dead: [string, KeyState][] = [];
    let live: string[] = [];
    let reached = 0;
    let rushed = false, ended = false;
    // (keys a client's write had checked ahead of the rest: checkFirst below; the check skips them)
    const early = new Set<string>();
    // One file state as the check reaches it: kept as it is if a script's set_repl write made
    // its key local (local-keys.ts), else a tombstone to join or a live state to look at.
    const take = (k: string, v: FileState) => {
      if (this.rep.localKeys.wasLocal(k)) { all.delete(k); return; }
      if (FileStates.live(v)) live.push(k);
      else { all.delete(k); dead.push([k, all.state(v)]); }
    };
    // What take gathered: the tombstones joined, the live states whose key is absent deleted.
    const settle = () => {
      if (dead.length) {
        this.stats.statesJoined += dead.length;
        this.rep.receiveEntries(dead, 0, dead.length);
        dead.length = 0;
      }
      if (live.length) { this.checkAbsent(live); live = []; }
    };
    const step = () => {
      if (ended) return; // (a slice put off to a later turn, after a rush ended the check)
      const enough = this.pacing && !rushed ? this.pacing.slice(CHECK_SLICE_MS) : () => false;
      for (;;) {
        const r = it.next();
        if (!r.done) {
          const [k, st] = r.value;
          reached++;
          if (early.size !== 0 && early.has(k)) continue;
          take(k, st);
          if (reached % CHECK_CHUNK !== 0) continue;
        }
        settle();
        if (r.done) break;
        if (enough()) { this.rep.flush(); this.pacing!.later(step); return; }
      }
      ended = true;
      this.rush = undefined;
      this.checkFirst = undefined;
      this.rep.flush();
      if (this.saved.size === 0) {
        // (none waits: the AOF is as new as it looks again)
        this.rep.holdSaved(undefined);
        this.rep.fileMark(-1);
        this.markedOld = false;
      }
      then();
    };
    this.rush = () => { rushed = true; step(); };
    // A client's write of keys the check may not have reached yet: each one's file state is
    // looked at now as the check would (a tombstone joined, a live state whose key the load
    // left absent recorded as deleted), so the write comes after it, and the rest of the check
    // goes on in its slices. (Finishing the whole check for the first write held every client
    // for 7.9 s at 1M states.) A key reached already is looked at again, which changes nothing:
    // its state left the file states, or its key is present.
    // (between slices take has nothing gathered: settle here handles these keys alone)
    this.checkFirst = (db, keys) => {
      for (const key of keys) {
        const k = dbKey(db, key);
        const st = all.kept(k);
        if (st === undefined || early.has(k)) continue;
        early.add(k);
        take(k, st);
      }
      settle();
    };
    step();
  }

  /**
   * Records the file states of `keys` whose key the keyspace does not hold as this node's
   * deletes (takeSaved): EXISTS over the chunk's keys of a db at once, and key by key only in
   * a chunk that misses some (a file without such keys costs one call per chunk). A key whose
   * state left this.saved meanwhile (adopted by an expiry's delete) is skipped.
   */
  private checkAbsent(keys: string[]): void {
    const byDb = new Map<number, [string, Buffer][]>();
    for (const k of keys) {
      const { db, key } = splitDbKey(k);
      let l = byDb.get(db);
      if (!l) byDb.set(db, (l = []));
      l.push([k, key]);
    }
    for (const [db, l] of byDb) {
      if (this.rep.io.run(db, "EXISTS", ...l.map(([, key]) => key)) === l.length) continue;
      for (const [k, key] of l) {
        if (this.rep.io.run(db, "EXISTS", key) !== 0) continue;
        const st = this.saved.get(k);
        if (st === undefined) continue;
        this.saved.delete(k);
        this.rep.recordLoadedGone(k, st);
        this.stats.statesDeleted++;
      }
    }
  }

  /** The loaded file's time, or the older one of the states it carried undecided (since). */
  private written(): number {
    const t = this.fileTime();
    return this.since > 0 && this.since < t ? this.since : t;
  }

  /**
   * The file's live states not decided yet, for a save made meanwhile (saved-state.ts): with
   * them the next file still carries them, as of this file's time (a node that restarts again
   * before its peers answered, or that has none, keeps what it knew).
   */
  pendingForSave(): PendingStates | undefined {
    return this.saved.size ? { since: this.written(), states: this.saved } : undefined;
  }

  private finish(): void {
    this.done = true;
    this.stats.pending = 0;
    this.candidates = undefined;
    this.seen.clear();
    this.gossip.wholeView = undefined;
  }
}

/**
 * Commands whose writes reach keys their arguments do not name, or keys of another db than
 * the client's: a script (undeclared keys, SELECT), a flush, SWAPDB, MOVE, COPY ... DB, and
 * MIGRATE (its KEYS form: keysFromSpecs does not read it). During the load-end check they
 * finish it first (LoadedKeys.rush), and during a large answer's join the join (gossip.ts joinOpen).
 */
const WRITES_UNNAMED_KEYS = new Set(["eval", "evalsha", "fcall", "flushall", "flushdb", "swapdb", "move", "copy", "migrate"]);

/**
 * The keys a write command names (its key specs, as Redis's getKeysFromCommand reads them), all
 * in the client's db; undefined when that is not what it writes (WRITES_UNNAMED_KEYS, or
 * specs that cannot be resolved from these arguments).
 */
export function writtenKeys(spec: CommandSpec, argv: Buffer[]): Buffer[] | undefined {
  if (WRITES_UNNAMED_KEYS.has(spec.parent?.name ?? spec.name)) return undefined;
  const refs = keysFromSpecs(spec, argv) ?? (spec.name === "sort" ? sortKeys(argv) : null);
  return refs === null ? undefined : refs.map((r) => argv[r.pos]);
}
