// Keys per hash slot, for CLUSTER COUNTKEYSINSLOT and GETKEYSINSLOT (which redis-cli
// --cluster reshard calls for every slot it moves). Redis links each slot's keys together;
// here db 0 keeps only a count per slot (64 KiB, cluster mode only, nothing added to an
// entry), kept up to date where the keyspace adds and removes keys (keyspace.ts). That makes
// COUNTKEYSINSLOT O(1), answers GETKEYSINSLOT on an empty slot at once, and lets a walk of the
// dict for a slot's keys stop as soon as it has them all.
//
// Keys found are written to a staging region as (u32 length, bytes)*; the host copies them.
// Like Redis, keys whose TTL passed but that were not reclaimed yet are counted.

import { dbs, Db } from "../keyspace/keyspace";
import { Entry } from "../keyspace/entry";
import { keyHashSlot, CLUSTER_SLOTS } from "./slot";

/** Starts counting db 0's keys per slot (cluster mode), counting the keys already there. */
export function enableSlotIndex(): void {
  const db = dbs[0];
  if (db.slotCounts != null) return;
  const counts = new StaticArray<i32>(CLUSTER_SLOTS);
  db.slotCounts = counts;
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
      e = e.next;
    }
  }
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
  if (counts == null) return -1;
  const want = min(max, unchecked(counts[slot]));
  if (want <= 0) return 0;
  let found = collect(db.dict.t0, slot, want, 0);
  const t1 = db.dict.t1;
  if (found < want && t1 != null) found = collect(t1, slot, want, found);
  return found;
}

function collect(t: StaticArray<Entry | null>, slot: i32, want: i32, found: i32): i32 {
  for (let i = 0; i < t.length && found < want; i++) {
    let e = unchecked(t[i]);
    while (e != null && found < want) {
      if (slotOf(e) == slot) {
        put(e);
        found++;
      }
      e = e.next;
    }
  }
  return found;
}
