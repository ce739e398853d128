// The single-node workload against a real server process: concurrent ioredis clients doing
// GET/SET/CAS/INCRBY must produce a linearizable history, with one shard and with four. The
// same pipeline must fail when a client serves stale reads (a proxy in front of a real
// connection), which proves the integration check can fail.
import { describe, it, expect, afterEach } from "vitest";
import { startServer, type RunningServer } from "../helpers/server.js";
import { checkRun, describeFailures, formatTable } from "../../src/verify/summary.js";
import { ioredisClient, runWorkload, type KvClient } from "../../src/verify/workload.js";

let srv: RunningServer | undefined;
afterEach(async () => {
  await srv?.stop();
  srv = undefined;
});

/** Answers some reads with the value this client wrote before its latest write: stale. */
function staleReads(inner: KvClient): KvClient {
  const mine = new Map<string, string[]>();
  let reads = 0;
  return {
    ...inner,
    set: async (k, v) => {
      await inner.set(k, v);
      mine.set(k, [...(mine.get(k) ?? []), v]);
    },
    get: async (k) => {
      const v = await inner.get(k);
      const w = mine.get(k);
      // w[-2] was overwritten by w[-1], which completed before this read began.
      if (w && w.length >= 2 && ++reads % 3 === 0) return w[w.length - 2];
      return v;
    },
  };
}

describe("single-node workload", () => {
  for (const shards of ["1", "4"]) {
    it(`is linearizable with ${shards} shard(s) (GET/SET, Lua CAS, INCRBY; 8 clients, 1500 ops)`, { timeout: 120_000 }, async () => {
      srv = await startServer([], { LATTICEKV_SHARDS: shards });
      const run = await runWorkload({ ports: [srv.port], seconds: 90, ops: 1500, rate: 0, concurrency: 8, seed: 1000 + Number(shards), timeoutMs: 10_000 });
      const c = checkRun(run, 1);
      expect(c.summary.linearizable, `${formatTable([c.summary])}\n${describeFailures(c)}`).toBe("yes");
      expect(c.summary.readsOk).toBeGreaterThan(200);
      expect(c.summary.writesOk).toBeGreaterThan(100);
      expect(c.summary.casOk).toBeGreaterThan(10);
      expect(c.summary.incrsOk).toBeGreaterThan(50);
    });
  }

  it("is linearizable with CAS done as WATCH/GET/MULTI/SET/EXEC", { timeout: 120_000 }, async () => {
    srv = await startServer();
    const run = await runWorkload({ ports: [srv.port], seconds: 90, ops: 800, rate: 0, concurrency: 6, seed: 7, cas: "watch", timeoutMs: 10_000 });
    const c = checkRun(run, 1);
    expect(c.summary.linearizable, describeFailures(c)).toBe("yes");
    expect(c.summary.casOk).toBeGreaterThan(0);
  });

  it("fails when one client's reads are served stale by a proxy, and names the stale read", { timeout: 120_000 }, async () => {
    srv = await startServer();
    const port = srv.port;
    const run = await runWorkload({
      ports: [port],
      seconds: 90,
      ops: 600,
      rate: 0,
      concurrency: 4,
      timeoutMs: 10_000,
      seed: 3,
      connect: async (p, i) => {
        const c = await ioredisClient(p, { cas: "lua", timeoutMs: 10_000 });
        return i === 0 ? staleReads(c) : c;
      },
    });
    const c = checkRun(run, 1);
    expect(c.summary.linearizable).toBe("no");
    expect(c.summary.anomalies).toBeGreaterThan(0);
    const bad = c.register.partitions.find((p) => p.verdict === "illegal")!;
    // The fragment holds a read by the proxied client (client 0) of a value it overwrote.
    expect(bad.fragment!.some((o) => o.client === 0 && o.input.f === "read")).toBe(true);
    expect(describeFailures(c)).toContain("NOT linearizable");
  });
});
