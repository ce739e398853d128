// MEMORY: USAGE (Redis's Tcl units call it through their memory_usage helper), HELP, and
// the cheap PURGE / MALLOC-STATS. USAGE asks the key's shard for the bytes of the key and
// its kernel-held value (assembly/keyspace/memory-usage.ts) and adds a host-held value's
// (list, set, zset, stream) sampled size.
import type { CommandTable } from "./table.js";
import { ERR, parseInteger } from "./context.js";
import { replyHelp } from "./help.js";
import { hostValueBytes } from "../types/value-size.js";

export function registerMemoryCommands(t: CommandTable): void {
  t.define("memory|usage", ({ server, client, argv, reply }) => {
    for (let j = 3; j < argv.length; j++) {
      if (argv[j].toString("latin1").toLowerCase() === "samples" && j + 1 < argv.length) {
        const samples = parseInteger(argv[j + 1]);
        if (samples === null) return reply.error(ERR.notInteger);
        if (samples < 0n) return reply.error(ERR.syntax);
        j++;
      } else {
        return reply.error(ERR.syntax);
      }
    }
    const key = argv[2];
    const k = server.router.shardOf(key).kernel;
    const p = k.x.alloc(Math.max(key.length, 1));
    k.mem.set(key, p);
    let bytes = k.x.keyMemoryUsage(client.db, p, key.length);
    // A list, set, zset or stream: the host holds the value (src/types/value-size.ts).
    const handle = bytes >= 0 ? k.x.keyHandle(client.db, p, key.length, server.now()) : 0;
    k.x.free(p);
    if (bytes < 0) return reply.nullBulk();
    const v = handle ? server.types.registry.get(handle) : undefined;
    if (v) bytes += hostValueBytes(v);
    reply.integer(bytes);
  });

  t.define("memory|help", (ctx) => replyHelp(ctx, [
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
  ]));

  // Nothing to purge: the kernels' allocators reuse freed memory themselves.
  t.define("memory|purge", ({ reply }) => reply.ok());
  // What Redis answers when not built with jemalloc.
  t.define("memory|malloc-stats", ({ reply }) => reply.bulk("Stats not supported for the current allocator"));
}
