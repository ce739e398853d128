// Key prefetch: before a pipelined read's commands run, touch each command's dict bucket and
// entry (and a string value's first bytes), so the cache misses of its keys overlap instead of
// coming one after another.
//
// With a keyspace much bigger than the caches (redis-benchmark's `-r 100000` rows, and its
// `-d 1024` rows, whose 1 KB values spread the entries over ~100 MB), each command's lookup
// waits on a miss for its entry, often a TLB miss too on this VM: `perf record` of SET `-r
// 100000 -d 1024 -P 16` (1 shard, 2026-11-28) had 29% of the server's samples in Dict#find,
// and the store right after the previous command's value copy (parser pushArg) another 8%.
// Those misses are independent of each other, but a command's lookup runs only after the one
// before it finished. WebAssembly has no prefetch instruction; plain loads whose values only
// feed a sink do the same job: the CPU issues the next command's loads while earlier ones are
// still waiting. Redis 8 does this for a batch of commands (memory_prefetch.c).
//
// Only a hint: the scan reads the usual RESP multibulk form and stops at anything else (an
// inline command, an incomplete command); a key is looked up in the current db's main table
// only, whatever the command is; nothing is written but the sink. With several shards a read
// parsed by a client's home shard holds other shards' keys, whose lookups here would be
// wasted misses: process() prefetches only the keys of its own slots (while the others'
// commands go to hand-off lists), and each owner prefetches the list of commands handed to
// it (cluster/deferred.ts), all of whose keys it owns. The scan's slot of each key is kept
// for the routing of its command (cluster/slot.ts memoSlot): computed twice, the crc16 took
// what the prefetch saved (in-process 4 shards SET 0.976 / 0.977 us, GET 0.824 / 0.840,
// 2026-11-28); kept, bench/ab.mjs -r 100000 4 shards SET 1.10 -> 0.97 us of server CPU a
// request, GET 1.02 -> 0.98 (2026-11-29, load ~21). A small
// dataset (MIN_BYTES, for the whole process) is likely in cache already, and the scan would be
// pure cost; redis-benchmark's `-r 100000` rows with 3-byte values (~8 MB) are over it (they
// were under the 16 MiB a shard of 2026-11-28: prefetched since, 1 shard SET / GET 1.02 / 0.92
// -> 0.78 / 0.72 us of server CPU a request, 4 shards 1.12 / 1.10 -> 1.02 / 0.99, load ~15-18).
// So is a read whose first two keys are one (takeKey): a pipeline of one key, whose key is hot.
// INFO kernel counts both kinds of read.

import { db } from "../commands/context";
import { hashBytes } from "./hash";
import { Entry } from "./entry";
import { datasetBytes } from "./memory";
import { scanLength, scannedLength } from "../resp/parser";
import { shardCount, slotLow, slotHigh } from "../cluster/ownership";
import { slotOfKey, memoSlot } from "../cluster/slot";

/**
 * Dataset bytes (memory.ts) of the whole process below which nothing is prefetched: the
 * entries are then few pages and mostly in cache, and the scan is pure cost. Each shard
 * estimates the process's dataset as its own times the shard count (equal slot ranges, keys
 * spread evenly over the slots): four shards' memories share the caches, and their lookups
 * missed more than one shard's of the same keys (in-process, 100,000 keys, no read split
 * between shards: Dict#find 2584 samples against 1933, 2026-11-29). In-process
 * (bench/read-loop.mjs SET / GET of random keys, 3-byte values, ~80 bytes a key, 2026-11-29)
 * prefetching cost 1 shard 23% at 2,000 keys and ~8% at 10,000 (~0.8 MB), and saved 6% / 20%
 * at 30,000 (~2.4 MB) and 10% / 17% at 100,000; 4 shards -7% / -8% at 100,000 and 30,000.
 */
const MIN_BYTES: i64 = 2 << 20;
/** Keys in the db below which nothing is prefetched. */
const MIN_KEYS: i32 = 1024;
/** Commands of one read prefetched at most (redis-benchmark -P 16 sends 16). */
const MAX_COMMANDS: i32 = 32;

/** Where the loads' values go, so the optimizer keeps them. */
let sink: u32 = 0;
/** Per key found by the scan: its bucket's first entry, then the entry whose tag matched (or 0). */
const found = new StaticArray<usize>(MAX_COMMANDS);
/** Per key: its hash. */
const hashes = new StaticArray<u32>(MAX_COMMANDS);
let nFound: i32 = 0;
/** hashes[i] once found[i] is the entry whose tag matched (a real hash of all ones only costs a useless load). */
const MATCHED: u32 = 0xffffffff;
/** Bytes of a value whose cache lines are loaded (a longer value: its first ones). */
const VALUE_LINES_BYTES: usize = 2048;
/** Whether a read of [start, end) is worth prefetching: at least two commands' worth of bytes and a big db. */
@inline export function prefetchWorth(start: usize, end: usize): bool {
  return end - start >= 40 && bigDataset();
}

/** Whether a hand-off list of count commands is worth prefetching. */
@inline export function prefetchListWorth(count: i32): bool {
  return count >= 2 && bigDataset();
}

/** Whether the process's dataset (this shard's times the shard count) and this db are big enough to prefetch. */
@inline function bigDataset(): bool {
  return datasetBytes * <i64>shardCount >= MIN_BYTES && db.dict.size >= MIN_KEYS;
}

/** Reads and hand-off lists whose keys were prefetched (INFO kernel: kernel_prefetched_reads). */
export let prefetchedReads: i64 = 0;
/** Reads and lists not prefetched as one-key pipelines (INFO kernel: kernel_prefetch_one_key_reads). */
export let oneKeyReads: i64 = 0;
/** The first key of the read being scanned (0: none yet), noted once the second is known to differ. */
let firstPtr: usize = 0;
let firstLen: usize = 0;

/**
 * Touches the keys (argument 1) of the complete commands in [start, end), at most MAX_COMMANDS.
 * `owned`: with several shards, only the keys of this shard's slots, the others' going to
 * their owners' hand-off lists (prefetched there); each key's slot is kept for the routing of
 * its command (cluster/slot.ts memoSlot), which would compute it otherwise.
 */
export function prefetchKeys(start: usize, end: usize, owned: bool): void {
  const t0 = db.dict.t0;
  const mask = <u32>(t0.length - 1);
  nFound = 0;
  firstPtr = 0;
  let p = start;
  for (let n = 0; n < MAX_COMMANDS && p < end && load<u8>(p) == 0x2a; n++) {
    // The parser's own reading of a length line (resp/parser.ts): anything unusual stops the hint.
    let cr = scanLength(p + 1, end);
    if (cr == 0 || scannedLength > <i64>(end - cr)) break;
    const argc = <usize>scannedLength;
    p = cr + 2;
    let keyPtr: usize = 0, keyLen: usize = 0;
    for (let a: usize = 0; a < argc; a++) {
      cr = p < end && load<u8>(p) == 0x24 ? scanLength(p + 1, end) : 0;
      // Incomplete (no wrap-around either): stop.
      if (cr == 0 || scannedLength + 4 > <i64>(end - cr)) { p = 0; break; }
      p = cr + 2;
      if (a == 1) { keyPtr = p; keyLen = <usize>scannedLength; }
      p += <usize>scannedLength + 2;
    }
    if (p == 0) break;
    if (argc < 2) continue;
    if (owned) {
      const slot = slotOfKey(keyPtr, keyLen);
      memoSlot(keyPtr, keyLen, slot);
      if (slot < slotLow || slot > slotHigh) continue;
    }
    if (!takeKey(t0, mask, keyPtr, keyLen)) return;
  }
  touchFound(t0, mask);
}

/**
 * Touches the keys (argument 1) of a hand-off list's commands (cluster/deferred.ts: per
 * command a u32 length, command index and argc, then argc (offset, length) pairs from the
 * command's bytes, then the bytes; the next command at the 4-byte boundary after them).
 */
export function prefetchListKeys(block: usize, count: i32, entryHead: usize): void {
  const t0 = db.dict.t0;
  const mask = <u32>(t0.length - 1);
  nFound = 0;
  firstPtr = 0;
  let pos = block;
  for (let i = 0; i < count && i < MAX_COMMANDS; i++) {
    const argc = <usize>load<u32>(pos, 8);
    const cmdStart = pos + entryHead + (argc << 3);
    let tail = cmdStart + <usize>load<u32>(pos);
    for (let a: usize = 0; a < argc; a++) {
      const at = pos + entryHead + (a << 3);
      const argEnd = cmdStart + <usize>load<u32>(at) + <usize>load<u32>(at, 4);
      if (argEnd > tail) tail = argEnd;
    }
    if (argc >= 2) {
      const at = pos + entryHead + 8;
      if (!takeKey(t0, mask, cmdStart + <usize>load<u32>(at), <usize>load<u32>(at, 4))) return;
    }
    pos = (tail + 3) & ~(<usize>3);
  }
  touchFound(t0, mask);
}

/**
 * Notes a command's key, unless it is the read's second key and the same as its first: a read
 * that repeats its key is taken for a pipeline of one key (redis-benchmark's rows without -r
 * name "key:__rand_int__" literally), whose key is hot and whose scan would be pure cost (SET
 * -P 16 over a big dataset 0.57 -> 0.63 us a request, GET 0.50 -> 0.53, 2026-11-28). Then
 * nothing is touched and it returns false: the skip costs two commands' scan, not the read's.
 */
@inline function takeKey(t0: StaticArray<Entry | null>, mask: u32, keyPtr: usize, keyLen: usize): bool {
  if (firstPtr == 0) {
    firstPtr = keyPtr;
    firstLen = keyLen;
    return true;
  }
  if (nFound == 0) {
    if (keyLen == firstLen && memory.compare(keyPtr, firstPtr, keyLen) == 0) {
      oneKeyReads++;
      return false;
    }
    noteKey(t0, mask, firstPtr, firstLen);
  }
  noteKey(t0, mask, keyPtr, keyLen);
  return true;
}

/**
 * Notes a key's hash; touchFound loads its bucket with the others'. (Loading the bucket here,
 * between one command's scan and the next, left the bucket table's misses one after another:
 * in a loop of their own, bench/ab.mjs -r 100000, 1 shard SET / GET 0.73 / 0.65 -> 0.70 / 0.63
 * us of server CPU a request, -d 1024 1.13 / 1.25 -> 1.08 / 1.07, 4 shards 1.03 / 0.95 ->
 * 0.94 / 0.90; 2026-11-29, load ~28.)
 */
@inline function noteKey(t0: StaticArray<Entry | null>, mask: u32, keyPtr: usize, keyLen: usize): void {
  unchecked(hashes[nFound] = hashBytes(keyPtr, keyLen));
  nFound++;
}

/**
 * Loads the noted entries in tight loops, so that their misses are in flight together (a
 * loop per command, with the parse and hash in between, let barely two overlap: the misses
 * only moved from Dict#find to the scan): the buckets, the bucket's first entries, the next
 * ones where the hash tag did not match, then each matching string value's cache lines.
 */
function touchFound(t0: StaticArray<Entry | null>, mask: u32): void {
  // A read of one keyed command: its key was not noted yet.
  if (firstPtr != 0 && nFound == 0) noteKey(t0, mask, firstPtr, firstLen);
  const n = nFound;
  if (n == 0) return;
  prefetchedReads++;
  for (let i = 0; i < n; i++) unchecked(found[i] = changetype<usize>(unchecked(t0[<i32>(unchecked(hashes[i]) & mask)])));
  let acc: u32 = 0;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < n; i++) {
      const p = unchecked(found[i]);
      if (p != 0) acc += <u32>changetype<Entry>(p).typeTag;
    }
    for (let i = 0; i < n; i++) {
      const p = unchecked(found[i]);
      const h = unchecked(hashes[i]);
      if (p == 0 || h == MATCHED) continue;
      const e = changetype<Entry>(p);
      if (e.tagMatches(h)) unchecked(hashes[i] = MATCHED);
      else unchecked(found[i] = changetype<usize>(e.next));
    }
  }
  for (let i = 0; i < n; i++) {
    const p = unchecked(found[i]);
    if (p == 0 || unchecked(hashes[i]) != MATCHED) continue;
    const v = changetype<Entry>(p).val;
    if (v == null) continue;
    // Every cache line of a value up to VALUE_LINES_BYTES: SET rewrites it in place and GET
    // copies it out, and line by line in a copy the misses come one after another.
    const vp = changetype<usize>(v);
    const vEnd = vp + min(<usize>v.byteLength, VALUE_LINES_BYTES);
    for (let q = vp; q < vEnd; q += 64) acc += <u32>load<u8>(q);
  }
  sink ^= acc;
}
