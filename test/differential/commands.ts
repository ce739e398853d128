// Random command streams for side-by-side runs against redis-server (differential testing).
//
// A seeded generator (the verifier's mulberry32) draws commands of every data type and of
// transactions, scripts, functions, ACL users and databases over a handful of keys, so keys change type under each other (WRONGTYPE paths),
// with arguments drawn from small pools that mix valid values with the malformed ones
// Redis has error strings for (non-integers, non-floats, NaN, bad ranges, unknown flags).
// Only commands whose reply Redis defines exactly are drawn: no randomness (SPOP,
// SRANDMEMBER...), no clock (TTL), no server state (INFO). A reply Redis gives in an
// unspecified order (a hashtable set's members) is compared sorted: see `unordered`.

import type { Rand as Rng } from "../../src/verify/prng.js";

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const maybe = (r: Rng, p: number) => r() < p;

// One hash tag: multi-key commands stay in one slot, whatever the shard count.
const KEYS = ["{d}k0", "{d}k1", "{d}k2", "{d}k3", "{d}k4", "{d}k5"];
const FIELDS = ["f0", "f1", "f2", "f3", "f4", "f5"];
const MEMBERS = ["a", "b", "c", "1", "2", "10", "-3", "3.5", "dd", ""];
const VALUES = ["", "1", "10", "-5", "abc", "3.0", "1e3", "0x10", "9223372036854775807", "-9223372036854775808", " 1", "x".repeat(70), "4.5"];
// Hash values stay short: a value over hash-max-listpack-value (64) makes the hash a
// hashtable, whose field order Redis leaves unspecified (a listpack keeps insertion order).
const HASH_VALUES = VALUES.filter((v) => v.length <= 64);
const INTS = ["0", "1", "-1", "2", "3", "5", "-100", "100", "abc", "9223372036854775807", "1.5", ""];
const FLOATS = ["0", "1.5", "-2", "1e3", "inf", "-inf", "abc", "3.0e-2", "nan", "0x10", "5"];
const SCORES = ["0", "1", "-2.5", "+inf", "-inf", "1e3", "3.0", "7", "abc", "nan", "2"];
const SCORE_RANGES = ["-inf", "+inf", "(1", "2", "(2.5", "0", "abc", "1e3", "((1"];
const LEX_RANGES = ["-", "+", "[a", "(b", "[c", "(", "c", "[10"];
// A TTL (seconds or milliseconds) long enough that no key expires while a stream runs: the two
// servers get each command a moment apart, so a key expiring mid-stream could be gone from one
// and not yet from the other.
const TTLS = ["1000000", "0", "-1", "abc"];
const INDEXES = ["0", "1", "-1", "2", "-2", "5", "-100", "100", "abc"];

const key = (r: Rng) => pick(r, KEYS);
const member = (r: Rng) => pick(r, MEMBERS);
const some = (r: Rng, n: number, f: (r: Rng) => string[]) => {
  const out: string[] = [];
  const k = 1 + Math.floor(r() * n);
  for (let i = 0; i < k; i++) out.push(...f(r));
  return out;
};
const flags = (r: Rng, options: string[][]) => {
  const out: string[] = [];
  for (const group of options) if (maybe(r, 0.3)) out.push(pick(r, group));
  return out;
};

type Gen = (r: Rng) => string[];
const GENERATORS: [number, Gen][] = [
  // Strings.
  [4, (r) => ["SET", key(r), pick(r, VALUES), ...flags(r, [["NX", "XX"], ["GET"], ["KEEPTTL", "EX", "PX"]]).flatMap((f) => f === "EX" || f === "PX" ? [f, pick(r, TTLS)] : [f])]],
  [3, (r) => ["GET", key(r)]],
  [2, (r) => ["APPEND", key(r), pick(r, VALUES)]],
  [2, (r) => ["INCR", key(r)]],
  [2, (r) => ["INCRBY", key(r), pick(r, INTS)]],
  [1, (r) => ["DECRBY", key(r), pick(r, INTS)]],
  [2, (r) => ["INCRBYFLOAT", key(r), pick(r, FLOATS)]],
  [1, (r) => ["STRLEN", key(r)]],
  [1, (r) => ["GETRANGE", key(r), pick(r, INDEXES), pick(r, INDEXES)]],
  [1, (r) => ["SETRANGE", key(r), pick(r, ["0", "1", "5", "-1", "abc"]), pick(r, VALUES)]],
  [1, (r) => ["GETDEL", key(r)]],
  [1, (r) => ["GETSET", key(r), pick(r, VALUES)]],
  [1, (r) => ["MGET", key(r), key(r), key(r)]],
  [1, (r) => ["MSET", ...some(r, 2, (r) => [key(r), pick(r, VALUES)])]],
  [1, (r) => ["MSETNX", ...some(r, 2, (r) => [key(r), pick(r, VALUES)])]],
  [1, (r) => ["SETNX", key(r), pick(r, VALUES)]],
  [1, (r) => ["LCS", key(r), key(r), ...flags(r, [["LEN", "IDX"], ["WITHMATCHLEN"]])]],
  // Keys.
  [2, (r) => ["DEL", key(r), ...(maybe(r, 0.3) ? [key(r)] : [])]],
  [2, (r) => ["EXISTS", key(r), key(r)]],
  [2, (r) => ["TYPE", key(r)]],
  [1, (r) => ["RENAME", key(r), key(r)]],
  [1, (r) => ["RENAMENX", key(r), key(r)]],
  [1, (r) => ["COPY", key(r), key(r), ...flags(r, [["REPLACE"]])]],
  [1, (r) => ["PERSIST", key(r)]],
  [1, (r) => ["EXPIRE", key(r), pick(r, ["1000", "2000", "abc", "9223372036854775807"]), ...flags(r, [["NX", "XX", "GT", "LT"]])]],
  [2, (r) => ["OBJECT", "ENCODING", key(r)]],
  [1, (r) => ["SORT", key(r), ...flags(r, [["ALPHA"], ["DESC"], ["LIMIT"]]).flatMap((f) => f === "LIMIT" ? ["LIMIT", "0", pick(r, ["2", "-1", "abc"])] : [f])]],
  // Hashes.
  [4, (r) => ["HSET", key(r), ...some(r, 3, (r) => [pick(r, FIELDS), pick(r, HASH_VALUES)])]],
  [2, (r) => ["HGET", key(r), pick(r, FIELDS)]],
  [2, (r) => ["HDEL", key(r), pick(r, FIELDS), pick(r, FIELDS)]],
  [1, (r) => ["HLEN", key(r)]],
  [2, (r) => ["HINCRBY", key(r), pick(r, FIELDS), pick(r, INTS)]],
  [2, (r) => ["HINCRBYFLOAT", key(r), pick(r, FIELDS), pick(r, FLOATS)]],
  [1, (r) => ["HMGET", key(r), pick(r, FIELDS), pick(r, FIELDS)]],
  [1, (r) => ["HEXISTS", key(r), pick(r, FIELDS)]],
  [1, (r) => ["HSTRLEN", key(r), pick(r, FIELDS)]],
  [1, (r) => ["HSETNX", key(r), pick(r, FIELDS), pick(r, HASH_VALUES)]],
  [2, (r) => ["HGETALL", key(r)]],
  [1, (r) => ["HKEYS", key(r)]],
  [1, (r) => ["HVALS", key(r)]],
  // Lists.
  [3, (r) => [pick(r, ["LPUSH", "RPUSH"]), key(r), ...some(r, 3, (r) => [member(r)])]],
  [1, (r) => [pick(r, ["LPUSHX", "RPUSHX"]), key(r), member(r)]],
  [2, (r) => [pick(r, ["LPOP", "RPOP"]), key(r), ...(maybe(r, 0.4) ? [pick(r, INTS)] : [])]],
  [3, (r) => ["LRANGE", key(r), pick(r, INDEXES), pick(r, INDEXES)]],
  [1, (r) => ["LINDEX", key(r), pick(r, INDEXES)]],
  [1, (r) => ["LSET", key(r), pick(r, INDEXES), member(r)]],
  [1, (r) => ["LINSERT", key(r), pick(r, ["BEFORE", "AFTER", "MIDDLE"]), member(r), member(r)]],
  [1, (r) => ["LREM", key(r), pick(r, INDEXES), member(r)]],
  [1, (r) => ["LTRIM", key(r), pick(r, INDEXES), pick(r, INDEXES)]],
  [1, (r) => ["LLEN", key(r)]],
  [1, (r) => ["LPOS", key(r), member(r), ...flags(r, [["RANK"], ["COUNT"], ["MAXLEN"]]).flatMap((f) => [f, pick(r, INDEXES)])]],
  [1, (r) => ["LMOVE", key(r), key(r), pick(r, ["LEFT", "RIGHT"]), pick(r, ["LEFT", "RIGHT", "UP"])]],
  [1, (r) => ["RPOPLPUSH", key(r), key(r)]],
  // Sets.
  [3, (r) => ["SADD", key(r), ...some(r, 3, (r) => [member(r)])]],
  [2, (r) => ["SREM", key(r), member(r), member(r)]],
  [1, (r) => ["SCARD", key(r)]],
  [1, (r) => ["SISMEMBER", key(r), member(r)]],
  [1, (r) => ["SMISMEMBER", key(r), member(r), member(r)]],
  [2, (r) => ["SMEMBERS", key(r)]],
  [2, (r) => [pick(r, ["SINTER", "SUNION", "SDIFF"]), key(r), key(r)]],
  [1, (r) => [pick(r, ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), key(r), key(r), key(r)]],
  [1, (r) => ["SMOVE", key(r), key(r), member(r)]],
  [1, (r) => ["SINTERCARD", pick(r, ["2", "0", "abc", "3"]), key(r), key(r), ...flags(r, [["LIMIT"]]).flatMap((f) => [f, pick(r, INTS)])]],
  // Sorted sets.
  [4, (r) => ["ZADD", key(r), ...flags(r, [["NX", "XX"], ["GT", "LT"], ["CH"], ["INCR"]]), ...some(r, 2, (r) => [pick(r, SCORES), member(r)])]],
  [2, (r) => ["ZSCORE", key(r), member(r)]],
  [1, (r) => ["ZINCRBY", key(r), pick(r, SCORES), member(r)]],
  [2, (r) => ["ZRANGE", key(r), pick(r, INDEXES), pick(r, INDEXES), ...flags(r, [["REV"], ["WITHSCORES"]])]],
  [2, (r) => ["ZRANGE", key(r), pick(r, SCORE_RANGES), pick(r, SCORE_RANGES), "BYSCORE", ...flags(r, [["REV"], ["WITHSCORES"], ["LIMIT"]]).flatMap((f) => f === "LIMIT" ? ["LIMIT", pick(r, ["0", "1", "-1"]), pick(r, ["2", "-1", "0"])] : [f])]],
  [1, (r) => ["ZRANGE", key(r), pick(r, LEX_RANGES), pick(r, LEX_RANGES), "BYLEX", ...flags(r, [["REV"], ["LIMIT"]]).flatMap((f) => f === "LIMIT" ? ["LIMIT", "0", pick(r, ["2", "-1"])] : [f])]],
  [1, (r) => [pick(r, ["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), key(r), pick(r, SCORE_RANGES), pick(r, SCORE_RANGES), ...flags(r, [["WITHSCORES"]])]],
  [1, (r) => [pick(r, ["ZRANK", "ZREVRANK"]), key(r), member(r)]],
  [2, (r) => ["ZREM", key(r), member(r), member(r)]],
  [1, (r) => ["ZCARD", key(r)]],
  [1, (r) => ["ZCOUNT", key(r), pick(r, SCORE_RANGES), pick(r, SCORE_RANGES)]],
  [1, (r) => ["ZLEXCOUNT", key(r), pick(r, LEX_RANGES), pick(r, LEX_RANGES)]],
  [1, (r) => [pick(r, ["ZPOPMIN", "ZPOPMAX"]), key(r), ...(maybe(r, 0.4) ? [pick(r, INTS)] : [])]],
  [1, (r) => [pick(r, ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"]), key(r), "2", key(r), key(r), ...flags(r, [["WEIGHTS"], ["AGGREGATE"]]).flatMap((f) => f === "WEIGHTS" ? ["WEIGHTS", pick(r, FLOATS), pick(r, FLOATS)] : ["AGGREGATE", pick(r, ["SUM", "MIN", "MAX", "AVG"])])]],
  [1, (r) => [pick(r, ["ZUNION", "ZINTER", "ZDIFF"]), "2", key(r), key(r), ...flags(r, [["WITHSCORES"]])]],
  [1, (r) => ["ZMSCORE", key(r), member(r), member(r)]],
  [1, (r) => ["ZREMRANGEBYRANK", key(r), pick(r, INDEXES), pick(r, INDEXES)]],
  [1, (r) => ["ZREMRANGEBYSCORE", key(r), pick(r, SCORE_RANGES), pick(r, SCORE_RANGES)]],
  [1, (r) => ["ZREMRANGEBYLEX", key(r), pick(r, LEX_RANGES), pick(r, LEX_RANGES)]],
  [1, (r) => ["ZRANGESTORE", key(r), key(r), pick(r, INDEXES), pick(r, INDEXES)]],
  // Bitmaps.
  [2, (r) => ["SETBIT", key(r), pick(r, ["0", "7", "8", "100", "-1", "abc", "4294967296"]), pick(r, ["0", "1", "2"])]],
  [1, (r) => ["GETBIT", key(r), pick(r, ["0", "7", "100", "-1"])]],
  [1, (r) => ["BITCOUNT", key(r), ...(maybe(r, 0.5) ? [pick(r, INDEXES), pick(r, INDEXES), ...flags(r, [["BYTE", "BIT", "WORD"]])] : [])]],
  [1, (r) => ["BITPOS", key(r), pick(r, ["0", "1", "2"]), ...(maybe(r, 0.5) ? [pick(r, INDEXES), ...(maybe(r, 0.5) ? [pick(r, INDEXES), ...flags(r, [["BYTE", "BIT"]])] : [])] : [])]],
  [1, (r) => ["BITOP", pick(r, ["AND", "OR", "XOR", "NOT", "NAND"]), key(r), key(r), ...(maybe(r, 0.5) ? [key(r)] : [])]],
  [1, (r) => ["BITFIELD", key(r), ...some(r, 2, (r) => maybe(r, 0.5)
    ? ["GET", pick(r, ["u8", "i5", "u63", "i64", "u64", "x3"]), pick(r, ["0", "#1", "13", "-1"])]
    : [pick(r, ["SET", "INCRBY"]), pick(r, ["u8", "i5", "u2"]), pick(r, ["0", "#2", "7"]), pick(r, INTS)])]],
  // HyperLogLog.
  [1, (r) => ["PFADD", key(r), ...some(r, 3, (r) => [member(r)])]],
  [1, (r) => ["PFCOUNT", key(r), ...(maybe(r, 0.3) ? [key(r)] : [])]],
  [1, (r) => ["PFMERGE", key(r), key(r)]],
  // Geo (a geo set is a sorted set).
  [1, (r) => ["GEOADD", key(r), ...flags(r, [["NX", "XX"], ["CH"]]), ...some(r, 2, (r) => [pick(r, ["13.361389", "15.087269", "-200", "0", "179.9"]), pick(r, ["38.115556", "37.502669", "86", "0", "-85.05"]), member(r)])]],
  [1, (r) => ["GEODIST", key(r), member(r), member(r), ...flags(r, [["m", "km", "mi", "ft", "yd"]])]],
  [1, (r) => ["GEOPOS", key(r), member(r), member(r)]],
  [1, (r) => ["GEOHASH", key(r), member(r)]],
  [1, (r) => ["GEOSEARCH", key(r), "FROMLONLAT", "15", "37", "BYRADIUS", pick(r, ["200", "1000", "-1"]), "km", ...flags(r, [["ASC", "DESC"], ["WITHDIST"], ["WITHCOORD"]])]],
  // Streams, with explicit IDs (generated ones carry the clock).
  [2, (r) => ["XADD", key(r), ...flags(r, [["NOMKSTREAM"]]), pick(r, ["1-1", "2-0", "5-5", "0-1", "3", "abc", "1-*"]), ...some(r, 2, (r) => [pick(r, FIELDS), pick(r, HASH_VALUES)])]],
  [1, (r) => ["XLEN", key(r)]],
  [1, (r) => [pick(r, ["XRANGE", "XREVRANGE"]), key(r), pick(r, ["-", "+", "1", "2-0", "(1-1", "abc"]), pick(r, ["-", "+", "5", "3-0", "(5-5"]), ...(maybe(r, 0.3) ? ["COUNT", pick(r, INTS)] : [])]],
  [1, (r) => ["XDEL", key(r), pick(r, ["1-1", "2-0", "5-5", "9-9"])]],
  [1, (r) => ["XTRIM", key(r), pick(r, ["MAXLEN", "MINID"]), ...flags(r, [["=", "~"]]), pick(r, ["0", "1", "2-0", "abc"])]],
  [1, (r) => ["XGROUP", "CREATE", key(r), pick(r, ["g1", "g2"]), pick(r, ["0", "$", "1-1", "abc"]), ...flags(r, [["MKSTREAM"]])]],
  [1, (r) => ["XREADGROUP", "GROUP", pick(r, ["g1", "g2"]), pick(r, ["c1", "c2"]), "COUNT", pick(r, ["1", "2", "0"]), "STREAMS", key(r), pick(r, [">", "0", "2-0"])]],
  [1, (r) => ["XACK", key(r), pick(r, ["g1", "g2"]), pick(r, ["1-1", "2-0", "5-5", "abc"])]],
  [1, (r) => ["XPENDING", key(r), pick(r, ["g1", "g2"])]],
  [1, (r) => ["XCLAIM", key(r), pick(r, ["g1", "g2"]), pick(r, ["c1", "c3"]), "0", pick(r, ["1-1", "2-0", "5-5"]), ...flags(r, [["JUSTID"]])]],
  [1, (r) => ["XINFO", "STREAM", key(r)]],
  // Pops of several keys and the blocking pops, which answer at once when there is data
  // (and after 10 ms with a null when there is none).
  [1, (r) => ["LMPOP", "2", key(r), key(r), pick(r, ["LEFT", "RIGHT", "UP"]), ...(maybe(r, 0.4) ? ["COUNT", pick(r, INTS)] : [])]],
  [1, (r) => ["ZMPOP", "2", key(r), key(r), pick(r, ["MIN", "MAX", "UP"]), ...(maybe(r, 0.4) ? ["COUNT", pick(r, INTS)] : [])]],
  [1, (r) => ["ZINTERCARD", "2", key(r), key(r), ...(maybe(r, 0.3) ? ["LIMIT", pick(r, INTS)] : [])]],
  [1, (r) => [pick(r, ["BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX"]), key(r), key(r), pick(r, ["0.01", "-1", "abc"])]],
  [1, (r) => ["BLMOVE", key(r), key(r), pick(r, ["LEFT", "RIGHT"]), pick(r, ["LEFT", "RIGHT"]), "0.01"]],
  // Expiry replies (TTL's value needs the clock: not drawn).
  [1, (r) => ["GETEX", key(r), ...flags(r, [["PERSIST", "EX", "PXAT"]]).flatMap((f) => f === "PERSIST" ? [f] : [f, pick(r, ["100000", "0", "abc", "99999999999999"])])]],
  [1, (r) => [pick(r, ["SETEX", "PSETEX"]), key(r), pick(r, TTLS), pick(r, VALUES)]],
  [1, (r) => [pick(r, ["PEXPIRE", "EXPIREAT", "PEXPIREAT"]), key(r), pick(r, ["100000000000000", "0", "-1", "abc"]), ...flags(r, [["NX", "XX", "GT", "LT"]])]],
  // Databases.
  [1, (r) => ["SELECT", pick(r, ["0", "0", "0", "1", "16", "abc", "2147483648", "-9223372036854775808"])]],
  [1, (r) => ["MOVE", key(r), pick(r, ["0", "1", "abc"])]],
  [1, (r) => ["SWAPDB", pick(r, ["0", "1"]), pick(r, ["0", "1", "20"])]],
  // Server and introspection commands with defined replies (not COMMAND COUNT/LIST: ours
  // has CRDT.PEER and CRDT.PEERS and no MODULE, README's compatibility notes).
  [1, (r) => ["ECHO", pick(r, VALUES)]],
  [1, (r) => ["PING", ...(maybe(r, 0.5) ? [pick(r, VALUES)] : [])]],
  [1, (r) => ["COMMAND", "INFO", pick(r, ["get", "set", "zadd", "eval", "xreadgroup", "config|get", "nosuch", "GEORADIUS"])]],
  [1, (r) => ["COMMAND", "GETKEYS", ...pick(r, [["SET", "a", "b"], ["MSET", "a", "1", "b", "2"], ["EVAL", "return 1", "2", "x", "y"], ["ZUNIONSTORE", "d", "2", "a", "b"], ["XREAD", "STREAMS", "s1", "s2", "0", "0"], ["SORT", "a", "STORE", "b"], ["GET"], ["PING"], ["LMPOP", "2", "a", "b", "LEFT"]])]],
  [1, (r) => ["CONFIG", "GET", pick(r, ["maxmemory-policy", "hash-max-listpack-entries", "zset-max-*", "list-max-listpack-size", "set-max-intset-entries", "nosuch", "appendonly", "lua-time-limit"])]],
  [1, (r) => ["TOUCH", key(r), key(r)]],
  [1, (r) => ["UNLINK", key(r)]],
  // (Not OBJECT REFCOUNT: inside EXEC Redis counts the queued argv that still holds a value
  // SET stored, an artefact of its object sharing.)
  [1, (r) => ["OBJECT", pick(r, ["NOSUCH", "HELP"]), key(r)]],
  // Scripts by sha, functions and ACL users (state the streams build up and read back).
  [1, (r) => ["SCRIPT", "LOAD", pick(r, ["return 1", "return redis.call('GET', KEYS[1])", "return {"])]],
  [1, (r) => ["EVALSHA", pick(r, ["e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "4e6d8fc8bb01276962cce5371fa795a7763657ae", "0000000000000000000000000000000000000000"]), "1", key(r)]],
  [1, (r) => ["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "4e6d8fc8bb01276962cce5371fa795a7763657ae"]],
  [1, (r) => ["FUNCTION", "LOAD", ...flags(r, [["REPLACE"]]), pick(r, [
    "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return redis.call('GET', keys[1]) end)",
    "#!lua name=lib2\nredis.register_function{function_name='f2', callback=function(keys, args) return #args end, flags={'no-writes'}}",
    "#!lua name=lib3\nlocal x = ",
    "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return 'v2' end)",
  ])]],
  [1, (r) => [pick(r, ["FCALL", "FCALL_RO"]), pick(r, ["f1", "f2", "nosuch"]), "1", key(r), pick(r, VALUES)]],
  [1, (r) => ["FUNCTION", "LIST", ...flags(r, [["WITHCODE"]])]],
  [1, (r) => ["FUNCTION", "DELETE", pick(r, ["lib1", "lib2", "nosuch"])]],
  [1, (r) => ["ACL", "SETUSER", pick(r, ["u1", "u2"]), ...flags(r, [["on", "off"], ["nopass", ">secret", "#" + "a".repeat(64)], ["~k*", "%R~{d}*", "allkeys", "resetkeys"], ["+@string", "-@all", "+get", "-set", "+client|id", "allcommands"], ["&ch*", "allchannels", "resetchannels"], ["(~x* +get)", "clearselectors"], ["bogus"]])]],
  [1, (r) => ["ACL", "GETUSER", pick(r, ["u1", "u2", "default", "nosuch"])]],
  [1, (r) => ["ACL", "DELUSER", pick(r, ["u1", "u2", "nosuch"])]],
  [1, () => ["ACL", "USERS"]],
  [1, (r) => ["ACL", "DRYRUN", pick(r, ["u1", "u2", "default"]), ...pick(r, [["GET", "k1"], ["SET", "{d}k1", "v"], ["CLIENT", "ID"], ["PUBLISH", "ch1", "m"], ["NOSUCH"]])]],
  // (Not @dangerous, @admin, @slow: ours also has CRDT.PEER and CRDT.PEERS.)
  [1, (r) => ["ACL", "CAT", ...(maybe(r, 0.5) ? [pick(r, ["string", "hash", "nosuch", "scripting"])] : [])]],
  // Keyspace.
  [1, (r) => ["KEYS", pick(r, ["*", "{d}k[0-2]", "*3", "{d}k?"])]],
  // DBSIZE, or a command whose extra arguments Redis refuses (and that must not run).
  [1, (r) => pick(r, [["DBSIZE"], ["DBSIZE"], ["FLUSHDB", "SYNC", "x"], ["FLUSHALL", "x"], ["FLUSHALL", "ASYNC", "ASYNC"], ["PUBSUB", "CHANNELS", "a", "b"], ["PUBSUB", "SHARDCHANNELS", "*", "x"]])],
  // Transactions: a short MULTI block (its queued replies and EXEC's reply are compared).
  [1, (r) => ["MULTI"]],
  [1, () => ["EXEC"]],
  [1, () => ["DISCARD"]],
  // Scripts: redis.call's replies and errors converted both ways.
  [1, (r) => ["EVAL", pick(r, [
    "return redis.call('GET', KEYS[1])",
    "return redis.pcall('INCR', KEYS[1])",
    "return {redis.call('TYPE', KEYS[1])['ok'], redis.call('EXISTS', KEYS[1])}",
    "return redis.call('HGETALL', KEYS[1])",
    "return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')",
    "local v = redis.call('LRANGE', KEYS[1], 0, -1) return #v",
    "return redis.call('SET', KEYS[1], ARGV[1])",
    "return tonumber(ARGV[1])",
    "return {1, 2.9, -3.5, true, false, nil, 'x'}",
    "return redis.status_reply('FINE')",
    "return redis.error_reply('MY error')",
    "return {err = 'bad thing'}",
    // Tables are walked in Lua 5.1's order (src/scripting/table-order.ts): constructors,
    // keys added one by one, deleted keys, numbers, strings of any length.
    "return cjson.encode({k = KEYS[1], a = {1, 2.5, 'x'}, zeta = ARGV[1], [7] = true, mid = {q = 1, r = 2}})",
    "local t = {} for i = 1, 40 do t['f' .. i] = i end for i = 1, 40, 3 do t['f' .. i] = nil end t[ARGV[1]] = 0 t[KEYS[1]] = 1 t[2.5] = 2 local o = {} for k in pairs(t) do o[#o + 1] = tostring(k) end return o",
    "local t = {1, 2, 3, 4, 5, 6, 7, 8} t[8] = nil t[4] = nil local u = {n = 1} u[1] = 1 u[3] = 3 table.insert(t, 10, ARGV[1]) return {#t, #u, #{nil, nil, 3}, table.remove(t), cjson.encode(t)}",
    "return {string.rep(ARGV[1], 3, ','), table.concat({1, 2.5, 'x'}, '-'), string.format('%d %5.2f %g', 3.7, 3.14159, 1e15)}",
    // Lua 5.3 syntax (//, bitwise operators, labels) does not compile in 5.1; goto is a name.
    "return 7 // 2",
    "local a = 1 if a & 2 then return 1 end",
    "local goto = tonumber(ARGV[1]) return goto",
    "return {string.char(72, 105), math.max(1, ARGV[1], 2.5), math.min(3, '1', 2)}",
    "return string.char(256)",
    "local o = {} table.foreach({a = 1, b = ARGV[1]}, function(k, v) o[#o + 1] = k .. v end) return {o, '\\x41\\q', cjson.encode('\\u00e9')}",
    "for i, v in ipairs(nil) do end",
    "x",
    "local t = {x = 1, y = 2} t[ARGV[1]] = nil t.x = nil t[99] = 3 t[1] = 4 t[KEYS[1] .. string.rep('z', 40)] = 5 local o = {} for k, v in pairs(t) do o[#o + 1] = tostring(k) .. '=' .. v end return o",
    "return redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])",
    "return redis.call('ZADD', KEYS[1], ARGV[1], 'm')",
    "return redis.pcall('LPUSH', KEYS[1], ARGV[1])",
    "return redis.call('XADD', KEYS[1], '9-9', 'f', ARGV[1])",
  ]), "1", key(r), pick(r, VALUES)]],
];

const TOTAL = GENERATORS.reduce((n, [w]) => n + w, 0);

/**
 * The next command of the stream. `untagged` drops the keys' hash tag, so that with several
 * shards the keys of one command (and of one pipeline) live in different shards.
 */
export function nextCommand(r: Rng, untagged = false): string[] {
  let x = r() * TOTAL;
  let argv = GENERATORS[GENERATORS.length - 1][1];
  for (const [w, g] of GENERATORS) {
    x -= w;
    if (x < 0) { argv = g; break; }
  }
  const out = argv(r);
  return untagged ? out.map((a) => (a.startsWith("{d}") ? a.slice(3) : a)) : out;
}

/**
 * Commands (or "COMMAND SUBCOMMAND") whose array reply Redis orders by a hashtable: compared
 * as sorted multisets.
 */
export const unordered = new Set(["SMEMBERS", "SINTER", "SUNION", "SDIFF", "KEYS", "ACL CAT", "FUNCTION LIST"]);

/** Commands whose flat reply is name/value pairs in an unspecified order (Redis's dict order). */
export const unorderedPairs = new Set(["CONFIG"]);
