// One keyspace entry, as the kernel hands it out (the migrate layout of
// assembly/cluster/migrate.ts, in snapshotDb's blob or the background save's walk), written
// as an RDB key record: [EXPIRETIME_MS] [IDLE | FREQ] type key value.
//
// Strings, the commonest value, go from the blob's bytes into the writer: no value object,
// no key or value view. A million-key SAVE spent more time building and collecting those
// objects (parseEntry, a generator's {key, stored} per key) than writing bytes. Every other
// type is parsed into its RDB form and written by writeObjectBody, as before.
import type { HandleRegistry } from "../types/registry.js";
import { OBJ_STRING } from "../types/value.js";
import {
  RDB_TYPE_STRING, RDB_OPCODE_EXPIRETIME_MS, RDB_OPCODE_IDLE, RDB_OPCODE_FREQ, type RdbWriter,
} from "./rdb-format.js";
import { objectType, writeObjectBody } from "./value-codec.js";
import { parseEntry, ENTRY_HEADER } from "./keyspace-io.js";

/** Which access field a record carries (accessFields): IDLE under LRU, FREQ under LFU. */
export interface AccessFields { lru: boolean; lfu: boolean }

/** A key's prefix: [EXPIRETIME_MS] [IDLE | FREQ]; the caller writes type, key and body. */
export function writeKeyMeta(w: RdbWriter, expireAt: number, access: number, f: AccessFields, now: number): void {
  if (expireAt >= 0) { w.u8(RDB_OPCODE_EXPIRETIME_MS); w.i64le(expireAt); }
  if (f.lru) { w.u8(RDB_OPCODE_IDLE); w.len(Math.max(0, Math.floor(now / 1000) - access)); }
  if (f.lfu) { w.u8(RDB_OPCODE_FREQ); w.u8(access & 255); }
}

/** The int64 at off (little-endian) as a number: exact in the safe range, rounded past it. */
export function readI64(dv: DataView, off: number): number {
  return dv.getInt32(off + 4, true) * 4294967296 + dv.getUint32(off, true);
}

/** An entry's expire time (unix ms, or -1): the i64 at +8 of its header. */
export function entryExpireAt(dv: DataView, at: number): number { return readI64(dv, at + 8); }

/**
 * Writes the key record of the entry at blob[at] under the key blob[keyOff, keyOff+keyLen).
 * `now` is the save's instant (an IDLE field counts from it); host values (sets, zsets and
 * streams with a handle) are read through the registry.
 */
export function writeEntryRecord(
  w: RdbWriter, blob: Uint8Array, dv: DataView, keyOff: number, keyLen: number, at: number,
  f: AccessFields, now: number, registry: HandleRegistry,
): void {
  writeKeyMeta(w, entryExpireAt(dv, at), dv.getUint32(at + 4, true), f, now);
  if (blob[at] !== OBJ_STRING) {
    const stored = parseEntry(blob, at, registry);
    w.u8(objectType(stored.value));
    w.stringAt(blob, keyOff, keyLen);
    writeObjectBody(w, stored.value);
    return;
  }
  w.u8(RDB_TYPE_STRING);
  w.stringAt(blob, keyOff, keyLen);
  const p = at + ENTRY_HEADER;
  if (blob[at + 1] === 0) { w.stringAt(blob, p + 4, dv.getUint32(p, true)); return; }
  // An integer-encoded string (rdbSaveLongLongAsStringObject): RDB_ENC_INT* when it fits 32
  // bits, else its decimal text.
  const lo = dv.getUint32(p, true), hi = dv.getInt32(p + 4, true);
  if ((hi === 0 && lo < 0x80000000) || (hi === -1 && lo >= 0x80000000)) w.int(lo | 0);
  else w.string(String(dv.getBigInt64(p, true)));
}

/**
 * Calls fn for each entry of a snapshotDb blob ([u32 key length][key][u32 entry length][entry]
 * per key): the key's offset and length, and the entry's offset.
 */
export function forEachSnapshotEntry(blob: Uint8Array, dv: DataView, fn: (keyOff: number, keyLen: number, at: number) => void): void {
  let off = 0;
  while (off < blob.length) {
    const kl = dv.getUint32(off, true);
    const keyOff = off + 4;
    off = keyOff + kl;
    const el = dv.getUint32(off, true);
    fn(keyOff, kl, off + 4);
    off += 4 + el;
  }
}
