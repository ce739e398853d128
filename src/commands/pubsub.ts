// SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH,
// SPUBLISH, PUBSUB: Redis 7.0's pubsub.c. State and delivery live in src/pubsub/pubsub.ts.
//
// The (un)subscribe confirmations are pushes in Redis (CLIENT_PUSHING): they reach the client
// even under CLIENT REPLY OFF or SKIP, so in that case they bypass the reply writer.
import { replicationOf } from "../repl/replication.js";
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import type { Client } from "../server/client.js";
import type { Server } from "../server/server.js";
import type { SubKind } from "../pubsub/pubsub.js";
import { encodePush } from "../pubsub/pubsub.js";
import { replyHelp, subcommandSyntaxError } from "./help.js";
import { stringMatch } from "../util/glob.js";
import { clientInfoProviders } from "./client-cmd.js";
import { resetHooks } from "./server-cmds.js";

/** One (un)subscribe confirmation: [kind, name or null, count]. */
function confirm(ctx: CommandContext, kind: string, name: Buffer | null, count: number): void {
  const { client, reply } = ctx;
  if ((client.replyOff || client.skipNextReply) && reply === client.reply && reply.pending === 0) {
    client.skipNextReply = false;
    client.writePush(encodePush(client.resp >= 3 ? ">" : "*", [Buffer.from(kind), name, count], client.resp));
    return;
  }
  reply.pushLen(3);
  reply.bulk(kind);
  if (name === null) reply.nullBulk();
  else reply.bulk(name);
  reply.integer(count);
}

function countFor(server: Server, c: Client, kind: SubKind): number {
  return kind === "shard" ? server.pubsub.shardSubscriptionCount(c) : server.pubsub.subscriptionCount(c);
}

function subscribeGeneric(ctx: CommandContext, kind: SubKind, word: string): void {
  const { server, client, argv } = ctx;
  for (let i = 1; i < argv.length; i++) {
    server.pubsub.subscribe(client, kind, argv[i]);
    confirm(ctx, word, argv[i], countFor(server, client, kind));
  }
}

function unsubscribeGeneric(ctx: CommandContext, kind: SubKind, word: string): void {
  const { server, client, argv } = ctx;
  const ps = server.pubsub;
  const names = argv.length > 1 ? argv.slice(1) : ps.subscribedTo(client, kind);
  if (names.length === 0) return confirm(ctx, word, null, countFor(server, client, kind));
  for (const n of names) {
    ps.unsubscribe(client, kind, n);
    confirm(ctx, word, n, countFor(server, client, kind));
  }
}

/** Active channels (or shard channels) matching an optional glob. */
function channelList(ctx: CommandContext, map: Map<string, Set<Client>>): void {
  // One pattern at most: pubsubCommand takes CHANNELS only with argc 2 or 3 (the table's arity is -2).
  if (ctx.argv.length > 3) return subcommandSyntaxError(ctx);
  const pat = ctx.argv.length > 2 ? ctx.argv[2] : null;
  const out: Buffer[] = [];
  for (const id of map.keys()) {
    const ch = Buffer.from(id, "latin1");
    if (pat === null || stringMatch(pat, ch)) out.push(ch);
  }
  ctx.reply.bulkArray(out);
}

function numSub(ctx: CommandContext, map: Map<string, Set<Client>>): void {
  const { argv, reply } = ctx;
  reply.arrayLen((argv.length - 2) * 2);
  for (let i = 2; i < argv.length; i++) {
    reply.bulk(argv[i]);
    reply.integer(map.get(argv[i].toString("latin1"))?.size ?? 0);
  }
}

/**
 * Redis's processCommand rule: a RESP2 client subscribed to anything may only run
 * (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET. Returns true when argv was
 * rejected (the error is replied). Unknown commands and arity errors are left to the
 * normal path, which checks them first in Redis too.
 */
export function rejectInSubscribedContext(server: Server, client: Client, argv: Buffer[]): boolean {
  const found = server.resolveCommand(argv);
  if (found.error !== undefined || !found.spec) return false;
  const top = (found.spec.parent ?? found.spec).name;
  if (ALLOWED_WHEN_SUBSCRIBED.has(top)) return false;
  server.rejectCommand(client, `Can't execute '${found.spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`, found.spec);
  return true;
}

const ALLOWED_WHEN_SUBSCRIBED = new Set([
  "ping", "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe", "psubscribe", "punsubscribe", "quit", "reset",
]);

// CLIENT LIST: sub= psub= ssub=, flag P and type pubsub (Redis: CLIENT_PUBSUB, which SSUBSCRIBE sets too).
clientInfoProviders.sub = (c) => c.server.pubsub.counts(c).channels;
clientInfoProviders.psub = (c) => c.server.pubsub.counts(c).patterns;
clientInfoProviders.ssub = (c) => c.server.pubsub.counts(c).shard;
clientInfoProviders.flags.push((c) => (c.subscriptions > 0 ? "P" : ""));
{
  const prevType = clientInfoProviders.type;
  clientInfoProviders.type = (c) => (c.subscriptions > 0 ? "pubsub" : prevType(c));
}
// RESET drops every subscription without confirmations (Redis's clearClientConnectionState).
resetHooks.push((c) => c.server.pubsub.unsubscribeAll(c));

export function registerPubsubCommands(t: CommandTable): void {
  t.define("subscribe", (ctx) => subscribeGeneric(ctx, "channel", "subscribe"));
  t.define("psubscribe", (ctx) => subscribeGeneric(ctx, "pattern", "psubscribe"));
  t.define("ssubscribe", (ctx) => {
    // Redis 7.0 refuses it inside MULTI (and scripts), unlike SUBSCRIBE.
    if (ctx.client.denyBlocking) return ctx.reply.error("SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    subscribeGeneric(ctx, "shard", "ssubscribe");
  });
  t.define("unsubscribe", (ctx) => unsubscribeGeneric(ctx, "channel", "unsubscribe"));
  t.define("punsubscribe", (ctx) => unsubscribeGeneric(ctx, "pattern", "punsubscribe"));
  t.define("sunsubscribe", (ctx) => unsubscribeGeneric(ctx, "shard", "sunsubscribe"));

  t.define("publish", ({ server, client, argv, reply }) => {
    reply.integer(server.pubsub.publish(argv[1], argv[2]));
    propagatePublish(server, client.db, argv);
  });
  t.define("spublish", ({ server, client, argv, reply }) => {
    reply.integer(server.pubsub.publishShard(argv[1], argv[2]));
    propagatePublish(server, client.db, argv);
  });

  t.define("pubsub|channels", (ctx) => channelList(ctx, ctx.server.pubsub.channels));
  t.define("pubsub|shardchannels", (ctx) => channelList(ctx, ctx.server.pubsub.shardChannels));
  t.define("pubsub|numsub", (ctx) => numSub(ctx, ctx.server.pubsub.channels));
  t.define("pubsub|shardnumsub", (ctx) => numSub(ctx, ctx.server.pubsub.shardChannels));
  t.define("pubsub|numpat", ({ server, reply }) => reply.integer(server.pubsub.patterns.size));
  t.define("pubsub|help", (ctx) => replyHelp(ctx, [
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
  ]));
}

/**
 * PUBLISH and SPUBLISH go to the replicas' stream, so their subscribers get the message too
 * (Redis's forceCommandPropagation(c, PROPAGATE_REPL); not to the AOF, and not in cluster
 * mode, whose bus carries messages). A replica's stream is its master's, proxied as is.
 */
function propagatePublish(server: Server, db: number, argv: Buffer[]): void {
  const repl = replicationOf(server);
  // Cluster mode: over the cluster bus to the other nodes (SPUBLISH: this shard's), not the replication stream.
  if (server.cluster) return server.cluster.bus.publish(argv[1], argv[2], argv[0].toString("latin1").toLowerCase() === "spublish");
  if (repl.link) return;
  repl.feed(argv, db);
}
