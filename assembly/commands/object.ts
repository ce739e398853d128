// OBJECT ENCODING / REFCOUNT / IDLETIME / FREQ / HELP (Redis's object.c objectCommand).
//
// The kernel does not keep Redis's robj, so the answers are what Redis would say for the
// same value: strings are int (a canonical i64), embstr (up to 44 bytes) or raw; hashes
// listpack while small, hashtable after; host-held values ask the host. Small integers
// (0..9999) are Redis's shared objects, whose refcount reads INT_MAX.

import { argc, argPtr, argLen, argIs, argString, db } from "./context";
import { defineCommand, defineStatsRow, countAs, KernelCommand, COUNT_NONE, COUNT_REJECTED } from "./table";
import { lookupKeyReadNoTouch, now, lfuPolicy, lfuDecrAndReturn, sharedIntegers } from "../keyspace/keyspace";
import { Entry, OBJ_STRING, OBJ_LIST, OBJ_SET, OBJ_ZSET, OBJ_HASH, OBJ_STREAM } from "../keyspace/entry";
import { setIsIntset } from "../keyspace/set-value";
import { addInt, addError, addStatus, addArrayLen, addNullBulk, addBulk } from "../resp/reply-writer";

// Redis's OBJ_ENCODING_* numbering (server.h); the host answers in these terms.
export const ENC_RAW: i32 = 0;
export const ENC_INT: i32 = 1;
export const ENC_HT: i32 = 2;
export const ENC_INTSET: i32 = 6;
export const ENC_SKIPLIST: i32 = 7;
export const ENC_EMBSTR: i32 = 8;
export const ENC_QUICKLIST: i32 = 9;
export const ENC_STREAM: i32 = 10;
export const ENC_LISTPACK: i32 = 11;

const EMBSTR_SIZE_LIMIT: i32 = 44;
const SHARED_INTEGERS: i64 = 10000;
const OBJ_SHARED_REFCOUNT: i64 = 2147483647;

/** The host's encoding (ENC_*) of a value it holds, or -1 when it does not say. */
@external("env", "handleEncoding")
declare function hostHandleEncoding(type: i32, handle: i32): i32;

export function registerObjectCommand(): void {
  defineCommand("object", objectCommand);
  helpRow = defineStatsRow("object|help");
  encodingRow = defineStatsRow("object|encoding");
  refcountRow = defineStatsRow("object|refcount");
  idletimeRow = defineStatsRow("object|idletime");
  freqRow = defineStatsRow("object|freq");
}

// Each subcommand's INFO commandstats row (Redis counts cmdstat_object|encoding...).
let helpRow: KernelCommand | null = null;
let encodingRow: KernelCommand | null = null;
let refcountRow: KernelCommand | null = null;
let idletimeRow: KernelCommand | null = null;
let freqRow: KernelCommand | null = null;

const HELP: string[] = [
  "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "ENCODING <key>",
  "    Return the kind of internal representation used in order to store the value",
  "    associated with a <key>.",
  "FREQ <key>",
  "    Return the access frequency index of the <key>. The returned integer is",
  "    proportional to the logarithm of the recent access frequency of the key.",
  "IDLETIME <key>",
  "    Return the idle time of the <key>, that is the approximated number of",
  "    seconds elapsed since the last access to the key.",
  "REFCOUNT <key>",
  "    Return the number of references of the value associated with the specified",
  "    <key>.",
  "HELP",
  "    Prints this help.",
];

function objectCommand(): void {
  // OBJECT is a container command: the host table binds only its arity (-2), so the
  // subcommand and its arity are checked here, with Redis's messages.
  let sub = "";
  if (argIs(1, "help")) sub = "help";
  else if (argIs(1, "encoding")) sub = "encoding";
  else if (argIs(1, "refcount")) sub = "refcount";
  else if (argIs(1, "idletime")) sub = "idletime";
  else if (argIs(1, "freq")) sub = "freq";
  else {
    let name = argString(1);
    if (name.length > 128) name = name.substring(0, 128);
    addError("unknown subcommand '" + name + "'. Try OBJECT HELP.");
    countAs(null, COUNT_NONE);
    return;
  }
  const row = sub == "help" ? helpRow : sub == "encoding" ? encodingRow : sub == "refcount" ? refcountRow : sub == "idletime" ? idletimeRow : freqRow;
  const arity = sub == "help" ? 2 : 3;
  if (argc != arity) {
    addError("wrong number of arguments for 'object|" + sub + "' command");
    countAs(row, COUNT_REJECTED);
    return;
  }
  countAs(row);
  if (sub == "help") {
    addArrayLen(HELP.length);
    for (let i = 0; i < HELP.length; i++) addStatus(unchecked(HELP[i]));
    return;
  }
  // Looking at a key must not change its idle time (Redis: LOOKUP_NOTOUCH).
  const e = lookupKeyReadNoTouch(db, argPtr(2), argLen(2));
  if (e == null) { addNullBulk(); return; }
  if (sub == "encoding") {
    const name = encodingName(encodingOf(e));
    addBulk(changetype<usize>(String.UTF8.encode(name)), <usize>name.length);
  } else if (sub == "refcount") {
    addInt(e.type == OBJ_STRING && e.isInt && e.intVal >= 0 && e.intVal < SHARED_INTEGERS && sharedIntegers
      ? OBJ_SHARED_REFCOUNT : 1);
  } else if (sub == "idletime") {
    if (lfuPolicy) {
      addError("An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
      return;
    }
    const idle = now / 1000 - <i64>e.lruSecs;
    addInt(idle < 0 ? 0 : idle);
  } else {
    if (!lfuPolicy) {
      addError("An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.");
      return;
    }
    addInt(<i64>lfuDecrAndReturn(e));
  }
}

export function encodingOf(e: Entry): i32 {
  if (e.type == OBJ_STRING) {
    if (e.isInt) return ENC_INT;
    return !e.isRaw && <i32>e.strLen() <= EMBSTR_SIZE_LIMIT ? ENC_EMBSTR : ENC_RAW;
  }
  if (e.type == OBJ_HASH) return hashIsSmall(e) ? ENC_LISTPACK : ENC_HT;
  // Redis 7.0 stores every list as a quicklist (listpack-encoded small lists arrived in 7.2).
  if (e.type == OBJ_LIST) return ENC_QUICKLIST;
  // A zset the kernel holds is a listpack (keyspace/zset-value.ts).
  if (e.type == OBJ_ZSET && e.val != null) return ENC_LISTPACK;
  // A set the kernel holds (keyspace/set-value.ts) says which of Redis 7.0's two it is.
  if (e.type == OBJ_SET && e.val != null) return setIsIntset(e) ? ENC_INTSET : ENC_HT;
  const enc = hostHandleEncoding(<i32>e.type, e.handle);
  if (enc >= 0) return enc;
  switch (e.type) {
    case OBJ_LIST: return ENC_QUICKLIST;
    case OBJ_SET: return ENC_HT;
    case OBJ_ZSET: return ENC_SKIPLIST;
    case OBJ_STREAM: return ENC_STREAM;
  }
  return ENC_RAW;
}

function hashIsSmall(e: Entry): bool {
  const h = e.hashVal;
  return h == null || h.isListpack;
}

export function encodingName(enc: i32): string {
  switch (enc) {
    case ENC_RAW: return "raw";
    case ENC_INT: return "int";
    case ENC_HT: return "hashtable";
    case 3: return "zipmap";
    case 4: return "linkedlist";
    case 5: return "ziplist";
    case ENC_INTSET: return "intset";
    case ENC_SKIPLIST: return "skiplist";
    case ENC_EMBSTR: return "embstr";
    case ENC_QUICKLIST: return "quicklist";
    case ENC_STREAM: return "stream";
    case ENC_LISTPACK: return "listpack";
  }
  return "unknown";
}
