// unixsocket / unixsocketperm (src/server/unix-socket.ts): clients over the unix socket, how
// CLIENT LIST shows them, the socket file's mode, and its removal at shutdown.
import { describe, it, expect } from "vitest";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import net from "node:net";
import Redis from "ioredis";
import { startServer } from "../helpers/server.js";
import { scratchDir } from "../helpers/scratch.js";

describe("unixsocket", () => {
  it("serves clients on the unix socket, shown as addr=<path>:0 with flag U (in Redis's letter order), with unixsocketperm's mode; the file goes at shutdown", async () => {
    const path = join(scratchDir("unix"), "redis.sock");
    const srv = await startServer(["--unixsocket", path, "--unixsocketperm", "700"]);
    const r = new Redis({ path, lazyConnect: true, enableReadyCheck: false });
    try {
      await r.connect();
      expect(await r.ping()).toBe("PONG");
      const info = await r.client("INFO") as string;
      expect(info).toContain(`addr=${path}:0 laddr=${path}:0 `);
      expect(info).toMatch(/ flags=U /);
      // Letters in Redis's order whatever order their families registered in: t, U, e.
      await r.client("NO-EVICT", "on");
      await r.client("TRACKING", "on");
      expect(await r.client("INFO")).toMatch(/ flags=tUe /);
      expect(statSync(path).mode & 0o777).toBe(0o700);
      expect(await r.config("GET", "unixsocket")).toEqual(["unixsocket", path]);
      expect(srv.output()).toContain(`The server is now ready to accept connections at ${path}`);
    } finally {
      r.disconnect();
      await srv.stop();
    }
    expect(existsSync(path)).toBe(false);
  });

  it("with an empty bind only the unix socket serves, and CONFIG SET bind over it opens TCP again", async () => {
    const path = join(scratchDir("unix"), "only.sock");
    const srv = await startServer(["--unixsocket", path]);
    const r = new Redis({ path, lazyConnect: true, enableReadyCheck: false });
    try {
      await r.connect();
      expect(await r.config("SET", "bind", "")).toBe("OK");
      const refused = await new Promise<string>((resolve) => {
        const sock = net.connect(srv.port, "127.0.0.1", () => { sock.destroy(); resolve("connected"); });
        sock.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
      expect(refused).toBe("ECONNREFUSED");
      expect(await r.ping()).toBe("PONG"); // protected mode lets unix socket clients in
      expect(await r.config("SET", "bind", "127.0.0.1")).toBe("OK");
      const back = new Redis({ port: srv.port, host: "127.0.0.1", lazyConnect: true });
      await back.connect();
      expect(await back.ping()).toBe("PONG");
      back.disconnect();
    } finally {
      r.disconnect();
      await srv.stop();
    }
  });
});
