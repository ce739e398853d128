// Reading a key's value out of the server and storing one in, for DUMP/RESTORE and RDB
// files. Strings, hashes and lists live in the kernel: they cross as the entry blob of
// assembly/cluster/migrate.ts (the same layout the router uses to move keys between
// shards). Sets, zsets and streams live in the host's HandleRegistry: the blob carries
// their handle, and the value object is read or built here.
import type { Server } from "../server/server.js";
import type { Shard } from "../server/shard.js";
import type { HandleRegistry } from "../types/registry.js";
import { OBJ_STRING, OBJ_LIST, OBJ_SET, OBJ_ZSET, OBJ_HASH, OBJ_STREAM, type HostValue } from "../types/value.js";
import { SetValue } from "../types/set.js";
import { ZSetValue } from "../types/zset.js";
import type { Bytes, RdbValue } from "./value-codec.js";

/** A key's value with its metadata, as stored. */
export interface StoredValue {
  value: RdbValue;
  /** Absolute unix ms, or -1. */
  expireAt: number;
  /** The kernel's access word: LRU seconds, or (minutes << 8 | counter) under an LFU policy. */
  lru: number;
}

/** The migrate layout's fixed header: type, int flag, pad, access word, expire ms, handle. */
export const ENTRY_HEADER = 20;

/**
 * Parses one migrate-layout entry at blob[off..]; host values are read through the registry.
 * Byte values are views into `blob` (copy it first when it is kernel memory).
 */
export function parseEntry(blob: Uint8Array, off: number, registry: HandleRegistry): StoredValue {
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const type = blob[off];
  const isInt = blob[off + 1] !== 0;
  const lru = dv.getUint32(off + 4, true);
  const expireAt = Number(dv.getBigInt64(off + 8, true));
  const handle = dv.getInt32(off + 16, true);
  let p = off + ENTRY_HEADER;
  const bytes = (): Uint8Array => {
    const n = dv.getUint32(p, true);
    const b = blob.subarray(p + 4, p + 4 + n);
    p += 4 + n;
    return b;
  };
  let value: RdbValue;
  if (type === OBJ_STRING) {
    value = { type: "string", value: isInt ? Buffer.from(String(dv.getBigInt64(p, true))) : bytes() };
  } else if (type === OBJ_HASH) {
    const n = dv.getUint32(p, true);
    p += 4;
    const pairs: Bytes[] = [];
    for (let i = 0; i < n; i++) { pairs.push(bytes()); pairs.push(bytes()); }
    value = { type: "hash", pairs, packed: blob[off + 3] === 1 };
  } else if (type === OBJ_LIST) {
    const n = dv.getUint32(p, true);
    p += 4;
    const items: Bytes[] = [];
    for (let i = 0; i < n; i++) items.push(bytes());
    value = { type: "list", items };
  } else if (type === OBJ_SET && handle === 0) {
    // A set the kernel holds (assembly/cluster/migrate.ts): count, intset flag, members.
    const n = dv.getUint32(p, true);
    const intset = blob[p + 4] === 1;
    p += 5;
    const members: Bytes[] = [];
    for (let i = 0; i < n; i++) members.push(bytes());
    value = { type: "set", members, packed: intset };
  } else if (type === OBJ_ZSET && handle === 0) {
    // A zset the kernel holds (assembly/cluster/migrate.ts): member, then its f64 score.
    const n = dv.getUint32(p, true);
    p += 4;
    const entries: { member: Bytes; score: number }[] = [];
    for (let i = 0; i < n; i++) {
      const member = bytes();
      entries.push({ member, score: dv.getFloat64(p, true) });
      p += 8;
    }
    value = { type: "zset", entries, packed: true }; // the kernel holds listpack zsets only
  } else {
    const v = registry.get(handle);
    if (!v) throw new Error(`key of type ${type} has no host value (handle ${handle})`);
    value = hostToRdb(v);
  }
  return { value, expireAt, lru };
}

/** The neutral form of a host-held value (elements stay latin1 strings, no copies of bytes). */
export function hostToRdb(v: HostValue): RdbValue {
  switch (v.type) {
    case OBJ_SET: return { type: "set", members: (v as SetValue).values().slice(), packed: (v as SetValue).enc === "intset" };
    case OBJ_ZSET: {
      const entries: { member: Bytes; score: number }[] = [];
      for (const n of v as ZSetValue) entries.push({ member: n.ele, score: n.score });
      return { type: "zset", entries, packed: (v as ZSetValue).enc === "listpack" };
    }
    case OBJ_STREAM: return { type: "stream", value: v };
  }
  throw new Error(`no RDB form for host type ${v.type}`);
}

/** A key's value, or null when it does not exist (expired keys do not). */
export function readKey(server: Server, db: number, key: Buffer): StoredValue | null {
  const blob = server.router.shardOf(key).migrateOut(db, key, false);
  if (!blob) return null;
  return parseEntry(blob, 0, server.types.registry);
}

const latin1 = (b: Bytes): string => (typeof b === "string" ? b : Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1"));
const bytesOf = (b: Bytes): Uint8Array => (typeof b === "string" ? Buffer.from(b, "latin1") : b);

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Redis's tryObjectEncoding: a string that is the canonical text of an int64 is stored as
 * one ("0", "-12", not "-0", "012", "+1"). A number when it has at most 15 digits (exact in a
 * double), else a bigint; null when it is not such an integer. Read from the bytes: a
 * latin1 string and a regex per key were a tenth of a big RDB load.
 */
function asInt64(b: Uint8Array, start = 0, end = b.length): number | bigint | null {
  const n = end - start;
  if (n === 0 || n > 20) return null;
  const neg = b[start] === 0x2d;
  let i = neg ? start + 1 : start;
  if (i === end) return null;
  if (b[i] === 0x30) return n === 1 ? 0 : null;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i] - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  if (n - (neg ? 1 : 0) <= 15) return neg ? -v : v;
  const big = BigInt(Buffer.from(b.buffer, b.byteOffset + start, n).toString("latin1"));
  return big >= INT64_MIN && big <= INT64_MAX ? big : null;
}

/** Builds the host object for a list/set/zset/stream value, encoded by the server's limits. */
function buildHostValue(server: Server, v: RdbValue): HostValue {
  const cfg = server.config;
  switch (v.type) {
    case "set": {
      const s = new SetValue();
      const limit = cfg.getNumber("set-max-intset-entries");
      for (const m of v.members) s.add(latin1(m), limit);
      return s;
    }
    case "zset": {
      const entries = cfg.getNumber("zset-max-listpack-entries");
      const maxValue = cfg.getNumber("zset-max-listpack-value");
      let maxLen = 0;
      for (const e of v.entries) maxLen = Math.max(maxLen, e.member.length);
      const z = ZSetValue.create(v.entries.length, maxLen, entries, maxValue);
      for (const e of v.entries) z.set(latin1(e.member), e.score, entries, maxValue);
      return z;
    }
    case "stream": return v.value;
  }
  throw new Error(`${v.type} is not a host type`);
}

const HOST_TYPE: Record<string, number> = { set: OBJ_SET, zset: OBJ_ZSET, stream: OBJ_STREAM };

/** assembly/keyspace/set-value.ts KERNEL_SET_MAX / KERNEL_SET_MAX_BYTES. */
const KERNEL_SET_MAX = 128;
const KERNEL_SET_MAX_BYTES = 64;

/**
 * The migrate blob's body for a set or zset small enough for the kernel to hold
 * (assembly/keyspace/set-value.ts, zset-value.ts), so that a value loaded from an RDB file, a
 * replica's full sync or RESTORE is a kernel value as one built by SADD/ZADD is, and its hot
 * commands run in the kernel; null: the host keeps it. Built from the host value the loader
 * made, so the encoding (intset or hashtable, by set-max-intset-entries) and the member order
 * are the ones the host would have had: the kernel keeps that order.
 */
function kernelBody(server: Server, v: HostValue): Uint8Array[] | null {
  if (v.type === OBJ_SET) {
    const s = v as SetValue;
    const members = s.values();
    if (members.length > KERNEL_SET_MAX) return null;
    const out: Uint8Array[] = [u32(members.length), Buffer.of(s.enc === "intset" ? 1 : 0)];
    for (const m of members) {
      if (m.length > KERNEL_SET_MAX_BYTES) return null;
      out.push(u32(m.length), Buffer.from(m, "latin1"));
    }
    return out;
  }
  if (v.type === OBJ_ZSET) {
    const z = v as ZSetValue;
    // The kernel holds listpack zsets only, within the same limits (it declines past them).
    if (z.enc !== "listpack" || z.size > server.config.getNumber("zset-max-listpack-entries")) return null;
    const maxValue = server.config.getNumber("zset-max-listpack-value");
    const out: Uint8Array[] = [u32(z.size)];
    for (const n of z) {
      // The kernel stores ZADD's -0 as 0 (as Redis's listpack gives it back); a -0 read from a
      // file stays in the host rather than change what ZSCORE answers.
      if (n.ele.length > maxValue || Object.is(n.score, -0)) return null;
      const score = Buffer.alloc(8);
      score.writeDoubleLE(n.score);
      out.push(u32(n.ele.length), Buffer.from(n.ele, "latin1"), score);
    }
    return out;
  }
  return null;
}

/**
 * Creates or replaces `key` with the value (any old value is released, its TTL dropped), as
 * Redis's dbAdd after rdbLoadObject; lists, zsets and streams signal blocked clients.
 * `temp`: into a swapdb diskless load's temp set (Shard.tempDbs), which nobody waits on yet.
 *
 * The key and its migrate-layout entry are written straight into the shard's kernel memory
 * (Shard.migrateInAt): an RDB load stores every key through here, and building the entry as
 * JS buffers first (a header, a length prefix per element, a concat, a copy in) was a third
 * of a million-key load's host time.
 */
export function storeKey(server: Server, db: number, key: Buffer, s: StoredValue, temp = false): void {
  const v = s.value;
  const shard = server.shards.length === 1 ? server.shards[0] : server.router.shardOf(key);
  const body = measure(server, v);
  const blobLen = ENTRY_HEADER + body.size;
  const p = shard.kernel.x.alloc(key.length + blobLen);
  // alloc may grow the memory: writeEntry takes its views after it.
  writeEntry(shard.kernel.mem, p, key, s, body);
  shard.migrateInAt(db, p, key.length, blobLen, temp);
  if (temp) return;
  if (v.type === "list" || v.type === "zset" || v.type === "stream") server.types.onAdd(db, key);
}

/** What follows an entry's header, by kind: an int64, a string's bytes, a list of elements, or parts. */
interface EntryBody {
  type: number;
  handle: number;
  /** Bytes after the header. */
  size: number;
  intVal: number | bigint | null;
  str: Uint8Array | null;
  items: Bytes[] | null;
  parts: Uint8Array[] | null;
}

/** The entry body of a value (a host value is built and registered here, or made a kernel body). */
function measure(server: Server, v: RdbValue): EntryBody {
  const b: EntryBody = { type: 0, handle: 0, size: 0, intVal: null, str: null, items: null, parts: null };
  if (v.type === "string") {
    b.type = OBJ_STRING;
    b.str = bytesOf(v.value);
    b.intVal = asInt64(b.str);
    b.size = b.intVal !== null ? 8 : 4 + b.str.length;
  } else if (v.type === "hash" || v.type === "list") {
    b.type = v.type === "hash" ? OBJ_HASH : OBJ_LIST;
    const items = (b.items = v.type === "hash" ? v.pairs : v.items);
    b.size = 4;
    for (const e of items) b.size += 4 + e.length;
  } else {
    b.type = HOST_TYPE[v.type];
    const host = buildHostValue(server, v);
    b.parts = kernelBody(server, host);
    if (b.parts !== null) for (const x of b.parts) b.size += x.length;
    else b.handle = server.types.registry.add(host);
  }
  return b;
}

/** Writes key and then its migrate-layout entry (assembly/cluster/migrate.ts) at p in mem. */
function writeEntry(mem: Uint8Array, p: number, key: Buffer, s: StoredValue, b: EntryBody): void {
  const dv = viewOf(mem);
  mem.set(key, p);
  const q = p + key.length;
  writeEntryHeader(mem, dv, q, b.type, s.lru, s.expireAt, b.handle);
  let at = q + ENTRY_HEADER;
  const { str, intVal, items, parts } = b;
  if (str !== null) {
    if (intVal !== null) {
      mem[q + 1] = 1;
      if (typeof intVal === "number") setI64(dv, at, intVal);
      else dv.setBigInt64(at, intVal, true);
    } else {
      dv.setUint32(at, str.length, true);
      mem.set(str, at + 4);
    }
  } else if (items !== null) {
    dv.setUint32(at, b.type === OBJ_HASH ? items.length / 2 : items.length, true);
    at += 4;
    for (const e of items) {
      dv.setUint32(at, e.length, true);
      at += 4;
      if (typeof e === "string") memBuffer(mem).write(e, at, e.length, "latin1");
      else mem.set(e, at);
      at += e.length;
    }
  } else if (parts !== null) {
    for (const x of parts) { mem.set(x, at); at += x.length; }
  }
}

/**
 * Keys of an RDB load gathered per shard in its kernel memory and stored many per kernel call
 * (assembly/cluster/migrate.ts migrateInBatch): a record `u32 keyLen, u32 blobLen, key, blob`
 * each. Per key, storeKey's alloc, free and kernel call were as much host time as building
 * the entry; and a batch lets the kernel start its dict lookups' cache misses together.
 */
interface StoreBatch { ptr: number; used: number; count: number; db: number }
const batches = new WeakMap<Shard, StoreBatch>();
/** Records per batch: migrateInBatch's look-ahead (TOUCH_MAX). */
const BATCH_KEYS = 512;
const BATCH_BYTES = 256 * 1024;
/** A bigger record is stored on its own (storeKey). */
const BATCH_RECORD_MAX = 16 * 1024;

/**
 * storeKey for a loader that calls flushStoredKeys(server) before anything else may read the
 * keyspace (the end of the load, each pause for the event loop). Strings and hashes are
 * batched; any other value (lists, sets, zsets and streams may wake blocked clients or hold
 * host values) first flushes every batch, so keys are stored in the file's order.
 */
export function storeKeyBatched(server: Server, db: number, key: Buffer, s: StoredValue): void {
  const v = s.value;
  if (v.type !== "string" && v.type !== "hash") {
    flushStoredKeys(server);
    return storeKey(server, db, key, s);
  }
  const body = measure(server, v);
  const blobLen = ENTRY_HEADER + body.size;
  const record = 8 + key.length + blobLen;
  if (record > BATCH_RECORD_MAX) {
    flushStoredKeys(server);
    return storeKey(server, db, key, s);
  }
  const shard = server.shards.length === 1 ? server.shards[0] : server.router.shardOf(key);
  const b = batchFor(shard, db, record);
  const at = b.ptr + b.used;
  const mem = shard.kernel.mem;
  const dv = viewOf(mem);
  dv.setUint32(at, key.length, true);
  dv.setUint32(at + 4, blobLen, true);
  writeEntry(mem, at + 8, key, s, body);
  b.used += record;
  if (++b.count >= BATCH_KEYS) flushShard(shard, b);
}

/**
 * storeKeyBatched for a string value read straight out of an RDB file's buffer (the load's fast
 * path, rdb-file.ts readPlainStringRecord): the key is buf[keyOff, keyOff+keyLen), the value
 * buf[valOff, valOff+valLen), or `intVal` when the file stored it as an integer (valOff < 0).
 * The same record as storeKeyBatched writes, without a Buffer or value object per key.
 */
export function storeStringBatchedFrom(
  server: Server, db: number, buf: Buffer, keyOff: number, keyLen: number,
  valOff: number, valLen: number, intVal: number, expireAt: number, lru: number,
): void {
  const asInt = valOff < 0 ? intVal : asInt64(buf, valOff, valOff + valLen);
  const blobLen = ENTRY_HEADER + (asInt !== null ? 8 : 4 + valLen);
  const record = 8 + keyLen + blobLen;
  if (record > BATCH_RECORD_MAX) {
    const key = Buffer.from(buf.subarray(keyOff, keyOff + keyLen));
    const value = valOff < 0 ? Buffer.from(String(intVal)) : Buffer.from(buf.subarray(valOff, valOff + valLen));
    flushStoredKeys(server);
    return storeKey(server, db, key, { value: { type: "string", value }, expireAt, lru });
  }
  const shard = server.shards.length === 1 ? server.shards[0] : server.router.shardOf(buf, keyOff, keyOff + keyLen);
  const b = batchFor(shard, db, record);
  const at = b.ptr + b.used;
  const mem = shard.kernel.mem;
  const dv = viewOf(mem);
  dv.setUint32(at, keyLen, true);
  dv.setUint32(at + 4, blobLen, true);
  copyInto(mem, at + 8, buf, keyOff, keyLen);
  const q = at + 8 + keyLen;
  writeEntryHeader(mem, dv, q, OBJ_STRING, lru, expireAt, 0);
  const v = q + ENTRY_HEADER;
  if (asInt !== null) {
    mem[q + 1] = 1;
    if (typeof asInt === "number") setI64(dv, v, asInt);
    else dv.setBigInt64(v, asInt, true);
  } else {
    dv.setUint32(v, valLen, true);
    copyInto(mem, v + 4, buf, valOff, valLen);
  }
  b.used += record;
  if (++b.count >= BATCH_KEYS) flushShard(shard, b);
}

/** The shard's open batch for db with room for `record` bytes (a full or other-db one is stored first). */
function batchFor(shard: Shard, db: number, record: number): StoreBatch {
  let b = batches.get(shard);
  if (b !== undefined && (b.db !== db || b.used + record > BATCH_BYTES)) {
    flushShard(shard, b);
    b = undefined;
  }
  if (b === undefined) {
    b = { ptr: shard.kernel.x.alloc(BATCH_BYTES), used: 0, count: 0, db };
    batches.set(shard, b);
  }
  return b;
}

/** The migrate-layout header of an entry at q (type, flags, access word, expiry, host handle). */
function writeEntryHeader(mem: Uint8Array, dv: DataView, q: number, type: number, lru: number, expireAt: number, handle: number): void {
  mem.fill(0, q, q + 4);
  mem[q] = type;
  dv.setUint32(q + 4, lru >>> 0, true);
  setI64(dv, q + 8, expireAt);
  dv.setInt32(q + 16, handle, true);
}

/** mem[at..] = buf[off, off+len): a loop for short keys and values, where a subarray view per
 *  copy would cost more than the copy. */
function copyInto(mem: Uint8Array, at: number, buf: Uint8Array, off: number, len: number): void {
  if (len <= 64) for (let i = 0; i < len; i++) mem[at + i] = buf[off + i];
  else mem.set(buf.subarray(off, off + len), at);
}

/** Stores every key storeKeyBatched holds. */
export function flushStoredKeys(server: Server): void {
  for (const shard of server.shards) {
    const b = batches.get(shard);
    if (b !== undefined) flushShard(shard, b);
  }
}

function flushShard(shard: Shard, b: StoreBatch): void {
  batches.delete(shard);
  const x = shard.kernel.x;
  try {
    if (b.count > 0) x.migrateInBatch(b.db, b.ptr, b.ptr + b.used, false);
  } finally {
    x.free(b.ptr);
    shard.afterCall();
  }
}

function u32(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; }

/** An int64 field from a safe integer, without a BigInt (the low word is v mod 2^32). */
function setI64(dv: DataView, at: number, v: number): void {
  dv.setUint32(at, v >>> 0, true);
  dv.setInt32(at + 4, Math.floor(v / 4294967296), true);
}

// Views over a kernel's memory, made again only when it grew (its ArrayBuffer changed).
let viewMem: Uint8Array | null = null;
let view: DataView | null = null;
let viewBuf: Buffer | null = null;
function viewOf(mem: Uint8Array): DataView {
  if (viewMem !== mem) {
    viewMem = mem;
    view = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    viewBuf = null;
  }
  return view!;
}
function memBuffer(mem: Uint8Array): Buffer {
  viewOf(mem);
  return (viewBuf ??= Buffer.from(mem.buffer, mem.byteOffset, mem.byteLength));
}

/** Redis's LFU_INIT_VAL: the counter of a new value under an LFU policy. */
export const LFU_INIT_VAL = 5;

/** The access word a new value gets (Redis's createObject): now, or LFU_INIT_VAL. */
export function freshLru(server: Server, nowMs: number): number {
  return lfuPolicy(server) ? lfuWord(nowMs, LFU_INIT_VAL) : Math.floor(nowMs / 1000);
}

export function lfuPolicy(server: Server): boolean {
  return server.config.getString("maxmemory-policy").includes("lfu");
}

export function lfuWord(nowMs: number, counter: number): number {
  return ((Math.floor(nowMs / 60000) & 65535) * 256 + counter) >>> 0;
}
