// The server under test (ours: node dist/src/cli.js; or redis-server to check the yardstick)
// on a random free port with a scratch --dir, stopped by pid. Liveness is "process alive
// and answers PING".
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Our server: `node dist/src/cli.js` with redis-server's flags. */
export function latticekvCommand(cli) {
  return [process.execPath, cli];
}

/**
 * Starts `command... --port P --bind 127.0.0.1 --dir D --save ""` and resolves once it logs
 * "Ready to accept connections" (both redis-server and ours do).
 */
export async function startServer(command, { readyTimeoutMs = 20_000 } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "lkv-compat-"));
  const [exe, ...pre] = command;
  const proc = spawn(exe, [...pre, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  const keep = (d) => {
    log += d;
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const exited = new Promise((r) => proc.once("exit", r));
  await new Promise((resolve, reject) => {
    const deadline = Date.now() + readyTimeoutMs;
    const check = () => {
      if (log.includes("Ready to accept connections")) return resolve();
      if (proc.exitCode !== null || proc.signalCode !== null) return reject(new Error(`server exited before it was ready:\n${log}`));
      if (Date.now() > deadline) {
        process.kill(proc.pid, "SIGKILL");
        return reject(new Error(`server not ready after ${readyTimeoutMs} ms:\n${log}`));
      }
      setTimeout(check, 25);
    };
    check();
  });
  return {
    port,
    pid: proc.pid,
    log: () => log,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    /** Stops by pid: SIGTERM, then SIGKILL after a grace period. */
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        process.kill(proc.pid, "SIGTERM");
        const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
        if (!done) {
          process.kill(proc.pid, "SIGKILL");
          await exited;
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** True when the server at port answers PING with +PONG within timeoutMs. */
export function ping(port, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let text = "";
    const finish = (ok) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on("data", (d) => {
      text += d;
      if (text.includes("\r\n")) finish(text.startsWith("+PONG"));
    });
    sock.on("error", () => finish(false));
    sock.write("*1\r\n$4\r\nPING\r\n");
  });
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
