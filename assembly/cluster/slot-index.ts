// Keys per hash slot, for CLUSTER COUNTKEYSINSLOT and GETKEYSINSLOT (which redis-cli
// --cluster reshard calls for every slot it moves). Redis links each slot's keys together
// through dict entry metadata (16 bytes a key). Here, in cluster mode, db 0 keeps a count per
// slot (64 KiB) and, per slot, the set of its keys' dict hashes (a Set<u32>, created when the
// slot gets its first key; two keys of a slot may share a hash), kept up to date where the
// keyspace adds and removes keys (keyspace.ts: countInSlot, emptyDb). Nothing is added to an
// entry. COUNTKEYSINSLOT is O(1); GETKEYSINSLOT looks each of the slot's hashes up in the
// dict's bucket(s) for that hash, so its cost follows the slot's keys, not the keyspace.
//
// Keys found are written to a staging region as (u32 length, bytes)*; the host copies them.
// Like Redis, keys whose TTL passed but that were not reclaimed yet are counted.

import { dbs, Db } from "../keyspace/keyspace";
import { Entry } from "../keyspace/entry";
import { keyHashSlot, CLUSTER_SLOTS } from "./slot";
import { hashBytes } from "../keyspace/hash";

/** Per slot of db 0: the dict hashes of its keys. */
let slotHashes: StaticArray<Set<u32> | null> | null = null;

/** Starts counting db 0's keys per slot (cluster mode), counting the keys already there. */
export function enableSlotIndex(): void {
  const db = dbs[0];
  if (db.slotCounts != null) return;
  const counts = new StaticArray<i32>(CLUSTER_SLOTS);
  db.slotCounts = counts;
  slotHashes = new StaticArray<Set<u32> | null>(CLUSTER_SLOTS);
  forEachTable(db.dict.t0, counts);
  const t1 = db.dict.t1;
  if (t1 != null) forEachTable(t1, counts);
}

function forEachTable(t: StaticArray<Entry | null>, counts: StaticArray<i32>): void {
  for (let i = 0; i < t.length; i++) {
    let e = unchecked(t[i]);
    while (e != null) {
      const s = slotOf(e);
      unchecked(counts[s] = unchecked(counts[s]) + 1);
      noteSlotKey(dbs[0], s, hashBytes(e.keyPtr, <usize>e.keyLen), 1);
      e = e.next;
    }
  }
}

/**
 * A key of db (db 0) with dict hash `hash` came to (+1) or left (-1) slot (keyspace.ts's
 * hook; a leaving key is already out of the dict).
 */
export function noteSlotKey(db: Db, slot: i32, hash: u32, delta: i32): void {
  const all = slotHashes;
  if (all == null) return;
  let m = unchecked(all[slot]);
  if (delta > 0) {
    if (m == null) {
      m = new Set<u32>();
      unchecked(all[slot] = m);
    }
    m.add(hash);
  } else if (m != null && m.has(hash)) {
    // Another key of this slot with the same hash keeps it listed.
    if (hashInDict(db, hash, slot)) return;
    if (m.size == 1) unchecked(all[slot] = null); // the slot's last key: drop its set
    else m.delete(hash);
  }
}

function hashInDict(db: Db, h: u32, slot: i32): bool {
  if (hashInTable(db.dict.t0, h, slot)) return true;
  const t1 = db.dict.t1;
  return t1 != null && hashInTable(t1, h, slot);
}

function hashInTable(t: StaticArray<Entry | null>, h: u32, slot: i32): bool {
  let e = unchecked(t[<i32>(h & <u32>(t.length - 1))]);
  while (e != null) {
    if (hashBytes(e.keyPtr, <usize>e.keyLen) == h && slotOf(e) == slot) return true;
    e = e.next;
  }
  return false;
}

/** db 0 was emptied (FLUSHALL, FLUSHDB, a reload): every slot's hashes go (keyspace.ts's hook). */
export function clearSlotKeys(): void {
  if (slotHashes != null) slotHashes = new StaticArray<Set<u32> | null>(CLUSTER_SLOTS);
}

@inline export function slotOf(e: Entry): i32 {
  return keyHashSlot(e.keyPtr, <usize>e.keyLen);
}

export function countKeysInSlot(dbIndex: i32, slot: i32): i32 {
  const counts = dbs[dbIndex].slotCounts;
  return counts == null ? -1 : unchecked(counts[slot]);
}

let cap: usize = 4096;
export let keysPtr: usize = heap.alloc(cap);
export let keysLen: usize = 0;

function put(e: Entry): void {
  const n = <usize>e.keyLen;
  if (keysLen + 4 + n > cap) {
    while (cap < keysLen + 4 + n) cap <<= 1;
    keysPtr = heap.realloc(keysPtr, cap);
  }
  store<u32>(keysPtr + keysLen, <u32>n);
  memory.copy(keysPtr + keysLen + 4, e.keyPtr, n);
  keysLen += 4 + n;
}

/** Writes up to max keys of slot to the staging region; returns how many (-1: no index). */
export function keysInSlot(dbIndex: i32, slot: i32, max: i32): i32 {
  const db: Db = dbs[dbIndex];
  const counts = db.slotCounts;
  keysLen = 0;
  const all = slotHashes;
  if (counts == null || all == null) return -1;
  const want = min(max, unchecked(counts[slot]));
  if (want <= 0) return 0;
  const m = unchecked(all[slot]);
  if (m == null) return 0;
  const hashes = m.values();
  let found = 0;
  const t1 = db.dict.t1;
  for (let i = 0; i < hashes.length && found < want; i++) {
    const h = unchecked(hashes[i]);
    // While the dict rehashes, a key is in t0's bucket for h or in t1's.
    found = collectHash(db.dict.t0, h, slot, want, found);
    if (found < want && t1 != null) found = collectHash(t1, h, slot, want, found);
  }
  return found;
}

/** The keys of `slot` whose hash is h, from h's bucket of table t. */
function collectHash(t: StaticArray<Entry | null>, h: u32, slot: i32, want: i32, found: i32): i32 {
  let e = unchecked(t[<i32>(h & <u32>(t.length - 1))]);
  while (e != null && found < want) {
    if (hashBytes(e.keyPtr, <usize>e.keyLen) == h && slotOf(e) == slot) {
      put(e);
      found++;
    }
    e = e.next;
  }
  return found;
}

/**
 * Bytes the index holds (MEMORY STATS' overhead.hashtable.slot-to-keys; Redis counts its
 * 16 bytes of entry metadata a key): the per-slot counts and set table, and each slot's set
 * (its object, bucket and entry buffers, read through the std Set's field layout).
 */
export function slotIndexBytes(): f64 {
  const all = slotHashes;
  if (all == null) return 0;
  let bytes: f64 = <f64>(CLUSTER_SLOTS * 4 * 2);
  for (let s = 0; s < CLUSTER_SLOTS; s++) {
    const m = unchecked(all[s]);
    if (m == null) continue;
    const p = changetype<usize>(m);
    const buckets = changetype<ArrayBuffer>(load<usize>(p + offsetof<Set<u32>>("buckets")));
    const entries = changetype<ArrayBuffer>(load<usize>(p + offsetof<Set<u32>>("entries")));
    bytes += <f64>(offsetof<Set<u32>>() + buckets.byteLength + entries.byteLength);
  }
  return bytes;
}
