// String commands (t_string.c). Values are stored int-encoded when they are the canonical
// decimal form of an i64, raw bytes otherwise (keyspace/entry.ts).

import {
  argc, argPtr, argLen, argIs, db, getIntOrReply, intArg,
  ERR_SYNTAX, ERR_WRONGTYPE,
} from "./context";
import { defineCommand } from "./table";
import {
  lookupKeyRead, lookupKeyWrite, dbAdd, setStringValue, setExpire, now, addDirty,
} from "../keyspace/keyspace";
import { Entry, OBJ_STRING } from "../keyspace/entry";
import {
  addBulkBuf, addBulkInt, addNullBulk, addOk, addError,
} from "../resp/reply-writer";

export function registerStringCommands(): void {
  defineCommand("get", getCommand);
  defineCommand("set", setCommand);
}

/** Replies with a string entry's value (bulk), whichever way it is encoded. */
export function addReplyStringValue(e: Entry): void {
  if (e.isInt) addBulkInt(e.intVal);
  else addBulkBuf(e.str!);
}

function getCommand(): void {
  const e = lookupKeyRead(db, argPtr(1), argLen(1));
  if (e == null) { addNullBulk(); return; }
  if (e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
  addReplyStringValue(e);
}

const SET_NX: u32 = 1 << 0;
const SET_XX: u32 = 1 << 1;
const SET_GET: u32 = 1 << 2;
const SET_KEEPTTL: u32 = 1 << 3;
const SET_EX: u32 = 1 << 4;
const SET_PX: u32 = 1 << 5;
const SET_EXAT: u32 = 1 << 6;
const SET_PXAT: u32 = 1 << 7;
const SET_ANY_EXPIRE: u32 = SET_EX | SET_PX | SET_EXAT | SET_PXAT;

/** The absolute expiry (ms) SET/GETEX options asked for, after parseExpireOptions. */
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

function setCommand(): void {
  let flags: u32 = 0;
  let expireArg = 0;
  for (let i = 3; i < argc; i++) {
    const hasNext = i + 1 < argc;
    if (argIs(i, "nx") && (flags & SET_XX) == 0) flags |= SET_NX;
    else if (argIs(i, "xx") && (flags & SET_NX) == 0) flags |= SET_XX;
    else if (argIs(i, "get")) flags |= SET_GET;
    else if (argIs(i, "keepttl") && (flags & SET_ANY_EXPIRE) == 0) flags |= SET_KEEPTTL;
    else if (hasNext && (flags & (SET_ANY_EXPIRE | SET_KEEPTTL)) == 0 && argIs(i, "ex")) { flags |= SET_EX; expireArg = ++i; }
    else if (hasNext && (flags & (SET_ANY_EXPIRE | SET_KEEPTTL)) == 0 && argIs(i, "px")) { flags |= SET_PX; expireArg = ++i; }
    else if (hasNext && (flags & (SET_ANY_EXPIRE | SET_KEEPTTL)) == 0 && argIs(i, "exat")) { flags |= SET_EXAT; expireArg = ++i; }
    else if (hasNext && (flags & (SET_ANY_EXPIRE | SET_KEEPTTL)) == 0 && argIs(i, "pxat")) { flags |= SET_PXAT; expireArg = ++i; }
    else { addError(ERR_SYNTAX); return; }
  }
  let expireAt: i64 = -1;
  if (expireArg != 0) {
    if (!getIntOrReply(expireArg)) return;
    const unitSeconds = (flags & (SET_EX | SET_EXAT)) != 0;
    const absolute = (flags & (SET_EXAT | SET_PXAT)) != 0;
    if (!expireAtOrReply(intArg, unitSeconds, absolute, "set")) return;
    expireAt = parsedExpireAt;
  }
  setGeneric(flags, expireAt);
}

function setGeneric(flags: u32, expireAt: i64): void {
  const keyPtr = argPtr(1), keyLen = argLen(1);
  let e = lookupKeyWrite(db, keyPtr, keyLen);
  if ((flags & SET_GET) != 0) {
    if (e != null && e.type != OBJ_STRING) { addError(ERR_WRONGTYPE); return; }
    if (e == null) addNullBulk(); else addReplyStringValue(e);
  }
  if (((flags & SET_NX) != 0 && e != null) || ((flags & SET_XX) != 0 && e == null)) {
    if ((flags & SET_GET) == 0) addNullBulk();
    return;
  }
  if (e == null) e = dbAdd(db, keyPtr, keyLen);
  setStringValue(db, e, argPtr(2), argLen(2), (flags & SET_KEEPTTL) != 0);
  if (expireAt >= 0) setExpire(db, e, expireAt);
  addDirty(1);
  if ((flags & SET_GET) == 0) addOk();
}
