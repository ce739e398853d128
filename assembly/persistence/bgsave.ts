// Point-in-time snapshot without fork (BGSAVE, BGREWRITEAOF): copy-on-write at key level.
//
// bgsaveBegin() starts a new epoch. The host then calls bgsaveStep(budget) between event-loop
// turns: it walks every db's dict with Redis's dictScan cursor (Dict.scan), which visits every
// entry present for the whole walk at least once even while the table grows, shrinks or
// rehashes meanwhile (so the dicts keep Redis's resize policy, dict.ts), and writes each entry
// whose snapEpoch is older than the epoch, marking it (one visited twice is written once).
// A write reaches an entry first through lookupKeyWrite, setExpire/removeExpire or
// unlinkEntry (keyspace.ts), which call bgsaveTouch: an entry not yet written is written
// there, as it is before the change (its pre-image), and marked.
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

/** Walk position: db, and the scan cursor in its dict. */
let walkDb: i32 = 0;
let walkCursor: u64 = 0;
/** The entries of the buckets one scan call visits. */
const batch = new Array<Entry>();

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

export function bgsaveBegin(): void {
  bumpSnapshotEpoch();
  bgsaveActive = true;
  walkDb = 0;
  walkCursor = 0;
  outLen = 0;
  cowBytes = 0;
}

/** Walks up to about `budget` entries (whole scan steps); 1 when every db has been walked. */
export function bgsaveStep(budget: i32): i32 {
  if (!bgsaveActive) return 1;
  let visited = 0;
  while (walkDb < dbs.length) {
    if (visited >= budget) return 0;
    batch.length = 0;
    walkCursor = unchecked(dbs[walkDb]).dict.scan(walkCursor, batch);
    for (let i = 0; i < batch.length; i++) {
      const e = unchecked(batch[i]);
      if (e.snapEpoch != snapshotEpoch) emit(walkDb, e);
    }
    visited += batch.length + 1;
    if (walkCursor == 0) walkDb++;
  }
  batch.length = 0;
  return 1;
}

/** Finishes the walk now (before SWAPDB or a flush replaces tables). */
export function bgsaveFinishWalk(): void {
  if (bgsaveActive) bgsaveStep(i32.MAX_VALUE);
}

/** Ends (or abandons) the snapshot. */
export function bgsaveEnd(): void {
  if (!bgsaveActive) return;
  bgsaveActive = false;
  outLen = 0;
  batch.length = 0;
}

export function bgsaveOutPtr(): usize { return outPtr; }
export function bgsaveOutLen(): usize { return outLen; }
export function bgsaveDrained(): void { outLen = 0; }
