// maxmemory (Redis's evict.c performEvictions and processCommand's OOM rule).
//
// Used memory is src/server/used-memory.ts's figure less what is not counted for eviction
// (replica output buffers). Before every command that reaches the host (Server.dispatch),
// on every serverCron tick and soon after CONFIG SET maxmemory / maxmemory-policy, the
// server evicts keys until it is under the limit, one key at a time, asking the shard
// kernels in turn (assembly/keyspace/evict.ts: Redis's eviction pool for the LRU/LFU/TTL
// policies, random picks for the random ones). Evicted keys are effects (EFFECT_EVICTED):
// keyspace notifications `evicted`, WATCH, AOF and replicas (as DEL) see them.
// If it cannot get under the limit (noeviction, or volatile-* with no key that has a TTL)
// the server is in Redis's pre_command_oom_state: commands that may grow memory (denyoom)
// are refused with -OOM; reads and deletes run.
//
// Commands the kernel runs by itself never reach the host, so each kernel gets a budget:
// its dataset size now plus its share of the headroom under maxmemory. A denyoom command
// that finds its kernel over budget is handed back to the host, which evicts and runs it
// (the budget is recomputed at every check). A routed call (several shards) is checked
// after it ran. Inside MULTI/EXEC and scripts nothing is evicted (as Redis: evictions
// happen before a command, not within one).
//
// perf_config.toml's [kernel] max_memory caps each shard's linear memory: a shard that
// reached it puts the server in the OOM state whatever the policy.
import type { Server } from "./server.js";
import type { Shard } from "./shard.js";
import { clientsMemory, datasetBytes, USED_MEMORY_STARTUP } from "./used-memory.js";
import { perfConfig } from "../config/perf-config.js";
import { replicationOf } from "../repl/replication.js";
import { buggify, definePoint } from "../util/buggify.js";
import { ClientEviction } from "./client-eviction.js";
import { installLazyFree } from "./lazyfree.js";
import { installReplyLimit } from "./reply-limit.js";
import { resizeQueryBuffers } from "./querybuf.js";

definePoint("alloc-failure", "a command that may grow memory (denyoom) gets -OOM, as when memory cannot be had", 0.01);

export const OOM_ERR = "OOM command not allowed when used memory > 'maxmemory'.";

/** maxmemory-policy as the kernel numbers it (assembly/keyspace/evict.ts). */
export const POLICY_CODES: Record<string, number> = {
  "noeviction": 0,
  "allkeys-lru": 1,
  "allkeys-lfu": 2,
  "allkeys-random": 3,
  "volatile-lru": 4,
  "volatile-lfu": 5,
  "volatile-random": 6,
  "volatile-ttl": 7,
};

/**
 * Redis's evictionTimeLimitUs: how long one performEvictions may run before the rest is left
 * to the eviction timer (the next turns of the event loop), by maxmemory-eviction-tenacity:
 * 0..10 a linear 0..500 us, then 15% more per step (about 2 minutes at 99), 100 no limit.
 */
export function evictionTimeLimitUs(tenacity: number): number {
  if (tenacity <= 10) return 50 * tenacity;
  if (tenacity < 100) return 500 * Math.pow(1.15, tenacity - 10);
  return Infinity;
}

export class MaxMemory {
  /** Over maxmemory at the last check and unable to evict (Redis's server.pre_command_oom_state). */
  oom = false;
  private policy = 0;
  private samples = 5;
  /** The shard asked first at the next eviction (round-robin). */
  private cursor = 0;
  private scheduled = false;
  private readonly budgets: number[];
  /** perf_config.toml caps the shards' linear memory. */
  private readonly capped = perfConfig().kernel.maxMemory > 0;

  constructor(private readonly server: Server) {
    this.budgets = server.shards.map(() => 0);
    this.clientEviction = new ClientEviction(server);
    // Memory management's other statistics: UNLINK / FLUSH ASYNC (src/server/lazyfree.ts).
    installLazyFree(server);
    // client-output-buffer-limit's hard limit, for replies the kernel cuts (src/server/reply-limit.ts).
    installReplyLimit(server);
    server.config.onApply("maxmemory-clients", () => setImmediate(() => this.clientEviction.checkAll()));
    const cfg = server.config;
    const configure = () => {
      this.policy = POLICY_CODES[cfg.getString("maxmemory-policy")] ?? 0;
      this.samples = Math.max(1, cfg.getNumber("maxmemory-samples"));
      const noShared = cfg.getNumber("maxmemory") > 0 && /lru|lfu/.test(cfg.getString("maxmemory-policy"));
      for (const s of server.shards) {
        s.kernel.x.resetEvictionPool();
        s.kernel.x.setSharedIntegers(noShared ? 0 : 1);
      }
    };
    configure();
    cfg.onApply("maxmemory", configure);
    cfg.onApply("maxmemory-policy", configure);
    cfg.onApply("maxmemory-samples", configure);
    // Redis's updateMaxmemory starts the eviction timer rather than evicting inside CONFIG
    // SET (which may be queued in a MULTI): the OOM state and budgets change now, keys go
    // right after.
    cfg.onApply("maxmemory", () => { this.updateState(false); this.schedule(); });
    cfg.onApply("maxmemory-policy", () => { this.updateState(false); this.schedule(); });
    for (const s of server.shards) s.afterRoutedCall = (shard) => this.afterRoutedCall(shard);
  }

  get limit(): number { return this.server.config.getNumber("maxmemory"); }

  /** Used memory as eviction sees it (used_memory less mem_not_counted_for_evict). */
  usedForEviction(): number {
    this.maybeRefreshClients();
    // The replication buffer counts up to repl-backlog-size (mem_not_counted_for_evict).
    return USED_MEMORY_STARTUP + datasetBytes(this.server) + this.clients.normal + this.clients.replBuffers - this.clients.replNotCounted;
  }

  /**
   * Clients' buffers, measured again at most every (clients / 100) ms: walking every client
   * before every command would cost more than the rest of the check with many clients.
   */
  private clients = { normal: 0, replicas: 0, replBuffers: 0, replNotCounted: 0 };
  private clientsMeasuredAt = 0;
  refreshClients(): void {
    this.clients = clientsMemory(this.server);
    this.clientsMeasuredAt = performance.now();
  }
  private maybeRefreshClients(): void {
    if (performance.now() - this.clientsMeasuredAt >= this.server.clients.size / 100) this.refreshClients();
  }

  /**
   * Before a command (Server.dispatch), on serverCron, after a CONFIG SET: evicts while over
   * the limit, then sets the OOM state and the kernels' budgets. Returns the OOM state.
   */
  check(): boolean {
    if (buggify("alloc-failure")) return this.injectOom();
    // Clients first, then keys: a client evicted for its buffers frees memory without a key going.
    this.clientEviction.check();
    if (this.limit <= 0 && !this.capped && !this.oom) return false;
    this.updateState(true);
    return this.oom;
  }

  /**
   * The alloc-failure fault point: memory could not be had for this command, which Redis
   * surfaces as -OOM when over maxmemory (a failed allocation itself would abort Redis). The
   * kernels hand their denyoom commands back until the next check() recomputes the state.
   */
  private injectOom(): boolean {
    if (!this.oom) {
      this.oom = true;
      for (const s of this.server.shards) s.useOom(true);
    }
    return true;
  }
  /** maxmemory-clients: client memory and client eviction. */
  readonly clientEviction: ClientEviction;

  /** serverCron: clients' buffers measured again, then check(). */
  cron(): void {
    this.refreshClients();
    this.server.pubsub.cronCheckLimits();
    resizeQueryBuffers(this.server);
    this.check();
    this.clientEviction.checkAll();
  }

  /** Redis's performEvictions: true when used memory is (now) within the limit. */
  performEvictions(): boolean {
    const limit = this.limit;
    if (limit <= 0) return true;
    let used = this.usedForEviction();
    if (used <= limit) return true;
    // CLIENT PAUSE keeps the dataset constant: no eviction, and no OOM either (Redis's
    // isSafeToPerformEvictions makes performEvictions answer EVICT_OK while paused).
    if (this.server.pause.type !== 0) return true;
    if (this.policy === 0 || !this.safeToEvict()) return false;
    const shards = this.server.shards;
    const now = this.server.now();
    // Once evicting, go a little under the limit (0.1%, at most 16 KB), so that the next few
    // writes find room without each being handed back by its kernel to evict one key.
    const target = limit - Math.min(16 * 1024, Math.floor(limit / 1024));
    let dry = 0;
    const latency = this.server.latency;
    const cycleStart = performance.now();
    const limitUs = evictionTimeLimitUs(this.server.config.getNumber("maxmemory-eviction-tenacity"));
    const limitMs = limitUs / 1000;
    for (let n = 0; used > target; n++) {
      // As Redis, the clock is read every 16 keys; past the limit the eviction timer carries
      // on (EVICT_RUNNING: commands are not refused meanwhile). One key here costs a few
      // times what it costs Redis, so a pass also goes on until it evicted as many keys as
      // Redis would in its time (about one per microsecond): otherwise the default tenacity
      // would leave to the timer what Redis finishes in one pass (and refuse with -OOM after).
      if (n > 0 && (n & 15) === 0 && n >= limitUs && performance.now() - cycleStart > limitMs) {
        this.schedule();
        return latency.sampleSince("eviction-cycle", cycleStart, true);
      }
      const shard = shards[this.cursor++ % shards.length];
      const delStart = performance.now();
      const freed = shard.kernel.x.evictOne(this.policy, this.samples, now);
      // Frees the evicted key's host value and publishes its EFFECT_EVICTED.
      shard.afterCall();
      if (freed < 0) {
        if (++dry >= shards.length) return latency.sampleSince("eviction-cycle", cycleStart, used <= limit);
        continue;
      }
      latency.sampleSince("eviction-del", delStart, true);
      dry = 0;
      this.server.stats.evictedKeys++;
      used = this.usedForEviction();
    }
    return latency.sampleSince("eviction-cycle", cycleStart, true);
  }

  /** Redis's isSafeToPerformEvictions: a replica mirrors its master (replica-ignore-maxmemory). */
  private safeToEvict(): boolean {
    return !(replicationOf(this.server).link && this.server.config.getBool("replica-ignore-maxmemory"));
  }

  private updateState(evict: boolean): void {
    const limit = this.limit;
    let oom = false;
    if (limit > 0) {
      oom = evict ? !this.performEvictions() : this.policy === 0 && this.usedForEviction() > limit;
    }
    const shardCap = perfConfig().kernel.maxMemory;
    if (shardCap > 0 && this.server.shards.some((s) => s.kernel.x.memory.buffer.byteLength >= shardCap)) oom = true;
    if (oom !== this.oom) {
      this.oom = oom;
      for (const s of this.server.shards) s.useOom(oom);
    }
    this.updateBudgets(limit);
  }

  /** Each kernel may grow by its share of the headroom before handing denyoom commands back. */
  private updateBudgets(limit: number): void {
    const shards = this.server.shards;
    let headroom = 0;
    if (limit > 0) headroom = Math.max(0, limit - this.usedForEviction());
    const share = Math.floor(headroom / shards.length);
    for (const s of shards) {
      const budget = limit > 0 ? Math.max(1, s.kernel.x.memoryUsed() + share) : 0;
      if (budget !== this.budgets[s.index]) {
        this.budgets[s.index] = budget;
        s.useMemoryBudget(budget);
      }
    }
  }

  /**
   * A kernel call made for the host (a routed command, EXEC, a script) grew its shard past
   * its budget: evict on the next turn, not inside the command that is running.
   */
  private afterRoutedCall(shard: Shard): void {
    const budget = this.budgets[shard.index];
    if (budget > 0 && shard.kernel.x.memoryUsed() > budget) this.schedule();
  }

  /** Evicts on the next turn of the event loop (Redis's startEvictionTimeProc). */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.updateState(true);
    });
  }
}
