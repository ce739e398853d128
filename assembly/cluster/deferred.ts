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
// List entry (LIST_ENTRY bytes, u32 each), written by the host into the owning shard's
// memory: request start, request end; processList writes the output length after the
// command into the third.

export const DEFER_RECORD: usize = 20;
export const DEFER_CAP: i32 = 1024;
export const LIST_ENTRY: usize = 12;

export const deferLog: usize = heap.alloc(<usize>DEFER_CAP * DEFER_RECORD);
export let deferCount: i32 = 0;
export const deferList: usize = heap.alloc(<usize>DEFER_CAP * LIST_ENTRY);

/** Whether process() may defer commands of other shards (the host turns it on per call). */
export let deferring = false;
export function setDeferring(on: bool): void { deferring = on; }

export function resetDeferred(): void { deferCount = 0; }

/** Whether another command can be recorded. */
@inline export function canDefer(): bool { return deferring && deferCount < DEFER_CAP; }

/** Records the command at [start, end), owned by `shard`, met with `outLen` bytes of output and `ran` commands run. */
export function deferCommand(shard: i32, start: usize, end: usize, outLen: usize, ran: i32): void {
  const r = deferLog + <usize>deferCount * DEFER_RECORD;
  store<u32>(r, <u32>shard);
  store<u32>(r, <u32>start, 4);
  store<u32>(r, <u32>end, 8);
  store<u32>(r, <u32>outLen, 12);
  store<u32>(r, <u32>ran, 16);
  deferCount++;
}
