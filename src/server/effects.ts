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
import { putRespHeader, putRespBulk, respHeaderSize, respBulkSize } from "./resp-header.js";

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
/**
 * The kernel record belongs to the same command as the one before it (assembly/effects.ts
 * HINT_CONTINUES): the bus publishes such a run as an atomic group, so the AOF and replicas
 * get it in MULTI/EXEC as Redis 7.0 propagates a call's several commands.
 */
export const EFFECT_HINT_CONTINUES = 512;

export interface EffectConsumer {
  onEffect(e: Effect): void;
  /** Called when the outermost atomic group (EXEC, a script) begins and ends. */
  onGroup?(begin: boolean): void;
  /**
   * A kernel effect, read in place in the drained log rather than as an Effect (whose argv is a
   * Buffer per argument: with a replica attached they and their garbage were half of what a
   * propagated write cost the master). A consumer with it gets every kernel effect here, in
   * the same order with the other consumers, except inside holding() (onEffect, as host
   * effects). The record is reused for the next one: read it during the call, and call no
   * kernel (nor let onEffect do so for a record's toEffect()): while every active consumer has
   * onKernelRecord the log is read in kernel memory, which the next kernel call writes over.
   */
  onKernelRecord?(r: KernelRecord): void;
}

/** One record of a drained kernel log (assembly/effects.ts layout), read in place. */
export class KernelRecord {
  kind = 0;
  db = 0;
  hint = 0;
  argc = 0;
  shard!: Shard;
  /** As Effect.targets and Effect.fanOutPart: what publish() would have stamped on its Effect. */
  targets: number | undefined = undefined;
  fanOutPart = false;
  private log: Uint8Array = new Uint8Array(0);
  private dv = new DataView(new ArrayBuffer(0));
  private dvBuffer: ArrayBufferLike | undefined = undefined;
  /** Where the record starts, and where its first argument's length is. */
  private pos = 0;
  private argsAt = 0;
  private effect: Effect | null = null;

  constructor(private readonly bus: EffectBus) {}

  /** Starts reading a drained log. */
  reset(shard: Shard, log: Uint8Array): void {
    this.shard = shard;
    this.log = log;
    // The log is the shard's drained log region, the same bytes of the same memory run after
    // run: one DataView (to the memory's end; next() checks lengths against the log) serves
    // until the memory grows. A DataView per run was 3% of a simulator seed's CPU.
    if (log.buffer !== this.dvBuffer || log.byteOffset !== this.dv.byteOffset) {
      this.dvBuffer = log.buffer;
      this.dv = new DataView(log.buffer as ArrayBuffer, log.byteOffset);
    }
    this.pos = 0;
    this.argsAt = 0;
  }

  /** Moves to the next record (the first, after reset); false at the log's end. */
  next(): boolean {
    if (this.argsAt !== 0) this.pos += this.dv.getUint32(this.pos, true);
    const pos = this.pos;
    if (pos + 12 > this.log.length) return false;
    this.kind = this.log[pos + 4];
    this.db = this.log[pos + 5];
    this.hint = this.dv.getUint16(pos + 6, true);
    this.argc = this.dv.getUint32(pos + 8, true);
    this.argsAt = pos + 12;
    this.effect = null;
    return true;
  }

  /** Whether the record after this one carries EFFECT_HINT_CONTINUES (belongs to this one's command). */
  nextContinues(): boolean {
    const next = this.pos + this.dv.getUint32(this.pos, true);
    return next + 12 <= this.log.length && (this.dv.getUint16(next + 6, true) & EFFECT_HINT_CONTINUES) !== 0;
  }

  /**
   * The record as the Effect publish() hands the consumers (argv Buffers viewing the log,
   * targets and fanOutPart stamped), made once for all of them.
   */
  toEffect(): Effect {
    if (this.effect !== null) return this.effect;
    const { kind, db, hint, shard, log, dv } = this;
    const argv: Buffer[] = [];
    let p = this.argsAt;
    for (let i = 0; i < this.argc; i++) {
      const n = dv.getUint32(p, true);
      argv.push(Buffer.from(log.buffer, log.byteOffset + p + 4, n));
      p += 4 + n;
    }
    let e: Effect;
    if (hint & EFFECT_HINT_INT_RESULT) e = { kind, db, argv, shard, hint, intResult: dv.getBigInt64(p, true) };
    else if (hint & EFFECT_HINT_NO_PROPAGATE) e = { kind, db, argv, shard, hint, targets: 0 };
    else e = hint ? { kind, db, argv, shard, hint } : { kind, db, argv, shard };
    this.bus.stamp(e);
    return this.effect = e;
  }

  /** Bytes of the record's argv as a RESP multibulk command (what putResp writes). */
  respSize(): number {
    const dv = this.dv;
    let size = respHeaderSize(this.argc);
    let p = this.argsAt;
    for (let i = 0; i < this.argc; i++) {
      const n = dv.getUint32(p, true);
      size += respBulkSize(n);
      p += 4 + n;
    }
    return size;
  }

  /** Writes the record's argv as a RESP multibulk command at out[o] (respSize() bytes); returns the index after it. */
  putResp(out: Uint8Array, o: number): number {
    const { log, dv } = this;
    o = putRespHeader(out, o, 0x2a, this.argc);
    let p = this.argsAt;
    for (let i = 0; i < this.argc; i++) {
      const n = dv.getUint32(p, true);
      o = putRespBulk(out, o, log, p + 4, n);
      p += 4 + n;
    }
    return o;
  }
}

export interface Subscription {
  setActive(on: boolean): void;
  unsubscribe(): void;
}

export class EffectBus {
  private readonly subs: { consumer: EffectConsumer; active: boolean }[] = [];
  private recording = false;
  private depth = 0;
  /**
   * One record reader per publishKernelLog in progress: a consumer's own kernel call (the CRDT
   * replicator reads keys back as it takes an effect, and a read can expire a key) drains and
   * publishes its log in the middle of another's. One shared reader was reset by it, and the
   * outer log's later records were lost or read at the inner log's offsets.
   */
  private readonly records: KernelRecord[] = [];
  private publishing = 0;
  /** Every active consumer reads kernel records in place (onKernelRecord): the log needs no copy. */
  private inPlace = false;

  constructor(private readonly shards: Shard[]) {
    // Read in place while every consumer takes records (they call no kernel in onKernelRecord);
    // else a copy, which the Effects' argv view and a consumer's kernel calls cannot overwrite.
    // A copy of more than 64 bytes is an ArrayBuffer outside V8's heap per drained log.
    for (const s of shards) {
      s.onEffects = (shard, mem, p, n) => this.publishKernelLog(shard, this.inPlace ? mem.subarray(p, p + n) : mem.slice(p, p + n));
    }
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
    this.stamp(e);
    if (this.held) {
      // Copied: a kernel effect's argv views the shard's log, which the next call reuses.
      this.held.push({ ...e, argv: e.argv.map((a) => Buffer.from(a)) });
      return;
    }
    for (const s of this.subs) if (s.active) s.consumer.onEffect(e);
  }

  /** What the bus's state adds to an effect: where it propagates, whether it is a fan-out part. */
  stamp(e: Effect): void {
    if (this.replaying) e.targets = 0;
    else if (this.propagateTo !== PROPAGATE_ALL) e.targets = this.propagateTo;
    if (this.fanOutPart) e.fanOutPart = true;
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

  /**
   * Set by the server while a host handler runs (Server.run): a key the command finds expired
   * opens a group for the rest of the command (its DEL, then the command's own writes).
   */
  hostCommand = false;
  private commandGroup = false;

  /**
   * Opens an atomic group that lasts until the running host command ends, unless one is open:
   * a command that propagates several commands (SPOP with a count, XREADGROUP, XCLAIM...) is
   * one unit for the AOF and replicas, as Redis 7.0 wraps a call's propagated commands.
   */
  groupRestOfCommand(): void {
    // Outside Server.run (a blocked client served later) nothing would close it.
    if (this.commandGroup || !this.recording || !this.hostCommand) return;
    this.commandGroup = true;
    this.beginGroup();
  }

  /** The end of a host command (Server.run, the host lane): closes groupRestOfCommand's group. */
  endHostCommand(): void {
    this.hostCommand = false;
    if (!this.commandGroup) return;
    this.commandGroup = false;
    this.endGroup();
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

  /**
   * Hands a drained kernel log's records to the consumers, each record to every consumer in
   * turn: as an Effect (made once, when a consumer without onKernelRecord listens) or in place.
   */
  private publishKernelLog(shard: Shard, log: Uint8Array): void {
    if (this.muted) return;
    const r = (this.records[this.publishing] ??= new KernelRecord(this));
    this.publishing++;
    try {
      this.publishRecords(r, shard, log);
    } finally {
      this.publishing--;
    }
  }

  private publishRecords(r: KernelRecord, shard: Shard, log: Uint8Array): void {
    r.reset(shard, log);
    while (r.next()) {
      if (this.held) {
        // Held effects are delivered later as Effects (their argv copied by publish).
        const e = r.toEffect();
        this.held.push({ ...e, argv: e.argv.map((a) => Buffer.from(a)) });
        continue;
      }
      // A run of records from one command (EFFECT_HINT_CONTINUES on all but its first) is a group.
      const continues = (r.hint & EFFECT_HINT_CONTINUES) !== 0;
      const nextContinues = r.nextContinues();
      if (nextContinues && !continues) this.beginGroup();
      else if (r.kind === EFFECT_EXPIRED && this.hostCommand && !this.commandGroup) this.groupRestOfCommand();
      // publish()'s stamping, for the consumers that read the record itself.
      r.targets = this.replaying ? 0 : this.propagateTo !== PROPAGATE_ALL ? this.propagateTo
        : r.hint & EFFECT_HINT_NO_PROPAGATE ? 0 : undefined;
      r.fanOutPart = this.fanOutPart;
      for (const s of this.subs) {
        if (!s.active) continue;
        if (s.consumer.onKernelRecord) s.consumer.onKernelRecord(r);
        else s.consumer.onEffect(r.toEffect());
      }
      if (continues && !nextContinues) this.endGroup();
    }
  }

  private update(): void {
    this.inPlace = this.subs.every((s) => !s.active || s.consumer.onKernelRecord !== undefined);
    const want = this.subs.some((s) => s.active);
    if (want === this.recording) return;
    this.recording = want;
    for (const s of this.shards) s.recordEffects(want);
  }
}
