// MEMORY: USAGE (Redis's Tcl units call it through their memory_usage helper), HELP, and
// the cheap PURGE / MALLOC-STATS. USAGE asks the key's shard for the bytes of the key and
// its kernel-held value (assembly/keyspace/memory-usage.ts) and adds a host-held value's
// (list, set, zset, stream) sampled size.
import type { CommandTable } from "./table.js";
import { ERR, parseInteger } from "./context.js";
import { replyHelp } from "./help.js";
import { hostValueBytes } from "../types/value-size.js";
import { memoryBreakdown, USED_MEMORY_STARTUP } from "../server/used-memory.js";
import { replicationOf } from "../repl/replication.js";
import { kernelMemory } from "./info.js";

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

  // Redis's getMemoryDoctorReport: below 5 MB the instance counts as empty; the detectors
  // that look at allocator fragmentation and RSS overhead have no counterpart here, so an
  // instance with data gets the peak, client-buffer and script-cache checks only.
  t.define("memory|doctor", ({ server, reply }) => {
    const m = memoryBreakdown(server);
    const peak = Math.max(server.memoryPeak, m.used);
    const replicas = replicationOf(server).replicas.size;
    const normalClients = Math.max(1, server.clients.size - replicas);
    const issues: string[] = [];
    if (peak / m.used > 1.5) issues.push(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
    if (m.clientsNormal / normalClients > 1024 * 200) issues.push(" * Big client buffers: The clients output buffers are in general too big, ~200 kB per client. This may be due to clients that are slow to read the replies or that use commands like MONITOR with high traffic. Please see the client-output-buffer-limit configuration option that can be used in order to limit the client output buffers.\n\n");
    if (replicas > 0 && m.clientsReplicas > 10 * 1024 * 1024) issues.push(" * Big replica buffers: The replica output buffers are larger than 10MB for each replica. This is likely due to slow replicas or a slow network. Please see the client-output-buffer-limit configuration option that can be used in order to limit the replica output buffers.\n\n");
    let text: string;
    if (m.used < 5 * 1024 * 1024) {
      text = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";
    } else if (issues.length === 0) {
      text = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n";
    } else {
      text = "Sam, I detected a few issues in this Redis instance memory implants:\n\n" + issues.join("") +
        "I'm here to keep you safe, Sam. I want to help you.\n";
    }
    reply.verbatim(text, "txt");
  });

  // Redis's MEMORY STATS fields, from src/server/used-memory.ts's accounting.
  t.define("memory|stats", ({ server, reply }) => {
    const m = memoryBreakdown(server);
    const mu = process.memoryUsage();
    const peak = Math.max(server.memoryPeak, m.used);
    let keys = 0;
    const dbs: [number, number, number][] = [];
    for (let db = 0; db < server.config.getNumber("databases"); db++) {
      let size = 0, expires = 0, table = 0;
      for (const s of server.shards) {
        size += s.kernel.x.dbSize(db);
        expires += s.kernel.x.dbExpires(db);
        table += s.kernel.x.dbTableSize(db) + s.kernel.x.dbRehashTarget(db);
      }
      keys += size;
      if (size > 0) dbs.push([db, table * 4, expires * 8]);
    }
    const overhead = USED_MEMORY_STARTUP + m.clientsNormal + m.clientsReplicas;
    const dataset = m.used - overhead;
    const fields: [string, number | string][] = [
      ["peak.allocated", peak],
      ["total.allocated", m.used],
      ["startup.allocated", USED_MEMORY_STARTUP],
      ["replication.backlog", m.replBuffers - m.clientsReplicas],
      ["clients.slaves", m.clientsReplicas],
      ["clients.normal", m.clientsNormal],
      ["cluster.links", 0],
      ["aof.buffer", 0],
      ["lua.caches", 0],
      ["functions.caches", 0],
    ];
    reply.mapLen(fields.length + dbs.length + 17);
    for (const [k, v] of fields) { reply.bulk(k); reply.integer(v as number); }
    for (const [db, main, exp] of dbs) {
      reply.bulk(`db.${db}`);
      reply.mapLen(3);
      reply.bulk("overhead.hashtable.main"); reply.integer(main);
      reply.bulk("overhead.hashtable.expires"); reply.integer(exp);
      // Cluster mode's slot-to-keys index (db 0's per-slot counts and key hashes:
      // assembly/cluster/slot-index.ts); Redis's 16 bytes a key of entry metadata.
      reply.bulk("overhead.hashtable.slot-to-keys");
      reply.integer(db === 0 && server.cluster ? server.shards.reduce((t, sh) => t + sh.kernel.x.slotIndexBytes(), 0) : 0);
    }
    // After the per-db maps, as Redis's memoryCommand (field names and order are Redis's).
    reply.bulk("overhead.total"); reply.integer(overhead);
    const pct = (a: number, b: number) => (b > 0 ? (a * 100) / b : 0);
    reply.bulk("keys.count"); reply.integer(keys);
    reply.bulk("keys.bytes-per-key"); reply.integer(keys ? Math.floor((m.used - USED_MEMORY_STARTUP) / keys) : 0);
    reply.bulk("dataset.bytes"); reply.integer(dataset);
    reply.bulk("dataset.percentage"); reply.double(pct(dataset, m.used - USED_MEMORY_STARTUP));
    reply.bulk("peak.percentage"); reply.double(pct(m.used, peak));
    reply.bulk("allocator.allocated"); reply.integer(m.used);
    reply.bulk("allocator.active"); reply.integer(mu.heapTotal + kernelMemory(server));
    reply.bulk("allocator.resident"); reply.integer(mu.rss);
    reply.bulk("allocator-fragmentation.ratio"); reply.double(1);
    reply.bulk("allocator-fragmentation.bytes"); reply.integer(0);
    reply.bulk("allocator-rss.ratio"); reply.double(1);
    reply.bulk("allocator-rss.bytes"); reply.integer(0);
    reply.bulk("rss-overhead.ratio"); reply.double(1);
    reply.bulk("rss-overhead.bytes"); reply.integer(0);
    reply.bulk("fragmentation"); reply.double(m.used ? mu.rss / m.used : 0);
    reply.bulk("fragmentation.bytes"); reply.integer(mu.rss - m.used);
  });

  // Nothing to purge: the kernels' allocators reuse freed memory themselves.
  t.define("memory|purge", ({ reply }) => reply.ok());
  // What Redis answers when not built with jemalloc.
  t.define("memory|malloc-stats", ({ reply }) => reply.bulk("Stats not supported for the current allocator"));
}
