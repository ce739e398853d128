// DEBUG: the subcommands Redis's Tcl suite relies on where they are cheap to provide
// (SLEEP, SET-ACTIVE-EXPIRE, OBJECT, PROTOCOL, QUICKLIST-PACKED-THRESHOLD, CHANGE-REPL-ID,
// PAUSE-CRON, REPLYBUFFER, LOG, ERROR...). Allowed as Redis allows it: only when
// enable-debug-command is "yes", or "local" for a loopback client. Other families add
// their own (DEBUG LISTPACK, QUICKLIST...) with defineDebug().
import { replicationOf } from "../repl/replication.js";
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { protectedActionAllowed } from "../config/config.js";
import { ignoringExpiry } from "../repl/replica-expiry.js";
import { replyHelp, subcommandSyntaxError } from "./help.js";
import { log } from "../server/log.js";
import { randomBytes, createHash } from "node:crypto";
import { parseMemory } from "../config/config.js";
import { rewriteConfigFile } from "../config/rewrite.js";
import { parseSafeInteger } from "./context.js";
import { setDenyScriptsDisabled } from "./scripting.js";
import { setPeakResetTime, setResizing } from "../server/reply-buffer.js";
import { crashBySignal, panic, assertionFailed } from "../server/crash-report.js";
import { readKey } from "../persistence/keyspace-io.js";
import { rdbSavedObjectLen } from "../persistence/dump.js";

export type DebugHandler = (ctx: CommandContext) => void;

interface DebugSub { argc: number | ((argc: number) => boolean); fn: DebugHandler }

const subs = new Map<string, DebugSub>();

/** Registers DEBUG <name> for exactly `argc` arguments (DEBUG and the name included), or a predicate. */
export function defineDebug(name: string, argc: number | ((argc: number) => boolean), fn: DebugHandler): void {
  subs.set(name.toLowerCase(), { argc, fn });
}

const DEBUG_NOT_ALLOWED = "DEBUG command not allowed. If the enable-debug-command option is set to \"local\", " +
  "you can run it from a local connection, otherwise you need to set this option in the configuration file, " +
  "and then restart the server.";

/** Blocks the whole server, like Redis's nanosleep in DEBUG SLEEP. */
export function sleepSync(ms: number): void {
  if (ms <= 0) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function atoi(b: Buffer): number {
  const m = /^\s*([+-]?\d+)/.exec(b.toString("latin1"));
  return m ? Number(m[1]) : 0;
}

/** Reads a kernel command's RESP reply (status, integer, bulk or error) as text. */
function respScalar(bytes: Uint8Array): { error?: string; value?: string } {
  const s = Buffer.from(bytes).toString("latin1");
  const nl = s.indexOf("\r\n");
  const head = s.slice(0, nl);
  if (s[0] === "-") return { error: head.slice(1) };
  if (s[0] === "_") return {}; // RESP3 null
  if (s[0] === "$") return Number(head.slice(1)) < 0 ? {} : { value: s.slice(nl + 2, nl + 2 + Number(head.slice(1))) };
  return { value: head.slice(1) };
}

function debugObject(ctx: CommandContext): void {
  const { server, client, argv, reply } = ctx;
  const key = argv[2];
  const shard = server.router.shardOf(key);
  const run = (...a: string[]) => respScalar(server.router.callOn(shard, client, [...a.map((x) => Buffer.from(x)), key]));
  // Redis finds the key with dictFind: one whose TTL has passed is still there (a replica's).
  const enc = ignoringExpiry(server, () => run("OBJECT", "ENCODING"));
  if (enc.error || enc.value === undefined) return reply.error("no such key");
  const refcount = run("OBJECT", "REFCOUNT").value ?? "1";
  const idle = run("OBJECT", "IDLETIME").value ?? "0";
  // A stable pseudo address per (db, key): the same value object keeps its address, as
  // INCR's in-place update does in Redis.
  const h = createHash("sha1").update(String(client.db)).update(key).digest("hex").slice(0, 12);
  const lru = (Math.floor(Date.now() / 1000) - Number(idle)) & ((1 << 24) - 1);
  // rdbSavedObjectLen: the bytes the value takes in an RDB file (LZF compression included).
  const stored = ignoringExpiry(server, () => readKey(server, client.db, key));
  const serialized = stored ? rdbSavedObjectLen(stored.value, server.config.getBool("rdbcompression")) : 0;
  reply.status(`Value at:0x${h} refcount:${refcount} encoding:${enc.value} serializedlength:${serialized} lru:${lru} lru_seconds_idle:${idle}`);
}

/**
 * DEBUG POPULATE <count> [prefix] [size]: keys prefix:0.. (default "key") holding
 * "value:N" (padded with zero bytes, or cut, to `size`); existing keys are left alone.
 * Each key is written by its shard's SET NX.
 */
function debugPopulate(ctx: CommandContext): void {
  const { server, client, argv, reply } = ctx;
  // Redis's getPositiveLongFromObjectOrReply.
  const positive = (b: Buffer): number | null => {
    const v = parseSafeInteger(b);
    if (v === null) { reply.error("value is not an integer or out of range"); return null; }
    if (v < 0) { reply.error("value is out of range, must be positive"); return null; }
    return v;
  };
  const count = positive(argv[2]);
  if (count === null) return;
  let size = 0;
  if (argv.length === 5) {
    const v = positive(argv[4]);
    if (v === null) return;
    size = v;
  }
  const prefix = argv.length >= 4 ? argv[3].toString("latin1") : "key";
  const nx = Buffer.from("NX");
  const set = Buffer.from("SET");
  // Redis's populate adds keys without propagating them (dbAdd): no replica or AOF sees them.
  const propagateTo = server.effects.propagateTo;
  server.effects.propagateTo = 0;
  try {
    for (let j = 0; j < count; j++) {
      const key = Buffer.from(`${prefix}:${j}`, "latin1");
      let val = Buffer.from(`value:${j}`);
      if (size > 0) {
        const padded = Buffer.alloc(size);
        val.copy(padded, 0, 0, Math.min(size, val.length));
        val = padded;
      }
      server.router.callOn(server.router.shardOf(key), client, [set, key, val, nx]);
    }
  } finally {
    server.effects.propagateTo = propagateTo;
  }
  reply.ok();
}

function registerBuiltins(): void {
  defineDebug("sleep", 3, ({ argv, reply }) => {
    const secs = Number.parseFloat(argv[2].toString("latin1"));
    sleepSync(Number.isFinite(secs) ? Math.floor(secs * 1e6) / 1000 : 0);
    reply.ok();
  });
  defineDebug("set-active-expire", 3, ({ server, argv, reply }) => {
    const on = atoi(argv[2]) !== 0;
    for (const sh of server.shards) sh.kernel.x.setActiveExpire(on ? 1 : 0);
    reply.ok();
  });
  defineDebug("object", 3, debugObject);
  defineDebug("quicklist-packed-threshold", 3, ({ argv, reply }) => {
    const sz = parseMemory(argv[2].toString("latin1"));
    if (sz === null || sz > 4 * 1024 ** 3 || sz < 0) {
      return reply.error("argument must be a memory value bigger than 1 and smaller than 4gb");
    }
    reply.ok();
  });
  defineDebug("protocol", 3, ({ argv, reply }) => {
    switch (argv[2].toString("latin1").toLowerCase()) {
      case "string": return reply.bulk("Hello World");
      case "integer": return reply.integer(12345);
      case "double": return reply.double(3.141);
      case "bignum": return reply.bigNumber("1234567999999999999999999999999999999");
      case "null": return reply.nullBulk();
      case "array": reply.arrayLen(3); for (let j = 0; j < 3; j++) reply.integer(j); return;
      case "set": reply.setLen(3); for (let j = 0; j < 3; j++) reply.integer(j); return;
      case "map": reply.mapLen(3); for (let j = 0; j < 3; j++) { reply.integer(j); reply.bool(j === 1); } return;
      case "attrib":
        if (reply.resp >= 3) {
          reply.attributeLen(1);
          reply.bulk("key-popularity");
          reply.arrayLen(2);
          reply.bulk("key:123");
          reply.integer(90);
        }
        return reply.bulk("Some real reply following the attribute");
      case "push":
        if (reply.resp < 3) return reply.error("RESP2 is not supported by this command");
        reply.pushLen(2);
        reply.bulk("server-cpu-usage");
        reply.integer(42);
        // A push is out of band: a normal reply follows so the caller's read completes.
        return reply.bulk("Some real reply following the push reply");
      case "verbatim": return reply.verbatim("This is a verbatim\nstring");
      case "true": return reply.bool(true);
      case "false": return reply.bool(false);
      default:
        return reply.error("Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
    }
  });
  defineDebug("change-repl-id", 2, ({ server, reply }) => {
    log("warning", "Changing replication IDs after receiving DEBUG change-repl-id");
    // Redis's changeReplicationId + clearReplicationId2.
    const repl = replicationOf(server);
    repl.replid = randomBytes(20).toString("hex");
    repl.replid2 = "0000000000000000000000000000000000000000";
    repl.secondReplOffset = -1;
    reply.ok();
  });
  // Accepted and acknowledged: LatticeKV has no counterpart to tune.
  defineDebug("pause-cron", 3, ({ server, argv, reply }) => {
    server.cronPaused = atoi(argv[2]) !== 0;
    reply.ok();
  });
  // Accepted: LatticeKV's AOF writes have no sleep to tune.
  defineDebug("aof-flush-sleep", 3, ({ reply }) => reply.ok());
  defineDebug("set-disable-deny-scripts", 3, ({ server, argv, reply }) => {
    setDenyScriptsDisabled(server, atoi(argv[2]) !== 0);
    reply.ok();
  });
  defineDebug("replybuffer", 4, (ctx) => {
    const what = ctx.argv[2].toString("latin1").toLowerCase();
    const arg = ctx.argv[3].toString("latin1");
    if (what === "peak-reset-time") {
      if (!setPeakResetTime(ctx.server, arg)) return ctx.reply.error("value is not an integer or out of range");
    } else if (what === "resizing") {
      setResizing(ctx.server, atoi(ctx.argv[3]) !== 0);
    } else {
      return subcommandSyntaxError(ctx);
    }
    ctx.reply.ok();
  });
  defineDebug("config-rewrite-force-all", 2, ({ server, reply }) => {
    const file = server.configFilePath;
    if (!file) return reply.error("CONFIG-REWRITE-FORCE-ALL failed: No such file or directory");
    try {
      rewriteConfigFile(server.config, file, true);
    } catch (e) {
      return reply.error(`CONFIG-REWRITE-FORCE-ALL failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    reply.ok();
  });
  defineDebug("populate", (n) => n >= 3 && n <= 5, debugPopulate);
  defineDebug("log", 3, ({ argv, reply }) => {
    log("warning", `DEBUG LOG: ${argv[2].toString("latin1")}`);
    reply.ok();
  });
  defineDebug("error", 3, ({ argv, reply }) => reply.error(argv[2].toString("latin1")));
  // Crash on purpose, with the bug report Redis writes (src/server/crash-report.ts).
  defineDebug("segfault", 2, ({ server, client, argv }) => crashBySignal(server, "SIGSEGV", new Error().stack ?? "", { client, argv }));
  defineDebug("panic", 2, ({ server, client, argv }) => panic(server, `DEBUG PANIC called at Unix time ${Math.floor(Date.now() / 1000)}`, { client, argv }));
  defineDebug("assert", 2, ({ server, client, argv }) => assertionFailed(server, "1 == 2", { client, argv }));
  defineDebug("help", 2, (ctx) => replyHelp(ctx, [
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
  ]));
}

let builtinsRegistered = false;

export function registerDebugCommand(t: CommandTable): void {
  // (A family may have defined its own subcommands before this runs.)
  if (!builtinsRegistered) {
    builtinsRegistered = true;
    registerBuiltins();
  }
  // Named as Redis's: the watchdog's stack trace (src/server/watchdog.ts) shows it.
  t.define("debug", function debugCommand(ctx) {
    const { server, client, argv, reply } = ctx;
    if (!protectedActionAllowed(server.config.get("enable-debug-command"), client.isLocal)) {
      return reply.error(DEBUG_NOT_ALLOWED);
    }
    const sub = subs.get(argv[1].toString("latin1").toLowerCase());
    if (!sub || !(typeof sub.argc === "number" ? sub.argc === argv.length : sub.argc(argv.length))) {
      return subcommandSyntaxError(ctx);
    }
    sub.fn(ctx);
  });
}
