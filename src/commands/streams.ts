// Stream commands (Redis 7.0 t_stream.c): XADD XLEN XRANGE XREVRANGE XDEL XTRIM XREAD
// XREADGROUP XGROUP (CREATE SETID DESTROY CREATECONSUMER DELCONSUMER HELP) XACK XPENDING
// XCLAIM XAUTOCLAIM XINFO (STREAM GROUPS CONSUMERS HELP) XSETID.
//
// Values are StreamValues (src/types/stream.ts) reached through the host keyspace. Each
// handler follows t_stream.c's order of checks, so the same input gives the same error.
// Writes are propagated as Redis propagates them: XADD with the generated ID and an exact
// trim (MAXLEN/MINID = <result>) instead of "~", XREADGROUP/XCLAIM/XAUTOCLAIM as the XCLAIM
// ... FORCE JUSTID LASTID commands that recreate their pending entries, NOACK reads as
// XGROUP SETID / CREATECONSUMER. Blocking XREAD/XREADGROUP wait through src/types/blocking.ts
// with a tryServe() that re-checks the stream after each command.
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { ERR, parseInteger } from "./context.js";
import { NOTIFY_STREAM } from "../pubsub/notify.js";
import type { ReplyWriter } from "../server/reply-writer.js";
import type { Server } from "../server/server.js";
import { EFFECT_HINT_XADD_TRIMMED } from "../server/effects.js";
import { typeCommand } from "../types/keyspace.js";
import { replicationOf } from "../repl/replication.js";
import { installStreamCodec } from "../types/stream-rdb.js";
import { OBJ_STREAM, WrongTypeError } from "../types/value.js";
import {
  StreamValue, ConsumerGroup, Consumer, type Nack, type StreamEntry, type StreamID, type TrimArgs,
  cmpId, idString, incrId, decrId, parseId, isZeroId, U64_MAX, MAX_ID, INVALID_ENTRIES_READ,
  TRIM_NONE, TRIM_MAXLEN, TRIM_MINID,
} from "../types/stream.js";

const ERR_INVALID_ID = "Invalid stream ID specified as stream command argument";
const XREAD_BLOCKED_DEFAULT_COUNT = 1000;
const b = (s: string) => Buffer.from(s, "latin1");
const str = (buf: Buffer) => buf.toString("latin1");

function nodeLimits(server: Server): { entries: number; bytes: number } {
  return { entries: server.config.getNumber("stream-node-max-entries"), bytes: server.config.getNumber("stream-node-max-bytes") };
}

function readStream(ctx: CommandContext, key: Buffer): StreamValue | null {
  return ctx.server.types.lookupRead<StreamValue>(ctx.client.db, key, OBJ_STREAM);
}
function writeStream(ctx: CommandContext, key: Buffer): StreamValue | null {
  return ctx.server.types.lookupWrite<StreamValue>(ctx.client.db, key, OBJ_STREAM);
}

/** getLongLongFromObjectOrReply as a JS number (exact to 2^53), or null after replying. */
function llOrReply(ctx: CommandContext, i: number, msg: string = ERR.notInteger): number | null {
  const v = parseInteger(ctx.argv[i]);
  if (v === null) { ctx.reply.error(msg); return null; }
  return Number(v);
}

function idOrReply(ctx: CommandContext, i: number, missingSeq: bigint, strict: boolean): StreamID | null {
  const p = parseId(str(ctx.argv[i]), missingSeq, strict);
  if (!p) { ctx.reply.error(ERR_INVALID_ID); return null; }
  return p.id;
}

/** streamParseIntervalIDOrReply: "(" makes the bound exclusive (then - and + are invalid). */
function intervalIdOrReply(ctx: CommandContext, i: number, missingSeq: bigint): { id: StreamID; ex: boolean } | null {
  const s = str(ctx.argv[i]);
  const ex = s.length > 1 && s[0] === "(";
  const p = parseId(ex ? s.slice(1) : s, missingSeq, ex);
  if (!p) { ctx.reply.error(ERR_INVALID_ID); return null; }
  return { id: p.id, ex };
}

function replyId(reply: ReplyWriter, id: StreamID): void { reply.bulk(idString(id)); }

function replyEntry(reply: ReplyWriter, s: StreamValue, e: StreamEntry): void {
  reply.arrayLen(2);
  replyId(reply, e.id);
  const f = s.fields(e);
  reply.arrayLen(f.length);
  for (const x of f) reply.bulk(x);
}

// ---- XADD / XTRIM -------------------------------------------------------------------------------

interface AddTrimArgs extends TrimArgs {
  /** Index of the trim value argument (MAXLEN/MINID's count or id). */
  trimArgIdx: number;
  noMkstream: boolean;
  id: StreamID | null;
  seqGiven: boolean;
  /** Index of the ID argument (XADD). */
  idPos: number;
}

/** streamParseAddOrTrimArgsOrReply; null after replying an error. */
function parseAddTrimArgs(ctx: CommandContext, xadd: boolean): AddTrimArgs | null {
  const { argv, reply } = ctx;
  const a: AddTrimArgs = {
    strategy: TRIM_NONE, approx: false, limit: 0, maxlen: 0, minid: { ms: 0n, seq: 0n },
    trimArgIdx: 0, noMkstream: false, id: null, seqGiven: true, idPos: 0,
  };
  let limitGiven = false;
  let i = 2;
  for (; i < argv.length; i++) {
    const moreargs = argv.length - 1 - i;
    const opt = str(argv[i]);
    const lower = opt.toLowerCase();
    if (xadd && opt === "*") {
      break;
    } else if ((lower === "maxlen" || lower === "minid") && moreargs) {
      if (a.strategy !== TRIM_NONE) {
        reply.error("syntax error, MAXLEN and MINID options at the same time are not compatible");
        return null;
      }
      a.approx = false;
      const next = str(argv[i + 1]);
      if (moreargs >= 2 && next === "~") { a.approx = true; i++; } else if (moreargs >= 2 && next === "=") i++;
      if (lower === "maxlen") {
        const v = llOrReply(ctx, i + 1);
        if (v === null) return null;
        if (v < 0) { reply.error("The MAXLEN argument must be >= 0."); return null; }
        a.maxlen = v;
        a.strategy = TRIM_MAXLEN;
      } else {
        const id = idOrReply(ctx, i + 1, 0n, true);
        if (!id) return null;
        a.minid = id;
        a.strategy = TRIM_MINID;
      }
      i++;
      a.trimArgIdx = i;
    } else if (lower === "limit" && moreargs) {
      const v = llOrReply(ctx, i + 1);
      if (v === null) return null;
      if (v < 0) { reply.error("The LIMIT argument must be >= 0."); return null; }
      a.limit = v;
      limitGiven = true;
      i++;
    } else if (xadd && lower === "nomkstream") {
      a.noMkstream = true;
    } else if (xadd) {
      const p = parseId(opt, 0n, true, true);
      if (!p) { reply.error(ERR_INVALID_ID); return null; }
      a.id = p.id;
      a.seqGiven = p.seqGiven;
      break;
    } else {
      reply.error(ERR.syntax);
      return null;
    }
  }
  a.idPos = i;
  if (a.limit && a.strategy === TRIM_NONE) {
    reply.error("syntax error, LIMIT cannot be used without specifying a trimming strategy");
    return null;
  }
  if (!xadd && a.strategy === TRIM_NONE) {
    reply.error("syntax error, XTRIM must be called with a trimming strategy");
    return null;
  }
  if (mustObeyClient(ctx)) {
    // The master's stream or the AOF: the trim argument was rewritten to an exact one
    // (rewriteApproxTrim) and is applied whole, LIMIT or not.
    a.limit = 0;
  } else if (limitGiven) {
    if (!a.approx) {
      reply.error("syntax error, LIMIT cannot be used without the special ~ option");
      return null;
    }
  } else if (a.approx) {
    a.limit = 100 * ctx.server.config.getNumber("stream-node-max-entries");
    if (a.limit <= 0) a.limit = 10000;
    if (a.limit > 1000000) a.limit = 1000000;
  } else {
    a.limit = 0;
  }
  return a;
}

/** Redis's mustObeyClient: the client replaying the AOF, or this replica's master. */
function mustObeyClient(ctx: CommandContext): boolean {
  if (ctx.client.replaysAof) return true;
  const link = replicationOf(ctx.server).link;
  return link !== null && link !== undefined && link.isMasterClient(ctx.client);
}

/**
 * streamRewriteTrimArgument: "~ n" is propagated as "= <what the stream now is>": its length,
 * or its first entry's ID (deleted or not; the maximum ID once it is empty, so a replica's
 * exact trim empties it too, where 0-0 trimmed nothing).
 */
function rewriteApproxTrim(argv: Buffer[], s: StreamValue, a: AddTrimArgs): void {
  argv[a.trimArgIdx - 1] = b("=");
  if (a.strategy === TRIM_MAXLEN) argv[a.trimArgIdx] = b(String(s.length));
  else argv[a.trimArgIdx] = b(idString(s.firstEdgeId()));
}

function xadd(ctx: CommandContext): void {
  const { argv, reply, server } = ctx;
  const a = parseAddTrimArgs(ctx, true);
  if (!a) return;
  const fieldPos = a.idPos + 1;
  if (argv.length - fieldPos < 2 || (argv.length - fieldPos) % 2 === 1) {
    return reply.error(`wrong number of arguments for 'xadd' command`);
  }
  if (a.id && a.seqGiven && isZeroId(a.id)) return reply.error("The ID specified in XADD must be greater than 0-0");
  const ks = server.types, db = ctx.client.db, key = argv[1];
  let s = writeStream(ctx, key);
  let created = false;
  if (!s) {
    if (a.noMkstream) return reply.nullBulk();
    s = new StreamValue();
    created = true;
  }
  if (s.lastId.ms === U64_MAX && s.lastId.seq === U64_MAX) {
    return reply.error("The stream has exhausted the last possible ID, unable to add more items");
  }
  // streamAppendItem's ID choice.
  let id: StreamID | null;
  if (a.id) {
    if (a.seqGiven) id = a.id;
    else if (s.lastId.ms === a.id.ms) id = s.lastId.seq === U64_MAX ? null : { ms: a.id.ms, seq: s.lastId.seq + 1n };
    else id = a.id;
  } else {
    const ms = BigInt(server.now());
    id = ms > s.lastId.ms ? { ms, seq: 0n } : incrId(s.lastId);
  }
  if (!id || cmpId(id, s.lastId) <= 0) {
    return reply.error("The ID specified in XADD is equal or smaller than the target stream top item");
  }
  if (created) ks.add(db, key, s);
  const lim = nodeLimits(server);
  s.append(id, argv.slice(fieldPos), lim.entries, lim.bytes);
  const idStr = idString(id);
  reply.bulk(idStr);
  const prop = argv.slice();
  let trimmed = false;
  if (a.strategy !== TRIM_NONE) {
    trimmed = s.trim(a) > 0;
    if (a.approx) rewriteApproxTrim(prop, s, a);
  }
  if (!a.id || !a.seqGiven) prop[a.idPos] = b(idStr);
  // One XADD propagates; the notifier raises "xadd" and, when entries went, "xtrim".
  ks.propagate(db, prop, trimmed ? EFFECT_HINT_XADD_TRIMMED : undefined);
  server.blocking.signalKeyAsReady(db, key);
}

function xtrim(ctx: CommandContext): void {
  const { argv, reply } = ctx;
  const a = parseAddTrimArgs(ctx, false);
  if (!a) return;
  const s = writeStream(ctx, argv[1]);
  if (!s) return reply.integer(0);
  const deleted = s.trim(a);
  if (deleted) {
    const prop = argv.slice();
    if (a.approx) rewriteApproxTrim(prop, s, a);
    ctx.server.types.propagate(ctx.client.db, prop);
  }
  reply.integer(deleted);
}

// ---- reads ------------------------------------------------------------------------------------

function xrangeGeneric(ctx: CommandContext, rev: boolean): void {
  const { argv, reply } = ctx;
  const startIdx = rev ? 3 : 2, endIdx = rev ? 2 : 3;
  const st = intervalIdOrReply(ctx, startIdx, 0n);
  if (!st) return;
  let start: StreamID | null = st.id;
  if (st.ex && !(start = incrId(start))) return reply.error("invalid start ID for the interval");
  const en = intervalIdOrReply(ctx, endIdx, U64_MAX);
  if (!en) return;
  let end: StreamID | null = en.id;
  if (en.ex && !(end = decrId(end))) return reply.error("invalid end ID for the interval");
  let count = -1;
  for (let j = 4; j < argv.length; j++) {
    const additional = argv.length - j - 1;
    if (str(argv[j]).toLowerCase() === "count" && additional >= 1) {
      const c = llOrReply(ctx, j + 1);
      if (c === null) return;
      count = c < 0 ? 0 : c;
      j++;
    } else {
      return reply.error(ERR.syntax);
    }
  }
  const s = readStream(ctx, argv[1]);
  if (!s) return reply.arrayLen(0);
  if (count === 0) return reply.nullArray();
  replyRange(reply, s, start, end, count === -1 ? 0 : count, rev);
}

/** streamReplyWithRange without a group: an array of [id, [field, value...]]. */
function replyRange(reply: ReplyWriter, s: StreamValue, start: StreamID, end: StreamID, count: number, rev: boolean): number {
  const items = [];
  for (const e of s.range(start, end, rev)) {
    items.push(e);
    if (count && items.length === count) break;
  }
  reply.arrayLen(items.length);
  for (const e of items) replyEntry(reply, s, e);
  return items.length;
}

function xlen(ctx: CommandContext): void {
  const s = readStream(ctx, ctx.argv[1]);
  ctx.reply.integer(s ? s.length : 0);
}

// ---- consumer-group reads (streamReplyWithRange with a group) ------------------------------------

interface GroupRead {
  key: Buffer;
  groupName: Buffer;
  group: ConsumerGroup;
  consumer: Consumer;
  noack: boolean;
}

/** streamPropagateXCLAIM: the pending entry as an idempotent XCLAIM. */
function propagateXclaim(ctx: { server: Server; db: number }, key: Buffer, groupName: Buffer, group: ConsumerGroup, id: Buffer, nack: Nack): void {
  ctx.server.types.propagate(ctx.db, [
    b("XCLAIM"), key, groupName, b(nack.consumer ? nack.consumer.name : ""), b("0"), id,
    b("TIME"), b(String(nack.deliveryTime)), b("RETRYCOUNT"), b(String(nack.deliveryCount)),
    b("FORCE"), b("JUSTID"), b("LASTID"), b(idString(group.lastId)),
  ]);
}

function propagateGroupId(ctx: { server: Server; db: number }, key: Buffer, groupName: Buffer, group: ConsumerGroup): void {
  ctx.server.types.propagate(ctx.db, [
    b("XGROUP"), b("SETID"), key, groupName, b(idString(group.lastId)), b("ENTRIESREAD"), b(String(group.entriesRead)),
  ]);
}

/**
 * streamReplyWithRange with a group and consumer: new entries after `start`, advancing the
 * group's last ID and read counter and creating pending entries (unless NOACK).
 */
function replyGroupRange(env: { server: Server; db: number }, reply: ReplyWriter, s: StreamValue, start: StreamID,
                         count: number, r: GroupRead): number {
  const now = env.server.now();
  const items = [];
  for (const e of s.range(start, MAX_ID)) {
    items.push(e);
    if (count && items.length === count) break;
  }
  reply.arrayLen(items.length);
  let propagateLastId = false;
  const g = r.group;
  for (const e of items) {
    const id = e.id;
    if (cmpId(id, g.lastId) > 0) {
      if (g.entriesRead !== INVALID_ENTRIES_READ && !s.rangeHasTombstones(id, null)) g.entriesRead++;
      else if (s.entriesAdded) g.entriesRead = s.estimateDistanceFromFirstEverEntry(id);
      g.lastId = id;
      if (r.noack) propagateLastId = true;
    }
    replyEntry(reply, s, e);
    if (!r.noack) {
      let nack: Nack = { deliveryTime: now, deliveryCount: 1, consumer: r.consumer };
      if (!g.pel.tryInsert(id, nack)) {
        nack = g.pel.get(id)!;
        nack.consumer?.pel.delete(id);
        nack.consumer = r.consumer;
        nack.deliveryTime = now;
        nack.deliveryCount = 1;
      }
      r.consumer.pel.set(id, nack);
      propagateXclaim(env, r.key, r.groupName, g, b(idString(id)), nack);
    }
  }
  if (propagateLastId) propagateGroupId(env, r.key, r.groupName, g);
  return items.length;
}

/** streamReplyWithRangeFromConsumerPEL: the consumer's own history from `start`. */
function replyConsumerHistory(server: Server, reply: ReplyWriter, s: StreamValue, start: StreamID, count: number, c: Consumer): void {
  const now = server.now();
  const pel = c.pel;
  const first = pel.lowerBound(start);
  const n = count ? Math.min(count, pel.size - first) : pel.size - first;
  reply.arrayLen(Math.max(0, n));
  for (let i = first; i < first + n; i++) {
    const id = pel.ids[i];
    const e = s.find(id);
    if (!e) {
      reply.arrayLen(2);
      replyId(reply, id);
      reply.nullArray();
    } else {
      replyEntry(reply, s, e);
      const nack = pel.vals[i];
      nack.deliveryTime = now;
      nack.deliveryCount++;
    }
  }
}

/** streamLookupConsumer / streamCreateConsumer (with NOACK's propagated creation). */
function lookupOrCreateConsumer(env: { server: Server; db: number }, g: ConsumerGroup, name: string, key: Buffer,
                                groupName: Buffer, noack: boolean): Consumer {
  const now = env.server.now();
  let c = g.consumers.get(name);
  if (c) { c.seenTime = now; return c; }
  c = new Consumer(name, now);
  g.consumers.set(name, c);
  // streamCreateConsumer notifies xgroup-createconsumer; with NOACK the creation is also
  // propagated, and the notifier raises the event from that effect.
  if (noack) env.server.types.propagate(env.db, [b("XGROUP"), b("CREATECONSUMER"), key, groupName, b(name)]);
  else env.server.pubsub.notifier.notify(NOTIFY_STREAM, "xgroup-createconsumer", key, env.db);
  return c;
}

function xread(ctx: CommandContext, xreadgroup: boolean): void {
  const { argv, reply, server } = ctx;
  const name = str(argv[0]).toLowerCase();
  let timeout = -1;
  let count = 0;
  let streamsArg = 0, streamsCount = 0;
  let noack = false;
  let groupName: Buffer | null = null, consumerName: Buffer | null = null;
  const inScript = server.blocking.denied(ctx.client) && !ctx.client.denyBlocking;
  for (let i = 1; i < argv.length; i++) {
    const moreargs = argv.length - i - 1;
    const o = str(argv[i]).toLowerCase();
    if (o === "block" && moreargs) {
      if (inScript) return reply.error(`${name} command is not allowed with BLOCK option from scripts`);
      i++;
      // getTimeoutFromObjectOrReply(UNIT_MILLISECONDS): an integer of milliseconds.
      const t = llOrReply(ctx, i, "timeout is not an integer or out of range");
      if (t === null) return;
      if (t < 0) return reply.error("timeout is negative");
      timeout = t;
    } else if (o === "count" && moreargs) {
      i++;
      const c = llOrReply(ctx, i);
      if (c === null) return;
      count = c < 0 ? 0 : c;
    } else if (o === "streams" && moreargs) {
      streamsArg = i + 1;
      streamsCount = argv.length - streamsArg;
      if (streamsCount % 2 !== 0) {
        return reply.error("Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
      }
      streamsCount /= 2;
      break;
    } else if (o === "group" && moreargs >= 2) {
      if (!xreadgroup) return reply.error("The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
      groupName = argv[i + 1];
      consumerName = argv[i + 2];
      i += 2;
    } else if (o === "noack") {
      if (!xreadgroup) return reply.error("The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
      noack = true;
    } else {
      return reply.error(ERR.syntax);
    }
  }
  if (streamsArg === 0) return reply.error(ERR.syntax);
  if (xreadgroup && !groupName) return reply.error("Missing GROUP option for XREADGROUP");

  const keys = argv.slice(streamsArg, streamsArg + streamsCount);
  const ids: StreamID[] = [];
  const groups: ConsumerGroup[] = [];
  for (let k = 0; k < streamsCount; k++) {
    const key = keys[k];
    const s = readStream(ctx, key);
    if (groupName) {
      const g = s?.groups.get(str(groupName));
      if (!s || !g) {
        return reply.error(`-NOGROUP No such key '${str(key)}' or consumer group '${str(groupName)}' in XREADGROUP with GROUP option`);
      }
      groups.push(g);
    }
    const a = str(argv[streamsArg + streamsCount + k]);
    if (a === "$") {
      if (xreadgroup) {
        return reply.error("The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.");
      }
      ids.push(s ? s.lastId : { ms: 0n, seq: 0n });
      continue;
    }
    if (a === ">") {
      if (!xreadgroup) return reply.error("The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.");
      ids.push(MAX_ID);
      continue;
    }
    const p = parseId(a, 0n, true);
    if (!p) return reply.error(ERR_INVALID_ID);
    ids.push(p.id);
  }

  // Serve synchronously what can be served.
  const env = { server, db: ctx.client.db };
  const served: { k: number; s: StreamValue; gt: StreamID; history: boolean }[] = [];
  for (let k = 0; k < streamsCount; k++) {
    const s = readStream(ctx, keys[k]);
    if (!s) continue;
    const gt = ids[k];
    if (groupName) {
      if (cmpId(gt, MAX_ID) !== 0) served.push({ k, s, gt, history: true });
      else if (s.length && cmpId(s.lastValidId(), groups[k].lastId) > 0) served.push({ k, s, gt: groups[k].lastId, history: false });
    } else if (s.length && cmpId(s.lastValidId(), gt) > 0) {
      served.push({ k, s, gt, history: false });
    }
  }
  if (served.length) {
    if (reply.resp === 2) reply.arrayLen(served.length); else reply.mapLen(served.length);
    for (const { k, s, gt, history } of served) {
      const start = incrId(gt) ?? { ms: 0n, seq: 0n };
      if (reply.resp === 2) reply.arrayLen(2);
      reply.bulk(keys[k]);
      if (groupName) {
        const g = groups[k];
        const c = lookupOrCreateConsumer(env, g, str(consumerName!), keys[k], groupName, noack);
        if (history) replyConsumerHistory(server, reply, s, start, count, c);
        else replyGroupRange(env, reply, s, start, count, { key: keys[k], groupName, group: g, consumer: c, noack });
      } else {
        replyRange(reply, s, start, MAX_ID, count, false);
      }
    }
    return;
  }
  if (timeout === -1) return reply.nullArray();
  if (server.blocking.denied(ctx.client)) return reply.nullArray();
  const blockCount = count || XREAD_BLOCKED_DEFAULT_COUNT;
  const db = ctx.client.db;
  // An error served to a blocked client counts as the blocked command failing (updateStatsOnUnblock).
  const failServed = (out: ReplyWriter, msg: string) => {
    out.error(msg);
    server.countError(out.lastErrorCode);
    ctx.spec.failedCalls++;
  };
  const idOf = new Map<string, StreamID>();
  keys.forEach((k, i) => { if (!idOf.has(str(k))) idOf.set(str(k), ids[i]); });
  server.blocking.block({
    client: ctx.client, db, keys, type: OBJ_STREAM,
    timeoutAt: timeout > 0 ? server.now() + timeout : 0,
    serve: () => {},
    tryServe: (key, out) => {
      let s: StreamValue | null;
      try {
        s = server.types.lookupWrite<StreamValue>(db, key, OBJ_STREAM);
      } catch (e) {
        if (!(e instanceof WrongTypeError)) throw e;
        s = null;
        if (!groupName) return false;
      }
      if (!s) {
        if (!groupName) return false;
        failServed(out, "-UNBLOCKED the stream key no longer exists");
        return true;
      }
      let gt = idOf.get(str(key))!;
      let g: ConsumerGroup | undefined;
      if (groupName) {
        g = s.groups.get(str(groupName));
        if (!g) {
          failServed(out, "-NOGROUP the consumer group this client was blocked on no longer exists");
          return true;
        }
        gt = g.lastId;
      }
      if (cmpId(s.lastId, gt) <= 0) return false;
      const start = incrId(gt)!;
      // Only reply when there is something to deliver (deleted entries are not news).
      if (s.range(start, MAX_ID).next().done) return false;
      if (out.resp === 2) { out.arrayLen(1); out.arrayLen(2); } else out.mapLen(1);
      out.bulk(key);
      if (g) {
        const c = lookupOrCreateConsumer(env, g, str(consumerName!), key, groupName!, noack);
        replyGroupRange(env, out, s, start, blockCount, { key, groupName: groupName!, group: g, consumer: c, noack });
      } else {
        replyRange(out, s, start, MAX_ID, blockCount, false);
      }
      return true;
    },
  });
}

// ---- XDEL / XSETID -----------------------------------------------------------------------------

function xdel(ctx: CommandContext): void {
  const { argv, reply } = ctx;
  const s = writeStream(ctx, argv[1]);
  if (!s) return reply.integer(0);
  const ids: StreamID[] = [];
  for (let j = 2; j < argv.length; j++) {
    const id = idOrReply(ctx, j, 0n, true);
    if (!id) return;
    ids.push(id);
  }
  let deleted = 0;
  let firstEntry = false;
  for (const id of ids) {
    if (s.deleteId(id)) {
      if (cmpId(id, s.firstId) === 0) firstEntry = true;
      deleted++;
    }
  }
  if (deleted) {
    if (s.length === 0) s.firstId = { ms: 0n, seq: 0n };
    else if (firstEntry) s.refreshFirstId();
    ctx.server.types.propagate(ctx.client.db, argv);
  }
  reply.integer(deleted);
}

function xsetid(ctx: CommandContext): void {
  const { argv, reply } = ctx;
  const id = idOrReply(ctx, 2, 0n, true);
  if (!id) return;
  let entriesAdded = -1;
  let maxXdel: StreamID = { ms: 0n, seq: 0n };
  for (let i = 3; i < argv.length;) {
    const moreargs = argv.length - 1 - i;
    const opt = str(argv[i]).toLowerCase();
    if (opt === "entriesadded" && moreargs) {
      const v = llOrReply(ctx, i + 1);
      if (v === null) return;
      if (v < 0) return reply.error("entries_added must be positive");
      entriesAdded = v;
      i += 2;
    } else if (opt === "maxdeletedid" && moreargs) {
      const m = idOrReply(ctx, i + 1, 0n, true);
      if (!m) return;
      if (cmpId(id, m) < 0) return reply.error("The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
      maxXdel = m;
      i += 2;
    } else {
      return reply.error(ERR.syntax);
    }
  }
  const s = writeStream(ctx, argv[1]);
  if (!s) return reply.error("no such key");
  if (s.length > 0) {
    if (cmpId(id, s.lastValidId()) < 0) return reply.error("The ID specified in XSETID is smaller than the target stream top item");
    if (entriesAdded !== -1 && s.length > entriesAdded) {
      return reply.error("The entries_added specified in XSETID is smaller than the target stream length");
    }
  }
  s.lastId = id;
  if (entriesAdded !== -1) s.entriesAdded = entriesAdded;
  if (!isZeroId(maxXdel)) s.maxDeletedId = maxXdel;
  reply.ok();
  ctx.server.types.propagate(ctx.client.db, argv);
}

// ---- XGROUP ------------------------------------------------------------------------------------

interface GroupCmd { s: StreamValue | null; g: ConsumerGroup | undefined; mkstream: boolean; entriesRead: number }

/** xgroupCommand's common part: options, key and group lookups; null after replying. */
function xgroupPrepare(ctx: CommandContext, sub: string): GroupCmd | null {
  const { argv, reply } = ctx;
  let mkstream = false;
  let entriesRead = INVALID_ENTRIES_READ;
  for (let i = 5; i < argv.length;) {
    const o = str(argv[i]).toLowerCase();
    if (sub === "create" && o === "mkstream") {
      mkstream = true;
      i++;
    } else if ((sub === "create" || sub === "setid") && o === "entriesread" && i + 1 < argv.length) {
      const v = llOrReply(ctx, i + 1);
      if (v === null) return null;
      if (v < 0 && v !== INVALID_ENTRIES_READ) { reply.error("value for ENTRIESREAD must be positive or -1"); return null; }
      entriesRead = v;
      i += 2;
    } else {
      reply.error(`unknown subcommand or wrong number of arguments for '${str(argv[1])}'. Try XGROUP HELP.`);
      return null;
    }
  }
  const s = writeStream(ctx, argv[2]);
  let g: ConsumerGroup | undefined;
  if (!mkstream) {
    if (!s) {
      reply.error("The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.");
      return null;
    }
    g = s.groups.get(str(argv[3]));
    if (!g && (sub === "setid" || sub === "createconsumer" || sub === "delconsumer")) {
      reply.error(`-NOGROUP No such consumer group '${str(argv[3])}' for key name '${str(argv[2])}'`);
      return null;
    }
  }
  return { s, g, mkstream, entriesRead };
}

function xgroupCreate(ctx: CommandContext): void {
  const { argv, reply, server } = ctx;
  if (argv.length > 8) return reply.error(`unknown subcommand or wrong number of arguments for '${str(argv[1])}'. Try XGROUP HELP.`);
  const p = xgroupPrepare(ctx, "create");
  if (!p) return;
  let s = p.s;
  let id: StreamID;
  if (str(argv[4]) === "$") id = s ? s.lastId : { ms: 0n, seq: 0n };
  else {
    const x = idOrReply(ctx, 4, 0n, true);
    if (!x) return;
    id = x;
  }
  if (!s) {
    s = new StreamValue();
    server.types.add(ctx.client.db, argv[2], s);
  }
  const name = str(argv[3]);
  if (s.groups.has(name)) return reply.error("-BUSYGROUP Consumer Group name already exists");
  s.groups.set(name, new ConsumerGroup(id, p.entriesRead));
  reply.ok();
  server.types.propagate(ctx.client.db, argv);
}

function xgroupSetid(ctx: CommandContext): void {
  const { argv, reply } = ctx;
  if (argv.length !== 5 && argv.length !== 7) return reply.error(`unknown subcommand or wrong number of arguments for '${str(argv[1])}'. Try XGROUP HELP.`);
  const p = xgroupPrepare(ctx, "setid");
  if (!p) return;
  let id: StreamID;
  if (str(argv[4]) === "$") id = p.s!.lastId;
  else {
    const x = idOrReply(ctx, 4, 0n, false);
    if (!x) return;
    id = x;
  }
  p.g!.lastId = id;
  p.g!.entriesRead = p.entriesRead;
  reply.ok();
  ctx.server.types.propagate(ctx.client.db, argv);
}

function xgroupDestroy(ctx: CommandContext): void {
  const p = xgroupPrepare(ctx, "destroy");
  if (!p) return;
  if (!p.g) return ctx.reply.integer(0);
  p.s!.groups.delete(str(ctx.argv[3]));
  ctx.reply.integer(1);
  ctx.server.types.propagate(ctx.client.db, ctx.argv);
  ctx.server.blocking.signalKeyAsReady(ctx.client.db, ctx.argv[2]);
}

function xgroupCreateConsumer(ctx: CommandContext): void {
  const p = xgroupPrepare(ctx, "createconsumer");
  if (!p) return;
  const name = str(ctx.argv[4]);
  if (p.g!.consumers.has(name)) return ctx.reply.integer(0);
  p.g!.consumers.set(name, new Consumer(name, ctx.server.now()));
  ctx.reply.integer(1);
  ctx.server.types.propagate(ctx.client.db, ctx.argv);
}

function xgroupDelConsumer(ctx: CommandContext): void {
  const p = xgroupPrepare(ctx, "delconsumer");
  if (!p) return;
  const c = p.g!.consumers.get(str(ctx.argv[4]));
  let pending = 0;
  if (c) {
    pending = c.pel.size;
    p.g!.deleteConsumer(c);
    ctx.server.types.propagate(ctx.client.db, ctx.argv);
  }
  ctx.reply.integer(pending);
}

const XGROUP_HELP = [
  "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CREATE <key> <groupname> <id|$> [option]",
  "    Create a new consumer group. Options are:",
  "    * MKSTREAM",
  "      Create the empty stream if it does not exist.",
  "    * ENTRIESREAD entries_read",
  "      Set the group's entries_read counter (internal use).",
  "CREATECONSUMER <key> <groupname> <consumer>",
  "    Create a new consumer in the specified group.",
  "DELCONSUMER <key> <groupname> <consumer>",
  "    Remove the specified consumer.",
  "DESTROY <key> <groupname>",
  "    Remove the specified group.",
  "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
  "    Set the current group ID and entries_read counter.",
  "HELP",
  "    Prints this help.",
];

const XINFO_HELP = [
  "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
  "CONSUMERS <key> <groupname>",
  "    Show consumers of <groupname>.",
  "GROUPS <key>",
  "    Show the stream consumer groups.",
  "STREAM <key> [FULL [COUNT <count>]",
  "    Show information about the stream.",
  "HELP",
  "    Prints this help.",
];

function replyHelp(reply: ReplyWriter, lines: string[]): void {
  reply.arrayLen(lines.length);
  for (const l of lines) reply.status(l);
}

// ---- XACK / XPENDING / XCLAIM / XAUTOCLAIM ---------------------------------------------------------

function xack(ctx: CommandContext): void {
  const { argv, reply } = ctx;
  const s = readStream(ctx, argv[1]);
  const g = s?.groups.get(str(argv[2]));
  if (!s || !g) return reply.integer(0);
  const ids: StreamID[] = [];
  for (let j = 3; j < argv.length; j++) {
    const id = idOrReply(ctx, j, 0n, true);
    if (!id) return;
    ids.push(id);
  }
  let acked = 0;
  for (const id of ids) {
    const nack = g.pel.get(id);
    if (!nack) continue;
    g.pel.delete(id);
    nack.consumer?.pel.delete(id);
    acked++;
  }
  if (acked) ctx.server.types.propagate(ctx.client.db, argv);
  reply.integer(acked);
}

function xpending(ctx: CommandContext): void {
  const { argv, reply, server } = ctx;
  const justinfo = argv.length === 3;
  if (argv.length !== 3 && (argv.length < 6 || argv.length > 9)) return reply.error(ERR.syntax);
  let start: StreamID | null = null, end: StreamID | null = null;
  let count = 0, minidle = 0;
  let consumerName: Buffer | null = null;
  if (argv.length >= 6) {
    let startidx = 3;
    if (str(argv[3]).toLowerCase() === "idle") {
      const v = llOrReply(ctx, 4);
      if (v === null) return;
      minidle = v;
      if (argv.length < 8) return reply.error(ERR.syntax);
      startidx += 2;
    }
    const c = llOrReply(ctx, startidx + 2);
    if (c === null) return;
    count = c < 0 ? 0 : c;
    const st = intervalIdOrReply(ctx, startidx, 0n);
    if (!st) return;
    start = st.id;
    if (st.ex && !(start = incrId(start))) return reply.error("invalid start ID for the interval");
    const en = intervalIdOrReply(ctx, startidx + 1, U64_MAX);
    if (!en) return;
    end = en.id;
    if (en.ex && !(end = decrId(end))) return reply.error("invalid end ID for the interval");
    if (startidx + 3 < argv.length) consumerName = argv[startidx + 3];
  }
  const s = readStream(ctx, argv[1]);
  const g = s?.groups.get(str(argv[2]));
  if (!s || !g) return reply.error(`-NOGROUP No such key '${str(argv[1])}' or consumer group '${str(argv[2])}'`);
  if (justinfo) {
    reply.arrayLen(4);
    reply.integer(g.pel.size);
    if (g.pel.size === 0) {
      reply.nullBulk();
      reply.nullBulk();
      reply.nullArray();
      return;
    }
    replyId(reply, g.pel.ids[0]);
    replyId(reply, g.pel.ids[g.pel.size - 1]);
    const withPending = g.sortedConsumers().filter((c) => c.pel.size > 0);
    reply.arrayLen(withPending.length);
    for (const c of withPending) {
      reply.arrayLen(2);
      reply.bulk(b(c.name));
      reply.bulk(String(c.pel.size));
    }
    return;
  }
  let pel = g.pel;
  if (consumerName) {
    const c = g.consumers.get(str(consumerName));
    if (!c) return reply.arrayLen(0);
    pel = c.pel;
  }
  const now = server.now();
  const rows: number[] = [];
  for (let i = pel.lowerBound(start!); count && i < pel.size && cmpId(pel.ids[i], end!) <= 0; i++) {
    if (minidle && now - pel.vals[i].deliveryTime < minidle) continue;
    rows.push(i);
    count--;
  }
  reply.arrayLen(rows.length);
  for (const i of rows) {
    const nack = pel.vals[i];
    reply.arrayLen(4);
    replyId(reply, pel.ids[i]);
    reply.bulk(b(nack.consumer?.name ?? ""));
    reply.integer(Math.max(0, now - nack.deliveryTime));
    reply.integer(nack.deliveryCount);
  }
}

function xclaim(ctx: CommandContext): void {
  const { argv, reply, server } = ctx;
  const s = readStream(ctx, argv[1]);
  const g = s?.groups.get(str(argv[2]));
  if (!s || !g) return reply.error(`-NOGROUP No such key '${str(argv[1])}' or consumer group '${str(argv[2])}'`);
  let minidle = llOrReply(ctx, 4, "Invalid min-idle-time argument for XCLAIM");
  if (minidle === null) return;
  if (minidle < 0) minidle = 0;
  const ids: StreamID[] = [];
  let j = 5;
  for (; j < argv.length; j++) {
    const p = parseId(str(argv[j]), 0n, true);
    if (!p) break;
    ids.push(p.id);
  }
  const lastIdArg = j - 1;
  const now = server.now();
  let lastId: StreamID = { ms: 0n, seq: 0n };
  let retrycount = -1, deliverytime = -1;
  let force = false, justid = false;
  for (; j < argv.length; j++) {
    const moreargs = argv.length - 1 - j;
    const opt = str(argv[j]).toLowerCase();
    if (opt === "force") force = true;
    else if (opt === "justid") justid = true;
    else if (opt === "idle" && moreargs) {
      j++;
      const v = llOrReply(ctx, j, "Invalid IDLE option argument for XCLAIM");
      if (v === null) return;
      deliverytime = now - v;
    } else if (opt === "time" && moreargs) {
      j++;
      const v = llOrReply(ctx, j, "Invalid TIME option argument for XCLAIM");
      if (v === null) return;
      deliverytime = v;
    } else if (opt === "retrycount" && moreargs) {
      j++;
      const v = llOrReply(ctx, j, "Invalid RETRYCOUNT option argument for XCLAIM");
      if (v === null) return;
      retrycount = v;
    } else if (opt === "lastid" && moreargs) {
      j++;
      const id = idOrReply(ctx, j, 0n, true);
      if (!id) return;
      lastId = id;
    } else {
      return reply.error(`Unrecognized XCLAIM option '${str(argv[j])}'`);
    }
  }
  let propagateLastId = false;
  if (cmpId(lastId, g.lastId) > 0) {
    g.lastId = lastId;
    propagateLastId = true;
  }
  if (deliverytime !== -1) {
    if (deliverytime < 0 || deliverytime > now) deliverytime = now;
  } else {
    deliverytime = now;
  }
  const env = { server, db: ctx.client.db };
  const name = str(argv[3]);
  let consumer: Consumer | null = null;
  const out: (() => void)[] = [];
  for (let k = 5; k <= lastIdArg; k++) {
    const id = ids[k - 5];
    let nack = g.pel.get(id);
    const entry = s.find(id);
    if (!entry) {
      if (nack) {
        propagateXclaim(env, argv[1], argv[2], g, argv[k], nack);
        propagateLastId = false;
        g.pel.delete(id);
        nack.consumer?.pel.delete(id);
      }
      continue;
    }
    if (force && !nack) {
      nack = { deliveryTime: now, deliveryCount: 1, consumer: null };
      g.pel.tryInsert(id, nack);
    }
    if (!nack) continue;
    if (nack.consumer && minidle && now - nack.deliveryTime < minidle) continue;
    consumer ??= lookupOrCreateConsumer(env, g, name, argv[1], argv[2], false);
    if (nack.consumer !== consumer) nack.consumer?.pel.delete(id);
    nack.deliveryTime = deliverytime;
    if (retrycount >= 0) nack.deliveryCount = retrycount;
    else if (!justid) nack.deliveryCount++;
    if (nack.consumer !== consumer) {
      consumer.pel.set(id, nack);
      nack.consumer = consumer;
    }
    out.push(justid ? () => replyId(reply, id) : () => replyEntry(reply, s, entry));
    propagateXclaim(env, argv[1], argv[2], g, argv[k], nack);
    propagateLastId = false;
  }
  if (propagateLastId) propagateGroupId(env, argv[1], argv[2], g);
  reply.arrayLen(out.length);
  for (const f of out) f();
}

function xautoclaim(ctx: CommandContext): void {
  const { argv, reply, server } = ctx;
  let minidle = llOrReply(ctx, 4, "Invalid min-idle-time argument for XAUTOCLAIM");
  if (minidle === null) return;
  if (minidle < 0) minidle = 0;
  const st = intervalIdOrReply(ctx, 5, 0n);
  if (!st) return;
  let start: StreamID | null = st.id;
  if (st.ex && !(start = incrId(start))) return reply.error("invalid start ID for the interval");
  let count = 100;
  let justid = false;
  const maxCount = Math.floor(Number(0x7fffffffffffffffn / 16n));
  for (let j = 6; j < argv.length; j++) {
    const moreargs = argv.length - 1 - j;
    const opt = str(argv[j]).toLowerCase();
    if (opt === "count" && moreargs) {
      const v = parseInteger(argv[j + 1]);
      if (v === null || v < 1n || v > BigInt(maxCount)) return reply.error("COUNT must be > 0");
      count = Number(v);
      j++;
    } else if (opt === "justid") {
      justid = true;
    } else {
      return reply.error(ERR.syntax);
    }
  }
  const s = readStream(ctx, argv[1]);
  const g = s?.groups.get(str(argv[2]));
  if (!s || !g) return reply.error(`-NOGROUP No such key '${str(argv[1])}' or consumer group '${str(argv[2])}'`);
  const env = { server, db: ctx.client.db };
  const now = server.now();
  const name = str(argv[3]);
  let consumer: Consumer | null = null;
  let attempts = count * 10;
  const claimed: (() => void)[] = [];
  const deletedIds: StreamID[] = [];
  let i = g.pel.lowerBound(start);
  while (attempts-- > 0 && count && i < g.pel.size) {
    const id = g.pel.ids[i];
    const nack = g.pel.vals[i];
    const entry = s.find(id);
    if (!entry) {
      propagateXclaim(env, argv[1], argv[2], g, b(idString(id)), nack);
      g.pel.delete(id);
      nack.consumer?.pel.delete(id);
      deletedIds.push(id);
      count--;
      continue; // i now points at the next entry
    }
    i++;
    if (minidle && now - nack.deliveryTime < minidle) continue;
    consumer ??= lookupOrCreateConsumer(env, g, name, argv[1], argv[2], false);
    if (nack.consumer !== consumer) nack.consumer?.pel.delete(id);
    nack.deliveryTime = now;
    if (!justid) nack.deliveryCount++;
    if (nack.consumer !== consumer) {
      consumer.pel.set(id, nack);
      nack.consumer = consumer;
    }
    claimed.push(justid ? () => replyId(reply, id) : () => replyEntry(reply, s, entry));
    count--;
    propagateXclaim(env, argv[1], argv[2], g, b(idString(id)), nack);
  }
  reply.arrayLen(3);
  replyId(reply, i < g.pel.size ? g.pel.ids[i] : { ms: 0n, seq: 0n });
  reply.arrayLen(claimed.length);
  for (const f of claimed) f();
  reply.arrayLen(deletedIds.length);
  for (const id of deletedIds) replyId(reply, id);
}

// ---- XINFO ---------------------------------------------------------------------------------------

function xinfoLookup(ctx: CommandContext): StreamValue | null {
  const s = readStream(ctx, ctx.argv[2]);
  if (!s) ctx.reply.error("no such key");
  return s;
}

function replyLag(reply: ReplyWriter, s: StreamValue, g: ConsumerGroup): void {
  const lag = s.groupLag(g);
  if (lag === null) reply.nullBulk(); else reply.integer(lag);
}

function replyEntriesRead(reply: ReplyWriter, g: ConsumerGroup): void {
  if (g.entriesRead !== INVALID_ENTRIES_READ) reply.integer(g.entriesRead); else reply.nullBulk();
}

function xinfoStream(ctx: CommandContext): void {
  const { argv, reply } = ctx;
  const optc = argv.length - 3;
  let full = true;
  let count = 10;
  const syntax = () => reply.error(`unknown subcommand or wrong number of arguments for '${str(argv[1])}'. Try XINFO HELP.`);
  if (optc === 0) full = false;
  else {
    if (optc !== 1 && optc !== 3) return syntax();
    if (str(argv[3]).toLowerCase() !== "full") return syntax();
    if (optc === 3) {
      if (str(argv[4]).toLowerCase() !== "count") return syntax();
      const c = llOrReply(ctx, 5);
      if (c === null) return;
      count = c < 0 ? 10 : c;
    }
  }
  const s = xinfoLookup(ctx);
  if (!s) return;
  reply.mapLen(full ? 9 : 10);
  reply.bulk("length"); reply.integer(s.length);
  reply.bulk("radix-tree-keys"); reply.integer(s.nodes.length);
  reply.bulk("radix-tree-nodes"); reply.integer(s.nodes.length + 1);
  reply.bulk("last-generated-id"); replyId(reply, s.lastId);
  reply.bulk("max-deleted-entry-id"); replyId(reply, s.maxDeletedId);
  reply.bulk("entries-added"); reply.integer(s.entriesAdded);
  reply.bulk("recorded-first-entry-id"); replyId(reply, s.firstId);
  if (!full) {
    reply.bulk("groups"); reply.integer(s.groups.size);
    const first = s.range({ ms: 0n, seq: 0n }, MAX_ID).next();
    reply.bulk("first-entry");
    if (first.done) reply.nullBulk(); else replyEntry(reply, s, first.value);
    const last = s.range({ ms: 0n, seq: 0n }, MAX_ID, true).next();
    reply.bulk("last-entry");
    if (last.done) reply.nullBulk(); else replyEntry(reply, s, last.value);
    return;
  }
  reply.bulk("entries");
  replyRange(reply, s, { ms: 0n, seq: 0n }, MAX_ID, count, false);
  reply.bulk("groups");
  const groups = s.sortedGroups();
  reply.arrayLen(groups.length);
  for (const [name, g] of groups) {
    reply.mapLen(7);
    reply.bulk("name"); reply.bulk(b(name));
    reply.bulk("last-delivered-id"); replyId(reply, g.lastId);
    reply.bulk("entries-read"); replyEntriesRead(reply, g);
    reply.bulk("lag"); replyLag(reply, s, g);
    reply.bulk("pel-count"); reply.integer(g.pel.size);
    reply.bulk("pending");
    const np = count ? Math.min(count, g.pel.size) : g.pel.size;
    reply.arrayLen(np);
    for (let i = 0; i < np; i++) {
      const n = g.pel.vals[i];
      reply.arrayLen(4);
      replyId(reply, g.pel.ids[i]);
      reply.bulk(b(n.consumer?.name ?? ""));
      reply.integer(n.deliveryTime);
      reply.integer(n.deliveryCount);
    }
    reply.bulk("consumers");
    const consumers = g.sortedConsumers();
    reply.arrayLen(consumers.length);
    for (const c of consumers) {
      reply.mapLen(4);
      reply.bulk("name"); reply.bulk(b(c.name));
      reply.bulk("seen-time"); reply.integer(c.seenTime);
      reply.bulk("pel-count"); reply.integer(c.pel.size);
      reply.bulk("pending");
      const nc = count ? Math.min(count, c.pel.size) : c.pel.size;
      reply.arrayLen(nc);
      for (let i = 0; i < nc; i++) {
        const n = c.pel.vals[i];
        reply.arrayLen(3);
        replyId(reply, c.pel.ids[i]);
        reply.integer(n.deliveryTime);
        reply.integer(n.deliveryCount);
      }
    }
  }
}

function xinfoGroups(ctx: CommandContext): void {
  const s = xinfoLookup(ctx);
  if (!s) return;
  const { reply } = ctx;
  const groups = s.sortedGroups();
  reply.arrayLen(groups.length);
  for (const [name, g] of groups) {
    reply.mapLen(6);
    reply.bulk("name"); reply.bulk(b(name));
    reply.bulk("consumers"); reply.integer(g.consumers.size);
    reply.bulk("pending"); reply.integer(g.pel.size);
    reply.bulk("last-delivered-id"); replyId(reply, g.lastId);
    reply.bulk("entries-read"); replyEntriesRead(reply, g);
    reply.bulk("lag"); replyLag(reply, s, g);
  }
}

function xinfoConsumers(ctx: CommandContext): void {
  const s = xinfoLookup(ctx);
  if (!s) return;
  const { argv, reply } = ctx;
  const g = s.groups.get(str(argv[3]));
  if (!g) return reply.error(`-NOGROUP No such consumer group '${str(argv[3])}' for key name '${str(argv[2])}'`);
  const now = ctx.server.now();
  const consumers = g.sortedConsumers();
  reply.arrayLen(consumers.length);
  for (const c of consumers) {
    reply.mapLen(3);
    reply.bulk("name"); reply.bulk(b(c.name));
    reply.bulk("pending"); reply.integer(c.pel.size);
    reply.bulk("idle"); reply.integer(Math.max(0, now - c.seenTime));
  }
}

export function registerStreamCommands(t: CommandTable): void {
  installStreamCodec();
  const def = (name: string, fn: (ctx: CommandContext) => void) => t.define(name, typeCommand(fn));
  def("xadd", xadd);
  def("xtrim", xtrim);
  def("xlen", xlen);
  def("xrange", (ctx) => xrangeGeneric(ctx, false));
  def("xrevrange", (ctx) => xrangeGeneric(ctx, true));
  def("xdel", xdel);
  def("xsetid", xsetid);
  def("xread", (ctx) => xread(ctx, false));
  // What a consumer-group read or claim propagates (an XCLAIM per entry, XGROUP SETID, a
  // consumer's creation) is one MULTI/EXEC for the AOF and replicas when it is several commands.
  def("xreadgroup", (ctx) => { ctx.server.effects.groupRestOfCommand(); xread(ctx, true); });
  def("xack", xack);
  def("xpending", xpending);
  def("xclaim", (ctx) => { ctx.server.effects.groupRestOfCommand(); xclaim(ctx); });
  def("xautoclaim", (ctx) => { ctx.server.effects.groupRestOfCommand(); xautoclaim(ctx); });
  def("xgroup|create", xgroupCreate);
  def("xgroup|setid", xgroupSetid);
  def("xgroup|destroy", xgroupDestroy);
  def("xgroup|createconsumer", xgroupCreateConsumer);
  def("xgroup|delconsumer", xgroupDelConsumer);
  def("xgroup|help", (ctx) => replyHelp(ctx.reply, XGROUP_HELP));
  def("xinfo|stream", xinfoStream);
  def("xinfo|groups", xinfoGroups);
  def("xinfo|consumers", xinfoConsumers);
  def("xinfo|help", (ctx) => replyHelp(ctx.reply, XINFO_HELP));
}
