// PING and ECHO run in the kernel: a pipeline of them is answered in one process() call,
// on whichever shard parsed it, with Redis's replies and arity errors.
import { describe, it, expect } from "vitest";
import { loadKernel } from "../../src/kernel/load.js";
import { Kernel, STATUS_DONE, STATUS_HOST } from "../../src/kernel/kernel.js";
import { setShard, feed } from "./feed.js";

/** Bound as the host binds them: PING arity -1, ECHO 2, both keyless (ROUTE_HOST 2 | FAST 8). */
function kernel(shard = 0, shards = 1): Kernel {
  const k = loadKernel({ seed: 3 });
  k.bindCommand("ping", -1, 2 | 8, { firstKey: 0, lastKey: 0, keyStep: 0 });
  k.bindCommand("echo", 2, 2 | 8, { firstKey: 0, lastKey: 0, keyStep: 0 });
  setShard(k, shard, shards);
  return k;
}

describe("PING and ECHO in the kernel", () => {
  it("answers a pipeline of inline and multibulk PING/ECHO in one call", () => {
    const r = feed(kernel(), "PING\r\n*2\r\n$4\r\nping\r\n$5\r\nhello\r\n*2\r\n$4\r\nECHO\r\n$3\r\na b\r\n");
    expect(r.st).toBe(STATUS_DONE);
    expect(r.out).toBe("+PONG\r\n$5\r\nhello\r\n$3\r\na b\r\n");
  });

  it("replies Redis's arity errors: PING with two arguments, ECHO without one", () => {
    const k = kernel();
    expect(feed(k, "PING a b\r\nECHO\r\n").out).toBe(
      "-ERR wrong number of arguments for 'ping' command\r\n-ERR wrong number of arguments for 'echo' command\r\n");
    // PING's error is raised by the command (a failed call), ECHO's by the arity check (rejected).
    const ping = k.commandNames().indexOf("ping");
    const echo = k.commandNames().indexOf("echo");
    expect(k.x.commandFailedCalls(ping)).toBe(1);
    expect(k.x.commandRejectedCalls(echo)).toBe(1);
  });

  it("runs on a shard that owns none of the slots of its argument, never handed back for routing", () => {
    const k = kernel(3, 4);
    const r = feed(k, "*2\r\n$4\r\nPING\r\n$3\r\nfoo\r\n");
    expect(r.st).toBe(STATUS_DONE);
    expect(r.out).toBe("$3\r\nfoo\r\n");
  });

  it("is handed back like any command while the client's commands are queued (MULTI)", () => {
    const k = kernel();
    k.x.setQueueing(1);
    const r = feed(k, "PING\r\n");
    expect(r.st).toBe(STATUS_HOST);
    expect(r.out).toBe("");
  });
});
