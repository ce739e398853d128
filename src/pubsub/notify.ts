// Keyspace notifications (Redis's notify.c): __keyspace@<db>__:<key> <event> and
// __keyevent@<db>__:<event> <key> messages for every write, by notify-keyspace-events.
//
// Events are derived from the effect bus (src/server/effects.ts), never from the commands
// themselves: a write as executed (its argv[0] names the command; the kernel has already
// rewritten the relative forms, so SET ... EX arrives as SET ... PXAT and GETDEL as DEL),
// and keys the kernel expired or evicted by itself. Each command maps to the events Redis's
// C source raises for it with notifyKeyspaceEvent, in the same order. Where Redis adds a
// "del" because the command emptied a container (LPOP of the last element, HDEL of the last
// field, a *STORE with an empty result), the key's absence after the write says so.
//
// The subscription to the bus is active only while some event class is enabled, so the hot
// path pays nothing by default; with no subscriber at all, nothing is built either.
import type { Server } from "../server/server.js";
import { EFFECT_COMMAND, EFFECT_EXPIRED, EFFECT_EVICTED, EFFECT_HINT_FLOAT_INCR, EFFECT_HINT_SPOP, EFFECT_HINT_SPOP_MORE, EFFECT_HINT_XADD_TRIMMED,
  EFFECT_HINT_KEYS_CHECKED, EFFECT_HINT_KEY1_GONE, EFFECT_HINT_KEY2_GONE,
  type Effect, type Subscription } from "../server/effects.js";
import { keyspaceEventsStringToFlags } from "../config/config.js";

// notify.c's NOTIFY_* classes (the bit layout config.ts parses into).
export const NOTIFY_KEYSPACE = 1 << 0;
export const NOTIFY_KEYEVENT = 1 << 1;
export const NOTIFY_GENERIC = 1 << 2;
export const NOTIFY_STRING = 1 << 3;
export const NOTIFY_LIST = 1 << 4;
export const NOTIFY_SET = 1 << 5;
export const NOTIFY_HASH = 1 << 6;
export const NOTIFY_ZSET = 1 << 7;
export const NOTIFY_EXPIRED = 1 << 8;
export const NOTIFY_EVICTED = 1 << 9;
export const NOTIFY_STREAM = 1 << 10;
export const NOTIFY_KEY_MISS = 1 << 11;
export const NOTIFY_LOADED = 1 << 12;
export const NOTIFY_NEW = 1 << 13;

type Emit = (cls: number, event: string, key: Buffer, db?: number) => void;

const lower = (b: Buffer | undefined) => (b ? b.toString("latin1").toLowerCase() : "");

export class KeyspaceNotifier {
  private flags = 0;
  /** The kernels log created keys for the `new` event. */
  private newKeys = false;
  private readonly subscription: Subscription;

  constructor(private readonly server: Server) {
    this.subscription = server.effects.subscribe({ onEffect: (e) => this.onEffect(e) }, false);
    // The `new` event (Redis's dbAdd): the kernel logs the keys it creates while asked to
    // (a log apart from the effects), drained after each kernel call and after each key the
    // host creates (HostKeyspace.add, which may also overwrite: only the kernel knows).
    const onAdd = server.types.onAdd;
    server.types.onAdd = (db, key) => {
      if (this.newKeys) server.router.shardOf(key).drainNewKeys();
      onAdd(db, key);
    };
    const update = () => {
      const f = keyspaceEventsStringToFlags(server.config.getString("notify-keyspace-events"));
      this.flags = f < 0 ? 0 : f;
      const active = (this.flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)) !== 0 && (this.flags & ~3) !== 0;
      this.subscription.setActive(active);
      for (const sh of server.shards) sh.kernel.x.setKeyGoneHints(active ? 1 : 0);
      const newKeys = (this.flags & (NOTIFY_KEYSPACE | NOTIFY_KEYEVENT)) !== 0 && (this.flags & NOTIFY_NEW) !== 0;
      if (newKeys !== this.newKeys) {
        this.newKeys = newKeys;
        for (const sh of server.shards) {
          sh.kernel.x.setNewKeyLogEnabled(newKeys ? 1 : 0);
          sh.onNewKeys = newKeys ? (_s, log) => this.onNewKeys(log) : undefined;
        }
      }
    };
    server.config.onApply("notify-keyspace-events", update);
    update();
  }

  /** Redis's notifyKeyspaceEvent. */
  notify(cls: number, event: string, key: Buffer, db: number): void {
    if ((this.flags & cls) === 0) return;
    const ps = this.server.pubsub;
    if (!ps.anySubscriber) return;
    const ev = Buffer.from(event);
    if (this.flags & NOTIFY_KEYSPACE) ps.publish(Buffer.concat([Buffer.from(`__keyspace@${db}__:`), key]), ev);
    if (this.flags & NOTIFY_KEYEVENT) ps.publish(Buffer.from(`__keyevent@${db}__:${event}`), key);
  }

  private onEffect(e: Effect): void {
    if (!this.server.pubsub.anySubscriber) return;
    const emit: Emit = (cls, event, key, db = e.db) => this.notify(cls, event, key, db);
    if (e.kind === EFFECT_EXPIRED) return emit(NOTIFY_EXPIRED, "expired", e.argv[0]);
    if (e.kind === EFFECT_EVICTED) return emit(NOTIFY_EVICTED, "evicted", e.argv[0]);
    if (e.kind !== EFFECT_COMMAND || e.argv.length < 2) return;
    this.commandEvents(e, emit);
  }

  /** A drained kernel log of created keys (assembly/effects.ts record layout): one `new` each. */
  private onNewKeys(log: Uint8Array): void {
    if (!this.server.pubsub.anySubscriber) return;
    const dv = new DataView(log.buffer, log.byteOffset, log.length);
    for (let pos = 0; pos + 16 <= log.length;) {
      const len = dv.getUint32(pos, true);
      const db = log[pos + 5];
      const n = dv.getUint32(pos + 12, true);
      this.notify(NOTIFY_NEW, "new", Buffer.from(log.subarray(pos + 16, pos + 16 + n)), db);
      pos += len;
    }
  }

  /**
   * Whether the write left no key under argv[pos] (a container it emptied). A kernel effect
   * says so itself (the kernel looked right after the command: in a pipelined run, the key
   * read now may already be another command's doing); a host write is published as it runs.
   */
  private gone(e: Effect, pos: number): boolean {
    const h = e.hint ?? 0;
    if (h & EFFECT_HINT_KEYS_CHECKED) {
      if (pos === 1) return (h & EFFECT_HINT_KEY1_GONE) !== 0;
      if (pos === 2) return (h & EFFECT_HINT_KEY2_GONE) !== 0;
    }
    return this.server.types.typeOf(e.db, e.argv[pos]) < 0;
  }

  private delIfGone(e: Effect, emit: Emit): void {
    if (this.gone(e, 1)) emit(NOTIFY_GENERIC, "del", e.argv[1]);
  }

  /** The events of one write command, as the command's C implementation raises them. */
  private commandEvents(e: Effect, emit: Emit): void {
    const a = e.argv;
    const name = lower(a[0]);
    const key = a[1];
    // INCRBYFLOAT and HINCRBYFLOAT arrive as the SET / HSET they replicate as; the hint says
    // what ran, and Redis notifies what ran.
    if (e.hint !== undefined && (e.hint & EFFECT_HINT_FLOAT_INCR) !== 0) {
      if (name === "set") return emit(NOTIFY_STRING, "incrbyfloat", key);
      if (name === "hset") return emit(NOTIFY_HASH, "hincrbyfloat", key);
    }
    // SPOP propagates as SREM (or DEL when it took the whole set) and notifies "spop" once,
    // then "del" when the set is gone (spopCommand, spopWithCountCommand).
    if (e.hint !== undefined && (e.hint & (EFFECT_HINT_SPOP | EFFECT_HINT_SPOP_MORE)) !== 0) {
      if (e.hint & EFFECT_HINT_SPOP_MORE) return;
      emit(NOTIFY_SET, "spop", key);
      if (name === "del") emit(NOTIFY_GENERIC, "del", key);
      else this.delIfGone(e, emit);
      return;
    }
    // streamTrim removed entries in an XADD with MAXLEN/MINID (xaddCommand).
    if (name === "xadd" && e.hint !== undefined && (e.hint & EFFECT_HINT_XADD_TRIMMED) !== 0) {
      emit(NOTIFY_STREAM, "xadd", key);
      emit(NOTIFY_STREAM, "xtrim", key);
      return;
    }
    const simple = SIMPLE[name];
    if (simple) {
      emit(simple[0], simple[1], key);
      if (simple[2]) this.delIfGone(e, emit);
      return;
    }
    switch (name) {
      case "set": case "setnx": case "getset": {
        emit(NOTIFY_STRING, "set", key);
        for (let i = 3; i < a.length; i++) {
          const o = lower(a[i]);
          if (o === "ex" || o === "px" || o === "exat" || o === "pxat") { emit(NOTIFY_GENERIC, "expire", key); break; }
        }
        return;
      }
      case "setex": case "psetex":
        emit(NOTIFY_STRING, "set", key);
        emit(NOTIFY_GENERIC, "expire", key);
        return;
      case "mset": case "msetnx":
        for (let i = 1; i + 1 < a.length; i += 2) emit(NOTIFY_STRING, "set", a[i]);
        return;
      case "del": case "unlink":
        for (let i = 1; i < a.length; i++) emit(NOTIFY_GENERIC, "del", a[i]);
        return;
      case "rename": case "renamenx":
        emit(NOTIFY_GENERIC, "rename_from", key);
        if (a[2]) emit(NOTIFY_GENERIC, "rename_to", a[2]);
        return;
      case "move": {
        const dst = Number(a[2]?.toString("latin1"));
        emit(NOTIFY_GENERIC, "move_from", key);
        if (Number.isInteger(dst)) emit(NOTIFY_GENERIC, "move_to", key, dst);
        return;
      }
      case "copy": {
        let db = e.db;
        for (let i = 3; i + 1 < a.length; i++) if (lower(a[i]) === "db") db = Number(a[i + 1].toString("latin1"));
        if (a[2]) emit(NOTIFY_GENERIC, "copy_to", a[2], db);
        return;
      }
      case "bitop": {
        const dst = a[2];
        if (!dst) return;
        if (this.gone(e, 2)) emit(NOTIFY_GENERIC, "del", dst);
        else emit(NOTIFY_STRING, "set", dst);
        return;
      }
      // lmoveGenericCommand: the push onto the destination (lmoveHandlePush) is notified
      // before the pop from the source, then the source's "del" if it emptied.
      case "rpoplpush": case "brpoplpush":
        if (a[2]) emit(NOTIFY_LIST, "lpush", a[2]);
        emit(NOTIFY_LIST, "rpop", key);
        this.delIfGone(e, emit);
        return;
      case "lmove": case "blmove": {
        if (a[2]) emit(NOTIFY_LIST, lower(a[4]) === "right" ? "rpush" : "lpush", a[2]);
        emit(NOTIFY_LIST, lower(a[3]) === "right" ? "rpop" : "lpop", key);
        this.delIfGone(e, emit);
        return;
      }
      // smoveCommand: "srem" and the source's "del" if it emptied, then "sadd".
      case "smove":
        emit(NOTIFY_SET, "srem", key);
        this.delIfGone(e, emit);
        if (a[2]) emit(NOTIFY_SET, "sadd", a[2]);
        return;
      case "zadd": {
        let incr = false;
        for (let i = 2; i < a.length && !/^[-+0-9.(]|^inf/i.test(a[i].toString("latin1")); i++) if (lower(a[i]) === "incr") incr = true;
        emit(NOTIFY_ZSET, incr ? "zincr" : "zadd", key);
        return;
      }
      case "sinterstore": case "sunionstore": case "sdiffstore":
        return this.storeEvent(e, NOTIFY_SET, name, 1, emit);
      case "zunionstore": case "zinterstore": case "zdiffstore": case "zrangestore":
        return this.storeEvent(e, NOTIFY_ZSET, name, 1, emit);
      // georadiusGeneric: "geosearchstore" / "georadiusstore" on the destination, or "del"
      // when an empty result removed it.
      case "geosearchstore":
        return this.storeEvent(e, NOTIFY_ZSET, name, 1, emit);
      case "georadius": case "georadiusbymember": {
        let dst = 0;
        for (let i = name === "georadius" ? 6 : 5; i + 1 < a.length; i++) {
          const o = lower(a[i]);
          if (o === "store" || o === "storedist") dst = ++i;
        }
        if (dst) this.storeEvent(e, NOTIFY_ZSET, "georadiusstore", dst, emit);
        return;
      }
      case "sort": {
        for (let i = 2; i + 1 < a.length; i++) {
          if (lower(a[i]) === "store") return this.storeEvent(e, NOTIFY_GENERIC, "sortstore", i + 1, emit);
        }
        return;
      }
      case "xgroup": {
        const sub = lower(a[1]);
        const k = a[2];
        if (!k) return;
        if (sub === "create") emit(NOTIFY_STREAM, "xgroup-create", k);
        else if (sub === "createconsumer") emit(NOTIFY_STREAM, "xgroup-createconsumer", k);
        else if (sub === "delconsumer") emit(NOTIFY_STREAM, "xgroup-delconsumer", k);
        else if (sub === "destroy") emit(NOTIFY_STREAM, "xgroup-destroy", k);
        else if (sub === "setid") emit(NOTIFY_STREAM, "xgroup-setid", k);
        return;
      }
    }
  }

  /** A *STORE: its event on the destination, or "del" when the empty result removed it. */
  private storeEvent(e: Effect, cls: number, event: string, pos: number, emit: Emit): void {
    const dst = e.argv[pos];
    if (this.gone(e, pos)) emit(NOTIFY_GENERIC, "del", dst);
    else emit(cls, event, dst);
  }
}

/** Commands raising one event on argv[1]: [class, event, and "del" too when the key is gone]. */
const SIMPLE: Record<string, [number, string, boolean?]> = {
  append: [NOTIFY_STRING, "append"],
  setrange: [NOTIFY_STRING, "setrange"],
  incr: [NOTIFY_STRING, "incrby"],
  decr: [NOTIFY_STRING, "incrby"],
  incrby: [NOTIFY_STRING, "incrby"],
  decrby: [NOTIFY_STRING, "incrby"],
  incrbyfloat: [NOTIFY_STRING, "incrbyfloat"],
  setbit: [NOTIFY_STRING, "setbit"],
  bitfield: [NOTIFY_STRING, "setbit"],
  expire: [NOTIFY_GENERIC, "expire"],
  pexpire: [NOTIFY_GENERIC, "expire"],
  expireat: [NOTIFY_GENERIC, "expire"],
  pexpireat: [NOTIFY_GENERIC, "expire"],
  persist: [NOTIFY_GENERIC, "persist"],
  restore: [NOTIFY_GENERIC, "restore"],
  getdel: [NOTIFY_GENERIC, "del"],
  hset: [NOTIFY_HASH, "hset"],
  hmset: [NOTIFY_HASH, "hset"],
  hsetnx: [NOTIFY_HASH, "hset"],
  hdel: [NOTIFY_HASH, "hdel", true],
  hincrby: [NOTIFY_HASH, "hincrby"],
  hincrbyfloat: [NOTIFY_HASH, "hincrbyfloat"],
  lpush: [NOTIFY_LIST, "lpush"],
  lpushx: [NOTIFY_LIST, "lpush"],
  rpush: [NOTIFY_LIST, "rpush"],
  rpushx: [NOTIFY_LIST, "rpush"],
  linsert: [NOTIFY_LIST, "linsert"],
  lset: [NOTIFY_LIST, "lset"],
  lpop: [NOTIFY_LIST, "lpop", true],
  rpop: [NOTIFY_LIST, "rpop", true],
  blpop: [NOTIFY_LIST, "lpop", true],
  brpop: [NOTIFY_LIST, "rpop", true],
  ltrim: [NOTIFY_LIST, "ltrim", true],
  lrem: [NOTIFY_LIST, "lrem", true],
  sadd: [NOTIFY_SET, "sadd"],
  srem: [NOTIFY_SET, "srem", true],
  spop: [NOTIFY_SET, "spop", true],
  zincrby: [NOTIFY_ZSET, "zincr"],
  zrem: [NOTIFY_ZSET, "zrem", true],
  zremrangebyscore: [NOTIFY_ZSET, "zremrangebyscore", true],
  zremrangebyrank: [NOTIFY_ZSET, "zremrangebyrank", true],
  zremrangebylex: [NOTIFY_ZSET, "zremrangebylex", true],
  zpopmin: [NOTIFY_ZSET, "zpopmin", true],
  zpopmax: [NOTIFY_ZSET, "zpopmax", true],
  bzpopmin: [NOTIFY_ZSET, "zpopmin", true],
  bzpopmax: [NOTIFY_ZSET, "zpopmax", true],
  xadd: [NOTIFY_STREAM, "xadd"],
  xtrim: [NOTIFY_STREAM, "xtrim"],
  xdel: [NOTIFY_STREAM, "xdel"],
  xsetid: [NOTIFY_STREAM, "xsetid"],
  // PFMERGE notifies "pfadd" on its destination too (hyperloglog.c).
  pfadd: [NOTIFY_STRING, "pfadd"],
  pfmerge: [NOTIFY_STRING, "pfadd"],
};
