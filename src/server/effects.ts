// The effect bus: one stream of "what every write did", for every consumer (WATCH, keyspace
// notifications, AOF, replication). DESIGN.md: consumers never re-derive what a command did.
//
// Two sources feed it:
//   - the kernel's effect log (assembly/effects.ts), drained by Shard.afterCall after every
//     kernel call: a write command as executed (relative TTLs already made absolute) or a
//     key the kernel removed by itself (expired, evicted);
//   - host writes (lists, sets, zsets, scripting...), reported with HostKeyspace.propagate().
// The kernel records only while some subscription is active, so the hot path pays one
// branch when nobody listens. A subscription is active from subscribe() until it calls
// setActive(false) (WATCH turns itself on only while some key is watched).
//
// Atomic groups: MULTI/EXEC and scripts wrap their execution in beginGroup()/endGroup() so
// consumers that must apply them as one unit (AOF, replication) see the boundaries; groups
// nest (a script inside EXEC is part of the outer group).
import type { Shard } from "./shard.js";

export const EFFECT_COMMAND = 1;
export const EFFECT_EXPIRED = 2;
export const EFFECT_EVICTED = 3;

export interface Effect {
  /** EFFECT_COMMAND: argv is the write as it should be replayed; EXPIRED/EVICTED: argv = [key]. */
  kind: number;
  db: number;
  argv: Buffer[];
  /** The shard whose kernel ran it (kernel effects only; keyspace-wide commands run once per shard). */
  shard?: Shard;
  /**
   * A keyspace-wide command (FLUSHDB, FLUSHALL, SWAPDB) runs once per shard (Router.onEveryShard):
   * set on the effects of every run but the last. A consumer that acts once per command
   * (replication, AOF, client tracking, active-active) skips these; WATCH touches the keys
   * each shard's run reached. Four SWAPDBs in a replica's stream swapped nothing at all.
   */
  fanOutPart?: boolean;
  /** What the argv does not say (assembly/effects.ts HINT_*): EFFECT_HINT_FLOAT_INCR. */
  hint?: number;
  /** The integer the command left in its key (INCR/DECR/INCRBY/DECRBY; EFFECT_HINT_INT_RESULT). */
  intResult?: bigint;
  /**
   * Where the write propagates when a script narrowed it with redis.set_repl: a mask of
   * PROPAGATE_AOF and PROPAGATE_REPL (absent: both, as every write outside such a script).
   */
  targets?: number;
}

/** Redis's PROPAGATE_AOF / PROPAGATE_REPL (redis.REPL_AOF / REPL_REPLICA). */
export const PROPAGATE_AOF = 1;
export const PROPAGATE_REPL = 2;
export const PROPAGATE_ALL = PROPAGATE_AOF | PROPAGATE_REPL;

/** The SET/HSET is the result of INCRBYFLOAT/HINCRBYFLOAT (CRDT replication counts the increment). */
export const EFFECT_HINT_FLOAT_INCR = 1;
/** The kernel record ends with the integer result (Effect.intResult). */
export const EFFECT_HINT_INT_RESULT = 2;
/** A write that changed nothing but is still notified (kernel LTRIM keeping every element): no propagation target. */
export const EFFECT_HINT_NO_PROPAGATE = 4;
/** The SREM or DEL is SPOP's propagation (one "spop" event, not "srem"s): assembly/effects.ts HINT_SPOP. */
export const EFFECT_HINT_SPOP = 8;
/** A further SREM of the same counted SPOP (already notified by the first): no event. */
export const EFFECT_HINT_SPOP_MORE = 16;
/** The XADD also trimmed the stream (an "xtrim" event after "xadd"; host only, never from the kernel). */
export const EFFECT_HINT_XADD_TRIMMED = 32;
/**
 * The kernel checked, right after the command, whether argv[1] and argv[2] name live keys
 * (assembly/effects.ts HINT_KEYS_CHECKED, while keyspace notifications ask): KEY1_GONE /
 * KEY2_GONE say they did not. Its effects are read after a whole pipelined run, when a later
 * command may have changed the key.
 */
export const EFFECT_HINT_KEYS_CHECKED = 64;
export const EFFECT_HINT_KEY1_GONE = 128;
export const EFFECT_HINT_KEY2_GONE = 256;

export interface EffectConsumer {
  onEffect(e: Effect): void;
  /** Called when the outermost atomic group (EXEC, a script) begins and ends. */
  onGroup?(begin: boolean): void;
}

export interface Subscription {
  setActive(on: boolean): void;
  unsubscribe(): void;
}

export class EffectBus {
  private readonly subs: { consumer: EffectConsumer; active: boolean }[] = [];
  private recording = false;
  private depth = 0;

  constructor(private readonly shards: Shard[]) {
    for (const s of shards) s.onEffects = (shard, log) => this.publishKernelLog(shard, log);
  }

  /** `first`: the consumer sees each effect before the others (client tracking: see tracking.ts). */
  subscribe(consumer: EffectConsumer, active = true, first = false): Subscription {
    const sub = { consumer, active };
    if (first) this.subs.unshift(sub);
    else this.subs.push(sub);
    this.update();
    return {
      setActive: (on) => { if (sub.active !== on) { sub.active = on; this.update(); } },
      unsubscribe: () => {
        const i = this.subs.indexOf(sub);
        if (i >= 0) this.subs.splice(i, 1);
        this.update();
      },
    };
  }

  /** Whether any consumer listens (callers may skip building an effect when none does). */
  get listening(): boolean { return this.recording; }

  /** redis.set_repl's flags for the writes of the running script (reset when it ends). */
  propagateTo = PROPAGATE_ALL;

  /**
   * Writes that nobody may see (SCRIPT DEBUG YES, whose session Redis runs in a fork:
   * src/scripting/ldb-fork.ts): published to no consumer.
   */
  muted = false;

  /**
   * Set while a command of the AOF is replayed (start-up, DEBUG LOADAOF): its writes go to no
   * replica, peer or AOF, as Redis's alsoPropagate returns while server.loading. WATCH,
   * tracking and keyspace events still see them.
   */
  replaying = false;

  /** Set by Router.onEveryShard while a keyspace-wide command runs on a shard that is not the last. */
  fanOutPart = false;

  publish(e: Effect): void {
    if (this.muted) return;
    if (this.replaying) e.targets = 0;
    else if (this.propagateTo !== PROPAGATE_ALL) e.targets = this.propagateTo;
    if (this.fanOutPart) e.fanOutPart = true;
    if (this.held) {
      // Copied: a kernel effect's argv views the shard's log, which the next call reuses.
      this.held.push({ ...e, argv: e.argv.map((a) => Buffer.from(a)) });
      return;
    }
    for (const s of this.subs) if (s.active) s.consumer.onEffect(e);
  }

  private held: Effect[] | null = null;

  /**
   * Runs f with the effects it publishes held back, then publishes them in order. For a
   * command the router runs with keys borrowed from other shards (Router.gather): consumers
   * that look a key up when they see its effect (keyspace events' "del" when a key is gone,
   * client tracking, active-active's read-back) must see the keys back with their owners,
   * not a key missing while it is borrowed.
   */
  holding<T>(f: () => T): T {
    if (this.held || !this.recording) return f();
    this.held = [];
    let out: T;
    try {
      out = f();
    } finally {
      const held = this.held;
      this.held = null;
      for (const e of held) for (const s of this.subs) if (s.active) s.consumer.onEffect(e);
    }
    return out;
  }

  /** Inside EXEC or a script (BGSAVE and BGREWRITEAOF are scheduled rather than cut a group in two). */
  get inGroup(): boolean { return this.depth > 0; }

  beginGroup(): void {
    if (this.muted) return;
    if (this.depth++ === 0) for (const s of this.subs) if (s.active) s.consumer.onGroup?.(true);
  }

  endGroup(): void {
    if (this.muted || this.depth === 0) return;
    if (--this.depth === 0) for (const s of this.subs) if (s.active) s.consumer.onGroup?.(false);
  }

  /** Splits a drained kernel log (assembly/effects.ts record layout) into effects. */
  private publishKernelLog(shard: Shard, log: Uint8Array): void {
    const dv = new DataView(log.buffer, log.byteOffset, log.length);
    let pos = 0;
    while (pos + 12 <= log.length) {
      const len = dv.getUint32(pos, true);
      const kind = log[pos + 4];
      const db = log[pos + 5];
      const argc = dv.getUint32(pos + 8, true);
      const argv: Buffer[] = [];
      let p = pos + 12;
      for (let i = 0; i < argc; i++) {
        const n = dv.getUint32(p, true);
        argv.push(Buffer.from(log.buffer, log.byteOffset + p + 4, n));
        p += 4 + n;
      }
      const hint = dv.getUint16(pos + 6, true);
      if (hint & EFFECT_HINT_INT_RESULT) {
        this.publish({ kind, db, argv, shard, hint, intResult: dv.getBigInt64(p, true) });
      } else if (hint & EFFECT_HINT_NO_PROPAGATE) {
        this.publish({ kind, db, argv, shard, hint, targets: 0 });
      } else this.publish(hint ? { kind, db, argv, shard, hint } : { kind, db, argv, shard });
      pos += len;
    }
  }

  private update(): void {
    const want = this.subs.some((s) => s.active);
    if (want === this.recording) return;
    this.recording = want;
    for (const s of this.shards) s.recordEffects(want);
  }
}
