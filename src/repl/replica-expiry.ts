// Expiry on a replica (Redis's expireIfNeeded with masterhost set, db.c): a replica never
// deletes a key because its TTL passed, neither on a read nor in the active expire cycle; it
// waits for its master's DEL, so the two datasets stay the same. Reads still see such a key
// as absent, and while the master's stream is applied no key counts as expired at all, so a
// write the master made while the key was live finds it here too. The kernel holds both
// switches (assembly/keyspace/keyspace.ts: replicaExpiry, applyingMasterStream).
//
// A writable replica's own clients may give keys a TTL; no master will ever DEL those, so
// they are remembered and expired here (Redis's rememberSlaveKeyWithExpire/expireSlaveKeys).
import type { Server } from "../server/server.js";
import { EFFECT_COMMAND, type Effect, type Subscription } from "../server/effects.js";

/**
 * Effects that may leave a key with a TTL (Redis calls rememberSlaveKeyWithExpire from
 * setExpire, whatever the command): the key and its db, or null.
 */
function keyGivenTtl(name: string, argv: Buffer[], db: number): { db: number; key: string } | null {
  switch (name) {
    case "set": case "pexpireat": case "pexpire": case "expire": case "expireat":
    case "setex": case "psetex": case "getex": case "restore":
      return { db, key: argv[1].toString("latin1") };
    case "rename": case "renamenx": // the TTL moves with the value to the new name
      return argv.length > 2 ? { db, key: argv[2].toString("latin1") } : null;
    case "move": // MOVE key db: the key (and its TTL) is now in the other db
      return argv.length > 2 ? { db: Number(argv[2].toString("latin1")), key: argv[1].toString("latin1") } : null;
    case "copy": { // COPY src dst [DB n] [REPLACE]: the destination, in db n if given
      if (argv.length < 3) return null;
      let to = db;
      for (let i = 3; i + 1 < argv.length; i++) if (argv[i].toString("latin1").toLowerCase() === "db") to = Number(argv[i + 1].toString("latin1"));
      return { db: to, key: argv[2].toString("latin1") };
    }
  }
  return null;
}

class ReplicaExpiry {
  replica = false;
  applying = false;
  /** db -> keys (latin1) a local client wrote with a TTL. */
  private readonly own = new Map<number, Set<string>>();
  private sub?: Subscription;
  private timer?: NodeJS.Timeout;

  constructor(private readonly server: Server) {}

  set(on: boolean): void {
    this.replica = on;
    for (const s of this.server.shards) s.kernel.x.setReplicaExpiry(on ? 1 : 0);
    if (on && !this.sub) this.sub = this.server.effects.subscribe({ onEffect: (e) => this.onEffect(e) });
    this.sub?.setActive(on);
    if (!on) {
      // A master expires every key itself: nothing left to track.
      this.own.clear();
      this.stopTimer();
    }
  }

  private onEffect(e: Effect): void {
    if (!this.replica || e.kind !== EFFECT_COMMAND) return;
    const name = e.argv[0].toString("latin1").toLowerCase();
    // Every database emptied (FLUSHALL, ours or the master's, and the flush before a full
    // sync's load): nothing tracked is left (Redis's emptyData(-1) calls
    // flushSlaveKeysWithExpireList), so a key of the same name the master sends later is
    // never expired here.
    if (name === "flushall") return this.forget();
    if (this.applying || e.argv.length < 2) return;
    // Only a writable replica remembers (setExpire: masterhost && repl_slave_ro == 0). A
    // read-only one gets TTLs only from its master's stream and its AOF's replay, and both
    // wait for the master's DEL: tracked, an AOF's SET ... PXAT in the past was deleted
    // right after a restart (cluster 14-consistency-check, appendonly=yes).
    if (this.server.config.getBool("replica-read-only")) return;
    const t = keyGivenTtl(name, e.argv, e.db);
    if (!t || !Number.isInteger(t.db)) return;
    let keys = this.own.get(t.db);
    if (!keys) this.own.set(t.db, (keys = new Set()));
    keys.add(t.key);
    if (!this.timer) {
      // Redis runs expireSlaveKeys from the expire cycle, hz times a second.
      const hz = Math.max(1, Math.min(500, this.server.config.getNumber("hz")));
      this.timer = setInterval(() => this.expireOwnKeys(), 1000 / hz);
      this.timer.unref();
    }
  }

  /** Turns the subscription off while a master's command runs, when no key is tracked; whether it did. */
  quietWhileApplying(): boolean {
    if (!this.sub || !this.replica || this.own.size > 0) return false;
    this.sub.setActive(false);
    return true;
  }

  /** Back on after quietWhileApplying (a local client's write with a TTL must be seen). */
  listen(): void { this.sub?.setActive(this.replica); }

  /** Forgets every tracked key (Redis's flushSlaveKeysWithExpireList). */
  forget(): void {
    this.own.clear();
    this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Deletes the tracked keys whose TTL has passed; forgets those gone or without a TTL. */
  private expireOwnKeys(): void {
    const now = this.server.now();
    for (const [db, keys] of this.own) {
      for (const key of keys) {
        const bytes = Buffer.from(key, "latin1");
        const shard = this.server.shards.length === 1 ? this.server.shards[0] : this.server.router.shardOf(bytes);
        const x = shard.kernel.x;
        const p = x.alloc(Math.max(1, bytes.length));
        let r: number;
        try {
          shard.kernel.mem.set(bytes, p);
          r = x.replicaKeyExpire(db, p, bytes.length, now);
        } finally {
          x.free(p);
          shard.afterCall(); // publishes the expiry (notifications, AOF)
        }
        if (r !== 1) keys.delete(key);
      }
      if (keys.size === 0) this.own.delete(db);
    }
    if (this.own.size === 0) this.stopTimer();
  }
}

const states = new WeakMap<Server, ReplicaExpiry>();

function stateOf(server: Server): ReplicaExpiry {
  let s = states.get(server);
  if (!s) states.set(server, (s = new ReplicaExpiry(server)));
  return s;
}

/** REPLICAOF host port turns it on, REPLICAOF NO ONE off. */
export function setReplicaExpiry(server: Server, on: boolean): void {
  stateOf(server).set(on);
}

/**
 * From now until the returned function is called, the master's stream is being applied: no
 * key counts as expired, and the TTL-tracking subscription is off when no key is tracked (the
 * master's writes matter here only when they FLUSHALL keys of ours: with none tracked there is
 * nothing to forget, so the kernel need not record, nor the bus decode, every write of the
 * stream for nobody). Entered once for a run of the master's commands, not per command: the
 * kernel switches and the subscription's toggling were a twentieth of applying a stream.
 */
export function enterMasterStream(server: Server): () => void {
  const st = stateOf(server);
  st.applying = true;
  const quiet = st.quietWhileApplying();
  for (const s of server.shards) s.kernel.x.setApplyingMasterStream(1);
  return () => {
    for (const s of server.shards) s.kernel.x.setApplyingMasterStream(0);
    st.applying = false;
    if (quiet) st.listen();
  };
}

/**
 * Runs fn seeing keys whose TTL has passed as present and leaving them in place: for
 * commands that look at the dict directly in Redis (DEBUG OBJECT's dictFind).
 */
export function ignoringExpiry<T>(server: Server, fn: () => T): T {
  for (const s of server.shards) s.kernel.x.setApplyingMasterStream(1);
  try {
    return fn();
  } finally {
    for (const s of server.shards) s.kernel.x.setApplyingMasterStream(0);
  }
}
