import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { parsePerfConfig, PERF_DEFAULTS } from "../src/config/perf-config.js";

describe("perf_config.toml", () => {
  it("the shipped file parses to the defaults", () => {
    const cfg = parsePerfConfig(readFileSync(new URL("../perf_config.toml", import.meta.url), "utf8"));
    expect({ shards: cfg.shards, buffers: cfg.buffers, kernel: cfg.kernel }).toEqual(PERF_DEFAULTS);
  });

  it("sizes take redis.conf units", () => {
    const cfg = parsePerfConfig('shards = 4\n[buffers]\noutput_high_water = "2mb"\ninput_region = 131072\n[kernel]\ninitial_memory = "16mb"\n');
    expect(cfg.shards).toBe(4);
    expect(cfg.buffers).toEqual({ outputHighWater: 2 * 1024 * 1024, inputRegion: 131072 });
    expect(cfg.kernel.initialMemory).toBe(16 * 1024 * 1024);
  });

  it("rejects unknown settings and bad values with the setting's name", () => {
    expect(() => parsePerfConfig("shardz = 2\n")).toThrow("unknown setting shardz");
    expect(() => parsePerfConfig("shards = 0\n")).toThrow("shards must be an integer from 1 to 1024");
    expect(() => parsePerfConfig('[buffers]\noutput_high_water = "lots"\n')).toThrow("buffers.output_high_water");
    expect(() => parsePerfConfig('[kernel]\ninitial_memory = "5gb"\n')).toThrow("kernel.initial_memory");
    expect(() => parsePerfConfig('[kernel]\nmax_memory = "much"\n')).toThrow("kernel.max_memory");
  });
});
