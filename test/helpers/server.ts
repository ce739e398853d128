// Starts a real LatticeKV server process (dist/src/cli.js) on a free port with a scratch
// --dir, and stops it by pid. Integration tests talk to it with ioredis or raw sockets.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { beforeAll, afterAll } from "vitest";
import Redis, { type RedisOptions } from "ioredis";
// One free-port probe for the tests and the verifier's server processes.
import { freePort } from "../../src/verify/server-process.js";
export { freePort };

const cli = fileURLToPath(new URL("../../dist/src/cli.js", import.meta.url));

/** Shards of the servers this run starts: the vitest project sets LATTICEKV_SHARDS (1 or 4). */
export const SHARDS = Number(process.env.LATTICEKV_SHARDS ?? "1");

export interface RunningServer {
  port: number;
  dir: string;
  proc: ChildProcess;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * `at` restarts a server where one ran before: the same port and --dir (the caller owns
 * that directory; stop() leaves it).
 */
export async function startServer(extraArgs: string[] = [], env: Record<string, string> = {},
                                  at?: { port: number; dir: string; configFile?: string }): Promise<RunningServer> {
  // freePort's port can be taken by another process before the server binds it (the machine
  // runs many test servers at once): on Redis's "Failed listening on port <ours>" line, start
  // again on a new port, unless the caller chose the port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(extraArgs, env, at);
    } catch (e) {
      const lost = e instanceof PortTakenError;
      if (!lost || at || attempt >= 3) throw lost ? new Error(e.message) : e;
    }
  }
}

class PortTakenError extends Error {}

async function startServerOnce(extraArgs: string[], env: Record<string, string>,
                               at?: { port: number; dir: string; configFile?: string }): Promise<RunningServer> {
  const port = at?.port ?? await freePort();
  const dir = at?.dir ?? mkdtempSync(join(tmpdir(), "lkv-test-"));
  // A config file comes first, as redis-server takes it (CONFIG REWRITE needs one).
  const file = at?.configFile ? [at.configFile] : [];
  const proc = spawn(process.execPath, [cli, ...file, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LATTICEKV_SHARDS: String(SHARDS), ...env },
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 15_000;
    const check = () => {
      if (out.includes("Ready to accept connections")) return resolve();
      if (proc.exitCode !== null) {
        if (!at) rmSync(dir, { recursive: true, force: true });
        const taken = out.includes(`Failed listening on port ${port} (TCP)`);
        return reject(taken ? new PortTakenError(`server exited: ${out}`) : new Error(`server exited: ${out}`));
      }
      if (Date.now() > deadline) {
        // (a server that never said it was ready is not left running: nothing would stop it)
        try { process.kill(proc.pid!, "SIGKILL"); } catch { /* gone meanwhile */ }
        if (!at) rmSync(dir, { recursive: true, force: true });
        return reject(new Error(`server did not start: ${out}`));
      }
      setTimeout(check, 20);
    };
    check();
  });
  return {
    port,
    dir,
    proc,
    output: () => out,
    stop: async () => {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        // The process may exit between the check and the signal (ESRCH): that is a stop too.
        try { process.kill(proc.pid!, "SIGTERM"); } catch { /* already gone */ }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (proc.exitCode === null) try { process.kill(proc.pid!, "SIGKILL"); } catch { /* already gone */ }
      }
      if (!at) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Servers a describe block starts as it goes, each with a connected client, all stopped by
 * stopAll() (its afterAll), last started first.
 */
export function serverGroup(baseArgs: string[] = []) {
  const cleanup: (() => Promise<void>)[] = [];
  return {
    async start(args: string[] = []): Promise<{ srv: RunningServer; r: Redis }> {
      const srv = await startServer([...baseArgs, ...args]);
      cleanup.push(() => srv.stop());
      const r = await connectClient(srv.port);
      cleanup.push(async () => r.disconnect());
      return { srv, r };
    },
    async stopAll(): Promise<void> {
      for (const f of cleanup.splice(0).reverse()) await f();
    },
  };
}

/**
 * Runs a server that must refuse to start (a bad RDB or AOF in dir): resolves with its exit
 * code (null when it was still running after 15 s and was killed) and its stdout+stderr.
 */
export async function runExpectingExit(dir: string, args: string[] = []): Promise<{ code: number | null; out: string }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [cli, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  const code = await new Promise<number | null>((res) => {
    const t = setTimeout(() => { proc.kill("SIGKILL"); res(null); }, 15_000);
    proc.once("exit", (c) => { clearTimeout(t); res(c); });
  });
  return { code, out };
}

/** Sends raw bytes and collects whatever arrives until `until` matches or the socket closes. */
export function rawExchange(port: number, data: string | Buffer, opts: { until?: (s: string) => boolean; timeoutMs?: number } = {}): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let text = "";
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 2000);
    sock.on("data", (d) => {
      text += d.toString("latin1");
      if (opts.until?.(text)) finish(false);
    });
    sock.on("close", () => finish(true));
    sock.on("error", () => finish(true));
    sock.write(data);
  });
}

/** An ioredis client for a test server: connects at once, no ready check (ioredis 6 negotiates RESP3). */
/** A plain TCP connection to 127.0.0.1:port, once connected (for raw RESP bytes). */
export function connectSocket(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

export async function connectClient(port: number, opts: RedisOptions = {}): Promise<Redis> {
  const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false, ...opts });
  await r.connect();
  return r;
}

/**
 * One server and one client for a whole test file: started before its tests, stopped by
 * pid after them. `use` receives both (assign them to the file's variables).
 */
export function useServer(use: (srv: RunningServer, r: Redis) => void, opts: { args?: string[]; client?: RedisOptions } = {}): void {
  let srv: RunningServer | undefined;
  let r: Redis | undefined;
  beforeAll(async () => {
    srv = await startServer(opts.args);
    r = await connectClient(srv.port, opts.client);
    use(srv, r);
  });
  afterAll(async () => {
    r?.disconnect();
    await srv?.stop();
  });
}
