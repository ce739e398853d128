// Key eviction under maxmemory (Redis's evict.c): the host decides that memory is over the
// limit and asks for one key at a time (src/server/maxmemory.ts); this picks it by the
// maxmemory-policy and deletes it as an eviction (EFFECT_EVICTED; the host counts evicted_keys).
//
// LRU, LFU and TTL policies use Redis's approximation: sample maxmemory-samples keys of
// every db (all keys, or only those with a TTL for volatile-*), merge them into a pool of
// the 16 best candidates kept across calls, sorted by "idle" ascending, and evict from the
// pool's far end. idle is the seconds since the last access (LRU), 255 minus the decayed
// LFU counter (LFU), or the inverse of the expire time (TTL: nearest expiry first). A
// pooled key that was deleted or lost its TTL meanwhile is skipped. Random policies take a
// random key of the next db that has candidates, round-robin.

import { Entry } from "./entry";
import { hashBytes } from "./hash";
import { Db, dbs, now, random32, unlinkEntry, releaseValue, releaseValueAs, lazyfreeConfig, LAZY_EVICTION, lfuDecrAndReturn } from "./keyspace";
import { effectsEnabled, recordKey, EFFECT_EVICTED } from "../effects";

// maxmemory-policy, as the host numbers it (src/server/maxmemory.ts POLICY_CODES).
export const POLICY_NOEVICTION: i32 = 0;
export const POLICY_ALLKEYS_LRU: i32 = 1;
export const POLICY_ALLKEYS_LFU: i32 = 2;
export const POLICY_ALLKEYS_RANDOM: i32 = 3;
export const POLICY_VOLATILE_LRU: i32 = 4;
export const POLICY_VOLATILE_LFU: i32 = 5;
export const POLICY_VOLATILE_RANDOM: i32 = 6;
export const POLICY_VOLATILE_TTL: i32 = 7;

const EVPOOL_SIZE: i32 = 16;

class PoolEntry {
  idle: u64 = 0;
  key: Entry | null = null;
  db: i32 = 0;
}

const pool = new StaticArray<PoolEntry>(EVPOOL_SIZE);
for (let i = 0; i < EVPOOL_SIZE; i++) unchecked(pool[i] = new PoolEntry());

/** Random policies' db cursor (Redis's static next_db). */
let nextDb: i32 = 0;

@inline function isVolatile(policy: i32): bool {
  return policy >= POLICY_VOLATILE_LRU;
}

function idleOf(e: Entry, policy: i32): u64 {
  if (policy == POLICY_VOLATILE_TTL) return U64.MAX_VALUE - <u64>e.expireAt;
  if (policy == POLICY_ALLKEYS_LFU || policy == POLICY_VOLATILE_LFU) return 255 - <u64>lfuDecrAndReturn(e);
  const nowSecs = <u32>(now / 1000);
  return nowSecs >= e.lruSecs ? <u64>(nowSecs - e.lruSecs) : 0;
}

/** Redis's evictionPoolPopulate: merges a sample of db's candidates into the pool. */
function populate(db: Db, dbid: i32, policy: i32, samples: i32): void {
  const vol = isVolatile(policy);
  for (let s = 0; s < samples; s++) {
    let e: Entry | null;
    if (vol) {
      const n = db.expiring.length;
      if (n == 0) return;
      e = unchecked(db.expiring[<i32>(random32() % <u32>n)]);
    } else {
      e = db.dict.random(random32);
      if (e == null) return;
    }
    const idle = idleOf(e, policy);
    // The first slot whose candidate is not worse than this one.
    let k = 0;
    while (k < EVPOOL_SIZE && unchecked(pool[k]).key != null && unchecked(pool[k]).idle < idle) k++;
    if (k == 0 && unchecked(pool[EVPOOL_SIZE - 1]).key != null) {
      continue; // worse than everything in a full pool
    } else if (k < EVPOOL_SIZE && unchecked(pool[k]).key == null) {
      // an empty slot: insert there
    } else if (unchecked(pool[EVPOOL_SIZE - 1]).key == null) {
      // room on the right: shift k.. one place right
      const spare = unchecked(pool[EVPOOL_SIZE - 1]);
      for (let j = EVPOOL_SIZE - 1; j > k; j--) unchecked(pool[j] = unchecked(pool[j - 1]));
      unchecked(pool[k] = spare);
    } else {
      // full: drop the best-kept (leftmost) candidate, shift ..k-1 left
      k--;
      const spare = unchecked(pool[0]);
      for (let j = 0; j < k; j++) unchecked(pool[j] = unchecked(pool[j + 1]));
      unchecked(pool[k] = spare);
    }
    const p = unchecked(pool[k]);
    p.key = e;
    p.idle = idle;
    p.db = dbid;
  }
}

/** Whether a pooled candidate is still in its db (and, for volatile-*, still has a TTL). */
function stillThere(e: Entry, dbid: i32, vol: bool): bool {
  if (!e.linked || (vol && e.expIdx < 0)) return false;
  const kp = e.keyPtr;
  const kl = <usize>e.keyLen;
  return unchecked(dbs[dbid]).dict.find(kp, kl, hashBytes(kp, kl)) === e;
}

let bestDb: i32 = 0;

function pickFromPool(policy: i32, samples: i32): Entry | null {
  const vol = isVolatile(policy);
  while (true) {
    let total = 0;
    for (let i = 0; i < dbs.length; i++) {
      const db = unchecked(dbs[i]);
      const keys = vol ? db.expiring.length : db.dict.size;
      if (keys == 0) continue;
      populate(db, i, policy, samples);
      total += keys;
    }
    if (total == 0) return null;
    for (let k = EVPOOL_SIZE - 1; k >= 0; k--) {
      const p = unchecked(pool[k]);
      const e = p.key;
      if (e == null) continue;
      p.key = null;
      p.idle = 0;
      if (stillThere(e, p.db, vol)) {
        bestDb = p.db;
        return e;
      }
    }
  }
  return null;
}

function pickRandom(policy: i32): Entry | null {
  const vol = isVolatile(policy);
  for (let i = 0; i < dbs.length; i++) {
    nextDb = (nextDb + 1) % dbs.length;
    const db = unchecked(dbs[nextDb]);
    if (vol) {
      const n = db.expiring.length;
      if (n == 0) continue;
      bestDb = nextDb;
      return unchecked(db.expiring[<i32>(random32() % <u32>n)]);
    }
    const e = db.dict.random(random32);
    if (e != null) {
      bestDb = nextDb;
      return e;
    }
  }
  return null;
}

/**
 * Evicts one key by `policy`, sampling `samples` keys per db; returns the dataset bytes
 * it freed (its host value, if any, is reported freed as usual), or -1 when the policy
 * finds nothing to evict (noeviction, or no key with a TTL under volatile-*).
 */
export function evictOne(policy: i32, samples: i32): i64 {
  if (policy == POLICY_NOEVICTION) return -1;
  const e = policy == POLICY_ALLKEYS_RANDOM || policy == POLICY_VOLATILE_RANDOM
    ? pickRandom(policy) : pickFromPool(policy, max(1, samples));
  if (e == null) return -1;
  const db = unchecked(dbs[bestDb]);
  const bytes = <i64>e.acct;
  unlinkEntry(db, e);
  releaseValueAs(e, (lazyfreeConfig & LAZY_EVICTION) != 0);
  if (effectsEnabled) recordKey(EFFECT_EVICTED, bestDb, e.keyPtr, <usize>e.keyLen);
  return bytes;
}

/** Forgets pooled candidates (FLUSHALL, a policy change), as Redis's pool holds only keys. */
/**
 * Drops candidates that left their dict, before their entries are freed (keyspace.ts
 * retireFree): the pool must never point at freed memory. The holes are tolerated as
 * pickFromPool's own are.
 */
export function forgetUnlinkedCandidates(): void {
  for (let i = 0; i < EVPOOL_SIZE; i++) {
    const p = unchecked(pool[i]);
    const e = p.key;
    if (e != null && !e.linked) {
      p.key = null;
      p.idle = 0;
    }
  }
}

export function clearEvictionPool(): void {
  for (let i = 0; i < EVPOOL_SIZE; i++) {
    const p = unchecked(pool[i]);
    p.key = null;
    p.idle = 0;
  }
}
