// The hot sorted-set commands on zsets the kernel holds (Redis 7.0 t_zset.c): ZADD, ZPOPMIN,
// ZPOPMAX, ZREM, ZREMRANGEBYSCORE, ZREMRANGEBYRANK, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK,
// ZCOUNT, ZINCRBY, the ranges by rank, by score and by lex (ZRANGEBYLEX, ZREVRANGEBYLEX,
// ZRANGE BYLEX, ZLEXCOUNT, ZREMRANGEBYLEX) on listpack-encoded sets
// (keyspace/zset-value.ts). The host implements every zset command in full
// (src/commands/zsets.ts); these run here only when the answer is certain to be the same,
// and otherwise decline (context.ts declineToHost) before replying
// or changing anything, so the host runs the command instead:
//   - the key holds a zset the host already has (skiplist-encoded, or moved there);
//   - ZADD would leave the listpack limits (zset-max-listpack-entries / -value: Redis would
//     create or convert to a skiplist);
//   - any reply with a score in RESP3 (a double type; RESP2's bulk %.17g is written here, the
//     digits of a fractional score by the host's formatter: addScore);
//   - ZADD INCR / ZINCRBY whose new score would be -0: decided before anything changes;
//   - ZPOPMIN/ZPOPMAX with a count that is not a plain non-negative integer;
//   - ZRANGE with REV/LIMIT and neither BYSCORE nor BYLEX; Z[REV]RANGEBYSCORE / ZRANGE BYSCORE
//     with a bound that is not a plain decimal or ±inf, or a negative LIMIT offset
//     (zrangeByScore); a lex range item Redis rejects (its error is the host's), BYLEX with
//     WITHSCORES, or a negative LIMIT offset (zrangeByLex).
// A read that declines has counted no keyspace hit or miss (the host counts it).
// Each handler follows t_zset.c's order of checks, so what it does answer is Redis's answer.
// Effects are Redis's propagation: ZADD's argv as given when it changed something, a pop
// as ZPOPMIN/ZPOPMAX key <popped> (as the host's genericZpop).

import { argc, argPtr, argLen, argIs, db, declineToHost, rewriteArg, ERR_WRONGTYPE, ERR_SYNTAX, ERR_NOT_FLOAT } from "./context";
import { appendArg } from "../resp/parser";
import { defineCommand } from "./table";
import { lookupKeyRead, lookupKeyWrite, dbAdd, unlinkEntry, releaseValue, addDirty } from "../keyspace/keyspace";
import { Entry } from "../keyspace/entry";
import { hashBytes } from "../keyspace/hash";
import { string2ll, parsedInt, ll2string } from "../util/number";
import { OBJ_ZSET } from "../keyspace/entry";
import {
  isKernelZset, zsetInitIn, zsetCount, zsetFind, zsetInsert, zsetDeleteAt, zsetScoreAt, zsetFirst, zsetLast,
  zsetMemberPtr, zsetMemberLen, zsetNextAt, zsetEnd, zsetDeleteRun,
} from "../keyspace/zset-value";
import { addBulk, addBulkInt, addInt, addArrayLen, addEmptyArray, addError, addErrorErr, addNullBulk, resp } from "../resp/reply-writer";
import { ERR_NOT_INTEGER, getIntOrReply, intArg } from "./context";
import { parseScanCursorOrReply, parseScanOptionsOrReply, scanPattern, addScanHeader, emptyScan } from "./hashes";
import { stringmatchlen } from "../util/glob";
import { addRawBuf } from "../resp/reply-writer";
import { string2d, parsedDouble, plainDecimal } from "../util/number";

export function registerZsetCommands(): void {
  defineCommand("zadd", zaddCommand);
  defineCommand("zincrby", zincrbyCommand);
  defineCommand("zpopmin", zpopminCommand);
  defineCommand("zpopmax", zpopmaxCommand);
  defineCommand("zrem", zremCommand);
  defineCommand("zcard", zcardCommand);
  defineCommand("zscore", zscoreCommand);
  defineCommand("zmscore", zmscoreCommand);
  defineCommand("zrange", zrangeCommand);
  defineCommand("zrevrange", zrevrangeCommand);
  defineCommand("zrank", zrankCommand);
  defineCommand("zrevrank", zrevrankCommand);
  defineCommand("zcount", zcountCommand);
  defineCommand("zremrangebyscore", zremrangebyscoreCommand);
  defineCommand("zremrangebyrank", zremrangebyrankCommand);
  defineCommand("zrangebyscore", zrangebyscoreCommand);
  defineCommand("zrevrangebyscore", zrevrangebyscoreCommand);
  defineCommand("zrangebylex", zrangebylexCommand);
  defineCommand("zrevrangebylex", zrevrangebylexCommand);
  defineCommand("zlexcount", zlexcountCommand);
  defineCommand("zremrangebylex", zremrangebylexCommand);
  defineCommand("zscan", zscanCommand);
}

/** zset-max-listpack-entries / -value (CONFIG SET: index.ts setZsetListpackLimits). */
let maxEntries: i64 = 128;
let maxValue: usize = 64;
export function setZsetLimits(entries: i64, value: i64): void {
  maxEntries = entries;
  maxValue = <usize>max<i64>(value, 0);
}

const ONE = String.UTF8.encode("1");
const INF = String.UTF8.encode("inf");
const MINUS_INF = String.UTF8.encode("-inf");
/** Integral doubles up to 2^53 print under %.17g as their integer digits. */
const EXACT_INT: f64 = 9007199254740992;

/** ZADD's parsed scores (reused). */
const scores = new Array<f64>(0);
/** ZADD INCR's increment as parsed (-0 kept: a new member's reply prints it). */
let increment: f64 = 0;

// ---- ZADD, ZINCRBY ----------------------------------------------------------------------------

/**
 * zaddGenericCommand: ZINCRBY is ZADD with INCR (zincrbyCommand passes ZADD_IN_INCR), and
 * takes the same options: `ZINCRBY k nx m` reads nx as one, then fails on the odd pair count.
 */
function zaddCommand(): void { zaddGeneric(false); }
function zincrbyCommand(): void { zaddGeneric(true); }

function zaddGeneric(incr: bool): void {
  let nx = false, xx = false, ch = false, gt = false, lt = false;
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
  // More pairs than a listpack holds make a skiplist: the host's. INCR in RESP3 replies a
  // double (",5"): the host's too.
  if (<i64>elements > maxEntries || (incr && resp != 2)) { declineToHost(); return; }
  scores.length = 0;
  for (let j = 0; j < elements; j++) {
    const i = scoreidx + j * 2;
    if (!string2d(argPtr(i), argLen(i))) { addError(ERR_NOT_FLOAT); return; }
    increment = parsedDouble;
    // -0 is stored as 0, as a listpack gives it back (zset-value.ts).
    scores.push(parsedDouble == 0 ? 0 : parsedDouble);
  }
  let e = lookupKeyWrite(db, argPtr(1), argLen(1));
  if (e != null) {
    if (e.type != OBJ_ZSET) { addError(ERR_WRONGTYPE); return; }
    if (!isKernelZset(e)) { declineToHost(); return; }
  } else if (xx) {
    // No key + XX: nothing to do (INCR replies a null).
    if (incr) addNullBulk(); else addInt(0);
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
  if (incr) { zaddIncr(e, nx, xx, gt, lt, bytes); return; }
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

/**
 * ZADD INCR / ZINCRBY of one pair, after zaddCommand's checks (e: the kernel zset, or null for
 * an absent key, which XX has already answered). zsetAdd's listpack branch: NX on a member
 * present, XX on one absent, and a GT/LT that fails reply a null; a NaN sum is an error. A
 * new score of -0 is the host's (printsAsScore), declined before anything has changed.
 */
function zaddIncr(e: Entry | null, nx: bool, xx: bool, gt: bool, lt: bool, bytes: usize): void {
  const mp = argPtr(argc - 1), ml = argLen(argc - 1);
  const p = e == null ? 0 : zsetFind(e, mp, ml);
  if (p != 0) {
    if (nx) { addNullBulk(); return; }
    const cur = zsetScoreAt(p);
    const score = cur + increment;
    if (isNaN(score)) { addErrorErr("resulting score is not a number (NaN)"); return; }
    if ((lt && score >= cur) || (gt && score <= cur)) { addNullBulk(); return; }
    if (!printsAsScore(score)) { declineToHost(); return; }
    if (score != cur) {
      zsetDeleteAt(e!, p);
      zsetInsert(e!, score, mp, ml);
      addDirty(1);
    }
    addScore(score);
    return;
  }
  if (xx) { addNullBulk(); return; }
  const score = increment;
  if (!printsAsScore(score)) { declineToHost(); return; }
  if (e == null) {
    e = dbAdd(db, argPtr(1), argLen(1));
    e.type = OBJ_ZSET;
    zsetInitIn(e, bytes);
  }
  zsetInsert(e, score, mp, ml);
  addDirty(1);
  addScore(score);
}

/** A computed score's reply prints here unless it is -0 (Redis prints "-0": left to the host). */
@inline function printsAsScore(d: f64): bool {
  return !(d == 0 && 1 / d < 0);
}

// %.17g of a score that is not an integer comes from the host (src/kernel/format-double.ts,
// the host's own formatter): writing Redis's exact digits here would take a big-number
// printf. A fractional score used to send the command to the host, and the zset with it.
@external("env", "formatScore")
declare function hostFormatScore(d: f64, dst: usize): i32;
const scoreDigits: usize = heap.alloc(32);

/** addReplyDouble in RESP2 (stored scores are never -0 or NaN). */
function addScore(d: f64): void {
  if (d == Infinity) addBulk(changetype<usize>(INF), 3);
  else if (d == -Infinity) addBulk(changetype<usize>(MINUS_INF), 4);
  else if (d == Math.floor(d) && Math.abs(d) <= EXACT_INT) addBulkInt(<i64>d);
  else addBulk(scoreDigits, <usize>hostFormatScore(d, scoreDigits));
}

function zpopGeneric(popMax: bool): void {
  if (argc > 3) { addError(ERR_SYNTAX); return; }
  // RESP3 (a double reply, nested pairs with a count): the host's. So is a count that is not
  // a plain non-negative integer (getPositiveLongFromObjectOrReply's errors).
  if (resp != 2) { declineToHost(); return; }
  let count: i64 = -1;
  if (argc == 3) {
    if (!string2ll(argPtr(2), argLen(2)) || parsedInt < 0) { declineToHost(); return; }
    count = parsedInt;
  }
  const e = lookupKeyWrite(db, argPtr(1), argLen(1));
  if (e == null) { addEmptyArray(); return; }
  if (e.type != OBJ_ZSET) { addError(ERR_WRONGTYPE); return; }
  if (!isKernelZset(e)) { declineToHost(); return; }
  if (count >= 0) { zpopCounted(e, popMax, count); return; }
  const p = popMax ? zsetLast(e) : zsetFirst(e);
  const score = zsetScoreAt(p);
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

/**
 * ZPOPMIN/ZPOPMAX key count in RESP2 (genericZpopCommand): count 0 an empty array, else the
 * min(count, length) lowest (highest) elements as member, score pairs in pop order, each
 * score printing as an integer (else declined before anything changes). Propagated as
 * ZPOPMIN/ZPOPMAX key <popped>, as the host's genericZpop does.
 */
function zpopCounted(e: Entry, popMax: bool, count: i64): void {
  if (count == 0) { addEmptyArray(); return; }
  const llen = <i64>zsetCount(e);
  const n = count < llen ? count : llen;
  // The elements in pop order: the first n, or the last n from the end.
  rev.length = 0;
  let q = zsetFirst(e);
  if (popMax) for (let i: i64 = 0; i < llen - n; i++) q = zsetNextAt(q);
  for (let i: i64 = 0; i < n; i++) {
    rev.push(q);
    q = zsetNextAt(q);
  }
  addArrayLen(n * 2);
  for (let i: i64 = 0; i < n; i++) {
    const r = unchecked(rev[<i32>(popMax ? n - 1 - i : i)]);
    addBulk(zsetMemberPtr(r), zsetMemberLen(r));
    addScore(zsetScoreAt(r));
  }
  // Replies first: a deletion moves the elements after it.
  for (let i: i64 = 0; i < n; i++) zsetDeleteAt(e, popMax ? zsetLast(e) : zsetFirst(e));
  addDirty(n);
  rewriteArg(2, popDigits, ll2string(popDigits, n));
  if (zsetCount(e) == 0) {
    unlinkEntry(db, e);
    releaseValue(e);
  }
}
const popDigits: usize = heap.alloc(24);

function zpopminCommand(): void { zpopGeneric(false); }
function zpopmaxCommand(): void { zpopGeneric(true); }

// ---- ZREM, and reads ---------------------------------------------------------------------------

/** Set by zsetRead/zsetWrite: WRONGTYPE replied, or declined to the host. */
let stop = false;

/** The zset at argv[i] for a write: null when absent; stop when WRONGTYPE or host-held. */
function zsetWrite(i: i32): Entry | null {
  stop = false;
  const e = lookupKeyWrite(db, argPtr(i), argLen(i));
  if (e == null) return null;
  if (e.type != OBJ_ZSET) { addError(ERR_WRONGTYPE); stop = true; return null; }
  if (!isKernelZset(e)) { declineToHost(); stop = true; return null; }
  return e;
}

/** For a read: a host-held zset declines before the lookup counts a hit (the host counts it). */
function zsetRead(i: i32): Entry | null {
  stop = false;
  const p = argPtr(i), l = argLen(i);
  const peek = db.dict.find(p, l, hashBytes(p, l));
  if (peek != null && peek.type == OBJ_ZSET && !isKernelZset(peek)) { declineToHost(); stop = true; return null; }
  const e = lookupKeyRead(db, p, l);
  if (e == null) return null;
  if (e.type != OBJ_ZSET) { addError(ERR_WRONGTYPE); stop = true; return null; }
  return e;
}

function zremCommand(): void {
  const e = zsetWrite(1);
  if (stop) return;
  if (e == null) { addInt(0); return; }
  let deleted = 0;
  for (let j = 2; j < argc; j++) {
    const p = zsetFind(e, argPtr(j), argLen(j));
    if (p == 0) continue;
    zsetDeleteAt(e, p);
    deleted++;
    if (zsetCount(e) == 0) break;
  }
  if (zsetCount(e) == 0) {
    unlinkEntry(db, e);
    releaseValue(e);
  }
  if (deleted > 0) addDirty(<i64>deleted);
  addInt(deleted);
}

function zcardCommand(): void {
  const e = zsetRead(1);
  if (stop) return;
  addInt(e == null ? 0 : <i64>zsetCount(e));
}

function zscoreCommand(): void {
  if (resp != 2) { declineToHost(); return; } // a RESP3 double: the host's
  const e = zsetRead(1);
  if (stop) return;
  const p = e == null ? 0 : zsetFind(e, argPtr(2), argLen(2));
  if (p == 0) { addNullBulk(); return; }
  addScore(zsetScoreAt(p));
}

function zmscoreCommand(): void {
  if (resp != 2) { declineToHost(); return; }
  const e = zsetRead(1);
  if (stop) return;
  addArrayLen(argc - 2);
  for (let j = 2; j < argc; j++) {
    const p = e == null ? 0 : zsetFind(e, argPtr(j), argLen(j));
    if (p == 0) addNullBulk(); else addScore(zsetScoreAt(p));
  }
}

/**
 * A read that found a score it cannot print declines after its lookup counted a hit: the
 * host counts the hit again when it runs the command, so this one is taken back.
 */
/** ZRANK key member (zrankGenericCommand): the member's 0-based rank, or null. */
function zrankCommand(): void { zrankGeneric(false); }
/** ZREVRANK key member: the rank counted from the highest score. */
function zrevrankCommand(): void { zrankGeneric(true); }

function zrankGeneric(reverse: bool): void {
  const e = zsetRead(1);
  if (stop) return;
  const p = e == null ? 0 : zsetFind(e, argPtr(2), argLen(2));
  if (p == 0) { addNullBulk(); return; }
  let rank: i64 = 0;
  for (let q = zsetFirst(e!); q != p; q = zsetNextAt(q)) rank++;
  addInt(reverse ? <i64>zsetCount(e!) - 1 - rank : rank);
}

/** One bound of ZCOUNT's range, parsed by rangeBound. */
let boundValue: f64 = 0;
let boundExclusive = false;

/**
 * zslParseRange's bound in its plain forms: [(]plain decimal, or [(][+-]inf. Anything else
 * (strtod's other forms: spaces, exponents, hex, an empty string, which Redis takes as 0, and
 * the errors) is left to the host: false.
 */
function rangeBound(i: i32): bool {
  let p = argPtr(i), l = argLen(i);
  boundExclusive = l > 0 && load<u8>(p) == 0x28; // '('
  if (boundExclusive) { p++; l--; }
  if (plainDecimal(p, l)) { boundValue = parsedDouble; return true; }
  if (l == 3 && argIsBytes(p, "inf")) { boundValue = Infinity; return true; }
  if (l == 4 && (argIsBytes(p, "+inf") || argIsBytes(p, "-inf"))) {
    boundValue = load<u8>(p) == 0x2d ? -Infinity : Infinity;
    return true;
  }
  return false;
}

/** Whether the l bytes at p are `s` (ASCII), case-insensitively, as strtod reads "inf". */
function argIsBytes(p: usize, s: string): bool {
  for (let j = 0; j < s.length; j++) {
    if ((load<u8>(p + <usize>j) | 0x20) != (<u8>s.charCodeAt(j) | 0x20)) return false;
  }
  return true;
}

/** ZCOUNT key min max (zcountCommand): the elements whose score is in the range. */
function zcountCommand(): void {
  if (!rangeBound(2)) { declineToHost(); return; }
  const min = boundValue, minex = boundExclusive;
  if (!rangeBound(3)) { declineToHost(); return; }
  const max = boundValue, maxex = boundExclusive;
  const e = zsetRead(1);
  if (stop) return;
  let n: i64 = 0;
  if (e != null) {
    const end = zsetEnd(e);
    for (let q = zsetFirst(e); q < end; q = zsetNextAt(q)) {
      const s = zsetScoreAt(q);
      if (minex ? s <= min : s < min) continue;
      if (maxex ? s >= max : s > max) break;
      n++;
    }
  }
  addInt(n);
}

/**
 * ZREMRANGEBYSCORE key min max (zremrangeGenericCommand, listpack): the in-range elements
 * deleted, their count replied, the key deleted when emptied. Bounds rangeBound does not read
 * (and so the "min or max is not a float" error) are the host's, declined before the lookup.
 */
function zremrangebyscoreCommand(): void {
  if (!rangeBound(2)) { declineToHost(); return; }
  const min = boundValue, minex = boundExclusive;
  if (!rangeBound(3)) { declineToHost(); return; }
  const max = boundValue, maxex = boundExclusive;
  const e = zsetWrite(1);
  if (stop) return;
  if (e == null) { addInt(0); return; }
  // The elements in range are one run: find its first element and its length.
  const end = zsetEnd(e);
  let from: usize = 0;
  let k: u32 = 0;
  for (let q = zsetFirst(e); q < end; q = zsetNextAt(q)) {
    const sc = zsetScoreAt(q);
    if (minex ? sc <= min : sc < min) continue;
    if (maxex ? sc >= max : sc > max) break;
    if (k == 0) from = q;
    k++;
  }
  zremRun(e, from, k);
}

/** ZREMRANGEBYRANK key start stop: integers the host's (their errors too); ranks as ZRANGE's. */
function zremrangebyrankCommand(): void {
  if (!string2ll(argPtr(2), argLen(2))) { declineToHost(); return; }
  let start = parsedInt;
  if (!string2ll(argPtr(3), argLen(3))) { declineToHost(); return; }
  let stopAt = parsedInt;
  const e = zsetWrite(1);
  if (stop) return;
  if (e == null) { addInt(0); return; }
  const llen = <i64>zsetCount(e);
  if (start < 0) start = llen + start;
  if (stopAt < 0) stopAt = llen + stopAt;
  if (start < 0) start = 0;
  if (start > stopAt || start >= llen) { addInt(0); return; }
  if (stopAt >= llen) stopAt = llen - 1;
  let from = zsetFirst(e);
  for (let i: i64 = 0; i < start; i++) from = zsetNextAt(from);
  zremRun(e, from, <u32>(stopAt - start + 1));
}

/** Deletes k elements from `from` on, deletes the key if that emptied it, replies k. */
function zremRun(e: Entry, from: usize, k: u32): void {
  zsetDeleteRun(e, from, k);
  if (zsetCount(e) == 0) {
    unlinkEntry(db, e);
    releaseValue(e);
  }
  if (k > 0) addDirty(<i64>k);
  addInt(<i64>k);
}

/**
 * ZRANGE key start stop [WITHSCORES] (the rank form), or ZRANGE key min max BYSCORE with REV,
 * LIMIT, WITHSCORES (zrangeByScore); BYLEX and any other form: the host's.
 */
function zrangeCommand(): void {
  if (argc == 4 || (argc == 5 && argIs(4, "withscores"))) zrangeRank(false);
  else if (hasArg(4, "bylex")) zrangeByLex(false, true);
  else zrangeByScore(false, true);
}

/** Whether an argument from index `from` on is `name` (case-insensitively). */
function hasArg(from: i32, name: string): bool {
  for (let j = from; j < argc; j++) if (argIs(j, name)) return true;
  return false;
}
/** ZREVRANGE key start stop [WITHSCORES]. */
function zrevrangeCommand(): void { zrangeRank(true); }

function zrangeRank(reverse: bool): void {
  let withscores = false;
  if (argc > 5 || resp != 2) { declineToHost(); return; }
  if (argc == 5) {
    if (!argIs(4, "withscores")) { declineToHost(); return; }
    withscores = true;
  }
  if (!string2ll(argPtr(2), argLen(2))) { addError(ERR_NOT_INTEGER); return; }
  let start = parsedInt;
  if (!string2ll(argPtr(3), argLen(3))) { addError(ERR_NOT_INTEGER); return; }
  let end = parsedInt;
  const e = zsetRead(1);
  if (stop) return;
  if (e == null) { addEmptyArray(); return; }
  const llen = <i64>zsetCount(e);
  if (start < 0) start = llen + start;
  if (end < 0) end = llen + end;
  if (start < 0) start = 0;
  if (start > end || start >= llen) { addEmptyArray(); return; }
  if (end >= llen) end = llen - 1;
  // Reversed, rank r is element llen-1-r: walk the same elements forward, reply backward.
  const lo = reverse ? llen - 1 - end : start;
  const hi = reverse ? llen - 1 - start : end;
  let first = zsetFirst(e);
  for (let i: i64 = 0; i < lo; i++) first = zsetNextAt(first);
  const n = hi - lo + 1;
  addArrayLen(withscores ? n * 2 : n);
  if (!reverse) {
    let p = first;
    for (let i: i64 = 0; i < n; i++) {
      addBulk(zsetMemberPtr(p), zsetMemberLen(p));
      if (withscores) addScore(zsetScoreAt(p));
      p = zsetNextAt(p);
    }
    return;
  }
  // Reverse: collect the addresses (at most zset-max-listpack-entries of them) first.
  rev.length = 0;
  let p = first;
  for (let i: i64 = 0; i < n; i++) { rev.push(p); p = zsetNextAt(p); }
  for (let i = rev.length - 1; i >= 0; i--) {
    const q = unchecked(rev[i]);
    addBulk(zsetMemberPtr(q), zsetMemberLen(q));
    if (withscores) addScore(zsetScoreAt(q));
  }
}
const rev = new Array<usize>(0);

/** ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]. */
function zrangebyscoreCommand(): void { zrangeByScore(false, false); }
/** ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]. */
function zrevrangebyscoreCommand(): void { zrangeByScore(true, false); }

/**
 * zrangeGenericCommand + genericZrangebyscoreCommand's listpack branch, for RESP2 and bounds
 * rangeBound reads (plain decimals, ±inf, '(' allowed). `unified`: ZRANGE's syntax, where
 * BYSCORE must appear and REV may. Options are parsed as Redis does; anything it would reject
 * (a syntax error, an offset or count that is not an integer), BYLEX, a negative offset (rare;
 * Redis walks it off the end) or another bound form is declined before the lookup, so the host
 * replies it. Replies: the in-range elements in order (reversed for REV), less `offset`, at
 * most `count` of them (a negative count: all); with WITHSCORES each followed by its score.
 */
function zrangeByScore(reverse: bool, unified: bool): void {
  if (resp != 2) { declineToHost(); return; }
  let withscores = false, byscore = !unified, sawRev = false;
  let offset: i64 = 0, limit: i64 = -1;
  for (let j = 4; j < argc; j++) {
    const left = argc - j - 1;
    if (argIs(j, "withscores")) withscores = true;
    else if (argIs(j, "limit") && left >= 2) {
      if (!string2ll(argPtr(j + 1), argLen(j + 1))) { declineToHost(); return; }
      offset = parsedInt;
      if (!string2ll(argPtr(j + 2), argLen(j + 2))) { declineToHost(); return; }
      limit = parsedInt;
      j += 2;
    } else if (unified && !sawRev && argIs(j, "rev")) { sawRev = true; reverse = true; }
    else if (unified && !byscore && argIs(j, "byscore")) byscore = true;
    else { declineToHost(); return; }
  }
  if (!byscore || offset < 0) { declineToHost(); return; }
  // Reversed, the range is given as max then min.
  if (!rangeBound(reverse ? 3 : 2)) { declineToHost(); return; }
  const min = boundValue, minex = boundExclusive;
  if (!rangeBound(reverse ? 2 : 3)) { declineToHost(); return; }
  const max = boundValue, maxex = boundExclusive;
  const e = zsetRead(1);
  if (stop) return;
  if (e == null) { addEmptyArray(); return; }
  if (offset > 0 && offset >= <i64>zsetCount(e)) { addEmptyArray(); return; }
  // The elements in range are contiguous: collect them, then skip and count in reply order.
  rev.length = 0;
  const end = zsetEnd(e);
  for (let q = zsetFirst(e); q < end; q = zsetNextAt(q)) {
    const sc = zsetScoreAt(q);
    if (minex ? sc <= min : sc < min) continue;
    if (maxex ? sc >= max : sc > max) break;
    rev.push(q);
  }
  const total = <i64>rev.length;
  let n = total - offset;
  if (n < 0) n = 0;
  if (limit >= 0 && limit < n) n = limit;
  // Reply index i is rev[first + i * step].
  const first = reverse ? total - 1 - offset : offset;
  const step: i64 = reverse ? -1 : 1;
  addArrayLen(withscores ? n * 2 : n);
  for (let i: i64 = 0; i < n; i++) {
    const q = unchecked(rev[<i32>(first + i * step)]);
    addBulk(zsetMemberPtr(q), zsetMemberLen(q));
    if (withscores) addScore(zsetScoreAt(q));
  }
}

// ---- lex ranges (t_zset.c zslParseLexRange, the zzl*LexRange walks of a listpack) ------------

// A lex range item: a string (its bytes in argv), or Redis's shared minstring ("-") or
// maxstring ("+"), which compare below and above every string.
const LEX_STR: i32 = 0;
const LEX_MIN: i32 = 1;
const LEX_MAX: i32 = 2;
let minKind = LEX_STR, maxKind = LEX_STR;
let minPtr: usize = 0, minLen: usize = 0, maxPtr: usize = 0, maxLen: usize = 0;
let minEx = false, maxEx = false;

/**
 * zslParseLexRange of argv[i] (min) and argv[i + 1] (max): '(' exclusive, '[' inclusive, or
 * exactly "-" / "+". False for anything else (Redis's "min or max not valid string range
 * item", and "+"/"-" followed by a NUL, which C reads as the sentinel): the host's.
 */
function lexRange(i: i32): bool {
  if (!lexItem(i)) return false;
  minKind = itemKind; minPtr = itemPtr; minLen = itemLen; minEx = itemEx;
  if (!lexItem(i + 1)) return false;
  maxKind = itemKind; maxPtr = itemPtr; maxLen = itemLen; maxEx = itemEx;
  return true;
}
let itemKind = LEX_STR, itemPtr: usize = 0, itemLen: usize = 0, itemEx = false;
function lexItem(i: i32): bool {
  const p = argPtr(i), l = argLen(i);
  if (l == 0) return false;
  const c = load<u8>(p);
  if (c == 0x2b || c == 0x2d) { // '+' '-'
    if (l != 1) return false;
    itemKind = c == 0x2b ? LEX_MAX : LEX_MIN;
    itemEx = true;
    return true;
  }
  if (c != 0x28 && c != 0x5b) return false; // '(' '['
  itemKind = LEX_STR;
  itemPtr = p + 1;
  itemLen = l - 1;
  itemEx = c == 0x28;
  return true;
}

/** sdscmp: memcmp of the common length, then the shorter first. */
function bytesCmp(a: usize, al: usize, b: usize, bl: usize): i32 {
  const c = memory.compare(a, b, min(al, bl));
  if (c != 0) return c;
  return al < bl ? -1 : (al > bl ? 1 : 0);
}

/** zslLexValueGteMin / zslLexValueLteMax of a member (sdscmplex against the bounds). */
function lexGteMin(p: usize, l: usize): bool {
  if (minKind == LEX_MIN) return true;
  if (minKind == LEX_MAX) return false;
  const c = bytesCmp(p, l, minPtr, minLen);
  return minEx ? c > 0 : c >= 0;
}
function lexLteMax(p: usize, l: usize): bool {
  if (maxKind == LEX_MAX) return true;
  if (maxKind == LEX_MIN) return false;
  const c = bytesCmp(p, l, maxPtr, maxLen);
  return maxEx ? c < 0 : c <= 0;
}
@inline function elemGteMin(q: usize): bool { return lexGteMin(zsetMemberPtr(q), zsetMemberLen(q)); }
@inline function elemLteMax(q: usize): bool { return lexLteMax(zsetMemberPtr(q), zsetMemberLen(q)); }

/**
 * The set's elements in order into `rev` (at most zset-max-listpack-entries of them), and
 * zzlIsInLexRange: false when the range is empty by its bounds (sdscmplex(min, max) > 0, or
 * equal with an exclusive end), or the last element is below min, or the first above max.
 */
function lexElements(e: Entry): bool {
  rev.length = 0;
  const end = zsetEnd(e);
  for (let q = zsetFirst(e); q < end; q = zsetNextAt(q)) rev.push(q);
  let cmp: i32;
  if (minKind != LEX_STR && minKind == maxKind) cmp = 0;
  else if (minKind == LEX_MIN || maxKind == LEX_MAX) cmp = -1;
  else if (minKind == LEX_MAX || maxKind == LEX_MIN) cmp = 1;
  else cmp = bytesCmp(minPtr, minLen, maxPtr, maxLen);
  if (cmp > 0 || (cmp == 0 && (minEx || maxEx))) return false;
  const n = rev.length;
  if (n == 0) return false;
  return elemGteMin(unchecked(rev[n - 1])) && elemLteMax(unchecked(rev[0]));
}

/** zzlFirstInLexRange: the first element at or above min, if it is at or below max; -1: none. */
function lexFirst(e: Entry): i32 {
  if (!lexElements(e)) return -1;
  for (let i = 0; i < rev.length; i++) {
    if (elemGteMin(unchecked(rev[i]))) return elemLteMax(unchecked(rev[i])) ? i : -1;
  }
  return -1;
}

/** zzlLastInLexRange: walking back, the first element at or below max, if it is at or above min. */
function lexLast(e: Entry): i32 {
  if (!lexElements(e)) return -1;
  for (let i = rev.length - 1; i >= 0; i--) {
    if (elemLteMax(unchecked(rev[i]))) return elemGteMin(unchecked(rev[i])) ? i : -1;
  }
  return -1;
}

/** ZRANGEBYLEX key min max [LIMIT offset count]. */
function zrangebylexCommand(): void { zrangeByLex(false, false); }
/** ZREVRANGEBYLEX key max min [LIMIT offset count]. */
function zrevrangebylexCommand(): void { zrangeByLex(true, false); }

/**
 * zrangeGenericCommand + genericZrangebylexCommand's listpack branch. `unified`: ZRANGE's
 * syntax, where BYLEX must appear and REV may. From the first element in range (the last,
 * reversed), `offset` elements are skipped, then elements are replied while they stay in
 * range, at most `count` (negative: all). As in Redis the walk follows the set's order, so a
 * set whose members have different scores answers as Redis's listpack walk does.
 */
function zrangeByLex(reverse: bool, unified: bool): void {
  let bylex = !unified, sawRev = false;
  let offset: i64 = 0, limit: i64 = -1;
  for (let j = 4; j < argc; j++) {
    const left = argc - j - 1;
    if (argIs(j, "limit") && left >= 2) {
      if (!string2ll(argPtr(j + 1), argLen(j + 1))) { declineToHost(); return; }
      offset = parsedInt;
      if (!string2ll(argPtr(j + 2), argLen(j + 2))) { declineToHost(); return; }
      limit = parsedInt;
      j += 2;
    } else if (unified && !sawRev && argIs(j, "rev")) { sawRev = true; reverse = true; }
    else if (unified && !bylex && argIs(j, "bylex")) bylex = true;
    else { declineToHost(); return; } // WITHSCORES (an error with BYLEX), BYSCORE, syntax errors
  }
  if (!bylex || offset < 0) { declineToHost(); return; }
  // Reversed, the range is given as max then min.
  if (!lexRange(2)) { declineToHost(); return; }
  if (reverse) swapLexBounds();
  const e = zsetRead(1);
  if (stop) return;
  if (e == null) { addEmptyArray(); return; }
  let i = reverse ? lexLast(e) : lexFirst(e);
  const step = reverse ? -1 : 1;
  const n = rev.length;
  // Skip `offset` elements (whatever they are), then reply while in range.
  if (i >= 0) {
    const skipped = <i64>(reverse ? i + 1 : n - i);
    i = offset >= skipped ? -1 : i + step * <i32>offset;
  }
  let count: i64 = 0;
  if (i >= 0) {
    for (let j = i; j >= 0 && j < n && count != limit; j += step) {
      const q = unchecked(rev[j]);
      if (reverse ? !elemGteMin(q) : !elemLteMax(q)) break;
      count++;
    }
  }
  addArrayLen(count);
  for (let k: i64 = 0; k < count; k++) {
    const q = unchecked(rev[i + step * <i32>k]);
    addBulk(zsetMemberPtr(q), zsetMemberLen(q));
  }
}

/** The reversed commands name max first: lexRange parsed (argv[2], argv[3]) as (max, min). */
function swapLexBounds(): void {
  const k = minKind, p = minPtr, l = minLen, x = minEx;
  minKind = maxKind; minPtr = maxPtr; minLen = maxLen; minEx = maxEx;
  maxKind = k; maxPtr = p; maxLen = l; maxEx = x;
}

/** ZLEXCOUNT key min max: from the first element in range, the elements while at or below max. */
function zlexcountCommand(): void {
  if (!lexRange(2)) { declineToHost(); return; }
  const e = zsetRead(1);
  if (stop) return;
  if (e == null) { addInt(0); return; }
  addInt(<i64>lexRun(e));
}

/** How many elements from lexFirst (its index in `lexAt`) stay at or below max. */
let lexAt: i32 = -1;
function lexRun(e: Entry): i32 {
  lexAt = lexFirst(e);
  if (lexAt < 0) return 0;
  let k = 0;
  for (let j = lexAt; j < rev.length && elemLteMax(unchecked(rev[j])); j++) k++;
  return k;
}

/** ZREMRANGEBYLEX key min max (zzlDeleteRangeByLex): that run deleted, its length replied. */
function zremrangebylexCommand(): void {
  if (!lexRange(2)) { declineToHost(); return; }
  const e = zsetWrite(1);
  if (stop) return;
  if (e == null) { addInt(0); return; }
  const k = lexRun(e);
  zremRun(e, k > 0 ? unchecked(rev[lexAt]) : 0, <u32>k);
}

// ---- ZSCAN (zscanCommand + scanGenericCommand's listpack branch) -----------------------------

/**
 * ZSCAN key cursor [MATCH pattern] [COUNT count]: a listpack is small, so every element (with
 * its score as the listpack holds it: util.c d2string) comes in one reply whatever the cursor,
 * and the scan is over (cursor 0). In Redis's order: the cursor's errors, the lookup (no key:
 * an empty scan), then the options' errors; MATCH filters members.
 */
function zscanCommand(): void {
  if (!parseScanCursorOrReply(2)) return;
  const e = zsetRead(1);
  if (stop) return;
  if (e == null) { addRawBuf(emptyScan); return; }
  // The count only bounds a walk; one reply holds everything here.
  if (!parseScanOptionsOrReply()) return;
  const patArg = scanPattern;
  const patPtr = patArg >= 0 ? argPtr(patArg) : 0;
  const patLen = patArg >= 0 ? argLen(patArg) : 0;
  rev.length = 0;
  const end = zsetEnd(e);
  for (let q = zsetFirst(e); q < end; q = zsetNextAt(q)) {
    if (patArg < 0 || stringmatchlen(patPtr, patLen, zsetMemberPtr(q), zsetMemberLen(q), false)) rev.push(q);
  }
  addScanHeader(0, rev.length * 2);
  for (let j = 0; j < rev.length; j++) {
    const q = unchecked(rev[j]);
    addBulk(zsetMemberPtr(q), zsetMemberLen(q));
    addStoredScore(zsetScoreAt(q));
  }
}

/** A score as a listpack holds it (d2string, as the host's src/commands/zsets.ts d2string). */
function addStoredScore(d: f64): void {
  if (d == Infinity) addBulk(changetype<usize>(INF), 3);
  else if (d == -Infinity) addBulk(changetype<usize>(MINUS_INF), 4);
  else if (d == Math.floor(d) && Math.abs(d) <= 4611686018427387903.0) addBulkInt(<i64>d);
  else addBulk(scoreDigits, <usize>hostFormatScore(d, scoreDigits));
}
