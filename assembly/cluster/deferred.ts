// Deferred commands: one socket read whose commands spread over several shards.
//
// With several shards, a pipelined read of random keys has most of its commands owned by
// shards other than the one parsing it. Following each such command into its shard (one
// process() call per switch, ~12 per 16-command read at 4 shards) cost more than the
// commands themselves. So, while the host allows it (setDeferring: no effect consumer, no
// blocked client, nothing that needs commands one by one; src/server/deferred-runs.ts), the
// parsing shard does not stop at a command whose keys all live in one other shard: it
// records where the command is and where its reply belongs in the output, and goes on.
// The host then runs each other shard's recorded commands in one processList() call and
// puts every reply back in order. Commands of different shards touch different keys, so
// running each shard's list after the parsing shard's own commands gives the same replies
// and the same data as running them in order.
//
// Log record (DEFER_RECORD bytes, u32 each): owning shard, request start, request end, the
// output length when the command was met (its reply goes there), and the count of commands
// this call had run by then (which command of the read ran last, for CLIENT LIST cmd=).
//
// Hand-off block: per owning shard, the parsing shard also copies each deferred command into
// a block of its own memory, already parsed: the entry header (u32 each: request length,
// command index in the table, argc, then argc pairs of argument offset and length, offsets
// from the request's first byte), then the request bytes, then the arguments that are not
// in them (an inline command's, which the parser unescapes elsewhere), padded to 4 bytes. The host copies
// each shard's block into that shard in one piece (its hand-off region, src/server/shard.ts),
// and processList() there runs the entries as they are: no second parse, no second lookup of
// the command's name, and no copy of the rest of the read. The block table (HANDOFF_WORDS u32
// per shard, at handoffTable): block address, capacity, bytes used.
//
// List entry (LIST_ENTRY bytes, u32 each), in the owning shard's memory, written by its
// processList(): where the entry's request bytes start, where the next entry starts in the
// block, and the output length after the command.

import { argc as parsedArgc, argPtr, argLen } from "../resp/parser";

export const DEFER_RECORD: usize = 20;
export const DEFER_CAP: i32 = 1024;
export const LIST_ENTRY: usize = 12;

export const deferLog: usize = heap.alloc(<usize>DEFER_CAP * DEFER_RECORD);
export let deferCount: i32 = 0;
export const deferList: usize = heap.alloc(<usize>DEFER_CAP * LIST_ENTRY);

/** Shards a block can go to, words per shard in the block table. */
const HANDOFF_SHARDS: i32 = 256;
export const HANDOFF_WORDS: usize = 4;
export const handoffTable: usize = heap.alloc(<usize>HANDOFF_SHARDS * HANDOFF_WORDS * 4);
memory.fill(handoffTable, 0, <usize>HANDOFF_SHARDS * HANDOFF_WORDS * 4);
/** A command longer than this is not deferred (the host follows it into its shard instead), nor a block made longer than BLOCK_MAX. */
const ENTRY_MAX: usize = 64 * 1024;
const BLOCK_MAX: usize = 1 << 20;
/** Entry header words before the argument pairs. */
export const ENTRY_HEAD: usize = 12;

/** Whether process() may defer commands of other shards (the host turns it on per call). */
export let deferring = false;
export function setDeferring(on: bool): void { deferring = on; }

export function resetDeferred(): void {
  // The blocks written by the last call: emptied (their shards are in the log).
  for (let i = 0; i < deferCount; i++) {
    const s = <usize>load<u32>(deferLog + <usize>i * DEFER_RECORD);
    store<u32>(handoffTable + s * HANDOFF_WORDS * 4, 0, 8);
  }
  deferCount = 0;
}

/** Whether another command can be recorded. */
@inline export function canDefer(): bool { return deferring && deferCount < DEFER_CAP; }

/**
 * Records the command at [start, end), owned by `shard`, met with `outLen` bytes of output and
 * `ran` commands run, and appends it, parsed (the parser's argv, command `index`), to that
 * shard's block. False (nothing recorded) when it cannot go in a block (too long, or the block
 * is full); the caller then hands it back instead.
 */
export function deferCommand(shard: i32, start: usize, end: usize, outLen: usize, ran: i32, index: i32): bool {
  const len = end - start;
  const argc = parsedArgc;
  if (shard >= HANDOFF_SHARDS || len > ENTRY_MAX) return false;
  // Arguments not in the request bytes (an inline command's, unescaped by the parser) are
  // copied after them.
  let extra: usize = 0;
  for (let i = 0; i < argc; i++) {
    const p = argPtr(i);
    if (p < start || p + argLen(i) > end) extra += argLen(i);
  }
  if (extra > ENTRY_MAX) return false;
  const head = ENTRY_HEAD + (<usize>argc << 3);
  const size = (head + len + extra + 3) & ~(<usize>3);
  const t = handoffTable + <usize>shard * HANDOFF_WORDS * 4;
  let block = <usize>load<u32>(t);
  const cap = <usize>load<u32>(t, 4);
  const used = <usize>load<u32>(t, 8);
  if (used + size > cap) {
    if (used + size > BLOCK_MAX) return false;
    let c = cap == 0 ? <usize>4096 : cap << 1;
    while (c < used + size) c <<= 1;
    block = block == 0 ? heap.alloc(c) : heap.realloc(block, c);
    store<u32>(t, <u32>block);
    store<u32>(t, <u32>c, 4);
  }
  const e = block + used;
  store<u32>(e, <u32>len);
  store<u32>(e, <u32>index, 4);
  store<u32>(e, <u32>argc, 8);
  memory.copy(e + head, start, len);
  let tail = len;
  for (let i = 0; i < argc; i++) {
    const p = argPtr(i);
    const n = argLen(i);
    let off = p - start;
    if (p < start || p + n > end) {
      memory.copy(e + head + tail, p, n);
      off = tail;
      tail += n;
    }
    store<u32>(e + ENTRY_HEAD + (<usize>i << 3), <u32>off);
    store<u32>(e + ENTRY_HEAD + (<usize>i << 3), <u32>n, 4);
  }
  store<u32>(t, <u32>(used + size), 8);
  const r = deferLog + <usize>deferCount * DEFER_RECORD;
  store<u32>(r, <u32>shard);
  store<u32>(r, <u32>start, 4);
  store<u32>(r, <u32>end, 8);
  store<u32>(r, <u32>outLen, 12);
  store<u32>(r, <u32>ran, 16);
  deferCount++;
  return true;
}
