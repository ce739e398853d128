// redis-cli (Debian's redis-tools) for the cluster tests: a command run to its end (cli), one
// that runs while the test's clients go on (cliAsync: a reshard under a workload), and
// `redis-cli --cluster check` polled until it passes.
import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { until } from "./wait.js";

export const redisCli = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"].find((p) => existsSync(p));

/** Why a redis-cli run failed: a failed reshard says why only in its output. */
function cliError(e: unknown): Error {
  const err = e as Error & { stdout?: string; stderr?: string };
  return new Error(`${err.message}\n--- stdout (last 2000 chars):\n${String(err.stdout ?? "").slice(-2000)}\n--- stderr:\n${String(err.stderr ?? "")}`);
}

/** Runs redis-cli to its end (the test's event loop waits); throws on a non-zero exit. */
export function cli(...args: string[]): string {
  try {
    return execFileSync(redisCli!, args, { encoding: "utf8", timeout: 60_000 });
  } catch (e) {
    throw cliError(e);
  }
}

/**
 * Runs redis-cli as a child process without blocking the test's event loop, so ioredis
 * clients keep writing while it runs (execFileSync would stop them for the whole reshard).
 */
export function cliAsync(args: string[], timeoutMs = 240_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(redisCli!, args, { encoding: "utf8", timeout: timeoutMs, maxBuffer: 64 << 20 }, (e, stdout, stderr) => {
      if (e) reject(cliError(Object.assign(e, { stdout, stderr })));
      else resolve(stdout);
    });
  });
}

/**
 * `redis-cli --cluster check` until it passes (exit 0: the nodes agree and every slot is
 * covered, no slot open). Gossip settles in a few pings; on a loaded machine a ping can be late.
 */
export async function clusterCheckPasses(port: number, ms = 30_000): Promise<string> {
  let last = "";
  await until("redis-cli --cluster check to pass", () => {
    try {
      last = cli("--cluster", "check", `127.0.0.1:${port}`);
      return last.includes("[OK] All nodes agree about slots configuration.") && last.includes("[OK] All 16384 slots covered.");
    } catch (e) {
      last = String(e);
      return false;
    }
  }, ms, 100).catch((e: Error) => { throw new Error(`${e.message}; its last output:\n${last}`); });
  return last;
}
