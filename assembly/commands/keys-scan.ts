// The key commands that walk a database's table (Redis's db.c): KEYS, SCAN, RANDOMKEY.
//
// They meet expired-but-not-reclaimed keys that lookups would have deleted, and treat them
// as Redis does: KEYS skips them (and leaves them), SCAN and RANDOMKEY delete the ones they
// meet and never return them. SCAN's cursor is the dict's reverse-binary cursor
// (keyspace/dict.ts), which returns every key present for the whole scan at least once even
// while the table grows or shrinks between calls.

import { propagateApart } from "../effects";
import { argc, argPtr, argLen, argIs, db, intArg, getIntOrReply, ERR_SYNTAX } from "./context";
import { defineCommand } from "./table";
import { keyIsExpired, expireIfNeeded, random32, replicaExpiry, expiryPaused } from "../keyspace/keyspace";
import { Entry, typeName } from "../keyspace/entry";
import { stringmatchlen } from "../util/glob";
import { addError, addArrayLen, addBulk, addBulkBuf, addBulkInt, addNullBulk } from "../resp/reply-writer";

export function registerKeyScanCommands(): void {
  defineCommand("randomkey", randomkeyCommand);
  defineCommand("keys", keysCommand);
  defineCommand("scan", scanCommand);
}

function randomkeyCommand(): void {
  propagateApart();
  // Redis's dbRandomKey: an expired pick is deleted and another one drawn. Where expired
  // keys stay (a replica, CLIENT PAUSE), after 100 expired picks one is returned anyway,
  // so a keyspace of only expired keys cannot loop forever.
  let tries = 0;
  while (true) {
    const e = db.dict.random(random32);
    if (e == null) { addNullBulk(); return; }
    if (expireIfNeeded(db, e) && (++tries < 100 || (!replicaExpiry && !expiryPaused))) continue;
    addBulk(e.keyPtr, <usize>e.keyLen);
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
    if (all || stringmatchlen(pat, patLen, e.keyPtr, <usize>e.keyLen, false)) {
      unchecked(entries[n++] = e);
    }
  }
  addArrayLen(n);
  for (let i = 0; i < n; i++) addEntryKey(unchecked(entries[i]));
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
  propagateApart();
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
    if (usePattern && !stringmatchlen(patPtr, patLen, e.keyPtr, <usize>e.keyLen, false)) continue;
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
  for (let i = 0; i < n; i++) addEntryKey(unchecked(found[i]));
  found.length = 0;
}

function addBulkU64(v: u64): void {
  if (v <= <u64>i64.MAX_VALUE) { addBulkInt(<i64>v); return; }
  const s = String.UTF8.encode(v.toString());
  addBulkBuf(s);
}

/** Replies with an entry's key (bulk). */
@inline function addEntryKey(e: Entry): void { addBulk(e.keyPtr, <usize>e.keyLen); }
