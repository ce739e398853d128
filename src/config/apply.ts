// Where configuration reaches the running server: each directive LatticeKV acts on at run
// time gets an applier here, run once at start-up and again whenever CONFIG SET changes it.
import type { Server } from "../server/server.js";
import { logSettings, logToFile, type LogLevel } from "../server/log.js";
import { perfConfig } from "./perf-config.js";
import { noteListenerMove } from "../server/tls.js";
import { changeBindAddr } from "../server/bind.js";
import { installWatchdog } from "../server/watchdog.js";
import { setOomScoreAdj } from "../server/oom-score-adj.js";
import { writeFileSync, unlinkSync } from "node:fs";
import { getHeapStatistics } from "node:v8";

export function applyConfigToServer(server: Server): void {
  const cfg = server.config;
  server.configFilePath = cfg.configFile;
  cfg.onApply("proto-max-bulk-len", (c) => {
    for (const sh of server.shards) sh.kernel.x.setProtoMaxBulkLen(c.getNumber("proto-max-bulk-len"));
  });
  const hashLimits = (c: typeof cfg) => {
    for (const sh of server.shards) {
      sh.kernel.x.setHashListpackLimits(c.getNumber("hash-max-listpack-entries"), c.getNumber("hash-max-listpack-value"));
    }
  };
  cfg.onApply("hll-sparse-max-bytes", (c) => {
    for (const sh of server.shards) sh.kernel.x.setHllSparseMaxBytes(c.getNumber("hll-sparse-max-bytes"));
  });
  cfg.onApply("hash-max-listpack-entries", hashLimits);
  const listLimits = (c: typeof cfg) => {
    for (const sh of server.shards) sh.kernel.x.setListLimits(c.getNumber("list-max-listpack-size"), c.getNumber("list-compress-depth"));
  };
  cfg.onApply("list-max-listpack-size", listLimits);
  // Which zsets ZADD keeps in the kernel (assembly/commands/zsets.ts); the host has its own copy.
  const zsetLimits = (c: typeof cfg) => {
    for (const sh of server.shards) sh.kernel.x.setZsetListpackLimits(c.getNumber("zset-max-listpack-entries"), c.getNumber("zset-max-listpack-value"));
  };
  cfg.onApply("zset-max-listpack-entries", zsetLimits);
  cfg.onApply("zset-max-listpack-value", zsetLimits);
  // When a set SADD keeps in the kernel stops being an intset (assembly/commands/sets.ts).
  cfg.onApply("set-max-intset-entries", (c) => {
    for (const sh of server.shards) sh.kernel.x.setSetIntsetLimit(c.getNumber("set-max-intset-entries"));
  });
  cfg.onApply("list-compress-depth", listLimits);
  cfg.onApply("hash-max-listpack-value", hashLimits);
  cfg.onApply("maxmemory-policy", (c) => {
    const lfu = c.get("maxmemory-policy").includes("lfu");
    for (const sh of server.shards) sh.kernel.x.setLfuPolicy(lfu ? 1 : 0);
  });
  const lfuParams = (c: typeof cfg) => {
    for (const sh of server.shards) sh.kernel.x.setLfuParams(c.getNumber("lfu-log-factor"), c.getNumber("lfu-decay-time"));
  };
  cfg.onApply("lfu-log-factor", lfuParams);
  cfg.onApply("lfu-decay-time", lfuParams);
  cfg.onApply("loglevel", (c) => { logSettings.level = c.get("loglevel") as LogLevel; });
  cfg.onApply("latency-tracking", (c) => { server.latencyTracking = c.getBool("latency-tracking"); });
  cfg.onApply("hz", () => { if (server.port !== 0) server.startCron(); });
  installWatchdog(server);
  // Redis's updateOOMScoreAdj: a failed write to /proc fails CONFIG SET (and rolls it back).
  const oomScore = () => {
    if (!setOomScoreAdj(server)) throw new Error("Failed to set current oom_score_adj. Check server logs.");
  };
  cfg.onApply("oom-score-adj", oomScore);
  cfg.onApply("oom-score-adj-values", oomScore);
  // logfile and pidfile are immutable: set once, at start-up.
  const logfile = cfg.get("logfile");
  if (logfile !== "") logToFile(logfile);
  const pidfile = cfg.get("pidfile");
  if (pidfile !== "") {
    writeFileSync(pidfile, `${process.pid}\n`);
    process.once("exit", () => { try { unlinkSync(pidfile); } catch { /* already gone */ } });
  }
  // port moves the plain listener (Server.changeTcpPort, tls-port: src/server/tls.ts),
  // bind rebinds both (src/server/bind.ts).
  cfg.onApply("port", (c) => {
    if (server.listening) noteListenerMove(server, "port", server.tcpPort, server.changeTcpPort(c.getNumber("port")));
  });
  cfg.onApply("bind", (c) => changeBindAddr(server, c.getString("bind")));
  // perf_config.toml [kernel] initial_memory: reserve each shard's linear memory up front.
  const initial = perfConfig().kernel.initialMemory;
  for (const sh of server.shards) {
    const mem = sh.kernel.x.memory;
    const pages = Math.ceil(initial / 65536) - mem.buffer.byteLength / 65536;
    if (pages > 0) mem.grow(pages);
  }
  cfg.applyAll();
  let kernelBytes = 0;
  for (const sh of server.shards) kernelBytes += sh.kernel.x.memory.buffer.byteLength;
  // V8's used heap is memoryUsage()'s heapUsed without its /proc read of the RSS (3% of the
  // simulator's CPU, which starts thousands of servers).
  server.memoryAtStartup = getHeapStatistics().used_heap_size + kernelBytes;
}
