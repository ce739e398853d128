// A replica applies the master's stream that reached it before a client's read that reached it
// later, even when epoll hands it the client's read first (src/repl/reads-after-stream.ts).
//
// The order is forced rather than waited for: a client's DEBUG SLEEP holds the replica's event
// loop; meanwhile a write on the master (whose reply comes only once its stream has gone to
// the replica) and a GET from that same client reach the replica. When the sleep ends, epoll
// reports the client's connection first: a level-triggered fd reported for the DEBUG SLEEP was
// put back on the ready list then, ahead of the master link that became ready during the
// sleep. Run in that order, the GET read the old value in each of 5 rounds.
import { describe, it, expect, afterEach } from "vitest";
import type Redis from "ioredis";
import { startServer, connectClient, type RunningServer } from "../helpers/server.js";
import { startRealRedis, hasRealRedis, type RealRedis } from "../helpers/real-redis.js";
import { until } from "../helpers/wait.js";

describe("replica: reads after the master's stream", { timeout: 60_000 }, () => {
  const stops: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const f of stops.splice(0).reverse()) await f();
  });

  async function check(master: RunningServer | RealRedis): Promise<void> {
    stops.push(() => master.stop());
    const replica = await startServer(["--replicaof", "127.0.0.1", String(master.port), "--enable-debug-command", "yes"]);
    stops.push(() => replica.stop());
    const m: Redis = await connectClient(master.port);
    const s: Redis = await connectClient(replica.port);
    stops.push(() => { m.disconnect(); s.disconnect(); });
    await until("link up", async () => /master_link_status:up/.test(await s.info("replication")));
    await m.set("x", "0");
    await until("the stream flowing", async () => (await s.get("x")) === "0");
    const seen: string[] = [];
    for (let i = 1; i <= 5; i++) {
      const sleeping = s.call("DEBUG", "SLEEP", "0.4");
      // Give the replica time to be in the sleep (if not, the stream simply comes first).
      await new Promise((r) => setTimeout(r, 100));
      expect(await m.incr("x")).toBe(i);
      const got = s.get("x");
      expect(await sleeping).toBe("OK");
      seen.push((await got)!);
    }
    expect(seen).toEqual(["1", "2", "3", "4", "5"]);
  }

  it("a GET after an INCR's reply sees the INCR, with a LatticeKV master", async () => {
    await check(await startServer(["--repl-diskless-sync-delay", "0"]));
  });

  it.skipIf(!hasRealRedis)("a GET after an INCR's reply sees the INCR, with a real Redis master", async () => {
    await check(await startRealRedis(["--repl-diskless-sync-delay", "0"]));
  });
});
