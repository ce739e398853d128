import { describe, it, expect } from "vitest";
import Redis from "ioredis";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, SHARDS } from "../helpers/server.js";

describe("perf_config.toml at start-up", () => {
  it("kernel.initial_memory reserves each shard's memory (seen in INFO allocator_active; used_memory counts the dataset)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-perf-"));
    const file = join(dir, "perf_config.toml");
    writeFileSync(file, '[kernel]\ninitial_memory = "32mb"\n');
    const srv = await startServer([], { LATTICEKV_PERF_CONFIG: file });
    const r = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
    try {
      await r.connect();
      const active = Number(/allocator_active:(\d+)/.exec(await r.info("memory"))![1]);
      expect(active).toBeGreaterThanOrEqual(SHARDS * 32 * 1024 * 1024);
    } finally {
      r.disconnect();
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("kernel.max_memory: once a shard's memory reached it, writes get -OOM and reads still run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-perf-"));
    const file = join(dir, "perf_config.toml");
    writeFileSync(file, '[kernel]\nmax_memory = "16mb"\n');
    const srv = await startServer(["--hz", "100"], { LATTICEKV_PERF_CONFIG: file });
    const r = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
    try {
      await r.connect();
      const big = "x".repeat(256 * 1024);
      let refused: Error | null = null;
      // Grow a shard past 16 MB (a fresh shard holds 4 MB); serverCron (hz 100) notices and turns the OOM state on.
      for (let i = 0; i < 200 && !refused; i++) {
        try { await r.set(`k${i}`, big); } catch (e) { refused = e as Error; }
        await new Promise((res) => setTimeout(res, 5));
      }
      expect(refused?.message).toBe("OOM command not allowed when used memory > 'maxmemory'.");
      expect((await r.get("k0"))?.length).toBe(big.length);
    } finally {
      r.disconnect();
      await srv.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
