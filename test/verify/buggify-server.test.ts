// The host's fault points: short-write cuts a socket write into pieces sent in order (the
// cut is checked on the server's side of the socket: a loaded receiver may coalesce TCP
// segments again); on a real server process the replies stay byte-exact, and with socket and
// clock faults on the single-node workload is still linearizable.
import { describe, it, expect, afterEach } from "vitest";
import type { Socket } from "node:net";
import { injectSocketFaults } from "../../src/server/faults.js";
import { disableBuggify, enableBuggify } from "../../src/util/buggify.js";
import net from "node:net";
import { startServer, connectClient, freePort, type RunningServer } from "../helpers/server.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkRun, describeFailures } from "../../src/verify/summary.js";
import { runWorkload } from "../../src/verify/workload.js";

let srv: RunningServer | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

function exchange(port: number, data: string, expectBytes: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect(port, "127.0.0.1");
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timed out with ${Buffer.concat(chunks).toString("latin1")}`));
    }, 5000);
    sock.on("data", (d) => {
      chunks.push(d);
      if (Buffer.concat(chunks).length >= expectBytes) {
        clearTimeout(timer);
        sock.end();
        resolve(chunks);
      }
    });
    sock.write(data);
  });
}

describe("injectSocketFaults", () => {
  afterEach(() => disableBuggify());

  function fakeSocket() {
    const writes: string[] = [];
    let ended = false;
    const sock = {
      destroyed: false,
      write: (b: Buffer | string) => (writes.push(Buffer.from(b).toString("latin1")), true),
      end: () => ((ended = true), sock),
    };
    return { sock: sock as unknown as Socket, writes, ended: () => ended };
  }

  it("leaves the socket untouched while buggify is disabled", () => {
    const f = fakeSocket();
    const before = f.sock.write;
    injectSocketFaults(f.sock);
    expect(f.sock.write).toBe(before);
  });

  it("short-write cuts writes into pieces, keeps their order, and ends after the last", async () => {
    enableBuggify(3, { points: ["short-write"], probabilities: { "short-write": 1 } });
    const f = fakeSocket();
    injectSocketFaults(f.sock);
    f.sock.write(Buffer.from("+first reply\r\n"));
    f.sock.write(Buffer.from("$5\r\nhello\r\n"));
    f.sock.end();
    expect(f.ended()).toBe(false);
    // pieces leave 1 ms apart: wait for the end (a loaded machine runs timers late)
    for (let i = 0; i < 500 && !f.ended(); i++) await new Promise((r) => setTimeout(r, 10));
    expect(f.writes.join("")).toBe("+first reply\r\n$5\r\nhello\r\n");
    expect(f.writes.length).toBeGreaterThanOrEqual(4);
    expect(f.ended()).toBe(true);
  });
});

describe("buggify in the server", () => {
  it("short-write keeps replies byte-exact and the server says which points are active", async () => {
    srv = await startServer([], { LATTICEKV_BUGGIFY: "5:short-write=1" });
    const value = "x".repeat(200);
    const want = `+OK\r\n$200\r\n${value}\r\n`;
    const chunks = await exchange(srv.port, `SET k ${value}\r\nGET k\r\n`, want.length);
    expect(Buffer.concat(chunks).toString("latin1")).toBe(want);
    expect(srv.output()).toContain("buggify enabled (seed 5): active fault points: short-write");
  });

  it("slow-disk stalls every AOF write yet loses nothing: the writes are all there after a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-slowdisk-"));
    try {
      srv = await startServer(["--appendonly", "yes", "--appendfsync", "always"], { LATTICEKV_BUGGIFY: "11:slow-disk=1" }, { port: await freePort(), dir });
      expect(srv.output()).toContain("active fault points: slow-disk");
      const c = await connectClient(srv.port);
      const started = Date.now();
      for (let i = 0; i < 40; i++) expect(await c.set(`k${i}`, `v${i}`)).toBe("OK");
      // Each write stalled at least 1 ms before it reached the file.
      expect(Date.now() - started).toBeGreaterThanOrEqual(40);
      c.disconnect();
      await srv.stop();
      srv = await startServer(["--appendonly", "yes"], {}, { port: await freePort(), dir });
      const d = await connectClient(srv.port);
      expect(await d.dbsize()).toBe(40);
      expect(await d.get("k39")).toBe("v39");
      d.disconnect();
    } finally {
      await srv?.stop();
      srv = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("alloc-failure answers -OOM to commands that may grow memory, and reads still run", async () => {
    srv = await startServer([], { LATTICEKV_BUGGIFY: "13:alloc-failure=1" });
    expect(srv.output()).toContain("active fault points: alloc-failure");
    const c = await connectClient(srv.port);
    try {
      await c.config("GET", "maxmemory"); // a host command: the OOM state is now on
      await expect(c.set("k", "v")).rejects.toThrow("OOM command not allowed when used memory > 'maxmemory'.");
      await expect(c.rpush("l", "a")).rejects.toThrow(/^OOM /);
      expect(await c.get("k")).toBeNull();
      expect(await c.del("k")).toBe(0);
    } finally {
      c.disconnect();
    }
  });

  it("leaves the single-node workload linearizable under short writes, delayed replies and clock jumps", { timeout: 120_000 }, async () => {
    srv = await startServer([], { LATTICEKV_BUGGIFY: "9:short-write=0.3,reply-delay=0.2,clock-jump=0.05" });
    const run = await runWorkload({ ports: [srv.port], seconds: 90, ops: 600, rate: 0, concurrency: 6, seed: 9, timeoutMs: 10_000 });
    const c = checkRun(run, 1);
    expect(c.summary.linearizable, describeFailures(c)).toBe("yes");
    expect(c.summary.readsOk).toBeGreaterThan(100);
  });
});
