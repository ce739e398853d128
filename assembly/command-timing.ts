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

import { CMD_FAST } from "./commands/table";

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

/** Whether a command with these flags is timed on its own. */
export function timesCommand(flags: u32): bool {
  return timingOn && (timeFast || (flags & CMD_FAST) == 0);
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
