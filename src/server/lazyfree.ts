// Lazy free (Redis's lazyfree.c). UNLINK, FLUSHDB/FLUSHALL ASYNC and the lazyfree-lazy-*
// switches hand a dropped value whose free effort (lazyfreeGetFreeEffort) is above
// LAZYFREE_THRESHOLD to a background job instead of freeing it in the command, as Redis's
// bio thread does: the key is gone at once, the value waits in LazyFreeQueue and is
// dismantled in slices of at most ~1 ms between event-loop turns (releaseSome on the value,
// element by element as Redis's free would), so other clients never wait on it.
// lazyfree_pending_objects counts the values queued and not yet freed, lazyfreed_objects
// the ones freed (counted when done, as Redis's bio job counts them), and used_memory keeps
// a queued value's bytes until it is freed. A small value, or one dropped without lazy
// free, is just unreferenced: dropping it is O(1) here, and the garbage collector
// reclaims it later. An async flush also counts every key it dropped from a kernel (the
// kernel frees those entries right after the command) and its large hashes.
import type { Server } from "./server.js";
import type { HostValue } from "../types/value.js";
import { OBJ_SET, OBJ_ZSET, OBJ_STREAM, ENC_INTSET, ENC_LISTPACK } from "../types/value.js";
import type { StreamValue } from "../types/stream.js";
import { hostValueBytes } from "../types/value-size.js";

const LAZYFREE_THRESHOLD = 64;

/** Redis's lazyfreeGetFreeEffort: allocations freeing the value takes. */
export function freeEffort(v: HostValue): number {
  switch (v.type) {
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
  const queue = lazyFreeOf(server);
  for (const shard of server.shards) {
    shard.onLazyFree = (handles, kernelObjects) => {
      server.stats.lazyfreedObjects += kernelObjects;
      for (const h of handles) {
        // Still registered: the registry drops it right after (Shard.afterCall).
        const v = server.types.registry.peek(h);
        if (v && freeEffort(v) > LAZYFREE_THRESHOLD) queue.add(v);
      }
    };
  }
}

/** Units of free effort (elements, nodes) released between two looks at the clock. */
const SLICE_EFFORT = 1024;
/** The longest a background free holds the event loop in one turn. */
const SLICE_MS = 1;

/** Values dropped by lazy free, freed in the background (Redis's BIO_LAZY_FREE jobs). */
export class LazyFreeQueue {
  private readonly queue: HostValue[] = [];
  private readonly bytes: number[] = [];
  private scheduled = false;
  /** Bytes the queued values held when queued (still in used_memory until freed). */
  pendingBytes = 0;

  constructor(private readonly server: Server) {}

  /** INFO lazyfree_pending_objects. */
  get pending(): number { return this.queue.length; }

  add(v: HostValue): void {
    if (!v.releaseSome) {
      this.server.stats.lazyfreedObjects++;
      return;
    }
    const b = hostValueBytes(v);
    this.queue.push(v);
    this.bytes.push(b);
    this.pendingBytes += b;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.step);
  }

  /** One turn's slice: frees values from the front until the queue is empty or SLICE_MS passed. */
  private readonly step = (): void => {
    this.scheduled = false;
    const start = performance.now();
    while (this.queue.length) {
      const v = this.queue[0];
      if (v.releaseSome!(SLICE_EFFORT)) {
        this.queue.shift();
        this.pendingBytes -= this.bytes.shift()!;
        this.server.stats.lazyfreedObjects++;
      }
      if (performance.now() - start >= SLICE_MS) break;
    }
    if (this.queue.length) this.schedule();
  };
}

const queues = new WeakMap<Server, LazyFreeQueue>();

export function lazyFreeOf(server: Server): LazyFreeQueue {
  let q = queues.get(server);
  if (!q) queues.set(server, (q = new LazyFreeQueue(server)));
  return q;
}
