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
import type { Replicator } from "./replicator.js";
import type { Gossip, Pacing } from "./gossip.js";
import { dbKey } from "./store.js";

/** A loaded key's share of a turn is that of a sliced join (gossip.ts JOIN_SLICE_MS). */
const RECORD_SLICE_MS = 20;
/** Keys per SCAN call of the walk that lists the loaded keys. */
const SCAN_COUNT = 1000;

export class LoadedKeys {
  /** The loaded keys with no CRDT state when the load ended; undefined until then. */
  private candidates?: [number, Buffer][];
  /** Per peer link: the removal horizon of its latest whole state joined here. */
  private readonly seen = new Map<string, number>();
  private done = false;
  readonly stats = { pending: 0, sent: 0, keptLocal: 0 };

  /** @param fileTime when the loaded file was last written (ms; persistence.ts startupFileTime) */
  constructor(private readonly rep: Replicator, private readonly gossip: Gossip, private readonly databases: number,
              private readonly fileTime: () => number, private readonly pacing?: Pacing) {
    gossip.wholeView = (link, horizon) => {
      if (this.done) return;
      this.seen.set(link, horizon);
      this.tryRecord();
    };
    // (peer messages wait for the load as well: Replicator.keyspaceBusy)
    rep.whenKeyspaceFree(() => this.loadEnded());
  }

  /**
   * Lists the loaded keys that have no CRDT state, with SCAN, a slice of RECORD_SLICE_MS per
   * event-loop turn: one KEYS * (and the check of every key) held the loop for as long as the
   * keyspace is large (1M keys: 2.3 s at load 13, no PING answered). SCAN returns every key
   * present for the whole walk; a key a client or a peer's state creates meanwhile has CRDT
   * state and is not a candidate, a key deleted meanwhile is not one either, and a key SCAN
   * returns twice is recorded once (recordLoaded skips a key with state).
   */
  private loadEnded(): void {
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
          if (this.rep.localKeys.wasLocal(k)) { this.rep.localKeys.add(k); this.stats.keptLocal++; continue; }
          found.push([db, key]);
        }
        this.stats.pending = found.length;
        cursor = next.toString("latin1");
        if (cursor === "0") db++;
        if (db < this.databases && enough()) { this.pacing!.later(step); return; }
      }
      this.rep.localKeys.loadWalked();
      this.candidates = found;
      if (found.length === 0) { this.finish(); return; }
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
    this.finish();
    // The horizon is a reading of this node's own clock by an earlier incarnation (gossip.ts
    // removalHorizon), the file's time a reading of the same clock: a file written after it
    // holds none of the keys the peers collected.
    const written = this.fileTime();
    if (horizon !== 0 && written <= horizon) {
      this.stats.keptLocal += keys.length;
      // (and after the next restart too, when the file holding them is newer: local-keys.ts)
      for (const [db, key] of keys) this.rep.localKeys.add(dbKey(db, key));
      this.gossip.warn(`CRDT: ${keys.length} keys loaded from disk that no peer holds stay on this node alone: ` +
        `a peer collected removals this node's file (${new Date(written).toISOString()}) may predate, so they may be keys deleted since`);
      return;
    }
    let i = 0;
    const step = () => {
      const enough = this.pacing ? this.pacing.slice(RECORD_SLICE_MS) : () => false;
      for (; i < keys.length; i++) {
        if (this.rep.recordLoaded(keys[i][0], keys[i][1])) this.stats.sent++;
        if (i + 1 < keys.length && enough()) { i++; this.rep.flush(); this.pacing!.later(step); return; }
      }
      this.rep.flush();
    };
    step();
  }

  private finish(): void {
    this.done = true;
    this.stats.pending = 0;
    this.candidates = undefined;
    this.seen.clear();
    this.gossip.wholeView = undefined;
  }
}
