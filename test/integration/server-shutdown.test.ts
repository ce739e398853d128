import { describe, it, expect } from "vitest";
import Redis from "ioredis";
import { startServer } from "../helpers/server.js";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

describe("SHUTDOWN", () => {
  it("rejects bad option combinations and a SAVE that cannot write, then exits cleanly on NOSAVE", async () => {
    const srv = await startServer();
    const r = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true, enableReadyCheck: false, retryStrategy: () => null });
    await r.connect();
    try {
      await expect(r.call("shutdown", "save", "nosave")).rejects.toThrow("ERR syntax error");
      await expect(r.call("shutdown", "abort", "now")).rejects.toThrow("ERR syntax error");
      await expect(r.call("shutdown", "abort")).rejects.toThrow("ERR No shutdown in progress.");
      // A directory where the RDB file should go: the final save fails, so SHUTDOWN refuses.
      mkdirSync(join(srv.dir, "dump.rdb"));
      await expect(r.call("shutdown", "save")).rejects.toThrow("ERR Errors trying to SHUTDOWN. Check logs.");
      const exited = new Promise<number | null>((res) => srv.proc.once("exit", (code) => res(code)));
      r.call("shutdown", "nosave").catch(() => {});
      expect(await exited).toBe(0);
      expect(srv.output()).toContain("User requested shutdown...");
    } finally {
      r.disconnect();
      await srv.stop();
    }
  });
});
