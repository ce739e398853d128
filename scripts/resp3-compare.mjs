// RESP3 reply survey: sends the same commands over HELLO 3 to a redis-server and to LatticeKV
// and compares the raw reply bytes. Commands whose replies hold volatile values (times, ids,
// memory sizes, addresses) are compared by shape: the RESP3 types, aggregate lengths and map
// keys, with scalars replaced by their type.
//
//   node scripts/resp3-compare.mjs <redis-port> <latticekv-port> [--verbose]
//
// Prints one line per difference and a summary; exit code 1 when something differs.
import net from "node:net";

const [redisPort, oursPort] = process.argv.slice(2, 4).map(Number);
const verbose = process.argv.includes("--verbose");
if (!redisPort || !oursPort) {
  console.error("usage: node scripts/resp3-compare.mjs <redis-port> <latticekv-port>");
  process.exit(2);
}

// [mode, ...argv]: "=" exact bytes, "~" shape only, "s" exact after sorting the elements of
// every set / top-level array (members in hash-table order).
const COMMANDS = [
  ["=", "FLUSHALL"],
  ["=", "SET", "s", "hello"], ["=", "GET", "s"], ["=", "GET", "nokey"], ["=", "APPEND", "s", "!"],
  ["=", "INCRBYFLOAT", "f", "1.5"], ["=", "INCR", "n"], ["=", "MGET", "s", "nokey", "n"],
  ["=", "GETEX", "s", "PERSIST"], ["=", "SETRANGE", "s", "1", "a"], ["=", "GETRANGE", "s", "0", "2"],
  ["=", "LCS", "s", "s"], ["=", "LCS", "s", "s", "IDX", "WITHMATCHLEN"],
  ["=", "STRLEN", "s"], ["=", "TYPE", "s"], ["=", "OBJECT", "ENCODING", "s"],
  ["=", "HSET", "h", "a", "1", "b", "2", "c", "3"], ["=", "HGETALL", "h"], ["=", "HGETALL", "nokey"],
  ["=", "HMGET", "h", "a", "x"], ["=", "HKEYS", "h"], ["=", "HVALS", "h"], ["=", "HSTRLEN", "h", "a"],
  ["=", "HINCRBYFLOAT", "h", "a", "0.25"], ["=", "HRANDFIELD", "h", "-2"], ["=", "HSCAN", "h", "0"],
  ["=", "SADD", "si", "3", "1", "2"], ["=", "SMEMBERS", "si"], ["=", "SMEMBERS", "nokey"],
  ["s", "SADD", "ss", "x", "y", "z"], ["s", "SMEMBERS", "ss"], ["s", "SINTER", "ss", "ss"],
  ["s", "SUNION", "si", "ss"], ["s", "SDIFF", "ss", "si"], ["=", "SMISMEMBER", "ss", "x", "q"],
  ["=", "SISMEMBER", "ss", "x"], ["=", "SCARD", "ss"], ["=", "SINTERCARD", "2", "ss", "si"],
  ["=", "ZADD", "z", "1", "a", "2.5", "b", "3", "c"], ["=", "ZSCORE", "z", "b"], ["=", "ZSCORE", "z", "nope"],
  ["=", "ZMSCORE", "z", "a", "nope"], ["=", "ZRANGE", "z", "0", "-1", "WITHSCORES"], ["=", "ZRANGE", "z", "0", "-1"],
  ["=", "ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES"], ["=", "ZINCRBY", "z", "1", "a"],
  ["=", "ZRANK", "z", "a"], ["=", "ZPOPMIN", "z"], ["=", "ZPOPMAX", "z", "1"], ["=", "ZADD", "z", "1", "a", "5", "e"],
  ["=", "ZINTER", "1", "z", "WITHSCORES"], ["=", "ZUNION", "2", "z", "z", "WITHSCORES"], ["=", "ZMPOP", "1", "z", "MIN"],
  ["=", "ZRANDMEMBER", "z", "1", "WITHSCORES"], ["=", "ZSCAN", "z", "0"], ["=", "BZPOPMIN", "z", "0.01"],
  ["=", "ZADD", "z", "INCR", "1", "e"], ["=", "ZADD", "z", "NX", "INCR", "1", "e"],
  ["=", "RPUSH", "l", "a", "b", "c", "b"], ["=", "LRANGE", "l", "0", "-1"], ["=", "LPOS", "l", "b", "COUNT", "0"],
  ["=", "LMPOP", "1", "l", "LEFT", "COUNT", "2"], ["=", "BLPOP", "nolist", "0.01"], ["=", "BLMPOP", "0.01", "1", "nolist", "LEFT"],
  ["=", "LPOP", "nolist"], ["=", "LPOP", "nolist", "2"], ["=", "RPOP", "l", "5"],
  ["=", "XADD", "x", "1-1", "f", "v"], ["=", "XADD", "x", "2-1", "g", "w"], ["=", "XRANGE", "x", "-", "+"],
  ["=", "XREVRANGE", "x", "+", "-", "COUNT", "1"], ["=", "XREAD", "STREAMS", "x", "0"], ["=", "XREAD", "COUNT", "1", "STREAMS", "x", "nostream", "0", "0"],
  ["=", "XGROUP", "CREATE", "x", "g", "0"], ["=", "XREADGROUP", "GROUP", "g", "c", "STREAMS", "x", ">"],
  ["=", "XPENDING", "x", "g"], ["~", "XPENDING", "x", "g", "-", "+", "10"], ["~", "XINFO", "STREAM", "x"],
  ["~", "XINFO", "STREAM", "x", "FULL"], ["~", "XINFO", "GROUPS", "x"], ["~", "XINFO", "CONSUMERS", "x", "g"],
  ["=", "XAUTOCLAIM", "x", "g", "c", "0", "0"], ["=", "XCLAIM", "x", "g", "c", "0", "1-1", "JUSTID"],
  ["=", "PFADD", "hll", "a", "b"], ["=", "PFCOUNT", "hll"],
  ["=", "GEOADD", "geo", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
  ["=", "GEODIST", "geo", "Palermo", "Catania"], ["=", "GEOPOS", "geo", "Palermo", "nope"],
  ["=", "GEOSEARCH", "geo", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHCOORD", "WITHDIST", "WITHHASH"],
  ["=", "GEOHASH", "geo", "Palermo"],
  ["=", "EXISTS", "s", "h"], ["=", "TTL", "s"], ["=", "PTTL", "nokey"], ["=", "EXPIRETIME", "s"],
  ["=", "SORT", "si"], ["=", "SORT", "ss", "ALPHA"], ["=", "DBSIZE"], ["s", "KEYS", "*"],
  ["=", "CONFIG", "GET", "maxmemory"], ["s", "CONFIG", "GET", "maxmemory*"], ["=", "CONFIG", "GET", "nothing"],
  ["=", "OBJECT", "FREQ", "s"], ["=", "OBJECT", "HELP"],
  ["=", "EVAL", "redis.setresp(3); return redis.call('HGETALL', KEYS[1])", "1", "h"],
  ["=", "EVAL", "redis.setresp(3); return redis.call('SMEMBERS', KEYS[1])", "1", "si"],
  ["=", "EVAL", "redis.setresp(3); return redis.call('ZSCORE', KEYS[1], 'b')", "1", "z"],
  ["=", "EVAL", "return {double=1.5}", "0"], ["=", "EVAL", "return {map={a=1}}", "0"],
  ["=", "EVAL", "return {set={a=true}}", "0"], ["=", "EVAL", "return {big_number='123456789012345678901'}", "0"],
  ["=", "EVAL", "return true", "0"], ["=", "EVAL", "return false", "0"], ["=", "EVAL", "return nil", "0"],
  ["=", "EVAL", "redis.setresp(3); return redis.call('GET', 'nokey')", "0"],
  ["=", "FUNCTION", "LOAD", "#!lua name=lib\nredis.register_function('f', function() return 1 end)"],
  ["=", "FUNCTION", "LIST"], ["=", "FUNCTION", "LIST", "WITHCODE"], ["~", "FUNCTION", "STATS"], ["=", "FCALL", "f", "0"],
  ["=", "FUNCTION", "FLUSH"],
  ["=", "PUBSUB", "NUMSUB", "ch"], ["=", "PUBSUB", "CHANNELS"], ["=", "PUBSUB", "NUMPAT"], ["=", "PUBSUB", "SHARDNUMSUB", "ch"],
  ["=", "PUBLISH", "ch", "m"],
  ["=", "CLIENT", "TRACKINGINFO"], ["=", "CLIENT", "GETREDIR"], ["=", "CLIENT", "GETNAME"], ["=", "CLIENT", "SETNAME", "cmp"],
  ["~", "CLIENT", "INFO"], ["~", "HELLO", "3"], ["=", "CLIENT", "NO-EVICT", "on"],
  ["=", "ACL", "WHOAMI"], ["=", "ACL", "GETUSER", "default"], ["=", "ACL", "CAT", "geo"], ["=", "ACL", "LOG", "RESET"],
  ["=", "ACL", "LOG"], ["=", "ACL", "USERS"], ["=", "ACL", "DRYRUN", "default", "get", "x"],
  ["=", "CONFIG", "SET", "slowlog-log-slower-than", "0"], ["=", "SLOWLOG", "RESET"], ["=", "PING"],
  ["~", "SLOWLOG", "GET", "2"], ["=", "SLOWLOG", "LEN"], ["=", "CONFIG", "SET", "slowlog-log-slower-than", "10000"],
  ["=", "SLOWLOG", "HELP"], ["=", "LATENCY", "RESET"], ["=", "LATENCY", "LATEST"], ["=", "LATENCY", "HISTORY", "command"],
  ["=", "CONFIG", "SET", "latency-monitor-threshold", "1"], ["=", "DEBUG", "SLEEP", "0.01"],
  ["~", "LATENCY", "LATEST"], ["~", "LATENCY", "HISTORY", "command"], ["~", "LATENCY", "DOCTOR"],
  ["=", "LATENCY", "GRAPH", "nothing"], ["~", "LATENCY", "HISTOGRAM", "ping"], ["=", "LATENCY", "HISTOGRAM", "nosuchcmd"],
  ["=", "CONFIG", "SET", "latency-monitor-threshold", "0"],
  ["~", "MEMORY", "STATS"], ["~", "MEMORY", "DOCTOR"], ["~", "MEMORY", "USAGE", "s"], ["=", "MEMORY", "USAGE", "nokey"],
  ["~", "INFO", "keyspace"], ["~", "TIME"], ["=", "WAIT", "0", "0"], ["=", "ROLE"],
  ["~", "COMMAND", "INFO", "get"], ["~", "COMMAND", "DOCS", "get"], ["=", "COMMAND", "GETKEYSANDFLAGS", "set", "a", "b"],
  ["=", "COMMAND", "GETKEYS", "set", "a", "b"], ["~", "MODULE", "LIST"], ["=", "RESET"],
].filter((c) => c.length > 1);

/** Parses one RESP3 value at pos: [end, shape]. Throws when incomplete. */
function parse(buf, pos, sorted) {
  const nl = buf.indexOf("\r\n", pos);
  if (nl < 0) throw new RangeError("incomplete");
  const t = String.fromCharCode(buf[pos]);
  const line = buf.toString("latin1", pos + 1, nl);
  let p = nl + 2;
  switch (t) {
    case "+": case "-": return [p, t + line];
    case ":": case ",": case "(": return [p, t + "#"];
    case "_": return [p, "_"];
    case "#": return [p, "#" + line];
    case "$": case "=": case "!": {
      const n = Number(line);
      if (n < 0) return [p, "$-1"];
      if (buf.length < p + n + 2) throw new RangeError("incomplete");
      const body = buf.toString("latin1", p, p + n);
      return [p + n + 2, t === "=" ? "=" + body.slice(0, 4) : "$", body];
    }
    case "*": case "~": case ">": case "%": case "|": {
      const n = Number(line);
      if (n < 0) return [p, "*-1"];
      const count = t === "%" || t === "|" ? n * 2 : n;
      const parts = [];
      for (let i = 0; i < count; i++) {
        const [e, shape, body] = parse(buf, p, sorted);
        // Map keys stay (their names are the reply's structure); other scalars are shapes.
        parts.push((t === "%" || t === "|") && i % 2 === 0 && body !== undefined ? "$" + body : shape);
        p = e;
      }
      if (sorted && t === "~") parts.sort();
      return [p, `${t}${n}[${parts.join(",")}]`];
    }
    default: throw new Error(`bad reply type ${JSON.stringify(t)} at ${pos}`);
  }
}

function connect(port) {
  const sock = net.connect(port, "127.0.0.1");
  let buf = Buffer.alloc(0);
  let waiter = null;
  sock.on("data", (d) => { buf = Buffer.concat([buf, d]); waiter?.(); });
  const ready = new Promise((res, rej) => { sock.once("connect", res); sock.once("error", rej); });
  return {
    ready,
    async call(argv) {
      sock.write(`*${argv.length}\r\n` + argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join(""));
      const deadline = Date.now() + 5000;
      for (;;) {
        try {
          const [end] = parse(buf, 0, false);
          const out = buf.subarray(0, end);
          buf = buf.subarray(end);
          return out;
        } catch (e) {
          if (!(e instanceof RangeError)) throw e;
          if (Date.now() > deadline) return Buffer.from("<timeout>");
          await new Promise((res) => { waiter = res; setTimeout(res, 50); });
          waiter = null;
        }
      }
    },
    close() { sock.destroy(); },
  };
}

/** Sorts the elements of a top-level array or set reply (hash-table order). */
function sortedTop(bytes) {
  const t = String.fromCharCode(bytes[0]);
  if (t !== "*" && t !== "~" && t !== "%") return bytes.toString("latin1");
  const nl = bytes.indexOf("\r\n");
  const n = Number(bytes.toString("latin1", 1, nl));
  let p = nl + 2;
  const items = [];
  for (let i = 0; i < (t === "%" ? n * 2 : n); i++) {
    const [e] = parse(bytes, p, false);
    items.push(bytes.toString("latin1", p, e));
    p = e;
  }
  if (t === "%") {
    const pairs = [];
    for (let i = 0; i < items.length; i += 2) pairs.push(items[i] + items[i + 1]);
    return t + n + "\r\n" + pairs.sort().join("");
  }
  return t + n + "\r\n" + items.sort().join("");
}

const show = (b) => JSON.stringify(b.length > 300 ? b.slice(0, 300) + "..." : b);

const real = connect(redisPort);
const ours = connect(oursPort);
await Promise.all([real.ready, ours.ready]);
for (const c of [real, ours]) await c.call(["HELLO", "3"]);
let diffs = 0;
for (const [mode, ...argv] of COMMANDS) {
  const [a, b] = [await real.call(argv), await ours.call(argv)];
  let x, y;
  if (mode === "=") { x = a.toString("latin1"); y = b.toString("latin1"); }
  else if (mode === "s") { x = sortedTop(a); y = sortedTop(b); }
  else { x = parse(a, 0, true)[1]; y = parse(b, 0, true)[1]; }
  if (x !== y) {
    diffs++;
    console.log(`DIFF ${argv.join(" ").slice(0, 80)}\n  redis: ${show(x)}\n  ours:  ${show(y)}`);
  } else if (verbose) console.log(`same ${argv.join(" ").slice(0, 80)}`);
}
real.close();
ours.close();
console.log(`${COMMANDS.length} commands, ${diffs} differ`);
process.exit(diffs ? 1 : 0);
