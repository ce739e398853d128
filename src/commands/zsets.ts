// Sorted set commands (Redis's t_zset.c) over ZSetValue (src/types/zset.ts), reached
// through the host type layer (src/types/keyspace.ts). Every key is read and written on
// its own shard, so ZUNIONSTORE & co. need no gathering with several shards.
//
// Replies follow Redis 7.0's shapes: scores through ReplyWriter.double (Redis's %.17g),
// WITHSCORES flat in RESP2 and as [member, score] pairs in RESP3.
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { ERR } from "./context.js";
import { ZSetValue, ZNode, parseScore, parseScoreRange, parseLexRange, scoreGteMin, scoreLteMax,
  lexGteMin, lexLteMax, type ScoreRange, type LexRange } from "../types/zset.js";
import type { SetValue } from "../types/set.js";
import { OBJ_SET, OBJ_ZSET, WrongTypeError } from "../types/value.js";
import { typeCommand } from "../types/keyspace.js";
import { formatDouble } from "../server/reply-writer.js";
import { parseTimeoutOrReply, type BlockedRequest } from "../types/blocking.js";
import { stringMatch } from "../util/glob.js";
import { arg, bytes, getLongOrReply, getPositiveLongOrReply, getRangeLongOrReply, LONG_MAX,
  parseCursorOrReply, parseScanOptionsOrReply, replyEmptyScan, randomReplyTooLargeOrReply } from "./type-args.js";
import { distinctRandomSample } from "./random-sample.js";

const NAN_ERR = "resulting score is not a number (NaN)";
const NOT_FLOAT = "min or max is not a float";
const NOT_LEX = "min or max not valid string range item";

export interface ZsetLimits { entries: number; value: number }

export function zsetLimits(ctx: CommandContext): ZsetLimits {
  const c = ctx.server.config;
  return { entries: c.getNumber("zset-max-listpack-entries"), value: c.getNumber("zset-max-listpack-value") };
}

function readZ(ctx: CommandContext, i: number): ZSetValue | null {
  return ctx.server.types.lookupRead<ZSetValue>(ctx.client.db, ctx.argv[i], OBJ_ZSET);
}

function writeZ(ctx: CommandContext, i: number): ZSetValue | null {
  return ctx.server.types.lookupWrite<ZSetValue>(ctx.client.db, ctx.argv[i], OBJ_ZSET);
}

/** Redis's d2string (ZSCAN's scores): integers that fit a long long print as integers. */
export function d2string(d: number): string {
  if (Number.isNaN(d)) return "nan";
  if (d === Infinity) return "inf";
  if (d === -Infinity) return "-inf";
  if (d === 0) return Object.is(d, -0) ? "-0" : "0"; // util.c d2string's signed zero
  if (Number.isInteger(d) && Math.abs(d) <= 4611686018427387903) return BigInt(d).toString();
  return formatDouble(d);
}


/** Member/score pairs as ZRANGE WITHSCORES replies them (flat in RESP2, pairs in RESP3). */
function replyPairs(ctx: CommandContext, items: { ele: string; score: number }[], withscores: boolean): void {
  const resp3 = ctx.reply.resp > 2;
  ctx.reply.arrayLen(withscores && !resp3 ? items.length * 2 : items.length);
  for (const it of items) {
    if (withscores && resp3) ctx.reply.arrayLen(2);
    ctx.reply.bulkBinary(it.ele);
    if (withscores) ctx.reply.double(it.score);
  }
}

// ---- ZADD / ZINCRBY -------------------------------------------------------------------------

const IN_INCR = 1, IN_NX = 2, IN_XX = 4, IN_GT = 8, IN_LT = 16;

/** zsetAdd: what one score/member pair did. */
interface AddOutcome { nan: boolean; added: boolean; updated: boolean; nop: boolean; score: number }

function zsetAdd(z: ZSetValue, score: number, ele: string, flags: number, limits: ZsetLimits): AddOutcome {
  const out: AddOutcome = { nan: false, added: false, updated: false, nop: false, score };
  if (Number.isNaN(score)) { out.nan = true; return out; }
  const cur = z.score(ele);
  if (cur !== undefined) {
    if (flags & IN_NX) { out.nop = true; return out; }
    if (flags & IN_INCR) {
      score += cur;
      if (Number.isNaN(score)) { out.nan = true; return out; }
    }
    if (((flags & IN_LT) && score >= cur) || ((flags & IN_GT) && score <= cur)) { out.nop = true; return out; }
    out.score = score;
    if (score !== cur) {
      z.set(ele, score, limits.entries, limits.value);
      out.updated = true;
    }
    return out;
  }
  if (flags & IN_XX) { out.nop = true; return out; }
  z.set(ele, score, limits.entries, limits.value);
  out.added = true;
  return out;
}

export function zaddGeneric(ctx: CommandContext, baseFlags: number): void {
  const argv = ctx.argv;
  const types = ctx.server.types, db = ctx.client.db;
  let flags = baseFlags;
  let ch = false;
  let scoreidx = 2;
  for (; scoreidx < argv.length; scoreidx++) {
    // Every option is 2-4 letters starting with n, x, c, i, g or l: anything else (a score,
    // as in the usual ZADD key score member) ends the options without making a string of it.
    const a = argv[scoreidx];
    const c0 = a.length >= 2 && a.length <= 4 ? a[0] | 0x20 : 0;
    if (c0 !== 0x6e && c0 !== 0x78 && c0 !== 0x63 && c0 !== 0x69 && c0 !== 0x67 && c0 !== 0x6c) break;
    const opt = arg(ctx, scoreidx).toLowerCase();
    if (opt === "nx") flags |= IN_NX;
    else if (opt === "xx") flags |= IN_XX;
    else if (opt === "ch") ch = true;
    else if (opt === "incr") flags |= IN_INCR;
    else if (opt === "gt") flags |= IN_GT;
    else if (opt === "lt") flags |= IN_LT;
    else break;
  }
  const incr = (flags & IN_INCR) !== 0, nx = (flags & IN_NX) !== 0, xx = (flags & IN_XX) !== 0;
  const gt = (flags & IN_GT) !== 0, lt = (flags & IN_LT) !== 0;
  let elements = argv.length - scoreidx;
  if (elements % 2 || !elements) return ctx.reply.error(ERR.syntax);
  elements /= 2;
  if (nx && xx) return ctx.reply.error("XX and NX options at the same time are not compatible");
  if ((gt && nx) || (lt && nx) || (gt && lt)) {
    return ctx.reply.error("GT, LT, and/or NX options at the same time are not compatible");
  }
  if (incr && elements > 1) return ctx.reply.error("INCR option supports a single increment-element pair");
  const scores: number[] = [];
  for (let j = 0; j < elements; j++) {
    const s = parseScore(arg(ctx, scoreidx + j * 2));
    if (s === null) return ctx.reply.error(ERR.notFloat);
    scores.push(s);
  }
  const limits = zsetLimits(ctx);
  let z = writeZ(ctx, 1);
  let added = 0, updated = 0, processed = 0;
  let score = 0;
  if (z === null && xx) {
    // No key + XX: nothing to do.
  } else {
    let created = false;
    if (z === null) {
      z = ZSetValue.create(0, argv[scoreidx + 1].length, limits.entries, limits.value);
      created = true;
    }
    let err = false;
    for (let j = 0; j < elements; j++) {
      const r = zsetAdd(z, scores[j], arg(ctx, scoreidx + 1 + j * 2), flags, limits);
      if (r.nan) { err = true; break; }
      if (r.added) added++;
      if (r.updated) updated++;
      if (!r.nop) processed++;
      score = r.score;
    }
    if (created && z.size > 0) types.add(db, argv[1], z);
    if (added || updated) types.propagate(db, argv);
    if (err) return ctx.reply.error(NAN_ERR);
  }
  if (incr) {
    if (processed) ctx.reply.double(score);
    else ctx.reply.nullBulk();
  } else ctx.reply.integer(ch ? added + updated : added);
}

// ---- removal ---------------------------------------------------------------------------------

function zrem(ctx: CommandContext): void {
  const types = ctx.server.types, db = ctx.client.db;
  const z = writeZ(ctx, 1);
  if (!z) return ctx.reply.integer(0);
  let deleted = 0;
  for (let j = 2; j < ctx.argv.length; j++) {
    if (z.remove(arg(ctx, j))) deleted++;
    if (z.size === 0) break;
  }
  types.deleteIfEmpty(db, ctx.argv[1], z);
  if (deleted) types.propagate(db, ctx.argv);
  ctx.reply.integer(deleted);
}

const RANK = 0, SCORE = 1, LEX = 2;

function zremrangeGeneric(ctx: CommandContext, type: number): void {
  const types = ctx.server.types, db = ctx.client.db;
  let start = 0, end = 0;
  let range: ScoreRange | null = null;
  let lex: LexRange | null = null;
  if (type === RANK) {
    const s = getLongOrReply(ctx, 2);
    if (s === null) return;
    const e = getLongOrReply(ctx, 3);
    if (e === null) return;
    start = s; end = e;
  } else if (type === SCORE) {
    range = parseScoreRange(arg(ctx, 2), arg(ctx, 3));
    if (!range) return ctx.reply.error(NOT_FLOAT);
  } else {
    lex = parseLexRange(arg(ctx, 2), arg(ctx, 3));
    if (!lex) return ctx.reply.error(NOT_LEX);
  }
  const z = writeZ(ctx, 1);
  if (!z) return ctx.reply.integer(0);
  let victims: ZNode[];
  if (type === RANK) {
    const llen = z.size;
    if (start < 0) start = llen + start;
    if (end < 0) end = llen + end;
    if (start < 0) start = 0;
    if (start > end || start >= llen) return ctx.reply.integer(0);
    if (end >= llen) end = llen - 1;
    victims = z.rangeByRank(start, end);
  } else if (type === SCORE) {
    victims = [];
    for (let n = z.firstInRange(range!); n && scoreLteMax(n.score, range!); n = n.next()) victims.push(n);
  } else {
    victims = [];
    for (let n = z.firstInLexRange(lex!); n && lexLteMax(n.ele, lex!); n = n.next()) victims.push(n);
  }
  const names = victims.map((n) => n.ele);
  for (const m of names) z.remove(m);
  types.deleteIfEmpty(db, ctx.argv[1], z);
  if (names.length) types.propagate(db, ctx.argv);
  ctx.reply.integer(names.length);
}

// ---- ZUNION / ZINTER / ZDIFF (+STORE, ZINTERCARD) ----------------------------------------------

const OP_UNION = 0, OP_INTER = 1, OP_DIFF = 2;
const AGGR_SUM = 0, AGGR_MIN = 1, AGGR_MAX = 2;

/** A source of a set operation: a sorted set, a plain set (every score 1) or nothing. */
interface OpSource { z: ZSetValue | null; s: SetValue | null; weight: number }

function srcLength(src: OpSource): number { return src.z?.size ?? src.s?.size ?? 0; }

function* srcEntries(src: OpSource): IterableIterator<[string, number]> {
  if (src.z) for (const n of src.z) yield [n.ele, n.score];
  else if (src.s) for (const m of src.s.values()) yield [m, 1];
}

function srcScore(src: OpSource, ele: string): number | undefined {
  if (src.z) return src.z.score(ele);
  if (src.s) return src.s.has(ele) ? 1 : undefined;
  return undefined;
}

function aggregate(target: number, val: number, aggr: number): number {
  if (aggr === AGGR_SUM) {
    const r = target + val;
    return Number.isNaN(r) ? 0 : r;
  }
  if (aggr === AGGR_MIN) return val < target ? val : target;
  return val > target ? val : target;
}

/** Looks a source key up as Redis's zunionInterDiffGenericCommand does: zset or set, else WRONGTYPE. */
function lookupOpSource(ctx: CommandContext, i: number): OpSource {
  const types = ctx.server.types, db = ctx.client.db;
  const key = ctx.argv[i];
  const t = types.typeOf(db, key);
  if (t < 0) return { z: null, s: null, weight: 1 };
  if (t === OBJ_ZSET) return { z: types.lookupRead<ZSetValue>(db, key, OBJ_ZSET), s: null, weight: 1 };
  if (t === OBJ_SET) return { z: null, s: types.lookupRead<SetValue>(db, key, OBJ_SET), weight: 1 };
  throw new WrongTypeError();
}

function zsetOpGeneric(ctx: CommandContext, dst: Buffer | null, numkeysIndex: number, op: number, cardOnly: boolean): void {
  const argv = ctx.argv;
  const setnum = getLongOrReply(ctx, numkeysIndex);
  if (setnum === null) return;
  if (setnum < 1) return ctx.reply.error(`at least 1 input key is needed for '${ctx.spec.name}' command`);
  if (setnum > argv.length - (numkeysIndex + 1)) return ctx.reply.error(ERR.syntax);
  const src: OpSource[] = [];
  let j = numkeysIndex + 1;
  for (let i = 0; i < setnum; i++, j++) src.push(lookupOpSource(ctx, j));
  let aggr = AGGR_SUM;
  let withscores = false;
  let limit = 0;
  let remaining = argv.length - j;
  while (remaining) {
    const opt = arg(ctx, j).toLowerCase();
    if (op !== OP_DIFF && !cardOnly && remaining >= setnum + 1 && opt === "weights") {
      j++; remaining--;
      for (let i = 0; i < setnum; i++, j++, remaining--) {
        const w = parseScore(arg(ctx, j));
        if (w === null) return ctx.reply.error("weight value is not a float");
        src[i].weight = w;
      }
    } else if (op !== OP_DIFF && !cardOnly && remaining >= 2 && opt === "aggregate") {
      j++; remaining--;
      const a = arg(ctx, j).toLowerCase();
      if (a === "sum") aggr = AGGR_SUM;
      else if (a === "min") aggr = AGGR_MIN;
      else if (a === "max") aggr = AGGR_MAX;
      else return ctx.reply.error(ERR.syntax);
      j++; remaining--;
    } else if (remaining >= 1 && !dst && !cardOnly && opt === "withscores") {
      j++; remaining--;
      withscores = true;
    } else if (cardOnly && remaining >= 2 && opt === "limit") {
      j++; remaining--;
      const l = getPositiveLongOrReply(ctx, j, "LIMIT can't be negative");
      if (l === null) return;
      limit = l;
      j++; remaining--;
    } else return ctx.reply.error(ERR.syntax);
  }
  // Smallest first (a stable sort, like Redis's qsort on equal sizes only in effect).
  if (op !== OP_DIFF) src.sort((a, b) => srcLength(a) - srcLength(b));

  const result = new Map<string, number>();
  let cardinality = 0;
  if (op === OP_INTER) {
    if (srcLength(src[0]) > 0) {
      for (const [ele, s0] of srcEntries(src[0])) {
        let score = src[0].weight * s0;
        if (Number.isNaN(score)) score = 0;
        let k = 1;
        for (; k < setnum; k++) {
          const v = srcScore(src[k], ele);
          if (v === undefined) break;
          score = aggregate(score, v * src[k].weight, aggr);
        }
        if (k < setnum) continue;
        if (cardOnly) {
          cardinality++;
          if (limit && cardinality >= limit) break;
        } else result.set(ele, score);
      }
    }
  } else if (op === OP_UNION) {
    for (const s of src) {
      for (const [ele, sc] of srcEntries(s)) {
        let score = s.weight * sc;
        if (Number.isNaN(score)) score = 0;
        const cur = result.get(ele);
        result.set(ele, cur === undefined ? score : aggregate(cur, score, aggr));
      }
    }
  } else {
    // zdiff: members of the first set in none of the others, with the first set's score.
    if (src[0].z || src[0].s) {
      for (const [ele, sc] of srcEntries(src[0])) {
        let k = 1;
        for (; k < setnum; k++) if (srcScore(src[k], ele) !== undefined) break;
        if (k === setnum) result.set(ele, sc);
      }
    }
  }
  if (cardOnly) return ctx.reply.integer(cardinality);

  const limits = zsetLimits(ctx);
  const out = new ZSetValue();
  out.enc = "skiplist";
  for (const [ele, sc] of result) out.set(ele, sc, Infinity, Infinity);
  if (dst) {
    const types = ctx.server.types, db = ctx.client.db;
    if (out.size) {
      out.shrinkEncodingIfFits(limits.entries, limits.value);
      types.add(db, dst, out);
      types.propagate(db, argv);
      ctx.reply.integer(out.size);
    } else {
      if (types.delete(db, dst)) types.propagate(db, argv);
      ctx.reply.integer(0);
    }
    return;
  }
  replyPairs(ctx, [...out], withscores);
}

// ---- ZRANGE family ---------------------------------------------------------------------------

const DIR_AUTO = 0, DIR_FORWARD = 1, DIR_REVERSE = 2;
const TYPE_AUTO = -1;

/**
 * zrangeGenericCommand: ZRANGE, ZRANGESTORE, ZREVRANGE, Z[REV]RANGEBYSCORE, Z[REV]RANGEBYLEX.
 * argStart is the position of the source key; store is set for ZRANGESTORE (destination argv[1]).
 */
function zrangeGeneric(ctx: CommandContext, argStart: number, store: boolean, rangetype: number, direction: number): void {
  const argv = ctx.argv;
  let minidx = argStart + 1, maxidx = argStart + 2;
  let withscores = false;
  let offset = 0, limit = -1;
  for (let j = argStart + 3; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const opt = arg(ctx, j).toLowerCase();
    if (!store && opt === "withscores") withscores = true;
    else if (opt === "limit" && left >= 2) {
      const o = getLongOrReply(ctx, j + 1);
      if (o === null) return;
      const l = getLongOrReply(ctx, j + 2);
      if (l === null) return;
      offset = o; limit = l;
      j += 2;
    } else if (direction === DIR_AUTO && opt === "rev") direction = DIR_REVERSE;
    else if (rangetype === TYPE_AUTO && opt === "bylex") rangetype = LEX;
    else if (rangetype === TYPE_AUTO && opt === "byscore") rangetype = SCORE;
    else return ctx.reply.error(ERR.syntax);
  }
  if (direction === DIR_AUTO) direction = DIR_FORWARD;
  if (rangetype === TYPE_AUTO) rangetype = RANK;
  if (limit !== -1 && rangetype === RANK) {
    return ctx.reply.error("syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (withscores && rangetype === LEX) {
    return ctx.reply.error("syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  const reverse = direction === DIR_REVERSE;
  if (reverse && rangetype !== RANK) [minidx, maxidx] = [maxidx, minidx];

  let start = 0, end = 0;
  let range: ScoreRange | null = null;
  let lex: LexRange | null = null;
  if (rangetype === RANK) {
    const s = getLongOrReply(ctx, minidx);
    if (s === null) return;
    const e = getLongOrReply(ctx, maxidx);
    if (e === null) return;
    start = s; end = e;
  } else if (rangetype === SCORE) {
    range = parseScoreRange(arg(ctx, minidx), arg(ctx, maxidx));
    if (!range) return ctx.reply.error(NOT_FLOAT);
  } else {
    lex = parseLexRange(arg(ctx, minidx), arg(ctx, maxidx));
    if (!lex) return ctx.reply.error(NOT_LEX);
  }

  const z = readZ(ctx, argStart);
  let items: ZNode[] = [];
  if (z) {
    if (rangetype === RANK) items = rankRange(z, start, end, reverse);
    else if (rangetype === SCORE) items = scoreRange(z, range!, offset, limit, reverse);
    else items = lexRange(z, lex!, offset, limit, reverse);
  }
  if (store) return storeRange(ctx, argv[1], items);
  replyPairs(ctx, items, withscores);
}

function rankRange(z: ZSetValue, start: number, end: number, reverse: boolean): ZNode[] {
  const llen = z.size;
  if (start < 0) start = llen + start;
  if (end < 0) end = llen + end;
  if (start < 0) start = 0;
  if (start > end || start >= llen) return [];
  if (end >= llen) end = llen - 1;
  if (!reverse) return z.rangeByRank(start, end);
  const out: ZNode[] = [];
  let n = z.byRank(llen - 1 - start);
  for (let i = start; i <= end && n; i++, n = n.backward) out.push(n);
  return out;
}

/** Walks from the first (or, reversed, last) node in range, skipping offset, taking limit. */
function walk(first: ZNode | null, offset: number, limit: number, reverse: boolean,
              inRange: (n: ZNode) => boolean): ZNode[] {
  const out: ZNode[] = [];
  let n = first;
  // A negative offset never ends its countdown: Redis walks off the end (empty result).
  if (offset < 0) return out;
  while (n && offset-- > 0) n = reverse ? n.backward : n.next();
  while (n && limit-- !== 0) {
    if (!inRange(n)) break;
    out.push(n);
    n = reverse ? n.backward : n.next();
  }
  return out;
}

function scoreRange(z: ZSetValue, r: ScoreRange, offset: number, limit: number, reverse: boolean): ZNode[] {
  if (offset > 0 && offset >= z.size) return [];
  const first = reverse ? z.lastInRange(r) : z.firstInRange(r);
  return walk(first, offset, limit, reverse, reverse ? (n) => scoreGteMin(n.score, r) : (n) => scoreLteMax(n.score, r));
}

function lexRange(z: ZSetValue, r: LexRange, offset: number, limit: number, reverse: boolean): ZNode[] {
  if (offset > 0 && offset >= z.size) return [];
  const first = reverse ? z.lastInLexRange(r) : z.firstInLexRange(r);
  return walk(first, offset, limit, reverse, reverse ? (n) => lexGteMin(n.ele, r) : (n) => lexLteMax(n.ele, r));
}

function storeRange(ctx: CommandContext, dst: Buffer, items: ZNode[]): void {
  const types = ctx.server.types, db = ctx.client.db;
  if (items.length === 0) {
    if (types.delete(db, dst)) types.propagate(db, ctx.argv);
    return ctx.reply.integer(0);
  }
  const limits = zsetLimits(ctx);
  const out = ZSetValue.create(items.length, 0, limits.entries, limits.value);
  for (const n of items) out.set(n.ele, n.score, limits.entries, limits.value);
  types.add(db, dst, out);
  types.propagate(db, ctx.argv);
  ctx.reply.integer(items.length);
}

// ---- counting and point queries ---------------------------------------------------------------

function zcount(ctx: CommandContext): void {
  const r = parseScoreRange(arg(ctx, 2), arg(ctx, 3));
  if (!r) return ctx.reply.error(NOT_FLOAT);
  const z = readZ(ctx, 1);
  ctx.reply.integer(z ? z.countInRange(r) : 0);
}

function zlexcount(ctx: CommandContext): void {
  const r = parseLexRange(arg(ctx, 2), arg(ctx, 3));
  if (!r) return ctx.reply.error(NOT_LEX);
  const z = readZ(ctx, 1);
  ctx.reply.integer(z ? z.countInLexRange(r) : 0);
}

function zcard(ctx: CommandContext): void {
  ctx.reply.integer(readZ(ctx, 1)?.size ?? 0);
}

function zscore(ctx: CommandContext): void {
  const z = readZ(ctx, 1);
  const s = z?.score(arg(ctx, 2));
  if (s === undefined) ctx.reply.nullBulk();
  else ctx.reply.double(s);
}

function zmscore(ctx: CommandContext): void {
  const z = readZ(ctx, 1);
  ctx.reply.arrayLen(ctx.argv.length - 2);
  for (let j = 2; j < ctx.argv.length; j++) {
    const s = z?.score(arg(ctx, j));
    if (s === undefined) ctx.reply.nullBulk();
    else ctx.reply.double(s);
  }
}

function zrankGeneric(ctx: CommandContext, reverse: boolean): void {
  const z = readZ(ctx, 1);
  if (!z) return ctx.reply.nullBulk();
  const r = z.rank(arg(ctx, 2));
  if (r === undefined) return ctx.reply.nullBulk();
  ctx.reply.integer(reverse ? z.size - 1 - r : r);
}

function zscan(ctx: CommandContext): void {
  const cursor = parseCursorOrReply(ctx, 2);
  if (cursor === null) return;
  const z = readZ(ctx, 1);
  if (!z) return replyEmptyScan(ctx);
  const opts = parseScanOptionsOrReply(ctx, 3);
  if (!opts) return;
  // COUNT counts members and scores alike for a hashtable-backed zset (scanGenericCommand).
  const r = z.scan(cursor, opts.count);
  const items = opts.pattern ? r.items.filter((n) => stringMatch(opts.pattern!, n.ele)) : r.items;
  ctx.reply.arrayLen(2);
  ctx.reply.bulk(String(r.cursor));
  ctx.reply.arrayLen(items.length * 2);
  for (const n of items) {
    ctx.reply.bulk(bytes(n.ele));
    ctx.reply.bulk(d2string(n.score));
  }
}

// ---- popping --------------------------------------------------------------------------------

export const ZSET_MIN = 0, ZSET_MAX = 1;
const ZPOPMIN_NAME = Buffer.from("ZPOPMIN");
const ZPOPMAX_NAME = Buffer.from("ZPOPMAX");

/**
 * genericZpopCommand: pops from the first non-empty key of keys. emitKey adds the key name
 * (BZPOP*, ZMPOP); nested gives [key, [[member, score]...]] (ZMPOP) or pairs (RESP3 with count).
 * Returns the key popped from, or null when nothing was popped.
 */
export function genericZpop(ctx: CommandContext, keys: Buffer[], where: number, emitKey: boolean,
                            count: number, nested: boolean, nilWhenEmpty: boolean): Buffer | null {
  const types = ctx.server.types, db = ctx.client.db;
  let key: Buffer | null = null;
  let z: ZSetValue | null = null;
  for (const k of keys) {
    z = types.lookupWrite<ZSetValue>(db, k, OBJ_ZSET);
    if (z) { key = k; break; }
  }
  if (!z || !key) {
    if (nilWhenEmpty) ctx.reply.nullArray();
    else ctx.reply.arrayLen(0);
    return null;
  }
  if (count === 0) {
    ctx.reply.arrayLen(0);
    return null;
  }
  const countGiven = count !== -1;
  if (count === -1) count = 1;
  const llen = z.size;
  const rangelen = Math.min(count, llen);
  const r = ctx.reply;
  if (!nested && !emitKey) r.arrayLen(rangelen * 2);
  else if (nested && !emitKey) r.arrayLen(rangelen);
  else if (!nested && emitKey) { r.arrayLen(rangelen * 2 + 1); r.bulk(key); }
  else { r.arrayLen(2); r.bulk(key); r.arrayLen(rangelen); }
  for (let i = 0; i < rangelen; i++) {
    const n = where === ZSET_MAX ? z.last()! : z.first()!;
    const ele = n.ele, score = n.score;
    z.remove(ele);
    if (nested) r.arrayLen(2);
    r.bulkBinary(ele);
    r.double(score);
  }
  types.deleteIfEmpty(db, key, z);
  // As Redis 7.0 replays them: ZPOPMIN/ZPOPMAX as sent; BZPOPMIN/BZPOPMAX as ZPOPMIN/ZPOPMAX
  // key; ZMPOP/BZMPOP as ZPOPMIN/ZPOPMAX key <popped> (genericZpopCommand,
  // blockingGenericZpopCommand; checked against redis-server's AOF).
  types.propagateBuilt(db, () => !emitKey ? ctx.argv
    : [where === ZSET_MAX ? ZPOPMAX_NAME : ZPOPMIN_NAME, key, ...(countGiven ? [Buffer.from(String(rangelen))] : [])]);
  return key;
}

function zpopMinMax(ctx: CommandContext, where: number): void {
  if (ctx.argv.length > 3) return ctx.reply.error(ERR.syntax);
  let count = -1;
  if (ctx.argv.length === 3) {
    const c = getPositiveLongOrReply(ctx, 2);
    if (c === null) return;
    count = c;
  }
  const nested = ctx.reply.resp > 2 && count !== -1;
  genericZpop(ctx, [ctx.argv[1]], where, false, count, nested, false);
}

/** ZMPOP / BZMPOP argument parsing: numkeys, keys, MIN|MAX, [COUNT n]; null after an error reply. */
export function parseZmpopArgs(ctx: CommandContext, numkeysIdx: number): { keys: Buffer[]; where: number; count: number } | null {
  const numkeys = getRangeLongOrReply(ctx, numkeysIdx, 1n, LONG_MAX, "numkeys should be greater than 0");
  if (numkeys === null) return null;
  const whereIdx = numkeysIdx + numkeys + 1;
  if (whereIdx >= ctx.argv.length) { ctx.reply.error(ERR.syntax); return null; }
  const w = arg(ctx, whereIdx).toLowerCase();
  let where: number;
  if (w === "min") where = ZSET_MIN;
  else if (w === "max") where = ZSET_MAX;
  else { ctx.reply.error(ERR.syntax); return null; }
  let count = -1;
  for (let j = whereIdx + 1; j < ctx.argv.length; j++) {
    const more = ctx.argv.length - 1 - j;
    if (count === -1 && arg(ctx, j).toLowerCase() === "count" && more) {
      j++;
      const c = getRangeLongOrReply(ctx, j, 1n, LONG_MAX, "count should be greater than 0");
      if (c === null) return null;
      count = c;
    } else { ctx.reply.error(ERR.syntax); return null; }
  }
  if (count === -1) count = 1;
  return { keys: ctx.argv.slice(numkeysIdx + 1, numkeysIdx + 1 + numkeys), where, count };
}

function zmpop(ctx: CommandContext): void {
  const a = parseZmpopArgs(ctx, 1);
  if (!a) return;
  genericZpop(ctx, a.keys, a.where, true, a.count, true, true);
}

// ---- ZRANDMEMBER -------------------------------------------------------------------------------

function zrandmember(ctx: CommandContext): void {
  const argv = ctx.argv;
  if (argv.length >= 3) {
    const l = getRangeLongOrReply(ctx, 2, -LONG_MAX, LONG_MAX);
    if (l === null) return;
    let withscores = false;
    if (argv.length > 4 || (argv.length === 4 && arg(ctx, 3).toLowerCase() !== "withscores")) {
      return ctx.reply.error(ERR.syntax);
    } else if (argv.length === 4) {
      withscores = true;
      const half = Number(LONG_MAX / 2n);
      if (l < -half || l > half) return ctx.reply.error("value is out of range");
    }
    return zrandmemberWithCount(ctx, l, withscores);
  }
  const z = readZ(ctx, 1);
  if (!z) return ctx.reply.nullBulk();
  ctx.reply.bulk(bytes(z.random().ele));
}

function zrandmemberWithCount(ctx: CommandContext, l: number, withscores: boolean): void {
  const z = readZ(ctx, 1);
  if (!z) return ctx.reply.arrayLen(0);
  const uniq = l >= 0;
  const count = Math.abs(l);
  if (count === 0) return ctx.reply.arrayLen(0);
  const size = z.size;
  if (!uniq || count === 1) {
    if (randomReplyTooLargeOrReply(ctx, count, z.random().ele.length + (withscores ? 24 : 0))) return;
    const picks: ZNode[] = [];
    for (let i = 0; i < count; i++) picks.push(z.random());
    return replyPairs(ctx, picks, withscores);
  }
  if (count >= size) return replyPairs(ctx, [...z], withscores);
  replyPairs(ctx, distinctRandomSample(count, size, () => [...z], () => z.random()), withscores);
}

// ---- blocking pops (BZPOPMIN, BZPOPMAX, BZMPOP) ------------------------------------------------

/**
 * blockingGenericZpopCommand: pops at once from the first non-empty key, else blocks the
 * client on all of them (src/types/blocking.ts) until a ZADD & co. creates one.
 */
function blockingZpop(ctx: CommandContext, keys: Buffer[], where: number, timeoutIdx: number,
                      count: number, nested: boolean, nilWhenEmpty: boolean): void {
  const timeoutAt = parseTimeoutOrReply(ctx, timeoutIdx);
  if (timeoutAt === null) return;
  const types = ctx.server.types, db = ctx.client.db;
  for (const key of keys) {
    const z = types.lookupWrite<ZSetValue>(db, key, OBJ_ZSET);
    if (!z || z.size === 0) continue;
    genericZpop(ctx, [key], where, true, count, nested, nilWhenEmpty);
    return;
  }
  // Inside MULTI or a script a client may not block: answer as a timeout.
  if (ctx.server.blocking.denied(ctx.client)) return ctx.reply.nullArray();
  const req: BlockedRequest = {
    client: ctx.client,
    db,
    keys,
    type: OBJ_ZSET,
    timeoutAt,
    serve: (key, reply) => { genericZpop({ ...ctx, reply }, [key], where, true, count, nested, nilWhenEmpty); },
  };
  ctx.server.blocking.block(req);
}

function bzpopMinMax(ctx: CommandContext, where: number): void {
  blockingZpop(ctx, ctx.argv.slice(1, -1), where, ctx.argv.length - 1, -1, false, false);
}

function bzmpop(ctx: CommandContext): void {
  const a = parseZmpopArgs(ctx, 2);
  if (!a) return;
  blockingZpop(ctx, a.keys, a.where, 1, a.count, true, true);
}

export function registerZsetCommands(t: CommandTable): void {
  const def = (name: string, fn: (ctx: CommandContext) => void) => t.define(name, typeCommand(fn));
  def("zadd", (ctx) => zaddGeneric(ctx, 0));
  def("zincrby", (ctx) => zaddGeneric(ctx, IN_INCR));
  def("zrem", zrem);
  def("zremrangebyrank", (ctx) => zremrangeGeneric(ctx, RANK));
  def("zremrangebyscore", (ctx) => zremrangeGeneric(ctx, SCORE));
  def("zremrangebylex", (ctx) => zremrangeGeneric(ctx, LEX));
  def("zunionstore", (ctx) => zsetOpGeneric(ctx, ctx.argv[1], 2, OP_UNION, false));
  def("zinterstore", (ctx) => zsetOpGeneric(ctx, ctx.argv[1], 2, OP_INTER, false));
  def("zdiffstore", (ctx) => zsetOpGeneric(ctx, ctx.argv[1], 2, OP_DIFF, false));
  def("zunion", (ctx) => zsetOpGeneric(ctx, null, 1, OP_UNION, false));
  def("zinter", (ctx) => zsetOpGeneric(ctx, null, 1, OP_INTER, false));
  def("zintercard", (ctx) => zsetOpGeneric(ctx, null, 1, OP_INTER, true));
  def("zdiff", (ctx) => zsetOpGeneric(ctx, null, 1, OP_DIFF, false));
  def("zrange", (ctx) => zrangeGeneric(ctx, 1, false, TYPE_AUTO, DIR_AUTO));
  def("zrangestore", (ctx) => zrangeGeneric(ctx, 2, true, TYPE_AUTO, DIR_AUTO));
  def("zrevrange", (ctx) => zrangeGeneric(ctx, 1, false, RANK, DIR_REVERSE));
  def("zrangebyscore", (ctx) => zrangeGeneric(ctx, 1, false, SCORE, DIR_FORWARD));
  def("zrevrangebyscore", (ctx) => zrangeGeneric(ctx, 1, false, SCORE, DIR_REVERSE));
  def("zrangebylex", (ctx) => zrangeGeneric(ctx, 1, false, LEX, DIR_FORWARD));
  def("zrevrangebylex", (ctx) => zrangeGeneric(ctx, 1, false, LEX, DIR_REVERSE));
  def("zcount", zcount);
  def("zlexcount", zlexcount);
  def("zcard", zcard);
  def("zscore", zscore);
  def("zmscore", zmscore);
  def("zrank", (ctx) => zrankGeneric(ctx, false));
  def("zrevrank", (ctx) => zrankGeneric(ctx, true));
  def("zscan", zscan);
  def("zpopmin", (ctx) => zpopMinMax(ctx, ZSET_MIN));
  def("zpopmax", (ctx) => zpopMinMax(ctx, ZSET_MAX));
  def("zmpop", zmpop);
  def("zrandmember", zrandmember);
  def("bzpopmin", (ctx) => bzpopMinMax(ctx, ZSET_MIN));
  def("bzpopmax", (ctx) => bzpopMinMax(ctx, ZSET_MAX));
  def("bzmpop", bzmpop);
}
