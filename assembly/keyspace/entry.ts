// Entry: one key of the keyspace. Every key lives here whatever its type, so that DEL,
// EXISTS, TYPE, EXPIRE, RENAME, SCAN... see all types alike (DESIGN.md "One keyspace").
//
//   key       the key's bytes (managed ArrayBuffer)
//   hash      cached hash of key (dict bucket choice, fast mismatch)
//   next      dict chain link
//   type      OBJ_STRING / OBJ_LIST / ... with Redis's numbering (server.h)
//   str       string value bytes, unless the value is int-encoded
//   intVal    string value when isInt (OBJ_ENCODING_INT: canonical decimal of an i64)
//   isRaw     string bytes edited in place (APPEND, SETRANGE, SETBIT...): OBJECT ENCODING
//             says raw even when short, as Redis's unshared copy is RAW, not EMBSTR
//   hashVal   field -> value table of a hash
//   handle    host-side value (list, set, zset, stream): an id the host maps to its object
//   expireAt  absolute unix time in ms, or -1 (no TTL)
//   expIdx    position in the db's `expiring` array (-1 when no TTL)
//   snapEpoch the background snapshot (persistence/bgsave.ts) that has written this entry,
//             or that was running when it was created: it is not written again
//   lruSecs   last access, in host-clock seconds (OBJECT IDLETIME); under an LFU
//             maxmemory-policy, Redis's LFU word instead (keyspace.ts "access clock")
//   acct      bytes this entry was last accounted at in the dataset total (memory.ts)
//   linked    in a db's dict (accounted); pending: queued for re-accounting after a write

import { HashValue } from "./hash-value";

export const OBJ_STRING: u8 = 0;
export const OBJ_LIST: u8 = 1;
export const OBJ_SET: u8 = 2;
export const OBJ_ZSET: u8 = 3;
export const OBJ_HASH: u8 = 4;
export const OBJ_STREAM: u8 = 6;

/** The current background snapshot's number (persistence/bgsave.ts); new entries carry it. */
export let snapshotEpoch: u32 = 0;
export function bumpSnapshotEpoch(): void { snapshotEpoch++; }

export class Entry {
  next: Entry | null = null;
  str: ArrayBuffer | null = null;
  hashVal: HashValue | null = null;
  intVal: i64 = 0;
  expireAt: i64 = -1;
  expIdx: i32 = -1;
  handle: i32 = 0;
  lruSecs: u32 = 0;
  acct: u32 = 0;
  linked: bool = false;
  pending: bool = false;
  snapEpoch: u32 = snapshotEpoch;
  isInt: bool = false;
  isRaw: bool = false;
  type: u8 = OBJ_STRING;

  constructor(public key: ArrayBuffer, public hash: u32) {}
}

export function typeName(t: u8): string {
  switch (t) {
    case OBJ_STRING: return "string";
    case OBJ_LIST: return "list";
    case OBJ_SET: return "set";
    case OBJ_ZSET: return "zset";
    case OBJ_HASH: return "hash";
    case OBJ_STREAM: return "stream";
  }
  return "none";
}
