// Lazy free's statistics (Redis's lazyfree.c). UNLINK and FLUSHDB/FLUSHALL ASYNC never stall
// here: dropping a value is O(1) (the registry forgets its handle, the kernel its entry) and
// the garbage collectors reclaim the memory later, so there is no background thread and
// lazyfree_pending_objects is always 0. What Redis counts in lazyfreed_objects is kept: a
// value UNLINK drops whose free effort (lazyfreeGetFreeEffort) is above LAZYFREE_THRESHOLD,
// and every key an async flush drops (the kernel counts those and its own large hashes).
import type { Server } from "./server.js";
import type { HostValue } from "../types/value.js";
import { OBJ_LIST, OBJ_SET, OBJ_ZSET, OBJ_STREAM, ENC_INTSET, ENC_LISTPACK } from "../types/value.js";
import type { StreamValue } from "../types/stream.js";

const LAZYFREE_THRESHOLD = 64;
/** Elements of a quicklist node (list-max-listpack-size -2: 8 KB, about this many short items). */
const QUICKLIST_NODE_ITEMS = 128;

/** Redis's lazyfreeGetFreeEffort: allocations freeing the value takes. */
export function freeEffort(v: HostValue): number {
  switch (v.type) {
    case OBJ_LIST: return Math.ceil(v.length / QUICKLIST_NODE_ITEMS);
    case OBJ_SET:
    case OBJ_ZSET: {
      const enc = v.encoding();
      return enc === ENC_INTSET || enc === ENC_LISTPACK ? 1 : v.length;
    }
    case OBJ_STREAM: {
      const s = v as StreamValue;
      let effort = s.nodes.length;
      for (const g of s.groups.values()) effort += 1 + g.pel.size;
      return effort;
    }
  }
  return 1;
}

/**
 * The lazyfree-lazy-* switches, as the kernel's bits: which deletes count as lazily freed
 * (eviction, expiry, the server's implicit deletes such as an overwrite or RENAME's target,
 * DEL as UNLINK, FLUSHDB/FLUSHALL without a flag as ASYNC).
 */
const LAZY_SWITCHES: [string, number][] = [
  ["lazyfree-lazy-eviction", 1],
  ["lazyfree-lazy-expire", 2],
  ["lazyfree-lazy-server-del", 4],
  ["lazyfree-lazy-user-del", 8],
  ["lazyfree-lazy-user-flush", 16],
];

export function installLazyFree(server: Server): void {
  const applySwitches = () => {
    let bits = 0;
    for (const [name, bit] of LAZY_SWITCHES) if (server.config.getBool(name)) bits |= bit;
    for (const shard of server.shards) shard.kernel.x.setLazyfreeConfig(bits);
  };
  applySwitches();
  for (const [name] of LAZY_SWITCHES) server.config.onApply(name, applySwitches);
  for (const shard of server.shards) {
    shard.onLazyFree = (handles, kernelObjects) => {
      let n = kernelObjects;
      for (const h of handles) {
        const v = server.types.registry.get(h);
        if (v && freeEffort(v) > LAZYFREE_THRESHOLD) n++;
      }
      server.stats.lazyfreedObjects += n;
    };
  }
}
