// The hot sorted-set commands on zsets the kernel holds (Redis 7.0 t_zset.c): ZADD, ZPOPMIN
// and ZPOPMAX on listpack-encoded sets (keyspace/zset-value.ts). The host implements every
// zset command in full (src/commands/zsets.ts); these run here only when the answer is
// certain to be the same, and otherwise decline (context.ts declineToHost) before replying
// or changing anything, so the host runs the command instead:
//   - the key holds a zset the host already has (skiplist-encoded, or moved there);
//   - ZADD would leave the listpack limits (zset-max-listpack-entries / -value: Redis would
//     create or convert to a skiplist), or has INCR (its reply is a double);
//   - ZPOPMIN/ZPOPMAX with a count, or in RESP3, or a popped score %.17g would not print
//     as an integer (only integral scores, ±inf and -0 are formatted here).
// Each handler follows t_zset.c's order of checks, so what it does answer is Redis's answer.
// Effects are Redis's propagation: ZADD's argv as given when it changed something, a pop
// as ZPOPMIN/ZPOPMAX key 1 (genericZpopCommand's rewrite).

import { argc, argPtr, argLen, argIs, db, declineToHost, ERR_WRONGTYPE, ERR_SYNTAX, ERR_NOT_FLOAT } from "./context";
import { appendArg } from "../resp/parser";
import { defineCommand } from "./table";
import { lookupKeyWrite, dbAdd, unlinkEntry, releaseValue, addDirty } from "../keyspace/keyspace";
import { OBJ_ZSET } from "../keyspace/entry";
import {
  isKernelZset, zsetInitIn, zsetCount, zsetFind, zsetInsert, zsetDeleteAt, zsetScoreAt, zsetFirst, zsetLast,
  zsetMemberPtr, zsetMemberLen,
} from "../keyspace/zset-value";
import { addBulk, addBulkInt, addInt, addArrayLen, addEmptyArray, addError, addErrorErr, resp } from "../resp/reply-writer";
import { string2d, parsedDouble } from "../util/number";

export function registerZsetCommands(): void {
  defineCommand("zadd", zaddCommand);
  defineCommand("zpopmin", zpopminCommand);
  defineCommand("zpopmax", zpopmaxCommand);
}

/** zset-max-listpack-entries / -value (CONFIG SET: index.ts setZsetListpackLimits). */
let maxEntries: i64 = 128;
let maxValue: usize = 64;
export function setZsetLimits(entries: i64, value: i64): void {
  maxEntries = entries;
  maxValue = <usize>max<i64>(value, 0);
}

const ONE = String.UTF8.encode("1");
const MINUS_ZERO = String.UTF8.encode("-0");
const INF = String.UTF8.encode("inf");
const MINUS_INF = String.UTF8.encode("-inf");
/** Integral doubles up to 2^53 print under %.17g as their integer digits. */
const EXACT_INT: f64 = 9007199254740992;

/** ZADD's parsed scores (reused). */
const scores = new Array<f64>(0);

// ---- ZADD -----------------------------------------------------------------------------------

function zaddCommand(): void {
  let nx = false, xx = false, ch = false, incr = false, gt = false, lt = false;
  let scoreidx = 2;
  for (; scoreidx < argc; scoreidx++) {
    if (argIs(scoreidx, "nx")) nx = true;
    else if (argIs(scoreidx, "xx")) xx = true;
    else if (argIs(scoreidx, "ch")) ch = true;
    else if (argIs(scoreidx, "incr")) incr = true;
    else if (argIs(scoreidx, "gt")) gt = true;
    else if (argIs(scoreidx, "lt")) lt = true;
    else break;
  }
  let elements = argc - scoreidx;
  if (elements % 2 != 0 || elements == 0) { addError(ERR_SYNTAX); return; }
  elements /= 2;
  if (nx && xx) { addErrorErr("XX and NX options at the same time are not compatible"); return; }
  if ((gt && nx) || (lt && nx) || (gt && lt)) { addErrorErr("GT, LT, and/or NX options at the same time are not compatible"); return; }
  if (incr && elements > 1) { addErrorErr("INCR option supports a single increment-element pair"); return; }
  // INCR replies a double; more pairs than a listpack holds make a skiplist: the host's.
  if (incr || <i64>elements > maxEntries) { declineToHost(); return; }
  scores.length = 0;
  for (let j = 0; j < elements; j++) {
    const i = scoreidx + j * 2;
    if (!string2d(argPtr(i), argLen(i))) { addError(ERR_NOT_FLOAT); return; }
    scores.push(parsedDouble);
  }
  let e = lookupKeyWrite(db, argPtr(1), argLen(1));
  if (e != null) {
    if (e.type != OBJ_ZSET) { addError(ERR_WRONGTYPE); return; }
    if (!isKernelZset(e)) { declineToHost(); return; }
  } else if (xx) {
    addInt(0); // no key + XX: nothing to do
    return;
  }
  // Stay a listpack (zsetTypeCreate, and zsetAdd's conversion check), else the host's.
  let bytes: usize = 0;
  for (let j = 0; j < elements; j++) {
    const l = argLen(scoreidx + 1 + j * 2);
    if (l > maxValue) { declineToHost(); return; }
    bytes += 12 + l;
  }
  const count = e == null ? 0 : <i64>zsetCount(e);
  if (maxEntries == 0 || count + <i64>elements > maxEntries) { declineToHost(); return; }
  if (e == null) {
    e = dbAdd(db, argPtr(1), argLen(1));
    e.type = OBJ_ZSET;
    zsetInitIn(e, bytes);
  }
  let added = 0, updated = 0;
  for (let j = 0; j < elements; j++) {
    const score = unchecked(scores[j]);
    const mp = argPtr(scoreidx + 1 + j * 2), ml = argLen(scoreidx + 1 + j * 2);
    const p = zsetFind(e, mp, ml);
    if (p != 0) {
      if (nx) continue;
      const cur = zsetScoreAt(p);
      if ((lt && score >= cur) || (gt && score <= cur)) continue;
      if (score != cur) {
        // zzlDelete + zzlInsert: the element moves to its new place.
        zsetDeleteAt(e, p);
        zsetInsert(e, score, mp, ml);
        updated++;
      }
    } else if (!xx) {
      zsetInsert(e, score, mp, ml);
      added++;
    }
  }
  if (added + updated > 0) addDirty(<i64>(added + updated));
  addInt(ch ? added + updated : added);
}

// ---- ZPOPMIN / ZPOPMAX ------------------------------------------------------------------------

/** Whether %.17g of d is what writeScore writes. */
@inline function scorePrintsHere(d: f64): bool {
  return (d == Math.floor(d) && Math.abs(d) <= EXACT_INT) || d == Infinity || d == -Infinity;
}

/** addReplyDouble in RESP2 for a score scorePrintsHere accepts. */
function addScore(d: f64): void {
  if (d == Infinity) addBulk(changetype<usize>(INF), 3);
  else if (d == -Infinity) addBulk(changetype<usize>(MINUS_INF), 4);
  else if (d == 0 && 1 / d < 0) addBulk(changetype<usize>(MINUS_ZERO), 2);
  else addBulkInt(<i64>d);
}

function zpopGeneric(popMax: bool): void {
  if (argc > 3) { addError(ERR_SYNTAX); return; }
  // With a count (its parsing, nested RESP3 pairs) or a RESP3 double: the host's.
  if (argc == 3 || resp != 2) { declineToHost(); return; }
  const e = lookupKeyWrite(db, argPtr(1), argLen(1));
  if (e == null) { addEmptyArray(); return; }
  if (e.type != OBJ_ZSET) { addError(ERR_WRONGTYPE); return; }
  if (!isKernelZset(e)) { declineToHost(); return; }
  const p = popMax ? zsetLast(e) : zsetFirst(e);
  const score = zsetScoreAt(p);
  if (!scorePrintsHere(score)) { declineToHost(); return; }
  addArrayLen(2);
  addBulk(zsetMemberPtr(p), zsetMemberLen(p));
  addScore(score);
  zsetDeleteAt(e, p);
  addDirty(1);
  // Propagated as ZPOPMIN/ZPOPMAX key <popped>, as genericZpopCommand rewrites it.
  appendArg(changetype<usize>(ONE), 1);
  if (zsetCount(e) == 0) {
    unlinkEntry(db, e);
    releaseValue(e);
  }
}

function zpopminCommand(): void { zpopGeneric(false); }
function zpopmaxCommand(): void { zpopGeneric(true); }
