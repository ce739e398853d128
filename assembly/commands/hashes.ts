// Hash commands (t_hash.c, plus HSCAN from db.c's scanGenericCommand). The value layout,
// both encodings and the listpack -> hashtable conversion live in keyspace/hash-value.ts.
//
// Where Redis answers a missing key differently per command (nil, 0, empty array, empty
// map, empty scan) the handlers follow t_hash.c exactly. Replies follow the client's
// protocol: HGETALL is a map and HRANDFIELD WITHVALUES nests pairs under RESP3.

import { replyLimitApplies, replyOverLimit } from "./output-limit";
import {
  argc, argPtr, argLen, argIs, db, getIntOrReply, intArg, rewriteArg,
  ERR_WRONGTYPE, ERR_OVERFLOW, ERR_SYNTAX, ERR_NOT_FLOAT,
} from "./context";
import { defineCommand } from "./table";
import {
  lookupKeyRead, lookupKeyWrite, dbAdd, unlinkEntry, releaseValue, addDirty, random32,
} from "../keyspace/keyspace";
import { Entry, OBJ_HASH } from "../keyspace/entry";
import {
  HashValue, HashField, fieldPtr, fieldLen, valuePtr, valueLen, hashMaxListpackValue,
  hashMaxListpackEntries, listpackPairBytes, LISTPACK_MAX_SAFE_BYTES,
} from "../keyspace/hash-value";
import {
  addBulk, addInt, addNullBulk, addOk, addError, addArrayLen, addEmptyArray, addRawBuf, addMapLen, resp,
} from "../resp/reply-writer";
import { ll2string, string2ll, parsedInt } from "../util/number";
import { LongDouble, string2ld, parsedLd, ld2string, LD_STR_HUMAN } from "../util/long-double";
import { stringmatchlen } from "../util/glob";
import { OBJECT_MAXSIZE } from "rt/common";
import { effectsEnabled, hintNextCommand, HINT_FLOAT_INCR } from "../effects";

export function registerHashCommands(): void {
  defineCommand("hset", hsetCommand);
  defineCommand("hmset", hmsetCommand);
  defineCommand("hsetnx", hsetnxCommand);
  defineCommand("hget", hgetCommand);
  defineCommand("hmget", hmgetCommand);
  defineCommand("hdel", hdelCommand);
  defineCommand("hlen", hlenCommand);
  defineCommand("hstrlen", hstrlenCommand);
  defineCommand("hexists", hexistsCommand);
  defineCommand("hkeys", hkeysCommand);
  defineCommand("hvals", hvalsCommand);
  defineCommand("hgetall", hgetallCommand);
  defineCommand("hincrby", hincrbyCommand);
  defineCommand("hincrbyfloat", hincrbyfloatCommand);
  defineCommand("hrandfield", hrandfieldCommand);
  defineCommand("hscan", hscanCommand);
}

// Number formatting scratch (an i64 is at most 20 chars).
const numScratch: usize = heap.alloc(32);
const HSET_NAME = String.UTF8.encode("HSET"); // shared.hset: HINCRBYFLOAT replays as HSET

// ---- lookup helpers ---------------------------------------------------------------------

/** The hash at argv[1] for a write, created empty if absent; null (after WRONGTYPE) if another type. */
function hashLookupWriteOrCreate(): Entry | null {
  const kp = argPtr(1), kl = argLen(1);
  let e = lookupKeyWrite(db, kp, kl);
  if (e == null) {
    e = dbAdd(db, kp, kl);
    e.type = OBJ_HASH;
    HashValue.initIn(e);
    return e;
  }
  if (e.type != OBJ_HASH) { addError(ERR_WRONGTYPE); return null; }
  return e;
}

/**
 * Redis's hashTypeTryConversion: a listpack takes no argument longer than
 * hash-max-listpack-value, and does not grow past LISTPACK_MAX_SAFE_BYTES.
 */
function tryConversion(h: HashValue, first: i32, last: i32): void {
  if (!h.isListpack) return;
  let sum: i64 = 0;
  for (let i = first; i <= last; i++) {
    const len = <i64>argLen(i);
    if (len > hashMaxListpackValue) { h.convertToHashtable(); return; }
    sum += len;
  }
  if (<i64>h.lpUsed + sum > LISTPACK_MAX_SAFE_BYTES) h.convertToHashtable();
}

/** Deletes the key of a hash that has lost its last field (Redis never keeps empty hashes). */
function deleteIfEmpty(e: Entry): bool {
  if (e.hashVal!.length != 0) return false;
  unlinkEntry(db, e);
  releaseValue(e);
  return true;
}

// ---- HSET / HMSET / HSETNX --------------------------------------------------------------

/**
 * A hashtable field stores field and value in one block, which cannot exceed one runtime
 * object (~1GB). Only a pair of two near-512MB arguments can; refuse it before any change
 * rather than trap the kernel (Redis would store it).
 */
function pairsFitOrReply(first: i32, last: i32): bool {
  for (let i = first; i < last; i += 2) {
    if (listpackPairBytes(argLen(i), argLen(i + 1)) > <i64>OBJECT_MAXSIZE) {
      addError("Insufficient memory, a field and its value together exceed the largest kernel allocation");
      return false;
    }
  }
  return true;
}

function hsetGeneric(name: string, replyCount: bool): void {
  // Redis checks pairs in the handler (arity only says "at least 4"), with the arity message.
  if ((argc & 1) == 1) {
    addError("wrong number of arguments for '" + name + "' command");
    return;
  }
  if (!pairsFitOrReply(2, argc - 1)) return;
  const e = hashLookupWriteOrCreate();
  if (e == null) return;
  const h = e.hashVal!;
  tryConversion(h, 2, argc - 1);
  // A hash created (or still empty) here gets its listpack in one allocation.
  if (h.isListpack && h.length == 0 && <i64>((argc - 2) >> 1) <= hashMaxListpackEntries) {
    let bytes: i64 = 0;
    for (let i = 2; i < argc; i += 2) bytes += listpackPairBytes(argLen(i), argLen(i + 1));
    h.reserve(bytes);
  }
  let created: i64 = 0;
  for (let i = 2; i < argc; i += 2) {
    if (h.set(argPtr(i), argLen(i), argPtr(i + 1), argLen(i + 1))) created++;
  }
  addDirty(<i64>((argc - 2) >> 1));
  if (replyCount) addInt(created); else addOk();
}

function hsetCommand(): void { hsetGeneric("hset", true); }
function hmsetCommand(): void { hsetGeneric("hmset", false); }

function hsetnxCommand(): void {
  if (!pairsFitOrReply(2, 3)) return;
  const e = hashLookupWriteOrCreate();
  if (e == null) return;
  const h = e.hashVal!;
  if (h.find(argPtr(2), argLen(2))) { addInt(0); return; }
  tryConversion(h, 2, 3);
  h.set(argPtr(2), argLen(2), argPtr(3), argLen(3));
  addDirty(1);
  addInt(1);
}

// ---- reads --------------------------------------------------------------------------------

/** Set by hashLookupRead when it replied WRONGTYPE. */
let readWrongType = false;

/** The hash at argv[1] for a read: null when missing (nothing replied) or of another type (WRONGTYPE replied). */
function hashLookupRead(): HashValue | null {
  readWrongType = false;
  const e = lookupKeyRead(db, argPtr(1), argLen(1));
  if (e == null) return null;
  if (e.type != OBJ_HASH) { addError(ERR_WRONGTYPE); readWrongType = true; return null; }
  return e.hashVal;
}

function hgetCommand(): void {
  const h = hashLookupRead();
  if (h == null) { if (!readWrongType) addNullBulk(); return; }
  if (h.find(argPtr(2), argLen(2))) addBulk(valuePtr, valueLen);
  else addNullBulk();
}

function hmgetCommand(): void {
  // A missing key is an empty hash: one nil per field.
  const h = hashLookupRead();
  if (readWrongType) return;
  addArrayLen(argc - 2);
  for (let i = 2; i < argc; i++) {
    if (h != null && h.find(argPtr(i), argLen(i))) addBulk(valuePtr, valueLen);
    else addNullBulk();
  }
}

function hlenCommand(): void {
  const h = hashLookupRead();
  if (h == null) { if (!readWrongType) addInt(0); return; }
  addInt(h.length);
}

function hstrlenCommand(): void {
  const h = hashLookupRead();
  if (h == null) { if (!readWrongType) addInt(0); return; }
  addInt(h.find(argPtr(2), argLen(2)) ? <i64>valueLen : 0);
}

function hexistsCommand(): void {
  const h = hashLookupRead();
  if (h == null) { if (!readWrongType) addInt(0); return; }
  addInt(h.find(argPtr(2), argLen(2)) ? 1 : 0);
}

const WANT_FIELDS: u32 = 1;
const WANT_VALUES: u32 = 2;

function getallGeneric(what: u32): void {
  // HGETALL is a map (an empty map for a missing key); HKEYS/HVALS are arrays.
  const isMap = what == (WANT_FIELDS | WANT_VALUES);
  const h = hashLookupRead();
  if (h == null) {
    if (readWrongType) return;
    if (isMap) addMapLen(0); else addEmptyArray();
    return;
  }
  const n = h.length;
  if (isMap) addMapLen(n); else addArrayLen(n);
  for (let i = 0; i < n; i++) {
    h.pairAt(i);
    if (what & WANT_FIELDS) addBulk(fieldPtr, fieldLen);
    if (what & WANT_VALUES) addBulk(valuePtr, valueLen);
  }
}

function hkeysCommand(): void { getallGeneric(WANT_FIELDS); }
function hvalsCommand(): void { getallGeneric(WANT_VALUES); }
function hgetallCommand(): void { getallGeneric(WANT_FIELDS | WANT_VALUES); }

// ---- deletes ------------------------------------------------------------------------------

function hdelCommand(): void {
  const e = lookupKeyWrite(db, argPtr(1), argLen(1));
  if (e == null) { addInt(0); return; }
  if (e.type != OBJ_HASH) { addError(ERR_WRONGTYPE); return; }
  const h = e.hashVal!;
  let deleted: i64 = 0;
  for (let i = 2; i < argc; i++) {
    if (h.remove(argPtr(i), argLen(i))) {
      deleted++;
      if (deleteIfEmpty(e)) break;
    }
  }
  if (deleted != 0) addDirty(deleted);
  addInt(deleted);
}

// ---- HINCRBY / HINCRBYFLOAT ---------------------------------------------------------------

function hincrbyCommand(): void {
  if (!getIntOrReply(3)) return;
  const incr = intArg;
  const e = hashLookupWriteOrCreate();
  if (e == null) return;
  const h = e.hashVal!;
  let value: i64 = 0;
  if (h.find(argPtr(2), argLen(2))) {
    if (!string2ll(valuePtr, valueLen)) { addError("hash value is not an integer"); return; }
    value = parsedInt;
  }
  if ((incr < 0 && value < 0 && incr < i64.MIN_VALUE - value) ||
      (incr > 0 && value > 0 && incr > i64.MAX_VALUE - value)) {
    addError(ERR_OVERFLOW);
    return;
  }
  value += incr;
  const len = ll2string(numScratch, value);
  h.set(argPtr(2), argLen(2), numScratch, len);
  addDirty(1);
  addInt(value);
}

/**
 * Redis adds in x87 long double and prints with %.17Lf (trailing zeros trimmed); the
 * software long double in util/long-double.ts reproduces that digit for digit.
 */
function hincrbyfloatCommand(): void {
  if (!string2ld(argPtr(3), argLen(3))) { addError(ERR_NOT_FLOAT); return; }
  const incr = parsedLd;
  if (incr.isNaN() || incr.isInf()) { addError("value is NaN or Infinity"); return; }
  const e = hashLookupWriteOrCreate();
  if (e == null) return;
  const h = e.hashVal!;
  let value = LongDouble.zero();
  if (h.find(argPtr(2), argLen(2))) {
    if (!string2ld(valuePtr, valueLen)) { addError("hash value is not a float"); return; }
    value = parsedLd;
  }
  const sum = value.add(incr);
  if (sum.isNaN() || sum.isInf()) { addError("increment would produce NaN or Infinity"); return; }
  const text = ld2string(sum, LD_STR_HUMAN);
  const len = <usize>String.UTF8.byteLength(text);
  const out = textScratch(len);
  String.UTF8.encodeUnsafe(changetype<usize>(text), text.length, out);
  h.set(argPtr(2), argLen(2), out, len);
  addDirty(1);
  addBulk(out, len);
  // Like Redis, propagate as HSET key field <result> so that replicas and the AOF do not
  // depend on float rounding: rewrite argv before the kernel records the effect.
  rewriteArg(0, changetype<usize>(HSET_NAME), <usize>HSET_NAME.byteLength);
  rewriteArg(3, out, len);
  if (effectsEnabled) hintNextCommand(HINT_FLOAT_INCR);
}

// HINCRBYFLOAT's result text (up to ~5000 chars for huge values); must outlive the
// handler until the effect record is written.
let textOut: usize = heap.alloc(64);
let textOutCap: usize = 64;
function textScratch(n: usize): usize {
  if (n > textOutCap) {
    heap.free(textOut);
    textOutCap = n;
    textOut = heap.alloc(n);
  }
  return textOut;
}

// ---- HRANDFIELD ---------------------------------------------------------------------------

const LONG_MAX: i64 = i64.MAX_VALUE;

function hrandfieldCommand(): void {
  if (argc >= 3) {
    if (!getIntOrReply(2)) return;
    const l = intArg;
    if (l < -LONG_MAX) {
      addError("value is out of range, value must between -9223372036854775807 and 9223372036854775807");
      return;
    }
    let withValues = false;
    if (argc > 4 || (argc == 4 && !argIs(3, "withvalues"))) { addError(ERR_SYNTAX); return; }
    if (argc == 4) {
      withValues = true;
      if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) { addError("value is out of range"); return; }
    }
    hrandfieldWithCount(l, withValues);
    return;
  }
  const h = hashLookupRead();
  if (h == null) { if (!readWrongType) addNullBulk(); return; }
  h.pairAt(randomBelow(h.length));
  addBulk(fieldPtr, fieldLen);
}

@inline function randomBelow(n: i32): i32 {
  return <i32>(random32() % <u32>n);
}

/** One HRANDFIELD item: the field, or field and value (a 2-element array in RESP3). */
function addPair(h: HashValue, i: i32, withValues: bool): void {
  h.pairAt(i);
  if (withValues && resp >= 3) addArrayLen(2);
  addBulk(fieldPtr, fieldLen);
  if (withValues) addBulk(valuePtr, valueLen);
}

const MAX_RANDOM_REPLY_BYTES: i64 = 512 * 1024 * 1024;
const RANDOM_REPLY_CHECK_COUNT: i64 = 1 << 20;

/** Bytes of a negative-count HRANDFIELD reply, from the hash's average field/value sizes. */
function estimatedRandomReplyBytes(h: HashValue, count: i64, withValues: bool): i64 {
  const size = h.length;
  let bytes: i64 = 0;
  for (let i = 0; i < size; i++) {
    h.pairAt(i);
    bytes += <i64>fieldLen + 16;
    if (withValues) bytes += <i64>valueLen + 16;
  }
  // count * average, without overflowing i64.
  const perItem = (bytes + <i64>size - 1) / <i64>size;
  return count > i64.MAX_VALUE / perItem ? i64.MAX_VALUE : count * perItem;
}

/** How much bigger than the count a hash must be for "pick and reject duplicates" (Redis's HRANDFIELD_SUB_STRATEGY_MUL). */
const SUB_STRATEGY_MUL: i64 = 3;

function hrandfieldWithCount(l: i64, withValues: bool): void {
  const h = hashLookupRead();
  if (h == null) { if (!readWrongType) addEmptyArray(); return; }
  const size = h.length;
  const uniq = l >= 0;
  const count: i64 = uniq ? l : -l;
  if (count == 0) { addEmptyArray(); return; }
  h.buildIndex();

  // RESP2 flattens field/value pairs; RESP3 nests them.
  const flat = withValues && resp < 3;

  // Negative count: independent draws, repeats allowed, in random order.
  if (!uniq || count == 1) {
    // The reply's size is bounded by the count, not the data: Redis would grow its output
    // buffer without limit, but a kernel shard lives in 4 GiB of wasm32 memory, and running
    // out traps the whole server. Refuse replies that could not fit.
    // Under a client output limit below that, the loop stops at the limit instead (as
    // Redis's stops once the client is CLOSE_ASAP) and the host closes the client.
    const cut = replyLimitApplies(MAX_RANDOM_REPLY_BYTES);
    if (!cut && count > RANDOM_REPLY_CHECK_COUNT && estimatedRandomReplyBytes(h, count, withValues) > MAX_RANDOM_REPLY_BYTES) {
      h.dropIndex();
      addError("ERR HRANDFIELD reply would exceed " + MAX_RANDOM_REPLY_BYTES.toString() + " bytes");
      return;
    }
    addArrayLen(flat ? count * 2 : count);
    for (let n: i64 = 0; n < count; n++) {
      if (cut && (n & 1023) == 0 && replyOverLimit()) break;
      addPair(h, randomBelow(size), withValues);
    }
    h.dropIndex();
    return;
  }

  // Asked for at least the whole hash: all of it.
  if (count >= <i64>size) {
    addArrayLen(flat ? <i64>size * 2 : <i64>size);
    for (let i = 0; i < size; i++) addPair(h, i, withValues);
    h.dropIndex();
    return;
  }

  const n = <i32>count;
  addArrayLen(flat ? count * 2 : count);
  if (count * SUB_STRATEGY_MUL > <i64>size) {
    // Close to the whole hash: start from every index and remove random ones.
    const idx = new StaticArray<i32>(size);
    for (let i = 0; i < size; i++) unchecked(idx[i] = i);
    let left = size;
    while (left > n) {
      const j = randomBelow(left);
      left--;
      unchecked(idx[j] = idx[left]);
    }
    for (let i = 0; i < n; i++) addPair(h, unchecked(idx[i]), withValues);
  } else {
    // Much smaller than the hash: draw until count distinct fields were picked.
    const seen = new Set<i32>();
    while (seen.size < n) {
      const i = randomBelow(size);
      if (seen.has(i)) continue;
      seen.add(i);
      addPair(h, i, withValues);
    }
  }
  h.dropIndex();
}

// ---- HSCAN ---------------------------------------------------------------------------------

export const emptyScan = String.UTF8.encode("*2\r\n$1\r\n0\r\n*0\r\n");

let scanCursor: u64 = 0;

/** strtoul(s, &end, 10) with Redis's checks: no leading space, nothing trailing, no overflow. */
export function parseScanCursorOrReply(i: i32): bool {
  const p = argPtr(i), len = argLen(i);
  let pos: usize = 0;
  if (len > 0) {
    const c0 = load<u8>(p);
    if (c0 == 0x20 || (c0 >= 0x09 && c0 <= 0x0d)) { addError("invalid cursor"); return false; }
  }
  let neg = false;
  if (pos < len && (load<u8>(p) == 0x2d || load<u8>(p) == 0x2b)) { neg = load<u8>(p) == 0x2d; pos++; }
  const digitsStart = pos;
  let v: u64 = 0;
  let overflow = false;
  while (pos < len) {
    const c = load<u8>(p + pos);
    if (c < 0x30 || c > 0x39) break;
    const d = <u64>(c - 0x30);
    if (v > (u64.MAX_VALUE - d) / 10) overflow = true;
    v = v * 10 + d;
    pos++;
  }
  // No digits: strtoul consumed nothing, so the first character (if any) is "trailing".
  if (pos == digitsStart) {
    if (len != 0) { addError("invalid cursor"); return false; }
    scanCursor = 0;
    return true;
  }
  if (pos != len || overflow) { addError("invalid cursor"); return false; }
  scanCursor = neg ? 0 - v : v;
  return true;
}

/** SCAN's COUNT (default 10) and MATCH argument (its index; -1: none), set by parseScanOptionsOrReply. */
export let scanCount: i64 = 10;
export let scanPattern: i32 = -1;

/**
 * [MATCH pattern] [COUNT count] after a key's SCAN cursor (HSCAN, SSCAN, ZSCAN: argument 3 on),
 * in any order, the last of each kept; false once Redis's error is replied. A MATCH of "*"
 * matches everything, so it counts as none.
 */
export function parseScanOptionsOrReply(): bool {
  scanCount = 10;
  scanPattern = -1;
  let i = 3;
  while (i < argc) {
    const left = argc - i;
    if (argIs(i, "count") && left >= 2) {
      if (!getIntOrReply(i + 1)) return false;
      scanCount = intArg;
      if (scanCount < 1) { addError(ERR_SYNTAX); return false; }
      i += 2;
    } else if (argIs(i, "match") && left >= 2) {
      scanPattern = i + 1;
      i += 2;
    } else {
      addError(ERR_SYNTAX);
      return false;
    }
  }
  if (scanPattern >= 0 && argLen(scanPattern) == 1 && load<u8>(argPtr(scanPattern)) == 0x2a) scanPattern = -1;
  return true;
}

function hscanCommand(): void {
  if (!parseScanCursorOrReply(2)) return;
  const h = hashLookupRead();
  if (h == null) { if (!readWrongType) addRawBuf(emptyScan); return; }

  if (!parseScanOptionsOrReply()) return;
  const count = scanCount;
  const patArg = scanPattern;
  const patPtr = patArg >= 0 ? argPtr(patArg) : 0;
  const patLen = patArg >= 0 ? argLen(patArg) : 0;

  let cursor = scanCursor;
  if (h.isListpack) {
    // A listpack is small: everything in one reply, and the scan is over.
    let n = 0;
    const total = h.length;
    const keep = new StaticArray<bool>(total);
    for (let j = 0; j < total; j++) {
      h.pairAt(j);
      const ok = patArg < 0 || stringmatchlen(patPtr, patLen, fieldPtr, fieldLen, false);
      unchecked(keep[j] = ok);
      if (ok) n++;
    }
    addScanHeader(0, n * 2);
    for (let j = 0; j < total; j++) {
      if (!unchecked(keep[j])) continue;
      h.pairAt(j);
      addBulk(fieldPtr, fieldLen);
      addBulk(valuePtr, valueLen);
    }
    return;
  }

  const found = new Array<HashField>();
  // Redis counts fields and values alike (count*2 list entries), and bounds the buckets
  // visited to ten times that so a sparse table cannot stall the server. The products wrap
  // as Redis's C longs do, so a huge COUNT means "no limit" exactly when it does there.
  const entries: i64 = count * 2;
  let maxIterations: i64 = entries * 10;
  do {
    cursor = h.scan(cursor, found);
  } while (cursor != 0 && maxIterations-- != 0 && <u64>found.length * 2 < <u64>entries);

  const matched = patArg < 0 ? found : new Array<HashField>();
  if (patArg >= 0) {
    for (let j = 0; j < found.length; j++) {
      const f = unchecked(found[j]);
      f.load();
      if (stringmatchlen(patPtr, patLen, fieldPtr, fieldLen, false)) matched.push(f);
    }
  }
  addScanHeader(cursor, matched.length * 2);
  for (let j = 0; j < matched.length; j++) {
    unchecked(matched[j]).load();
    addBulk(fieldPtr, fieldLen);
    addBulk(valuePtr, valueLen);
  }
}

export function addScanHeader(cursor: u64, items: i32): void {
  addArrayLen(2);
  // Redis replies the cursor with addReplyBulkLongLong (a signed long long).
  const len = ll2string(numScratch, <i64>cursor);
  addBulk(numScratch, len);
  addArrayLen(items);
}
