// The keyspace: numbered databases (SELECT 0..N-1), each a Dict of Entry plus an index of
// the keys that have a TTL, and the expiry machinery (lazy on access, active by sampling).
//
// Time never comes from here: the host sets `now` (ms) before each call, as Redis caches
// mstime() per command, so a command sees one instant and the simulator can drive time.

import { Dict } from "./dict";
import { Entry, OBJ_STRING, OBJ_HASH, OBJ_LIST, OBJ_SET, OBJ_ZSET, valueAreaFor } from "./entry";
import { zsetCount } from "./zset-value";
import { setCount, setIsIntset, setMembersStart } from "./set-value";
import { listOf } from "./list-value";
import { hashBytes } from "./hash";
import { effectsEnabled, recordKey, EFFECT_EXPIRED, newKeyLogEnabled, recordNewKey } from "../effects";
import { noteWrite, noteLinked, noteUnlinked } from "./memory";
import { keyHashSlot } from "../cluster/slot";
import { noteSlotKey, clearSlotKeys } from "../cluster/slot-index";
import { bgsaveTouch, bgsaveFinishWalk } from "../persistence/bgsave";
import { forgetUnlinkedCandidates, clearEvictionPool } from "./evict";

export class Db {
  dict: Dict<Entry> = new Dict<Entry>();
  /** Keys with a TTL, in no order; Entry.expIdx is each one's position (O(1) removal). */
  expiring: Array<Entry> = new Array<Entry>();
  avgTtl: i64 = 0;
  /** Cluster mode, db 0: keys per hash slot (cluster/slot-index.ts); null otherwise. */
  slotCounts: StaticArray<i32> | null = null;
}

/** Keeps a db's per-slot key count (cluster mode) as a key comes (+1) or goes (-1). */
@inline function countInSlot(db: Db, ptr: usize, len: usize, delta: i32): void {
  const counts = db.slotCounts;
  if (counts == null) return;
  const slot = keyHashSlot(ptr, len);
  unchecked(counts[slot] = unchecked(counts[slot]) + delta);
  noteSlotKey(db, slot, hashBytes(ptr, len), delta); // GETKEYSINSLOT's index (cluster/slot-index.ts)
}

export let dbs: StaticArray<Db> = new StaticArray<Db>(0);
export let now: i64 = 0;
/** Whether the active expire cycle runs (DEBUG SET-ACTIVE-EXPIRE); lookups always reclaim. */
export let activeExpireEnabled = true;
/** maxmemory-policy is an LFU one (set by the host's config): OBJECT FREQ vs IDLETIME. */
export let lfuPolicy = false;
export function setLfuPolicy(on: bool): void { lfuPolicy = on; }
/**
 * Small integers are reported shared (OBJECT REFCOUNT) unless maxmemory is set with an LRU
 * or LFU policy, where Redis gives every value its own access clock (MAXMEMORY_FLAG_NO_SHARED_INTEGERS).
 */
export let sharedIntegers = true;
export function setSharedIntegers(on: bool): void { sharedIntegers = on; }
/** lfu-log-factor and lfu-decay-time (minutes), Redis's defaults until the host sets them. */
export let lfuLogFactor: i64 = 10;
export let lfuDecayTime: i64 = 1;
export function setLfuParams(logFactor: i64, decayTime: i64): void {
  lfuLogFactor = logFactor;
  lfuDecayTime = decayTime;
}

// Server-wide counters (INFO stats).
export let dirty: i64 = 0;
export let keyspaceHits: i64 = 0;
export let keyspaceMisses: i64 = 0;
export let expiredKeys: i64 = 0;

/** Handles of host-side values the keyspace dropped; drained by the host after each call. */
export let freedHandles: Array<i32> = new Array<i32>();

// ---- lazy free (UNLINK, FLUSHDB/FLUSHALL ASYNC) ------------------------------------------
// Nothing here frees in the background: dropping a value is O(1) (the GC reclaims it later),
// so UNLINK never stalls. What Redis's lazyfree.c reports is kept: a value whose free
// effort is above LAZYFREE_THRESHOLD counts in lazyfreed_objects (the host judges its own
// values' effort from lazyHandles), and an async flush counts every key it dropped.
export const LAZYFREE_THRESHOLD: i32 = 64;
export let lazyFreeing = false;
export function setLazyFreeing(on: bool): void { lazyFreeing = on; }
// The lazyfree-lazy-* switches (bits set by the host from the config): which deletes free
// "in the background" and so count in lazyfreed_objects, as Redis's dbAsyncDelete does.
export const LAZY_EVICTION: i32 = 1;
export const LAZY_EXPIRE: i32 = 2;
export const LAZY_SERVER_DEL: i32 = 4;
export const LAZY_USER_DEL: i32 = 8;
export const LAZY_USER_FLUSH: i32 = 16;
export let lazyfreeConfig: i32 = 0;
export function setLazyfreeConfig(bits: i32): void {
  lazyfreeConfig = bits;
  resetLazyFreeing();
}
/** Outside DEL/UNLINK/expiry/eviction a delete is the server's own (lazyfree-lazy-server-del). */
export function resetLazyFreeing(): void { lazyFreeing = (lazyfreeConfig & LAZY_SERVER_DEL) != 0; }
/** Drops a value freeing it lazily or not, whatever the surrounding command chose. */
export function releaseValueAs(e: Entry, lazy: bool): void {
  const was = lazyFreeing;
  lazyFreeing = lazy;
  releaseValue(e);
  lazyFreeing = was;
}
/** Kernel-held values freed lazily since the host last took the count. */
export let lazyfreedObjects: i64 = 0;
export function addLazyfreed(n: i64): void { lazyfreedObjects += n; }
export function takeLazyfreed(): i64 { const n = lazyfreedObjects; lazyfreedObjects = 0; return n; }
/** Host values dropped while lazyFreeing (also in freedHandles): the host judges their effort. */
export let lazyHandles: Array<i32> = new Array<i32>();

let rngState: u64 = 0x853c49e6748fea9b;

export function initKeyspace(numDbs: i32, seed: u64): void {
  dbs = new StaticArray<Db>(numDbs);
  for (let i = 0; i < numDbs; i++) dbs[i] = new Db();
  rngState = seed | 1;
}

export function setNow(ms: i64): void { now = ms; }
export function addDirty(n: i64): void { dirty += n; }
/** Undoes a host-internal command's changes to the counter (assembly/index.ts setInternalCall). */
export function restoreDirty(n: i64): void { dirty = n; }

/**
 * Redis's forceCommandPropagation: the running write command is recorded as an effect even
 * though it changed nothing (FLUSHDB on an empty db still reaches replicas and the AOF).
 */
export let propagateForced = false;
export function forcePropagation(): void { propagateForced = true; }
/** Reads and clears the flag (index.ts, after each command). */
export function takeForcedPropagation(): bool {
  const f = propagateForced;
  propagateForced = false;
  return f;
}
export function setActiveExpire(on: bool): void { activeExpireEnabled = on; }

/** xorshift64*: the kernel's only randomness, seeded by the host. */
export function random32(): u32 {
  let x = rngState;
  x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
  rngState = x;
  return <u32>((x * 0x2545f4914f6cdd1d) >> 32);
}

// ---- access clock (Entry.lruSecs) ------------------------------------------------------
//
// Like Redis's 24-bit robj.lru, Entry.lruSecs means one of two things by maxmemory-policy:
//   LRU (default)  the last access, in seconds of the host clock (OBJECT IDLETIME)
//   LFU            (minutes & 0xffff) << 8 | counter: Redis's logarithmic access counter
//                  and when it was last decremented (OBJECT FREQ)
// Switching policy reinterprets the bits, as in Redis ("will take some time to adjust").

const LFU_INIT_VAL: u32 = 5;

@inline function lfuMinutes(): u32 { return <u32>((now / 60000) & 65535); }

/** Redis's LFUDecrAndReturn: the counter after the decay periods since its last update. */
export function lfuDecrAndReturn(e: Entry): u32 {
  const ldt = e.lruSecs >> 8;
  let counter = e.lruSecs & 255;
  const nowMin = lfuMinutes();
  const elapsed = nowMin >= ldt ? nowMin - ldt : 65535 - ldt + nowMin;
  const periods = lfuDecayTime > 0 ? <u32>(<i64>elapsed / lfuDecayTime) : 0;
  if (periods > 0) counter = periods > counter ? 0 : counter - periods;
  return counter;
}

function lfuLogIncr(counter: u32): u32 {
  if (counter == 255) return 255;
  const r = <f64>random32() / <f64>u32.MAX_VALUE;
  let base = <f64>counter - <f64>LFU_INIT_VAL;
  if (base < 0) base = 0;
  const p = 1.0 / (base * <f64>lfuLogFactor + 1);
  return r < p ? counter + 1 : counter;
}

/** A key was accessed (Redis's lookupKey without LOOKUP_NOTOUCH). */
@inline export function touchEntry(e: Entry): void {
  if (lfuPolicy) e.lruSecs = (lfuMinutes() << 8) | lfuLogIncr(lfuDecrAndReturn(e));
  else e.lruSecs = <u32>(now / 1000);
}

/** The access clock of a new value (Redis's createObject). */
@inline function initAccessClock(e: Entry): void {
  e.lruSecs = lfuPolicy ? (lfuMinutes() << 8) | LFU_INIT_VAL : <u32>(now / 1000);
}

// ---- lookup ---------------------------------------------------------------------------

/**
 * CLIENT PAUSE is in effect (src/server/pause.ts): reads see a key whose TTL has passed as
 * absent but leave it in place, so the dataset stays constant (Redis's expireIfNeeded under
 * checkClientPauseTimeoutAndReturnIfPaused). Write lookups still reclaim it, since a write
 * that re-creates the key must not find the stale entry in the dict.
 */
export let expiryPaused = false;
export function setExpiryPaused(on: bool): void { expiryPaused = on; }

/**
 * This server is a replica (src/repl/replica-expiry.ts): like Redis's expireIfNeeded with
 * masterhost set, a key whose TTL has passed is never deleted by a read or by the active
 * cycle (the master's DEL does that, so both datasets stay the same), but reads see it as
 * absent. Write lookups still reclaim it, as on a writable replica (EXPIRE_FORCE_DELETE_EXPIRED);
 * a read-only replica runs no writes but its master's.
 */
export let replicaExpiry = false;
export function setReplicaExpiry(on: bool): void { replicaExpiry = on; }

/**
 * The master's stream is being applied: no key counts as expired (Redis's expireIfNeeded
 * when current_client is the master), so a write the master made while the key was live
 * finds it here too, even if this replica's clock says its TTL has passed.
 */
export let applyingMasterStream = false;
export function setApplyingMasterStream(on: bool): void { applyingMasterStream = on; }

/** An absolute expire time already past deletes the key at once, except on a replica (Redis's checkAlreadyExpired). */
@inline export function alreadyExpired(when: i64): bool {
  return when <= now && !replicaExpiry;
}

/**
 * The live entry for a key (deleting it first if its TTL has passed, unless keepExpired), or null.
 */
export function lookupKey(db: Db, ptr: usize, len: usize, keepExpired: bool = false): Entry | null {
  const h = hashBytes(ptr, len);
  const e = db.dict.find(ptr, len, h);
  if (e == null) return null;
  if (e.expireAt >= 0 && e.expireAt <= now && !applyingMasterStream) {
    if (!keepExpired) deleteExpired(db, e);
    return null;
  }
  return e;
}

/** A read the kernel declined after counting its hit (commands/zsets.ts): the host counts it again. */
export function keyspaceHitTakenBack(): void { keyspaceHits--; }

/** lookupKey for a read command: counts hits and misses, touches the LRU clock. */
export function lookupKeyRead(db: Db, ptr: usize, len: usize): Entry | null {
  const e = lookupKey(db, ptr, len, expiryPaused || replicaExpiry);
  if (e == null) { keyspaceMisses++; return null; }
  keyspaceHits++;
  touchEntry(e);
  return e;
}

/** lookupKeyRead with Redis's LOOKUP_NOTOUCH: counts hits and misses, leaves the LRU clock. */
export function lookupKeyReadNoTouch(db: Db, ptr: usize, len: usize): Entry | null {
  const e = lookupKey(db, ptr, len, expiryPaused || replicaExpiry);
  if (e == null) keyspaceMisses++;
  else keyspaceHits++;
  return e;
}

/** Is the entry logically gone (its TTL has passed) though not yet reclaimed? */
@inline export function keyIsExpired(e: Entry): bool {
  return e.expireAt >= 0 && e.expireAt <= now && !applyingMasterStream;
}

/**
 * Deletes the entry if its TTL has passed (Redis's expireIfNeeded) and says whether it did.
 * For callers that already hold an entry from a scan or a random pick.
 */
export function expireIfNeeded(db: Db, e: Entry): bool {
  if (!keyIsExpired(e)) return false;
  if (!expiryPaused && !replicaExpiry) deleteExpired(db, e);
  return true;
}

export function lookupKeyWrite(db: Db, ptr: usize, len: usize): Entry | null {
  const e = lookupKey(db, ptr, len);
  if (e != null) {
    bgsaveTouch(db, e);
    touchEntry(e);
    noteWrite(e);
  }
  return e;
}

// ---- insert / delete ------------------------------------------------------------------

/**
 * Adds a new key (which must not exist) and returns its entry, typed as an empty string.
 * logNew: it counts as created (the `new` event); not for a key moved in from another
 * shard. valueLen: the string value about to be stored, so that a short one fits inside
 * the entry (entry.ts); any other value needs no more than the default.
 */
export function dbAdd(db: Db, ptr: usize, len: usize, logNew: bool = true, valueLen: usize = 0): Entry {
  const h = hashBytes(ptr, len);
  const e = Entry.create(ptr, len, valueAreaFor(valueLen), h);
  initAccessClock(e);
  db.dict.addHashed(e, h);
  noteLinked(e);
  countInSlot(db, ptr, len, 1);
  if (newKeyLogEnabled && logNew) recordNewKey(indexOfDb(db), ptr, len);
  return e;
}

/** Adds an existing entry object (RENAME, MOVE, COPY keep the value object). */
export function dbAddEntry(db: Db, e: Entry): void {
  relinked = true;
  db.dict.add(e);
  countInSlot(db, e.keyPtr, <usize>e.keyLen, 1);
  if (newKeyLogEnabled) recordNewKey(indexOfDb(db), e.keyPtr, <usize>e.keyLen);
  if (e.expireAt >= 0) addToExpiring(db, e);
  noteLinked(e);
}

/** The entry for the key, created as an empty string if absent; clears an old value's TTL only if asked. */
export function lookupOrAdd(db: Db, ptr: usize, len: usize): Entry {
  let e = lookupKeyWrite(db, ptr, len);
  if (e == null) e = dbAdd(db, ptr, len);
  return e;
}

/** Removes a key; returns whether it existed (expired keys count as absent). */
export function dbDelete(db: Db, ptr: usize, len: usize): bool {
  const e = lookupKeyWrite(db, ptr, len);
  if (e == null) return false;
  unlinkEntry(db, e);
  releaseValue(e);
  return true;
}

/**
 * Entries taken out of their dict during the current command: freed after it (retireFree),
 * unless they went back into a dict (MOVE). Until then every reference a command or the
 * eviction pool holds stays valid.
 */
let retired = new Array<Entry>();
/** dbAddEntry (MOVE) linked an entry again since the last retireFree: `retired` may hold it twice. */
let relinked = false;
/** After freeing more than this many entries at once (a big flush) the list's capacity is dropped too. */
const RETIRED_KEEP: i32 = 4096;

/** Frees the retired entries (after a command: nothing refers to them any more). */
export function retireFree(): void {
  const n = retired.length;
  if (n == 0) return;
  forgetUnlinkedCandidates();
  // An entry MOVE relinked may be unlinked again in the same call (MOVE k 6, SWAPDB 0 6, DEL k):
  // then it is in the list twice, and must be freed once (freed twice, its block was handed out
  // twice: two keys' bytes in one place).
  const seen: Set<usize> | null = relinked ? new Set<usize>() : null;
  relinked = false;
  for (let i = 0; i < n; i++) {
    const e = unchecked(retired[i]);
    if (seen != null) {
      const at = changetype<usize>(e);
      if (seen.has(at)) continue;
      seen.add(at);
    }
    if (e.linked) continue; // moved to another db (MOVE) or dict
    e.val = null; // unpins a value no one took (a key migrated out keeps its host handle)
    e.expireAt = -1; // its slot in expire-map.ts, keyed by this address
    heap.free(changetype<usize>(e));
  }
  // A FLUSHALL of 1M keys grew the list to 4 MB; keeping that capacity would hold it forever.
  if (n > RETIRED_KEEP) retired = new Array<Entry>();
  else retired.length = 0;
}

/** Takes an entry out of the dict and the TTL index without touching its value. */
export function unlinkEntry(db: Db, e: Entry): void {
  retired.push(e);
  bgsaveTouch(db, e);
  const kp = e.keyPtr;
  const kl = <usize>e.keyLen;
  if (db.dict.remove(kp, kl, hashBytes(kp, kl)) != null) countInSlot(db, kp, kl, -1);
  if (e.expIdx >= 0) removeFromExpiring(db, e);
  noteUnlinked(e);
}

/** Drops a value; a host-side value's handle goes to the host to free. */
export function releaseValue(e: Entry): void {
  if (e.type != OBJ_STRING && e.type != OBJ_HASH && e.type != OBJ_LIST && e.handle != 0) {
    freedHandles.push(e.handle);
    if (lazyFreeing) lazyHandles.push(e.handle);
  } else if (lazyFreeing && e.type == OBJ_LIST) {
    // lazyfreeGetFreeEffort of a quicklist: its number of nodes.
    if (e.val != null && listOf(e).nodes.length > LAZYFREE_THRESHOLD) lazyfreedObjects++;
  } else if (lazyFreeing && e.type == OBJ_SET && e.val != null) {
    // A kernel set (set-value.ts): an intset is one allocation, a hashtable one per member.
    if (!setIsIntset(e) && setCount(e) > LAZYFREE_THRESHOLD) lazyfreedObjects++;
  } else if (lazyFreeing && e.type == OBJ_HASH) {
    const h = e.hashVal;
    // Redis's lazyfreeGetFreeEffort: a listpack is one allocation, a table one per field.
    if (h != null && !h.isListpack && h.length > LAZYFREE_THRESHOLD) lazyfreedObjects++;
  }
  e.clearValue();
}

/** Replaces an entry's value with a string (SET over any type), keeping or clearing the TTL. */
export function setStringValue(db: Db, e: Entry, ptr: usize, len: usize, keepTtl: bool): void {
  releaseValue(e);
  e.type = OBJ_STRING;
  storeString(e, ptr, len);
  if (!keepTtl && e.expIdx >= 0) removeExpire(db, e);
}

/** Stores bytes as a string value, int-encoded when they are a canonical i64 (like Redis). */
export function storeString(e: Entry, ptr: usize, len: usize): void {
  if (len <= 20 && tryParseCanonicalInt(ptr, len)) {
    e.val = null;
    e.isInt = true;
    e.isRaw = false;
    e.intVal = canonicalInt;
  } else {
    e.isInt = false;
    e.isRaw = false;
    e.setStringBytes(ptr, len);
  }
}

import { string2ll, parsedInt } from "../util/number";
let canonicalInt: i64 = 0;
function tryParseCanonicalInt(ptr: usize, len: usize): bool {
  if (!string2ll(ptr, len)) return false;
  canonicalInt = parsedInt;
  return true;
}

/**
 * Moves the value (type, payload, handle, LRU) of `from` into `to`, leaving `from` empty so
 * that dropping it frees nothing (RENAME: the value keeps its host handle).
 */
export function moveValue(from: Entry, to: Entry): void {
  releaseValue(to);
  to.type = from.type;
  to.isInt = from.isInt;
  to.isRaw = from.isRaw;
  to.lruSecs = from.lruSecs;
  if (from.isInline) {
    // Bytes inside `from` (entry.ts): copied, into `to` itself when they fit.
    to.setStringBytes(from.strPtr(), from.strLen());
    from.clearValue();
  } else {
    to.takeValueFrom(from); // the value object, and the value area (an int's value or a host handle)
  }
}

/** The host's way to store a value it holds under a key (see index.ts setKeyHandle). */
export function hostSetHandle(db: Db, ptr: usize, len: usize, type: u8, handle: i32): void {
  let e = lookupKeyWrite(db, ptr, len);
  if (e == null) e = dbAdd(db, ptr, len);
  else {
    releaseValue(e);
    if (e.expIdx >= 0) removeExpire(db, e);
  }
  e.type = type;
  e.isInt = false;
  e.handle = handle;
}

export function hostKeyHandle(db: Db, ptr: usize, len: usize): i32 {
  const e = lookupKey(db, ptr, len);
  if (e != null && e.val != null) moveToHost(db, e);
  return e == null || e.type == OBJ_STRING || e.type == OBJ_HASH || e.type == OBJ_LIST ? 0 : e.handle;
}

/** Builds the host's ZSetValue from a kernel zset's elements (zset-value.ts layout); its handle, 0 if none. */
@external("env", "zsetToHost")
declare function hostZsetToHost(elemsPtr: usize, count: u32): i32;
/** Builds the host's SetValue from a kernel set's members (set-value.ts layout); its handle, 0 if none. */
@external("env", "setToHost")
declare function hostSetToHost(membersPtr: usize, count: u32, intset: bool): i32;

/**
 * Moves a set or zset the kernel holds (set-value.ts, zset-value.ts: an entry of a host type
 * with a value object) to the host, which from now on runs every command on it: the host
 * asked for its handle (a command the kernel does not run on it, MEMORY USAGE, DEBUG...).
 * The snapshot in progress, if any, gets the value as it was first (the host's copy is new).
 */
export function moveToHost(db: Db, e: Entry): void {
  const b = changetype<usize>(e.val);
  let h = 0;
  if (e.type == OBJ_ZSET) h = hostZsetToHost(b + 8, zsetCount(e));
  else if (e.type == OBJ_SET) h = hostSetToHost(setMembersStart(e), <u32>setCount(e), setIsIntset(e));
  if (h == 0) return; // no host to take it (the embedded kernel): it stays here
  bgsaveTouch(db, e);
  e.handle = h; // drops the block
  noteWrite(e);
}

/** SWAPDB: exchanges two databases' contents (clients keep their db numbers). */
export function swapDbs(a: i32, b: i32): void {
  bgsaveFinishWalk();
  const t = unchecked(dbs[a]);
  unchecked(dbs[a] = unchecked(dbs[b]));
  unchecked(dbs[b] = t);
}

/**
 * repl-diskless-load swapdb (Redis's tempDb): a replica stores its master's keys into a
 * second set of databases as the RDB arrives, while clients keep reading the old data, and
 * swaps the whole set in at the end: O(1), as Redis's swapMainDbWithTempDb. Not in cluster
 * mode (db 0's slot index belongs to the live set).
 */
let tempDbs: StaticArray<Db> = new StaticArray<Db>(0);

/** A fresh, empty temp set (any earlier one must have been discarded). */
export function tempDbsCreate(): void {
  tempDbs = new StaticArray<Db>(dbs.length);
  for (let i = 0; i < dbs.length; i++) unchecked(tempDbs[i] = new Db());
}

export function tempDb(i: i32): Db { return tempDbs[i]; }

/** The loaded set becomes the live one; the old data is now the temp set (discard it next). */
export function tempDbsSwap(): void {
  bgsaveFinishWalk(); // a running BGSAVE has written the old data before it leaves
  const t = dbs;
  dbs = tempDbs;
  tempDbs = t;
}

/** Frees the temp set's keys (the old data after a swap, or a failed load's) and drops it. */
export function tempDbsDiscard(): f64 {
  let n: i64 = 0;
  for (let i = 0; i < tempDbs.length; i++) n += emptyDb(unchecked(tempDbs[i]));
  tempDbs = new StaticArray<Db>(0);
  return <f64>n;
}

/**
 * Empties a db (FLUSHDB, FLUSHALL, DEBUG RELOAD's and a full sync's empty step, a discarded
 * temp set) in one walk of its buckets, as Redis's dictEmpty does: each entry's value dropped
 * and the entry freed on the spot. (It collected every entry into an array, then retired each
 * into a second one for retireFree: three passes over a million scattered entries and two
 * arrays of a million.) An entry still in memory.ts's pending list is retired instead (the
 * call's settleMemory reads it). An entry retired earlier in this call may be linked in this db
 * again (MOVE moves the entry itself): it is left to retireFree, which frees it once it sees it
 * unlinked; retiring it a second time freed it twice (a crash later: MOVE then FLUSHALL in one
 * pipeline).
 */
export function emptyDb(db: Db): i64 {
  bgsaveFinishWalk();
  const removed = <i64>db.dict.size;
  let retiredNow: Set<usize> | null = null;
  const n = retired.length;
  if (n > 0) {
    retiredNow = new Set<usize>();
    for (let i = 0; i < n; i++) retiredNow.add(changetype<usize>(unchecked(retired[i])));
  }
  // The eviction pool may hold entries of this db (it is only a sample: sampled again later).
  clearEvictionPool();
  emptyTable(db.dict.t0, retiredNow);
  const t1 = db.dict.t1;
  if (t1 != null) emptyTable(t1, retiredNow);
  db.dict.clear();
  const counts = db.slotCounts;
  if (counts != null) {
    for (let i = 0; i < counts.length; i++) unchecked(counts[i] = 0);
    clearSlotKeys();
  }
  db.expiring = new Array<Entry>();
  db.avgTtl = 0;
  return removed;
}

/**
 * emptyDb's walk of one bucket table: every entry unlinked and its value dropped, then freed,
 * or retired when still pending, or left alone when retired already (retiredNow).
 */
function emptyTable(t: StaticArray<Entry | null>, retiredNow: Set<usize> | null): void {
  for (let i = 0; i < t.length; i++) {
    let e = unchecked(t[i]);
    while (e != null) {
      const next = e.next;
      noteUnlinked(e);
      releaseValue(e);
      if (retiredNow != null && retiredNow.has(changetype<usize>(e))) {
        // retireFree frees it (it is unlinked now)
      } else if (e.pending) {
        retired.push(e);
      } else {
        e.expireAt = -1; // its slot in expire-map.ts, keyed by this address
        heap.free(changetype<usize>(e));
      }
      e = next;
    }
  }
}

// ---- expiry ---------------------------------------------------------------------------

export function setExpire(db: Db, e: Entry, when: i64): void {
  bgsaveTouch(db, e);
  e.expireAt = when;
  if (e.expIdx < 0) addToExpiring(db, e);
}

export function removeExpire(db: Db, e: Entry): bool {
  if (e.expireAt < 0) return false;
  bgsaveTouch(db, e);
  if (e.expIdx >= 0) removeFromExpiring(db, e); // first: the position is kept with the time
  e.expireAt = -1;
  return true;
}

function addToExpiring(db: Db, e: Entry): void {
  e.expIdx = db.expiring.length;
  db.expiring.push(e);
}

function removeFromExpiring(db: Db, e: Entry): void {
  const arr = db.expiring;
  const last = arr.pop();
  if (last !== e) {
    unchecked(arr[e.expIdx] = last);
    last.expIdx = e.expIdx;
  }
  e.expIdx = -1;
}

export function deleteExpired(db: Db, e: Entry): void {
  unlinkEntry(db, e);
  releaseValueAs(e, (lazyfreeConfig & LAZY_EXPIRE) != 0);
  expiredKeys++;
  if (effectsEnabled) recordKey(EFFECT_EXPIRED, indexOfDb(db), e.keyPtr, <usize>e.keyLen);
}

/**
 * A key a writable replica's own client gave a TTL (Redis's expireSlaveKeys, run by the
 * host's cron: src/repl/replica-expiry.ts): deleted, as an expiry, once its TTL has passed.
 * 0: gone (absent, or deleted now); 1: still has a TTL; 2: has none (no longer tracked).
 */
export function expireReplicaKey(db: Db, ptr: usize, len: usize): i32 {
  const e = db.dict.find(ptr, len, hashBytes(ptr, len));
  if (e == null) return 0;
  if (e.expireAt < 0) return 2;
  if (e.expireAt > now) return 1;
  deleteExpired(db, e);
  return 0;
}

export function indexOfDb(db: Db): i32 {
  for (let i = 0; i < dbs.length; i++) if (unchecked(dbs[i]) === db) return i;
  return -1;
}

const ACTIVE_EXPIRE_KEYS_PER_LOOP: i32 = 20;
/** Keep sampling a db while more than this percentage of a sample had expired (effort 1). */
const ACTIVE_EXPIRE_ACCEPTABLE_STALE: i32 = 10;

/** The db the next cycle starts from, so a busy db 0 cannot starve the others. */
let expireCycleDb: i32 = 0;

/**
 * Redis's activeExpireCycle (slow cycle), with a sample budget where Redis has a time
 * budget: visit the dbs round-robin; in each, sample 20 keys with a TTL at a time, delete
 * the expired ones, and sample again while more than 10% of a sample had expired. Spends at
 * most `maxSamples` samples in all and returns how many keys were deleted. Also keeps
 * Redis's running estimate of each db's average TTL (INFO keyspace avg_ttl).
 */
export function activeExpireCycle(maxSamples: i32): i32 {
  // A replica waits for its master's DELs (Redis runs activeExpireCycle on masters only).
  if (!activeExpireEnabled || replicaExpiry) return 0;
  let deleted = 0;
  let budget = maxSamples;
  for (let visited = 0; visited < dbs.length && budget > 0; visited++) {
    const db = unchecked(dbs[expireCycleDb]);
    expireCycleDb = (expireCycleDb + 1) % dbs.length;
    if (db.expiring.length == 0) { db.avgTtl = 0; continue; }
    while (budget > 0 && db.expiring.length > 0) {
      let expired = 0;
      let ttlSum: i64 = 0;
      let ttlSamples: i64 = 0;
      const n = min(ACTIVE_EXPIRE_KEYS_PER_LOOP, db.expiring.length);
      for (let i = 0; i < n && db.expiring.length > 0; i++) {
        const e = unchecked(db.expiring[<i32>(random32() % <u32>db.expiring.length)]);
        budget--;
        if (e.expireAt <= now) {
          deleteExpired(db, e);
          expired++;
        } else {
          ttlSum += e.expireAt - now;
          ttlSamples++;
        }
      }
      deleted += expired;
      if (ttlSamples > 0) {
        // Redis: 2% weight for the new sample's mean, 98% for the old estimate.
        const avg = ttlSum / ttlSamples;
        if (db.avgTtl == 0) db.avgTtl = avg;
        db.avgTtl = (db.avgTtl / 50) * 49 + avg / 50;
      }
      if (expired * 100 <= n * ACTIVE_EXPIRE_ACCEPTABLE_STALE) break;
    }
  }
  return deleted;
}
