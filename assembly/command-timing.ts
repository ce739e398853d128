// Per-command timing for the slow log and the latency monitor (src/server/command-timing.ts).
//
// process() runs every command of a socket read in one call, so the host can only time the
// call as a whole, and a slow command inside a pipeline could not be told from its
// neighbours. While the host asks for it (a slowlog-log-slower-than or
// latency-monitor-threshold is set), the kernel reads the host's monotonic clock around each
// command it runs and records those that took at least the threshold: where the command's
// request bytes are (the host reads its arguments back from them), which command it was, and
// how long it ran. The clock only measures: no command's result depends on it, so the kernel's
// replies stay a function of the host's inputs (nowMs, the seed).

import { KernelCommand, CMD_FAST, CMD_BARE_BOUNDED } from "./commands/table";

@external("env", "monotonicMs")
declare function hostMonotonicMs(): f64;

/** Milliseconds from which a command is recorded; negative: no timing (no clock is read). */
export let slowThresholdMs: f64 = -1;
export let timingOn = false;
/** Commands flagged fast are timed too (a threshold under 1 ms). */
let timeFast = false;

export function setSlowCommandThreshold(ms: f64): void {
  slowThresholdMs = ms;
  timingOn = ms >= 0;
  timeFast = ms >= 0 && ms < 1;
}

/**
 * Requests up to this many bytes of a CMD_BARE_BOUNDED command with no optional argument
 * count as fast: copying them takes microseconds, far below the 1 ms from which fast
 * commands go untimed.
 */
const BOUNDED_REQUEST_BYTES: usize = 16 * 1024;

/**
 * Whether a command is timed on its own: every command under a threshold below 1 ms; from
 * 1 ms up, neither a fast one nor a short bare SET (CMD_BARE_BOUNDED), whose clock readings
 * cost ~20% of a pipelined SET's CPU. Such a command that runs as a call's only command is
 * still logged when the whole call was slow (src/server/command-timing.ts).
 */
export function timesCommand(cmd: KernelCommand, argc: i32, requestBytes: usize): bool {
  if (!timingOn) return false;
  if (timeFast) return true;
  const flags = cmd.flags;
  if ((flags & CMD_FAST) != 0) return false;
  return (flags & CMD_BARE_BOUNDED) == 0 || argc != -cmd.arity || requestBytes > BOUNDED_REQUEST_BYTES;
}

// Records of SLOW_RECORD bytes: request start u32, request end u32, command index u32,
// unused u32, duration f64 (ms). process() yields when the buffer is full, so no slow command
// goes unrecorded whatever the pipeline's length.
const SLOW_RECORD: usize = 24;
const SLOW_CAP: i32 = 256;
export const slowBuf: usize = heap.alloc(<usize>SLOW_CAP * SLOW_RECORD);
export let slowCount: i32 = 0;

export function resetSlowCommands(): void { slowCount = 0; lastClockFresh = false; }
export function slowCommandsFull(): bool { return slowCount >= SLOW_CAP; }

// The clock's last reading, still "now" for the next command when nothing ran since: a run of
// timed commands costs one reading each, not two.
let lastClock: f64 = 0;
let lastClockFresh = false;

/** The clock at the start of a timed command. */
export function commandClock(): f64 { return lastClockFresh ? lastClock : hostMonotonicMs(); }

/** A command ran untimed: the last reading is stale. */
export function clockStale(): void { lastClockFresh = false; }

/** After a command ran: records it when it took at least the threshold. */
export function noteCommandTime(start: usize, end: usize, index: i32, t0: f64): void {
  lastClock = hostMonotonicMs();
  lastClockFresh = true;
  const ms = lastClock - t0;
  if (ms < slowThresholdMs || slowCount >= SLOW_CAP) return;
  const p = slowBuf + <usize>slowCount * SLOW_RECORD;
  store<u32>(p, <u32>start);
  store<u32>(p + 4, <u32>end);
  store<u32>(p + 8, <u32>index);
  store<u32>(p + 12, 0);
  store<f64>(p + 16, ms);
  slowCount++;
}
