// Moving one key between shards (kernel instances), for commands whose keys live in
// different shards (RENAME, COPY, LCS, MSETNX...): the host moves the foreign keys into one
// shard, runs the command there, and moves them back (src/server/router.ts "gather").
// Like Redis's MIGRATE this serializes the entry; unlike DUMP the format is private to
// LatticeKV and the value keeps its host handle (lists, sets... stay in the host).
//
// Blob layout (little-endian), written to a staging region the host copies out:
//   u8  type        OBJ_* (entry.ts)
//   u8  isInt       string stored as an i64
//   u8  isRaw       string edited in place (OBJECT ENCODING raw)
//   u8  packed      a hash in the listpack encoding (RDB and DUMP write it as one)
//   u32 lruSecs
//   i64 expireAt    ms, or -1
//   i32 handle      host-side value, 0 if none
//   then by type:   string, isInt: i64 value
//                   string, raw:   u32 len, bytes
//                   hash:          u32 fields, then per field: u32 len, bytes, u32 len, bytes
//                   list:          u32 elements (head first), then per element: u32 len, bytes
//                   zset, handle 0 (the kernel holds it, keyspace/zset-value.ts): u32 elements
//                                  in order, then per element: u32 len, bytes, f64 score
//                   set, handle 0 (the kernel holds it, keyspace/set-value.ts): u32 members,
//                                  u8 intset (1) or hashtable (0), then per member in order:
//                                  u32 len, bytes (an intset's as decimal)
//                   other types:   nothing (the host holds the value)

import { dbs, lookupKey, unlinkEntry, releaseValue, dbAdd, setExpire, Db, tempDb } from "../keyspace/keyspace";
import { Entry, OBJ_STRING, OBJ_HASH, OBJ_LIST, OBJ_SET, OBJ_ZSET } from "../keyspace/entry";
import { isKernelSet, setCount, setIsIntset, setMembersStart, setInitIn, intAt, intsetInsertAt, htAppend, memberPtr, memberLen, nextMember } from "../keyspace/set-value";
import { ll2string, string2ll, parsedInt } from "../util/number";
import { isKernelZset, zsetInitIn, zsetCount, zsetFirst, zsetNextAt, zsetMemberPtr, zsetMemberLen, zsetScoreAt, zsetInsert } from "../keyspace/zset-value";
import { listOf, listInitIn, listPushTail, listLocate, listNext, elemPtr, elemLen } from "../keyspace/list-value";
import { HashValue, fieldPtr, fieldLen, valuePtr, valueLen } from "../keyspace/hash-value";
import { copyBytes, hashBytes } from "../keyspace/hash";

let cap: usize = 4096;
export let blobPtr: usize = heap.alloc(cap);
export let blobLen: usize = 0;

function ensure(n: usize): void {
  if (blobLen + n <= cap) return;
  while (cap < blobLen + n) cap <<= 1;
  blobPtr = heap.realloc(blobPtr, cap);
}

function putI64(v: i64): void { ensure(8); store<i64>(blobPtr + blobLen, v); blobLen += 8; }
export function putBytes(ptr: usize, n: usize): void {
  putU32(<u32>n);
  ensure(n);
  memory.copy(blobPtr + blobLen, ptr, n);
  blobLen += n;
}
function putBuf(b: ArrayBuffer): void { putBytes(changetype<usize>(b), <usize>b.byteLength); }

/**
 * Serializes the key's entry into the staging region and returns its length, or -1 when the
 * key does not exist (an expired key does not). With `remove`, the entry leaves this shard
 * without releasing its value: the value (and its host handle) moves with the blob.
 */
export function migrateOut(dbIndex: i32, keyPtr: usize, keyLen: usize, remove: bool): i32 {
  const db = dbs[dbIndex];
  const e = lookupKey(db, keyPtr, keyLen);
  blobLen = 0;
  if (e == null) return -1;
  writeEntry(e);
  if (remove) unlinkEntry(db, e);
  return <i32>blobLen;
}

/**
 * Appends one entry in the blob layout above at blobLen (migrateOut; persistence snapshots
 * in assembly/persistence/snapshot.ts append many).
 */
export function writeEntry(e: Entry): void {
  const at = blobLen;
  ensure(20);
  store<u8>(blobPtr + at, e.type);
  store<u8>(blobPtr + at + 1, e.isInt ? 1 : 0);
  store<u8>(blobPtr + at + 2, e.isRaw ? 1 : 0);
  store<u8>(blobPtr + at + 3, e.type == OBJ_HASH && !e.isHashTable ? 1 : 0);
  store<u32>(blobPtr + at + 4, e.lruSecs);
  store<i64>(blobPtr + at + 8, e.expireAt);
  store<i32>(blobPtr + at + 16, e.handle); // 0 for a string or a hash
  blobLen = at + 20;
  if (e.type == OBJ_STRING) {
    if (e.isInt) putI64(e.intVal);
    else putBytes(e.strPtr(), e.strLen()); // never moves an inline value (bgsave writes pre-images)
  } else if (e.type == OBJ_HASH) {
    const hv = e.hashVal!;
    const n = hv.length;
    putU32(<u32>n);
    for (let i = 0; i < n; i++) {
      hv.pairAt(i);
      putBytes(fieldPtr, fieldLen);
      putBytes(valuePtr, valueLen);
    }
  } else if (e.type == OBJ_LIST) {
    const ql = listOf(e);
    const n = ql.count;
    putU32(<u32>n);
    if (n > 0) {
      listLocate(ql, 0);
      do putBytes(elemPtr, elemLen); while (listNext(ql));
    }
  } else if (isKernelZset(e)) {
    const n = zsetCount(e);
    putU32(n);
    let q = zsetFirst(e);
    for (let i: u32 = 0; i < n; i++) {
      putBytes(zsetMemberPtr(q), zsetMemberLen(q));
      ensure(8);
      store<f64>(blobPtr + blobLen, zsetScoreAt(q));
      blobLen += 8;
      q = zsetNextAt(q);
    }
  } else if (isKernelSet(e)) {
    const n = setCount(e);
    putU32(<u32>n);
    const intset = setIsIntset(e);
    ensure(1);
    store<u8>(blobPtr + blobLen, intset ? 1 : 0);
    blobLen += 1;
    let q = setMembersStart(e);
    for (let i = 0; i < n; i++) {
      if (intset) {
        ensure(24);
        const l = ll2string(blobPtr + blobLen + 4, intAt(e, i));
        store<u32>(blobPtr + blobLen, <u32>l);
        blobLen += 4 + l;
      } else {
        putBytes(memberPtr(q), memberLen(q));
        q = nextMember(q);
      }
    }
  }
}

/** Empties the staging region (a snapshot appends to it from the start). */
export function resetBlob(): void { blobLen = 0; }
/** Gives back a borrowed tail of the staging region (persistence/bgsave.ts). */
export function setBlobLen(n: usize): void { blobLen = n; }

export function putU32(v: u32): void { ensure(4); store<u32>(blobPtr + blobLen, v); blobLen += 4; }

/** Creates (or replaces) the key from a blob made by migrateOut in some shard. */
export function migrateIn(dbIndex: i32, keyPtr: usize, keyLen: usize, ptr: usize, len: usize): void {
  migrateInto(dbs[dbIndex], keyPtr, keyLen, ptr, len);
}

/**
 * Many migrateIn records at [ptr, end), each `u32 keyLen, u32 blobLen, key, blob`: the keys
 * of an RDB load (src/persistence/keyspace-io.ts StoreBatch), one kernel call for a run of
 * them instead of one (with an alloc and a free) per key.
 *
 * A load's keys come in the saving server's hash order, random to ours, so each one's dict
 * lookup is a cache miss on its bucket and another on the entry there (Dict#find was a fifth
 * of a million-key load). Those loads are first made for the whole batch in two passes
 * whose loads do not depend on each other (touchBuckets), so the CPU has many misses in
 * flight at once; the inserts then find the lines in cache.
 */
export function migrateInBatch(dbIndex: i32, ptr: usize, end: usize, temp: bool): void {
  const db = temp ? tempDb(dbIndex) : dbs[dbIndex];
  touchBuckets(db, ptr, end);
  let p = ptr;
  while (p < end) {
    const keyLen = <usize>load<u32>(p);
    const blobLen = <usize>load<u32>(p + 4);
    const k = p + 8;
    migrateInto(db, k, keyLen, k + keyLen, blobLen);
    p = k + keyLen + blobLen;
  }
}

/** Batch records touchBuckets looks ahead over (its scratch: one hash, then one bucket head each). */
const TOUCH_MAX: i32 = 512;
const touched = new StaticArray<usize>(TOUCH_MAX);
/** Read by nothing: keeps the touching loads from being optimized away. */
let touchSink: u32 = 0;

/**
 * Loads the bucket head of each batch record's key, then the first word of each head entry.
 * The hashes are computed first, so that the bucket loads run back to back: a loop of
 * independent loads keeps many misses in flight, where a hash between two loads leaves
 * room for few.
 */
function touchBuckets(db: Db, ptr: usize, end: usize): void {
  const t0 = db.dict.t0;
  const mask = <u32>(t0.length - 1);
  let n: i32 = 0;
  let p = ptr;
  while (p < end && n < TOUCH_MAX) {
    const keyLen = <usize>load<u32>(p);
    unchecked(touched[n++] = <usize>(hashBytes(p + 8, keyLen) & mask));
    p += 8 + keyLen + <usize>load<u32>(p + 4);
  }
  for (let i = 0; i < n; i++) {
    unchecked(touched[i] = changetype<usize>(unchecked(t0[<i32>unchecked(touched[i])])));
  }
  let sink: u32 = 0;
  for (let i = 0; i < n; i++) {
    const e = unchecked(touched[i]);
    if (e != 0) sink += load<u32>(e);
  }
  touchSink += sink;
}

/** migrateIn into the temp set of a swapdb diskless load (keyspace.ts tempDbsCreate). */
export function migrateInTemp(dbIndex: i32, keyPtr: usize, keyLen: usize, ptr: usize, len: usize): void {
  migrateInto(tempDb(dbIndex), keyPtr, keyLen, ptr, len);
}

/**
 * An RDB's RESIZEDB hint (rdbLoad's dictExpand): room for `n` keys in db (in the temp set of a
 * swapdb diskless load when temp), before the host migrates them in one by one.
 */
export function dbReserve(dbIndex: i32, n: i32, temp: bool): void {
  (temp ? tempDb(dbIndex) : dbs[dbIndex]).dict.reserve(n);
}

function migrateInto(db: Db, keyPtr: usize, keyLen: usize, ptr: usize, len: usize): void {
  const old = lookupKey(db, keyPtr, keyLen);
  if (old != null) {
    unlinkEntry(db, old);
    releaseValue(old);
  }
  const type = load<u8>(ptr);
  const isInt = load<u8>(ptr + 1) != 0;
  const strLen = type == OBJ_STRING && !isInt ? <usize>load<u32>(ptr + 20) : 0;
  const e = dbAdd(db, keyPtr, keyLen, false, strLen); // moved here, not created
  e.type = type;
  e.isInt = load<u8>(ptr + 1) != 0;
  e.isRaw = load<u8>(ptr + 2) != 0;
  e.lruSecs = load<u32>(ptr + 4);
  const expireAt = load<i64>(ptr + 8);
  e.handle = load<i32>(ptr + 16);
  let p = ptr + 20;
  if (e.type == OBJ_STRING) {
    if (e.isInt) {
      e.intVal = load<i64>(p);
    } else {
      e.setStringBytes(p + 4, <usize>load<u32>(p));
    }
  } else if (e.type == OBJ_HASH) {
    const hv = HashValue.initIn(e);
    const n = load<u32>(p);
    p += 4;
    for (let i: u32 = 0; i < n; i++) {
      const kl = <usize>load<u32>(p);
      const kp = p + 4;
      p = kp + kl;
      const vl = <usize>load<u32>(p);
      const vp = p + 4;
      p = vp + vl;
      hv.set(kp, kl, vp, vl);
    }
  } else if (e.type == OBJ_LIST) {
    const ql = listInitIn(e);
    const n = load<u32>(p);
    p += 4;
    for (let i: u32 = 0; i < n; i++) {
      const l = <usize>load<u32>(p);
      listPushTail(ql, p + 4, l);
      p += 4 + l;
    }
  } else if (e.type == OBJ_SET && load<i32>(ptr + 16) == 0) {
    const n = load<u32>(p);
    const intset = load<u8>(p + 4) != 0;
    p += 5;
    setInitIn(e, intset, 0);
    for (let i: u32 = 0; i < n; i++) {
      const l = <usize>load<u32>(p);
      if (intset) {
        string2ll(p + 4, l);
        intsetInsertAt(e, <i32>i, parsedInt);
      } else htAppend(e, p + 4, l);
      p += 4 + l;
    }
  } else if (e.type == OBJ_ZSET && load<i32>(ptr + 16) == 0) {
    const n = load<u32>(p);
    p += 4;
    zsetInitIn(e, 0);
    for (let i: u32 = 0; i < n; i++) {
      const l = <usize>load<u32>(p);
      zsetInsert(e, load<f64>(p + 4 + l), p + 4, l);
      p += 12 + l;
    }
  }
  if (expireAt >= 0) setExpire(db, e, expireAt);
}
