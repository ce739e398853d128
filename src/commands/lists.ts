// The blocking list commands (Redis 7.0 t_list.c): BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP.
//
// Lists live in the kernel (assembly/keyspace/list-value.ts), which runs every other list
// command (assembly/commands/lists.ts). Blocking is the host's (src/types/blocking.ts): a
// blocking command that finds an element, at once or when a waiting client is served, runs
// the kernel's own pop in the kernel of the key's shard, so the pop, its effect (what Redis
// propagates: LPOP/RPOP key, LPOP/RPOP key count for BLMPOP, LMOVE or RPOPLPUSH) and its
// keyspace events are the kernel's. With several shards the router places that pop (an LMOVE
// between shards runs as one atomic gather: src/server/router.ts).
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import type { Client } from "../server/client.js";
import type { Server } from "../server/server.js";
import { ERR, parseInteger } from "./context.js";
import { typeCommand } from "../types/keyspace.js";
import { OBJ_LIST, WrongTypeError } from "../types/value.js";
import { parseTimeoutOrReply, type BlockedRequest } from "../types/blocking.js";
import { trackingOf } from "../server/tracking.js";

const b = (s: string) => Buffer.from(s, "latin1");
const LPOP = b("LPOP");
const RPOP = b("RPOP");
const LMPOP = b("LMPOP");
const LMOVE = b("LMOVE");
const RPOPLPUSH = b("RPOPLPUSH");
const ONE = b("1");
const LEFT = b("LEFT");
const RIGHT = b("RIGHT");
const COUNT = b("COUNT");

/**
 * Runs a list command in the kernel for `client` (its reply goes to client.reply). The
 * client ran the blocking command, not this one: INFO commandstats does not count it.
 */
function kernelRun(server: Server, client: Client, argv: Buffer[]): void {
  const spec = server.table.lookup(argv[0].toString("latin1").toLowerCase())!;
  // A served waiter is the current client while its pop runs (as Redis's
  // handleClientsBlockedOnKeys makes it): an invalidation of a key it tracks, such as BLMOVE's
  // destination, goes after its reply. Inside its own command this only nests.
  const tracking = trackingOf(server);
  tracking.commandBegin(client, spec, argv);
  try {
    server.router.execute(client, spec, argv);
  } finally {
    tracking.commandEnd(client, spec);
  }
  spec.fanOutCalls = (spec.fanOutCalls ?? 0) + 1;
}

/** getRangeLongFromObjectOrReply(min..LONG_MAX) with one message for both failures. */
function longAtLeastOrReply(ctx: CommandContext, i: number, min: number, msg: string): number | null {
  const v = parseInteger(ctx.argv[i]);
  if (v === null || v < BigInt(min)) { ctx.reply.error(msg); return null; }
  return Number(v);
}

/** getListPositionFromObjectOrReply: LEFT (true: the head) or RIGHT. */
function whereOrReply(ctx: CommandContext, i: number): boolean | null {
  const s = ctx.argv[i].toString("latin1").toLowerCase();
  if (s === "left") return true;
  if (s === "right") return false;
  ctx.reply.error(ERR.syntax);
  return null;
}

/** Whether the key holds a list (absent: false); another type throws WrongTypeError (checkType). */
function isList(server: Server, db: number, key: Buffer): boolean {
  const t = server.types.typeOf(db, key);
  if (t < 0) return false;
  if (t !== OBJ_LIST) throw new WrongTypeError();
  return true;
}

/** Parsed BLMPOP arguments from numkeys on. */
interface MpopArgs { keys: Buffer[]; head: boolean; count: number }

function parseMpopOrReply(ctx: CommandContext, numkeysIdx: number): MpopArgs | null {
  const { argv, reply } = ctx;
  const numkeys = longAtLeastOrReply(ctx, numkeysIdx, 1, "numkeys should be greater than 0");
  if (numkeys === null) return null;
  const whereIdx = numkeysIdx + numkeys + 1;
  if (whereIdx >= argv.length) { reply.error(ERR.syntax); return null; }
  const head = whereOrReply(ctx, whereIdx);
  if (head === null) return null;
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
  return { keys: argv.slice(numkeysIdx + 1, whereIdx), head, count: count === -1 ? 1 : count };
}

/**
 * A blocking pop that found a list: [key, element] (BLPOP/BRPOP: the kernel's LPOP/RPOP key)
 * or LMPOP's reply (BLMPOP: the kernel's LMPOP, propagated as LPOP/RPOP key count).
 */
function servePop(server: Server, client: Client, key: Buffer, head: boolean, count: number): void {
  if (count === -1) {
    client.reply.arrayLen(2);
    client.reply.bulk(key);
    kernelRun(server, client, [head ? LPOP : RPOP, key]);
    return;
  }
  kernelRun(server, client, [LMPOP, ONE, key, head ? LEFT : RIGHT, COUNT, b(String(count))]);
}

/** blockingPopGenericCommand for BLPOP/BRPOP (count -1) and BLMPOP (count >= 1). */
function blockingPop(ctx: CommandContext, keys: Buffer[], head: boolean, timeoutIdx: number, count: number): void {
  const { server, client } = ctx;
  const db = client.db;
  const timeout = parseTimeoutOrReply(ctx, timeoutIdx);
  if (timeout === null) return;
  for (const key of keys) {
    if (!isList(server, db, key)) continue;
    servePop(server, client, key, head, count);
    return;
  }
  if (server.blocking.denied(client)) return ctx.reply.nullArray();
  const req: BlockedRequest = {
    client, db, keys, type: OBJ_LIST, timeoutAt: timeout,
    serve: (key) => servePop(server, client, key, head, count),
  };
  server.blocking.block(req);
}

/**
 * The move of BLMOVE/BRPOPLPUSH, run as the kernel's LMOVE/RPOPLPUSH (a destination of
 * another type answers WRONGTYPE and leaves the source untouched, as serveClientBlockedOnList).
 * The destination may now serve clients waiting on it.
 */
function moveElement(server: Server, client: Client, srcKey: Buffer, dstKey: Buffer,
                     from: Buffer, to: Buffer, rpoplpush: boolean): void {
  kernelRun(server, client, rpoplpush ? [RPOPLPUSH, srcKey, dstKey] : [LMOVE, srcKey, dstKey, from, to]);
  server.blocking.signalKeyAsReady(client.db, dstKey);
}

/** blmoveGenericCommand (BLMOVE, BRPOPLPUSH). */
function blockingMove(ctx: CommandContext, from: Buffer, to: Buffer, timeoutIdx: number, rpoplpush: boolean): void {
  const { server, client } = ctx;
  const timeout = parseTimeoutOrReply(ctx, timeoutIdx);
  if (timeout === null) return;
  const [, srcKey, dstKey] = ctx.argv;
  if (isList(server, client.db, srcKey)) return moveElement(server, client, srcKey, dstKey, from, to, rpoplpush);
  if (server.blocking.denied(client)) return ctx.reply.nullBulk();
  server.blocking.block({
    client, db: client.db, keys: [srcKey], type: OBJ_LIST, timeoutAt: timeout,
    serve: (key) => moveElement(server, client, key, dstKey, from, to, rpoplpush),
  });
}

export function registerListCommands(t: CommandTable): void {
  const def = (name: string, fn: (ctx: CommandContext) => void) => t.define(name, typeCommand(fn));

  def("blpop", (ctx) => blockingPop(ctx, ctx.argv.slice(1, -1), true, ctx.argv.length - 1, -1));
  def("brpop", (ctx) => blockingPop(ctx, ctx.argv.slice(1, -1), false, ctx.argv.length - 1, -1));

  def("blmove", (ctx) => {
    if (whereOrReply(ctx, 3) === null || whereOrReply(ctx, 4) === null) return;
    blockingMove(ctx, ctx.argv[3], ctx.argv[4], 5, false);
  });

  def("brpoplpush", (ctx) => blockingMove(ctx, RIGHT, LEFT, 3, true));

  def("blmpop", (ctx) => {
    const a = parseMpopOrReply(ctx, 2);
    if (a) blockingPop(ctx, a.keys, a.head, 1, a.count);
  });
}
