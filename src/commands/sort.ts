// SORT and SORT_RO (Redis's sort.c) over lists, sets and sorted sets.
//
// BY and GET patterns name other keys: "weight_*" (a string key, the element substituted
// for the first '*'), "obj_*->field" (a hash field) and "#" (the element itself). Those keys
// are strings and hashes, which the kernel holds, so they are read with a GET / HGET run on
// the shard that owns each key (Shard.call): any key of another type, or a missing one,
// reads as nothing, as Redis's lookupKeyByPattern answers NULL.
import { aclOf } from "../acl/acl.js";
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { ERR } from "./context.js";
import { OBJ_LIST, OBJ_SET, OBJ_ZSET, WrongTypeError } from "../types/value.js";
import { typeCommand } from "../types/keyspace.js";
import type { SetValue } from "../types/set.js";
import type { ZSetValue, ZNode } from "../types/zset.js";
import { readKey, storeKey, freshLru } from "../persistence/keyspace-io.js";
import { bulkOf, isError } from "../server/resp-read.js";
import { strtod } from "../util/strtod.js";
import { pqsort } from "../util/pqsort.js";
import { arg, getLongOrReply } from "./type-args.js";
import { scriptCaller } from "./scripting.js";

const GET = Buffer.from("GET");
const HGET = Buffer.from("HGET");

/** One element to sort: the element, its numeric weight or its BY value for ALPHA. */
interface SortItem { obj: string; score: number; cmp: string | null }

/**
 * lookupKeyByPattern: the value the pattern names for element `subst` (latin1), or null.
 * "#" is the element itself; a pattern without '*' names nothing; "*->f" reads hash field f.
 */
function lookupByPattern(ctx: CommandContext, pattern: string, subst: string): string | null {
  if (pattern === "#") return subst;
  const star = pattern.indexOf("*");
  if (star < 0) return null;
  const arrow = pattern.indexOf("->", star + 1);
  const hasField = arrow >= 0 && arrow + 2 < pattern.length;
  const keyEnd = hasField ? arrow : pattern.length;
  const key = Buffer.from(pattern.slice(0, star) + subst + pattern.slice(star + 1, keyEnd), "latin1");
  const server = ctx.server;
  const shard = server.router.shardOf(key);
  const argv = hasField ? [HGET, key, Buffer.from(pattern.slice(arrow + 2), "latin1")] : [GET, key];
  const reply = shard.call(argv, ctx.client.db, server.now());
  if (isError(reply)) return null; // WRONGTYPE: not a string (or hash) key
  const v = bulkOf(reply);
  return v === null ? null : v.toString("latin1");
}

function compareBytes(a: string, b: string): number { return a < b ? -1 : a > b ? 1 : 0; }

function sortGeneric(ctx: CommandContext, readonly: boolean): void {
  const argv = ctx.argv;
  let desc = false, alpha = false;
  let limitStart = 0, limitCount = -1;
  let sortby: string | null = null;
  let storekey: Buffer | null = null;
  let dontsort = false;
  const getops: string[] = [];
  // BY and GET patterns may name any key: Redis allows them only with read access to all keys.
  const fullKeyAccess = aclOf(ctx.server).hasFullReadAccess(ctx.client, ctx.spec, argv);
  for (let j = 2; j < argv.length; j++) {
    const left = argv.length - j - 1;
    const opt = arg(ctx, j).toLowerCase();
    if (opt === "asc") desc = false;
    else if (opt === "desc") desc = true;
    else if (opt === "alpha") alpha = true;
    else if (opt === "limit" && left >= 2) {
      const s = getLongOrReply(ctx, j + 1);
      if (s === null) return;
      const c = getLongOrReply(ctx, j + 2);
      if (c === null) return;
      limitStart = s; limitCount = c;
      j += 2;
    } else if (!readonly && opt === "store" && left >= 1) {
      storekey = argv[++j];
    } else if (opt === "by" && left >= 1) {
      sortby = arg(ctx, ++j);
      // A BY pattern without '*' is constant: nothing to sort by, nothing to look up.
      if (!sortby.includes("*")) dontsort = true;
      else if (!fullKeyAccess) return ctx.reply.error("BY option of SORT denied due to insufficient ACL permissions.");
    } else if (opt === "get" && left >= 1) {
      if (!fullKeyAccess) return ctx.reply.error("GET option of SORT denied due to insufficient ACL permissions.");
      getops.push(arg(ctx, ++j));
    } else return ctx.reply.error(ERR.syntax);
  }

  const types = ctx.server.types, db = ctx.client.db;
  const t = types.typeOf(db, argv[1]);
  if (t >= 0 && t !== OBJ_LIST && t !== OBJ_SET && t !== OBJ_ZSET) throw new WrongTypeError();
  // A list lives in the kernel: its elements are read out as the entry blob (latin1 strings).
  const list = t === OBJ_LIST ? listElements(ctx, argv[1]) : null;
  const set = t === OBJ_SET ? types.lookupRead<SetValue>(db, argv[1], OBJ_SET) : null;
  const zset = t === OBJ_ZSET ? types.lookupRead<ZSetValue>(db, argv[1], OBJ_ZSET) : null;

  // Redis converts a listpack sorted set to a skiplist for SORT, for good (sort.c: "Destructively
  // convert encoded sorted sets for SORT"): OBJECT ENCODING says skiplist afterwards.
  if (zset) zset.enc = "skiplist";

  // A set has no order of its own: with STORE, or for a script, sort it anyway so the
  // result is deterministic (replicas and AOF see the same thing).
  if (dontsort && set && (storekey || scriptCaller(ctx.server) === ctx.client)) {
    dontsort = false;
    alpha = true;
    sortby = null;
  }

  const vectorlen = list?.length ?? set?.size ?? zset?.size ?? 0;
  let start = Math.min(Math.max(limitStart, 0), vectorlen);
  limitCount = Math.min(Math.max(limitCount, -1), vectorlen);
  let end = limitCount < 0 ? vectorlen - 1 : start + limitCount - 1;
  if (start >= vectorlen) {
    start = vectorlen - 1;
    end = vectorlen - 2;
  }
  if (end >= vectorlen) end = vectorlen - 1;

  // Lists and sorted sets have their own order: with nothing to sort, read just the range.
  const vector: SortItem[] = [];
  const item = (obj: string): SortItem => ({ obj, score: 0, cmp: null });
  if ((list || zset) && dontsort) {
    if (end >= start) {
      const n = end - start + 1;
      if (list) {
        if (desc) for (let i = list.length - start - 1; i >= list.length - start - n; i--) vector.push(item(list[i]));
        else for (let i = start; i <= start + n - 1; i++) vector.push(item(list[i]));
      } else {
        let node: ZNode | null = desc ? zset!.byRank(zset!.size - 1 - start) : zset!.byRank(start);
        for (let i = 0; i < n && node; i++, node = desc ? node.backward : node.next()) vector.push(item(node.ele));
      }
      end -= start;
      start = 0;
    }
  } else if (list) {
    for (const v of list) vector.push(item(v));
  } else if (set) {
    for (const m of set.values()) vector.push(item(m));
  } else if (zset) {
    for (const n of zset) vector.push(item(n.ele));
  }

  let conversionError = false;
  if (!dontsort) {
    for (const it of vector) {
      let byval: string | null;
      if (sortby) {
        byval = lookupByPattern(ctx, sortby, it.obj);
        if (byval === null) continue;
      } else byval = it.obj;
      if (alpha) {
        if (sortby) it.cmp = byval;
      } else {
        const r = strtod(byval);
        it.score = r.value;
        if (r.end !== byval.length || r.erange || Number.isNaN(r.value)) conversionError = true;
      }
    }
    const byPattern = sortby !== null;
    const compare = (a: SortItem, b: SortItem): number => {
      let cmp: number;
      if (!alpha) {
        cmp = a.score > b.score ? 1 : a.score < b.score ? -1 : compareBytes(a.obj, b.obj);
      } else if (byPattern) {
        if (a.cmp === null || b.cmp === null) cmp = a.cmp === b.cmp ? 0 : a.cmp === null ? -1 : 1;
        else cmp = compareBytes(a.cmp, b.cmp);
      } else cmp = compareBytes(a.obj, b.obj);
      return desc ? -cmp : cmp;
    };
    // As sort.c: a BY pattern with a LIMIT short of the whole vector takes Redis's partial
    // quicksort, which leaves elements that compare equal in its own order; otherwise glibc's
    // qsort, a merge sort (stable) for arrays that fit in memory, as Array#sort is.
    if (byPattern && (start !== 0 || end !== vectorlen - 1)) pqsort(vector, compare, start, end);
    else vector.sort(compare);
  }

  const count = end - start + 1;
  const outputlen = getops.length ? getops.length * count : count;
  if (conversionError) return ctx.reply.error("One or more scores can't be converted into double");
  if (!storekey) {
    ctx.reply.arrayLen(outputlen);
    for (let j = start; j <= end; j++) {
      if (!getops.length) ctx.reply.bulk(Buffer.from(vector[j].obj, "latin1"));
      for (const p of getops) {
        const v = lookupByPattern(ctx, p, vector[j].obj);
        if (v === null) ctx.reply.nullBulk();
        else ctx.reply.bulk(Buffer.from(v, "latin1"));
      }
    }
    return;
  }
  const out: string[] = [];
  for (let j = start; j <= end; j++) {
    if (!getops.length) out.push(vector[j].obj);
    else for (const p of getops) out.push(lookupByPattern(ctx, p, vector[j].obj) ?? "");
  }
  if (outputlen) {
    const now = ctx.server.now();
    storeKey(ctx.server, db, storekey, { value: { type: "list", items: out }, expireAt: -1, lru: freshLru(ctx.server, now) });
    types.propagate(db, argv);
  } else if (types.delete(db, storekey)) {
    types.propagate(db, argv);
  }
  ctx.reply.integer(outputlen);
}

/** The elements of the list at key (which exists and is a list), head first, as latin1 strings. */
function listElements(ctx: CommandContext, key: Buffer): string[] {
  const stored = readKey(ctx.server, ctx.client.db, key);
  if (!stored || stored.value.type !== "list") return [];
  return stored.value.items.map((e) => (typeof e === "string" ? e : Buffer.from(e.buffer, e.byteOffset, e.length).toString("latin1")));
}

export function registerSortCommands(t: CommandTable): void {
  t.define("sort", typeCommand((ctx) => sortGeneric(ctx, false)));
  t.define("sort_ro", typeCommand((ctx) => sortGeneric(ctx, true)));
}
