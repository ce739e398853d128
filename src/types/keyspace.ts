// HostKeyspace: how host type commands (lists, sets, sorted sets) reach their keys.
//
// The kernel owns every key's existence, type and expiry; a host-held value is an object in
// the HandleRegistry and the kernel entry holds its handle. A host command therefore:
//   1. looks its key up through the kernel of the shard that owns the key's slot
//      (lookupRead/lookupWrite: lazy expiry, keyspace hits/misses and the LRU clock are the
//      kernel's, as Redis's lookupKeyRead/lookupKeyWrite), getting the value object, null
//      when absent, or a WrongTypeError when the key holds another type;
//   2. changes the object in place, creating the key with add() (create-on-write) and
//      removing it with deleteIfEmpty() when it ends empty, as Redis never stores an empty
//      list/set/zset;
//   3. reports the write with propagate() (the effect record, as the kernel's effect log).
// Every kernel call here is synchronous, so a host command touching keys in several shards
// (LMOVE, SINTERSTORE...) stays atomic without moving keys: each key is read and written
// on its own shard.
//
// Freed values: the kernel reports the handles it drops (DEL, expiry, overwrite, FLUSH*,
// SWAPDB does not free) and Shard.afterCall hands them to the registry, so no path needs to
// free a value by hand. COPY and OBJECT ENCODING reach values through the kernel's host
// hooks (dupHandle, handleEncoding), wired here.
import type { Shard } from "../server/shard.js";
import type { HostHandler } from "../commands/table.js";
import { HandleRegistry } from "./registry.js";
import { WrongTypeError, type HostValue } from "./value.js";
import { EFFECT_COMMAND, type EffectBus } from "../server/effects.js";
import { ZSetValue } from "./zset.js";
import { SetValue } from "./set.js";

/**
 * The host's copy of a set the kernel held (assembly/keyspace/set-value.ts: `count` members
 * from `ptr`, an intset's as i64, a hashtable's as u32 length and bytes), in the same order.
 */
export function setFromKernel(mem: Uint8Array, ptr: number, count: number, intset: boolean): SetValue {
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  // One Buffer over the memory, each member a latin1 slice of it (not a Buffer view each).
  const bytes = Buffer.from(mem.buffer, mem.byteOffset, mem.byteLength);
  const members: string[] = new Array(count);
  let p = ptr;
  for (let i = 0; i < count; i++) {
    if (intset) {
      members[i] = String(dv.getBigInt64(p, true));
      p += 8;
    } else {
      const len = dv.getUint32(p, true);
      members[i] = bytes.toString("latin1", p + 4, p + 4 + len);
      p += 4 + len;
    }
  }
  return SetValue.fromMembers(members, intset);
}

/**
 * The host's copy of a zset the kernel held (assembly/keyspace/zset-value.ts layout from
 * `ptr`: per element f64 score, u32 member length, member bytes, in order). It was a listpack
 * there and stays one here (no limit applies to a move, as none applies to a value loaded).
 */
export function zsetFromKernel(mem: Uint8Array, ptr: number, count: number): ZSetValue {
  const z = new ZSetValue();
  const dv = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
  let p = ptr;
  for (let i = 0; i < count; i++) {
    const score = dv.getFloat64(p, true);
    const len = dv.getUint32(p + 8, true);
    const member = Buffer.from(mem.buffer, mem.byteOffset + p + 12, len).toString("latin1");
    z.set(member, score, Infinity, Infinity);
    p += 12 + len;
  }
  return z;
}

export class HostKeyspace {
  readonly registry = new HandleRegistry();
  /** Writes made by host commands (the kernel counts its own: statDirty). */
  dirty = 0;
  /**
   * Called when add() stores a value under a key, as Redis's dbAdd signals the key ready for
   * blocked clients (SORT STORE, ZUNIONSTORE... creating a waited-on key). The server wires
   * it to Blocking.signalKeyAsReady.
   */
  onAdd: (db: number, key: Uint8Array) => void = () => {};
  /**
   * The running command's time in ms, or -1: set by the host lane (src/server/host-lane.ts)
   * around a list/set/zset command to the time its read's kernel commands share, so that
   * its lookups read no clock (Redis 7.0 caches server.mstime per command the same way).
   */
  commandNow = -1;
  /** Per shard, a reusable region of its kernel memory for key bytes. */
  private readonly scratch: { ptr: number; cap: number }[];

  constructor(private readonly shards: Shard[], private readonly shardOfKey: (key: Uint8Array) => Shard,
              private readonly clock: () => number, private readonly effects: EffectBus) {
    this.scratch = shards.map(() => ({ ptr: 0, cap: 0 }));
    for (const s of shards) {
      s.onFreedHandles = (handles) => this.registry.free(handles);
      s.kernel.hooks.dupHandle = (_type, handle) => {
        const v = this.registry.get(handle);
        return v ? this.registry.add(v.dup()) : 0;
      };
      s.kernel.hooks.handleEncoding = (_type, handle) => this.registry.get(handle)?.encoding() ?? -1;
      s.kernel.hooks.zsetToHost = (ptr, count) => this.registry.add(zsetFromKernel(s.kernel.mem, ptr, count));
      s.kernel.hooks.setToHost = (ptr, count, intset) => this.registry.add(setFromKernel(s.kernel.mem, ptr, count, intset));
    }
  }

  /** The command's time (commandNow), else the server's clock. */
  private now(): number {
    return this.commandNow >= 0 ? this.commandNow : this.clock();
  }

  /** The value at `key` if it holds `type`, else null when absent; throws WrongTypeError. Counts a hit/miss. */
  lookupRead<T extends HostValue>(db: number, key: Uint8Array, type: number): T | null {
    return this.lookup(db, key, type, true) as T | null;
  }

  /** lookupRead for a command that will write the key (no hit/miss accounting, as lookupKeyWrite). */
  lookupWrite<T extends HostValue>(db: number, key: Uint8Array, type: number): T | null {
    return this.lookup(db, key, type, false) as T | null;
  }

  /** The key's type (OBJ_*), or -1 when absent (expired keys are reclaimed). */
  typeOf(db: number, key: Uint8Array): number {
    return this.withKey(key, (s, p, n) => s.kernel.x.keyType(db, p, n, 0, this.now()));
  }

  /** Stores a new value at `key`, replacing any old value and its TTL (Redis's setKey). */
  add(db: number, key: Uint8Array, v: HostValue): void {
    const handle = this.registry.add(v);
    this.withKey(key, (s, p, n) => s.kernel.x.setKeyHandle(db, p, n, v.type, handle, this.now()));
    this.onAdd(db, key);
  }

  /** Deletes a key whatever it holds; whether it existed. */
  delete(db: number, key: Uint8Array): boolean {
    return this.withKey(key, (s, p, n) => s.kernel.x.keyDelete(db, p, n, this.now()) !== 0);
  }

  /** Removes the key when a command left its value empty. Returns whether it did. */
  deleteIfEmpty(db: number, key: Uint8Array, v: HostValue): boolean {
    if (v.length !== 0) return false;
    this.delete(db, key);
    return true;
  }

  /** Records a host write (Redis's propagate/alsoPropagate): argv as it should be replayed. */
  propagate(db: number, argv: Buffer[], hint?: number): void {
    this.dirty++;
    // No consumer (AOF, notifications, replication...) listening: no effect object to build.
    if (!this.effects.listening) return;
    this.effects.publish(hint ? { kind: EFFECT_COMMAND, db, argv, hint } : { kind: EFFECT_COMMAND, db, argv });
  }

  /**
   * A write command that changed nothing but that Redis still signals and notifies (LTRIM
   * keeping every element): WATCH, client tracking and keyspace notifications see it; with
   * no propagation target, the AOF, replicas and CRDT peers do not, and dirty stays.
   */
  touch(db: number, argv: Buffer[]): void {
    if (!this.effects.listening) return;
    this.effects.publish({ kind: EFFECT_COMMAND, db, argv, targets: 0 });
  }

  /**
   * propagate() of an argv that is built only when a consumer listens: SPOP and ZPOPMIN
   * replay as SREM/ZPOPMIN with arguments made for the purpose (two Buffers per call).
   */
  propagateBuilt(db: number, build: () => Buffer[], hint?: number): void {
    this.dirty++;
    if (!this.effects.listening) return;
    this.effects.publish(hint ? { kind: EFFECT_COMMAND, db, argv: build(), hint } : { kind: EFFECT_COMMAND, db, argv: build() });
  }

  /** Live host values (tests: nothing leaks once keys are gone). */
  get liveValues(): number { return this.registry.size; }

  // Every host type command starts here: written without withKey's closure (one per call),
  // as the hot path of LPUSH/SADD/ZADD... showed in profiles.
  private lookup(db: number, key: Uint8Array, type: number, read: boolean): HostValue | null {
    const s = this.placeKey(key);
    try {
      const x = s.kernel.x;
      const p = this.scratch[s.index].ptr;
      const n = key.length;
      // One kernel call for type check and handle (was keyType + keyHandle).
      const h = x.keyHandleOfType(db, p, n, type, read ? 1 : 0, this.now());
      if (h === 0) return null;
      if (h < 0) throw new WrongTypeError();
      const v = this.registry.get(h);
      if (!v) throw new Error(`kernel key of type ${type} has no host value`);
      if (!read) this.registry.noteWrite(h);
      return v;
    } finally {
      s.afterCall();
    }
  }

  /**
   * lookupRead of a set that leaves a set the kernel holds there (SSCAN): such a set comes
   * back as a copy of its members, a SetValue of its own that nothing keeps (its table is
   * built as the one the set would have after moving here, so a cursor walks it the same
   * way each call). Taking it to the host for a read would make every later SADD/SISMEMBER
   * of the small set a host command.
   */
  peekSet(db: number, key: Uint8Array): SetValue | null {
    const s = this.placeKey(key);
    try {
      const x = s.kernel.x;
      const h = x.keySetPeek(db, this.scratch[s.index].ptr, key.length, this.now());
      if (h === 0) return null;
      if (h === -1) throw new WrongTypeError();
      if (h === -2) return setFromKernel(s.kernel.mem, x.keySetPeekPtr(), x.keySetPeekCount(), x.keySetPeekIntset() !== 0);
      const v = this.registry.get(h);
      if (!v) throw new Error("kernel key of type set has no host value");
      return v as SetValue;
    } finally {
      s.afterCall();
    }
  }

  /** Runs fn with the key's bytes in the kernel memory of the shard that owns it. */
  private withKey<T>(key: Uint8Array, fn: (shard: Shard, ptr: number, len: number) => T): T {
    const shard = this.placeKey(key);
    try {
      return fn(shard, this.scratch[shard.index].ptr, key.length);
    } finally {
      shard.afterCall();
    }
  }

  /** Copies the key's bytes into the scratch region of the shard that owns it; that shard. */
  private placeKey(key: Uint8Array): Shard {
    const shard = this.shards.length === 1 ? this.shards[0] : this.shardOfKey(key);
    const sc = this.scratch[shard.index];
    const x = shard.kernel.x;
    if (key.length > sc.cap) {
      if (sc.ptr) x.free(sc.ptr);
      sc.cap = Math.max(64, key.length);
      sc.ptr = x.alloc(sc.cap);
    }
    shard.kernel.mem.set(key, sc.ptr);
    return shard;
  }
}

/**
 * Wraps a host type command's handler: a typed lookup that meets another type throws
 * WrongTypeError, answered here with Redis's WRONGTYPE error. Handlers look all their keys
 * up before changing anything, so a WRONGTYPE leaves the keyspace as it was.
 */
export function typeCommand(fn: HostHandler): HostHandler {
  return (ctx) => {
    try {
      fn(ctx);
    } catch (e) {
      if (!(e instanceof WrongTypeError)) throw e;
      ctx.reply.error(e.message);
    }
  };
}
