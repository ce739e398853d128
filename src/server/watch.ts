// WATCH (Redis's multi.c, second half): keys a client watches, and which writes make its
// next EXEC fail (CLIENT_DIRTY_CAS).
//
// Dirtiness comes from effect records, never from comparing values: a write that puts the
// same value back still touches the key. Effects come from the effect bus (src/server/
// effects.ts): a write command as executed (its keys are found from the command table's key
// specs) or a key the kernel removed by itself (expiry, eviction). The subscription is
// active only while at least one key is watched, so the hot path pays nothing otherwise.
//
// Layout:
//   byKey:    "db:key" (latin1) -> the WatchedKey entries of every client watching it
//   byClient: client -> its WatchedKey entries, in WATCH order
// A WatchedKey remembers, like Redis's watchedKey.expired, whether the key was already past
// its TTL (but not reclaimed) when watched, and whether the key was in the keyspace at all
// ("present"): FLUSHDB/FLUSHALL/SWAPDB touch only watched keys that exist, and since any
// other change of a watched key's existence is itself a touch (or an expiry, tracked here),
// the presence recorded at WATCH time stays right until the key is touched.
import type { Client } from "./client.js";
import type { Server } from "./server.js";
import type { Shard } from "./shard.js";
import type { CommandSpec } from "../commands/table.js";
import { keysFromSpecs } from "../commands/command.js";
import { EFFECT_COMMAND, type Effect, type Subscription } from "./effects.js";

/** keyPresence results (assembly/index.ts). */
const ABSENT = 0;
const STALE = 2;

interface WatchedKey {
  client: Client;
  db: number;
  key: Buffer;
  /** The key was past its TTL, not yet reclaimed, when watched (or became so by SWAPDB). */
  expired: boolean;
  /** The key was in the keyspace (live or stale). */
  present: boolean;
}

export class WatchedKeys {
  private readonly byKey = new Map<string, WatchedKey[]>();
  private readonly byClient = new Map<Client, WatchedKey[]>();
  private readonly subscription: Subscription;

  constructor(private readonly server: Server) {
    this.subscription = server.effects.subscribe({ onEffect: (e) => this.onEffect(e) }, false);
  }

  /** WATCH key: a no-op for a key the client already watches in that db. */
  watch(client: Client, db: number, key: Buffer): void {
    let list = this.byClient.get(client);
    if (list?.some((w) => w.db === db && w.key.equals(key))) return;
    const presence = this.presence(db, key);
    const wk: WatchedKey = { client, db, key: Buffer.from(key), expired: presence === STALE, present: presence !== ABSENT };
    if (!list) this.byClient.set(client, (list = []));
    list.push(wk);
    const id = keyId(db, key);
    let watchers = this.byKey.get(id);
    if (!watchers) this.byKey.set(id, (watchers = []));
    watchers.push(wk);
    this.updateRecording();
  }

  /** UNWATCH, EXEC, DISCARD, disconnect: forgets every key the client watches. */
  unwatchAll(client: Client): void {
    const list = this.byClient.get(client);
    if (!list) return;
    this.byClient.delete(client);
    for (const wk of list) {
      const id = keyId(wk.db, wk.key);
      const watchers = this.byKey.get(id)!;
      const rest = watchers.filter((w) => w !== wk);
      if (rest.length) this.byKey.set(id, rest);
      else this.byKey.delete(id);
    }
    this.updateRecording();
  }

  /** Redis's isWatchedKeyExpired: a watched key (live when watched) is now past its TTL. */
  anyExpired(client: Client): boolean {
    for (const wk of this.byClient.get(client) ?? []) {
      if (!wk.expired && this.presence(wk.db, wk.key) === STALE) return true;
    }
    return false;
  }

  /** Keys the client watches (CLIENT LIST watch=... is Redis 7.4; kept for tests). */
  count(client: Client): number { return this.byClient.get(client)?.length ?? 0; }

  private updateRecording(): void {
    this.subscription.setActive(this.byKey.size > 0);
  }

  private presence(db: number, key: Uint8Array): number {
    const shard = this.server.router.shardOf(key);
    const x = shard.kernel.x;
    const p = x.alloc(Math.max(1, key.length));
    try {
      shard.kernel.mem.set(key, p);
      return x.keyPresence(db, p, key.length, this.server.now());
    } finally {
      x.free(p);
    }
  }

  // ---- effects ------------------------------------------------------------------------------

  private onEffect(e: Effect): void {
    if (this.byKey.size === 0) return;
    if (e.kind === EFFECT_COMMAND) this.touchCommand(e.db, e.argv, e.shard);
    else this.touchRemoved(e.db, e.argv[0]);
  }

  /** A write command ran in db (in `shard`, for the keyspace-wide ones): touch its keys. */
  private touchCommand(db: number, argv: Buffer[], shard?: Shard): void {
    const name = argv[0].toString("latin1").toLowerCase();
    switch (name) {
      case "flushdb":
        return this.touchAllInDb(db, null, shard);
      case "flushall":
        for (const d of this.watchedDbs()) this.touchAllInDb(d, null, shard);
        return;
      case "swapdb": {
        const a = Number(argv[1].toString("latin1"));
        const b = Number(argv[2].toString("latin1"));
        this.touchAllInDb(a, b, shard);
        if (b !== a) this.touchAllInDb(b, a, shard);
        return;
      }
      case "move":
        // MOVE key db: the key changes in both databases.
        this.touchKey(db, argv[1]);
        this.touchKey(Number(argv[2].toString("latin1")), argv[1]);
        return;
      case "copy": {
        // COPY src dst [DB n] [REPLACE]: only the destination changes.
        let dstDb = db;
        for (let i = 3; i + 1 < argv.length; i++) {
          if (argv[i].toString("latin1").toLowerCase() === "db") dstDb = Number(argv[i + 1].toString("latin1"));
        }
        this.touchKey(dstDb, argv[2]);
        return;
      }
    }
    for (const key of this.keysOf(name, argv)) this.touchKey(db, key);
  }

  /** The keys of a write command's argv, from its key specs; every argument when they cannot say. */
  private keysOf(name: string, argv: Buffer[]): Buffer[] {
    let spec: CommandSpec | undefined = this.server.table.find(name);
    if (spec && spec.subcommands.size > 0 && argv.length > 1) {
      spec = spec.subcommands.get(argv[1].toString("latin1").toLowerCase()) ?? spec;
    }
    const refs = spec ? keysFromSpecs(spec, argv) : null;
    return refs ? refs.map((r) => argv[r.pos]) : argv.slice(1);
  }

  /** Redis's touchWatchedKey. */
  private touchKey(db: number, key: Buffer): void {
    const watchers = this.byKey.get(keyId(db, key));
    if (!watchers) return;
    for (const wk of [...watchers]) {
      // A key stale when watched and still in the keyspace: no logical change yet (once it
      // is reclaimed, touchRemoved clears the flag).
      if (wk.expired) continue;
      this.markDirty(wk.client);
    }
  }

  /** The kernel removed a key by itself (expiry, eviction): Redis's touchWatchedKey after deleting it. */
  private touchRemoved(db: number, key: Buffer): void {
    const watchers = this.byKey.get(keyId(db, key));
    if (!watchers) return;
    for (const wk of [...watchers]) {
      wk.present = false;
      // Already stale when watched: its deletion is no logical change.
      if (wk.expired) wk.expired = false;
      else this.markDirty(wk.client);
    }
  }

  /**
   * Redis's touchAllWatchedKeysInDb: db was emptied (FLUSHDB/FLUSHALL), or swapped with
   * `replacedWith`, whose keys it now holds. Runs after the command, once per shard that ran
   * it, for the watched keys that shard owns.
   */
  private touchAllInDb(db: number, replacedWith: number | null, shard?: Shard): void {
    const router = this.server.router;
    for (const [, watchers] of [...this.byKey]) {
      const sample = watchers[0];
      if (sample.db !== db) continue;
      if (shard && router.sharded && router.shardOf(sample.key) !== shard) continue;
      // After SWAPDB, db holds what replacedWith held.
      const now = replacedWith === null ? ABSENT : this.presence(db, sample.key);
      for (const wk of [...watchers]) {
        const existed = wk.present;
        wk.present = now !== ABSENT;
        if (!existed && now === ABSENT) continue;
        if (wk.expired) {
          // Stale key replaced by nothing: no logical change.
          if (now === ABSENT) { wk.expired = false; continue; }
          // Stale key replaced by another stale key: still expired.
          if (now === STALE) continue;
        } else if (!existed && now === STALE) {
          // No key replaced by a stale one.
          wk.expired = true;
          continue;
        }
        this.markDirty(wk.client);
      }
    }
  }

  private watchedDbs(): Set<number> {
    const dbs = new Set<number>();
    for (const watchers of this.byKey.values()) dbs.add(watchers[0].db);
    return dbs;
  }

  private markDirty(client: Client): void {
    client.dirtyCas = true;
    // Once dirty, nothing more can change the outcome of its EXEC.
    this.unwatchAll(client);
  }
}

function keyId(db: number, key: Uint8Array): string {
  return db + ":" + Buffer.from(key.buffer, key.byteOffset, key.length).toString("latin1");
}
