// perf_config.toml: LatticeKV's own tuning, apart from redis.conf (which stays Redis's
// format so a real redis.conf loads unchanged). Read once at start-up with smol-toml.
//
//   shards = 1                       # kernel instances (WASM), each owning a slot range
//   [buffers]
//   output_high_water = "16mb"       # unsent reply bytes above which a client's input waits
//   input_region = "64kb"            # initial size of each shard's request region
//   [kernel]
//   initial_memory = "0"             # linear memory each shard reserves at start-up (0 = as needed)
//   max_memory = "0"                 # cap on each shard's linear memory (0 = wasm32's 4 GiB)
//
// A shard whose linear memory reached max_memory puts the server in the OOM state of
// maxmemory (src/server/maxmemory.ts): commands that may grow memory get -OOM.
//
// Sizes take redis.conf's units (kb, mb, gb) or plain byte counts. The file is looked up
// in LATTICEKV_PERF_CONFIG, then the directory the server was started from (before
// redis.conf's `dir` moves it), then the package root. LATTICEKV_SHARDS overrides `shards`
// (the test suite runs everything with 1 and with 4).
import { existsSync, readFileSync } from "node:fs";
import { packageFile } from "../util/package-files.js";
import { join } from "node:path";
import { parse as parseToml } from "smol-toml";
import { parseMemory } from "./config.js";

export interface PerfConfig {
  shards: number;
  buffers: { outputHighWater: number; inputRegion: number };
  kernel: { initialMemory: number; maxMemory: number };
  /** Where the values came from (a path, or "defaults"). */
  source: string;
}

export const PERF_DEFAULTS: Omit<PerfConfig, "source"> = {
  shards: 1,
  buffers: { outputHighWater: 16 << 20, inputRegion: 64 * 1024 },
  kernel: { initialMemory: 0, maxMemory: 0 },
};

/** The working directory at start-up, before `dir` changes it. */
const startCwd = process.cwd();

function candidates(): string[] {
  const out: string[] = [];
  if (process.env.LATTICEKV_PERF_CONFIG) out.push(process.env.LATTICEKV_PERF_CONFIG);
  out.push(join(startCwd, "perf_config.toml"));
  out.push(packageFile("perf_config.toml"));
  return out;
}

function size(v: unknown, where: string): number {
  const n = typeof v === "number" ? v : typeof v === "string" ? parseMemory(v.trim()) : null;
  if (n === null || !Number.isInteger(n) || n < 0) throw new Error(`${where} must be a size in bytes or with kb/mb/gb, got ${JSON.stringify(v)}`);
  return n;
}

function table(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined) return {};
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`${where} must be a table`);
  return v as Record<string, unknown>;
}

function checkKeys(t: Record<string, unknown>, allowed: string[], where: string): void {
  for (const k of Object.keys(t)) if (!allowed.includes(k)) throw new Error(`unknown setting ${where}${k} in perf_config.toml`);
}

/** Parses perf_config.toml text; throws with a message naming the bad setting. */
export function parsePerfConfig(text: string, source = "perf_config.toml"): PerfConfig {
  const doc = parseToml(text) as Record<string, unknown>;
  checkKeys(doc, ["shards", "buffers", "kernel"], "");
  const cfg: PerfConfig = {
    shards: PERF_DEFAULTS.shards,
    buffers: { ...PERF_DEFAULTS.buffers },
    kernel: { ...PERF_DEFAULTS.kernel },
    source,
  };
  if (doc.shards !== undefined) cfg.shards = shardCount(Number(doc.shards), "shards");
  const b = table(doc.buffers, "[buffers]");
  checkKeys(b, ["output_high_water", "input_region"], "buffers.");
  if (b.output_high_water !== undefined) cfg.buffers.outputHighWater = size(b.output_high_water, "buffers.output_high_water");
  if (b.input_region !== undefined) cfg.buffers.inputRegion = size(b.input_region, "buffers.input_region");
  if (cfg.buffers.outputHighWater < 1024) throw new Error("buffers.output_high_water must be at least 1kb");
  const k = table(doc.kernel, "[kernel]");
  checkKeys(k, ["initial_memory", "max_memory"], "kernel.");
  if (k.initial_memory !== undefined) cfg.kernel.initialMemory = size(k.initial_memory, "kernel.initial_memory");
  if (cfg.kernel.initialMemory > 4 * 1024 ** 3 - 65536) throw new Error("kernel.initial_memory must be below 4gb (wasm32)");
  if (k.max_memory !== undefined) cfg.kernel.maxMemory = size(k.max_memory, "kernel.max_memory");
  return cfg;
}

function shardCount(n: number, where: string): number {
  if (!Number.isInteger(n) || n < 1 || n > 1024) throw new Error(`${where} must be an integer from 1 to 1024`);
  return n;
}

let cached: PerfConfig | undefined;

/** The server's perf configuration (read once). */
export function perfConfig(): PerfConfig {
  if (cached) return cached;
  let cfg: PerfConfig = { ...PERF_DEFAULTS, buffers: { ...PERF_DEFAULTS.buffers }, kernel: { ...PERF_DEFAULTS.kernel }, source: "defaults" };
  for (const path of candidates()) {
    if (!existsSync(path)) continue;
    cfg = parsePerfConfig(readFileSync(path, "utf8"), path);
    break;
  }
  const env = process.env.LATTICEKV_SHARDS;
  if (env) cfg.shards = shardCount(Number(env), "LATTICEKV_SHARDS");
  cached = cfg;
  return cfg;
}
