// Loading at start-up (src/persistence/persistence.ts loadOnStartup): the dataset loads in
// slices between event-loop turns, so clients can connect meanwhile; every command without
// Redis's "loading" flag is answered -LOADING, INFO shows the loading fields, and once the
// load is over the server answers normally (Redis's processEventsWhileBlocked while loading).
import { describe, it, expect, afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, freePort, connectClient, SHARDS } from "../helpers/server.js";

const cli = fileURLToPath(new URL("../../dist/src/cli.js", import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Starts the server on `dir` and resolves once it listens (before its data is loaded). */
async function startLoading(dir: string, args: string[]): Promise<{ port: number; proc: ChildProcess; output: () => string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [cli, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LATTICEKV_SHARDS: String(SHARDS) },
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  cleanups.push(async () => {
    if (proc.exitCode === null) {
      const exited = new Promise((r) => proc.once("exit", r));
      try { proc.kill("SIGKILL"); } catch { /* gone */ }
      await exited;
    }
  });
  const deadline = Date.now() + 15_000;
  while (!out.includes("Server initialized")) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { port, proc, output: () => out };
}

function field(info: string, name: string): string {
  return new RegExp(`^${name}:(.*)$`, "m").exec(info)?.[1].trim() ?? "";
}

describe("loading the dataset at start-up", { timeout: 60_000 }, () => {
  for (const aof of [false, true]) {
    it(`answers -LOADING while the ${aof ? "AOF" : "RDB"} loads, shows the loading fields, then serves the data`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "lkv-loading-"));
      cleanups.unshift(() => rmSync(dir, { recursive: true, force: true }));
      const persistArgs = aof ? ["--appendonly", "yes", "--aof-use-rdb-preamble", "no"] : [];
      const first = await startServer(["--enable-debug-command", "yes", ...persistArgs], {}, { port: await freePort(), dir });
      const w = await connectClient(first.port);
      for (let i = 0; i < 2000; i++) await w.set(`key:${i}`, `value-${i}`);
      if (!aof) await w.save();
      w.disconnect();
      await first.stop();

      // 2000 keys (or commands) at 3 ms each: about 6 s of loading, so the checks below still
      // run while it loads when a busy machine slows this client down.
      const srv = await startLoading(dir, ["--key-load-delay", "3000", ...persistArgs]);
      const r = await connectClient(srv.port, { retryStrategy: () => null, maxRetriesPerRequest: 0 });
      cleanups.push(() => r.disconnect());
      await expect(r.ping()).rejects.toThrow("LOADING Redis is loading the dataset in memory");
      await expect(r.get("key:1")).rejects.toThrow("LOADING Redis is loading the dataset in memory");
      const during = await r.info("persistence");
      expect(field(during, "loading")).toBe("1");
      expect(Number(field(during, "loading_total_bytes"))).toBeGreaterThan(0);
      expect(Number(field(during, "loading_loaded_perc"))).toBeLessThan(100);
      expect(field(during, "loading_eta_seconds")).toMatch(/^\d+$/);
      expect(srv.output()).not.toContain("Ready to accept connections");

      const deadline = Date.now() + 30_000;
      for (;;) {
        try { if ((await r.ping()) === "PONG") break; } catch { /* still loading */ }
        if (Date.now() > deadline) throw new Error("loading did not end");
        await new Promise((res) => setTimeout(res, 50));
      }
      const after = await r.info("persistence");
      expect(field(after, "loading")).toBe("0");
      expect(field(after, "loading_total_bytes")).toBe("");
      if (!aof) expect(field(after, "rdb_last_load_keys_loaded")).toBe("2000");
      expect(await r.dbsize()).toBe(2000);
      expect(await r.get("key:1999")).toBe("value-1999");
      expect(srv.output()).toContain("Ready to accept connections");
    });
  }
});
