// Generic key commands (Redis's db.c): DEL, UNLINK, EXISTS, TYPE, TOUCH, RENAME, RENAMENX,
// MOVE, COPY, RANDOMKEY, KEYS, SCAN, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB. They work on every
// key whatever its type: values the host holds (list, set, zset, stream) are a handle in the
// entry, which moves with the key (RENAME, MOVE) and is released when the key goes.
//
// Expired keys: a lookup deletes a key whose TTL has passed, so single-key commands never
// see one. Commands that walk the table instead (KEYS, SCAN, RANDOMKEY, DBSIZE) behave as
// Redis does with expired-but-not-reclaimed keys: KEYS skips them, SCAN and RANDOMKEY
// delete them as they meet them, DBSIZE counts them.

import {
  argc, argPtr, argLen, argIs, argString, db, dbIndex, selectDb, intArg, getIntOrReply,
  ERR_SYNTAX, ERR_NOT_INTEGER,
} from "./context";
import { defineCommand } from "./table";
import {
  Db, dbs, lookupKeyRead, lookupKeyReadNoTouch, lookupKeyWrite, dbAdd, dbAddEntry, dbDelete,
  unlinkEntry, releaseValue, moveValue, swapDbs, emptyDb, setExpire, keyIsExpired,
  expireIfNeeded, addDirty, random32, forcePropagation,
} from "../keyspace/keyspace";
import { Entry, typeName, OBJ_STRING, OBJ_HASH } from "../keyspace/entry";
import { copyBytes } from "../keyspace/hash";
import { stringmatchlen } from "../util/glob";
import { string2ll, parsedInt } from "../util/number";
import {
  addInt, addOk, addError, addStatus, addArrayLen, addBulk, addBulkBuf, addBulkInt,
  addNullBulk, addErrorErr,
} from "../resp/reply-writer";

export const ERR_NO_SUCH_KEY = "no such key";
export const ERR_SAME_OBJECT = "source and destination objects are the same";
export const ERR_DB_RANGE = "DB index is out of range";

/**
 * Asks the host for an independent copy of a host-held value (COPY of a list, set, zset,
 * stream). Returns the new handle, or 0 when the host cannot copy that type (yet).
 */
@external("env", "dupHandle")
declare function hostDupHandle(type: i32, handle: i32): i32;

export function registerKeyCommands(): void {
  defineCommand("del", delCommand);
  defineCommand("unlink", delCommand);
  defineCommand("exists", existsCommand);
  defineCommand("type", typeCommand);
  defineCommand("touch", touchCommand);
  defineCommand("rename", renameCommand);
  defineCommand("renamenx", renamenxCommand);
  defineCommand("move", moveCommand);
  defineCommand("copy", copyCommand);
  defineCommand("randomkey", randomkeyCommand);
  defineCommand("keys", keysCommand);
  defineCommand("scan", scanCommand);
  defineCommand("dbsize", dbsizeCommand);
  defineCommand("flushdb", flushdbCommand);
  defineCommand("flushall", flushallCommand);
  defineCommand("swapdb", swapdbCommand);
}

/** The value of the last parseI32(); Redis's getIntFromObject (an i64 that fits in an int). */
let parsedI32: i32 = 0;
const PARSE_I32_OK = 0;
const PARSE_I32_NOT_INT = 1;
const PARSE_I32_RANGE = 2;

function parseI32(i: i32): i32 {
  if (!string2ll(argPtr(i), argLen(i))) return PARSE_I32_NOT_INT;
  if (parsedInt < <i64>i32.MIN_VALUE || parsedInt > <i64>i32.MAX_VALUE) return PARSE_I32_RANGE;
  parsedI32 = <i32>parsedInt;
  return PARSE_I32_OK;
}

/** Parses a database index argument (MOVE, COPY DB); replies as Redis does on failure. */
function getDbIndexOrReply(i: i32): i32 {
  const r = parseI32(i);
  if (r == PARSE_I32_NOT_INT) { addError(ERR_NOT_INTEGER); return -1; }
  if (r == PARSE_I32_RANGE) {
    addError("value is out of range, value must between -2147483648 and 2147483647");
    return -1;
  }
  if (parsedI32 < 0 || parsedI32 >= dbs.length) { addErrorErr(ERR_DB_RANGE); return -1; }
  return parsedI32;
}

@inline function sameArg(a: i32, b: i32): bool {
  const len = argLen(a);
  return len == argLen(b) && memory.compare(argPtr(a), argPtr(b), len) == 0;
}

// ---- DEL / UNLINK / EXISTS / TYPE / TOUCH ---------------------------------------------

function delCommand(): void {
  let deleted: i64 = 0;
  for (let j = 1; j < argc; j++) {
    if (dbDelete(db, argPtr(j), argLen(j))) deleted++;
  }
  addDirty(deleted);
  addInt(deleted);
}

function existsCommand(): void {
  let count: i64 = 0;
  for (let j = 1; j < argc; j++) {
    if (lookupKeyReadNoTouch(db, argPtr(j), argLen(j)) != null) count++;
  }
  addInt(count);
}

function typeCommand(): void {
  const e = lookupKeyReadNoTouch(db, argPtr(1), argLen(1));
  addStatus(e == null ? "none" : typeName(e.type));
}

function touchCommand(): void {
  let touched: i64 = 0;
  for (let j = 1; j < argc; j++) {
    if (lookupKeyRead(db, argPtr(j), argLen(j)) != null) touched++;
  }
  addInt(touched);
}

// ---- RENAME / RENAMENX / MOVE / COPY --------------------------------------------------

function renameCommand(): void { renameGeneric(false); }
function renamenxCommand(): void { renameGeneric(true); }

function renameGeneric(nx: bool): void {
  const src = lookupKeyWrite(db, argPtr(1), argLen(1));
  if (src == null) { addError(ERR_NO_SUCH_KEY); return; }
  if (sameArg(1, 2)) {
    if (nx) addInt(0); else addOk();
    return;
  }
  const expireAt = src.expireAt;
  let dst = lookupKeyWrite(db, argPtr(2), argLen(2));
  if (dst != null) {
    if (nx) { addInt(0); return; }
    // Overwrite: the old value goes (its handle is freed), and so does its TTL.
    unlinkEntry(db, dst);
    releaseValue(dst);
  }
  dst = dbAdd(db, argPtr(2), argLen(2));
  moveValue(src, dst);
  if (expireAt >= 0) setExpire(db, dst, expireAt);
  unlinkEntry(db, src);
  addDirty(1);
  if (nx) addInt(1); else addOk();
}

function moveCommand(): void {
  const dstId = getDbIndexOrReply(2);
  if (dstId < 0) return;
  const dstDb = unchecked(dbs[dstId]);
  if (dstDb === db) { addError(ERR_SAME_OBJECT); return; }
  const e = lookupKeyWrite(db, argPtr(1), argLen(1));
  if (e == null) { addInt(0); return; }
  if (lookupKeyWrite(dstDb, argPtr(1), argLen(1)) != null) { addInt(0); return; }
  // The entry object itself moves: same key bytes, value, handle and TTL.
  unlinkEntry(db, e);
  dbAddEntry(dstDb, e);
  addDirty(1);
  addInt(1);
}

function copyCommand(): void {
  let dstDb = db;
  let replace = false;
  for (let j = 3; j < argc; j++) {
    if (argIs(j, "replace")) {
      replace = true;
    } else if (argIs(j, "db") && j + 1 < argc) {
      const id = getDbIndexOrReply(j + 1);
      if (id < 0) return;
      dstDb = unchecked(dbs[id]);
      j++;
    } else {
      addError(ERR_SYNTAX);
      return;
    }
  }
  if (dstDb === db && sameArg(1, 2)) { addError(ERR_SAME_OBJECT); return; }
  const src = lookupKeyRead(db, argPtr(1), argLen(1));
  if (src == null) { addInt(0); return; }
  const old = lookupKeyWrite(dstDb, argPtr(2), argLen(2));
  if (old != null && !replace) { addInt(0); return; }

  let handle = 0;
  if (src.type != OBJ_STRING && src.type != OBJ_HASH) {
    handle = hostDupHandle(<i32>src.type, src.handle);
    if (handle == 0) { addErrorErr("COPY of a " + typeName(src.type) + " value is not supported yet"); return; }
  }
  if (old != null) {
    unlinkEntry(dstDb, old);
    releaseValue(old);
  }
  const dst = dbAdd(dstDb, argPtr(2), argLen(2));
  dst.type = src.type;
  dst.handle = handle;
  if (src.type == OBJ_STRING) {
    dst.isInt = src.isInt;
    dst.isRaw = src.isRaw;
    dst.intVal = src.intVal;
    const s = src.str;
    if (s != null) dst.str = copyBytes(changetype<usize>(s), <usize>s.byteLength);
  } else if (src.type == OBJ_HASH) {
    dst.hashVal = src.hashVal!.clone();
  }
  if (src.expireAt >= 0) setExpire(dstDb, dst, src.expireAt);
  addDirty(1);
  addInt(1);
}

// ---- RANDOMKEY / KEYS / SCAN / DBSIZE ---------------------------------------------------

function randomkeyCommand(): void {
  // Redis's dbRandomKey: an expired pick is deleted and another one drawn.
  while (true) {
    const e = db.dict.random(random32);
    if (e == null) { addNullBulk(); return; }
    if (expireIfNeeded(db, e)) continue;
    addBulkBuf(e.key);
    return;
  }
}

function keysCommand(): void {
  const pat = argPtr(1), patLen = argLen(1);
  const all = patLen == 1 && load<u8>(pat) == 0x2a;
  // A fresh array: KEYS may list millions of keys, and that memory should go back after.
  const entries = new Array<Entry>();
  db.dict.collect(entries);
  let n = 0;
  for (let i = 0; i < entries.length; i++) {
    const e = unchecked(entries[i]);
    if (keyIsExpired(e)) continue;
    if (all || stringmatchlen(pat, patLen, changetype<usize>(e.key), <usize>e.key.byteLength, false)) {
      unchecked(entries[n++] = e);
    }
  }
  addArrayLen(n);
  for (let i = 0; i < n; i++) addBulkBuf(unchecked(entries[i]).key);
}

export let scanCursor: u64 = 0;
/** SCAN's batch (about COUNT entries), reused between calls. */
const scanScratch = new Array<Entry>();

/**
 * Parses a SCAN cursor as Redis's parseScanCursorOrReply (strtoul: optional sign, a
 * leading '-' negates modulo 2^64, no leading space, no trailing bytes, no overflow).
 */
export function parseScanCursorOrReply(i: i32): bool {
  const p = argPtr(i), len = argLen(i);
  let pos: usize = 0;
  let neg = false;
  if (len > 0) {
    const c = load<u8>(p);
    if (c == 0x20 || (c >= 0x09 && c <= 0x0d)) { addError("invalid cursor"); return false; }
    if (c == 0x2d || c == 0x2b) { neg = c == 0x2d; pos = 1; }
  }
  const digitsStart = pos;
  let v: u64 = 0;
  let overflow = false;
  while (pos < len) {
    const d = <u32>load<u8>(p + pos) - 0x30;
    if (d > 9) break;
    if (v > (u64.MAX_VALUE - d) / 10) overflow = true;
    v = v * 10 + d;
    pos++;
  }
  // strtoul with no digits consumes nothing: only the empty string then ends at '\0'.
  const ok = pos == digitsStart ? len == 0 : pos == len;
  if (!ok || overflow) { addError("invalid cursor"); return false; }
  scanCursor = neg ? 0 - v : v;
  return true;
}

function scanCommand(): void {
  if (!parseScanCursorOrReply(1)) return;
  let count: i64 = 10;
  let patPtr: usize = 0, patLen: usize = 0;
  let usePattern = false;
  let typeArg = -1;
  for (let i = 2; i < argc; i += 2) {
    const more = i + 1 < argc;
    if (more && argIs(i, "count")) {
      if (!getIntOrReply(i + 1)) return;
      if (intArg < 1) { addError(ERR_SYNTAX); return; }
      count = intArg;
    } else if (more && argIs(i, "match")) {
      patPtr = argPtr(i + 1);
      patLen = argLen(i + 1);
      usePattern = !(patLen == 1 && load<u8>(patPtr) == 0x2a);
    } else if (more && argIs(i, "type")) {
      typeArg = i + 1;
    } else {
      addError(ERR_SYNTAX);
      return;
    }
  }
  const found = scanScratch;
  found.length = 0;
  let cursor = scanCursor;
  if (db.dict.size > 0) {
    // At most ten times COUNT buckets, so a sparse table cannot stall the server (a COUNT
    // so large that this wraps means "no limit", as in Redis's C).
    let maxIterations = count * 10;
    do {
      cursor = db.dict.scan(cursor, found);
    } while (cursor != 0 && maxIterations-- != 0 && <i64>found.length < count);
  } else {
    cursor = 0;
  }
  let n = 0;
  for (let i = 0; i < found.length; i++) {
    const e = unchecked(found[i]);
    if (usePattern && !stringmatchlen(patPtr, patLen, changetype<usize>(e.key), <usize>e.key.byteLength, false)) continue;
    if (typeArg >= 0) {
      // Redis looks the key up here (which reclaims it if expired: type "none").
      const live = !keyIsExpired(e);
      if (!argIs(typeArg, live ? typeName(e.type) : "none")) {
        if (!live) expireIfNeeded(db, e);
        continue;
      }
    }
    if (expireIfNeeded(db, e)) continue;
    unchecked(found[n++] = e);
  }
  addArrayLen(2);
  addBulkU64(cursor);
  addArrayLen(n);
  for (let i = 0; i < n; i++) addBulkBuf(unchecked(found[i]).key);
  found.length = 0;
}

function addBulkU64(v: u64): void {
  if (v <= <u64>i64.MAX_VALUE) { addBulkInt(<i64>v); return; }
  const s = String.UTF8.encode(v.toString());
  addBulkBuf(s);
}

function dbsizeCommand(): void {
  addInt(db.dict.size);
}

// ---- FLUSHDB / FLUSHALL / SWAPDB ------------------------------------------------------

/** FLUSHDB/FLUSHALL take an optional ASYNC or SYNC; both free at once here. */
function flushFlagsOk(): bool {
  if (argc == 2 && !argIs(1, "sync") && !argIs(1, "async")) {
    addError(ERR_SYNTAX);
    return false;
  }
  return true;
}

function flushdbCommand(): void {
  if (!flushFlagsOk()) return;
  addDirty(emptyDb(db));
  forcePropagation();
  addOk();
}

function flushallCommand(): void {
  if (!flushFlagsOk()) return;
  let removed: i64 = 0;
  for (let i = 0; i < dbs.length; i++) removed += emptyDb(unchecked(dbs[i]));
  // Redis counts one more so that FLUSHALL propagates even when everything was empty.
  addDirty(removed + 1);
  addOk();
}

function swapdbCommand(): void {
  if (parseI32(1) != PARSE_I32_OK) { addError("invalid first DB index"); return; }
  const a = parsedI32;
  if (parseI32(2) != PARSE_I32_OK) { addError("invalid second DB index"); return; }
  const b = parsedI32;
  if (a < 0 || a >= dbs.length || b < 0 || b >= dbs.length) { addErrorErr(ERR_DB_RANGE); return; }
  if (a != b) swapDbs(a, b);
  // The running client's db number now names the other database's contents.
  selectDb(dbIndex);
  addDirty(1);
  addOk();
}
