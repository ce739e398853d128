// The kernel's boundary: everything the host calls. One WebAssembly instance is one shard.
//
// Call protocol (host side: src/kernel/kernel.ts):
//   1. init(databases, seed) once.
//   2. The host copies request bytes into kernel memory (alloc) and calls
//      process(start, end, db, nowMs). The kernel parses and executes every complete
//      command it owns, appending replies to the output region, until one of:
//        STATUS_DONE        all complete commands ran; consumedPos() is where an incomplete
//                           tail starts (needBytes(): how much input could complete it)
//        STATUS_HOST        the next command is not the kernel's (LPUSH, EVAL, SELECT...), or,
//                           with several shards, not this shard's (a key in another shard's
//                           slots, or a keyspace-wide command: see cluster/ownership.ts):
//                           its argv is in argvPtr()/argc(), its request bytes are
//                           [commandStart(), consumedPos()); consumedPos() is past it. The
//                           host sends the output so far, runs it, then calls process() again
//                           from consumedPos(), so pipeline order is kept.
//        STATUS_PROTO_ERROR a protocol error reply was written; send it and close.
//        STATUS_YIELD       the output region is large: send it, then call again.
//   3. After each call the host drains freed handles and (if enabled) effect records.
//
// The kernel has no clock and no randomness of its own: both come from the host. (It reads
// the host's monotonic clock only to time commands for the slow log and the latency monitor,
// assembly/command-timing.ts; no result depends on it.)

import { setClientReplyLimit as setReplyLimit, setNestedCall, setNestedReplyCut as setReplyCut } from "./commands/output-limit";
import { parseCommand, PARSE_OK, PARSE_EMPTY, PARSE_INCOMPLETE, nextPos, needBytes as parserNeed,
  protoError, argc as parsedArgc, argvPtr as parsedArgvPtr, protoMaxBulkLen } from "./resp/parser";
import * as parser from "./resp/parser";
import { resetOutput, outPtr, outLen, addError, errorCount, setResp, errorCodes, errorCodeCounts,
  resetErrorCodes } from "./resp/reply-writer";
import { lazyHandles, lazyfreedObjects, takeLazyfreed, setLazyfreeConfig as setLazyfreeBits } from "./keyspace/keyspace";
import { initKeyspace, setNow, dbs, freedHandles, activeExpireCycle as expireCycle, dirty,
  setActiveExpire as setActiveExpireFlag, setLfuPolicy as setLfuPolicyFlag, setLfuParams as setLfuParamsVals,
  hostSetHandle, hostKeyHandle, moveToHost, keyIsExpired, takeForcedPropagation, restoreDirty, lookupKeyRead, lookupKeyWrite, dbDelete, keyspaceHits, keyspaceMisses, expiredKeys } from "./keyspace/keyspace";
import { setHashSeed, hashBytes } from "./keyspace/hash";
import { selectDb, dbIndex, takeDeclined } from "./commands/context";
import { KernelCommand, lookupCommand, arityOk, commands, CMD_WRITE, CMD_DENYOOM, bindCommand as bind, takeCountedAs, countedRejected } from "./commands/table";
import { effectsEnabled, recordCommand, resetEffects, effectsPtr as effPtr, effectsLen as effLen,
  setEffectsEnabled as setEffects, keyGoneHints, hintKeysGone, markContinuation, takeApart } from "./effects";
import { lookupKey } from "./keyspace/keyspace";
import { keyHashSlot, clearSlotMemo } from "./cluster/slot";
import { prefetchWorth, prefetchKeys, prefetchListWorth, prefetchListKeys, prefetchedReads, oneKeyReads } from "./keyspace/prefetch";
import { newKeysPtr as newKeysPtrVar, newKeysLen as newKeysLenVar } from "./effects";
import { registerStringCommands } from "./commands/strings";
import { registerHashCommands } from "./commands/hashes";
import { registerListCommands } from "./commands/lists";
import { registerZsetCommands, setZsetLimits } from "./commands/zsets";
import { registerSetCommands, setMaxIntsetEntries } from "./commands/sets";
import { setListLimits as setListNodeLimits } from "./keyspace/list-value";
import { setHashListpackLimits as setHashLimits } from "./keyspace/hash-value";
import { keyMemoryUsage as memoryUsageOf } from "./keyspace/memory-usage";
import { settleMemory, datasetBytes } from "./keyspace/memory";
import { evictOne as evictOneKey, clearEvictionPool } from "./keyspace/evict";
import { registerKeyCommands } from "./commands/keys";
import { registerExpireCommands } from "./commands/keys-expire";
import { registerObjectCommand } from "./commands/object";
import { registerConnectionCommands } from "./commands/connection";
import { registerHyperLogLogCommands } from "./commands/hyperloglog";
export { setHllSparseMaxBytes } from "./commands/hyperloglog";
import { stringmatchlen } from "./util/glob";
import { routing, ownsCommand, handedShard, setRouting, restoreRouting, shardCount, inClusterMode } from "./cluster/ownership";
import { canDefer, deferCommand, resetDeferred, deferCount, deferList, deferLog, LIST_ENTRY, ENTRY_HEAD, handoffTable } from "./cluster/deferred";
export { setSlotRange, setRouting, setClusterMode, setSlotsServed, handedShard } from "./cluster/ownership";
export { migrateOut, migrateIn, migrateInTemp, migrateInBatch, dbReserve } from "./cluster/migrate";
export { tempDbsCreate, tempDbsSwap } from "./keyspace/keyspace";
import { tempDbsDiscard as discardTempDbs } from "./keyspace/keyspace";
/** Empties and drops the temp set (keyspace.ts); its entries are freed now, not at the next command. */
export function tempDbsDiscard(): f64 {
  const n = discardTempDbs();
  settleMemory();
  return n;
}
export { countKeysInSlot, keysInSlot, slotIndexBytes } from "./cluster/slot-index";
import { keysPtr, keysLen } from "./cluster/slot-index";
export function slotKeysPtr(): usize { return keysPtr; }
export function slotKeysLen(): usize { return keysLen; }
export { snapshotDb } from "./persistence/snapshot";
export { bgsaveBegin, bgsaveStep, bgsaveEnd, bgsaveOutPtr, bgsaveOutLen, bgsaveDrained, bgsaveCowBytes } from "./persistence/bgsave";
import { blobPtr, blobLen } from "./cluster/migrate";
import { timesCommand, commandClock, clockStale, noteCommandTime, resetSlowCommands, slowCommandsFull, slowBuf, slowCount } from "./command-timing";
export { setSlowCommandThreshold } from "./command-timing";

export const STATUS_DONE: i32 = 0;
export const STATUS_HOST: i32 = 1;
export const STATUS_PROTO_ERROR: i32 = 2;
export const STATUS_YIELD: i32 = 3;

/** Output beyond this many bytes makes process() yield so the host can send it. */
const YIELD_OUTPUT_BYTES: usize = 1 << 20;

/**
 * The client whose input is being processed is in MULTI: every command is handed back, so
 * the host queues it (src/commands/multi.ts) instead of the kernel running it now.
 */
let queueing = false;
export function setQueueing(on: bool): void { queueing = on; }

/**
 * CRDT replication is on: the commands the host marked (setCommandHandBack: writes whose
 * capture reads the key back) are handed back to run alone; the rest of a pipeline still
 * runs in one call. Off in the host's own nested calls (Shard.callRaw).
 */
let handBackOn = false;
export function setHandBack(on: bool): void { handBackOn = on; }
export { setCommandHandBack } from "./commands/table";

/**
 * This server is a read-only replica (replica-read-only yes): write commands are handed
 * back so the host answers -READONLY; the host turns this off for the commands it runs
 * itself (the master's stream, routed calls).
 */
let readOnly = false;
export function setReadOnly(on: bool): void { readOnly = on; }

/**
 * Used memory is over maxmemory (the host decides, src/server/maxmemory.ts): commands that
 * may grow memory are handed back so the host answers -OOM, as Redis's processCommand does.
 */
let oom = false;
export function setOom(on: bool): void { oom = on; }

/**
 * The host runs a command as part of its own work, not a client's (the FLUSHALL of emptyData:
 * DEBUG RELOAD, a replica's full sync). It changes the data and records its effect for the
 * host's local watchers, but counts no call (commandstats, total commands) and no change
 * (the dirty counter): Redis's emptyData is no command.
 */
let internalCall = false;
export function setInternalCall(on: bool): void { internalCall = on; }

/**
 * maxmemory with an eviction policy: once this shard's dataset grows past `bytes`, denyoom
 * commands are handed back so the host can evict (src/server/maxmemory.ts) before running
 * them, as Redis's processCommand calls performEvictions. 0: no budget.
 */
let memBudget: i64 = 0;
export function setMemoryBudget(bytes: f64): void { memBudget = <i64>bytes; }
function overBudget(): bool {
  if (memBudget <= 0) return false;
  settleMemory();
  return datasetBytes > memBudget;
}

let consumed: usize = 0;
let need: usize = 0;
let handedStart: usize = 0;
let handedToRoute = false;

// The commands each process() call ran, in order (u16 command indexes), so the host can
// share the call's measured time among them (INFO commandstats usec, latencystats).
const RAN_CAP: i32 = 4096;
const ranBuf = heap.alloc(<usize>RAN_CAP << 1);
let ranCount: i32 = 0;

/** seed: 53 random bits from the host (f64 so that no BigInt crosses the boundary). */
export function init(databases: i32, seed: f64): void {
  const s = <u64>seed;
  initKeyspace(databases, s);
  setHashSeed(<u32>(s ^ (s >> 32)));
  registerStringCommands();
  registerHashCommands();
  registerListCommands();
  registerZsetCommands();
  registerSetCommands();
  registerKeyCommands();
  registerExpireCommands();
  registerHyperLogLogCommands();
  registerObjectCommand();
  registerConnectionCommands();
}

export function alloc(size: usize): usize { return heap.alloc(size); }
export function realloc(ptr: usize, size: usize): usize { return heap.realloc(ptr, size); }
export function free(ptr: usize): void { heap.free(ptr); }

export function process(start: usize, end: usize, db: i32, nowMs: f64): i32 {
  const st = processCommands(start, end, db, nowMs);
  clearSlotMemo();
  settleMemory();
  publishCallResults(st);
  return st;
}

// The results of the last process() call, also in one block of memory (u32 each) that the
// host reads with no further call (Kernel.run in src/kernel/kernel.ts). With several shards
// the host's call sites see several instances' exports, and V8 then calls each export
// through its slow generic path: one call per read instead of ten is what makes a read that
// moves between shards cheap. Layout: status, consumedPos, needBytes, commandStart,
// handedForRouting, handedShard (i32), ranCommands, slowCommands, outputPtr, outputLen,
// pendingWork(); then one the host writes before a call: the start of a command it knows
// this shard owns (TRUSTED_AT, 0: none), read and cleared when process() begins; then
// deferredCount (cluster/deferred.ts), the request bytes [start, end) of the last
// command run, and the error replies the call counted (Shard.callRaw's caller reads it
// instead of calling errorRepliesEver() before and after).
const callResults: usize = heap.alloc(64);
const TRUSTED_AT: usize = 44;
store<u32>(callResults, 0, TRUSTED_AT);
export function callResultsPtr(): usize { return callResults; }
function publishCallResults(st: i32): void {
  store<u32>(callResults, <u32>st);
  store<u32>(callResults, <u32>consumed, 4);
  store<u32>(callResults, <u32>need, 8);
  store<u32>(callResults, <u32>handedStart, 12);
  store<u32>(callResults, handedToRoute ? 1 : 0, 16);
  store<i32>(callResults, st == STATUS_HOST && handedToRoute ? handedShard() : -1, 20);
  store<u32>(callResults, <u32>ranCount, 24);
  store<u32>(callResults, <u32>slowCount, 28);
  store<u32>(callResults, <u32>outPtr, 32);
  store<u32>(callResults, <u32>outLen, 36);
  store<u32>(callResults, <u32>pendingWork(), 40);
  store<u32>(callResults, <u32>deferCount, 48);
  store<u32>(callResults, <u32>lastRanStart, 52);
  store<u32>(callResults, <u32>lastRanEnd, 56);
  store<u32>(callResults, <u32>(errorCount - errorsAtBegin), 60);
}
/** errorCount when the call began: the results block says how many error replies the call counted. */
let errorsAtBegin: i64 = 0;

/**
 * Whether Shard.afterCall has anything to collect (one call instead of one per kind): bit 1
 * lazily freed host handles, 2 lazily freed kernel objects, 4 freed handles, 8 created keys,
 * 16 effect records.
 */
export function pendingWork(): i32 {
  return (lazyHandles.length > 0 ? 1 : 0) | (lazyfreedObjects > 0 ? 2 : 0) | (freedHandles.length > 0 ? 4 : 0) |
    (newKeysLenVar > 0 ? 8 : 0) | (effLen > 0 ? 16 : 0);
}

function processCommands(start: usize, end: usize, db: i32, nowMs: f64): i32 {
  beginCall(db, nowMs);
  // With several shards the host follows a command's keys into the shard that owns them
  // (src/server/client.ts): that first command's slots were just computed by the shard
  // that refused it, so they are not computed again here.
  const trusted = <usize>load<u32>(callResults, TRUSTED_AT);
  if (trusted != 0) store<u32>(callResults, 0, TRUSTED_AT);
  // Several shards: the keys of this shard's slots, when the others' commands go to hand-off
  // lists (canDefer) rather than move the read to their shard.
  if (prefetchWorth(start, end)) {
    if (!routing) prefetchKeys(start, end, false);
    else if (shardCount > 1 && !inClusterMode() && canDefer()) prefetchKeys(start, end, true);
  }
  let pos = start;
  while (true) {
    const cmdStart = pos;
    const r = parseCommand(pos, end);
    if (r == PARSE_INCOMPLETE) {
      consumed = pos;
      need = parserNeed - pos;
      return STATUS_DONE;
    }
    if (r < 0) {
      addError(protoError);
      consumed = pos;
      return STATUS_PROTO_ERROR;
    }
    pos = nextPos;
    if (r == PARSE_EMPTY) continue;
    const cmd = lookupCommand(parser.argPtr(0), parser.argLen(0));
    if (cmd == null || cmd.statsOnly || queueing || (handBackOn && cmd.handBack)) {
      consumed = pos;
      handedStart = cmdStart;
      handedToRoute = false;
      return STATUS_HOST;
    }
    const argc = parsedArgc;
    if (!arityOk(cmd, argc)) {
      addError("wrong number of arguments for '" + cmd.name + "' command");
      cmd.rejectedCalls++;
    } else if (handedBeforeRun(cmd)) {
      consumed = pos;
      handedStart = cmdStart;
      handedToRoute = false;
      return STATUS_HOST;
    } else if (routing && cmdStart != trusted && !ownsCommand(cmd, argc)) {
      const owner = handedShard();
      // All its keys are in one other shard: that shard runs it later (cluster/deferred.ts),
      // unless it is the call's only command. Then the host carries on parsing in that shard
      // (one more call, no list and no reply join: a read of one command, as at
      // redis-benchmark -P 1, costs two plain process() calls). A first command with more
      // input after it is deferred like the others: following it copied the rest of the read
      // into its shard and parsed there again, for three reads in four of a pipeline of random
      // keys with 4 shards (~13 KB a read of SET -d 1024 -P 16).
      // It goes in a hand-off block for that shard, parsed (cluster/deferred.ts).
      if (owner < 0 || !canDefer() || (cmdStart == start && pos >= end) || !deferCommand(owner, cmdStart, pos, outLen, ranCount, cmd.index)) {
        consumed = pos;
        handedStart = cmdStart;
        handedToRoute = true;
        return STATUS_HOST;
      }
    } else if (!runParsed(cmd, cmdStart, pos)) {
      consumed = pos;
      handedStart = cmdStart;
      handedToRoute = false;
      return STATUS_HOST;
    }
    if (outLen >= YIELD_OUTPUT_BYTES || slowCommandsFull()) {
      consumed = pos;
      return STATUS_YIELD;
    }
  }
  return STATUS_DONE;
}

/** A call's common start: empty output and per-call logs, the host's time and db. */
function beginCall(db: i32, nowMs: f64): void {
  errorsAtBegin = errorCount;
  resetOutput();
  ranCount = 0;
  resetSlowCommands();
  resetEffects();
  resetDeferred();
  setNow(<i64>nowMs);
  selectDb(db);
}

/** A command the host must see before anything runs: a write on a read-only replica, or one that may grow memory past the limit. */
@inline function handedBeforeRun(cmd: KernelCommand): bool {
  return (readOnly && (cmd.flags & CMD_WRITE) != 0) || ((cmd.flags & CMD_DENYOOM) != 0 && (oom || overBudget()));
}

/**
 * Runs the parsed command (arity checked) whose request bytes are [cmdStart, pos): the
 * handler, its statistics, timing and effect record. False when the handler declined it
 * (context.ts declineToHost): nothing was replied or changed, the host runs it.
 */
function runParsed(cmd: KernelCommand, cmdStart: usize, pos: usize): bool {
  const dirtyBefore = dirty;
  const errorsBefore = errorCount;
  // A nested call (processNested) is timed by its host caller, which never reads the
  // kernel's records of it: no clock reading per command there.
  const timed = !untimedCall && timesCommand(cmd, parsedArgc, pos - cmdStart);
  const t0 = timed ? commandClock() : 0;
  const logStart = effLen;
  cmd.handler();
  // OBJECT ENCODING counts as object|encoding (commands/table.ts defineStatsRow).
  const counted = takeCountedAs(cmd);
  if (takeDeclined()) {
    if (timed) clockStale();
    return false;
  }
  if (counted == null || countedRejected()) {
    // Refused as Redis's processCommand refuses it (OBJECT with an unknown subcommand or
    // a subcommand's wrong arity): no call, no time; a rejected call of a known row.
    if (counted != null) counted.rejectedCalls++;
    clockStale();
  } else if (internalCall) {
    clockStale();
  } else {
    if (timed) noteCommandTime(cmdStart, pos, counted.index, t0); else clockStale();
    counted.calls++;
    if (ranCount < RAN_CAP) store<u16>(ranBuf + (<usize>ranCount << 1), <u16>counted.index);
    ranCount++;
    lastRanStart = cmdStart;
    lastRanEnd = pos;
    if (errorCount != errorsBefore) counted.failedCalls++;
  }
  const forced = takeForcedPropagation();
  // A forced effect is recorded even for a non-write command (PFCOUNT's cache update).
  if (effectsEnabled && (forced || (dirty != dirtyBefore && (cmd.flags & CMD_WRITE) != 0))) {
    // parsedArgc, not argc: the handler may have rewritten the argv (EXPIRE -> DEL).
    if (keyGoneHints) hintKeysGone(argAbsent(1), argAbsent(2));
    recordCommand(dbIndex, parsedArgc, parsedArgvPtr);
  }
  // More than one record from this command (keys it found expired, then itself): one unit.
  if (!takeApart() && effLen > logStart) markContinuation(logStart);
  if (internalCall) restoreDirty(dirtyBefore);
  return true;
}

/** Whether the command's argv[i] names no live key of its db now (false past the last argument). */
function argAbsent(i: i32): bool {
  if (i >= parsedArgc) return false;
  const slot = parsedArgvPtr + (<usize>i << 3);
  return lookupKey(dbs[dbIndex], <usize>load<u32>(slot), <usize>load<u32>(slot + 4), true) == null;
}

/** The request bytes of the last command a call ran (the slow log's single-command case). */
let lastRanStart: usize = 0;
let lastRanEnd: usize = 0;

/**
 * Runs entries [first, count) of a hand-off block another shard made of the commands it
 * deferred to this one (cluster/deferred.ts), which the host copied here to `block`: each
 * entry is parsed already (command index, argument offsets), so nothing is parsed or looked
 * up again. Entry i's request start, the next entry's position and the output length after
 * it go to list entry i (deferListPtr()). Stops as process() does: STATUS_HOST for a command
 * to hand back (declined, or a check the host makes first; its argv is set), STATUS_YIELD
 * once the output is large; consumedPos() is then the index of the first entry not run (the
 * handed-back one for STATUS_HOST). A call from `first` > 0 goes on from where entry
 * first - 1 ended.
 */
export function processList(block: usize, first: i32, count: i32, db: i32, nowMs: f64): i32 {
  beginCall(db, nowMs);
  if (first == 0 && prefetchListWorth(count)) prefetchListKeys(block, count, ENTRY_HEAD);
  let st = STATUS_DONE;
  let i = first;
  let pos = first == 0 ? block : <usize>load<u32>(deferList + <usize>(first - 1) * LIST_ENTRY, 4);
  for (; i < count; i++) {
    const len = <usize>load<u32>(pos);
    const cmd = unchecked(commands[load<u32>(pos, 4)]);
    const argc = <i32>load<u32>(pos, 8);
    const cmdStart = pos + ENTRY_HEAD + (<usize>argc << 3);
    const cmdEnd = cmdStart + len;
    let tail = cmdEnd;
    parser.resetArgv();
    for (let a = 0; a < argc; a++) {
      const at = pos + ENTRY_HEAD + (<usize>a << 3);
      const argEnd = cmdStart + <usize>load<u32>(at) + <usize>load<u32>(at, 4);
      if (argEnd > tail) tail = argEnd;
      parser.appendArg(cmdStart + <usize>load<u32>(at), <usize>load<u32>(at, 4));
    }
    const e = deferList + <usize>i * LIST_ENTRY;
    pos = (tail + 3) & ~(<usize>3);
    store<u32>(e, <u32>cmdStart);
    store<u32>(e, <u32>pos, 4);
    if (handedBeforeRun(cmd) || !runParsed(cmd, cmdStart, cmdEnd)) {
      handedStart = cmdStart;
      st = STATUS_HOST;
      break;
    }
    store<u32>(e, <u32>outLen, 8);
    if (outLen >= YIELD_OUTPUT_BYTES || slowCommandsFull()) {
      i++;
      st = STATUS_YIELD;
      break;
    }
  }
  consumed = <usize>i;
  need = 0;
  handedToRoute = false;
  settleMemory();
  publishCallResults(st);
  return st;
}
export function deferListPtr(): usize { return deferList; }
export function deferLogPtr(): usize { return deferLog; }
/** The hand-off block table (cluster/deferred.ts): per shard, u32 block address, capacity, bytes used. */
export function handoffTablePtr(): usize { return handoffTable; }
export { setDeferring } from "./cluster/deferred";

// A process() call's results (where it stopped, what it handed back) stay in the globals
// above until the host has read them; but the host consumes the call's effects first
// (Shard.afterCall), and an effect consumer may run a nested call on this kernel (the CRDT
// replicator reads a written key back through Shard.callRaw). Without this the client then
// read the nested call's consumedPos() and argv: it resumed at a wrong address, parsing its
// next command from the middle of a key, or ran the nested call's command as its own.
// Shard.callRaw brackets every nested process() with these two. Nesting deeper than
// parser.PARSE_FRAMES is not set aside (saveCallResults returns 0): no host path nests so.
const callFrames: usize = heap.alloc(<usize>parser.PARSE_FRAMES * 16);
let callDepth: i32 = 0;
export function saveCallResults(): i32 {
  if (callDepth >= parser.PARSE_FRAMES) return 0;
  const b = callFrames + (<usize>callDepth << 4);
  store<u32>(b, <u32>consumed);
  store<u32>(b + 4, <u32>need);
  store<u32>(b + 8, <u32>handedStart);
  store<u8>(b + 12, handedToRoute ? 1 : 0);
  parser.saveParse(callDepth);
  callDepth++;
  setNestedCall(true);
  return 1;
}
export function restoreCallResults(saved: i32): void {
  if (saved == 0) return;
  callDepth--;
  const b = callFrames + (<usize>callDepth << 4);
  consumed = <usize>load<u32>(b);
  need = <usize>load<u32>(b + 4);
  handedStart = <usize>load<u32>(b + 8);
  handedToRoute = load<u8>(b + 12) != 0;
  parser.restoreParse(callDepth);
  setNestedCall(callDepth > 0);
}

/**
 * A nested call in one kernel entry (Shard.callRaw: a script's redis.call, EXEC, the master's
 * stream, a routed command): key ownership off (the host routed it), the interrupted call's
 * results set aside, process(), then both put back. Its output and pendingWork are in the
 * results block (publishCallResults) for the host to read with no further call; the globals
 * are the interrupted call's again. Seven export calls from the host before, ~40 ns each.
 * A trap in process() leaves the frame pushed: the host calls unwindNested() then.
 */
let nestedSaved: i32 = 0;
let nestedRouting: bool = false;
/** Inside processNested: its commands are not timed one by one (runParsed). */
let untimedCall = false;
export function processNested(start: usize, end: usize, db: i32, nowMs: f64): i32 {
  const wasRouting = routing;
  setRouting(false);
  const saved = saveCallResults();
  nestedSaved = saved;
  nestedRouting = wasRouting;
  const wasUntimed = untimedCall;
  untimedCall = true;
  const st = process(start, end, db, nowMs);
  untimedCall = wasUntimed;
  nestedSaved = 0;
  restoreCallResults(saved);
  restoreRouting(wasRouting);
  return st;
}
/** After a trap in processNested: its frame popped and key ownership as it was. */
export function unwindNested(): void {
  untimedCall = false;
  restoreCallResults(nestedSaved);
  nestedSaved = 0;
  restoreRouting(nestedRouting);
}

export function consumedPos(): usize { return consumed; }
/** With STATUS_HOST: where the handed-back command's request bytes start. */
export function commandStart(): usize { return handedStart; }
/** With STATUS_HOST: the command is the kernel's own, handed back only to be placed on the
 *  shard(s) that own its keys (not a host command, nor one a host mode asked for). */
export function handedForRouting(): bool { return handedToRoute; }
export function needBytes(): usize { return need; }
export function outputPtr(): usize { return outPtr; }
export function outputLen(): usize { return outLen; }
export function argc(): i32 { return parsedArgc; }
export function argvPtr(): usize { return parsedArgvPtr; }
export { savePartial, resumePartial, dropPartial } from "./resp/parser";
export function setProtoMaxBulkLen(n: f64): void { parser.protoMaxBulkLen = <i64>n; }
/** The next process() calls parse for a client that must still authenticate (AUTH limits). */
export function setUnauthenticated(on: bool): void { parser.unauthenticated = on; }
/** The client's protocol (HELLO 2/3) for the replies of the next process() calls. */
export function setProtocol(v: i32): void { setResp(v); }
/** CONFIG SET hash-max-listpack-entries / -value (and their ziplist aliases). */
export function setHashListpackLimits(entries: f64, value: f64): void { setHashLimits(<i64>entries, <i64>value); }
/** CONFIG SET list-max-listpack-size (alias list-max-ziplist-size) / list-compress-depth. */
export function setListLimits(fill: f64, depth: f64): void { setListNodeLimits(<i64>fill, <i64>depth); }
/** CONFIG SET zset-max-listpack-entries / -value (and their ziplist aliases): which zsets the kernel keeps. */
export function setZsetListpackLimits(entries: f64, value: f64): void { setZsetLimits(<i64>entries, <i64>value); }
/** CONFIG SET set-max-intset-entries: when a kernel set stops being an intset. */
export function setSetIntsetLimit(entries: f64): void { setMaxIntsetEntries(<i64>entries); }

// ---- command table binding -------------------------------------------------------------

export function commandCount(): i32 { return commands.length; }
export function commandNamePtr(i: i32): usize { return changetype<usize>(commands[i].key); }
export function commandNameLen(i: i32): i32 { return commands[i].key.byteLength; }
export function bindCommand(namePtr: usize, nameLen: usize, arity: i32, flags: u32,
                            firstKey: i32, lastKey: i32, keyStep: i32): i32 {
  return bind(namePtr, nameLen, arity, flags, firstKey, lastKey, keyStep);
}
export function commandCalls(i: i32): f64 { return <f64>commands[i].calls; }
export function commandFailedCalls(i: i32): f64 { return <f64>commands[i].failedCalls; }
/** Calls of every kernel command: total_commands_processed's kernel part, read by the host's 100 ms ops sample. */
export function commandCallsTotal(): f64 {
  let n: u64 = 0;
  for (let i = 0; i < commands.length; i++) n += commands[i].calls;
  return <f64>n;
}
export function resetCommandStats(): void {
  for (let i = 0; i < commands.length; i++) { commands[i].calls = 0; commands[i].failedCalls = 0; commands[i].rejectedCalls = 0; }
}
export function commandRejectedCalls(i: i32): f64 { return <f64>commands[i].rejectedCalls; }
/** How many commands the last process() ran, and where their indexes are (u16 each, at most 4096 kept). */
export function ranCommands(): i32 { return ranCount; }
export function ranCommandsPtr(): usize { return ranBuf; }
/** The last process()'s commands that ran at least the slow threshold (assembly/command-timing.ts). */
export function slowCommands(): i32 { return slowCount; }
export function slowCommandsPtr(): usize { return slowBuf; }

// ---- error statistics (INFO errorstats, total_error_replies) -------------------------------

export function errorCodeCount(): i32 { return errorCodes.length; }
export function errorCodeNamePtr(i: i32): usize { return changetype<usize>(errorCodes[i]); }
export function errorCodeNameLen(i: i32): i32 { return errorCodes[i].byteLength; }
export function errorCodeTotal(i: i32): f64 { return <f64>errorCodeCounts[i]; }
export function resetErrorStats(): void { resetErrorCodes(); }
/**
 * Every error reply this kernel has counted since it started (never reset): the host compares
 * it around a kernel command it runs from EXEC or Lua to know whether the kernel counted the
 * command's error already (src/server/server.ts run()).
 */
export function errorRepliesEver(): f64 { return <f64>errorCount; }

// ---- handles, effects, expiry -------------------------------------------------------------

export function freedHandleCount(): i32 { return freedHandles.length; }
export function freedHandleAt(i: i32): i32 { return freedHandles[i]; }
export function clearFreedHandles(): void { freedHandles.length = 0; }
/** Of the freed handles, those UNLINK dropped (the host counts the large ones as lazily freed). */
export function lazyHandleCount(): i32 { return lazyHandles.length; }
export function lazyHandleAt(i: i32): i32 { return lazyHandles[i]; }
export function clearLazyHandles(): void { lazyHandles.length = 0; }
/** Kernel-held values lazily freed since the last call (INFO lazyfreed_objects). */
export function takeLazyfreedObjects(): f64 { return <f64>takeLazyfreed(); }
/** The lazyfree-lazy-* switches as bits (keyspace.ts LAZY_*; src/server/lazyfree.ts sets them). */
export function setLazyfreeConfig(bits: i32): void { setLazyfreeBits(bits); }
/** client-output-buffer-limit's normal hard limit (assembly/commands/output-limit.ts); 0: none. */
export function setClientReplyLimit(bytes: f64): void { setReplyLimit(<i64>bytes); }
/** The next host-made calls' replies go to a client's output as they are: they may be cut at the limit (output-limit.ts). */
export function setNestedReplyCut(on: i32): void { setReplyCut(on != 0); }

export function setEffectsEnabled(on: bool): void { setEffects(on); }
export function effectsPtr(): usize { return effPtr; }
export function effectsLen(): usize { return effLen; }
/** Empties the effect log once the host has drained it (host-only calls do not reset it). */
export function clearEffects(): void { resetEffects(); }
/** The keys dbAdd created since the last clear (the `new` keyspace event), when enabled. */
export { setNewKeyLogEnabled, clearNewKeys, setKeyGoneHints } from "./effects";
export function newKeysPtr(): usize { return newKeysPtrVar; }
export function newKeysLen(): usize { return newKeysLenVar; }

/** One active-expiry pass (host timer, like Redis's serverCron); returns keys deleted. */
export function activeExpireCycle(nowMs: f64, maxSamples: i32): i32 {
  resetEffects();
  setNow(<i64>nowMs);
  return expireCycle(maxSamples);
}
export function setActiveExpire(on: bool): void { setActiveExpireFlag(on); }
/** CLIENT PAUSE: reads leave keys whose TTL has passed in place (src/server/pause.ts). */
export { setExpiryPaused } from "./keyspace/keyspace";
/** A replica never deletes keys because their TTL passed; the master's stream sees none expired (src/repl/replica-expiry.ts). */
export { setReplicaExpiry, setApplyingMasterStream } from "./keyspace/keyspace";
import { expireReplicaKey } from "./keyspace/keyspace";
/** A writable replica's own key with a TTL: deleted once it has passed (0 gone, 1 TTL, 2 none). */
export function replicaKeyExpire(db: i32, ptr: usize, len: usize, nowMs: f64): i32 {
  setNow(<i64>nowMs);
  return expireReplicaKey(dbs[db], ptr, len);
}
/** The host's maxmemory-policy is allkeys-lfu or volatile-lfu (OBJECT FREQ answers). */
export function setLfuPolicy(on: bool): void { setLfuPolicyFlag(on); }
/** CONFIG lfu-log-factor / lfu-decay-time. */
export function setLfuParams(logFactor: f64, decayTime: f64): void { setLfuParamsVals(<i64>logFactor, <i64>decayTime); }

// ---- memory and eviction (keyspace/memory.ts, keyspace/evict.ts) --------------------------

/** Bytes the dataset holds in this kernel's linear memory (INFO used_memory's kernel part). */
export function memoryUsed(): f64 {
  settleMemory();
  return <f64>datasetBytes;
}

/**
 * Evicts one key by maxmemory-policy (the host's POLICY_CODES) and returns the dataset bytes
 * freed, or -1 when the policy finds no candidate. Effects and freed handles as usual.
 */
export function evictOne(policy: i32, samples: i32, nowMs: f64): f64 {
  resetEffects();
  setNow(<i64>nowMs);
  settleMemory();
  return <f64>evictOneKey(policy, samples);
}
export function resetEvictionPool(): void { clearEvictionPool(); }
/** OBJECT REFCOUNT of small integers: shared unless maxmemory runs an LRU/LFU policy. */
export { setSharedIntegers } from "./keyspace/keyspace";

// ---- introspection -------------------------------------------------------------------------

export function dbSize(db: i32): i32 { return dbs[db].dict.size; }
export function dbExpires(db: i32): i32 { return dbs[db].expiring.length; }
/** Redis's running estimate of the db's average TTL in ms (INFO keyspace avg_ttl). */
export function dbAvgTtl(db: i32): f64 { return <f64>dbs[db].avgTtl; }
/** Buckets of the db's main table and of the rehash target (0 when not rehashing): tests, DEBUG HTSTATS. */
export function dbTableSize(db: i32): i32 { return dbs[db].dict.t0.length; }
export function dbRehashTarget(db: i32): i32 { const t1 = dbs[db].dict.t1; return t1 == null ? 0 : t1.length; }
import { dictTableStats } from "./keyspace/dict-stats";
import { Entry as KeyEntry } from "./keyspace/entry";
import { HashField } from "./keyspace/hash-value";
import { lookupKeyReadNoTouch } from "./keyspace/keyspace";
/** DEBUG HTSTATS: table 0 or 1 (rehash target) of the db's dict into dictStatsPtr() (dict-stats.ts); 0 when absent. */
export function dbDictStats(db: i32, htidx: i32): i32 { return dictTableStats<KeyEntry>(dbs[db].dict, htidx) ? 1 : 0; }
export { dictStatsPtr } from "./keyspace/dict-stats";
/**
 * DEBUG HTSTATS-KEY: table htidx of the dict holding the key's value into dictStatsPtr().
 * -1: no such key; 0: its value has no dict here (a listpack hash, a string, or a value the
 * host holds); 1: done; 2: the dict has no such table (not rehashing).
 */
export function keyDictStats(db: i32, ptr: usize, len: usize, htidx: i32, nowMs: f64): i32 {
  setNow(<i64>nowMs);
  const e = lookupKeyReadNoTouch(dbs[db], ptr, len);
  if (e == null) return -1;
  const h = e.hashVal;
  if (h == null || !e.isHashTable) return 0;
  return dictTableStats<HashField>(h.ht!.dict, htidx) ? 1 : 2;
}
/** Redis's dict_can_resize for every dict (0 enable, 1 avoid, 2 forbid): the host sets 1 while a background child runs. */
export { setDictResizePolicy } from "./keyspace/dict";
export function statDirty(): f64 { return <f64>dirty; }
export function statKeyspaceHits(): f64 { return <f64>keyspaceHits; }
export function statKeyspaceMisses(): f64 { return <f64>keyspaceMisses; }
export function statExpiredKeys(): f64 { return <f64>expiredKeys; }
/** keyspace/prefetch.ts: reads (and hand-off lists) whose keys were prefetched, reads skipped as one-key pipelines (INFO kernel). */
export function statPrefetchedReads(): f64 { return <f64>prefetchedReads; }
export function statOneKeyReads(): f64 { return <f64>oneKeyReads; }
export function migrateBlobPtr(): usize { return blobPtr; }
export function migrateBlobLen(): usize { return blobLen; }
export function keySlot(ptr: usize, len: usize): i32 { return keyHashSlot(ptr, len); }

// ---- keys held for the host (lists, sets, zsets, streams) ----------------------------------

/**
 * Makes `key` in `db` hold the host value `handle` of `type` (OBJ_LIST=1, OBJ_SET=2,
 * OBJ_ZSET=3, OBJ_STREAM=6): a new key, or an overwrite of any old value (whose handle, if
 * any, is reported freed) that keeps no TTL. For the host's type layer and tests.
 */
export function setKeyHandle(db: i32, ptr: usize, len: usize, type: i32, handle: i32, nowMs: f64): void {
  setNow(<i64>nowMs);
  hostSetHandle(dbs[db], ptr, len, <u8>type, handle);
}

/** The handle of a live host-held key (0 when absent, expired, or kernel-typed). */
export function keyHandle(db: i32, ptr: usize, len: usize, nowMs: f64): i32 {
  setNow(<i64>nowMs);
  return hostKeyHandle(dbs[db], ptr, len);
}

/**
 * The type of a live key (OBJ_* numbering), or -1 when absent or expired (an expired key is
 * reclaimed here). With `read`, counts a keyspace hit/miss and touches the LRU clock like
 * lookupKeyRead; otherwise like lookupKeyWrite. For the host's type layer (WRONGTYPE checks).
 */
export function keyType(db: i32, ptr: usize, len: usize, read: bool, nowMs: f64): i32 {
  setNow(<i64>nowMs);
  const d = dbs[db];
  const e = read ? lookupKeyRead(d, ptr, len) : lookupKeyWrite(d, ptr, len);
  return e == null ? -1 : <i32>e.type;
}

/**
 * keyType and keyHandle in one call, for the host's type layer (HostKeyspace.lookup, the start
 * of every list/set/zset command): the handle (> 0) of a live key holding `type`, 0 when the
 * key is absent or expired (reclaimed here), -1 when it holds another type. `read` as keyType.
 */
export function keyHandleOfType(db: i32, ptr: usize, len: usize, type: i32, read: bool, nowMs: f64): i32 {
  setNow(<i64>nowMs);
  const d = dbs[db];
  const e = read ? lookupKeyRead(d, ptr, len) : lookupKeyWrite(d, ptr, len);
  if (e == null) return 0;
  if (<i32>e.type != type) return -1;
  if (e.val != null) moveToHost(d, e); // a kernel-held set or zset: the host takes it now
  return e.handle;
}

/**
 * keyHandleOfType(OBJ_SET, read) for a read that must not take a kernel-held set to the host
 * (SSCAN of a hashtable-encoded one, which the kernel declines: its cursor walks the host's
 * table layout). The same answers (handle > 0 of a host set, 0 absent, -1 another type) and
 * hit/miss accounting, or -2 for a set the kernel holds, whose members the host then reads in
 * place from keySetPeekPtr() (keyspace/set-value.ts layout, keySetPeekCount() of them,
 * keySetPeekIntset()) and copies before the next kernel call.
 */
export function keySetPeek(db: i32, ptr: usize, len: usize, nowMs: f64): i32 {
  setNow(<i64>nowMs);
  const e = lookupKeyRead(dbs[db], ptr, len);
  if (e == null) return 0;
  if (<i32>e.type != OBJ_SET) return -1;
  if (e.val == null) return e.handle;
  peekPtr = setMembersStart(e);
  peekCount = setCount(e);
  peekIntset = setIsIntset(e);
  return -2;
}
import { OBJ_SET } from "./keyspace/entry";
import { setMembersStart, setCount, setIsIntset } from "./keyspace/set-value";
let peekPtr: usize = 0;
let peekCount: i32 = 0;
let peekIntset: bool = false;
export function keySetPeekPtr(): usize { return peekPtr; }
export function keySetPeekCount(): i32 { return peekCount; }
export function keySetPeekIntset(): bool { return peekIntset; }

/**
 * Deletes a key (any type; a host handle is reported freed as usual) and says whether it
 * existed: the host's type layer removes a list/set/zset that became empty.
 */
export function keyDelete(db: i32, ptr: usize, len: usize, nowMs: f64): bool {
  setNow(<i64>nowMs);
  return dbDelete(dbs[db], ptr, len);
}

/**
 * Whether a key is in the keyspace, without reclaiming it when its TTL has passed (WATCH
 * and EXEC look at stale keys as Redis's keyIsExpired does): 0 absent, 1 live, 2 present
 * but logically expired.
 */
export function keyPresence(db: i32, ptr: usize, len: usize, nowMs: f64): i32 {
  setNow(<i64>nowMs);
  const e = dbs[db].dict.find(ptr, len, hashBytes(ptr, len));
  if (e == null) return 0;
  return keyIsExpired(e) ? 2 : 1;
}

/** MEMORY USAGE: bytes of a key and its kernel-held value, or -1 when absent. */
export function keyMemoryUsage(db: i32, ptr: usize, len: usize): f64 {
  return <f64>memoryUsageOf(dbs[db], ptr, len);
}

/** Redis's stringmatchlen over two byte ranges (KEYS/SCAN semantics), for the host's globs. */
export function stringMatch(pat: usize, patLen: usize, str: usize, strLen: usize, nocase: bool): bool {
  return stringmatchlen(pat, patLen, str, strLen, nocase);
}
