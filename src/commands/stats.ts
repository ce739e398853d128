// Per-command statistics for INFO commandstats: host-run commands count in their table
// row; kernel-run commands count in the shard kernels (commandCalls/commandFailedCalls),
// summed over shards. A kernel command the host ran through dispatch (MULTI, Lua) was
// counted by the kernel too, so for kernel rows the kernel's count is the calls figure
// and the host row only adds its measured time (unless the row has a host handler as well,
// which then runs instead of the kernel's: its calls are added).
import type { CommandSpec } from "./table.js";
import type { Server } from "../server/server.js";

export interface CommandStat { name: string; calls: number; usec: number; failedCalls: number; rejectedCalls: number }

/** A command's INFO commandstats numbers, summed over the host and every shard's kernel. */
export function statOf(server: Server, spec: CommandSpec): CommandStat {
  let calls = hostCalls(spec);
  let failed = spec.failedCalls;
  let rejected = spec.rejectedCalls;
  if (spec.kernelIndex >= 0) {
    failed = spec.handler ? spec.failedCalls : 0;
    for (const sh of server.shards) {
      calls += sh.kernel.x.commandCalls(spec.kernelIndex);
      failed += sh.kernel.x.commandFailedCalls(spec.kernelIndex);
      rejected += sh.kernel.x.commandRejectedCalls(spec.kernelIndex);
    }
  }
  return { name: spec.name, calls, usec: Math.round(spec.usec), failedCalls: failed, rejectedCalls: rejected };
}

/** Every command and subcommand row with its statistics, in table order. */
export function commandStats(server: Server): CommandStat[] {
  const out: CommandStat[] = [];
  for (const spec of server.table.all.values()) {
    out.push(statOf(server, spec));
    for (const sub of spec.subcommands.values()) out.push(statOf(server, sub));
  }
  return out;
}

/**
 * A row's calls counted on the host. For a kernel command the kernel's count is the calls
 * figure; one with a host handler too (PING, ECHO: the host answers them where the kernel
 * hands every command back) adds the calls its handler ran here, and a command run on every
 * shard counts one call, not one per shard (fanOutCalls).
 */
function hostCalls(spec: CommandSpec): number {
  return spec.kernelIndex >= 0 ? (spec.handler ? spec.calls : 0) - (spec.fanOutCalls ?? 0) : spec.calls;
}

/**
 * Sum of calls over every command: INFO's total_commands_processed, which serverCron samples
 * every 100 ms for instantaneous_ops_per_sec. Every kernel command is bound to one row
 * (Shard.bindCommands), so the kernel's total is its rows' sum: one WASM call per shard
 * instead of three per row per shard (an idle server spent ~4 ms a second here).
 */
export function totalCalls(server: Server): number {
  let n = 0;
  for (const sh of server.shards) n += sh.kernel.x.commandCallsTotal();
  for (const spec of server.table.all.values()) {
    n += hostCalls(spec);
    for (const sub of spec.subcommands.values()) n += hostCalls(sub);
  }
  return n;
}

const decoder = new TextDecoder();

/** Error replies by code (INFO errorstats): the host's plus every shard kernel's. */
export function errorStats(server: Server): Map<string, number> {
  const out = new Map(server.errorStats);
  for (const sh of server.shards) {
    const x = sh.kernel.x;
    for (let i = 0; i < x.errorCodeCount(); i++) {
      const p = x.errorCodeNamePtr(i);
      const code = decoder.decode(sh.kernel.mem.subarray(p, p + x.errorCodeNameLen(i)));
      out.set(code, (out.get(code) ?? 0) + x.errorCodeTotal(i));
    }
  }
  return out;
}

/** total_error_replies: every error reply, host and kernel. */
export function totalErrorReplies(server: Server): number {
  let n = server.stats.errorReplies;
  for (const sh of server.shards) {
    const x = sh.kernel.x;
    for (let i = 0; i < x.errorCodeCount(); i++) n += x.errorCodeTotal(i);
  }
  return n;
}

/** CONFIG RESETSTAT's share: zero every command counter, host and kernel. */
export function resetCommandStats(server: Server): void {
  for (const spec of server.table.all.values()) {
    for (const s of [spec, ...spec.subcommands.values()]) {
      s.calls = 0; s.failedCalls = 0; s.rejectedCalls = 0; s.usec = 0; s.fanOutCalls = 0;
      s.latency = undefined;
    }
  }
  for (const sh of server.shards) {
    sh.kernel.x.resetCommandStats();
    sh.kernel.x.resetErrorStats();
  }
}

// ---- latency histograms (INFO latencystats) -----------------------------------------------
//
// Like Redis's per-command hdr_histogram (1µs..1s in ns, 2 significant digits): a value
// lands in a bucket 1/128 of its power of two wide, and a percentile reports the bucket's
// highest equivalent value, so p50 of a 5µs command prints about "p50=5.023".

const HIST_MIN_NS = 1024;
const HIST_MAX_NS = 1_000_000_000;

export class LatencyHistogram {
  // Bucket i covers values whose top 8 significant bits are the same: for v in [2^e, 2^(e+1)),
  // e >= 10 (HIST_MIN_NS), index (e - 7) * 128 + (v >> (e - 7)) - 128 - BASE. The 128
  // buckets of one power of two are a level, made at its first value: a command's times
  // span a few levels, and all 20 (20 KB) made up front for every command a server ever
  // ran were 4% of a simulator seed's CPU (each node boots a server).
  private levels: (number[] | undefined)[] = new Array<number[] | undefined>(LEVELS).fill(undefined);
  count = 0;

  record(ns: number): void { this.recordTimes(ns, 1); }

  /** `times` values of `ns` each (the commands of one kernel run share its time). */
  recordTimes(ns: number, times: number): void {
    const v = ns < HIST_MIN_NS ? HIST_MIN_NS : ns > HIST_MAX_NS ? HIST_MAX_NS : ns >>> 0;
    const shift = 31 - Math.clz32(v) - 7;
    const level = (this.levels[shift - BASE / 128] ??= new Array<number>(128).fill(0));
    level[(v >>> shift) - 128] += times;
    this.count += times;
  }

  /** Bucket i's count (0 in a level never reached). */
  private countAt(i: number): number {
    const level = this.levels[i >> 7];
    return level === undefined ? 0 : level[i & 127];
  }

  /** The value (ns) at or below which `p` percent of the recorded values fall (bucket's highest value). */
  valueAt(p: number): number {
    if (this.count === 0) return 0;
    const want = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.countAt(i);
      if (seen >= want) {
        const j = i + BASE;
        const shift = Math.floor(j / 128);
        const sub = (j % 128) + 128;
        return (sub + 1) * 2 ** shift - 1;
      }
    }
    return HIST_MAX_NS;
  }

  /**
   * LATENCY HISTOGRAM's cumulative distribution (Redis's fillCommandCDF over hdr_iter_log
   * from 1024 ns, base 2): [microseconds, values at or below] at each power of two where the
   * count grew.
   */
  cdf(): [number, number][] {
    const out: [number, number][] = [];
    let i = 0, cumulative = 0, previous = 0;
    for (let level = HIST_MIN_NS; cumulative < this.count && level <= 2 * HIST_MAX_NS; level *= 2) {
      for (; i < BUCKETS; i++) {
        const j = i + BASE;
        if (((j % 128) + 128) * 2 ** Math.floor(j / 128) > level) break;
        cumulative += this.countAt(i);
      }
      if (cumulative > previous) out.push([Math.floor(level / 1000), cumulative]);
      previous = cumulative;
    }
    return out;
  }
}

/** Index offset of the first bucket (HIST_MIN_NS = 2^10: shift 3, sub 128). */
const BASE = 3 * 128;
/** Buckets up to HIST_MAX_NS (< 2^30: shift 22). */
const BUCKETS = 23 * 128 - BASE;
/** Levels of 128 buckets (one per power of two). */
const LEVELS = BUCKETS / 128;

/** Adds one execution of `spec` taking `usec` microseconds to commandstats and latencystats. */
export function recordCall(server: Server, spec: CommandSpec, usec: number): void {
  spec.usec += usec;
  if (spec.afterCall !== undefined) spec.afterCall(server);
  if (!server.latencyTracking) return;
  (spec.latency ??= new LatencyHistogram()).record(usec * 1000);
}

/** recordCall for `times` calls of `usec` each. */
function recordCalls(server: Server, spec: CommandSpec, usec: number, times: number): void {
  spec.usec += usec * times;
  if (spec.afterCall !== undefined) for (let i = 0; i < times; i++) spec.afterCall(server);
  if (!server.latencyTracking) return;
  (spec.latency ??= new LatencyHistogram()).recordTimes(usec * 1000, times);
}

/** INFO latencystats lines (Redis's fillPercentileDistributionLatencies), in table order. */
export function latencyStatsLines(server: Server): string {
  if (!server.latencyTracking) return "";
  const raw = server.config.get("latency-tracking-info-percentiles");
  const ps = raw === "" ? [] : raw.split(" ").map(Number);
  let out = "";
  for (const spec of server.table.all.values()) {
    for (const s of [spec, ...spec.subcommands.values()]) {
      const h = s.latency;
      if (!h) continue;
      out += `latency_percentiles_usec_${s.name.replace(/[#:\r\n]/g, "_")}:` +
        ps.map((p) => `p${String(p)}=${(h.valueAt(p) / 1000).toFixed(3)}`).join(",") + "\r\n";
    }
  }
  return out;
}

/**
 * The kernel ran these commands in one process() call taking `ms`: share the time among them.
 * Returns the last one (the client's last command: CLIENT LIST's cmd=).
 */
export function recordKernelRun(server: Server, x: { ranCommands(): number; ranCommandsPtr(): number },
  mem: Uint8Array, ms: number): CommandSpec | undefined {
  const n = x.ranCommands();
  if (n === 0) return undefined;
  const usec = (ms * 1000) / n;
  const kept = n < 4096 ? n : 4096;
  // Little-endian u16 command indexes, read from the bytes (no view allocated per call).
  let p = x.ranCommandsPtr();
  const specs = server.kernelSpecs;
  let last: CommandSpec | undefined;
  // A pipeline mostly repeats one command: a run of the same index is recorded at once.
  let prev = -1;
  let cur: CommandSpec | undefined;
  let times = 0;
  for (let i = 0; i < kept; i++, p += 2) {
    const index = mem[p] | (mem[p + 1] << 8);
    if (index === prev) { times++; continue; }
    if (cur !== undefined) recordCalls(server, cur, usec, times);
    prev = index;
    cur = specs[index];
    times = 1;
    if (cur !== undefined) last = cur;
  }
  if (cur !== undefined) recordCalls(server, cur, usec, times);
  return last;
}
