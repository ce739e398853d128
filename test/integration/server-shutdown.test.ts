import { describe, it, expect } from "vitest";
import Redis from "ioredis";
import { startServer } from "../helpers/server.js";
import { mkdirSync } from "node:fs";
import net from "node:net";
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

  it("stops listening before it closes its clients: a client that reconnects as soon as its connection closes is refused", async () => {
    const srv = await startServer();
    try {
      const sock = net.connect(srv.port, "127.0.0.1");
      await new Promise((res) => sock.once("connect", res));
      const outcome = new Promise<string>((resolve) => {
        sock.once("close", () => {
          const again = net.connect(srv.port, "127.0.0.1");
          again.once("connect", () => { again.destroy(); resolve("accepted"); });
          again.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
        });
      });
      sock.write("*2\r\n$8\r\nshutdown\r\n$6\r\nnosave\r\n");
      expect(await outcome).toBe("ECONNREFUSED");
    } finally {
      await srv.stop();
    }
  });
});
