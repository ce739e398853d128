// DUMP and RESTORE (Redis's cluster.c dumpCommand / restoreCommand) over the RDB object
// serialization of src/persistence/; SAVE, BGSAVE, LASTSAVE and DEBUG RELOAD over its
// Persistence state (src/persistence/persistence.ts).
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { ERR, parseInteger } from "./context.js";
import { createDumpPayload, verifyDumpPayload, loadDumpPayload } from "../persistence/dump.js";
import { readKey, storeKey, freshLru, lfuPolicy, lfuWord } from "../persistence/keyspace-io.js";
import { RdbFormatError } from "../persistence/rdb-format.js";
import { persistenceOf } from "../persistence/persistence.js";
import { functionsHook } from "../persistence/rdb-file.js";
import { defineDebug } from "./debug.js";
import { datasetDigest, valueDigest } from "../persistence/digest.js";
import { scriptingOf, scriptingStarted } from "./scripting.js";
import { createLibrary, flushFunctions } from "./functions.js";
import { log } from "../server/log.js";
import type { Server } from "../server/server.js";

/** DEBUG SET-SKIP-CHECKSUM-VALIDATION 1: RESTORE skips the payload's CRC64 (server.skip_checksum_validation). */
const skipChecksum = new WeakSet<Server>();

// Function libraries travel in RDB files (RDB_OPCODE_FUNCTION2), as Redis 7.0 saves them.
// No scripting state yet means no library: an RDB or AOF base written before any script ran
// (every start-up with appendonly yes, a master's first full sync) does not make the two Lua
// states just to list none. That took a cluster node's event loop for a second or more under
// load, long enough for its peers to suspect it (Tcl 27-endpoints' restarted node was failed over).
functionsHook.save = (server) =>
  scriptingStarted(server) ? [...scriptingOf(server).functions.libraries.values()].map((l) => l.code) : [];
functionsHook.load = (server, code, replace = true) => {
  const r = createLibrary(server, code, replace);
  return "error" in r ? r.error : null;
};
functionsHook.clear = (server) => flushFunctions(server);

function dump({ server, client, argv, reply }: CommandContext): void {
  const stored = readKey(server, client.db, argv[1]);
  if (!stored) return reply.nullBulk();
  reply.bulk(createDumpPayload(stored.value, server.config.getBool("rdbcompression")));
}

function restore({ server, client, argv, reply }: CommandContext): void {
  let replace = false, absttl = false;
  let idle = -1, freq = -1;
  for (let j = 4; j < argv.length; j++) {
    const opt = argv[j].toString("latin1").toLowerCase();
    const more = argv.length - j - 1;
    if (opt === "replace") replace = true;
    else if (opt === "absttl") absttl = true;
    else if (opt === "idletime" && more >= 1 && freq === -1) {
      const v = parseInteger(argv[++j]);
      if (v === null) return reply.error(ERR.notInteger);
      if (v < 0n) return reply.error("Invalid IDLETIME value, must be >= 0");
      idle = Number(v);
    } else if (opt === "freq" && more >= 1 && idle === -1) {
      const v = parseInteger(argv[++j]);
      if (v === null) return reply.error(ERR.notInteger);
      if (v < 0n || v > 255n) return reply.error("Invalid FREQ value, must be >= 0 and <= 255");
      freq = Number(v);
    } else {
      return reply.error(ERR.syntax);
    }
  }
  const db = client.db;
  const key = argv[1];
  if (!replace && server.types.typeOf(db, key) >= 0) return reply.error("-BUSYKEY Target key name already exists.");
  const ttlArg = parseInteger(argv[2]);
  if (ttlArg === null) return reply.error(ERR.notInteger);
  if (ttlArg < 0n) return reply.error("Invalid TTL value, must be >= 0");
  const payload = argv[3];
  if (!verifyDumpPayload(payload, skipChecksum.has(server))) {
    return reply.error("DUMP payload version or checksum are wrong");
  }
  let value;
  try {
    value = loadDumpPayload(payload);
  } catch (e) {
    if (!(e instanceof RdbFormatError)) throw e;
    // rdbReportCorruptRDB in a RESTORE context: logged at verbose level, then the error.
    log("verbose", `Internal error in RDB reading offset 0, function at rdb.c:0 -> ${e.message}`);
    return reply.error("Bad data format");
  }
  const deleted = replace ? server.types.delete(db, key) : false;
  const now = server.now();
  let ttl = Number(ttlArg);
  if (ttl && !absttl) ttl += now;
  if (ttl && ttl <= now) {
    // Already expired: the key is gone (and the delete is what replicas and the AOF see).
    if (deleted) server.types.propagate(db, [Buffer.from("DEL"), key]);
    return reply.ok();
  }
  let lru = freshLru(server, now);
  if (lfuPolicy(server)) { if (freq >= 0) lru = lfuWord(now, freq); }
  else if (idle >= 0) lru = Math.max(0, Math.floor(now / 1000) - idle);
  storeKey(server, db, key, { value, expireAt: ttl ? ttl : -1, lru });
  // Propagated with an absolute TTL, as Redis rewrites the command.
  const prop = argv.slice();
  if (ttl && !absttl) { prop[2] = Buffer.from(String(ttl)); prop.push(Buffer.from("ABSTTL")); }
  server.types.propagate(db, prop);
  reply.ok();
}

export function registerPersistenceCommands(t: CommandTable): void {
  // flushAllDataAndResetRDB: with save points set, FLUSHALL saves the emptied dataset at once.
  const flushall = t.find("flushall");
  if (flushall) flushall.afterCall = (server) => persistenceOf(server).afterFlushAll();
  t.define("dump", dump);
  t.define("restore", restore);
  // MIGRATE's form in cluster mode: the same, accepted by a slot being imported (flag "asking").
  t.define("restore-asking", restore);

  t.define("save", ({ server, reply }) => {
    const p = persistenceOf(server);
    if (p.bgsaveInProgress) return reply.error("Background save already in progress");
    if (p.saveSync()) reply.ok();
    else reply.error("-ERR");
  });

  // One background job at a time (Redis has one child): the other one is scheduled, and
  // started by the persistence cron when the running one ends. Inside EXEC it is scheduled
  // too, so the image never holds half a transaction.
  t.define("bgsave", ({ server, argv, reply }) => {
    if (argv.length > 2 || (argv.length === 2 && argv[1].toString("latin1").toLowerCase() !== "schedule")) {
      return reply.error(ERR.syntax);
    }
    const p = persistenceOf(server);
    if (p.bgsaveInProgress) return reply.error("Background save already in progress");
    if (p.aof.rewriteInProgress || server.effects.inGroup) {
      if (argv.length === 2 || server.effects.inGroup) {
        p.bgsaveScheduled = true;
        return reply.status("Background saving scheduled");
      }
      return reply.error("Another child process is active (AOF?): can't BGSAVE right now. " +
        "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.");
    }
    const err = p.bgsave();
    if (err) reply.error(err);
    else reply.status("Background saving started");
  });

  t.define("bgrewriteaof", ({ server, reply }) => {
    const p = persistenceOf(server);
    if (p.aof.rewriteInProgress) return reply.error("Background append only file rewriting already in progress");
    if (p.bgsaveInProgress || server.effects.inGroup) {
      p.aof.rewriteScheduled = true;
      p.aof.consecutiveFailures = 0;
      return reply.status("Background append only file rewriting scheduled");
    }
    const err = p.aof.rewrite();
    if (err) reply.error(err);
    else reply.status("Background append only file rewriting started");
  });

  defineDebug("digest", 2, ({ server, reply }) => reply.status(datasetDigest(server)));
  defineDebug("set-skip-checksum-validation", 3, ({ server, argv, reply }) => {
    if ((parseInt(argv[2].toString("latin1"), 10) || 0) !== 0) skipChecksum.add(server);
    else skipChecksum.delete(server);
    reply.ok();
  });

  defineDebug("digest-value", (n) => n >= 2, ({ server, client, argv, reply }) => {
    reply.arrayLen(argv.length - 2);
    for (let i = 2; i < argv.length; i++) {
      const s = readKey(server, client.db, argv[i]);
      reply.status(s ? valueDigest(s).toString("hex") : "0".repeat(40));
    }
  });

  defineDebug("loadaof", 2, ({ server, client, reply }) => {
    let sync = true;
    const answer = (err: string | null) => {
      const out = sync ? reply : client.reply;
      if (err) out.error(err);
      else out.ok();
      if (sync) return;
      // The load went on in later ticks (a slow script from the AOF): the client waited.
      client.blocked = false;
      client.flushAndMaybeClose();
      client.resumeInput();
    };
    if (!persistenceOf(server).debugLoadAof(answer)) client.blocked = true;
    sync = false;
  });

  t.define("lastsave", ({ server, reply }) => reply.integer(Math.floor(server.lastSave / 1000)));

  defineDebug("reload", (n) => n >= 2, ({ server, argv, reply }) => {
    let save = true, flush = true, merge = false;
    for (let j = 2; j < argv.length; j++) {
      const opt = argv[j].toString("latin1").toLowerCase();
      if (opt === "merge") merge = true;
      else if (opt === "noflush") flush = false;
      else if (opt === "nosave") save = false;
      else return reply.error("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
    }
    const err = persistenceOf(server).debugReload({ save, flush, merge });
    if (err === "ERR") reply.error("-ERR");
    else if (err) reply.error(err);
    else reply.ok();
  });
}
