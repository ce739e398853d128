// Per-command timing of the commands the kernel runs in one process() call (a pipeline),
// for the slow log and the latency monitor's command / fast-command events.
//
// The kernel runs every complete command of a read in one call. While
// slowlog-log-slower-than is not negative or latency-monitor-threshold is set, it reads the
// host's monotonic clock around each command and records those at least as long as the lower
// of the two thresholds (assembly/command-timing.ts; from 1 ms up, not around a fast command nor
// a short SET with no option, which take that long only on a descheduled machine); after the
// call, each recorded command is logged on its own, its arguments read back from its request
// bytes. So a slow command inside a pipeline is logged with its own time and arguments, as
// Redis's call() logs it. With both off the kernel reads no clock.
//
// Host commands, and kernel commands the host runs through Server.run (MULTI/EXEC, Lua,
// handed back), are timed there one by one (src/server/slowlog.ts logCall).
import type { Server } from "./server.js";
import type { Client } from "./client.js";
import type { Kernel } from "../kernel/kernel.js";
import { firstCommandArgv } from "./slowlog.js";

const RECORD = 24;

/** The kernel's threshold (ms) from the two configs; -1 when neither wants timing. */
export function commandTimingThresholdMs(slowlogUs: number, latencyMs: number): number {
  let ms = -1;
  if (slowlogUs >= 0) ms = slowlogUs / 1000;
  if (latencyMs > 0 && (ms < 0 || latencyMs < ms)) ms = latencyMs;
  return ms;
}

/** Tells every kernel the threshold (called when either config changes). */
export function applyCommandTiming(server: Server): void {
  const ms = commandTimingThresholdMs(server.config.getNumber("slowlog-log-slower-than"),
    server.config.getNumber("latency-monitor-threshold"));
  for (const s of server.shards) s.kernel.x.setSlowCommandThreshold(ms);
}

/**
 * After a client's process() call over request bytes [start, end) that took callMs: logs each
 * command the kernel recorded as slow. A command the kernel did not time on its own (flagged
 * fast or a short bare SET, threshold 1 ms or more) is still logged when it was the call's only command and the
 * call was slow; a slow call with no slow command recorded is the latency monitor's sample.
 */
export function logSlowKernelCommands(server: Server, client: Client, k: Kernel, start: number, end: number, callMs: number): void {
  const n = k.slowCount; // of the last Kernel.run()
  if (n > 0) {
    const mem = k.mem;
    const view = new DataView(mem.buffer, mem.byteOffset, mem.byteLength);
    const base = k.x.slowCommandsPtr();
    for (let i = 0; i < n; i++) {
      const p = base + i * RECORD;
      const spec = server.kernelSpecs[view.getUint32(p + 8, true)];
      logKernelCommand(server, client, mem, view.getUint32(p, true), view.getUint32(p + 4, true),
        view.getFloat64(p + 16, true), spec?.flags.has("fast") ?? false);
    }
    return;
  }
  if (callMs * 1000 < server.slowlog.slowerThanUs && callMs < server.latency.thresholdMs) return;
  const ran = k.ranCount;
  if (ran === 0) return;
  let fast = true;
  let p = k.ranCommandsPtr();
  const mem = k.mem;
  for (let i = 0; i < Math.min(ran, 4096); i++, p += 2) {
    if (!server.kernelSpecs[mem[p] | (mem[p + 1] << 8)]?.flags.has("fast")) fast = false;
  }
  if (ran === 1) logKernelCommand(server, client, mem, start, end, callMs, fast);
  else server.latency.addSampleIfNeeded(fast ? "fast-command" : "command", callMs);
}

/** One kernel command that ran `ms`: the latency monitor's event and the slow log's entry. */
function logKernelCommand(server: Server, client: Client, mem: Uint8Array, start: number, end: number, ms: number, fast: boolean): void {
  server.latency.addSampleIfNeeded(fast ? "fast-command" : "command", ms);
  const slowlog = server.slowlog;
  if (slowlog.slowerThan < 0 || ms * 1000 < slowlog.slowerThan) return;
  const argv = firstCommandArgv(mem, start, end);
  if (argv) slowlog.pushIfNeeded(client, argv, ms * 1000);
}
