// List commands (Redis 7.0 t_list.c): LPUSH RPUSH LPUSHX RPUSHX LINSERT LLEN LINDEX LSET
// LPOP RPOP LRANGE LTRIM LPOS LREM LMOVE RPOPLPUSH LMPOP, and the blocking BLPOP BRPOP
// BLMOVE BRPOPLPUSH BLMPOP (which block through src/types/blocking.ts when nothing is there).
//
// Values are QuickLists (src/types/list.ts) reached through the host keyspace
// (src/types/keyspace.ts). Each handler follows t_list.c's order of checks (arguments,
// then key lookup and type, then the change), so the same input gives the same error.
// Writes are propagated as Redis propagates them (a blocking pop that did not block is
// an LPOP/RPOP/LMOVE), and a push signals the key as ready for blocked clients.
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { ERR, parseInteger, parseIntegerNumber } from "./context.js";
import type { ReplyWriter } from "../server/reply-writer.js";
import type { HostKeyspace } from "../types/keyspace.js";
import { typeCommand } from "../types/keyspace.js";
import { QuickList } from "../types/list.js";
import { OBJ_LIST } from "../types/value.js";
import { parseTimeoutOrReply, type BlockedRequest } from "../types/blocking.js";

export const LIST_HEAD = 0;
export const LIST_TAIL = 1;
type Where = typeof LIST_HEAD | typeof LIST_TAIL;

const ERR_NO_SUCH_KEY = "no such key";
const ERR_INDEX_RANGE = "index out of range";
const ERR_POSITIVE = "value is out of range, must be positive";

/** A list argument as the latin1 string QuickList stores. */
function elem(b: Buffer): string { return b.toString("latin1"); }

/** getLongFromObjectOrReply: an i64 (as a JS number, exact up to 2^53) or null after replying. */
function longOrReply(ctx: CommandContext, i: number, msg: string = ERR.notInteger): number | null {
  const v = parseIntegerNumber(ctx.argv[i]);
  if (v === null) { ctx.reply.error(msg); return null; }
  return v;
}

/** getRangeLongFromObjectOrReply(min..LONG_MAX) with one message for both failures. */
function longAtLeastOrReply(ctx: CommandContext, i: number, min: number, msg: string): number | null {
  const v = parseInteger(ctx.argv[i]);
  if (v === null || v < BigInt(min)) { ctx.reply.error(msg); return null; }
  return Number(v);
}

/** getListPositionFromObjectOrReply: LEFT or RIGHT. */
function whereOrReply(ctx: CommandContext, i: number): Where | null {
  const s = ctx.argv[i].toString("latin1").toLowerCase();
  if (s === "left") return LIST_HEAD;
  if (s === "right") return LIST_TAIL;
  ctx.reply.error(ERR.syntax);
  return null;
}

const WHERE_NAME = ["LEFT", "RIGHT"];
const b = (s: string) => Buffer.from(s, "latin1");

export function push(l: QuickList, where: Where, v: string): void {
  if (where === LIST_HEAD) l.pushHead(v); else l.pushTail(v);
}

export function pop(l: QuickList, where: Where): string | undefined {
  return where === LIST_HEAD ? l.popHead() : l.popTail();
}

/** The state a list command works on. */
function env(ctx: CommandContext): { ks: HostKeyspace; db: number } {
  return { ks: ctx.server.types, db: ctx.client.db };
}

// ---- push ---------------------------------------------------------------------------------

function pushGeneric(ctx: CommandContext, where: Where, xx: boolean): void {
  const { ks, db } = env(ctx);
  const key = ctx.argv[1];
  let l = ks.lookupWrite<QuickList>(db, key, OBJ_LIST);
  if (!l) {
    if (xx) return ctx.reply.integer(0);
    l = new QuickList();
    ks.add(db, key, l);
  }
  for (let i = 2; i < ctx.argv.length; i++) push(l, where, elem(ctx.argv[i]));
  ctx.reply.integer(l.length);
  ks.propagate(db, ctx.argv);
  ctx.server.blocking.signalKeyAsReady(db, key);
}

/**
 * LMOVE's push side (lmoveHandlePush): creates the destination if needed and signals it
 * ready, since blocked clients may wait on it.
 */
function moveHandlePush(server: CommandContext["server"], db: number, dstKey: Buffer,
                        dst: QuickList | null, v: string, where: Where): void {
  const ks = server.types;
  if (!dst) {
    dst = new QuickList();
    ks.add(db, dstKey, dst);
  }
  server.blocking.signalKeyAsReady(db, dstKey);
  push(dst, where, v);
}

// ---- pop ----------------------------------------------------------------------------------

/** addListRangeReply of the `count` elements popped from `where` (the caller removes them). */
function replyPopped(reply: ReplyWriter, l: QuickList, where: Where, count: number): void {
  const n = Math.min(count, l.length);
  reply.arrayLen(n);
  reply.bulkBinariesBegin();
  for (let i = 0; i < n; i++) reply.bulkBinariesAdd(pop(l, where)!);
  reply.bulkBinariesEnd();
}

function popGeneric(ctx: CommandContext, where: Where): void {
  const { ks, db } = env(ctx);
  const { argv, reply } = ctx;
  if (argv.length > 3) return reply.error(`wrong number of arguments for '${ctx.spec.name}' command`);
  const hasCount = argv.length === 3;
  let count = 0;
  if (hasCount) {
    const c = longAtLeastOrReply(ctx, 2, 0, ERR_POSITIVE);
    if (c === null) return;
    count = c;
  }
  const l = ks.lookupWrite<QuickList>(db, argv[1], OBJ_LIST);
  if (!l) return hasCount ? reply.nullArray() : reply.nullBulk();
  if (hasCount && count === 0) return reply.arrayLen(0);
  if (!hasCount) reply.bulkBinary(pop(l, where)!);
  else replyPopped(reply, l, where, count);
  ks.deleteIfEmpty(db, argv[1], l);
  ks.propagate(db, argv);
}

/**
 * listPopRangeAndReplyWithKey: [key, [elements]] for LMPOP/BLMPOP; propagated as
 * LPOP/RPOP key count.
 */
export function popRangeWithKey(server: CommandContext["server"], reply: ReplyWriter, db: number, key: Buffer,
                                l: QuickList, where: Where, count: number): void {
  const n = Math.min(count, l.length);
  reply.arrayLen(2);
  reply.bulk(key);
  replyPopped(reply, l, where, n);
  server.types.deleteIfEmpty(db, key, l);
  server.types.propagate(db, [b(where === LIST_HEAD ? "LPOP" : "RPOP"), key, b(String(n))]);
}

/** Parsed LMPOP/BLMPOP arguments from numkeys on. */
interface MpopArgs { keys: Buffer[]; where: Where; count: number }

function parseMpopOrReply(ctx: CommandContext, numkeysIdx: number): MpopArgs | null {
  const { argv, reply } = ctx;
  const numkeys = longAtLeastOrReply(ctx, numkeysIdx, 1, "numkeys should be greater than 0");
  if (numkeys === null) return null;
  const whereIdx = numkeysIdx + numkeys + 1;
  if (whereIdx >= argv.length) { reply.error(ERR.syntax); return null; }
  const where = whereOrReply(ctx, whereIdx);
  if (where === null) return null;
  let count = -1;
  for (let j = whereIdx + 1; j < argv.length; j++) {
    const opt = argv[j].toString("latin1").toLowerCase();
    if (count === -1 && opt === "count" && j + 1 < argv.length) {
      const c = longAtLeastOrReply(ctx, ++j, 1, "count should be greater than 0");
      if (c === null) return null;
      count = c;
    } else {
      reply.error(ERR.syntax);
      return null;
    }
  }
  return { keys: argv.slice(numkeysIdx + 1, whereIdx), where, count: count === -1 ? 1 : count };
}

/** mpopGenericCommand: pops from the first non-empty list; false when all were empty. */
function mpopFirst(ctx: CommandContext, a: MpopArgs): boolean {
  const { ks, db } = env(ctx);
  for (const key of a.keys) {
    const l = ks.lookupWrite<QuickList>(db, key, OBJ_LIST);
    if (!l) continue;
    popRangeWithKey(ctx.server, ctx.reply, db, key, l, a.where, a.count);
    return true;
  }
  return false;
}

// ---- LMOVE ----------------------------------------------------------------------------------

/**
 * lmoveGenericCommand: pops from src and pushes to dst; replies the element, or nil when
 * src is absent. Propagated as `propagateAs` (LMOVE or RPOPLPUSH, also for the blocking forms).
 */
function lmoveGeneric(ctx: CommandContext, from: Where, to: Where, rpoplpush: boolean): void {
  const { ks, db } = env(ctx);
  const [, srcKey, dstKey] = ctx.argv;
  const src = ks.lookupWrite<QuickList>(db, srcKey, OBJ_LIST);
  if (!src) return ctx.reply.nullBulk();
  const dst = ks.lookupWrite<QuickList>(db, dstKey, OBJ_LIST);
  moveElement(ctx.server, ctx.reply, db, srcKey, src, dstKey, dst, from, to, rpoplpush);
}

/** The move itself, shared with a served BLMOVE/BRPOPLPUSH (types already checked). */
export function moveElement(server: CommandContext["server"], reply: ReplyWriter, db: number,
                            srcKey: Buffer, src: QuickList, dstKey: Buffer, dst: QuickList | null,
                            from: Where, to: Where, rpoplpush: boolean): void {
  const v = pop(src, from)!;
  moveHandlePush(server, db, dstKey, dst, v, to);
  reply.bulkBinary(v);
  // src === dst: the element went back in, so the list is not empty.
  server.types.deleteIfEmpty(db, srcKey, src);
  server.types.propagate(db, rpoplpush ? [b("RPOPLPUSH"), srcKey, dstKey]
    : [b("LMOVE"), srcKey, dstKey, b(WHERE_NAME[from]), b(WHERE_NAME[to])]);
}

// ---- blocking -------------------------------------------------------------------------------

/** blockingPopGenericCommand for BLPOP/BRPOP (count -1) and BLMPOP (count >= 1). */
function blockingPop(ctx: CommandContext, keys: Buffer[], where: Where, timeoutIdx: number, count: number): void {
  const { ks, db } = env(ctx);
  const timeout = parseTimeoutOrReply(ctx, timeoutIdx);
  if (timeout === null) return;
  for (const key of keys) {
    const l = ks.lookupWrite<QuickList>(db, key, OBJ_LIST);
    if (!l) continue;
    servePop(ctx.server, ctx.reply, db, key, l, where, count);
    return;
  }
  if (ctx.server.blocking.denied(ctx.client)) return ctx.reply.nullArray();
  const req: BlockedRequest = {
    client: ctx.client, db, keys, type: OBJ_LIST, timeoutAt: timeout,
    serve: (key, reply) => {
      const l = ks.lookupWrite<QuickList>(db, key, OBJ_LIST)!;
      servePop(ctx.server, reply, db, key, l, where, count);
    },
  };
  ctx.server.blocking.block(req);
}

/** A blocking pop that found an element: [key, element] (BLPOP) or LMPOP's reply (BLMPOP). */
function servePop(server: CommandContext["server"], reply: ReplyWriter, db: number, key: Buffer,
                  l: QuickList, where: Where, count: number): void {
  if (count !== -1) return popRangeWithKey(server, reply, db, key, l, where, count);
  reply.arrayLen(2);
  reply.bulk(key);
  reply.bulkBinary(pop(l, where)!);
  server.types.deleteIfEmpty(db, key, l);
  server.types.propagate(db, [b(where === LIST_HEAD ? "LPOP" : "RPOP"), key]);
}

/** blmoveGenericCommand (BLMOVE, BRPOPLPUSH). */
function blockingMove(ctx: CommandContext, from: Where, to: Where, timeoutIdx: number, rpoplpush: boolean): void {
  const { ks, db } = env(ctx);
  const timeout = parseTimeoutOrReply(ctx, timeoutIdx);
  if (timeout === null) return;
  const [, srcKey, dstKey] = ctx.argv;
  if (ks.lookupWrite<QuickList>(db, srcKey, OBJ_LIST)) return lmoveGeneric(ctx, from, to, rpoplpush);
  if (ctx.server.blocking.denied(ctx.client)) return ctx.reply.nullBulk();
  ctx.server.blocking.block({
    client: ctx.client, db, keys: [srcKey], type: OBJ_LIST, timeoutAt: timeout,
    serve: (key, reply) => {
      // serveClientBlockedOnList: a destination of another type answers WRONGTYPE and
      // leaves the source untouched (the element stays for the next client).
      const src = ks.lookupWrite<QuickList>(db, key, OBJ_LIST)!;
      const dst = ks.lookupWrite<QuickList>(db, dstKey, OBJ_LIST);
      moveElement(ctx.server, reply, db, key, src, dstKey, dst, from, to, rpoplpush);
    },
  });
}

// ---- registration ---------------------------------------------------------------------------

export function registerListCommands(t: CommandTable): void {
  const def = (name: string, fn: (ctx: CommandContext) => void) => t.define(name, typeCommand(fn));

  def("lpush", (ctx) => pushGeneric(ctx, LIST_HEAD, false));
  def("rpush", (ctx) => pushGeneric(ctx, LIST_TAIL, false));
  def("lpushx", (ctx) => pushGeneric(ctx, LIST_HEAD, true));
  def("rpushx", (ctx) => pushGeneric(ctx, LIST_TAIL, true));

  def("linsert", (ctx) => {
    const { ks, db } = env(ctx);
    const { argv, reply } = ctx;
    const w = argv[2].toString("latin1").toLowerCase();
    if (w !== "after" && w !== "before") return reply.error(ERR.syntax);
    const l = ks.lookupWrite<QuickList>(db, argv[1], OBJ_LIST);
    if (!l) return reply.integer(0);
    const pivot = elem(argv[3]);
    let at = -1;
    l.forEach(0, l.length - 1, (v, i) => {
      if (v !== pivot) return true;
      at = i;
      return false;
    });
    if (at < 0) return reply.integer(-1);
    l.insertAt(w === "after" ? at + 1 : at, elem(argv[4]));
    reply.integer(l.length);
    ks.propagate(db, argv);
  });

  def("llen", (ctx) => {
    const { ks, db } = env(ctx);
    ctx.reply.integer(ks.lookupRead<QuickList>(db, ctx.argv[1], OBJ_LIST)?.length ?? 0);
  });

  def("lindex", (ctx) => {
    const { ks, db } = env(ctx);
    const l = ks.lookupRead<QuickList>(db, ctx.argv[1], OBJ_LIST);
    if (!l) return ctx.reply.nullBulk();
    let i = longOrReply(ctx, 2);
    if (i === null) return;
    if (i < 0) i += l.length;
    const v = l.get(i);
    if (v === undefined) ctx.reply.nullBulk(); else ctx.reply.bulkBinary(v);
  });

  def("lset", (ctx) => {
    const { ks, db } = env(ctx);
    const l = ks.lookupWrite<QuickList>(db, ctx.argv[1], OBJ_LIST);
    if (!l) return ctx.reply.error(ERR_NO_SUCH_KEY);
    let i = longOrReply(ctx, 2);
    if (i === null) return;
    if (i < 0) i += l.length;
    if (i < 0 || i >= l.length) return ctx.reply.error(ERR_INDEX_RANGE);
    l.set(i, elem(ctx.argv[3]));
    ctx.reply.ok();
    ks.propagate(db, ctx.argv);
  });

  def("lpop", (ctx) => popGeneric(ctx, LIST_HEAD));
  def("rpop", (ctx) => popGeneric(ctx, LIST_TAIL));

  def("lrange", (ctx) => {
    const { ks, db } = env(ctx);
    let start = longOrReply(ctx, 2);
    if (start === null) return;
    let end = longOrReply(ctx, 3);
    if (end === null) return;
    const l = ks.lookupRead<QuickList>(db, ctx.argv[1], OBJ_LIST);
    if (!l) return ctx.reply.arrayLen(0);
    const n = l.length;
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (start < 0) start = 0;
    if (start > end || start >= n) return ctx.reply.arrayLen(0);
    if (end >= n) end = n - 1;
    const reply = ctx.reply;
    reply.arrayLen(end - start + 1);
    reply.bulkBinariesBegin();
    l.forEach(start, end, (v) => { reply.bulkBinariesAdd(v); });
    reply.bulkBinariesEnd();
  });

  def("ltrim", (ctx) => {
    const { ks, db } = env(ctx);
    let start = longOrReply(ctx, 2);
    if (start === null) return;
    let end = longOrReply(ctx, 3);
    if (end === null) return;
    const l = ks.lookupWrite<QuickList>(db, ctx.argv[1], OBJ_LIST);
    if (!l) return ctx.reply.ok();
    const n = l.length;
    if (start < 0) start += n;
    if (end < 0) end += n;
    if (start < 0) start = 0;
    if (start > end || start >= n) {
      l.trim(0, -1);
    } else {
      if (end >= n) end = n - 1;
      l.trim(start, end);
    }
    const removed = n - l.length;
    ks.deleteIfEmpty(db, ctx.argv[1], l);
    ctx.reply.ok();
    // Redis's ltrimCommand signals and notifies even when nothing was trimmed; it propagates
    // only a change (server.dirty).
    if (removed) ks.propagate(db, ctx.argv);
    else ks.touch(db, ctx.argv);
  });

  def("lpos", (ctx) => {
    const { ks, db } = env(ctx);
    const { argv, reply } = ctx;
    let rank = 1, count = -1, maxlen = 0;
    for (let j = 3; j < argv.length; j++) {
      const opt = argv[j].toString("latin1").toLowerCase();
      const more = j + 1 < argv.length;
      if (opt === "rank" && more) {
        const r = longOrReply(ctx, ++j);
        if (r === null) return;
        if (r === 0) {
          return reply.error("RANK can't be zero: use 1 to start from the first match, 2 from the second ... " +
            "or use negative to start from the end of the list");
        }
        rank = r;
      } else if (opt === "count" && more) {
        const c = longAtLeastOrReply(ctx, ++j, 0, "COUNT can't be negative");
        if (c === null) return;
        count = c;
      } else if (opt === "maxlen" && more) {
        const m = longAtLeastOrReply(ctx, ++j, 0, "MAXLEN can't be negative");
        if (m === null) return;
        maxlen = m;
      } else {
        return reply.error(ERR.syntax);
      }
    }
    const l = ks.lookupRead<QuickList>(db, argv[1], OBJ_LIST);
    if (!l) return count !== -1 ? reply.arrayLen(0) : reply.nullBulk();
    const target = elem(argv[2]);
    const fromTail = rank < 0;
    if (fromTail) rank = -rank;
    const found: number[] = [];
    let matches = 0, scanned = 0;
    const visit = (v: string, i: number): boolean => {
      if (maxlen !== 0 && scanned >= maxlen) return false;
      scanned++;
      if (v !== target) return true;
      if (++matches < rank) return true;
      found.push(i);
      // Without COUNT the first ranked match ends the scan; COUNT 0 means all of them.
      return count > 0 ? found.length < count : count === 0;
    };
    if (fromTail) l.forEachReverse(l.length - 1, 0, visit);
    else l.forEach(0, l.length - 1, visit);
    if (count !== -1) {
      reply.arrayLen(found.length);
      for (const i of found) reply.integer(i);
    } else if (found.length) reply.integer(found[0]);
    else reply.nullBulk();
  });

  def("lrem", (ctx) => {
    const { ks, db } = env(ctx);
    const count = longOrReply(ctx, 2);
    if (count === null) return;
    const l = ks.lookupWrite<QuickList>(db, ctx.argv[1], OBJ_LIST);
    if (!l) return ctx.reply.integer(0);
    const removed = l.remove(elem(ctx.argv[3]), count);
    ks.deleteIfEmpty(db, ctx.argv[1], l);
    ctx.reply.integer(removed);
    if (removed) ks.propagate(db, ctx.argv);
  });

  def("lmove", (ctx) => {
    const from = whereOrReply(ctx, 3);
    if (from === null) return;
    const to = whereOrReply(ctx, 4);
    if (to === null) return;
    lmoveGeneric(ctx, from, to, false);
  });

  def("rpoplpush", (ctx) => lmoveGeneric(ctx, LIST_TAIL, LIST_HEAD, true));

  def("lmpop", (ctx) => {
    const a = parseMpopOrReply(ctx, 1);
    if (a && !mpopFirst(ctx, a)) ctx.reply.nullArray();
  });

  def("blpop", (ctx) => blockingPop(ctx, ctx.argv.slice(1, -1), LIST_HEAD, ctx.argv.length - 1, -1));
  def("brpop", (ctx) => blockingPop(ctx, ctx.argv.slice(1, -1), LIST_TAIL, ctx.argv.length - 1, -1));

  def("blmove", (ctx) => {
    const from = whereOrReply(ctx, 3);
    if (from === null) return;
    const to = whereOrReply(ctx, 4);
    if (to === null) return;
    blockingMove(ctx, from, to, 5, false);
  });

  def("brpoplpush", (ctx) => blockingMove(ctx, LIST_TAIL, LIST_HEAD, 3, true));

  def("blmpop", (ctx) => {
    const a = parseMpopOrReply(ctx, 2);
    if (a) blockingPop(ctx, a.keys, a.where, 1, a.count);
  });
}
