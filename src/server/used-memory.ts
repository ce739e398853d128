// used_memory (INFO memory, maxmemory): what the server holds, as Redis's zmalloc counts it
// — the dataset and the clients' buffers — measured by our own accounting rather than by the
// allocators underneath:
//   - each shard kernel's dataset (entries, keys, kernel-held values: the running total of
//     assembly/keyspace/memory.ts, in allocator-block bytes);
//   - host-held values (lists, sets, zsets, streams: src/types/registry.ts, sampled sizes);
//   - clients' query buffers and unsent replies (normal clients), and the shared replication
//     buffer, which eviction counts only up to repl-backlog-size, as in Redis
//     (mem_not_counted_for_evict);
//   - a fixed base for the server's own structures (USED_MEMORY_STARTUP).
// Not counted: the JS heap and the kernels' linear memory as such. V8's collector and the
// kernels' incremental GC free memory when they get to it, so those figures swing by
// megabytes independently of what was just written or deleted; eviction needs a figure that
// drops the moment a key goes (INFO's used_memory_rss still shows the process's real size).
import type { Server } from "./server.js";
import type { Client } from "./client.js";
import { replicationOf } from "../repl/replication.js";
import { lazyFreeOf } from "./lazyfree.js";
import { queryBufferMemory } from "./querybuf.js";

/** The server's own structures before any key or client: about what Redis 7.0 reports at start-up. */
export const USED_MEMORY_STARTUP = 1024 * 1024;

export interface MemoryBreakdown {
  used: number;
  dataset: number;
  clientsNormal: number;
  clientsReplicas: number;
  /** The shared replication buffer (backlog and replicas' streams): mem_total_replication_buffers. */
  replBuffers: number;
  /** Redis's freeMemoryGetNotCountedMemory: replica output buffers (and the AOF buffer). */
  notCountedForEvict: number;
}

/** A client's query buffer (an incomplete big argument counts whole, as Redis preallocates it: querybuf.ts) and unsent replies. */
export function clientBuffers(c: Client): number {
  return queryBufferMemory(c) + c.outputBufferLength;
}

/** The dataset's bytes: every kernel's plus the host-held values'. */
export function datasetBytes(server: Server): number {
  // A value lazy free has queued is still held until its background free ends (lazyfree.ts).
  let dataset = server.types.registry.bytes() + lazyFreeOf(server).pendingBytes;
  for (const s of server.shards) dataset += s.kernel.x.memoryUsed();
  return dataset;
}

/**
 * Clients' buffers: normal clients' query and output buffers; replicas' output is the shared
 * replication buffer (src/repl/backlog.ts), of which the part beyond repl-backlog-size counts
 * as theirs, as in Redis 7.0.
 */
export function clientsMemory(server: Server): { normal: number; replicas: number; replBuffers: number; replNotCounted: number } {
  const repl = replicationOf(server);
  let normal = 0;
  for (const c of server.clients.values()) {
    if (c.closed) continue; // killed: its buffers are dropped, whatever the socket still reports
    if (!repl.replicas.has(c)) normal += clientBuffers(c);
  }
  const buf = repl.bufferMemory();
  return { normal, replicas: buf.replicas, replBuffers: buf.total, replNotCounted: buf.notCountedForEvict };
}

/** used_memory and its parts; `clients` may be a recent clientsMemory() (it walks every client). */
export function memoryBreakdown(server: Server, clients = clientsMemory(server)): MemoryBreakdown {
  const dataset = datasetBytes(server);
  const clientsNormal = clients.normal, clientsReplicas = clients.replicas;
  return {
    used: USED_MEMORY_STARTUP + dataset + clientsNormal + clients.replBuffers,
    dataset,
    clientsNormal,
    clientsReplicas,
    replBuffers: clients.replBuffers,
    notCountedForEvict: clients.replNotCounted,
  };
}

/** used_memory. */
export function usedMemory(server: Server): number {
  return memoryBreakdown(server).used;
}
