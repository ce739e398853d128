// Client memory and client eviction (Redis 7.0's maxmemory-clients, evictClients()).
//
// A client's memory (CLIENT LIST tot-mem) is what Redis's getClientMemoryUsage adds up: a
// fixed part for the client itself (struct, 16 KB reply buffer), its query buffer, the
// argv of the command it is running, the commands queued in MULTI, its output buffer, and
// what it holds in other families — watched keys, pub/sub subscriptions (and anything that
// registers in clientMemoryProviders).
//
// maxmemory-clients (bytes, or N% of maxmemory; 0 off): when the clients' memory together
// exceeds it, the largest clients are disconnected until it no longer does, as Redis does —
// except clients with CLIENT NO-EVICT on, replicas and the master link. It is checked for a
// client after each read of its input and each command that reaches the host (its memory
// is measured then, the total kept up to date incrementally), and for every client on
// serverCron. Evicted clients count in INFO stats evicted_clients.
import type { Server } from "./server.js";
import type { Client } from "./client.js";
import { log } from "./log.js";
import { replicationOf } from "../repl/replication.js";
import { trackingOf } from "./tracking.js";
import { queryBufferMemory } from "./querybuf.js";

/** What a client costs before any buffer: Redis's client struct (zmalloc_size(c)). */
export const CLIENT_BASE_BYTES = 6042;
/** A watched key / a subscription: the list node, the entry and the key or channel name's header. */
const ENTRY_BYTES = 64;

/** Memory other families hold for a client (tracking prefixes...), added to tot-mem. */
export const clientMemoryProviders: ((c: Client) => number)[] = [];

/** A BCAST tracking prefix: Redis counts rax nodes (an underestimate); a node and its few bytes here. */
const TRACKING_PREFIX_BYTES = 16;
clientMemoryProviders.push((c) => (trackingOf(c.server).stateOf(c)?.prefixes.size ?? 0) * TRACKING_PREFIX_BYTES);

/** Bytes of commands queued in MULTI (CLIENT LIST multi-mem). */
export function multiMemory(c: Client): number {
  if (c.multi === null) return 0;
  let n = 0;
  for (const argv of c.multi) {
    n += 16 * argv.length;
    for (const a of argv) n += a.length;
  }
  return n;
}

/** Redis's getClientMemoryUsage: CLIENT LIST tot-mem. */
export function clientMemoryUsage(c: Client): number {
  const server = c.server;
  // A big argument's buffer is reserved whole once its length is known (Redis's
  // PROTO_MBULK_BIG_ARG preallocation), so a client sending one counts it from the start
  // until its last byte (querybuf.ts).
  // Its static reply buffer (buf_usable_size) is 16 KB until serverCron resizes it (reply-buffer.ts).
  let n = CLIENT_BASE_BYTES + c.replyBuffer.usable + queryBufferMemory(c) + c.currentArgvBytes + c.outputBufferLength + multiMemory(c);
  const subs = server.pubsub.counts(c);
  n += (server.watches.count(c) + subs.channels + subs.patterns + subs.shard) * ENTRY_BYTES;
  for (const p of clientMemoryProviders) n += p(c);
  return n;
}

export class ClientEviction {
  /** Each client's memory when last measured, and their sum. */
  private readonly measured = new Map<Client, number>();
  private total = 0;
  private evicting = false;
  /** Clients whose output grew outside their own commands (pub/sub deliveries): measured before the next command. */
  private readonly grown = new Set<Client>();

  constructor(private readonly server: Server) {}

  /**
   * Another client's command (PUBLISH) added to c's output buffer. Redis updates such a
   * client's memory as the reply is appended and evicts clients at the next processCommand,
   * before key eviction; so do we (check()).
   */
  outputGrew(c: Client): void {
    if (this.limit > 0) this.grown.add(c);
  }

  /** Before a command and before key eviction (Redis's evictClients in processCommand). */
  check(): void {
    if (this.grown.size === 0) return;
    const limit = this.limit;
    if (limit <= 0) return this.grown.clear();
    for (const c of this.grown) this.measure(c);
    this.grown.clear();
    if (this.total > limit) this.evict(limit);
  }

  /** maxmemory-clients in bytes (a percentage is of maxmemory), 0 when off. */
  get limit(): number {
    // Read after every socket read: derived again only when a config value changed (a
    // percentage is negative in getNumber, as Redis keeps it).
    const cfg = this.server.config;
    if (cfg.generation === this.limitGeneration && cfg === this.limitConfig) return this.limitBytes;
    const v = cfg.getNumber("maxmemory-clients");
    this.limitBytes = v < 0 ? Math.floor((cfg.getNumber("maxmemory") * -v) / 100) : v || 0;
    this.limitGeneration = cfg.generation;
    this.limitConfig = cfg;
    return this.limitBytes;
  }
  private limitBytes = 0;
  /** The config generation limitBytes was derived at (-1: never). */
  private limitGeneration = -1;
  private limitConfig: Server["config"] | null = null;

  /** Re-measures one client (after its input was read, or a host command ran) and evicts if over the limit. */
  afterActivity(c: Client): void {
    const limit = this.limit;
    if (limit <= 0) {
      if (this.measured.size) this.forgetAll();
      return;
    }
    this.measure(c);
    if (this.total > limit) this.evict(limit);
  }

  /** serverCron, CONFIG SET maxmemory-clients: every client measured again. */
  checkAll(): void {
    const limit = this.limit;
    if (limit <= 0) {
      if (this.measured.size) this.forgetAll();
      return;
    }
    for (const c of this.measured.keys()) if (c.closed || !this.server.clients.has(c.id)) this.forget(c);
    for (const c of this.server.clients.values()) this.measure(c);
    if (this.total > limit) this.evict(limit);
  }

  forget(c: Client): void {
    this.grown.delete(c);
    const m = this.measured.get(c);
    if (m === undefined) return;
    this.total -= m;
    this.measured.delete(c);
  }

  private forgetAll(): void {
    this.measured.clear();
    this.total = 0;
  }

  private measure(c: Client): void {
    if (c.closed) return this.forget(c);
    const m = clientMemoryUsage(c);
    this.total += m - (this.measured.get(c) ?? 0);
    this.measured.set(c, m);
  }

  private evictable(c: Client): boolean {
    if (c.closed || c.noEvict) return false;
    const repl = replicationOf(this.server);
    return !repl.replicas.has(c);
  }

  /** Redis's evictClients: largest first, until the clients' memory is within the limit. */
  private evict(limit: number): void {
    if (this.evicting) return;
    this.evicting = true;
    try {
      // Measure everyone afresh before choosing (others' buffers may have drained).
      for (const c of this.measured.keys()) if (c.closed || !this.server.clients.has(c.id)) this.forget(c);
      for (const c of this.server.clients.values()) this.measure(c);
      if (this.total <= limit) return;
      const candidates = [...this.measured.entries()].filter(([c]) => this.evictable(c)).sort((a, b) => b[1] - a[1]);
      for (const [c, mem] of candidates) {
        if (this.total <= limit) break;
        log("verbose", `Evicting client: id=${c.id} addr=${c.addr} name=${c.name} tot-mem=${mem}`);
        this.forget(c);
        this.server.stats.evictedClients++;
        c.kill();
        // Gone at once, as Redis's freeClient (CLIENT LIST must not show it; the socket's
        // close event does the rest of the clean-up later).
        this.server.clients.delete(c.id);
      }
    } finally {
      this.evicting = false;
    }
  }
}
