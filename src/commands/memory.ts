// MEMORY: USAGE (Redis's Tcl units call it through their memory_usage helper), HELP, and
// the cheap PURGE / MALLOC-STATS. USAGE asks the key's shard for the bytes of the key and
// its kernel-held value (assembly/keyspace/memory-usage.ts); a value the host holds (list,
// set, zset) will add its own size here once those types land.
import type { CommandTable } from "./table.js";
import { ERR, parseInteger } from "./context.js";
import { replyHelp } from "./help.js";

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
    const bytes = k.x.keyMemoryUsage(client.db, p, key.length);
    k.x.free(p);
    if (bytes < 0) return reply.nullBulk();
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
