// What a kernel command handler sees: the parsed argv and the selected database, plus
// small helpers that parse arguments with Redis's error replies ("...OrReply" in Redis:
// when one returns false it has already written the error, so the handler just returns).

import { argc, argPtr, argLen, argvPtr, truncateArgv } from "../resp/parser";
import { Db, dbs } from "../keyspace/keyspace";
import { addError } from "../resp/reply-writer";
import { string2ll, parsedInt, string2d, parsedDouble } from "../util/number";

export { argc, argPtr, argLen };

/** The database of the client whose command is running. */
export let db: Db = changetype<Db>(0);
export let dbIndex: i32 = 0;

export function selectDb(i: i32): void {
  dbIndex = i;
  db = unchecked(dbs[i]);
}

/** Case-insensitive comparison of argument i with a lowercase ASCII word. */
export function argIs(i: i32, word: string): bool {
  const len = argLen(i);
  if (len != <usize>word.length) return false;
  const p = argPtr(i);
  for (let j: usize = 0; j < len; j++) {
    let c = <u32>load<u8>(p + j);
    if (c >= 0x41 && c <= 0x5a) c += 32;
    if (c != <u32>word.charCodeAt(<i32>j)) return false;
  }
  return true;
}

/** The argument as a managed copy (cold paths: error messages, stored values). */
export function argString(i: i32): string {
  return String.UTF8.decodeUnsafe(argPtr(i), argLen(i));
}

export let intArg: i64 = 0;
export let doubleArg: f64 = 0;

export const ERR_NOT_INTEGER = "value is not an integer or out of range";
export const ERR_NOT_FLOAT = "value is not a valid float";
export const ERR_SYNTAX = "syntax error";
export const ERR_WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";
export const ERR_OVERFLOW = "increment or decrement would overflow";

/** Parses argument i as an i64 into intArg, or replies "value is not an integer or out of range". */
export function getIntOrReply(i: i32): bool {
  if (!string2ll(argPtr(i), argLen(i))) {
    addError(ERR_NOT_INTEGER);
    return false;
  }
  intArg = parsedInt;
  return true;
}

/** Parses argument i as a double into doubleArg, or replies "value is not a valid float". */
export function getDoubleOrReply(i: i32): bool {
  if (!string2d(argPtr(i), argLen(i))) {
    addError(ERR_NOT_FLOAT);
    return false;
  }
  doubleArg = parsedDouble;
  return true;
}

/**
 * Replaces argument i of the running command, so that the effect log records what the
 * command did rather than what it was asked (Redis's rewriteClientCommandArgument: EXPIRE
 * propagates as PEXPIREAT <absolute ms>). [ptr, ptr+len) must stay valid until the command
 * returns; later arguments read through argPtr(i) see the new value.
 */
export function rewriteArg(i: i32, ptr: usize, len: usize): void {
  const slot = argvPtr + (<usize>i << 3);
  store<u32>(slot, <u32>ptr);
  store<u32>(slot + 4, <u32>len);
}

/** Rewrites the whole argv as `name key` (Redis's rewriteClientCommandVector(c, 2, ...)). */
export function rewriteArgvTo2(name: ArrayBuffer, keyIndex: i32): void {
  rewriteArg(1, argPtr(keyIndex), argLen(keyIndex));
  rewriteArg(0, changetype<usize>(name), <usize>name.byteLength);
  truncateArgv(2);
}

/**
 * A command the kernel shares with the host (ZADD, ZPOPMIN, ZPOPMAX: src/commands/zsets.ts
 * runs them too) may find, before it has replied or changed anything, that the host must
 * run it: the key holds a host value, or the result would not stay a kernel value. The
 * handler calls declineToHost() and returns; process() then hands the command back as it
 * hands back a host command (STATUS_HOST), uncounted, and the host runs it in full.
 */
let declined = false;
export function declineToHost(): void { declined = true; }
/** Whether the handler that just ran declined (and forgets it). */
export function takeDeclined(): bool {
  if (!declined) return false;
  declined = false;
  return true;
}
