// MEMORY USAGE's figure for a key held in the kernel: the bytes the dataset accounting
// (memory.ts) charges for it — the entry, its key and its kernel-held value. A value held
// by the host (list, set, zset, stream) adds its own size on the host side.

import { Db, moveToHost } from "./keyspace";
import { OBJ_SET, OBJ_ZSET } from "./entry";
import { hashBytes } from "./hash";
import { entryBytes } from "./memory";

/**
 * Bytes of the key [ptr, ptr+len) and its kernel-held value, or -1 when the key does not
 * exist. Like Redis (dictFind on the db), an expired but not yet deleted key still counts.
 */
export function keyMemoryUsage(db: Db, ptr: usize, len: usize): i64 {
  const e = db.dict.find(ptr, len, hashBytes(ptr, len));
  if (e == null) return -1;
  // A set or zset the kernel holds is measured as the host measures those types
  // (src/types/value-size.ts), like every other: it moves there, and the host adds its size.
  if ((e.type == OBJ_SET || e.type == OBJ_ZSET) && e.val != null) moveToHost(db, e);
  return entryBytes(e);
}
