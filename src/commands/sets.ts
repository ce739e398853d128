// Set commands (Redis's t_set.c) over SetValue (src/types/set.ts), reached through the
// host type layer (src/types/keyspace.ts): typed lookups that throw WRONGTYPE, create on
// write, delete when emptied. Every key is read and written on its own shard, so the
// multi-key commands (SINTER, SMOVE, S*STORE...) need no gathering with several shards.
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { ERR } from "./context.js";
import { SetValue } from "../types/set.js";
import { OBJ_SET } from "../types/value.js";
import { typeCommand } from "../types/keyspace.js";
import { EFFECT_HINT_SPOP, EFFECT_HINT_SPOP_MORE } from "../server/effects.js";
import { stringMatch } from "../util/glob.js";
import { arg, bytes, getPositiveLongOrReply, getRangeLongOrReply, LONG_MAX, parseCursorOrReply,
  parseScanOptionsOrReply, replyEmptyScan, randomReplyTooLargeOrReply } from "./type-args.js";
import { distinctRandomSample } from "./random-sample.js";

function maxIntset(ctx: CommandContext): number {
  return ctx.server.config.getNumber("set-max-intset-entries");
}

function readSet(ctx: CommandContext, i: number): SetValue | null {
  return ctx.server.types.lookupRead<SetValue>(ctx.client.db, ctx.argv[i], OBJ_SET);
}

function writeSet(ctx: CommandContext, i: number): SetValue | null {
  return ctx.server.types.lookupWrite<SetValue>(ctx.client.db, ctx.argv[i], OBJ_SET);
}

function replyMembers(ctx: CommandContext, members: Iterable<string>, n: number): void {
  const reply = ctx.reply;
  reply.setLen(n);
  reply.bulkBinariesBegin();
  for (const m of members) reply.bulkBinariesAdd(m);
  reply.bulkBinariesEnd();
}

function sadd(ctx: CommandContext): void {
  const types = ctx.server.types, db = ctx.client.db;
  let set = writeSet(ctx, 1);
  let created = false;
  if (!set) {
    set = SetValue.forFirstMember(arg(ctx, 2));
    created = true;
  }
  const limit = maxIntset(ctx);
  let added = 0;
  for (let j = 2; j < ctx.argv.length; j++) if (set.add(arg(ctx, j), limit)) added++;
  if (created) types.add(db, ctx.argv[1], set);
  if (added) types.propagate(db, ctx.argv);
  ctx.reply.integer(added);
}

function srem(ctx: CommandContext): void {
  const types = ctx.server.types, db = ctx.client.db;
  const set = writeSet(ctx, 1);
  if (!set) return ctx.reply.integer(0);
  let deleted = 0;
  for (let j = 2; j < ctx.argv.length; j++) {
    if (set.remove(arg(ctx, j))) {
      deleted++;
      if (set.size === 0) break;
    }
  }
  types.deleteIfEmpty(db, ctx.argv[1], set);
  if (deleted) types.propagate(db, ctx.argv);
  ctx.reply.integer(deleted);
}

function smove(ctx: CommandContext): void {
  const types = ctx.server.types, db = ctx.client.db;
  // Redis answers 0 for a missing source before it checks the destination's type.
  const src = writeSet(ctx, 1);
  if (!src) return ctx.reply.integer(0);
  const dst = writeSet(ctx, 2);
  const ele = arg(ctx, 3);
  if (src === dst) return ctx.reply.integer(src.has(ele) ? 1 : 0);
  if (!src.remove(ele)) return ctx.reply.integer(0);
  types.deleteIfEmpty(db, ctx.argv[1], src);
  let added = true;
  if (dst) added = dst.add(ele, maxIntset(ctx));
  else {
    const s = SetValue.forFirstMember(ele);
    s.add(ele, maxIntset(ctx));
    types.add(db, ctx.argv[2], s);
  }
  // The effect names only the keys that changed (WATCH reads it): a destination that
  // already had the member is untouched, as Redis signals only the source then.
  types.propagate(db, added ? ctx.argv : [Buffer.from("SREM"), ctx.argv[1], ctx.argv[3]]);
  ctx.reply.integer(1);
}

function sismember(ctx: CommandContext): void {
  const set = readSet(ctx, 1);
  ctx.reply.integer(set && set.has(arg(ctx, 2)) ? 1 : 0);
}

function smismember(ctx: CommandContext): void {
  const set = readSet(ctx, 1);
  ctx.reply.arrayLen(ctx.argv.length - 2);
  for (let j = 2; j < ctx.argv.length; j++) ctx.reply.integer(set && set.has(arg(ctx, j)) ? 1 : 0);
}

function scard(ctx: CommandContext): void {
  ctx.reply.integer(readSet(ctx, 1)?.size ?? 0);
}

function smembers(ctx: CommandContext): void {
  const set = readSet(ctx, 1);
  if (!set) return ctx.reply.setLen(0);
  replyMembers(ctx, set.values(), set.size);
}

function spop(ctx: CommandContext): void {
  const types = ctx.server.types, db = ctx.client.db;
  if (ctx.argv.length > 3) return ctx.reply.error(ERR.syntax);
  if (ctx.argv.length === 3) return spopWithCount(ctx);
  const set = writeSet(ctx, 1);
  if (!set) return ctx.reply.nullBulk();
  const m = set.pop();
  types.propagateBuilt(db, () => [Buffer.from("SREM"), ctx.argv[1], bytes(m)], EFFECT_HINT_SPOP);
  ctx.reply.bulkBinary(m);
  types.deleteIfEmpty(db, ctx.argv[1], set);
}

function spopWithCount(ctx: CommandContext): void {
  const types = ctx.server.types, db = ctx.client.db;
  const count = getPositiveLongOrReply(ctx, 2);
  if (count === null) return;
  const set = writeSet(ctx, 1);
  if (!set || count === 0) return ctx.reply.setLen(0);
  const size = set.size;
  const key = ctx.argv[1];
  if (count >= size) {
    // The whole set: reply it, delete the key, propagate as DEL.
    replyMembers(ctx, set.values(), size);
    types.delete(db, key);
    types.propagate(db, [Buffer.from("DEL"), key], EFFECT_HINT_SPOP);
    return;
  }
  // Pop in place (Redis may rebuild the kept part as a new set when most of the set goes;
  // popping keeps the key's TTL either way, as Redis's dbOverwrite does).
  const popped: string[] = [];
  for (let i = 0; i < count; i++) popped.push(set.pop());
  replyMembers(ctx, popped, popped.length);
  // One "spop" event for the command (spopWithCountCommand), however many SREMs it propagates,
  // and one MULTI/EXEC around them for the AOF and replicas.
  if (popped.length > 1) ctx.server.effects.groupRestOfCommand();
  for (let i = 0; i < popped.length; i++) {
    types.propagate(db, [Buffer.from("SREM"), key, bytes(popped[i])], i === 0 ? EFFECT_HINT_SPOP : EFFECT_HINT_SPOP_MORE);
  }
}

function srandmember(ctx: CommandContext): void {
  if (ctx.argv.length > 3) return ctx.reply.error(ERR.syntax);
  if (ctx.argv.length === 3) return srandmemberWithCount(ctx);
  const set = readSet(ctx, 1);
  if (!set) return ctx.reply.nullBulk();
  ctx.reply.bulkBinary(set.random());
}

function srandmemberWithCount(ctx: CommandContext): void {
  const l = getRangeLongOrReply(ctx, 2, -LONG_MAX, LONG_MAX);
  if (l === null) return;
  const uniq = l >= 0;
  const count = Math.abs(l);
  const set = readSet(ctx, 1);
  if (!set || count === 0) return ctx.reply.arrayLen(0);
  const size = set.size;
  if (!uniq || count === 1) {
    if (randomReplyTooLargeOrReply(ctx, count, set.random().length)) return;
    ctx.reply.arrayLen(count);
    ctx.reply.bulkBinariesBegin();
    for (let i = 0; i < count; i++) ctx.reply.bulkBinariesAdd(set.random());
    ctx.reply.bulkBinariesEnd();
    return;
  }
  if (count >= size) {
    ctx.reply.arrayLen(size);
    ctx.reply.bulkBinariesBegin();
    for (const m of set.values()) ctx.reply.bulkBinariesAdd(m);
    ctx.reply.bulkBinariesEnd();
    return;
  }
  const out = distinctRandomSample(count, size, () => set.values().slice(), () => set.random());
  ctx.reply.arrayLen(out.length);
  ctx.reply.bulkBinariesBegin();
  for (const m of out) ctx.reply.bulkBinariesAdd(m);
  ctx.reply.bulkBinariesEnd();
}

/** Looks up every source set (null for a missing key); WRONGTYPE throws before any change. */
function readSets(ctx: CommandContext, from: number, n: number): (SetValue | null)[] {
  const out: (SetValue | null)[] = [];
  for (let j = 0; j < n; j++) out.push(readSet(ctx, from + j));
  return out;
}

/** SINTER / SINTERSTORE / SINTERCARD (sinterGenericCommand). */
function sinterGeneric(ctx: CommandContext, from: number, n: number, dst: Buffer | null, cardOnly: boolean, limit: number): void {
  const types = ctx.server.types, db = ctx.client.db;
  const sets = readSets(ctx, from, n);
  if (sets.some((s) => s === null)) {
    if (dst) {
      if (types.delete(db, dst)) types.propagate(db, ctx.argv);
      ctx.reply.integer(0);
    } else if (cardOnly) ctx.reply.integer(0);
    else ctx.reply.setLen(0);
    return;
  }
  const ordered = (sets as SetValue[]).slice().sort((a, b) => a.size - b.size);
  const first = ordered[0];
  const result: string[] = [];
  let card = 0;
  for (const m of first.values()) {
    let j = 1;
    for (; j < ordered.length; j++) {
      if (ordered[j] === first) continue;
      if (!ordered[j].has(m)) break;
    }
    if (j < ordered.length) continue;
    card++;
    if (cardOnly) {
      if (limit && card >= limit) break;
    } else result.push(m);
  }
  if (cardOnly) return ctx.reply.integer(card);
  if (!dst) return replyMembers(ctx, result, result.length);
  storeResult(ctx, dst, result);
}

/** Stores members as a new set at dst (or deletes dst when empty) and replies the size. */
function storeResult(ctx: CommandContext, dst: Buffer, members: string[]): void {
  const types = ctx.server.types, db = ctx.client.db;
  if (members.length > 0) {
    const s = new SetValue();
    const limit = maxIntset(ctx);
    for (const m of members) s.add(m, limit);
    types.add(db, dst, s);
    types.propagate(db, ctx.argv);
    ctx.reply.integer(s.size);
  } else {
    if (types.delete(db, dst)) types.propagate(db, ctx.argv);
    ctx.reply.integer(0);
  }
}

const UNION = 0, DIFF = 1;

/** SUNION / SDIFF and their STORE forms (sunionDiffGenericCommand). */
function sunionDiffGeneric(ctx: CommandContext, from: number, n: number, dst: Buffer | null, op: number): void {
  const sets = readSets(ctx, from, n);
  const out = new Set<string>();
  if (op === UNION) {
    for (const s of sets) if (s) for (const m of s.values()) out.add(m);
  } else if (sets[0] && !sets.slice(1).includes(sets[0])) {
    const first = sets[0];
    const others = sets.slice(1).filter((s): s is SetValue => s !== null);
    for (const m of first.values()) if (!others.some((s) => s.has(m))) out.add(m);
  }
  // Reply in the order a new set would iterate (numeric for an intset-sized integer result).
  const res = new SetValue();
  for (const m of out) res.add(m, maxIntset(ctx));
  if (!dst) return replyMembers(ctx, res.values(), res.size);
  storeResult(ctx, dst, [...res.values()]);
}

function sintercard(ctx: CommandContext): void {
  const numkeys = getRangeLongOrReply(ctx, 1, 1n, LONG_MAX, "numkeys should be greater than 0");
  if (numkeys === null) return;
  if (numkeys > ctx.argv.length - 2) return ctx.reply.error("Number of keys can't be greater than number of args");
  let limit = 0;
  for (let j = 2 + numkeys; j < ctx.argv.length; j++) {
    const more = ctx.argv.length - 1 - j;
    if (arg(ctx, j).toLowerCase() === "limit" && more) {
      j++;
      const l = getPositiveLongOrReply(ctx, j, "LIMIT can't be negative");
      if (l === null) return;
      limit = l;
    } else return ctx.reply.error(ERR.syntax);
  }
  sinterGeneric(ctx, 2, numkeys, null, true, limit);
}

function sscan(ctx: CommandContext): void {
  const cursor = parseCursorOrReply(ctx, 2);
  if (cursor === null) return;
  // A small set the kernel holds stays there (HostKeyspace.peekSet).
  const set = ctx.server.types.peekSet(ctx.client.db, ctx.argv[1]);
  if (!set) return replyEmptyScan(ctx);
  const opts = parseScanOptionsOrReply(ctx, 3);
  if (!opts) return;
  const r = set.scan(cursor, opts.count);
  const items = opts.pattern ? r.members.filter((m) => stringMatch(opts.pattern!, m)) : r.members;
  ctx.reply.arrayLen(2);
  ctx.reply.bulk(String(r.cursor));
  ctx.reply.arrayLen(items.length);
  // Encoded as bytes in one go (replyMembers' way), not a Buffer per member.
  ctx.reply.bulkBinariesBegin();
  for (const m of items) ctx.reply.bulkBinariesAdd(m);
  ctx.reply.bulkBinariesEnd();
}

export function registerSetCommands(t: CommandTable): void {
  const def = (name: string, fn: (ctx: CommandContext) => void) => t.define(name, typeCommand(fn));
  def("sadd", sadd);
  def("srem", srem);
  def("smove", smove);
  def("sismember", sismember);
  def("smismember", smismember);
  def("scard", scard);
  def("smembers", smembers);
  def("spop", spop);
  def("srandmember", srandmember);
  def("sinter", (ctx) => sinterGeneric(ctx, 1, ctx.argv.length - 1, null, false, 0));
  def("sinterstore", (ctx) => sinterGeneric(ctx, 2, ctx.argv.length - 2, ctx.argv[1], false, 0));
  def("sintercard", sintercard);
  def("sunion", (ctx) => sunionDiffGeneric(ctx, 1, ctx.argv.length - 1, null, UNION));
  def("sunionstore", (ctx) => sunionDiffGeneric(ctx, 2, ctx.argv.length - 2, ctx.argv[1], UNION));
  def("sdiff", (ctx) => sunionDiffGeneric(ctx, 1, ctx.argv.length - 1, null, DIFF));
  def("sdiffstore", (ctx) => sunionDiffGeneric(ctx, 2, ctx.argv.length - 2, ctx.argv[1], DIFF));
  def("sscan", sscan);
}
