// Per-command statistics for INFO commandstats: host-run commands count in their table
// row; kernel-run commands count in the shard kernels (commandCalls/commandFailedCalls),
// summed over shards. A kernel command the host ran through dispatch (MULTI, Lua) was
// counted by the kernel too, so for kernel rows the kernel's count is the calls figure
// and the host row only adds its measured time.
import type { CommandSpec } from "./table.js";
import type { Server } from "../server/server.js";

export interface CommandStat { name: string; calls: number; usec: number; failedCalls: number; rejectedCalls: number }

function statOf(server: Server, spec: CommandSpec): CommandStat {
  let calls = spec.calls;
  let failed = spec.failedCalls;
  let rejected = spec.rejectedCalls;
  if (spec.kernelIndex >= 0) {
    calls = 0;
    failed = 0;
    for (const sh of server.shards) {
      calls += sh.kernel.x.commandCalls(spec.kernelIndex);
      failed += sh.kernel.x.commandFailedCalls(spec.kernelIndex);
      rejected += sh.kernel.x.commandRejectedCalls(spec.kernelIndex);
    }
  }
  return { name: spec.name, calls, usec: spec.usec, failedCalls: failed, rejectedCalls: rejected };
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

/** Sum of calls over every command: INFO's total_commands_processed. */
export function totalCalls(server: Server): number {
  let n = 0;
  for (const c of commandStats(server)) n += c.calls;
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
      s.calls = 0; s.failedCalls = 0; s.rejectedCalls = 0; s.usec = 0;
    }
  }
  for (const sh of server.shards) {
    sh.kernel.x.resetCommandStats();
    sh.kernel.x.resetErrorStats();
  }
}
