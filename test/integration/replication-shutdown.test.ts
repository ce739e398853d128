// A master that shuts down sends its replicas the stream it has not yet sent, as Redis's
// finishShutdown does (flushSlavesOutputBuffers) before it closes its sockets: writes in the
// same turn as SHUTDOWN NOW (one pipeline, one read) are on the replica afterwards.
import { describe, it, expect } from "vitest";
import { startReplicaPair } from "../helpers/replica-pair.js";
import { connectSocket } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

/** A RESP multibulk command. */
const resp = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`;

describe("replication: SHUTDOWN NOW", () => {
  it("a replica gets the writes of the master's last turn: SETs and SHUTDOWN NOW NOSAVE in one pipeline", async () => {
    const pair = await startReplicaPair(["--save", ""], ["--save", ""]);
    try {
      await pair.m.set("before", "1");
      await pair.synced();
      // One write, so the master reads the SETs and SHUTDOWN in one turn: the SETs' stream is
      // still the turn's (not yet on the replica's socket) when SHUTDOWN runs.
      const sets = Array.from({ length: 50 }, (_, i) => resp("SET", `last:${i}`, String(i))).join("");
      const exited = new Promise<number | null>((res) => pair.primary.proc.once("exit", (code) => res(code)));
      const sock = await connectSocket(pair.primary.port);
      sock.on("error", () => {});
      sock.write(sets + resp("SHUTDOWN", "NOW", "NOSAVE"));
      expect(await exited).toBe(0);
      // The link is down once the replica read the master's close, after every byte sent before it.
      await until("link down", async () => /master_link_status:down/.test(await pair.s.info("replication")));
      expect(await pair.s.dbsize()).toBe(51);
      expect(await pair.s.get("last:49")).toBe("49");
      sock.destroy();
    } finally {
      await pair.stop();
    }
  });
});
