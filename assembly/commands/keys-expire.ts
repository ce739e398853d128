// Key expiry commands (Redis's expire.c): EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (with NX XX
// GT LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST. TTLs are absolute unix ms in
// Entry.expireAt (-1: none); `now` is the host's clock for this call.

import {
  argc, argPtr, argLen, argIs, argString, db, getIntOrReply, intArg, rewriteArg, rewriteArgvTo2,
} from "./context";
import { ll2string } from "../util/number";
import { defineCommand } from "./table";
import {
  lookupKeyWrite, lookupKeyReadNoTouch, unlinkEntry, releaseValueAs, setExpire, removeExpire,
  lazyfreeConfig, LAZY_EXPIRE,
  addDirty, now,
  alreadyExpired,
} from "../keyspace/keyspace";
import { addInt, addError, addErrorErr } from "../resp/reply-writer";

export function registerExpireCommands(): void {
  defineCommand("expire", expireCommand);
  defineCommand("pexpire", pexpireCommand);
  defineCommand("expireat", expireatCommand);
  defineCommand("pexpireat", pexpireatCommand);
  defineCommand("ttl", ttlCommand);
  defineCommand("pttl", pttlCommand);
  defineCommand("expiretime", expiretimeCommand);
  defineCommand("pexpiretime", pexpiretimeCommand);
  defineCommand("persist", persistCommand);
}

const EXPIRE_NX: u32 = 1;
const EXPIRE_XX: u32 = 2;
const EXPIRE_GT: u32 = 4;
const EXPIRE_LT: u32 = 8;

function expireCommand(): void { expireGeneric(now, true, "expire"); }
function pexpireCommand(): void { expireGeneric(now, false, "pexpire"); }
function expireatCommand(): void { expireGeneric(0, true, "expireat"); }
function pexpireatCommand(): void { expireGeneric(0, false, "pexpireat"); }

/** Redis's parseExtendedExpireArgumentsOrReply; returns the flags or -1 after replying. */
function parseExpireFlagsOrReply(): i32 {
  let flags: u32 = 0;
  for (let j = 3; j < argc; j++) {
    if (argIs(j, "nx")) flags |= EXPIRE_NX;
    else if (argIs(j, "xx")) flags |= EXPIRE_XX;
    else if (argIs(j, "gt")) flags |= EXPIRE_GT;
    else if (argIs(j, "lt")) flags |= EXPIRE_LT;
    else {
      addError("Unsupported option " + argString(j));
      return -1;
    }
  }
  if ((flags & EXPIRE_NX) != 0 && (flags & (EXPIRE_XX | EXPIRE_GT | EXPIRE_LT)) != 0) {
    addErrorErr("NX and XX, GT or LT options at the same time are not compatible");
    return -1;
  }
  if ((flags & EXPIRE_GT) != 0 && (flags & EXPIRE_LT) != 0) {
    addErrorErr("GT and LT options at the same time are not compatible");
    return -1;
  }
  return <i32>flags;
}

function expireGeneric(basetime: i64, unitSeconds: bool, cmd: string): void {
  const f = parseExpireFlagsOrReply();
  if (f < 0) return;
  const flags = <u32>f;
  if (!getIntOrReply(2)) return;
  let when = intArg;
  // Negative times are allowed (they delete the key); only overflow is an error.
  if (unitSeconds) {
    if (when > i64.MAX_VALUE / 1000 || when < i64.MIN_VALUE / 1000) { invalidExpireTime(cmd); return; }
    when *= 1000;
  }
  if (when > i64.MAX_VALUE - basetime) { invalidExpireTime(cmd); return; }
  when += basetime;

  const e = lookupKeyWrite(db, argPtr(1), argLen(1));
  if (e == null) { addInt(0); return; }
  if (flags != 0) {
    const current = e.expireAt;
    if ((flags & EXPIRE_NX) != 0 && current != -1) { addInt(0); return; }
    if ((flags & EXPIRE_XX) != 0 && current == -1) { addInt(0); return; }
    // No TTL counts as an infinite one: GT never beats it, LT always does.
    if ((flags & EXPIRE_GT) != 0 && (when <= current || current == -1)) { addInt(0); return; }
    if ((flags & EXPIRE_LT) != 0 && current != -1 && when >= current) { addInt(0); return; }
  }
  if (alreadyExpired(when)) {
    // Already in the past (on a replica the key keeps the past TTL: reads hide it): the key is deleted, and recorded as a DEL.
    // Freed and recorded as lazyfree-lazy-expire says (expireGenericCommand: UNLINK or DEL).
    const lazy = (lazyfreeConfig & LAZY_EXPIRE) != 0;
    unlinkEntry(db, e);
    releaseValueAs(e, lazy);
    rewriteArgvTo2(lazy ? UNLINK_NAME : DEL_NAME, 1);
  } else {
    setExpire(db, e, when);
    // Recorded as PEXPIREAT <absolute ms> so that replaying it later gives the same instant.
    rewriteArg(0, changetype<usize>(PEXPIREAT_NAME), <usize>PEXPIREAT_NAME.byteLength);
    rewriteArg(2, whenScratch, ll2string(whenScratch, when));
  }
  addDirty(1);
  addInt(1);
}

const DEL_NAME = String.UTF8.encode("DEL");
const UNLINK_NAME = String.UTF8.encode("UNLINK");
const PEXPIREAT_NAME = String.UTF8.encode("PEXPIREAT");
const whenScratch: usize = heap.alloc(24);

function invalidExpireTime(cmd: string): void {
  addError("invalid expire time in '" + cmd + "' command");
}

function ttlCommand(): void { ttlGeneric(false, false); }
function pttlCommand(): void { ttlGeneric(true, false); }
function expiretimeCommand(): void { ttlGeneric(false, true); }
function pexpiretimeCommand(): void { ttlGeneric(true, true); }

/** -2: no key; -1: no TTL; else the TTL (or absolute time), rounded to seconds unless ms. */
function ttlGeneric(outputMs: bool, outputAbs: bool): void {
  const e = lookupKeyReadNoTouch(db, argPtr(1), argLen(1));
  if (e == null) { addInt(-2); return; }
  if (e.expireAt == -1) { addInt(-1); return; }
  let ttl = outputAbs ? e.expireAt : e.expireAt - now;
  if (ttl < 0) ttl = 0;
  addInt(outputMs ? ttl : (ttl + 500) / 1000);
}

function persistCommand(): void {
  const e = lookupKeyWrite(db, argPtr(1), argLen(1));
  if (e != null && removeExpire(db, e)) {
    addDirty(1);
    addInt(1);
  } else {
    addInt(0);
  }
}
