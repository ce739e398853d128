// Snapshot of one database for persistence (RDB SAVE/BGSAVE, DEBUG RELOAD, AOF rewrite):
// every live key with its entry, in one call, so the host serializes one instant of the
// keyspace while clients keep running (src/persistence/snapshot.ts).
//
// Layout of the staging region (cluster/migrate.ts's blobPtr/blobLen), repeated per key:
//   u32 keyLen, key bytes, u32 entryLen, entry in cluster/migrate.ts's blob layout
// Keys whose TTL has passed but are not reclaimed yet are written too, as Redis's rdbSave
// does (loading skips them and counts them in rdb_last_load_keys_expired); a snapshot never
// writes to the keyspace.

import { dbs, setNow } from "../keyspace/keyspace";
import { Entry } from "../keyspace/entry";
import { blobLen, blobPtr, resetBlob, writeEntry, putBytes, putU32 } from "../cluster/migrate";

function visit(t: StaticArray<Entry | null>): void {
  for (let i = 0; i < t.length; i++) {
    let e = unchecked(t[i]);
    while (e != null) {
      putBytes(e.keyPtr, <usize>e.keyLen);
      const lenAt = blobLen;
      putU32(0);
      writeEntry(e);
      store<u32>(blobPtr + lenAt, <u32>(blobLen - lenAt - 4));
      e = e.next;
    }
  }
}

/** Writes db's live keys to the staging region; returns its length (migrateBlobPtr() is where). */
export function snapshotDb(dbIndex: i32, nowMs: f64): i32 {
  setNow(<i64>nowMs);
  const d = dbs[dbIndex].dict;
  resetBlob();
  visit(d.t0);
  const t1 = d.t1;
  if (t1 != null) visit(t1);
  return <i32>blobLen;
}
