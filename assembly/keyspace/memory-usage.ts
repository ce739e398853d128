// MEMORY USAGE's estimate for a key held in the kernel: what Redis's objectComputeSize adds
// up (value object + payload) plus the key and its table entry. The figures are plausible
// rather than exact: the yardstick is "a positive number that grows with the value".

import { Db } from "./keyspace";
import { OBJ_STRING, OBJ_HASH } from "./entry";
import { hashBytes } from "./hash";

/** Our per-key overhead: the Entry object, its allocator header and a table slot. */
const ENTRY_BYTES: i64 = 72;
/** A managed buffer's header (AssemblyScript object header + allocator block). */
const BUFFER_HEADER_BYTES: i64 = 24;

/**
 * Bytes of the key [ptr, ptr+len) and its kernel-held value, or -1 when the key does not
 * exist. Like Redis (dictFind on the db), an expired but not yet deleted key still counts.
 * A value held by the host (list, set, zset) is not included: the host adds its own size.
 */
export function keyMemoryUsage(db: Db, ptr: usize, len: usize): i64 {
  const e = db.dict.find(ptr, len, hashBytes(ptr, len));
  if (e == null) return -1;
  let n = ENTRY_BYTES + BUFFER_HEADER_BYTES + <i64>e.key.byteLength;
  if (e.type == OBJ_STRING) {
    const s = e.str;
    if (!e.isInt && s != null) n += BUFFER_HEADER_BYTES + <i64>s.byteLength;
  } else if (e.type == OBJ_HASH) {
    const h = e.hashVal;
    if (h != null) n += h.memoryBytes;
  }
  return n;
}
