// serverCron's slow active expire cycle (Redis's activeExpireCycle in expire.c) and its
// latency events.
//
// Each kernel pass samples keys with a TTL and deletes the stale ones; a pass stops by itself
// once few sampled keys are stale, so passes repeat only while they keep finding some, within
// Redis's budget of 25% of a cron period. The values the host holds for the deleted keys (sets,
// lists, sorted sets, streams) are then freed as Redis frees them:
//
// - lazyfree-lazy-expire no (the default): synchronously, element by element, inside the
//   cycle, as dbGenericDelete → decrRefCount does (HostValue.release), and that time is what
//   the `expire-del` (per value) and `expire-cycle` (whole cycle) latency events report. A
//   sorted set or stream frees element by element; a hashtable set's index is a few typed
//   arrays dropped at once, so a 1M-member set frees in well under Redis's ~0.65 s (README:
//   latency-monitor's expire test).
// - lazyfree-lazy-expire yes: the value is only unreferenced (the garbage collector reclaims
//   it later, our equivalent of Redis's lazyfree thread), so the cycle does not stall.
//
// No active expiry while clients are paused: the dataset stays constant (src/server/pause.ts).
import type { Server } from "./server.js";
import { PAUSE_OFF } from "./pause.js";

/** Keys a kernel pass samples at most. */
const PASS_SAMPLES = 1000;

export function activeExpireCycle(server: Server, now: number): void {
  const hz = Math.max(1, Math.min(500, server.config.getNumber("hz")));
  const start = performance.now();
  const deadline = start + 250 / hz;
  if (server.pause.type === PAUSE_OFF) {
    const registry = server.types.registry;
    const sync = !server.config.getBool("lazyfree-lazy-expire");
    registry.onRelease = (v) => {
      const t = performance.now();
      if (sync) v.release?.();
      server.latency.addSampleIfNeeded("expire-del", performance.now() - t);
    };
    try {
      for (const s of server.shards) {
        let deleted: number;
        do {
          deleted = s.kernel.x.activeExpireCycle(now, PASS_SAMPLES);
          s.afterCall(); // each pass starts a new effect log: drain it (and free values) before the next
        } while (deleted > 0 && performance.now() < deadline);
      }
    } finally {
      registry.onRelease = null;
    }
  }
  server.latency.addSampleIfNeeded("expire-cycle", performance.now() - start);
}
