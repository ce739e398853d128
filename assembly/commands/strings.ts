// String commands (t_string.c). Values are stored int-encoded when they are the canonical
// decimal form of an i64, raw bytes otherwise (keyspace/entry.ts):
//
//   Entry.isInt  true   value is Entry.intVal (Redis's OBJ_ENCODING_INT); str is null
//   Entry.isInt  false  value is the bytes of Entry.str (EMBSTR, or RAW when longer than
//                       44 bytes or Entry.isRaw); str.byteLength is the value's length,
//                       its memory block may hold more (see "growable values")
//
// A command that edits bytes in place (APPEND, SETRANGE) leaves a raw value even when the
// result looks like an integer, as Redis does; INCR/DECR keep an int-encoded value int-encoded
// and never format it. LCS lives in strings-lcs.ts, the bit commands in bitops.ts.

import {
  argc, argPtr, argLen, argIs, db, getIntOrReply, intArg, rewriteArg,
  ERR_SYNTAX, ERR_WRONGTYPE, ERR_NOT_INTEGER, ERR_NOT_FLOAT, ERR_OVERFLOW,
} from "./context";
import { defineCommand, CMD_BARE_BOUNDED } from "./table";
import {
  lookupKeyRead, lookupKeyWrite, dbAdd, dbDelete, setStringValue, storeString, setExpire,
  removeExpire, now, addDirty,
  alreadyExpired, lazyfreeConfig, LAZY_EXPIRE, LAZY_USER_DEL,
} from "../keyspace/keyspace";
import { Entry, OBJ_STRING } from "../keyspace/entry";
import {
  addBulk, addBulkBuf, addBulkInt, addNullBulk, addOk, addError, addInt, addArrayLen, addRawBuf,
  shared,
} from "../resp/reply-writer";
import { protoMaxBulkLen, truncateArgv, appendArg } from "../resp/parser";
import { effectsEnabled, hintNextCommand, intResultNextCommand, HINT_FLOAT_INCR } from "../effects";
import { ll2string, string2ll, parsedInt } from "../util/number";
import { LongDouble, string2ld, parsedLd, ld2string, LD_STR_HUMAN } from "../util/long-double";
import { OBJECT, TOTAL_OVERHEAD, OBJECT_OVERHEAD, OBJECT_MAXSIZE } from "rt/common";
import { registerLcsCommand } from "./strings-lcs";
import { registerBitCommands } from "./bitops";

export function registerStringCommands(): void {
  defineCommand("get", getCommand);
  defineCommand("set", setCommand, CMD_BARE_BOUNDED);
  defineCommand("setnx", setnxCommand);
  defineCommand("setex", setexCommand);
  defineCommand("psetex", psetexCommand);
  defineCommand("getset", getsetCommand);
  defineCommand("getdel", getdelCommand);
  defineCommand("getex", getexCommand);
  defineCommand("mget", mgetCommand);
  defineCommand("mset", msetCommand);
  defineCommand("msetnx", msetnxCommand);
  defineCommand("append", appendCommand);
  defineCommand("strlen", strlenCommand);
  defineCommand("incr", incrCommand);
  defineCommand("decr", decrCommand);
  defineCommand("incrby", incrbyCommand);
  defineCommand("decrby", decrbyCommand);
  defineCommand("incrbyfloat", incrbyfloatCommand);
  defineCommand("setrange", setrangeCommand);
  defineCommand("getrange", getrangeCommand);
  defineCommand("substr", getrangeCommand);
  registerLcsCommand();
  registerBitCommands();
}

// ---- shared helpers -----------------------------------------------------------------------

/** Replies with a string entry's value (bulk), whichever way it is encoded. */
export function addReplyStringValue(e: Entry): void {
  if (e.isInt) addBulkInt(e.intVal);
  else addBulk(e.strPtr(), e.strLen());
}

// Digits of an int-encoded value, for commands that need its bytes (GETRANGE, APPEND...).
const intDigits: usize = heap.alloc(32);

/** Where a string value's bytes are; set by loadStringBytes. Valid until the next call. */
export let valPtr: usize = 0;
export let valLen: usize = 0;

export function loadStringBytes(e: Entry): void {
  if (e.isInt) {
    valPtr = intDigits;
    valLen = ll2string(intDigits, e.intVal);
  } else {
    valPtr = e.strPtr();
    valLen = e.strLen();
  }
}

// ---- growable values ----------------------------------------------------------------------------
// An ArrayBuffer's byteLength is the rtSize in its runtime header, which may be less than
// its memory block holds. Growing values keep spare room that way, like sds strings:
// APPEND, SETRANGE and SETBIT past the end cost amortized O(bytes added) instead of copying
// the whole value each time.

/** Bytes the value's memory block can hold without moving. */
function capacityOf(buf: ArrayBuffer): usize {
  const p = changetype<usize>(buf);
  if (p < __heap_base) return 0; // static data: never written in place
  const obj = changetype<OBJECT>(p - TOTAL_OVERHEAD);
  return (obj.mmInfo & ~3) - OBJECT_OVERHEAD;
}

/** Sets a buffer's byteLength to n, which its block must hold (see capacityOf). */
function setLengthInBlock(buf: ArrayBuffer, n: usize): void {
  changetype<OBJECT>(changetype<usize>(buf) - TOTAL_OVERHEAD).rtSize = <u32>n;
}

/** sdsMakeRoomFor's greedy size: double up to 1MB, then 1MB more. */
function greedySize(len: usize): usize {
  const MB: usize = 1024 * 1024;
  return min(len < MB ? len * 2 : len + MB, OBJECT_MAXSIZE);
}

/**
 * The largest string value: proto-max-bulk-len, but never more than one runtime object
 * can hold (just under 1GB), so that a raised proto-max-bulk-len gives an error reply
 * rather than a failed allocation.
 */
export function maxStringSize(): i64 {
  return min(protoMaxBulkLen, <i64>OBJECT_MAXSIZE);
}

/**
 * Makes e's value raw bytes of length newLen (>= its current length), keeping the bytes and
 * zero-filling the rest; returns where the bytes are. An int-encoded value becomes its text.
 */
export function growStringValue(e: Entry, newLen: usize): usize {
  loadStringBytes(e);
  const oldLen = valLen;
  e.isRaw = true; // edited in place: Redis's unshared copy is RAW
  // A value inside the entry (entry.ts) always moves out to a growable buffer of its own.
  if (!e.isInt && !e.isInline && capacityOf(e.val!) >= newLen) {
    const p = changetype<usize>(e.val!);
    setLengthInBlock(e.val!, newLen);
    memory.fill(p + oldLen, 0, newLen - oldLen);
    return p;
  }
  const buf = new ArrayBuffer(<i32>greedySize(newLen)); // zero-filled
  const p = changetype<usize>(buf);
  memory.copy(p, valPtr, oldLen);
  setLengthInBlock(buf, newLen);
  e.isInt = false;
  e.str = buf;
  return p;
}

/** Length of a string value (STRLEN, SETRANGE on an empty argument). */
export function stringValueLen(e: Entry): i64 {
  if (!e.isInt) return <i64>e.strLen();
  return <i64>ll2string(intDigits, e.intVal);
}

/** checkStringLength: would size+append exceed proto-max-bulk-len (or overflow)? Replies if so. */
export function checkStringLengthOrReply(size: i64, append: i64): bool {
  const total = <i64>(<u64>size + <u64>append);
  if (total > maxStringSize() || total < size || total < append) {
    addError("string exceeds maximum allowed size (proto-max-bulk-len)");
    return false;
  }
  return true;
}

// ---- effect-log rewrites ------------------------------------------------------------------------
// Like Redis's rewriteClientCommandVector: the effect log (replication, AOF) records what a
// command did, so that replaying it later gives the same data: an absolute PXAT instead of
// EX, the INCRBYFLOAT result instead of the increment, DEL for GETDEL. Only done when someone
// listens; the pointers must stay valid until the kernel records the effect (after return).

// Spelled as Redis's shared objects (shared.set, shared.del...): an AOF or a replica's stream
// shows the rewritten commands in capitals, the others as the client sent them.
const NAME_SET = String.UTF8.encode("SET");
const NAME_DEL = String.UTF8.encode("DEL");
const NAME_UNLINK = String.UTF8.encode("UNLINK");
const NAME_PERSIST = String.UTF8.encode("PERSIST");
const NAME_PEXPIREAT = String.UTF8.encode("PEXPIREAT");

/** DEL, or UNLINK when the lazyfree-lazy-* switch `bit` (keyspace.ts LAZY_*) frees it lazily. */
function delName(bit: i32): ArrayBuffer {
  return (lazyfreeConfig & bit) != 0 ? NAME_UNLINK : NAME_DEL;
}
const WORD_PXAT = String.UTF8.encode("PXAT");
const WORD_KEEPTTL = String.UTF8.encode("KEEPTTL");
const rewriteDigits: usize = heap.alloc(32);

/** Sets argument i of the recorded argv (i == argc appends). */
function putArg(i: i32, ptr: usize, len: usize): void {
  if (i < argc) rewriteArg(i, ptr, len);
  else appendArg(ptr, len);
}

function putName(i: i32, name: ArrayBuffer): void {
  putArg(i, changetype<usize>(name), <usize>name.byteLength);
}

/** Records `SET key <value arg> PXAT <ms>` (SET/SETEX/PSETEX with an expire). */
function rewriteAsSetPxat(valueArg: i32, expireAt: i64): void {
  const vPtr = argPtr(valueArg), vLen = argLen(valueArg);
  putName(0, NAME_SET);
  putArg(2, vPtr, vLen);
  putName(3, WORD_PXAT);
  putArg(4, rewriteDigits, ll2string(rewriteDigits, expireAt));
  truncateArgv(5);
}

/** Records `name key` (GETDEL -> DEL, GETEX -> PERSIST/DEL). */
function rewriteAsKeyCommand(name: ArrayBuffer): void {
  putName(0, name);
  truncateArgv(2);
}

/** getGenericCommand: replies with the value or nil; false (WRONGTYPE replied) on a non-string. */
function getGeneric(): bool {
  const e = lookupKeyRead(db, argPtr(1), argLen(1));
  if (e == null) { addNullBulk(); return true; }
  if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return false; }
  addReplyStringValue(e);
  return true;
}

// ---- GET / SET and variants ------------------------------------------------------------------

function getCommand(): void {
  getGeneric();
}

const SET_NX: u32 = 1 << 0;
const SET_XX: u32 = 1 << 1;
const SET_GET: u32 = 1 << 2;
const SET_KEEPTTL: u32 = 1 << 3;
const SET_EX: u32 = 1 << 4;
const SET_PX: u32 = 1 << 5;
const SET_EXAT: u32 = 1 << 6;
const SET_PXAT: u32 = 1 << 7;
const SET_PERSIST: u32 = 1 << 8;
const SET_ANY_EXPIRE: u32 = SET_EX | SET_PX | SET_EXAT | SET_PXAT;

/** The absolute expiry (ms) an EX/PX/EXAT/PXAT argument asked for, after expireAtOrReply. */
export let parsedExpireAt: i64 = -1;

/**
 * Turns an EX/PX/EXAT/PXAT amount into absolute ms, or replies Redis's
 * "invalid expire time in '<cmd>' command" (non-positive or overflowing).
 */
export function expireAtOrReply(amount: i64, unitSeconds: bool, absolute: bool, cmd: string): bool {
  if (amount <= 0 || (unitSeconds && amount > i64.MAX_VALUE / 1000)) {
    addError("invalid expire time in '" + cmd + "' command");
    return false;
  }
  let ms = unitSeconds ? amount * 1000 : amount;
  if (!absolute) {
    if (ms > i64.MAX_VALUE - now) {
      addError("invalid expire time in '" + cmd + "' command");
      return false;
    }
    ms += now;
  }
  parsedExpireAt = ms;
  return true;
}

// parseExtendedStringArgumentsOrReply's results.
let optFlags: u32 = 0;
let optExpireArg: i32 = 0;

/**
 * Parses SET's options (from argv[3]) or GETEX's (from argv[2]) with Redis's rules: each
 * option may follow only compatible ones, and an expire keyword needs a following argument.
 */
function parseExtendedStringArgumentsOrReply(isSet: bool): bool {
  let flags: u32 = 0;
  let expireArg = 0;
  for (let i = isSet ? 3 : 2; i < argc; i++) {
    const hasNext = i + 1 < argc;
    // An expire option excludes the others but may repeat itself (the last one wins).
    const others = SET_ANY_EXPIRE | SET_KEEPTTL | SET_PERSIST;
    if (isSet && argIs(i, "nx") && (flags & SET_XX) == 0) flags |= SET_NX;
    else if (isSet && argIs(i, "xx") && (flags & SET_NX) == 0) flags |= SET_XX;
    else if (isSet && argIs(i, "get")) flags |= SET_GET;
    else if (isSet && argIs(i, "keepttl") && (flags & (SET_ANY_EXPIRE | SET_PERSIST)) == 0) flags |= SET_KEEPTTL;
    else if (!isSet && argIs(i, "persist") && (flags & (SET_ANY_EXPIRE | SET_KEEPTTL)) == 0) flags |= SET_PERSIST;
    else if (hasNext && (flags & (others & ~SET_EX)) == 0 && argIs(i, "ex")) { flags |= SET_EX; expireArg = ++i; }
    else if (hasNext && (flags & (others & ~SET_PX)) == 0 && argIs(i, "px")) { flags |= SET_PX; expireArg = ++i; }
    else if (hasNext && (flags & (others & ~SET_EXAT)) == 0 && argIs(i, "exat")) { flags |= SET_EXAT; expireArg = ++i; }
    else if (hasNext && (flags & (others & ~SET_PXAT)) == 0 && argIs(i, "pxat")) { flags |= SET_PXAT; expireArg = ++i; }
    else { addError(ERR_SYNTAX); return false; }
  }
  optFlags = flags;
  optExpireArg = expireArg;
  return true;
}

/** Reads the expire argument of SET/SETEX/PSETEX/GETEX into parsedExpireAt, or replies. */
function expireArgOrReply(flags: u32, expireArg: i32, cmd: string): bool {
  if (!getIntOrReply(expireArg)) return false;
  const unitSeconds = (flags & (SET_EX | SET_EXAT)) != 0;
  const absolute = (flags & (SET_EXAT | SET_PXAT)) != 0;
  return expireAtOrReply(intArg, unitSeconds, absolute, cmd);
}

function setCommand(): void {
  if (!parseExtendedStringArgumentsOrReply(true)) return;
  let expireAt: i64 = -1;
  if (optExpireArg != 0) {
    if (!expireArgOrReply(optFlags, optExpireArg, "set")) return;
    expireAt = parsedExpireAt;
  }
  setGeneric(optFlags, 2, expireAt, false);
}

function setnxCommand(): void {
  setGeneric(SET_NX, 2, -1, true);
}

function setexCommand(): void {
  if (!expireArgOrReply(SET_EX, 2, "setex")) return;
  setGeneric(SET_EX, 3, parsedExpireAt, false);
}

function psetexCommand(): void {
  if (!expireArgOrReply(SET_PX, 2, "psetex")) return;
  setGeneric(SET_PX, 3, parsedExpireAt, false);
}

/**
 * setGenericCommand: SET with the value in argv[valueArg]. intReply is SETNX's form
 * (:1 / :0 instead of +OK / nil).
 */
function setGeneric(flags: u32, valueArg: i32, expireAt: i64, intReply: bool): void {
  if ((flags & SET_GET) != 0 && !getGeneric()) return;
  const keyPtr = argPtr(1), keyLen = argLen(1);
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  if (((flags & SET_NX) != 0 && e != null) || ((flags & SET_XX) != 0 && e == null)) {
    if ((flags & SET_GET) == 0) {
      if (intReply) addInt(0); else addNullBulk();
    }
    return;
  }
  const keepTtl = (flags & SET_KEEPTTL) != 0;
  if (e == null) {
    e = dbAdd(db, keyPtr, keyLen, true, argLen(valueArg));
    setStringValue(db, e, argPtr(valueArg), argLen(valueArg), keepTtl);
  } else if (!overwriteInPlace(e, argPtr(valueArg), argLen(valueArg), keepTtl)) {
    setStringValue(db, e, argPtr(valueArg), argLen(valueArg), keepTtl);
  }
  if (expireAt >= 0) setExpire(db, e, expireAt);
  addDirty(1);
  if ((flags & SET_GET) == 0) {
    if (intReply) addInt(1); else addOk();
  }
  if (effectsEnabled) {
    if (expireAt >= 0) rewriteAsSetPxat(valueArg, expireAt);
    else if ((flags & SET_GET) != 0) dropGetArgs();
  }
}

/**
 * SET over a raw string whose block already fits the new value (not much bigger) rewrites
 * the bytes in place: no allocation, no garbage. False when the normal path must run.
 */
function overwriteInPlace(e: Entry, ptr: usize, len: usize, keepTtl: bool): bool {
  if (e.type != OBJ_STRING || e.isInt) return false;
  if (e.isInline) {
    // Inside the entry (entry.ts): rewritten there when it fits its value area.
    if (len > <usize>e.valCap) return false;
    if (string2ll(ptr, len)) return false; // a canonical integer is stored int-encoded
    e.setStringBytes(ptr, len);
  } else {
    const buf = e.val;
    if (buf == null) return false;
    const cap = capacityOf(buf);
    if (len > cap || cap - len > max<usize>(len, 32)) return false;
    if (string2ll(ptr, len)) return false; // a canonical integer is stored int-encoded
    const p = changetype<usize>(buf);
    setLengthInBlock(buf, len);
    memory.copy(p, ptr, len);
  }
  e.isRaw = false;
  if (!keepTtl && e.expIdx >= 0) removeExpire(db, e);
  return true;
}

/** SET ... GET is recorded without its GET arguments. */
function dropGetArgs(): void {
  let n = 3;
  for (let j = 3; j < argc; j++) {
    if (argIs(j, "get")) continue;
    rewriteArg(n++, argPtr(j), argLen(j));
  }
  truncateArgv(n);
}

function getsetCommand(): void {
  if (!getGeneric()) return;
  const keyPtr = argPtr(1), keyLen = argLen(1);
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  if (e == null) e = dbAdd(db, keyPtr, keyLen, true, argLen(2));
  setStringValue(db, e, argPtr(2), argLen(2), false);
  addDirty(1);
  if (effectsEnabled) putName(0, NAME_SET);
}

function getdelCommand(): void {
  if (!getGeneric()) return;
  if (dbDelete(db, argPtr(1), argLen(1))) {
    addDirty(1);
    if (effectsEnabled) rewriteAsKeyCommand(delName(LAZY_USER_DEL));
  }
}

function getexCommand(): void {
  if (!parseExtendedStringArgumentsOrReply(false)) return;
  const flags = optFlags, expireArg = optExpireArg;
  const keyPtr = argPtr(1), keyLen = argLen(1);
  const e = lookupKeyRead(db, keyPtr, keyLen);
  if (e == null) { addNullBulk(); return; }
  if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
  // The expire value is checked only once the key is known to be a string (as Redis).
  if (expireArg != 0 && !expireArgOrReply(flags, expireArg, "getex")) return;
  addReplyStringValue(e);
  if ((flags & (SET_EXAT | SET_PXAT)) != 0 && alreadyExpired(parsedExpireAt)) {
    // An absolute time already past deletes the key, as an expiry would.
    dbDelete(db, keyPtr, keyLen);
    addDirty(1);
    if (effectsEnabled) rewriteAsKeyCommand(delName(LAZY_EXPIRE));
  } else if (expireArg != 0) {
    setExpire(db, e, parsedExpireAt);
    addDirty(1);
    if (effectsEnabled) {
      putName(0, NAME_PEXPIREAT);
      putArg(2, rewriteDigits, ll2string(rewriteDigits, parsedExpireAt));
      truncateArgv(3);
    }
  } else if ((flags & SET_PERSIST) != 0) {
    if (removeExpire(db, e)) {
      addDirty(1);
      if (effectsEnabled) rewriteAsKeyCommand(NAME_PERSIST);
    }
  }
}

// ---- multi-key ---------------------------------------------------------------------------------

function mgetCommand(): void {
  addArrayLen(argc - 1);
  for (let j = 1; j < argc; j++) {
    const e = lookupKeyRead(db, argPtr(j), argLen(j));
    if (e == null || e.type != OBJ_STRING) addNullBulk();
    else addReplyStringValue(e);
  }
}

function msetGeneric(nx: bool): void {
  if ((argc & 1) == 0) {
    addError(nx ? "wrong number of arguments for 'msetnx' command" : "wrong number of arguments for 'mset' command");
    return;
  }
  // MSETNX sets nothing (and replies 0) if any key exists.
  if (nx) {
    for (let j = 1; j < argc; j += 2) {
      if (lookupKeyWrite(db, argPtr(j), argLen(j)) != null) { addInt(0); return; }
    }
  }
  for (let j = 1; j < argc; j += 2) {
    const keyPtr = argPtr(j), keyLen = argLen(j);
    let e = lookupKeyWrite(db, keyPtr, keyLen);
    if (e == null) e = dbAdd(db, keyPtr, keyLen, true, argLen(j + 1));
    setStringValue(db, e, argPtr(j + 1), argLen(j + 1), false);
  }
  addDirty(<i64>((argc - 1) >> 1));
  if (nx) addInt(1); else addOk();
}

function msetCommand(): void { msetGeneric(false); }
function msetnxCommand(): void { msetGeneric(true); }

// ---- byte edits ------------------------------------------------------------------------------

function appendCommand(): void {
  const keyPtr = argPtr(1), keyLen = argLen(1);
  const addPtr = argPtr(2), addLen = argLen(2);
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  let total: i64;
  if (e == null) {
    e = dbAdd(db, keyPtr, keyLen, true, addLen);
    storeString(e, addPtr, addLen);
    total = <i64>addLen;
  } else {
    if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
    const oldLen = <usize>stringValueLen(e);
    if (!checkStringLengthOrReply(<i64>oldLen, <i64>addLen)) return;
    // The appended bytes are an argument, never inside the value: safe to copy after growing.
    const p = growStringValue(e, oldLen + addLen);
    memory.copy(p + oldLen, addPtr, addLen);
    total = <i64>(oldLen + addLen);
  }
  addDirty(1);
  addInt(total);
}

function strlenCommand(): void {
  const e = lookupKeyRead(db, argPtr(1), argLen(1));
  if (e == null) { addInt(0); return; }
  if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
  addInt(stringValueLen(e));
}

function setrangeCommand(): void {
  if (!getIntOrReply(2)) return;
  const offset = intArg;
  if (offset < 0) { addError("offset is out of range"); return; }
  const keyPtr = argPtr(1), keyLen = argLen(1);
  const srcPtr = argPtr(3), srcLen = argLen(3);
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  if (e == null) {
    // Setting nothing on a missing key creates nothing.
    if (srcLen == 0) { addInt(0); return; }
    if (!checkStringLengthOrReply(offset, <i64>srcLen)) return;
    const buf = new ArrayBuffer(<i32>(offset + <i64>srcLen)); // zero-filled: the padding
    memory.copy(changetype<usize>(buf) + <usize>offset, srcPtr, srcLen);
    e = dbAdd(db, keyPtr, keyLen);
    e.isInt = false;
    e.isRaw = true;
    e.str = buf;
    addDirty(1);
    addInt(<i64>buf.byteLength);
    return;
  }
  if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
  if (srcLen == 0) { addInt(stringValueLen(e)); return; }
  if (!checkStringLengthOrReply(offset, <i64>srcLen)) return;
  const end = <usize>offset + srcLen;
  const oldLen = <usize>stringValueLen(e);
  const p = growStringValue(e, end > oldLen ? end : oldLen);
  memory.copy(p + <usize>offset, srcPtr, srcLen);
  addDirty(1);
  addInt(<i64>e.strLen());
}

function getrangeCommand(): void {
  if (!getIntOrReply(2)) return;
  let start = intArg;
  if (!getIntOrReply(3)) return;
  let end = intArg;
  const e = lookupKeyRead(db, argPtr(1), argLen(1));
  if (e == null) { addRawBuf(shared.emptybulk); return; }
  if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
  loadStringBytes(e);
  const strlen = <i64>valLen;
  if (start < 0 && end < 0 && start > end) { addRawBuf(shared.emptybulk); return; }
  if (start < 0) start = strlen + start;
  if (end < 0) end = strlen + end;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (<u64>end >= <u64>strlen) end = strlen - 1;
  if (start > end || strlen == 0) { addRawBuf(shared.emptybulk); return; }
  addBulk(valPtr + <usize>start, <usize>(end - start + 1));
}

// ---- counters ----------------------------------------------------------------------------------

/** incrDecrCommand: an int-encoded value is updated in place, with no text round trip. */
function incrDecr(incr: i64): void {
  const keyPtr = argPtr(1), keyLen = argLen(1);
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  let value: i64 = 0;
  if (e != null) {
    if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
    if (e.isInt) {
      value = e.intVal;
    } else {
      if (!string2ll(e.strPtr(), e.strLen())) { addError(ERR_NOT_INTEGER); return; }
      value = parsedInt;
    }
  }
  if ((incr < 0 && value < 0 && incr < i64.MIN_VALUE - value) ||
      (incr > 0 && value > 0 && incr > i64.MAX_VALUE - value)) {
    addError(ERR_OVERFLOW);
    return;
  }
  value += incr;
  if (e == null) e = dbAdd(db, keyPtr, keyLen);
  e.isInt = true;
  e.isRaw = false;
  e.intVal = value;
  e.str = null;
  addDirty(1);
  addInt(value);
  if (effectsEnabled) intResultNextCommand(value);
}

function incrCommand(): void { incrDecr(1); }
function decrCommand(): void { incrDecr(-1); }

function incrbyCommand(): void {
  if (!getIntOrReply(2)) return;
  incrDecr(intArg);
}

function decrbyCommand(): void {
  if (!getIntOrReply(2)) return;
  // Negating i64.MIN_VALUE would overflow.
  if (intArg == i64.MIN_VALUE) { addError("decrement would overflow"); return; }
  incrDecr(-intArg);
}

// INCRBYFLOAT result text (ld2string LD_STR_HUMAN is at most ~5000 chars for huge values).
let floatOut: usize = heap.alloc(64);
let floatOutCap: usize = 64;

/**
 * incrbyfloatCommand: Redis adds in x87 long double (64-bit mantissa) and prints with
 * %.17Lf, trailing zeros trimmed; util/long-double.ts reproduces both exactly so that
 * results match Redis digit for digit (0.1+0.2 is "0.3", not "0.30000000000000004").
 */
function incrbyfloatCommand(): void {
  const keyPtr = argPtr(1), keyLen = argLen(1);
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  let value = LongDouble.zero();
  if (e != null) {
    if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
    if (e.isInt) {
      value = LongDouble.fromI64(e.intVal);
    } else {
      if (!string2ld(e.strPtr(), e.strLen())) { addError(ERR_NOT_FLOAT); return; }
      value = parsedLd;
    }
  }
  if (!string2ld(argPtr(2), argLen(2))) { addError(ERR_NOT_FLOAT); return; }
  const sum = value.add(parsedLd);
  if (sum.isNaN() || sum.isInf()) { addError("increment would produce NaN or Infinity"); return; }
  const text = ld2string(sum, LD_STR_HUMAN);
  const n = <usize>String.UTF8.byteLength(text);
  if (n > floatOutCap) {
    heap.free(floatOut);
    floatOutCap = n;
    floatOut = heap.alloc(n);
  }
  String.UTF8.encodeUnsafe(changetype<usize>(text), text.length, floatOut);
  if (e == null) e = dbAdd(db, keyPtr, keyLen, true, n);
  // Redis stores the formatted text as a plain string object (not int-encoded).
  e.isInt = false;
  e.isRaw = false;
  e.setStringBytes(floatOut, n);
  addDirty(1);
  addBulk(floatOut, n);
  // Recorded as SET key <result> KEEPTTL: replaying never depends on float rounding.
  if (effectsEnabled) {
    hintNextCommand(HINT_FLOAT_INCR);
    putName(0, NAME_SET);
    putArg(2, floatOut, n);
    putName(3, WORD_KEEPTTL);
  }
}
