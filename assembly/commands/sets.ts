// The hot set commands on small sets the kernel holds (Redis 7.0 t_set.c): SADD, SREM,
// SISMEMBER, SMISMEMBER, SCARD, SMEMBERS, SPOP and SRANDMEMBER without a count, and SSCAN of
// an intset (keyspace/set-value.ts).
// The host implements every set command in full (src/commands/sets.ts); these run here only
// when the answer is the host's, and otherwise decline (context.ts declineToHost) before
// replying or changing anything:
//   - the key holds a set the host has (a big one, or one moved there);
//   - SADD would take the set past KERNEL_SET_MAX members or add a member longer than
//     KERNEL_SET_MAX_BYTES (the host then takes the set);
//   - SPOP or SRANDMEMBER with a count, SMEMBERS in RESP3 (a set reply type), SSCAN of a
//     hashtable-encoded set (its cursor walks the host's table).
// A read that declines has counted no keyspace hit or miss (the host counts it).
// Effects are what the host propagates: SADD/SREM as given when they changed something, SPOP
// as SREM key member.

import { argc, argPtr, argLen, argIs, db, declineToHost, rewriteArg, ERR_WRONGTYPE, ERR_SYNTAX, getIntOrReply, intArg } from "./context";
import { parseScanCursorOrReply, parseScanOptionsOrReply, scanPattern, addScanHeader, emptyScan } from "./hashes";
import { stringmatchlen } from "../util/glob";
import { appendArg } from "../resp/parser";
import { defineCommand } from "./table";
import { lookupKeyRead, lookupKeyWrite, dbAdd, unlinkEntry, releaseValue, addDirty, random32 } from "../keyspace/keyspace";
import { Entry, OBJ_SET } from "../keyspace/entry";
import { hashBytes } from "../keyspace/hash";
import {
  isKernelSet, setInitIn, setCount, setIsIntset, intAt, intsetSearch, intsetInsertAt, intsetDeleteAt,
  htFind, htNth, htAppend, htDeleteAt, setToHashtable, memberLen, memberPtr, nextMember, setMembersStart,
  KERNEL_SET_MAX, KERNEL_SET_MAX_BYTES,
} from "../keyspace/set-value";
import { addBulk, addBulkInt, addInt, addArrayLen, addNullBulk, addError, addRawBuf, resp } from "../resp/reply-writer";
import { string2ll, parsedInt, ll2string } from "../util/number";
import { hintNextCommand, HINT_SPOP } from "../effects";

export function registerSetCommands(): void {
  defineCommand("sadd", saddCommand);
  defineCommand("srem", sremCommand);
  defineCommand("sismember", sismemberCommand);
  defineCommand("smismember", smismemberCommand);
  defineCommand("scard", scardCommand);
  defineCommand("smembers", smembersCommand);
  defineCommand("spop", spopCommand);
  defineCommand("srandmember", srandmemberCommand);
  defineCommand("sscan", sscanCommand);
}

/** set-max-intset-entries (CONFIG SET: index.ts setSetIntsetLimit). */
let maxIntset: i64 = 512;
export function setMaxIntsetEntries(n: i64): void { maxIntset = n; }

const SREM_NAME = String.UTF8.encode("SREM");
/** SPOP's popped member, kept for its SREM effect until the command returns. */
let popScratch: usize = heap.alloc(KERNEL_SET_MAX_BYTES + 24);

/** Set by the lookups: WRONGTYPE replied, or the host must run the command (declined). */
let stop = false;

/** The set at argv[i] for a write: null when absent; stop when WRONGTYPE or host-held. */
function setWrite(i: i32): Entry | null {
  stop = false;
  const e = lookupKeyWrite(db, argPtr(i), argLen(i));
  if (e == null) return null;
  if (e.type != OBJ_SET) { addError(ERR_WRONGTYPE); stop = true; return null; }
  if (!isKernelSet(e)) { declineToHost(); stop = true; return null; }
  return e;
}

/** For a read: a host-held set declines before the lookup counts a hit (the host counts it). */
function setRead(i: i32): Entry | null {
  stop = false;
  const p = argPtr(i), l = argLen(i);
  const peek = db.dict.find(p, l, hashBytes(p, l));
  if (peek != null && peek.type == OBJ_SET && !isKernelSet(peek)) { declineToHost(); stop = true; return null; }
  const e = lookupKeyRead(db, p, l);
  if (e == null) return null;
  if (e.type != OBJ_SET) { addError(ERR_WRONGTYPE); stop = true; return null; }
  return e;
}

/** isIntsetMember: what Redis's string2ll accepts (the value in parsedInt). */
@inline function intMember(p: usize, l: usize): bool { return string2ll(p, l); }

function isMember(e: Entry, p: usize, l: usize): bool {
  if (setIsIntset(e)) return intMember(p, l) && intsetSearch(e, parsedInt) >= 0;
  return htFind(e, p, l) != 0;
}

// ---- SADD / SREM ------------------------------------------------------------------------------

function saddCommand(): void {
  let e = setWrite(1);
  if (stop) return;
  const n = argc - 2;
  let bytes: usize = 0;
  for (let j = 2; j < argc; j++) {
    const l = argLen(j);
    if (l > KERNEL_SET_MAX_BYTES) { declineToHost(); return; }
    bytes += 4 + l;
  }
  if ((e == null ? 0 : setCount(e)) + n > KERNEL_SET_MAX) { declineToHost(); return; }
  if (e == null) {
    // setTypeCreate: an intset when the first member is an integer.
    e = dbAdd(db, argPtr(1), argLen(1));
    e.type = OBJ_SET;
    setInitIn(e, intMember(argPtr(2), argLen(2)), bytes);
  }
  let added = 0;
  for (let j = 2; j < argc; j++) {
    const p = argPtr(j), l = argLen(j);
    if (setIsIntset(e)) {
      if (intMember(p, l)) {
        const at = intsetSearch(e, parsedInt);
        if (at >= 0) continue;
        intsetInsertAt(e, -at - 1, parsedInt);
        added++;
        if (<i64>setCount(e) > maxIntset) setToHashtable(e);
        continue;
      }
      setToHashtable(e);
    }
    if (htFind(e, p, l) != 0) continue;
    htAppend(e, p, l);
    added++;
  }
  if (added > 0) addDirty(<i64>added);
  addInt(added);
}

function sremCommand(): void {
  const e = setWrite(1);
  if (stop) return;
  if (e == null) { addInt(0); return; }
  let deleted = 0;
  for (let j = 2; j < argc; j++) {
    const p = argPtr(j), l = argLen(j);
    if (setIsIntset(e)) {
      if (!intMember(p, l)) continue;
      const at = intsetSearch(e, parsedInt);
      if (at < 0) continue;
      intsetDeleteAt(e, at);
    } else {
      const q = htFind(e, p, l);
      if (q == 0) continue;
      htDeleteAt(e, q);
    }
    deleted++;
    if (setCount(e) == 0) break;
  }
  deleteIfEmpty(e);
  if (deleted > 0) addDirty(<i64>deleted);
  addInt(deleted);
}

function deleteIfEmpty(e: Entry): void {
  if (setCount(e) != 0) return;
  unlinkEntry(db, e);
  releaseValue(e);
}

// ---- reads ------------------------------------------------------------------------------------

function sismemberCommand(): void {
  const e = setRead(1);
  if (stop) return;
  addInt(e != null && isMember(e, argPtr(2), argLen(2)) ? 1 : 0);
}

function smismemberCommand(): void {
  const e = setRead(1);
  if (stop) return;
  addArrayLen(argc - 2);
  for (let j = 2; j < argc; j++) addInt(e != null && isMember(e, argPtr(j), argLen(j)) ? 1 : 0);
}

function scardCommand(): void {
  const e = setRead(1);
  if (stop) return;
  addInt(e == null ? 0 : setCount(e));
}

function smembersCommand(): void {
  if (resp != 2) { declineToHost(); return; } // RESP3's set reply: the host's
  const e = setRead(1);
  if (stop) return;
  if (e == null) { addArrayLen(0); return; }
  const n = setCount(e);
  addArrayLen(n);
  if (setIsIntset(e)) {
    for (let i = 0; i < n; i++) addBulkInt(intAt(e, i));
  } else {
    let p = setMembersStart(e);
    for (let i = 0; i < n; i++) { addBulk(memberPtr(p), memberLen(p)); p = nextMember(p); }
  }
}

/**
 * SRANDMEMBER key: a member picked uniformly, as SPOP picks it (the host's SetValue.random
 * does the same over its member array). With a count it is the host's (its sampling cases
 * and reply order are srandmemberWithCountCommand's).
 */
function srandmemberCommand(): void {
  if (argc > 3) { addError(ERR_SYNTAX); return; }
  if (argc == 3) { declineToHost(); return; }
  const e = setRead(1);
  if (stop) return;
  if (e == null) { addNullBulk(); return; }
  const i = <i32>(random32() % <u32>setCount(e));
  if (setIsIntset(e)) addBulkInt(intAt(e, i));
  else { const p = htNth(e, i); addBulk(memberPtr(p), memberLen(p)); }
}

// ---- SPOP -------------------------------------------------------------------------------------

function spopCommand(): void {
  if (argc > 3) { addError(ERR_SYNTAX); return; }
  if (argc == 3) { declineToHost(); return; } // SPOP key count: the host's
  const e = setWrite(1);
  if (stop) return;
  if (e == null) { addNullBulk(); return; }
  const n = setCount(e);
  const i = <i32>(random32() % <u32>n);
  let len: usize;
  if (setIsIntset(e)) {
    len = ll2string(popScratch, intAt(e, i));
    intsetDeleteAt(e, i);
  } else {
    const p = htNth(e, i);
    len = memberLen(p);
    memory.copy(popScratch, memberPtr(p), len);
    htDeleteAt(e, p);
  }
  addBulk(popScratch, len);
  addDirty(1);
  // Propagated as SREM key member (spopCommand's rewrite), notified as "spop".
  rewriteArg(0, changetype<usize>(SREM_NAME), 4);
  hintNextCommand(HINT_SPOP);
  appendArg(popScratch, len);
  deleteIfEmpty(e);
}

// ---- SSCAN (sscanCommand + scanGenericCommand's intset branch) -------------------------------

/**
 * SSCAN key cursor [MATCH pattern] [COUNT count] on an intset: every member in one reply
 * whatever the cursor, cursor 0, MATCH on the members' decimal form, in Redis's order of
 * checks (the cursor's errors, the lookup, then the options'). A hashtable-encoded set is the
 * host's, whose cursor walks its own table: declined before the lookup counts a hit.
 */
function sscanCommand(): void {
  if (!parseScanCursorOrReply(2)) return;
  const kp = argPtr(1), kl = argLen(1);
  const peek = db.dict.find(kp, kl, hashBytes(kp, kl));
  if (peek != null && peek.type == OBJ_SET && (!isKernelSet(peek) || !setIsIntset(peek))) { declineToHost(); return; }
  const e = setRead(1);
  if (stop) return;
  if (e == null) { addRawBuf(emptyScan); return; }
  // The count only bounds a walk; one reply holds everything here.
  if (!parseScanOptionsOrReply()) return;
  const patArg = scanPattern;
  const n = setCount(e);
  scanKept.length = 0;
  for (let j = 0; j < n; j++) {
    const v = intAt(e, j);
    if (patArg >= 0) {
      const len = ll2string(scanDigits, v);
      if (!stringmatchlen(argPtr(patArg), argLen(patArg), scanDigits, len, false)) continue;
    }
    scanKept.push(v);
  }
  addScanHeader(0, scanKept.length);
  for (let j = 0; j < scanKept.length; j++) addBulkInt(unchecked(scanKept[j]));
}
const scanKept = new Array<i64>(0);
const scanDigits: usize = heap.alloc(24);
