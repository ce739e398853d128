// Entry: one key of the keyspace. Every key lives here whatever its type, so that DEL,
// EXISTS, TYPE, EXPIRE, RENAME, SCAN... see all types alike (DESIGN.md "One keyspace").
//
// One allocation per key (like Redis's embstr, which puts the object header and a short
// string in one block): the fixed fields below, then a value area, then the key's bytes.
// The block is not a GC object (@unmanaged: no 16-byte runtime header), so a key costs
// one TLSF block: 64 bytes for a 10-byte key with a 10-byte value. Its lifetime is explicit:
// unlinking retires it and retireFree() (after the command, keyspace.ts) frees it; the value
// object it holds (a long string's buffer, a hash's listpack or table) is pinned for the GC while held.
//
//   offset 0                 fields (offsetof<Entry>() = 24 bytes)
//   offset 24                value area, valCap bytes (at least 8):
//                              string, isInt:   the i64 (OBJ_ENCODING_INT)
//                              string, inline:  the value's bytes (valLen of them)
//                              set/zset/stream: the host handle (i32), except a set or
//                                zset the kernel holds (bit REF: its block, set-value.ts,
//                                zset-value.ts)
//                              string not inline, hash, list: the held value object's address
//                                (bit REF): a long string's bytes (str: long values,
//                                values grown in place by APPEND/SETRANGE/SETBIT...), or
//                                a hash's listpack block, or with bit TABLE its HashTable
//                                (hashVal is a view of the entry: hash-value.ts), or a
//                                list's QuickList (list-value.ts); pinned
//                                (__pin) while held
//   offset 24 + valCap       the key's bytes (keyLen of them)
//
// A TTL is not a field: an entry with one has bit EXPIRE and its expire time and position
// in the db's `expiring` array in expire-map.ts (expireAt / expIdx below read it there).
//
// Fields:
//   next      dict chain link
//   lruSecs   last access, in host-clock seconds (OBJECT IDLETIME); under an LFU
//             maxmemory-policy, Redis's LFU word instead (keyspace.ts "access clock")
//   acct      bytes this entry was last accounted at in the dataset total (memory.ts)
//   snapEpoch the background snapshot (persistence/bgsave.ts) that has written this entry,
//             or that was running when it was created: it is not written again
//   keyLen    the key's length
//   typeTag   low 3 bits: the type, OBJ_STRING / OBJ_LIST / ... with Redis's numbering
//             (server.h; `type` reads and writes them); high 5 bits: the top 5 bits of the
//             key's hash (see below)
//   bits      isInt, isRaw (string bytes edited in place: OBJECT ENCODING says raw even
//             when short, as Redis's unshared copy is RAW, not EMBSTR), inline (the string
//             is in the value area), linked (in a db's dict, accounted), pending (queued
//             for re-accounting after a write), expire (has a TTL), ref (the value area
//             holds a value object's address), table (a hash's value object is its
//             HashTable, not a listpack block)
//   valCap    bytes of the value area; valLen: an inline string's length
//
// No cached hash, only a 5-bit tag of it in the type's spare bits: the dict compares the tag,
// then lengths, then bytes, so an entry of another key in the same chain is passed over
// after one byte, without reading its key (31 in 32 of them); it re-hashes a key when it
// moves it to a new table (as Redis's dict does). A whole hash would cost 4 bytes on every
// key (a 48-byte block for a 10-byte key and value would become 64).
//
// Reading `str` (the value as a buffer) moves an inline value out of the entry into a
// buffer of its own, so code that edits the bytes in place keeps working; hot read paths
// use strPtr()/strLen() instead, which never move anything.

import { HashValue } from "./hash-value";
import { noteWrite } from "./memory";
import { expireMapInsert, expireMapWhen, expireMapSetWhen, expireMapIdx, expireMapSetIdx, expireMapRemove } from "./expire-map";
import { copySmall } from "../util/copy";

export const OBJ_STRING: u8 = 0;
export const OBJ_LIST: u8 = 1;
export const OBJ_SET: u8 = 2;
export const OBJ_ZSET: u8 = 3;
export const OBJ_HASH: u8 = 4;
export const OBJ_STREAM: u8 = 6;

/** Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT: longer strings are never stored inline. */
export const INLINE_STRING_LIMIT: usize = 44;
/** The value area always holds an i64 (an int-encoded string) or a host handle. */
const MIN_VALUE_AREA: usize = 8;

const BIT_INT: u8 = 1;
const BIT_RAW: u8 = 2;
const BIT_INLINE: u8 = 4;
const BIT_LINKED: u8 = 8;
const BIT_PENDING: u8 = 16;
const BIT_EXPIRE: u8 = 32;
const BIT_REF: u8 = 64;
const BIT_TABLE: u8 = 128;

/** The current background snapshot's number (persistence/bgsave.ts); new entries carry it. */
export let snapshotEpoch: u32 = 0;
export function bumpSnapshotEpoch(): void { snapshotEpoch++; }

/** The value area a new entry gets for a string value of `len` bytes (8 for any other value). */
export function valueAreaFor(len: usize): usize {
  return len <= INLINE_STRING_LIMIT ? max(len, MIN_VALUE_AREA) : MIN_VALUE_AREA;
}

@unmanaged @final export class Entry {
  next: Entry | null;
  lruSecs: u32;
  acct: u32;
  snapEpoch: u32;
  keyLen: u32;
  typeTag: u8;
  bits: u8;
  valCap: u8;
  valLen: u8;

  /** A new entry for the key [ptr, ptr+len), typed as an empty string, with a value area for `valCap` bytes. */
  static create(ptr: usize, len: usize, valCap: usize, hash: u32): Entry {
    const cap = max(min(valCap, INLINE_STRING_LIMIT), MIN_VALUE_AREA);
    const head = offsetof<Entry>() + cap;
    const p = heap.alloc(head + len);
    memory.fill(p, 0, head);
    const e = changetype<Entry>(p);
    e.snapEpoch = snapshotEpoch;
    e.keyLen = <u32>len;
    e.valCap = <u8>cap;
    e.bits = BIT_INLINE; // the empty string, inline
    e.typeTag = <u8>((hash >>> 27) << 3); // OBJ_STRING
    memory.copy(changetype<usize>(e) + offsetof<Entry>() + cap, ptr, len);
    return e;
  }

  /** The value object the entry holds (see the top of this file), or null. */
  @inline get val(): ArrayBuffer | null {
    return (this.bits & BIT_REF) != 0 ? changetype<ArrayBuffer>(load<usize>(this.areaPtr)) : null;
  }
  /** Holds a value object (pinned) in the value area, or (null) drops the one it holds. */
  set val(v: ArrayBuffer | null) {
    const p = changetype<usize>(v);
    if ((this.bits & BIT_REF) != 0) {
      const old = load<usize>(this.areaPtr);
      if (old == p) return;
      if (old >= __heap_base) __unpin(old);
      this.bits &= ~(BIT_REF | BIT_TABLE);
      store<i64>(this.areaPtr, 0);
    }
    if (p == 0) return;
    if (p >= __heap_base) __pin(p);
    store<i64>(this.areaPtr, <i64>p);
    this.bits = (this.bits | BIT_REF) & ~(BIT_INLINE | BIT_INT);
  }
  /** Drops a held value object before the value area is used for something else. */
  @inline private dropRef(): void {
    if ((this.bits & BIT_REF) != 0) this.val = null;
  }

  /** Moves the value object (or the value area's word: an int or a handle) from another entry, no re-pinning. */
  takeValueFrom(from: Entry): void {
    this.dropRef();
    this.bits = (this.bits & ~(BIT_INLINE | BIT_REF | BIT_TABLE)) | (from.bits & (BIT_REF | BIT_TABLE));
    store<i64>(this.areaPtr, load<i64>(from.areaPtr));
    from.bits &= ~(BIT_REF | BIT_TABLE);
    store<i64>(from.areaPtr, 0);
  }

  /** Absolute unix time in ms of the key's TTL, or -1 (none): kept in expire-map.ts. */
  get expireAt(): i64 {
    return (this.bits & BIT_EXPIRE) != 0 ? expireMapWhen(<u32>changetype<usize>(this)) : -1;
  }
  set expireAt(when: i64) {
    const k = <u32>changetype<usize>(this);
    if (when < 0) {
      if ((this.bits & BIT_EXPIRE) == 0) return;
      expireMapRemove(k);
      this.bits &= ~BIT_EXPIRE;
    } else if ((this.bits & BIT_EXPIRE) != 0) {
      expireMapSetWhen(k, when);
    } else {
      expireMapInsert(k, when);
      this.bits |= BIT_EXPIRE;
    }
  }
  /** Position in the db's `expiring` array, -1 when not there (no TTL, or not in a db). */
  get expIdx(): i32 {
    return (this.bits & BIT_EXPIRE) != 0 ? expireMapIdx(<u32>changetype<usize>(this)) : -1;
  }
  set expIdx(i: i32) {
    if ((this.bits & BIT_EXPIRE) != 0) expireMapSetIdx(<u32>changetype<usize>(this), i);
  }

  /** The key's type (OBJ_*). */
  @inline get type(): u8 { return this.typeTag & 7; }
  @inline set type(t: u8) { this.typeTag = (this.typeTag & 0xf8) | t; }
  /** Whether `hash` may be this entry's key's (its top 5 bits are the tag): Dict's first test. */
  @inline tagMatches(hash: u32): bool { return <u32>(this.typeTag >>> 3) == (hash >>> 27); }

  @inline get areaPtr(): usize { return changetype<usize>(this) + offsetof<Entry>(); }
  @inline get keyPtr(): usize { return changetype<usize>(this) + offsetof<Entry>() + <usize>this.valCap; }

  /** Is the key [ptr, ptr+len)? (Dict: entries carry no hash, so lengths first, then bytes.) */
  @inline keyEquals(ptr: usize, len: usize): bool {
    return <usize>this.keyLen == len && memory.compare(this.keyPtr, ptr, len) == 0;
  }

  @inline get isInt(): bool { return (this.bits & BIT_INT) != 0; }
  @inline set isInt(on: bool) { this.bits = on ? this.bits | BIT_INT : this.bits & ~BIT_INT; }
  @inline get isRaw(): bool { return (this.bits & BIT_RAW) != 0; }
  @inline set isRaw(on: bool) { this.bits = on ? this.bits | BIT_RAW : this.bits & ~BIT_RAW; }
  @inline get isInline(): bool { return (this.bits & BIT_INLINE) != 0; }
  @inline get linked(): bool { return (this.bits & BIT_LINKED) != 0; }
  @inline set linked(on: bool) { this.bits = on ? this.bits | BIT_LINKED : this.bits & ~BIT_LINKED; }
  @inline get pending(): bool { return (this.bits & BIT_PENDING) != 0; }
  @inline set pending(on: bool) { this.bits = on ? this.bits | BIT_PENDING : this.bits & ~BIT_PENDING; }

  /** An int-encoded string's value (only meaningful when isInt). */
  @inline get intVal(): i64 { return load<i64>(this.areaPtr); }
  @inline set intVal(v: i64) {
    this.dropRef();
    this.bits &= ~BIT_INLINE;
    store<i64>(this.areaPtr, v);
  }

  /**
   * A host-held value's handle (set, zset, stream), 0 for none. A set or zset the kernel
   * holds (set-value.ts, zset-value.ts) has its value object (bit REF) there instead.
   */
  @inline get handle(): i32 {
    return this.type == OBJ_STRING || this.type == OBJ_HASH || this.type == OBJ_LIST || (this.bits & BIT_REF) != 0 ? 0 : load<i32>(this.areaPtr);
  }
  @inline set handle(h: i32) {
    if (this.type == OBJ_STRING || this.type == OBJ_HASH || this.type == OBJ_LIST) return;
    this.dropRef();
    this.bits &= ~BIT_INLINE;
    store<i32>(this.areaPtr, h);
  }

  /** A hash's value: a view of this entry (hash-value.ts), null for another type. */
  @inline get hashVal(): HashValue | null {
    return this.type == OBJ_HASH ? changetype<HashValue>(this) : null;
  }
  /** A hash whose held value object is its HashTable (else a listpack block, or none: empty). */
  @inline get isHashTable(): bool { return (this.bits & BIT_TABLE) != 0; }
  @inline set isHashTable(on: bool) { this.bits = on ? this.bits | BIT_TABLE : this.bits & ~BIT_TABLE; }

  /**
   * A string value's bytes as a buffer of its own (not for an int-encoded value): an
   * inline value is moved out first (see the top of this file).
   */
  get str(): ArrayBuffer | null {
    if (this.type != OBJ_STRING) return null;
    if ((this.bits & BIT_INLINE) != 0) {
      const n = <i32>this.valLen;
      const buf = new ArrayBuffer(n);
      memory.copy(changetype<usize>(buf), this.areaPtr, <usize>n);
      this.bits &= ~BIT_INLINE;
      this.val = buf;
      noteWrite(this); // it holds one more block now
    }
    return this.val;
  }
  set str(buf: ArrayBuffer | null) {
    this.dropRef();
    this.bits &= ~BIT_INLINE;
    this.val = buf;
  }

  /** Where a (not int-encoded) string value's bytes are, wherever they are stored. */
  @inline strPtr(): usize {
    return (this.bits & BIT_INLINE) != 0 ? this.areaPtr : changetype<usize>(this.val);
  }
  @inline strLen(): usize {
    if ((this.bits & BIT_INLINE) != 0) return <usize>this.valLen;
    const v = this.val;
    return v == null ? 0 : <usize>v.byteLength;
  }

  /** Stores bytes as the string value: in the entry when they fit its value area, else in a buffer. */
  setStringBytes(ptr: usize, len: usize): void {
    if (len <= <usize>this.valCap) {
      this.dropRef();
      copySmall(this.areaPtr, ptr, len);
      this.valLen = <u8>len;
      this.bits |= BIT_INLINE;
    } else {
      const buf = new ArrayBuffer(<i32>len);
      memory.copy(changetype<usize>(buf), ptr, len);
      this.dropRef();
      this.bits &= ~BIT_INLINE;
      this.val = buf;
    }
  }

  /** Drops whatever value the entry holds (no handle bookkeeping: see keyspace.ts releaseValue). */
  @inline clearValue(): void {
    this.dropRef();
    this.bits &= ~(BIT_INLINE | BIT_INT);
    store<i64>(this.areaPtr, 0);
  }
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
