// List commands (Redis 7.0 t_list.c): LPUSH RPUSH LPUSHX RPUSHX LINSERT LLEN LINDEX LSET
// LPOP RPOP LRANGE LTRIM LPOS LREM LMOVE RPOPLPUSH LMPOP. The value layout (a quicklist of
// listpack nodes) lives in keyspace/list-value.ts.
//
// Each handler follows t_list.c's order of checks (arguments, then key lookup and type,
// then the change), so the same input gives the same error. Effects are what Redis
// propagates: the argv as given, except LMPOP (rewritten to LPOP/RPOP key count, as
// mpopGenericCommand does) and an LTRIM that trimmed nothing (notified, not propagated).
// The blocking forms (BLPOP, BLMOVE...) stay in the host (src/commands/lists.ts), which
// runs these commands in the kernel to serve a waiting client.

import {
  argc, argPtr, argLen, argIs, db, intArg, rewriteArg, ERR_WRONGTYPE, ERR_SYNTAX, ERR_NOT_INTEGER,
} from "./context";
import { truncateArgv } from "../resp/parser";
import { defineCommand } from "./table";
import { lookupKeyRead, lookupKeyWrite, dbAdd, unlinkEntry, releaseValue, addDirty, forcePropagation } from "../keyspace/keyspace";
import { Entry, OBJ_LIST } from "../keyspace/entry";
import {
  QuickList, listInitIn, listOf, listPush, listPeek, listDropEnd, listLocate, listNext, listPrev,
  listNextLoaded, listDeleteCurrent, listInsertAtCursor, listReplaceCurrent, listDeleteRange, elemPtr, elemLen,
} from "../keyspace/list-value";
import {
  addBulk, addInt, addNullBulk, addNullArray, addOk, addError, addErrorErr, addArrayLen, addEmptyArray,
} from "../resp/reply-writer";
import { string2ll, parsedInt, ll2string } from "../util/number";
import { effectsEnabled, hintNextCommand, HINT_NO_PROPAGATE } from "../effects";

export function registerListCommands(): void {
  defineCommand("lpush", lpushCommand);
  defineCommand("rpush", rpushCommand);
  defineCommand("lpushx", lpushxCommand);
  defineCommand("rpushx", rpushxCommand);
  defineCommand("linsert", linsertCommand);
  defineCommand("llen", llenCommand);
  defineCommand("lindex", lindexCommand);
  defineCommand("lset", lsetCommand);
  defineCommand("lpop", lpopCommand);
  defineCommand("rpop", rpopCommand);
  defineCommand("lrange", lrangeCommand);
  defineCommand("ltrim", ltrimCommand);
  defineCommand("lpos", lposCommand);
  defineCommand("lrem", lremCommand);
  defineCommand("lmove", lmoveCommand);
  defineCommand("rpoplpush", rpoplpushCommand);
  defineCommand("lmpop", lmpopCommand);
}

const LPOP_NAME = String.UTF8.encode("LPOP");
const RPOP_NAME = String.UTF8.encode("RPOP");
// LMPOP's count for the effect (an i64 is at most 20 chars).
const countScratch: usize = heap.alloc(32);

// ---- argument helpers ---------------------------------------------------------------------

let longArg: i64 = 0;

/** getLongFromObjectOrReply. */
function longOrReply(i: i32): bool {
  if (!string2ll(argPtr(i), argLen(i))) { addError(ERR_NOT_INTEGER); return false; }
  longArg = parsedInt;
  return true;
}

/** getRangeLongFromObjectOrReply(min..LONG_MAX) with one message for both failures. */
function longAtLeastOrReply(i: i32, min: i64, msg: string): bool {
  // "COUNT can't be negative" starts with an uppercase word that is no error code: ERR always.
  if (!string2ll(argPtr(i), argLen(i)) || parsedInt < min) { addErrorErr(msg); return false; }
  longArg = parsedInt;
  return true;
}

/** getListPositionFromObjectOrReply: LEFT (true, the head) or RIGHT; else a syntax error. */
let whereHead = false;
function whereOrReply(i: i32): bool {
  if (argIs(i, "left")) { whereHead = true; return true; }
  if (argIs(i, "right")) { whereHead = false; return true; }
  addError(ERR_SYNTAX);
  return false;
}

/** Set by the lookups when they replied WRONGTYPE. */
let wrongType = false;

/** The list at argv[i] for a write: null when absent or of another type (then WRONGTYPE replied). */
function listWrite(i: i32): Entry | null {
  wrongType = false;
  const e = lookupKeyWrite(db, argPtr(i), argLen(i));
  if (e == null) return null;
  if (e.type != OBJ_LIST) { addError(ERR_WRONGTYPE); wrongType = true; return null; }
  return e;
}

function listRead(i: i32): Entry | null {
  wrongType = false;
  const e = lookupKeyRead(db, argPtr(i), argLen(i));
  if (e == null) return null;
  if (e.type != OBJ_LIST) { addError(ERR_WRONGTYPE); wrongType = true; return null; }
  return e;
}

/** A new, empty list under argv[i]. */
function createList(i: i32): Entry {
  const e = dbAdd(db, argPtr(i), argLen(i));
  e.type = OBJ_LIST;
  listInitIn(e);
  return e;
}

/** Removes the key of a list that lost its last element (Redis never keeps empty lists). */
function deleteIfEmpty(e: Entry): void {
  if (listOf(e).count != 0) return;
  unlinkEntry(db, e);
  releaseValue(e);
}

// ---- push ---------------------------------------------------------------------------------

function pushGeneric(head: bool, xx: bool): void {
  let e = listWrite(1);
  if (wrongType) return;
  if (e == null) {
    if (xx) { addInt(0); return; }
    e = createList(1);
  }
  const ql = listOf(e);
  for (let i = 2; i < argc; i++) listPush(ql, head, argPtr(i), argLen(i));
  addDirty(<i64>(argc - 2));
  addInt(ql.count);
}

function lpushCommand(): void { pushGeneric(true, false); }
function rpushCommand(): void { pushGeneric(false, false); }
function lpushxCommand(): void { pushGeneric(true, true); }
function rpushxCommand(): void { pushGeneric(false, true); }

function linsertCommand(): void {
  let after: bool;
  if (argIs(2, "after")) after = true;
  else if (argIs(2, "before")) after = false;
  else { addError(ERR_SYNTAX); return; }
  const e = listWrite(1);
  if (e == null) { if (!wrongType) addInt(0); return; }
  const ql = listOf(e);
  const pp = argPtr(3), pl = argLen(3);
  listLocate(ql, 0);
  let found = false;
  do {
    if (elemLen == pl && memory.compare(elemPtr, pp, pl) == 0) { found = true; break; }
  } while (listNext(ql));
  if (!found) { addInt(-1); return; }
  listInsertAtCursor(ql, after, argPtr(4), argLen(4));
  addDirty(1);
  addInt(ql.count);
}

// ---- reads --------------------------------------------------------------------------------

function llenCommand(): void {
  const e = listRead(1);
  if (e == null) { if (!wrongType) addInt(0); return; }
  addInt(listOf(e).count);
}

function lindexCommand(): void {
  const e = listRead(1);
  if (e == null) { if (!wrongType) addNullBulk(); return; }
  if (!longOrReply(2)) return;
  const ql = listOf(e);
  let i = longArg;
  if (i < 0) i += ql.count;
  if (i < 0 || i >= ql.count) { addNullBulk(); return; }
  listLocate(ql, i);
  addBulk(elemPtr, elemLen);
}

/** addListRangeReply: elements start..end (Redis's index rules), reversed from end when asked. */
function addListRange(ql: QuickList, start: i64, end: i64, reverse: bool): void {
  const llen = ql.count;
  if (start < 0) start += llen;
  if (end < 0) end += llen;
  if (start < 0) start = 0;
  if (start > end || start >= llen) { addEmptyArray(); return; }
  if (end >= llen) end = llen - 1;
  let n = end - start + 1;
  addArrayLen(n);
  listLocate(ql, reverse ? end : start);
  while (true) {
    addBulk(elemPtr, elemLen);
    if (--n == 0) break;
    if (reverse) listPrev(ql); else listNextLoaded(ql);
  }
}

function lrangeCommand(): void {
  if (!longOrReply(2)) return;
  const start = longArg;
  if (!longOrReply(3)) return;
  const end = longArg;
  const e = listRead(1);
  if (e == null) { if (!wrongType) addEmptyArray(); return; }
  addListRange(listOf(e), start, end, false);
}

function lposCommand(): void {
  let rank: i64 = 1, count: i64 = -1, maxlen: i64 = 0;
  for (let j = 3; j < argc; j++) {
    const more = j + 1 < argc;
    if (argIs(j, "rank") && more) {
      if (!longOrReply(++j)) return;
      if (longArg == 0) {
        addErrorErr("RANK can't be zero: use 1 to start from the first match, 2 from the second ... " +
          "or use negative to start from the end of the list");
        return;
      }
      rank = longArg;
    } else if (argIs(j, "count") && more) {
      if (!longAtLeastOrReply(++j, 0, "COUNT can't be negative")) return;
      count = longArg;
    } else if (argIs(j, "maxlen") && more) {
      if (!longAtLeastOrReply(++j, 0, "MAXLEN can't be negative")) return;
      maxlen = longArg;
    } else {
      addError(ERR_SYNTAX);
      return;
    }
  }
  const fromTail = rank < 0;
  if (fromTail) rank = -rank;
  const e = listRead(1);
  if (e == null) {
    if (wrongType) return;
    if (count != -1) addEmptyArray(); else addNullBulk();
    return;
  }
  const ql = listOf(e);
  const llen = ql.count;
  const tp = argPtr(2), tl = argLen(2);
  // Matches are collected first: the reply's length is known only at the end.
  const found = new Array<i64>();
  let matches: i64 = 0;
  let index: i64 = 0;
  listLocate(ql, fromTail ? llen - 1 : 0);
  while (maxlen == 0 || index < maxlen) {
    if (elemLen == tl && memory.compare(elemPtr, tp, tl) == 0) {
      matches++;
      if (matches >= rank) {
        found.push(fromTail ? llen - index - 1 : index);
        if (count == -1) break;
        if (count != 0 && matches - rank + 1 >= count) break;
      }
    }
    index++;
    if (!(fromTail ? listPrev(ql) : listNext(ql))) break;
  }
  if (count != -1) {
    addArrayLen(found.length);
    for (let i = 0; i < found.length; i++) addInt(unchecked(found[i]));
  } else if (found.length > 0) addInt(found[0]);
  else addNullBulk();
}

// ---- writes -------------------------------------------------------------------------------

function lsetCommand(): void {
  const e = listWrite(1);
  if (e == null) { if (!wrongType) addError("no such key"); return; }
  if (!longOrReply(2)) return;
  const ql = listOf(e);
  let i = longArg;
  if (i < 0) i += ql.count;
  if (i < 0 || i >= ql.count) { addError("index out of range"); return; }
  listLocate(ql, i);
  listReplaceCurrent(ql, argPtr(3), argLen(3));
  addDirty(1);
  addOk();
}

/** Replies and removes `n` elements from one end (addListRangeReply + listTypeDelRange). */
function popRangeReply(e: Entry, head: bool, count: i64): i64 {
  const ql = listOf(e);
  const n = count > ql.count ? ql.count : count;
  if (head) addListRange(ql, 0, n - 1, false);
  else addListRange(ql, -n, -1, true);
  listDeleteRange(ql, head, n);
  return n;
}

function popGeneric(head: bool): void {
  if (argc > 3) { addError("wrong number of arguments for '" + (head ? "lpop" : "rpop") + "' command"); return; }
  const hasCount = argc == 3;
  let count: i64 = 0;
  if (hasCount) {
    if (!longAtLeastOrReply(2, 0, "value is out of range, must be positive")) return;
    count = longArg;
  }
  const e = listWrite(1);
  if (e == null) {
    if (!wrongType) { if (hasCount) addNullArray(); else addNullBulk(); }
    return;
  }
  if (hasCount && count == 0) { addEmptyArray(); return; }
  const ql = listOf(e);
  if (!hasCount) {
    listPeek(ql, head);
    addBulk(elemPtr, elemLen);
    listDropEnd(ql, head);
    addDirty(1);
  } else {
    addDirty(popRangeReply(e, head, count));
  }
  deleteIfEmpty(e);
}

function lpopCommand(): void { popGeneric(true); }
function rpopCommand(): void { popGeneric(false); }

function ltrimCommand(): void {
  if (!longOrReply(2)) return;
  let start = longArg;
  if (!longOrReply(3)) return;
  let end = longArg;
  const e = listWrite(1);
  if (e == null) { if (!wrongType) addOk(); return; }
  const ql = listOf(e);
  const llen = ql.count;
  if (start < 0) start += llen;
  if (end < 0) end += llen;
  if (start < 0) start = 0;
  let ltrim: i64, rtrim: i64;
  if (start > end || start >= llen) {
    ltrim = llen;
    rtrim = 0;
  } else {
    if (end >= llen) end = llen - 1;
    ltrim = start;
    rtrim = llen - end - 1;
  }
  listDeleteRange(ql, true, ltrim);
  listDeleteRange(ql, false, rtrim);
  deleteIfEmpty(e);
  // ltrimCommand signals and notifies even when nothing was trimmed; it propagates only a change.
  if (ltrim + rtrim > 0) addDirty(ltrim + rtrim);
  else {
    forcePropagation();
    if (effectsEnabled) hintNextCommand(HINT_NO_PROPAGATE);
  }
  addOk();
}

function lremCommand(): void {
  if (!longOrReply(2)) return;
  let toremove = longArg;
  const e = listWrite(1);
  if (e == null) { if (!wrongType) addInt(0); return; }
  const ql = listOf(e);
  const fromTail = toremove < 0;
  if (fromTail) toremove = -toremove;
  const tp = argPtr(3), tl = argLen(3);
  let removed: i64 = 0;
  listLocate(ql, fromTail ? ql.count - 1 : 0);
  while (true) {
    if (elemLen == tl && memory.compare(elemPtr, tp, tl) == 0) {
      removed++;
      const more = listDeleteCurrent(ql, !fromTail);
      if ((toremove != 0 && removed == toremove) || !more) break;
      continue;
    }
    if (!(fromTail ? listPrev(ql) : listNext(ql))) break;
  }
  if (removed != 0) addDirty(removed);
  deleteIfEmpty(e);
  addInt(removed);
}

// ---- LMOVE / RPOPLPUSH / LMPOP --------------------------------------------------------------

// The moved element, copied out of the source before it is removed (source and destination
// may be the same list, even the same node).
let moveBuf: usize = heap.alloc(64);
let moveCap: usize = 64;

function lmoveGeneric(fromHead: bool, toHead: bool): void {
  const src = listWrite(1);
  if (src == null) { if (!wrongType) addNullBulk(); return; }
  const dst = listWrite(2);
  if (wrongType) return;
  const sql = listOf(src);
  listPeek(sql, fromHead);
  const len = elemLen;
  if (len > moveCap) {
    heap.free(moveBuf);
    moveCap = len;
    moveBuf = heap.alloc(len);
  }
  memory.copy(moveBuf, elemPtr, len);
  listDropEnd(sql, fromHead);
  // lmoveHandlePush: the destination is created when absent (src == dst has an element left).
  let d = dst;
  if (d == null) d = createList(2);
  listPush(listOf(d), toHead, moveBuf, len);
  addBulk(moveBuf, len);
  deleteIfEmpty(src);
  addDirty(1);
}

function lmoveCommand(): void {
  if (!whereOrReply(3)) return;
  const from = whereHead;
  if (!whereOrReply(4)) return;
  lmoveGeneric(from, whereHead);
}

function rpoplpushCommand(): void { lmoveGeneric(false, true); }

/** LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] */
function lmpopCommand(): void {
  if (!longAtLeastOrReply(1, 1, "numkeys should be greater than 0")) return;
  const numkeys = longArg;
  const whereIdx64 = 1 + numkeys + 1;
  if (whereIdx64 >= <i64>argc) { addError(ERR_SYNTAX); return; }
  const whereIdx = <i32>whereIdx64;
  if (!whereOrReply(whereIdx)) return;
  const head = whereHead;
  let count: i64 = -1;
  for (let j = whereIdx + 1; j < argc; j++) {
    if (count == -1 && argIs(j, "count") && j + 1 < argc) {
      if (!longAtLeastOrReply(++j, 1, "count should be greater than 0")) return;
      count = longArg;
    } else {
      addError(ERR_SYNTAX);
      return;
    }
  }
  if (count == -1) count = 1;
  for (let k = 2; k < whereIdx; k++) {
    const e = listWrite(k);
    if (wrongType) return;
    if (e == null) continue;
    addArrayLen(2);
    addBulk(argPtr(k), argLen(k));
    const n = popRangeReply(e, head, count);
    addDirty(n);
    // Propagated as LPOP/RPOP key count (mpopGenericCommand's rewriteClientCommandVector).
    const cl = ll2string(countScratch, n);
    rewriteArg(1, argPtr(k), argLen(k));
    rewriteArg(0, changetype<usize>(head ? LPOP_NAME : RPOP_NAME), 4);
    rewriteArg(2, countScratch, cl);
    truncateArgv(3);
    deleteIfEmpty(e);
    return;
  }
  addNullArray();
}
