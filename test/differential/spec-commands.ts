// Random commands drawn from Redis's own argument specs (COMMAND DOCS of the redis-server the
// test runs beside), for side-by-side runs against it.
//
// test/differential/commands.ts draws from hand-written generators, which cover what someone
// thought of. This one walks each command's documented arguments (tokens, oneof, blocks,
// optional and repeated parts) and fills them from small pools chosen by the argument's type
// and name, over keys seeded with one value of each type: most calls are valid, so the runs
// reach the paths behind the argument parsing (it found GEORADIUS WITHHASH replying a
// fractional score as ":1.5", no RESP integer). Left out: what Redis does not define exactly
// (randomness, the clock, server state, hashtable order behind SORT's equal weights), and
// what another unit covers (server, connection, scripting, pub/sub, cluster, transactions).

import type { Rand as Rng } from "../../src/verify/prng.js";

/** One argument of COMMAND DOCS, as a plain object. */
export interface ArgSpec {
  name: string;
  type: string;
  token?: string;
  flags?: string[];
  arguments?: ArgSpec[];
}

export interface CommandSpec { name: string; group: string; args: ArgSpec[] }

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

/** Keys by the command's group; every stream starts from SEED_COMMANDS. */
const KEYS: Record<string, string[]> = {
  string: ["s0", "s1", "s2"], bitmap: ["s0", "s1", "s2"], hyperloglog: ["p0", "p1", "s2"],
  hash: ["h0", "h1", "h2"], list: ["l0", "l1", "l2"], set: ["S0", "S1", "S2"],
  "sorted-set": ["z0", "z1", "z2"], geo: ["g0", "g1", "z2"], stream: ["x0", "x1", "x2"],
  generic: ["s0", "h0", "l0", "S0", "z0", "x0", "nokey"],
};

export const SEED_COMMANDS: string[][] = [
  ["SET", "s0", "10"], ["SET", "s1", "hello world"], ["HSET", "h0", "a", "1", "b", "2", "c", "x"], ["HSET", "h1", "f", "1.5"],
  ["RPUSH", "l0", "a", "b", "c", "a", "1"], ["RPUSH", "l1", "x", "y"], ["SADD", "S0", "a", "b", "c", "1"], ["SADD", "S1", "b", "c", "d"],
  ["ZADD", "z0", "1", "a", "2", "b", "3", "c", "3", "d"], ["ZADD", "z1", "2", "b", "5", "e", "-1", "f"],
  ["GEOADD", "g0", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"], ["GEOADD", "g1", "2.35", "48.85", "Paris"],
  ["XADD", "x0", "1-1", "f", "v"], ["XADD", "x0", "2-1", "f", "w", "g", "z"], ["XGROUP", "CREATE", "x0", "grp", "0"], ["PFADD", "p0", "a", "b", "c"],
];

const LEFT_OUT = new Set([
  // randomness, the clock, server or client state
  "randomkey", "spop", "srandmember", "hrandfield", "zrandmember", "ttl", "pttl", "expiretime", "pexpiretime", "object",
  "scan", "sscan", "hscan", "zscan", "keys", "dump", "restore-asking", "wait", "waitaof", "migrate", "move", "copy", "swapdb",
  "select", "touch", "xautoclaim", "xclaim", "xinfo", "xpending", "xread", "xreadgroup", "pfdebug", "pfselftest",
  // blocking
  "blpop", "brpop", "brpoplpush", "blmove", "blmpop", "bzpopmin", "bzpopmax", "bzmpop",
  // SORT BY a pattern whose weights are all missing keeps the set's hashtable order
  "sort", "sort_ro",
]);
const LEFT_OUT_GROUPS = new Set(["server", "connection", "scripting", "pubsub", "cluster", "transactions"]);
/** TTL options comparing two expiry times set a moment apart (their order depends on the clock's tick). */
const EXPIRE_COMMANDS = new Set(["expire", "pexpire", "expireat", "pexpireat"]);

/** The commands to draw from, out of COMMAND DOCS' reply (name -> docs, RESP2 flat pairs). */
export function commandSpecs(docs: unknown[]): CommandSpec[] {
  const out: CommandSpec[] = [];
  for (let i = 0; i + 1 < docs.length; i += 2) {
    const name = String(docs[i]);
    const d = pairs(docs[i + 1] as unknown[]);
    if (LEFT_OUT.has(name) || LEFT_OUT_GROUPS.has(String(d.group)) || d.subcommands) continue;
    out.push({ name, group: String(d.group), args: argSpecs(d.arguments as unknown[][] | undefined) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function pairs(flat: unknown[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[String(flat[i])] = flat[i + 1];
  return o;
}

function argSpecs(list: unknown[][] | undefined): ArgSpec[] {
  return (list ?? []).map((flat) => {
    const o = pairs(flat);
    return { name: String(o.name), type: String(o.type), token: o.token as string | undefined,
      flags: o.flags as string[] | undefined, arguments: o.arguments ? argSpecs(o.arguments as unknown[][]) : undefined };
  });
}

function value(r: Rng, a: ArgSpec, group: string): string {
  const name = a.name;
  switch (a.type) {
    case "key": return pick(r, r() < 0.85 ? KEYS[group] ?? KEYS.generic : KEYS.generic);
    // Long enough that nothing expires while a stream runs; 0 and -1 delete at once.
    case "integer": if (/seconds|milliseconds/.test(name)) return pick(r, ["1000000", "0", "-1", "5000000"]);
      return pick(r, ["0", "1", "2", "3", "-1", "5", "10", "100", "-2"]);
    case "double": return pick(r, ["0", "1", "1.5", "-2", "3", "+inf", "-inf", "10", "0.5"]);
    // In the future (a past one expires the key at a moment that depends on the expire cycle),
    // 0 (deleted at once) or too far (an error).
    case "unix-time": return /millisecond/.test(name) ? pick(r, ["4000000000000", "0", "5000000000000000"])
      : pick(r, ["4000000000", "0", "5000000000000"]);
    case "pattern": return pick(r, ["*", "a*", "?", "[ab]*"]);
    case "pure-token": return a.token!;
  }
  if (/score|min|max/.test(name)) return pick(r, ["0", "1", "2", "(1", "-inf", "+inf", "3", "(3", "[a", "(b", "-", "+"]);
  if (/start|end|index|offset|count|len/.test(name)) return pick(r, ["0", "1", "-1", "2", "-2", "5", "100"]);
  if (name === "id") return pick(r, ["0", "1-1", "2-1", "-", "+", "$", ">", "0-0", "3-0"]);
  if (/longitude/.test(name)) return pick(r, ["13.36", "15.08", "2.35", "-inf"]);
  if (/latitude/.test(name)) return pick(r, ["38.11", "37.5", "48.85", "91"]);
  if (/radius|width|height/.test(name)) return pick(r, ["100", "200", "1000", "0"]);
  if (/member|field|element/.test(name)) return pick(r, ["a", "b", "c", "d", "e", "f", "x", "1", "zz"]);
  return pick(r, ["a", "b", "1", "2", "x", "10", "hello", "-3", "2.5"]);
}

function fill(r: Rng, a: ArgSpec, group: string, out: string[]): void {
  const flags = a.flags ?? [];
  if (flags.includes("optional") && r() < 0.5) return;
  const times = flags.includes("multiple") ? 1 + Math.floor(r() * 3) : 1;
  for (let t = 0; t < times; t++) {
    if (a.token && a.type !== "pure-token" && (t === 0 || flags.includes("multiple_token"))) out.push(a.token);
    if (a.type === "oneof") {
      const choice = pick(r, a.arguments!);
      fill(r, { ...choice, flags: (choice.flags ?? []).filter((f) => f !== "optional") }, group, out);
    } else if (a.type === "block") {
      for (const c of a.arguments!) fill(r, c, group, out);
    } else out.push(value(r, a, group));
  }
}

/** The next command: one of `specs`, its arguments drawn from its documented shape. */
export function nextSpecCommand(r: Rng, specs: CommandSpec[]): string[] {
  for (;;) {
    const c = pick(r, specs);
    const argv = [c.name.toUpperCase()];
    for (const a of c.args) fill(r, a, c.group, argv);
    if (c.name === "xadd" && argv.includes("*")) continue; // an ID from the clock
    if (EXPIRE_COMMANDS.has(c.name) && (argv.includes("GT") || argv.includes("LT"))) continue;
    return argv;
  }
}
