// Readiness of the server processes a workload starts. On a loaded machine a node can take
// many seconds between its "Ready to accept connections" line and serving, and its peer
// links come up later still; a fixed sleep or a single connection attempt then fails the
// whole run at start-up (ECONNREFUSED) for no fault of the system under test. So: retry
// the connection until a deadline, require PING to answer PONG, and (for replicating
// nodes) wait until INFO crdt shows every peer link up.
import { Redis, type RedisOptions } from "ioredis";

/** How long start-up may take before a run gives up (VERIFY_START_TIMEOUT_MS overrides). */
export function startDeadline(): number {
  const ms = Number(process.env.VERIFY_START_TIMEOUT_MS ?? "120000");
  return Date.now() + (Number.isFinite(ms) && ms > 0 ? ms : 120_000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A connected client, retrying refused or reset connections every 100 ms until `deadline`
 * (epoch ms). The options are ioredis's; lazyConnect is forced so each attempt is ours.
 */
export async function connectWhenUp(port: number, deadline: number, opts: RedisOptions = {}): Promise<Redis> {
  let last: unknown;
  for (;;) {
    const r = new Redis({ host: "127.0.0.1", maxRetriesPerRequest: 0, ...opts, port, lazyConnect: true, retryStrategy: () => null });
    r.on("error", () => {});
    try {
      await r.connect();
      if (opts.retryStrategy) r.options.retryStrategy = opts.retryStrategy; // reconnects later: the caller's choice
      return r;
    } catch (e) {
      last = e;
      r.disconnect();
    }
    if (Date.now() > deadline) throw new Error(`port ${port}: could not connect before the start-up deadline: ${(last as Error)?.message ?? last}`);
    await sleep(100);
  }
}

/**
 * Waits until the node on `port` answers PING and, with `peers` > 0, reports that many peer
 * links up in INFO crdt. Throws with what it last saw when the deadline passes.
 */
export async function waitReady(port: number, peers: number, deadline: number): Promise<void> {
  let seen = "no answer";
  for (;;) {
    let r: Redis | undefined;
    try {
      r = await connectWhenUp(port, deadline);
      for (;;) {
        const pong = await r.ping();
        seen = `PING answered ${pong}`;
        if (pong === "PONG") {
          if (peers <= 0) return;
          const info = String(await r.info("crdt"));
          const up = (info.match(/link=up/g) ?? []).length;
          seen = `${up} of ${peers} peer links up:\n${info}`;
          if (up >= peers) return;
        }
        if (Date.now() > deadline) throw new Error(`port ${port}: not ready before the start-up deadline: ${seen}`);
        await sleep(100);
      }
    } catch (e) {
      if (Date.now() > deadline) throw e instanceof Error && e.message.includes("deadline") ? e : new Error(`port ${port}: not ready before the start-up deadline: ${(e as Error).message}; ${seen}`);
      await sleep(100); // the connection dropped while we asked: ask again
    } finally {
      r?.disconnect();
    }
  }
}
