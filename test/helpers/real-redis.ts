// Starts Debian's real redis-server 7.0 (the yardstick) on a free port with a scratch dir,
// for round-trip tests of formats both servers must share (DUMP payloads, RDB files).
// Tests skip with a clear message when redis-server is not installed.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./server.js";

export const REDIS_SERVER = "redis-server";

/** Whether redis-server can be run here; tests use it.skipIf(!hasRealRedis). */
export const hasRealRedis = spawnSync(REDIS_SERVER, ["--version"]).status === 0;
if (!hasRealRedis) console.warn("redis-server is not installed (apt-get install redis-server): round trips with real Redis are skipped");
// In CI they must run: .ci/run installs it.
if (!hasRealRedis && process.env.CI) throw new Error("redis-server is not installed and CI is set: .ci/run installs it");

export interface RealRedis {
  port: number;
  dir: string;
  proc: ChildProcess;
  output: () => string;
  /** SIGTERM (Redis then saves if save rules are set) and wait for exit; keeps the dir unless cleanup. */
  stop: (cleanup?: boolean) => Promise<void>;
}

export async function startRealRedis(args: string[] = [], dir?: string): Promise<RealRedis> {
  const port = await freePort();
  const d = dir ?? mkdtempSync(join(tmpdir(), "lkv-real-"));
  const proc = spawn(REDIS_SERVER, ["--port", String(port), "--bind", "127.0.0.1", "--dir", d, "--save", "", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    // Redis calls setlocale(LC_COLLATE, ""), and Lua compares strings with strcoll: the C
    // locale orders them by byte, as ours always does, whatever the machine's LANG.
    env: { ...process.env, LC_ALL: "C" },
  });
  let out = "";
  proc.stdout!.on("data", (x) => (out += x));
  proc.stderr!.on("data", (x) => (out += x));
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 15_000;
    const check = () => {
      if (out.includes("Ready to accept connections")) return resolve();
      if (proc.exitCode !== null) return reject(new Error(`redis-server exited: ${out}`));
      if (Date.now() > deadline) {
        try { process.kill(proc.pid!, "SIGKILL"); } catch { /* gone meanwhile */ }
        return reject(new Error(`redis-server did not start: ${out}`));
      }
      setTimeout(check, 20);
    };
    check();
  });
  return {
    port, dir: d, proc, output: () => out,
    stop: async (cleanup = true) => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        process.kill(proc.pid!, "SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (proc.exitCode === null) process.kill(proc.pid!, "SIGKILL");
      }
      if (cleanup) rmSync(d, { recursive: true, force: true });
    },
  };
}
