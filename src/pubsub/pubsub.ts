// Pub/Sub (Redis's pubsub.c): who is subscribed to which channels, patterns and shard
// channels, and delivery of messages to them.
//
// Layout:
//   channels / shardChannels: channel (latin1 string of its bytes) -> subscribed clients
//   patterns:                 pattern (latin1) -> { its bytes, subscribed clients }
//   byClient:                 client -> the channels, patterns and shard channels it holds,
//                             in subscription order (UNSUBSCRIBE without arguments replies
//                             in that order)
// Client.subscriptions mirrors the client's total, so the input path can tell in one
// comparison whether a RESP2 client is in the subscribed context (Redis's CLIENT_PUBSUB).
//
// Messages are out-of-band data: written straight to the subscriber's socket with
// Client.writePush, as RESP3 pushes (">") or RESP2 arrays, even under CLIENT REPLY OFF/SKIP.
// A subscriber that does not read is bounded by client-output-buffer-limit's pubsub class.
import type { Client } from "../server/client.js";
import type { Server } from "../server/server.js";
import { stringMatch } from "../util/glob.js";
import { parseMemory } from "../config/config.js";
import { log } from "../server/log.js";
import { KeyspaceNotifier } from "./notify.js";

export type SubKind = "channel" | "pattern" | "shard";

interface ClientSubs {
  channels: Set<string>;
  patterns: Set<string>;
  shard: Set<string>;
}

interface OutputLimit { hard: number; soft: number; softSeconds: number }

export class PubSub {
  readonly channels = new Map<string, Set<Client>>();
  readonly shardChannels = new Map<string, Set<Client>>();
  readonly patterns = new Map<string, { bytes: Buffer; clients: Set<Client> }>();
  private readonly byClient = new Map<Client, ClientSubs>();
  /** client-output-buffer-limit pubsub <hard> <soft> <seconds> (Redis's default 32mb 8mb 60). */
  private limit: OutputLimit = { hard: 32 * 1024 * 1024, soft: 8 * 1024 * 1024, softSeconds: 60 };
  /** When each subscriber's unsent output first went above the soft limit. */
  private readonly softSince = new Map<Client, number>();
  /** Keyspace notifications (notify-keyspace-events), published on these channels. */
  readonly notifier: KeyspaceNotifier;

  constructor(private readonly server: Server) {
    this.notifier = new KeyspaceNotifier(server);
    const update = () => { this.limit = parsePubsubLimit(server.config.getString("client-output-buffer-limit")) ?? this.limit; };
    server.config.onApply("client-output-buffer-limit", update);
    update();
  }

  private subsOf(c: Client): ClientSubs {
    let s = this.byClient.get(c);
    if (!s) this.byClient.set(c, (s = { channels: new Set(), patterns: new Set(), shard: new Set() }));
    return s;
  }

  /** Channels + patterns: the count SUBSCRIBE/PSUBSCRIBE/(P)UNSUBSCRIBE reply with. */
  subscriptionCount(c: Client): number {
    const s = this.byClient.get(c);
    return s ? s.channels.size + s.patterns.size : 0;
  }

  /** Shard channels: the count SSUBSCRIBE/SUNSUBSCRIBE reply with. */
  shardSubscriptionCount(c: Client): number {
    return this.byClient.get(c)?.shard.size ?? 0;
  }

  counts(c: Client): { channels: number; patterns: number; shard: number } {
    const s = this.byClient.get(c);
    return s ? { channels: s.channels.size, patterns: s.patterns.size, shard: s.shard.size } : { channels: 0, patterns: 0, shard: 0 };
  }

  /** The client's channels (or patterns, shard channels) in subscription order. */
  subscribedTo(c: Client, kind: SubKind): Buffer[] {
    const s = this.byClient.get(c);
    if (!s) return [];
    const set = kind === "channel" ? s.channels : kind === "pattern" ? s.patterns : s.shard;
    return [...set].map((k) => Buffer.from(k, "latin1"));
  }

  /** Adds a subscription; false when the client already had it. */
  subscribe(c: Client, kind: SubKind, name: Buffer): boolean {
    const s = this.subsOf(c);
    const id = name.toString("latin1");
    const own = kind === "channel" ? s.channels : kind === "pattern" ? s.patterns : s.shard;
    if (own.has(id)) return false;
    own.add(id);
    if (kind === "pattern") {
      let p = this.patterns.get(id);
      if (!p) this.patterns.set(id, (p = { bytes: Buffer.from(name), clients: new Set() }));
      p.clients.add(c);
    } else {
      const map = kind === "channel" ? this.channels : this.shardChannels;
      let set = map.get(id);
      if (!set) map.set(id, (set = new Set()));
      set.add(c);
    }
    c.subscriptions++;
    return true;
  }

  /** Removes a subscription; false when the client did not have it. */
  unsubscribe(c: Client, kind: SubKind, name: Buffer): boolean {
    const s = this.byClient.get(c);
    if (!s) return false;
    const id = name.toString("latin1");
    const own = kind === "channel" ? s.channels : kind === "pattern" ? s.patterns : s.shard;
    if (!own.delete(id)) return false;
    if (kind === "pattern") {
      const p = this.patterns.get(id)!;
      p.clients.delete(c);
      if (p.clients.size === 0) this.patterns.delete(id);
    } else {
      const map = kind === "channel" ? this.channels : this.shardChannels;
      const set = map.get(id)!;
      set.delete(c);
      if (set.size === 0) map.delete(id);
    }
    c.subscriptions--;
    if (c.subscriptions === 0) {
      this.byClient.delete(c);
      this.softSince.delete(c);
    }
    return true;
  }

  /** Disconnect and RESET: drops every subscription without replying. */
  unsubscribeAll(c: Client): void {
    const s = this.byClient.get(c);
    if (!s) return;
    for (const ch of [...s.channels]) this.unsubscribe(c, "channel", Buffer.from(ch, "latin1"));
    for (const p of [...s.patterns]) this.unsubscribe(c, "pattern", Buffer.from(p, "latin1"));
    for (const ch of [...s.shard]) this.unsubscribe(c, "shard", Buffer.from(ch, "latin1"));
  }

  /** PUBLISH: delivers to the channel's subscribers and to every matching pattern; returns the receivers. */
  publish(channel: Buffer, message: Buffer): number {
    let receivers = 0;
    const id = channel.toString("latin1");
    const subs = this.channels.get(id);
    if (subs) {
      const msg = new LazyMessage([Buffer.from("message"), channel, message]);
      for (const c of [...subs]) { this.deliver(c, msg); receivers++; }
    }
    if (this.patterns.size > 0) {
      for (const p of [...this.patterns.values()]) {
        if (!stringMatch(p.bytes, channel)) continue;
        const msg = new LazyMessage([Buffer.from("pmessage"), p.bytes, channel, message]);
        for (const c of [...p.clients]) { this.deliver(c, msg); receivers++; }
      }
    }
    return receivers;
  }

  /** SPUBLISH: delivers to the shard channel's subscribers only. */
  publishShard(channel: Buffer, message: Buffer): number {
    const subs = this.shardChannels.get(channel.toString("latin1"));
    if (!subs) return 0;
    const msg = new LazyMessage([Buffer.from("smessage"), channel, message]);
    let n = 0;
    for (const c of [...subs]) { this.deliver(c, msg); n++; }
    return n;
  }

  /** Whether anyone listens on a channel name directly or by pattern (keyspace notifications skip work otherwise). */
  get anySubscriber(): boolean { return this.channels.size > 0 || this.patterns.size > 0; }

  private deliver(c: Client, msg: LazyMessage): void {
    if (c.closed) return;
    c.writePush(msg.encoded(c.resp));
    this.checkLimit(c);
  }

  /**
   * serverCron (Redis's clientsCron → closeClientOnOutputBufferLimitReached): a subscriber
   * over the soft limit that gets no more messages is still closed once its time is up.
   */
  cronCheckLimits(): void {
    for (const c of [...this.softSince.keys()]) {
      if (c.closed) this.softSince.delete(c);
      else this.checkLimit(c);
    }
  }

  /** client-output-buffer-limit pubsub: Redis's checkClientOutputBufferLimits for a subscriber. */
  private checkLimit(c: Client): void {
    const lim = this.limit;
    if (lim.hard === 0 && lim.soft === 0) return;
    const used = c.outputBufferLength;
    let over = lim.hard > 0 && used >= lim.hard;
    if (!over && lim.soft > 0 && used >= lim.soft) {
      const now = Date.now();
      const since = this.softSince.get(c);
      if (since === undefined) this.softSince.set(c, now);
      else over = now - since >= lim.softSeconds * 1000;
    } else if (used < lim.soft) {
      this.softSince.delete(c);
    }
    if (over) {
      log("warning", `Client id=${c.id} addr=${c.addr} scheduled to be closed ASAP for overcoming of output buffer limits.`);
      c.kill();
      this.server.clients.delete(c.id);
      this.unsubscribeAll(c);
    }
  }
}

/** A message encoded once per protocol, for however many subscribers. */
class LazyMessage {
  private resp2?: Buffer;
  private resp3?: Buffer;
  constructor(private readonly parts: Buffer[]) {}

  encoded(resp: number): Buffer {
    if (resp >= 3) return (this.resp3 ??= encodePush(">", this.parts));
    return (this.resp2 ??= encodePush("*", this.parts));
  }
}

/** A push (">") or RESP2 array of bulk strings; null parts become the protocol's null. */
export function encodePush(type: string, parts: (Buffer | number | null)[], resp = type === ">" ? 3 : 2): Buffer {
  const out: Buffer[] = [Buffer.from(`${type}${parts.length}\r\n`)];
  for (const p of parts) {
    if (p === null) out.push(Buffer.from(resp >= 3 ? "_\r\n" : "$-1\r\n"));
    else if (typeof p === "number") out.push(Buffer.from(`:${p}\r\n`));
    else out.push(Buffer.from(`$${p.length}\r\n`), p, Buffer.from("\r\n"));
  }
  return Buffer.concat(out);
}

/** The pubsub class of "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60". */
function parsePubsubLimit(cob: string): OutputLimit | null {
  const words = cob.trim().split(/\s+/);
  for (let i = 0; i + 3 < words.length; i += 4) {
    if (words[i].toLowerCase() !== "pubsub") continue;
    const hard = parseMemory(words[i + 1]);
    const soft = parseMemory(words[i + 2]);
    const secs = Number(words[i + 3]);
    if (hard !== null && soft !== null && Number.isFinite(secs)) return { hard, soft, softSeconds: secs };
  }
  return null;
}
