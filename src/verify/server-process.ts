// Starts real LatticeKV server processes for a workload, as test/helpers/server.ts does for
// the integration tests: a random free port on 127.0.0.1, a scratch --dir, stopped by pid.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { startDeadline, waitReady } from "./ready.js";

// The built server: beside this file when it runs from dist/, in dist/ when a test imports
// the TypeScript source.
const here = dirname(fileURLToPath(import.meta.url));
const cli = here.includes(`${sep}dist${sep}`) ? join(here, "..", "cli.js") : join(here, "..", "..", "dist", "src", "cli.js");

export interface ServerProcess {
  port: number;
  pid: number;
  output(): string;
  stop(): Promise<void>;
}

/**
 * A port no one listens on now, for a server about to start. Chosen at random in 10000-19999,
 * below Linux's ephemeral range (32768-60999): a port the kernel hands out for `listen(0)`
 * comes from the pool every outgoing connection draws from too, so with many test servers and
 * clients at once it was sometimes taken between this probe and the server's bind. port + 10000
 * (the default cluster and CRDT bus port) must be free as well, and stays below 65536.
 *
 * A port is handed out once per process, and across processes (the vitest workers, the
 * worktrees of one machine) for CLAIM_MS: a test that stops a server and restarts it on the
 * same port, as restart and failover tests do, leaves the port free while it is down, and
 * another process's probe took it then (CI saw a cluster node fail to restart on its bus port).
 * The claim is a file in tmpdir()/lkv-ports created exclusively; a claim older than CLAIM_MS
 * is stale and may be taken again.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10000 + Math.floor(Math.random() * 10000);
    if (handedOut.has(port) || !claim(port)) continue;
    handedOut.add(port);
    if (await canListen(port) && await canListen(port + 10000)) return port;
  }
  throw new Error("freePort: no free port pair found in 10000-19999");
}

const handedOut = new Set<number>();

const CLAIM_MS = 15 * 60_000;
const claimDir = join(tmpdir(), "lkv-ports");

/** Claims port for this process unless another process claimed it less than CLAIM_MS ago. */
function claim(port: number): boolean {
  const file = join(claimDir, String(port));
  mkdirSync(claimDir, { recursive: true });
  for (let tries = 0; tries < 2; tries++) {
    try {
      closeSync(openSync(file, "wx"));
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      let age: number;
      try { age = Date.now() - statSync(file).mtimeMs; } catch { continue; } // just released
      if (age < CLAIM_MS) return false;
      try { unlinkSync(file); } catch { /* another process took the stale claim first */ }
    }
  }
  return false;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}

export async function startServerProcess(extraArgs: string[] = [], env: Record<string, string> = {}): Promise<ServerProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "lkv-verify-"));
  const proc: ChildProcess = spawn(process.execPath, [cli, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const fail = (e: Error) => {
      rmSync(dir, { recursive: true, force: true });
      reject(e);
    };
    const deadline = startDeadline(); // generous: a loaded machine can take long to start a node
    const check = () => {
      if (out.includes("Ready to accept connections")) return resolve();
      if (proc.exitCode !== null) return fail(new Error(`server exited: ${out}`));
      if (Date.now() > deadline) {
        process.kill(proc.pid!, "SIGKILL");
        return fail(new Error(`server did not start: ${out}`));
      }
      setTimeout(check, 20);
    };
    check();
  });
  // "Ready" is logged once listening, but serving can lag on a loaded machine: PING first.
  try {
    await waitReady(port, 0, startDeadline());
  } catch (e) {
    try { process.kill(proc.pid!, "SIGKILL"); } catch {}
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    pid: proc.pid!,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        process.kill(proc.pid!, "SIGTERM");
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        // it may exit between the wait and the kill (ESRCH): that is fine
        if (proc.exitCode === null && proc.signalCode === null) {
          try {
            process.kill(proc.pid!, "SIGKILL");
          } catch {}
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
