import { describe, it, expect } from "vitest";
import Redis from "ioredis";
import { existsSync, readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startServer, rawExchange, freePort } from "../helpers/server.js";

describe("connection limits and lifecycle directives", () => {
  it("maxclients: the next connection gets Redis's error and is closed", async () => {
    const srv = await startServer(["--maxclients", "2"]);
    const a = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
    const b = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false });
    try {
      await a.connect(); await b.connect();
      await a.ping(); await b.ping();
      const third = await rawExchange(srv.port, "PING\r\n");
      expect(third.text).toBe("-ERR max number of clients reached\r\n");
      expect(third.closed).toBe(true);
      expect(await a.info("stats")).toContain("rejected_connections:1\r\n");
    } finally {
      a.disconnect(); b.disconnect();
      await srv.stop();
    }
  });

  it("timeout: an idle client is closed, an active one is not", async () => {
    const srv = await startServer(["--timeout", "1", "--hz", "50"]);
    const idle = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null });
    try {
      await idle.connect();
      const closed = new Promise((res) => idle.once("end", res));
      // The server counts idleness from when PING arrived, which is after this instant, so the
      // bound below holds however long the reply takes to come back on a loaded machine.
      const started = Date.now();
      await idle.ping();
      await closed;
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      idle.disconnect();
      await srv.stop();
    }
  });

  it("logfile and pidfile are written at start-up (every log line in the file, none on stdout), the pidfile removed at exit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-log-"));
    const logfile = join(dir, "server.log");
    const pidfile = join(dir, "server.pid");
    const port = await freePort();
    const cli = fileURLToPath(new URL("../../dist/src/cli.js", import.meta.url));
    const proc = spawn(process.execPath, [cli, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "",
      "--logfile", logfile, "--pidfile", pidfile], { stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    proc.stdout!.on("data", (d: Buffer) => { stdout += d.toString(); });
    try {
      const deadline = Date.now() + 15_000;
      while (!(existsSync(logfile) && readFileSync(logfile, "utf8").includes("Ready to accept connections"))) {
        if (Date.now() > deadline) throw new Error("server did not log readiness to its logfile");
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(readFileSync(pidfile, "utf8").trim()).toBe(String(proc.pid));
      // Redis writes even its first lines ("oO0OoO0OoO0Oo Redis is starting") to the logfile.
      expect(readFileSync(logfile, "utf8")).toContain("LatticeKV is starting");
      expect(stdout).toBe("");
    } finally {
      const exited = new Promise((r) => proc.once("exit", r));
      process.kill(proc.pid!, "SIGTERM");
      await exited;
      expect(existsSync(pidfile)).toBe(false);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("start-up lines the Tcl harness reads", () => {
  it("always-show-logo prints Port: and PID: lines", async () => {
    const srv = await startServer(["--always-show-logo", "yes"]);
    try {
      expect(srv.output()).toContain(`PID: ${srv.proc.pid}\n`);
      expect(srv.output()).toContain(`Port: ${srv.port}\n`);
    } finally {
      await srv.stop();
    }
  });

  it("a busy port ends start-up with Redis's 'Failed listening on port' and exit code 1", async () => {
    const srv = await startServer();
    try {
      const cli = fileURLToPath(new URL("../../dist/src/cli.js", import.meta.url));
      const proc = spawn(process.execPath, [cli, "--port", String(srv.port), "--bind", "127.0.0.1", "--save", ""], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      proc.stdout!.on("data", (d) => (out += d));
      const code = await new Promise((r) => proc.once("exit", r));
      expect(code).toBe(1);
      expect(out).toContain(`Failed listening on port ${srv.port} (TCP), aborting.`);
    } finally {
      await srv.stop();
    }
  });
});
