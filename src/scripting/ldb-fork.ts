// SCRIPT DEBUG YES: Redis forks for the debugging session (ldbStartSession), the child runs
// the script against its copy of the dataset and exits, so nothing the debugged script wrote
// survives, and nobody else sees it happen: the parent's WATCHers, keyspace subscribers,
// AOF and replicas never hear of the child's writes.
//
// There is no fork here. The session runs in the server itself, against the dataset as it
// is (other clients wait meanwhile, as in a synchronous session: ldb-session.ts), with the
// effect bus muted so that no consumer (WATCH, notifications, AOF, replication, CRDT) sees
// the script's writes, and at its end the dataset is put back from a snapshot taken when it
// started (an RDB image in memory, the same one SAVE writes). Keys are restored with their
// TTLs even when these passed during the session, so the usual expiry removes them and
// tells the replicas, as it would have without the session. What is not rolled back: things
// outside the dataset a script can change (CONFIG SET, SCRIPT FLUSH... through redis.call),
// statistics, and the dirty counter (a save point may fire once more than in Redis).
import type { Server } from "../server/server.js";
import { snapshotRdb, parseRdb } from "../persistence/rdb-file.js";
import { emptyData } from "../persistence/persistence.js";
import { storeKey, freshLru, lfuPolicy, lfuWord } from "../persistence/keyspace-io.js";

export interface ForkedDataset { image: Buffer }

/** The "fork": a snapshot of the dataset, and the effect bus muted until rollback(). */
export function forkDataset(server: Server): ForkedDataset {
  const image = snapshotRdb(server).data;
  server.effects.muted = true;
  return { image };
}

/** The child's exit: the dataset is the snapshot again, and the effect bus listens again. */
export function rollbackDataset(server: Server, fork: ForkedDataset): void {
  try {
    const rdb = parseRdb(fork.image, { checksum: false, databases: server.config.getNumber("databases") });
    emptyData(server);
    const now = server.now();
    const lfu = lfuPolicy(server);
    for (const k of rdb.keys) {
      let lru = freshLru(server, now);
      if (lfu) { if (k.freq >= 0) lru = lfuWord(now, k.freq); }
      else if (k.idle >= 0) lru = Math.max(0, Math.floor(now / 1000) - k.idle);
      storeKey(server, k.db, k.key, { value: k.value, expireAt: k.expireAt, lru });
    }
  } finally {
    server.effects.muted = false;
  }
}
