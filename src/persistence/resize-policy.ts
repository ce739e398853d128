// Redis's updateDictResizePolicy (server.c): while a background job's child process runs
// (BGSAVE, an AOF rewrite, a replica's snapshot), every dict avoids resizing (dict.c
// DICT_RESIZE_AVOID: no shrink; grow or keep rehashing only past a 5:1 size ratio), as Redis
// does so its fork's copy-on-write pages stay shared. Ours has no fork, but the policy is
// what clients observe (DEBUG HTSTATS, DEBUG HTSTATS-KEY), so the kernels follow it too
// (assembly/keyspace/dict.ts). Set when a job starts and, as Redis reaps its child in
// serverCron, from the persistence cron.
import type { Server } from "../server/server.js";
import { setHostDictResizePolicy } from "../types/set-dict.js";

const RESIZE_ENABLE = 0;
const RESIZE_AVOID = 1;

export function updateDictResizePolicy(server: Server, childActive: boolean): void {
  const policy = childActive ? RESIZE_AVOID : RESIZE_ENABLE;
  for (const s of server.shards) s.kernel.x.setDictResizePolicy(policy);
  setHostDictResizePolicy(policy); // hashtable sets' buckets (src/types/set-dict.ts)
}
