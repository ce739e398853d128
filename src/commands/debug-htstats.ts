// DEBUG HTSTATS <dbid> and HTSTATS-KEY <key> (below): Redis's dictGetStats text (dict.c _dictGetStatsHt) for a db's main
// dict, counted by the kernel over its real buckets (assembly/keyspace/dict-stats.ts), and
// for its expires. Tests read it to see the table's size and whether it is rehashing (unit/
// other's "Don't rehash if redis has child process").
//
// With several shards each kernel holds its own dict for the db: the reply has one
// "[Dictionary HT]" / "[Expires HT]" pair per shard, each under a "[Shard N]" line (no
// single table exists whose size would be their sum). With one shard (the default) the
// text is Redis's to the letter.
//
// Expires: Redis keeps a second dict (db->expires). Our keys with a TTL are indexed by one
// open-addressing table shared by every db (assembly/keyspace/expire-map.ts), which has no
// buckets or chains per db, so only the count is printed (or Redis's empty-dict text).
import type { CommandTable } from "./table.js";
import type { Kernel } from "../kernel/kernel.js";
import { defineDebug } from "./debug.js";
import { parseSafeInteger, type CommandContext } from "./context.js";
import { OBJ_ZSET, ENC_SKIPLIST } from "../types/value.js";
import { SetValue } from "../types/set.js";

const VECTLEN = 50;

/** C's printf("%.02f") of a float: toFixed, but an exact tie rounds to even as glibc does. */
export function fixed2(x: number): string {
  const t = x * 1000;
  if (Number.isInteger(t) && Math.abs(t) % 10 === 5) {
    const lo = Math.floor(x * 100);
    return ((lo % 2 === 0 ? lo : lo + 1) / 100).toFixed(2);
  }
  return x.toFixed(2);
}

/** The numbers of one table as the kernel counted them (dict-stats.ts layout). */
export interface TableStats { size: number; used: number; slots: number; maxChain: number; totalChain: number; clvector: number[] }

/** _dictGetStatsHt's text for table htidx. */
export function formatTableStats(htidx: number, s: TableStats): string {
  const name = htidx === 0 ? "main hash table" : "rehashing target";
  if (s.used === 0) return `Hash table ${htidx} stats (${name}):\nNo stats available for empty dictionaries\n`;
  // (float)a/b: the ratio is a float before printf promotes it.
  let text = `Hash table ${htidx} stats (${name}):\n` +
    ` table size: ${s.size}\n` +
    ` number of elements: ${s.used}\n` +
    ` different slots: ${s.slots}\n` +
    ` max chain length: ${s.maxChain}\n` +
    ` avg chain length (counted): ${fixed2(Math.fround(s.totalChain / s.slots))}\n` +
    ` avg chain length (computed): ${fixed2(Math.fround(s.used / s.slots))}\n` +
    " Chain length distribution:\n";
  for (let i = 0; i < VECTLEN - 1; i++) {
    if (s.clvector[i] === 0) continue;
    text += `   ${i}: ${s.clvector[i]} (${fixed2(Math.fround(Math.fround(s.clvector[i] / s.size) * 100))}%)\n`;
  }
  return text;
}

function kernelTableStats(k: Kernel, db: number, htidx: number): TableStats | null {
  if (!k.x.dbDictStats(db, htidx)) return null;
  return readStats(k);
}

/** The numbers the kernel's last dict-stats call left at dictStatsPtr(). */
function readStats(k: Kernel): TableStats {
  const p = k.x.dictStatsPtr();
  const v = new Uint32Array(k.mem.buffer, k.mem.byteOffset + p, 5 + VECTLEN).slice();
  return { size: v[0], used: v[1], slots: v[2], maxChain: v[3], totalChain: v[4], clvector: Array.from(v.subarray(5)) };
}

/** dictGetStats: table 0, then the rehashing target while there is one. */
function dbDictText(k: Kernel, db: number): string {
  let text = formatTableStats(0, kernelTableStats(k, db, 0)!);
  const t1 = kernelTableStats(k, db, 1);
  if (t1) text += formatTableStats(1, t1);
  return text;
}

function expiresText(k: Kernel, db: number): string {
  const n = k.x.dbExpires(db);
  if (n === 0) return "Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n";
  return `Hash table 0 stats (main hash table):\n number of elements: ${n}\n` +
    " (kept in an open-addressing index shared by every db: no buckets or chains)\n";
}

const NOT_A_DICT = "The value stored at the specified key is not represented using an hash table";

/**
 * DEBUG HTSTATS-KEY <key>: dictGetStats of the dict holding the key's value. A hash in the
 * hashtable encoding is a kernel Dict (assembly/keyspace/hash-value.ts), and a set in the
 * hashtable encoding has Redis-shaped buckets (src/types/set-dict.ts): their real buckets are
 * printed. A sorted set in the skiplist encoding has no Redis dict behind it here, so it gets
 * an error that says so instead of numbers of a table that does not exist.
 */
function htstatsKey(ctx: CommandContext): void {
  const { server, client, argv, reply } = ctx;
  const key = argv[2];
  const k = server.router.shardOf(key).kernel;
  const p = k.x.alloc(Math.max(key.length, 1));
  k.mem.set(key, p);
  let text = "";
  let found = k.x.keyDictStats(client.db, p, key.length, 0, server.now());
  if (found === 1) {
    text = formatTableStats(0, readStats(k));
    if (k.x.keyDictStats(client.db, p, key.length, 1, server.now()) === 1) text += formatTableStats(1, readStats(k));
  }
  const handle = found === 0 ? k.x.keyHandle(client.db, p, key.length, server.now()) : 0;
  k.x.free(p);
  if (found === -1) return reply.error("no such key");
  if (found === 1) return reply.verbatim(text, "txt");
  const v = handle > 0 ? server.types.registry.peek(handle) : undefined;
  const enc = v?.encoding();
  if (v instanceof SetValue && v.dict) {
    let setText = formatTableStats(0, v.dict.stats(0)!);
    const t1 = v.dict.stats(1);
    if (t1) setText += formatTableStats(1, t1);
    return reply.verbatim(setText, "txt");
  }
  if (v?.type === OBJ_ZSET && enc === ENC_SKIPLIST) {
    return reply.error("The sorted set at the specified key is held by LatticeKV's host " +
      "in a Map and a skiplist, not in a Redis dict: there are no hash table stats to show");
  }
  reply.error(NOT_A_DICT);
}

export function registerHtstatsDebug(_t: CommandTable): void {
  defineDebug("htstats-key", 3, htstatsKey);
  defineDebug("htstats", 3, ({ server, argv, reply }) => {
    const dbid = parseSafeInteger(argv[2]);
    if (dbid === null) return reply.error("value is not an integer or out of range");
    if (dbid < 0 || dbid >= server.config.getNumber("databases")) return reply.error("Out of range database");
    const shards = server.shards;
    let text = "";
    shards.forEach((s, i) => {
      if (shards.length > 1) text += `[Shard ${i}]\n`;
      text += "[Dictionary HT]\n" + dbDictText(s.kernel, dbid) + "[Expires HT]\n" + expiresText(s.kernel, dbid);
    });
    reply.verbatim(text, "txt");
  });
}
