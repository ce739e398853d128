// A crash writes Redis's bug report to the log (src/server/crash-report.ts) and the process
// dies the way Redis's does: by the fatal signal itself, or abort() for a panic.
import { describe, it, expect } from "vitest";
import { startServer, connectClient, type RunningServer } from "../helpers/server.js";

function exitOf(srv: RunningServer): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((res) => {
    if (srv.proc.exitCode !== null || srv.proc.signalCode !== null) res({ code: srv.proc.exitCode, signal: srv.proc.signalCode });
    else srv.proc.once("exit", (code, signal) => res({ code, signal }));
  });
}

describe("crash report", () => {
  it("DEBUG SEGFAULT: the report names the signal, the stack, INFO, the client and its command, then the process dies by SIGSEGV", async () => {
    const srv = await startServer(["--enable-debug-command", "yes"]);
    const r = await connectClient(srv.port, { retryStrategy: () => null });
    try {
      await r.set("k", "v");
      const exited = exitOf(srv);
      r.call("debug", "segfault").catch(() => {});
      expect((await exited).signal).toBe("SIGSEGV");
      const out = srv.output();
      expect(out).toContain("=== REDIS BUG REPORT START");
      expect(out).toMatch(/crashed by signal: 11/);
      expect(out).toContain("------ STACK TRACE ------");
      expect(out).toMatch(/------ INFO OUTPUT ------\n# Server\nredis_version:7\.0\.15/);
      expect(out).toContain("db0:keys=1");
      expect(out).toContain(`argv[1]: '"segfault"'`);
      expect(out).toContain("=== REDIS BUG REPORT END");
    } finally {
      r.disconnect();
      await srv.stop();
    }
  });

  it("a SIGABRT from outside is reported and kills the process by SIGABRT", async () => {
    const srv = await startServer();
    try {
      const exited = exitOf(srv);
      srv.proc.kill("SIGABRT");
      expect((await exited).signal).toBe("SIGABRT");
      expect(srv.output()).toMatch(/crashed by signal: 6/);
    } finally {
      await srv.stop();
    }
  });

  it("DEBUG PANIC logs the Guru Meditation line; crash-log-enabled no leaves the stack and INFO out", async () => {
    const srv = await startServer(["--enable-debug-command", "yes", "--crash-log-enabled", "no"]);
    const r = await connectClient(srv.port, { retryStrategy: () => null });
    try {
      const exited = exitOf(srv);
      r.call("debug", "panic").catch(() => {});
      expect((await exited).signal).toBe("SIGABRT");
      const out = srv.output();
      expect(out).toMatch(/Guru Meditation: DEBUG PANIC called at Unix time \d+/);
      expect(out).not.toContain("------ STACK TRACE ------");
      expect(out).toContain("=== REDIS BUG REPORT END");
    } finally {
      r.disconnect();
      await srv.stop();
    }
  });
});
