// A replica's AOF around a full sync (Redis's readSyncBulkPayload, restartAOFAfterSYNC).
// The master's RDB replaces the whole dataset, which the AOF cannot express as appended
// commands: without a rewrite, the AOF would still hold the replica's old data, and a
// restart would bring that back instead of the master's. So, as Redis: the AOF is stopped
// (stopAppendOnly) before the old data is flushed and the RDB loaded, and once the load has
// succeeded it is started again (startAppendOnly), which rewrites it from the new dataset;
// the stream applied meanwhile goes to the rewrite's temp incr file. A failed sync leaves it
// off: the next successful sync, or REPLICAOF NO ONE, turns it back on.
import type { Server } from "../server/server.js";
import { persistenceOf } from "../persistence/persistence.js";
import { log } from "../server/log.js";

/**
 * Servers whose AOF a sync stopped. Redis's test is aof_enabled && aof_state == AOF_OFF; ours
 * differs from it only at start-up, where the AOF is off until the data has loaded
 * (Aof.startOnBoot), and a promotion then must not start a rewrite under that load.
 */
const stoppedForSync = new WeakSet<Server>();

/** Before the old data is flushed for the master's RDB: the AOF (and its rewrite) stops. */
export function stopAofForSync(server: Server): void {
  const aof = persistenceOf(server).aof;
  if (aof.state === "off") return;
  aof.disable();
  stoppedForSync.add(server);
}

/** Redis tries startAppendOnly this many times, a second apart, then exits. */
const MAX_TRIES = 10;

/**
 * After a successful sync (or on promotion), with appendonly yes and the AOF stopped by a sync: start it
 * again, which rewrites it from the dataset now loaded. Redis retries a failed start once a
 * second, ten times, then exits rather than run as a replica without its AOF.
 */
export function restartAofAfterSync(server: Server, tries = 0): void {
  const aof = persistenceOf(server).aof;
  if (!stoppedForSync.has(server)) return;
  // CONFIG SET appendonly no meanwhile, or yes (which started it): nothing left to restart.
  if (!server.config.getBool("appendonly") || aof.state !== "off") {
    stoppedForSync.delete(server);
    return;
  }
  aof.enable();
  if (aof.state !== "off") {
    stoppedForSync.delete(server);
    return;
  }
  log("warning", "Failed enabling the AOF after successful master synchronization! Trying it again in one second.");
  if (tries + 1 >= MAX_TRIES) {
    log("warning", "FATAL: this replica instance finished the synchronization with its master, but the AOF can't be turned on. Exiting now.");
    process.exit(1);
  }
  setTimeout(() => restartAofAfterSync(server, tries + 1), 1000);
}
