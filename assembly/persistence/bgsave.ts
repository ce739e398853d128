// Point-in-time snapshot without fork (BGSAVE, BGREWRITEAOF): copy-on-write at key level.
//
// bgsaveBegin() freezes every db's dict (no rehash step, no resize, so an entry stays in its
// bucket) and starts a new epoch. The host then calls bgsaveStep(budget) between event-loop
// turns: it walks every db's buckets in order and writes each entry whose snapEpoch is older
// than the epoch, marking it. A write reaches an entry first through lookupKeyWrite,
// setExpire/removeExpire or unlinkEntry (keyspace.ts), which call bgsaveTouch: an entry not
// yet written is written there, as it is before the change (its pre-image), and marked.
// Entries created after the start carry the epoch from birth (entry.ts), so they are never
// written. So every entry live at the start is written exactly once, with its value at the
// start: the image a fork would have frozen, while clients keep being served.
// SWAPDB and FLUSHDB/FLUSHALL replace whole tables: they first finish the walk synchronously
// (bgsaveFinishWalk), a pause only in that rare case.
//
// Output region (bgsaveOutPtr / bgsaveOutLen), drained by the host after each step and
// each command (bgsaveDrained resets it), records in arrival order:
//   u32 db, u32 keyLen, key bytes, u32 entryLen, entry (cluster/migrate.ts blob layout)
// Expired entries not yet reclaimed are written too, as Redis's rdbSave does.

import { dbs, Db, indexOfDb } from "../keyspace/keyspace";
import { Entry, bumpSnapshotEpoch, snapshotEpoch } from "../keyspace/entry";
import { blobPtr, blobLen, writeEntry, setBlobLen } from "../cluster/migrate";

export let bgsaveActive = false;

let outCap: usize = 0;
let outPtr: usize = 0;
let outLen: usize = 0;

/** Walk position: db, table (0: t0, 1: t1), bucket. */
let walkDb: i32 = 0;
let walkTable: i32 = 0;
let walkBucket: i32 = 0;

function outEnsure(n: usize): void {
  if (outLen + n <= outCap) return;
  let cap = outCap == 0 ? <usize>65536 : outCap;
  while (cap < outLen + n) cap <<= 1;
  outPtr = outPtr == 0 ? heap.alloc(cap) : heap.realloc(outPtr, cap);
  outCap = cap;
}

/** Appends one record for the entry and marks it written. */
function emit(dbIndex: i32, e: Entry): void {
  e.snapEpoch = snapshotEpoch;
  // writeEntry appends to the migrate staging region: borrow its tail, then give it back
  // (a migrateOut in progress keeps its bytes below `at`).
  const at = blobLen;
  writeEntry(e);
  const n = blobLen - at;
  const kl = <usize>e.keyLen;
  outEnsure(12 + kl + n);
  let p = outPtr + outLen;
  store<u32>(p, <u32>dbIndex);
  store<u32>(p + 4, <u32>kl);
  memory.copy(p + 8, e.keyPtr, kl);
  p += 8 + kl;
  store<u32>(p, <u32>n);
  memory.copy(p + 4, blobPtr + at, n);
  outLen += 12 + kl + n;
  setBlobLen(at);
}

/** Bytes of the pre-images written because of writes (INFO current_cow_size's counterpart). */
let cowBytes: u64 = 0;

/** Called before an entry changes or leaves its db: writes its pre-image if not yet written. */
@inline export function bgsaveTouch(db: Db, e: Entry): void {
  if (bgsaveActive && e.snapEpoch != snapshotEpoch) {
    const before = outLen;
    emit(indexOfDb(db), e);
    cowBytes += <u64>(outLen - before);
  }
}

export function bgsaveCowBytes(): f64 { return <f64>cowBytes; }

function setFrozen(on: bool): void {
  for (let i = 0; i < dbs.length; i++) unchecked(dbs[i]).dict.frozen = on;
}

export function bgsaveBegin(): void {
  bumpSnapshotEpoch();
  bgsaveActive = true;
  walkDb = 0;
  walkTable = 0;
  walkBucket = 0;
  outLen = 0;
  cowBytes = 0;
  setFrozen(true);
}

/** Walks up to `budget` entries (whole buckets); 1 when every db has been walked. */
export function bgsaveStep(budget: i32): i32 {
  if (!bgsaveActive) return 1;
  let visited = 0;
  while (walkDb < dbs.length) {
    const d = unchecked(dbs[walkDb]).dict;
    const t = walkTable == 0 ? d.t0 : d.t1;
    if (t == null || walkBucket >= t.length) {
      if (walkTable == 0) walkTable = 1;
      else {
        // This db is walked: its buckets may move again (rehash, resize). Pre-images still
        // come from bgsaveTouch. Without this, a db flushed during a save (FLUSHDB, DEBUG
        // LOADAOF) and refilled would keep a tiny frozen table whose chains grow without end.
        d.frozen = false;
        walkTable = 0;
        walkDb++;
      }
      walkBucket = 0;
      continue;
    }
    if (visited >= budget) return 0;
    let e = unchecked(t[walkBucket]);
    while (e != null) {
      if (e.snapEpoch != snapshotEpoch) emit(walkDb, e);
      visited++;
      e = e.next;
    }
    walkBucket++;
    visited++;
  }
  return 1;
}

/** Finishes the walk now (before SWAPDB or a flush replaces tables). */
export function bgsaveFinishWalk(): void {
  if (bgsaveActive) bgsaveStep(i32.MAX_VALUE);
}

/** Ends (or abandons) the snapshot: dicts may rehash and resize again. */
export function bgsaveEnd(): void {
  if (!bgsaveActive) return;
  bgsaveActive = false;
  outLen = 0;
  setFrozen(false);
}

export function bgsaveOutPtr(): usize { return outPtr; }
export function bgsaveOutLen(): usize { return outLen; }
export function bgsaveDrained(): void { outLen = 0; }
