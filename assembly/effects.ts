// Effect records: what every write did, for the host's consumers (WATCH, keyspace
// notifications, replication, persistence). The kernel appends records to a byte log the
// host drains after each call; recording is off until the host turns it on, so the hot
// path pays one branch when nobody listens.
//
// Record layout (little-endian):
//   u32 recordLen   bytes of the whole record, this field included
//   u8  kind        EFFECT_COMMAND (a write command as executed) or EFFECT_EXPIRED / EFFECT_EVICTED /
//                   EFFECT_HANDLE_FREED (a key removed by the kernel itself)
//   u8  db
//   u16 hint        EFFECT_COMMAND: what a consumer cannot tell from the argv (HINT_*), else 0
//   u32 argc        then argc times: u32 len, len bytes
//   i64 result      only when hint has HINT_INT_RESULT: the integer the command produced
// For EFFECT_COMMAND the arguments are the command's argv; for key records, the one key.

export const EFFECT_COMMAND: u8 = 1;
export const EFFECT_EXPIRED: u8 = 2;
export const EFFECT_EVICTED: u8 = 3;

/** The recorded SET/HSET is the result of INCRBYFLOAT/HINCRBYFLOAT (CRDT replication counts it). */
export const HINT_FLOAT_INCR: u16 = 1;

/**
 * The record ends with the integer the command left in the key (INCR/DECR/INCRBY/DECRBY):
 * CRDT replication checks its counter against it instead of reading the key back.
 */
export const HINT_INT_RESULT: u16 = 2;

/**
 * The command changed nothing but Redis still signals and notifies it (LTRIM keeping every
 * element): WATCH, tracking and keyspace notifications see it; AOF, replicas and CRDT peers
 * do not (the host gives the effect no propagation target).
 */
export const HINT_NO_PROPAGATE: u16 = 4;

/**
 * The recorded SREM (or DEL) is what SPOP propagates: keyspace notifications say "spop", as
 * spopCommand notifies, not "srem" (src/pubsub/notify.ts).
 */
export const HINT_SPOP: u16 = 8;

/**
 * Keyspace notifications' "del" after a pop, trim or remove, or a *STORE's empty result:
 * whether argv[1] (KEY1) / argv[2] (KEY2) existed right after the command. Recorded only
 * while the host asks (setKeyGoneHints): a pipeline runs in one kernel call and the host reads
 * its effects after the whole run, when a later command may have removed or re-created the key.
 */
export const HINT_KEYS_CHECKED: u16 = 64;
export const HINT_KEY1_GONE: u16 = 128;
export const HINT_KEY2_GONE: u16 = 256;

/**
 * The record belongs to the same command as the record before it in the log (a key the
 * command found expired and deleted, then the command itself): consumers that replay writes
 * wrap such a run in MULTI/EXEC, as Redis 7.0 wraps what one call propagates when it is more
 * than one command (propagatePendingCommands).
 */
export const HINT_CONTINUES: u16 = 512;

/** Marks every record from `start` (a log offset) on but the first as HINT_CONTINUES. */
export function markContinuation(start: usize): void {
  let p = effectsPtr + start;
  const end = effectsPtr + effectsLen;
  if (p >= end) return;
  p += <usize>load<u32>(p);
  while (p < end) {
    store<u16>(p, load<u16>(p, 6) | HINT_CONTINUES, 6);
    p += <usize>load<u32>(p);
  }
}

/**
 * Set by SCAN and RANDOMKEY, which Redis 7.0 exempts: the keys they find expired propagate
 * one DEL each, never wrapped (expire.tcl "Lazy-expire should not be wrapped in MULTI/EXEC").
 */
let apart = false;
export function propagateApart(): void { apart = true; }
/** Whether the command that ran asked for propagateApart (and clears it). */
export function takeApart(): bool { const a = apart; apart = false; return a; }

export let keyGoneHints = false;
export function setKeyGoneHints(on: bool): void { keyGoneHints = on; }

/** Adds the KEY1/KEY2 hints to the next command record. */
export function hintKeysGone(gone1: bool, gone2: bool): void {
  nextHint |= HINT_KEYS_CHECKED | (gone1 ? HINT_KEY1_GONE : 0) | (gone2 ? HINT_KEY2_GONE : 0);
}

/** The hint of the next command record (set by the handler, taken by recordCommand). */
let nextHint: u16 = 0;
let nextIntResult: i64 = 0;
export function hintNextCommand(h: u16): void { nextHint = h; }

/** The next command record carries `v` as its result (HINT_INT_RESULT). */
export function intResultNextCommand(v: i64): void { nextHint |= HINT_INT_RESULT; nextIntResult = v; }

export let effectsEnabled = false;
let cap: usize = 16 * 1024;
export let effectsPtr: usize = heap.alloc(cap);
export let effectsLen: usize = 0;

export function setEffectsEnabled(on: bool): void { effectsEnabled = on; }
export function resetEffects(): void { effectsLen = 0; }

function ensure(n: usize): void {
  if (effectsLen + n <= cap) return;
  while (cap < effectsLen + n) cap <<= 1;
  effectsPtr = heap.realloc(effectsPtr, cap);
}

function header(kind: u8, db: i32, argc: i32, bodyLen: usize): usize {
  const total: usize = 12 + bodyLen;
  ensure(total);
  const p = effectsPtr + effectsLen;
  store<u32>(p, <u32>total);
  store<u8>(p, kind, 4);
  store<u8>(p, <u8>db, 5);
  store<u16>(p, 0, 6);
  store<u32>(p, <u32>argc, 8);
  effectsLen += total;
  return p + 12;
}

/** Records a write command with its argv given as (ptr, len) pairs at argvPtr. */
export function recordCommand(db: i32, argc: i32, argvPtr: usize): void {
  let body: usize = 0;
  for (let i = 0; i < argc; i++) body += 4 + <usize>load<u32>(argvPtr + (<usize>i << 3) + 4);
  const hint = nextHint;
  if (hint & HINT_INT_RESULT) body += 8;
  let p = header(EFFECT_COMMAND, db, argc, body);
  store<u16>(p - 12, hint, 6);
  nextHint = 0;
  for (let i = 0; i < argc; i++) {
    const ptr = <usize>load<u32>(argvPtr + (<usize>i << 3));
    const len = <usize>load<u32>(argvPtr + (<usize>i << 3) + 4);
    store<u32>(p, <u32>len);
    memory.copy(p + 4, ptr, len);
    p += 4 + len;
  }
  if (hint & HINT_INT_RESULT) store<i64>(p, nextIntResult);
}

/** Records a key the kernel removed on its own (expiry, eviction). */
export function recordKey(kind: u8, db: i32, keyPtr: usize, len: usize): void {
  const p = header(kind, db, 1, 4 + len);
  store<u32>(p, <u32>len);
  memory.copy(p + 4, keyPtr, len);
}

// ---- keys created (the `new` keyspace event) -----------------------------------------------
//
// A separate log, not an effect kind: effect consumers (AOF, replication) must not see it.
// Off unless the host's notifier turns it on (notify-keyspace-events with n); dbAdd appends
// each key it creates, in the same record layout with kind EFFECT_NEW_KEY. The host drains it
// after every kernel call and after each key it creates through setKeyHandle.

export const EFFECT_NEW_KEY: u8 = 4;

export let newKeyLogEnabled = false;
let newCap: usize = 1024;
export let newKeysPtr: usize = heap.alloc(newCap);
export let newKeysLen: usize = 0;

export function setNewKeyLogEnabled(on: bool): void { newKeyLogEnabled = on; newKeysLen = 0; }
export function clearNewKeys(): void { newKeysLen = 0; }

/** Records a key dbAdd created in db. */
export function recordNewKey(db: i32, keyPtr: usize, len: usize): void {
  const total: usize = 16 + len;
  if (newKeysLen + total > newCap) {
    while (newCap < newKeysLen + total) newCap <<= 1;
    newKeysPtr = heap.realloc(newKeysPtr, newCap);
  }
  const p = newKeysPtr + newKeysLen;
  store<u32>(p, <u32>total);
  store<u8>(p, EFFECT_NEW_KEY, 4);
  store<u8>(p, <u8>db, 5);
  store<u16>(p, 0, 6);
  store<u32>(p, 1, 8);
  store<u32>(p, <u32>len, 12);
  memory.copy(p + 16, keyPtr, len);
  newKeysLen += total;
}
