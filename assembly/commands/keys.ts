// Generic key commands (Redis's db.c): DEL, UNLINK, EXISTS, TYPE, TOUCH, RENAME, RENAMENX,
// MOVE, COPY, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB; the ones that walk the table (KEYS, SCAN,
// RANDOMKEY) are in keys-scan.ts, the expiry family in keys-expire.ts. They work on every
// key whatever its type: values the host holds (list, set, zset, stream) are a handle in the
// entry, which moves with the key (RENAME, MOVE) and is released when the key goes.
//
// Expired keys: a lookup deletes a key whose TTL has passed, so single-key commands never
// see one. DBSIZE counts expired keys not yet reclaimed, as Redis's dictSize does.

import { argc, argPtr, argLen, argIs, db, dbIndex, selectDb, ERR_SYNTAX, ERR_NOT_INTEGER, rewriteArg } from "./context";
import { truncateArgv } from "../resp/parser";
import { defineCommand } from "./table";
import {
  dbs, lookupKeyRead, lookupKeyReadNoTouch, lookupKeyWrite, dbAdd, dbAddEntry, dbDelete,
  unlinkEntry, releaseValue, moveValue, swapDbs, emptyDb, setExpire, addDirty, forcePropagation,
  setLazyFreeing, addLazyfreed, resetLazyFreeing, lazyfreeConfig, LAZY_USER_DEL, LAZY_USER_FLUSH,
} from "../keyspace/keyspace";
import { typeName, OBJ_STRING, OBJ_HASH, OBJ_LIST } from "../keyspace/entry";
import { isKernelZset, zsetCloneInto } from "../keyspace/zset-value";
import { isKernelSet, setCloneInto } from "../keyspace/set-value";
import { listOf, listCloneInto } from "../keyspace/list-value";
import { copyBytes } from "../keyspace/hash";
import { registerKeyScanCommands } from "./keys-scan";
import { inClusterMode } from "../cluster/ownership";
import { string2ll, parsedInt } from "../util/number";
import { addInt, addOk, addError, addErrorErr, addStatus } from "../resp/reply-writer";

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
  defineCommand("dbsize", dbsizeCommand);
  defineCommand("flushdb", flushdbCommand);
  defineCommand("flushall", flushallCommand);
  defineCommand("swapdb", swapdbCommand);
  registerKeyScanCommands();
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
  // UNLINK frees large values "in the background" (keyspace.ts lazy free).
  setLazyFreeing(argIs(0, "unlink") || (lazyfreeConfig & LAZY_USER_DEL) != 0);
  // The effect record lists only the keys deleted, as Redis signals only those (WATCH,
  // keyspace notifications' "del"); a missing key's DEL changed nothing.
  let kept = 1;
  const n = argc;
  for (let j = 1; j < n; j++) {
    if (dbDelete(db, argPtr(j), argLen(j))) {
      deleted++;
      if (kept != j) rewriteArg(kept, argPtr(j), argLen(j));
      kept++;
    }
  }
  resetLazyFreeing();
  if (deleted > 0) truncateArgv(kept);
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
  // The new entry gets room for a short string value, so that it stays inside (entry.ts).
  dst = dbAdd(db, argPtr(2), argLen(2), true, src.isInline ? src.strLen() : 0);
  moveValue(src, dst);
  if (expireAt >= 0) setExpire(db, dst, expireAt);
  unlinkEntry(db, src);
  addDirty(1);
  if (nx) addInt(1); else addOk();
}

function moveCommand(): void {
  if (inClusterMode()) { addErrorErr("MOVE is not allowed in cluster mode"); return; }
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
  let dstId = dbIndex;
  let replace = false;
  for (let j = 3; j < argc; j++) {
    if (argIs(j, "replace")) {
      replace = true;
    } else if (argIs(j, "db") && j + 1 < argc) {
      const id = getDbIndexOrReply(j + 1);
      if (id < 0) return;
      dstDb = unchecked(dbs[id]);
      dstId = id;
      j++;
    } else {
      addError(ERR_SYNTAX);
      return;
    }
  }
  if (inClusterMode() && (dbIndex != 0 || dstId != 0)) {
    addErrorErr("Copying to another database is not allowed in cluster mode");
    return;
  }
  if (dstDb === db && sameArg(1, 2)) { addError(ERR_SAME_OBJECT); return; }
  const src = lookupKeyRead(db, argPtr(1), argLen(1));
  if (src == null) { addInt(0); return; }
  const old = lookupKeyWrite(dstDb, argPtr(2), argLen(2));
  if (old != null && !replace) { addInt(0); return; }

  let handle = 0;
  const kernelZset = isKernelZset(src), kernelSet = isKernelSet(src);
  if (src.type != OBJ_STRING && src.type != OBJ_HASH && src.type != OBJ_LIST && !kernelZset && !kernelSet) {
    handle = hostDupHandle(<i32>src.type, src.handle);
    if (handle == 0) { addErrorErr("COPY of a " + typeName(src.type) + " value is not supported yet"); return; }
  }
  if (old != null) {
    unlinkEntry(dstDb, old);
    releaseValue(old);
  }
  const strLen = src.type == OBJ_STRING && !src.isInt ? src.strLen() : 0;
  const dst = dbAdd(dstDb, argPtr(2), argLen(2), true, strLen);
  dst.type = src.type;
  dst.handle = handle;
  if (src.type == OBJ_STRING) {
    dst.isInt = src.isInt;
    dst.isRaw = src.isRaw;
    if (src.isInt) dst.intVal = src.intVal;
    else dst.setStringBytes(src.strPtr(), strLen);
  } else if (src.type == OBJ_HASH) {
    src.hashVal!.cloneInto(dst);
  } else if (src.type == OBJ_LIST) {
    listCloneInto(listOf(src), dst);
  } else if (kernelZset) {
    zsetCloneInto(src, dst);
  } else if (kernelSet) {
    setCloneInto(src, dst);
  }
  if (src.expireAt >= 0) setExpire(dstDb, dst, src.expireAt);
  addDirty(1);
  addInt(1);
}

// ---- DBSIZE / FLUSHDB / FLUSHALL / SWAPDB ---------------------------------------------

function dbsizeCommand(): void {
  addInt(db.dict.size);
}

/** FLUSHDB/FLUSHALL take one optional ASYNC or SYNC (getFlushCommandFlags); both free at once here. */
function flushFlagsOk(): bool {
  if (argc > 2 || (argc == 2 && !argIs(1, "sync") && !argIs(1, "async"))) {
    addError(ERR_SYNTAX);
    return false;
  }
  return true;
}

/**
 * FLUSHDB/FLUSHALL ASYNC, or with no flag under lazyfree-lazy-user-flush (Redis's
 * getFlushCommandFlags): Redis's emptyDbAsync counts every key of the db as lazily freed.
 */
function flushIsAsync(): bool {
  return argc == 2 ? argIs(1, "async") : (lazyfreeConfig & LAZY_USER_FLUSH) != 0;
}

function flushdbCommand(): void {
  if (!flushFlagsOk()) return;
  const removed = emptyDb(db);
  if (flushIsAsync()) addLazyfreed(removed);
  addDirty(removed);
  forcePropagation();
  addOk();
}

function flushallCommand(): void {
  if (!flushFlagsOk()) return;
  let removed: i64 = 0;
  for (let i = 0; i < dbs.length; i++) removed += emptyDb(unchecked(dbs[i]));
  if (flushIsAsync()) addLazyfreed(removed);
  // Redis counts one more so that FLUSHALL propagates even when everything was empty.
  addDirty(removed + 1);
  addOk();
}

function swapdbCommand(): void {
  // Cluster mode has only db 0 (and db 0 alone keeps the per-slot key counts).
  if (inClusterMode()) { addErrorErr("SWAPDB is not allowed in cluster mode"); return; }
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
