// Starts real LatticeKV server processes for a workload, as test/helpers/server.ts does for
// the integration tests: a random free port on 127.0.0.1, a scratch --dir, stopped by pid.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
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
 * (the default cluster and CRDT bus port) must be free as well, and stays below 65536. A port
 * is handed out once per process: callers often take several before starting any server.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 10000 + Math.floor(Math.random() * 10000);
    if (handedOut.has(port)) continue;
    if (await canListen(port) && await canListen(port + 10000)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("freePort: no free port pair found in 10000-19999");
}

const handedOut = new Set<number>();

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
