// INFO [section ...]: Redis 7.0's sections, field names and section-selection rules
// (server.c genInfoSectionDict/genRedisInfoString): no argument or "default" gives the
// default sections, "all" adds commandstats and latencystats, "everything" adds modules;
// names are case-insensitive and each section appears once.
//
// Numbers come from the host (clients, connections, host-run commands), the shard kernels
// (keyspace sizes, hits/misses, expired keys, per-command calls) and the process (memory,
// CPU). Fields for subsystems LatticeKV does not have yet (fork, AOF, replicas) carry the
// values an idle Redis reports.
import { shutdownOf } from "../server/shutdown.js";
import { persistenceOf } from "../persistence/persistence.js";
import { replicationOf } from "../repl/replication.js";
import os from "node:os";
import { memoryBreakdown, USED_MEMORY_STARTUP } from "../server/used-memory.js";
import type { CommandTable } from "./table.js";
import type { Server } from "../server/server.js";
import { commandStats, errorStats, totalErrorReplies, latencyStatsLines } from "./stats.js";
import { scriptCounts } from "./scripting.js";
import { trackingOf } from "../server/tracking.js";
import { lazyFreeOf } from "../server/lazyfree.js";
import { migrateCachedSockets } from "./migrate-link.js";

const DEFAULT_SECTIONS = ["server", "clients", "memory", "persistence", "stats", "replication",
  "cpu", "module_list", "errorstats", "cluster", "keyspace"];

/** Redis's bytesToHuman. */
export function bytesToHuman(n: number): string {
  const units = ["K", "M", "G", "T", "P"];
  if (n < 1024) return `${n}B`;
  let d = n / 1024;
  for (const u of units) {
    if (d < 1024) return `${d.toFixed(2)}${u}`;
    d /= 1024;
  }
  return `${n}B`;
}

/** Redis's getSafeInfoString: '#', ':', CR and LF become '_'. */
function safe(s: string): string {
  return s.replace(/[#:\r\n]/g, "_");
}

function fields(title: string, kv: [string, string | number][]): string {
  let s = `# ${title}\r\n`;
  for (const [k, v] of kv) s += `${k}:${v}\r\n`;
  return s;
}

/** Total kernel-side memory: every shard's linear memory. */
export function kernelMemory(server: Server): number {
  let n = 0;
  for (const s of server.shards) n += s.kernel.x.memory.buffer.byteLength;
  return n;
}

/** used_memory (src/server/used-memory.ts). */
export function usedMemory(server: Server): number {
  return memoryBreakdown(server).used;
}

export function genInfo(server: Server, args: string[]): string {
  const wanted = new Set<string>();
  let all = false;
  let everything = false;
  if (args.length === 0) DEFAULT_SECTIONS.forEach((s) => wanted.add(s));
  for (const a of args.map((x) => x.toLowerCase())) {
    if (a === "default") DEFAULT_SECTIONS.forEach((s) => wanted.add(s));
    else if (a === "all") all = true;
    else if (a === "everything") { all = true; everything = true; }
    else wanted.add(a);
  }
  const want = (s: string) => all || wanted.has(s);
  const parts: string[] = [];
  const cfg = server.config;
  const now = Date.now();
  const st = server.infoStats();

  if (want("server")) {
    const uptime = Math.floor((now - server.startedAt) / 1000);
    parts.push(fields("Server", [
      ["redis_version", "7.0.15"],
      ["redis_git_sha1", "00000000"],
      ["redis_git_dirty", 0],
      ["redis_build_id", "0000000000000000"],
      ["redis_mode", server.cluster ? "cluster" : "standalone"],
      ["os", `${os.type()} ${os.release()} ${os.machine()}`],
      ["arch_bits", 64],
      ["monotonic_clock", "POSIX clock_gettime"],
      ["multiplexing_api", "epoll"],
      ["atomicvar_api", "c11-builtin"],
      ["gcc_version", "0.0.0"],
      ["process_id", process.pid],
      ["process_supervised", "no"],
      ["run_id", server.runId],
      ["tcp_port", server.port],
      ["server_time_usec", now * 1000],
      ["uptime_in_seconds", uptime],
      ["uptime_in_days", Math.floor(uptime / 86400)],
      ["hz", cfg.getNumber("hz")],
      ["configured_hz", cfg.getNumber("hz")],
      ["lru_clock", Math.floor(now / 1000) & ((1 << 24) - 1)],
      ["executable", process.argv[1] ?? ""],
      ["config_file", server.configFilePath ?? ""],
      ["io_threads_active", 0],
      ...shutdownOf(server).infoFields(server.now()),
    ]));
  }

  if (want("clients")) {
    parts.push(fields("Clients", [
      // Replicas are not clients here (Redis: listLength(server.clients) - listLength(server.slaves)).
      ["connected_clients", server.clients.size - replicationOf(server).replicas.size],
      ["cluster_connections", 0],
      ["maxclients", cfg.getNumber("maxclients")],
      ["client_recent_max_input_buffer", 0],
      ["client_recent_max_output_buffer", 0],
      ["blocked_clients", server.blockedClients()],
      ["tracking_clients", trackingOf(server).trackingClients],
      ["clients_in_timeout_table", 0],
    ]));
  }

  if (want("memory")) {
    const mu = process.memoryUsage();
    const mem = memoryBreakdown(server);
    const used = mem.used;
    server.memoryPeak = Math.max(server.memoryPeak, used);
    const peak = server.memoryPeak;
    const startup = USED_MEMORY_STARTUP;
    const overhead = startup + mem.clientsNormal + mem.clientsReplicas;
    const maxmemory = cfg.getNumber("maxmemory");
    const scripts = scriptCounts(server);
    const total = os.totalmem();
    const frag = used ? mu.rss / used : 0;
    parts.push(fields("Memory", [
      ["used_memory", used],
      ["used_memory_human", bytesToHuman(used)],
      ["used_memory_rss", mu.rss],
      ["used_memory_rss_human", bytesToHuman(mu.rss)],
      ["used_memory_peak", peak],
      ["used_memory_peak_human", bytesToHuman(peak)],
      ["used_memory_peak_perc", `${((used * 100) / peak).toFixed(2)}%`],
      ["used_memory_overhead", overhead],
      ["used_memory_startup", startup],
      ["used_memory_dataset", mem.dataset],
      ["used_memory_dataset_perc", `${used > startup ? ((mem.dataset * 100) / (used - startup)).toFixed(2) : "0.00"}%`],
      ["allocator_allocated", used],
      ["allocator_active", mu.heapTotal + kernelMemory(server)],
      ["allocator_resident", mu.rss],
      ["total_system_memory", total],
      ["total_system_memory_human", bytesToHuman(total)],
      ["used_memory_lua", 32768],
      ["used_memory_vm_eval", 32768],
      ["used_memory_lua_human", bytesToHuman(32768)],
      ["used_memory_scripts_eval", 0],
      ["number_of_cached_scripts", scripts.scripts],
      ["number_of_functions", scripts.functions],
      ["number_of_libraries", scripts.libraries],
      ["used_memory_vm_functions", 32768],
      ["used_memory_vm_total", 65536],
      ["used_memory_vm_total_human", bytesToHuman(65536)],
      ["used_memory_functions", 0],
      ["used_memory_scripts", 0],
      ["used_memory_scripts_human", "0B"],
      ["maxmemory", maxmemory],
      ["maxmemory_human", bytesToHuman(maxmemory)],
      ["maxmemory_policy", cfg.get("maxmemory-policy")],
      ["allocator_frag_ratio", "1.00"],
      ["allocator_frag_bytes", 0],
      ["allocator_rss_ratio", "1.00"],
      ["allocator_rss_bytes", 0],
      ["rss_overhead_ratio", "1.00"],
      ["rss_overhead_bytes", 0],
      ["mem_fragmentation_ratio", frag.toFixed(2)],
      ["mem_fragmentation_bytes", mu.rss - used],
      ["mem_not_counted_for_evict", mem.notCountedForEvict],
      ["mem_replication_backlog", mem.replBuffers - mem.clientsReplicas],
      ["mem_total_replication_buffers", mem.replBuffers],
      ["mem_clients_slaves", mem.clientsReplicas],
      ["mem_clients_normal", mem.clientsNormal],
      ["mem_cluster_links", 0],
      ["mem_aof_buffer", 0],
      ["mem_allocator", "libc"],
      ["active_defrag_running", 0],
      ["lazyfree_pending_objects", lazyFreeOf(server).pending],
      ["lazyfreed_objects", server.stats.lazyfreedObjects],
    ]));
  }

  if (want("persistence")) {
    parts.push(fields("Persistence", persistenceOf(server).infoFields()));
  }

  if (want("stats")) {
    parts.push(fields("Stats", [
      ["total_connections_received", st.connectionsReceived],
      ["total_commands_processed", st.commandsProcessed],
      ["instantaneous_ops_per_sec", server.instantaneousOps()],
      ["total_net_input_bytes", st.netInputBytes],
      ["total_net_output_bytes", st.netOutputBytes],
      ["total_net_repl_input_bytes", st.netReplInputBytes],
      ["total_net_repl_output_bytes", st.netReplOutputBytes],
      ["instantaneous_input_kbps", "0.00"],
      ["instantaneous_output_kbps", "0.00"],
      ["instantaneous_input_repl_kbps", "0.00"],
      ["instantaneous_output_repl_kbps", "0.00"],
      ["rejected_connections", st.rejectedConnections],
      ["sync_full", st.syncFull],
      ["sync_partial_ok", st.syncPartialOk],
      ["sync_partial_err", st.syncPartialErr],
      ["expired_keys", st.expiredKeys],
      ["expired_stale_perc", "0.00"],
      ["expired_time_cap_reached_count", 0],
      ["expire_cycle_cpu_milliseconds", 0],
      ["evicted_keys", st.evictedKeys],
      ["evicted_clients", st.evictedClients],
      ["total_eviction_exceeded_time", 0],
      ["current_eviction_exceeded_time", 0],
      ["keyspace_hits", st.keyspaceHits],
      ["keyspace_misses", st.keyspaceMisses],
      ["pubsub_channels", server.pubsub.channels.size],
      ["pubsub_patterns", server.pubsub.patterns.size],
      ["pubsubshard_channels", server.pubsub.shardChannels.size],
      ["latest_fork_usec", persistenceOf(server).latestForkUsec],
      ["total_forks", persistenceOf(server).totalForks],
      ["migrate_cached_sockets", migrateCachedSockets()], // src/commands/migrate-link.ts
      ["slave_expires_tracked_keys", 0],
      ["active_defrag_hits", 0],
      ["active_defrag_misses", 0],
      ["active_defrag_key_hits", 0],
      ["active_defrag_key_misses", 0],
      ["total_active_defrag_time", 0],
      ["current_active_defrag_time", 0],
      ["tracking_total_keys", trackingOf(server).totalKeys],
      ["tracking_total_items", trackingOf(server).totalItemsCount],
      ["tracking_total_prefixes", trackingOf(server).totalPrefixes],
      ["unexpected_error_replies", 0],
      ["total_error_replies", totalErrorReplies(server)],
      ["dump_payload_sanitizations", 0],
      ["total_reads_processed", st.readsProcessed],
      ["total_writes_processed", st.writesProcessed],
      ["io_threaded_reads_processed", 0],
      ["io_threaded_writes_processed", 0],
      ["reply_buffer_shrinks", st.replyBufferShrinks],
      ["reply_buffer_expands", st.replyBufferExpands],
    ]));
  }

  if (want("replication")) {
    parts.push(fields("Replication", replicationOf(server).info()));
  }

  if (want("cpu")) {
    const u = process.cpuUsage();
    const sec = (us: number) => (us / 1e6).toFixed(6);
    parts.push(fields("CPU", [
      ["used_cpu_sys", sec(u.system)],
      ["used_cpu_user", sec(u.user)],
      ["used_cpu_sys_children", "0.000000"],
      ["used_cpu_user_children", "0.000000"],
      ["used_cpu_sys_main_thread", sec(u.system)],
      ["used_cpu_user_main_thread", sec(u.user)],
    ]));
  }

  if (want("module_list") || wanted.has("modules")) parts.push("# Modules\r\n");

  if (want("commandstats")) {
    let s = "# Commandstats\r\n";
    for (const c of commandStats(server)) {
      if (!c.calls && !c.failedCalls && !c.rejectedCalls) continue;
      const per = c.calls === 0 ? 0 : c.usec / c.calls;
      s += `cmdstat_${safe(c.name)}:calls=${c.calls},usec=${c.usec},usec_per_call=${per.toFixed(2)},rejected_calls=${c.rejectedCalls},failed_calls=${c.failedCalls}\r\n`;
    }
    parts.push(s);
  }

  if (want("errorstats")) {
    let s = "# Errorstats\r\n";
    for (const [code, count] of [...errorStats(server).entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      s += `errorstat_${safe(code)}:count=${count}\r\n`;
    }
    parts.push(s);
  }

  if (want("latencystats")) parts.push("# Latencystats\r\n" + latencyStatsLines(server));

  if (want("crdt") && server.crdt) parts.push(server.crdt.info());
  if (want("kernel")) {
    // Not a Redis section: the shard kernels' key prefetch (assembly/keyspace/prefetch.ts), summed over shards.
    let prefetched = 0, oneKey = 0;
    for (const sh of server.shards) {
      prefetched += sh.kernel.x.statPrefetchedReads();
      oneKey += sh.kernel.x.statOneKeyReads();
    }
    parts.push(fields("Kernel", [
      ["kernel_prefetched_reads", prefetched],
      ["kernel_prefetch_one_key_reads", oneKey],
    ]));
  }

  if (want("cluster")) parts.push(fields("Cluster", [["cluster_enabled", server.cluster ? 1 : 0]]));

  if (want("keyspace")) {
    let s = "# Keyspace\r\n";
    const dbs = cfg.getNumber("databases");
    for (let db = 0; db < dbs; db++) {
      let keys = 0, expires = 0, ttlSum = 0;
      for (const sh of server.shards) {
        const x = sh.kernel.x;
        const e = x.dbExpires(db);
        keys += x.dbSize(db);
        expires += e;
        // Each shard's active expire cycle keeps Redis's running estimate; weigh it by its keys with a TTL.
        ttlSum += x.dbAvgTtl(db) * e;
      }
      const avgTtl = expires ? Math.round(ttlSum / expires) : 0;
      if (keys || expires) s += `db${db}:keys=${keys},expires=${expires},avg_ttl=${avgTtl}\r\n`;
    }
    parts.push(s);
  }
  void everything;
  return parts.join("\r\n");
}

export function registerInfoCommand(t: CommandTable): void {
  t.define("info", ({ server, argv, reply }) => {
    reply.verbatim(genInfo(server, argv.slice(1).map((a) => a.toString("latin1"))));
  });
}
