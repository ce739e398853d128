// RDB files (rdb.c rdbSaveRio / rdbLoadRio): the whole dataset in Redis's format.
//
//   "REDIS" + 4-digit version | aux fields (0xFA key value) | function libraries (0xF5 code) |
//   per non-empty db: 0xFE db, 0xFB size expires, then per key: [0xFC expire ms]
//   [0xF8 idle | 0xF9 freq] type key object | 0xFF | CRC64 of everything before (LE)
//
// Writing: snapshotRdb reads every shard's keyspace in one synchronous pass (the kernel's
// snapshotDb plus the host's value objects), so the bytes describe one instant; the caller
// may then write them to disk asynchronously. Loading: parseRdb reads and checks the whole
// file (checksum included) before anything is applied, so a corrupt file is refused whole,
// never half-loaded.
import type { Server } from "../server/server.js";
import type { Shard } from "../server/shard.js";
import {
  RdbReader, RdbWriter, RdbFormatError, RdbShortRead, RDB_VERSION,
  RDB_OPCODE_AUX, RDB_OPCODE_EOF, RDB_OPCODE_EXPIRETIME, RDB_OPCODE_EXPIRETIME_MS, RDB_OPCODE_FREQ,
  RDB_OPCODE_FUNCTION, RDB_OPCODE_FUNCTION2, RDB_OPCODE_IDLE, RDB_OPCODE_MODULE_AUX, RDB_OPCODE_RESIZEDB,
  RDB_OPCODE_SELECTDB, RDB_TYPE_STRING,
} from "./rdb-format.js";
import { Crc64 } from "./crc64.js";
import { EmptyKeyError, isObjectType, readObject, type RdbValue } from "./value-codec.js";
import { writeEntryRecord, forEachSnapshotEntry, entryExpireAt, type AccessFields } from "./rdb-entry.js";
import { parseEntry, lfuPolicy, type StoredValue } from "./keyspace-io.js";

export const REDIS_VERSION = "7.0.15";

/** Where function libraries cross RDB files (wired by src/persistence/persistence.ts). */
export const functionsHook: {
  save: (server: Server) => Buffer[];
  /** replace: a library of that name is replaced (DEBUG RELOAD MERGE's RDBFLAGS_ALLOW_DUP). */
  load: (server: Server, code: Buffer, replace?: boolean) => string | null;
  /** Drops every library (emptyData without EMPTYDB_NOFUNCTIONS). */
  clear: (server: Server) => void;
} = { save: () => [], load: () => "functions are not supported", clear: () => {} };

/**
 * Replication's part of an RDB (wired by src/repl/replication.ts): the aux fields
 * repl-stream-db, repl-id and repl-offset an RDB carries when the server is in a replication
 * chain (Redis's rdbPopulateSaveInfo), and, loading at start-up, the history they restore
 * and the DELs for keys found expired (fed to the backlog, as Redis's RDBFLAGS_FEED_REPL).
 */
export const replInfoHook: {
  save: (server: Server) => { streamDb: number; replid: string; offset: number } | null;
  loadBegin: (server: Server) => void;
  expiredAtLoad: (server: Server, db: number, key: Buffer) => void;
  loadEnd: (server: Server, aux: Map<string, string>) => void;
  /**
   * Redis's iAmMaster() when an RDB is loaded: only a master skips keys whose TTL passed; a
   * replica keeps them until its master's DEL (src/repl/replication.ts).
   */
  iAmMaster: (server: Server) => boolean;
} = { save: () => null, loadBegin: () => {}, expiredAtLoad: () => {}, loadEnd: () => {}, iAmMaster: () => true };

/**
 * Active-active replication's part of an RDB (wired by src/replication/active-active.ts,
 * described in src/replication/saved-state.ts): the CRDT state of every key, tombstones
 * included, as aux fields named CRDT_AUX after the keys, read back at start-up. A file without
 * them (real Redis's, an older LatticeKV's, a node without peers) loads as before; Redis
 * ignores aux fields it does not know.
 */
export const CRDT_AUX = "lkv-crdt";
export const crdtStateHook: {
  /** SAVE: the state now, one aux value per piece (none when the node does not replicate). */
  save: (server: Server) => Buffer[];
  /** BGSAVE: the state as of now, encoded a piece per next() call over later turns; release() when done. */
  begin: (server: Server) => { next(): Buffer | null; release(): void } | null;
  /** Start-up load: one CRDT_AUX value. */
  load: (server: Server, value: Buffer) => void;
} = { save: () => [], begin: () => null, load: () => {} };

/** One CRDT_AUX field (after the keys: Redis's loader and ours take aux fields anywhere). */
export function writeCrdtAux(w: RdbWriter, piece: Buffer): void {
  w.u8(RDB_OPCODE_AUX);
  w.string(CRDT_AUX);
  w.string(piece);
}

export interface RdbKey { db: number; key: Buffer; stored: StoredValue }

/**
 * A copy of one shard's entries of db at this instant (the kernel's snapshotDb blob: per key
 * [u32 key length][key][u32 entry length][entry], walked by forEachSnapshotEntry), or null
 * when the shard holds none. Copied: the next kernel call reuses that memory.
 */
export function snapshotBlob(shard: Shard, db: number, now: number): { blob: Uint8Array; dv: DataView } | null {
  const x = shard.kernel.x;
  const n = x.snapshotDb(db, now);
  if (n === 0) return null;
  const p = x.migrateBlobPtr();
  const blob = shard.kernel.mem.slice(p, p + n);
  return { blob, dv: new DataView(blob.buffer, blob.byteOffset, blob.byteLength) };
}

/**
 * Every live key of a db, read at one instant (synchronously); with `expired`, also keys
 * whose TTL has passed but that are not reclaimed yet (an RDB file holds those, as Redis's).
 */
export function* snapshotKeys(server: Server, db: number, expired = false): Generator<{ key: Buffer; stored: StoredValue }> {
  const now = server.now();
  for (const shard of server.shards) {
    const snap = snapshotBlob(shard, db, now);
    if (!snap) continue;
    const { blob, dv } = snap;
    let off = 0;
    while (off < blob.length) {
      const kl = dv.getUint32(off, true);
      const key = Buffer.from(blob.buffer, blob.byteOffset + off + 4, kl);
      off += 4 + kl;
      const el = dv.getUint32(off, true);
      off += 4;
      const stored = parseEntry(blob, off, server.types.registry);
      off += el;
      if (!expired && stored.expireAt >= 0 && stored.expireAt <= now) continue;
      yield { key, stored };
    }
  }
}

/** The file's start: signature, aux fields, function libraries. */
export function writeRdbHeader(w: RdbWriter, server: Server, now: number, functions = true): void {
  w.raw(Buffer.from(`REDIS${String(RDB_VERSION).padStart(4, "0")}`, "latin1"));
  const aux = (k: string, v: string) => { w.u8(RDB_OPCODE_AUX); w.string(k); w.string(v); };
  aux("redis-ver", REDIS_VERSION);
  aux("redis-bits", "64");
  aux("ctime", String(Math.floor(now / 1000)));
  aux("used-mem", String(process.memoryUsage().rss));
  const rsi = replInfoHook.save(server);
  if (rsi) {
    aux("repl-stream-db", String(rsi.streamDb));
    aux("repl-id", rsi.replid);
    aux("repl-offset", String(rsi.offset));
  }
  aux("aof-base", "0");
  if (functions) for (const code of functionsHook.save(server)) { w.u8(RDB_OPCODE_FUNCTION2); w.string(code); }
}

/** Which access field each key carries: IDLE under an LRU policy, FREQ under an LFU one. */
export function accessFields(server: Server): AccessFields {
  const lfu = lfuPolicy(server);
  return { lfu, lru: !lfu && server.config.getString("maxmemory-policy").includes("lru") };
}

/**
 * The RDB file of the server's whole dataset, now; with `crdt` (the node's own dbfilename:
 * SAVE, SHUTDOWN's save) active-active's state of this same moment too (crdtStateHook).
 */
export function snapshotRdb(server: Server, crdt = false): { data: Buffer; keys: number } {
  const w = new RdbWriter(server.config.getBool("rdbcompression"));
  const now = server.now();
  writeRdbHeader(w, server, now);
  const f = accessFields(server);
  const registry = server.types.registry;
  let keys = 0;
  const databases = server.config.getNumber("databases");
  for (let db = 0; db < databases; db++) {
    // Each shard's entries of db, expired ones included (an RDB holds those, as Redis's).
    const blobs: { blob: Uint8Array; dv: DataView }[] = [];
    let size = 0, expires = 0;
    for (const shard of server.shards) {
      const snap = snapshotBlob(shard, db, now);
      if (!snap) continue;
      blobs.push(snap);
      const { blob, dv } = snap;
      forEachSnapshotEntry(blob, dv, (_ko, _kl, at) => { size++; if (entryExpireAt(dv, at) >= 0) expires++; });
    }
    if (size === 0) continue;
    w.u8(RDB_OPCODE_SELECTDB);
    w.len(db);
    w.u8(RDB_OPCODE_RESIZEDB);
    w.len(size);
    w.len(expires);
    for (const { blob, dv } of blobs) {
      forEachSnapshotEntry(blob, dv, (keyOff, keyLen, at) => writeEntryRecord(w, blob, dv, keyOff, keyLen, at, f, now, registry));
    }
    keys += size;
  }
  if (crdt) for (const piece of crdtStateHook.save(server)) writeCrdtAux(w, piece);
  w.u8(RDB_OPCODE_EOF);
  const body = w.take();
  return { data: Buffer.concat([body, new Crc64().update(body).bytesLE()]), keys };
}

export interface ParsedRdb {
  version: number;
  aux: Map<string, string>;
  functions: Buffer[];
  keys: { db: number; key: Buffer; value: RdbValue; expireAt: number; idle: number; freq: number }[];
  /** Keys left out because their value was empty (Redis skips them too). */
  emptyKeys: number;
}

/** One item of an RDB file, in file order (readRdb); `pos` is the reader's offset after it. */
export type RdbRecord =
  | { kind: "aux"; name: string; value: string; pos: number }
  | { kind: "function"; code: Buffer; pos: number }
  | { kind: "key"; key: ParsedRdb["keys"][number]; pos: number }
  | { kind: "empty"; key: Buffer; pos: number }
  /** RESIZEDB: how many keys the db that follows holds (the loader sizes its table for them). */
  | { kind: "resize"; db: number; size: number; pos: number };

/** Reads a whole RDB file; throws RdbFormatError (with Redis's wording where it has one). */
export function parseRdb(buf: Buffer, opts: { checksum: boolean; databases: number }): ParsedRdb {
  const out: ParsedRdb = { version: 0, aux: new Map(), functions: [], keys: [], emptyKeys: 0 };
  const it = readRdb(buf, opts);
  for (let r = it.next(); ; r = it.next()) {
    if (r.done) { out.version = r.value.version; break; }
    const rec = r.value;
    if (rec.kind === "aux") out.aux.set(rec.name, rec.value);
    else if (rec.kind === "function") out.functions.push(rec.code);
    else if (rec.kind === "key") out.keys.push(rec.key);
    else if (rec.kind === "empty") out.emptyKeys++;
  }
  return out;
}

/**
 * The records of an RDB file one at a time (loading at start-up applies them between
 * event-loop turns). The checksum is checked after the last one: a caller that applies
 * records as they come must treat a throw at the end as fatal (start-up exits, as Redis).
 * Returns the file's RDB version and where the RDB ends (an AOF preamble's commands follow).
 */
export function* readRdb(buf: Buffer, opts: { checksum: boolean; databases: number }): Generator<RdbRecord, { version: number; end: number }> {
  const version = readRdbHeader(buf);
  const r = new RdbReader(buf);
  r.pos = 9;
  const st = newRecordState();
  for (;;) {
    const rec = readRdbRecord(r, st, opts);
    if (rec === null) break;
    yield rec;
  }
  if (version >= 5) {
    const stored = r.bytes(8);
    if (opts.checksum) checkRdbChecksum(stored, new Crc64().update(buf, 0, r.pos - 8));
  }
  return { version, end: r.pos };
}

/** The signature and version (the first 9 bytes); throws Redis's errors for a bad one. */
export function readRdbHeader(buf: Buffer): number {
  if (buf.length < 9 || buf.toString("latin1", 0, 5) !== "REDIS") throw new RdbFormatError("Wrong signature trying to load DB from file");
  const version = Number(buf.toString("latin1", 5, 9));
  if (!Number.isInteger(version) || version < 1 || version > RDB_VERSION) {
    throw new RdbFormatError(`Can't handle RDB format version ${buf.toString("latin1", 5, 9)}`);
  }
  return version;
}

/** A reader's position in the file's structure between records: the db, and the next key's prefix fields. */
export interface RdbRecordState { db: number; expireAt: number; idle: number; freq: number }

export function newRecordState(): RdbRecordState { return { db: 0, expireAt: -1, idle: -1, freq: -1 }; }

/**
 * The next record at r.pos (after any SELECTDB/RESIZEDB/expire/access prefixes, which update
 * st), or null at the EOF opcode (r.pos is then at the checksum).
 */
export function readRdbRecord(r: RdbReader, st: RdbRecordState, opts: { databases: number }): RdbRecord | null {
  for (;;) {
    const t = r.u8();
    if (t === RDB_OPCODE_EOF) return null;
    switch (t) {
      case RDB_OPCODE_EXPIRETIME: st.expireAt = r.u32le() * 1000; continue;
      case RDB_OPCODE_EXPIRETIME_MS: st.expireAt = Number(r.i64le()); continue;
      case RDB_OPCODE_FREQ: st.freq = r.u8(); continue;
      case RDB_OPCODE_IDLE: st.idle = r.len(); continue;
      case RDB_OPCODE_SELECTDB:
        st.db = r.len();
        if (st.db >= opts.databases) throw new RdbFormatError(`FATAL: Data file was created with a Redis server configured to handle more than ${opts.databases} databases. Exiting`);
        continue;
      case RDB_OPCODE_RESIZEDB: {
        const size = r.len();
        r.len(); // the expires: ours are not a hash table
        return { kind: "resize", db: st.db, size, pos: r.pos };
      }
      case RDB_OPCODE_AUX: {
        const k = r.string().toString("latin1");
        const v = r.string().toString("latin1");
        return { kind: "aux", name: k, value: v, pos: r.pos };
      }
      case RDB_OPCODE_FUNCTION2: {
        const code = Buffer.from(r.string());
        return { kind: "function", code, pos: r.pos };
      }
      case RDB_OPCODE_FUNCTION: throw new RdbFormatError("Pre-GA function format not supported");
      case RDB_OPCODE_MODULE_AUX: throw new RdbFormatError("The RDB file contains AUX module data I can't load: no matching module");
    }
    if (!isObjectType(t)) throw new RdbFormatError(`Unknown RDB object type ${t}`);
    const offset = r.pos;
    const key = Buffer.from(r.string());
    let rec: RdbRecord;
    try {
      const value = readObject(r, t);
      rec = { kind: "key", key: { db: st.db, key, value, expireAt: st.expireAt, idle: st.idle, freq: st.freq }, pos: r.pos };
    } catch (e) {
      if (!(e instanceof EmptyKeyError)) {
        // A cut-short stream is not corruption: a diskless load waits for more bytes.
        if (e instanceof RdbFormatError && !(e instanceof RdbShortRead)) e.at = { key, rdbType: t, offset };
        throw e;
      }
      rec = { kind: "empty", key, pos: r.pos };
    }
    st.expireAt = -1; st.idle = -1; st.freq = -1;
    return rec;
  }
}

/** Where readPlainStringRecord hands a record: offsets into the reader's buffer (see there). */
export type PlainStringSink = (keyOff: number, keyLen: number, valOff: number, valLen: number, intVal: number, expireAt: number) => void;

/**
 * The RDB load's fast path for its commonest record, a string value under a key stored as
 * plain bytes, with at most an EXPIRETIME_MS before it (what a cache or DEBUG POPULATE saves).
 * When the record at r.pos is one, hands it to `sink` as offsets into r.buf (valOff -1 and
 * intVal when the file stored the value as an integer), moves r.pos past it and returns true.
 * Anything else (another type or prefix, an integer or LZF key, an LZF value, a record cut
 * short) returns false with r.pos untouched, and readRdbRecord reads it with every check and
 * Redis's errors. Nothing is allocated per record: the record objects, key and value Buffers of
 * the general path were most of a million-key load's garbage.
 */
export function readPlainStringRecord(r: RdbReader, sink: PlainStringSink): boolean {
  const buf = r.buf, end = r.end;
  let p = r.pos;
  let expireAt = -1;
  if (p < end && buf[p] === RDB_OPCODE_EXPIRETIME_MS) {
    if (p + 9 > end) return false;
    // The int64 as hi * 2^32 + lo: exact below 2^53, and rounded as Number(bigint) rounds above.
    expireAt = buf.readInt32LE(p + 5) * 4294967296 + buf.readUInt32LE(p + 1);
    p += 9;
  }
  if (p >= end || buf[p] !== RDB_TYPE_STRING) return false;
  p = plainLen(buf, p + 1, end);
  if (p < 0) return false;
  const keyOff = p, keyLen = lenRead;
  p += keyLen;
  if (p >= end) return false;
  let valOff = -1, valLen = 0, intVal = 0;
  const b = buf[p];
  if (b >> 6 === 3) {
    // RDB_ENCVAL: rdbLoadIntegerObject's three widths; LZF goes the general way.
    const enc = b & 0x3f;
    if (enc === 0 && p + 2 <= end) { intVal = buf.readInt8(p + 1); p += 2; }
    else if (enc === 1 && p + 3 <= end) { intVal = buf.readInt16LE(p + 1); p += 3; }
    else if (enc === 2 && p + 5 <= end) { intVal = buf.readInt32LE(p + 1); p += 5; }
    else return false;
  } else {
    p = plainLen(buf, p, end);
    if (p < 0) return false;
    valOff = p;
    valLen = lenRead;
    p += valLen;
    if (p > end) return false;
  }
  sink(keyOff, keyLen, valOff, valLen, intVal, expireAt);
  r.pos = p;
  return true;
}

/** The length plainLen read last (a module variable: no object per call). */
let lenRead = 0;

/**
 * A plain rdbLoadLen at buf[p] (6-, 14- or 32-bit; not an encoded value, not the 64-bit form):
 * sets lenRead and returns the position after it, or -1 (the general reader takes the record).
 */
function plainLen(buf: Buffer, p: number, end: number): number {
  if (p >= end) return -1;
  const b = buf[p];
  const kind = b >> 6;
  if (kind === 0) { lenRead = b & 0x3f; return p + 1; }
  if (kind === 1) { if (p + 2 > end) return -1; lenRead = ((b & 0x3f) << 8) | buf[p + 1]; return p + 2; }
  if (b === 0x80) { if (p + 5 > end) return -1; lenRead = buf.readUInt32BE(p + 1); return p + 5; }
  return -1;
}

/**
 * A whole RDB file's signature, version and checksum, checked without reading its records: a
 * replica checks its master's payload so before it drops its data for it (a payload cut short
 * or damaged on the way fails here and the old data stays).
 */
export function checkRdbFile(buf: Buffer): void {
  const version = readRdbHeader(buf);
  if (version < 5) return;
  if (buf.length < 17) throw new RdbFormatError("unexpected end of data");
  checkRdbChecksum(buf.subarray(buf.length - 8), new Crc64().update(buf, 0, buf.length - 8));
}

/** The stored CRC64 (8 bytes LE) against the computed one; all zeros means "not computed" (rdbchecksum no). */
export function checkRdbChecksum(stored: Buffer, computed: Crc64): void {
  if (stored.every((b) => b === 0)) return;
  if (!computed.bytesLE().equals(stored)) {
    throw new RdbFormatError(`Wrong RDB checksum expected: (${stored.readBigUInt64LE().toString(16)}) got (${computed.value().toString(16)}). Aborting now. RDB CRC error`);
  }
}
