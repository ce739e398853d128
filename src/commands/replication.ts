// REPLICAOF/SLAVEOF, REPLCONF, PSYNC, SYNC, ROLE, WAIT (Redis's replication.c), over
// src/repl/. Error strings are Redis 7.0.15's.
import { setOomScoreAdj } from "../server/oom-score-adj.js";
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { ERR, parseInteger } from "./context.js";
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import { replicationOf, type RdbExclude, type SyncRequest } from "../repl/replication.js";
import { splitConfigLine } from "../config/config.js";
import { ReplicaLink } from "../repl/replica-link.js";
import { log } from "../server/log.js";
import { clientInfoProviders, clientInfoString } from "./client-cmd.js";
import { failoverOf } from "../repl/failover.js";
import { peersRefuse } from "../replication/active-active.js";
import { setWriteGate } from "../repl/write-gate.js";
import { persistenceOf } from "../persistence/persistence.js";
import { setReplicaExpiry } from "../repl/replica-expiry.js";
import { defineDebug } from "./debug.js";
import { tapReplicaInput } from "../repl/replica-input.js";
import { restartAofAfterSync } from "../repl/sync-aof.js";

/** Becomes a replica of host:port, or a master (host null); shared by REPLICAOF and the replicaof directive. */
export function setMaster(server: Server, host: string | null, port = 0): void {
  const repl = replicationOf(server);
  // Redis's repl_down_since: a link that was up goes down now; one never up keeps its value.
  const prev = repl.link;
  const downSince = prev ? (prev.connected ? Date.now() : prev.replDownSince) : 0;
  repl.link?.close();
  repl.link = null;
  // CONFIG GET / CONFIG REWRITE show the current master (so a restart keeps replicating).
  server.config.setByServer("replicaof", host === null ? "" : `${host} ${port}`);
  if (host === null) {
    setWriteGate(server, "replica", false);
    setReplicaExpiry(server, false);
    repl.promote();
    // An AOF stopped by a sync that then failed starts again (Redis's replicationUnsetMaster).
    restartAofAfterSync(server);
    // Our replicas must learn the new replid: they reconnect and continue partially
    // (Redis's replicationUnsetMaster calls disconnectSlaves).
    repl.disconnectReplicas();
    server.minReplicas.refresh();
    setOomScoreAdj(server); // the master class's score again
    return;
  }
  // Clients blocked while we were a master must not be served by the master's stream.
  const unblocked = "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";
  server.blocking.disconnectAll(unblocked);
  repl.disconnectWaiting(unblocked);
  // Our replicas stay connected (Redis 7.0's replicationSetMaster): they are dropped only
  // when our history changes, on a +CONTINUE with a new replid or a full resync.
  setWriteGate(server, "replica", server.config.getBool("replica-read-only"));
  setReplicaExpiry(server, true);
  repl.link = new ReplicaLink(server, host, port, downSince);
  server.minReplicas.refresh();
  setOomScoreAdj(server); // the replica class's score
}

/**
 * A write from a normal client while persistence fails (-MISCONF) or on a read-only replica
 * (-READONLY), in Redis's processCommand order. PING counts as a write for the disk check.
 */
export function replicaRejects(server: Server, write: boolean, ping = false): string | null {
  if (write || ping) {
    const disk = persistenceOf(server).diskError();
    if (disk) return disk;
  }
  const repl = replicationOf(server);
  if (repl.link && write && server.config.getBool("replica-read-only")) return "READONLY You can't write against a read only replica.";
  return null;
}

function replicaof({ server, argv, reply }: CommandContext): void {
  if (server.cluster) return reply.error("REPLICAOF not allowed in cluster mode.");
  if (failoverOf(server).state !== "no-failover") return reply.error("REPLICAOF not allowed while failing over.");
  const repl = replicationOf(server);
  const host = argv[1].toString("latin1");
  if (host.toLowerCase() === "no" && argv[2].toString("latin1").toLowerCase() === "one") {
    if (repl.link) {
      setMaster(server, null);
      log("notice", "MASTER MODE enabled (user request)");
    }
    return reply.ok();
  }
  const port = parseInteger(argv[2]);
  if (port === null || port < 0n || port > 65535n) return reply.error("Invalid master port");
  const inGroup = peersRefuse(server, "REPLICAOF");
  if (inGroup) return reply.error(inGroup);
  if (repl.link && repl.link.host.toLowerCase() === host.toLowerCase() && repl.link.port === Number(port)) {
    log("notice", "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
    return reply.status("OK Already connected to specified master");
  }
  setMaster(server, host, Number(port));
  log("notice", `REPLICAOF ${host}:${port} enabled (user request)`);
  reply.ok();
}

const listeningPorts = new WeakMap<object, number>();
/** REPLCONF ip-address (replica-announce-ip): shown in INFO and ROLE instead of the socket's address. */
const announcedIps = new WeakMap<object, string>();
const capaPsync2 = new WeakSet<object>();
const capaEof = new WeakSet<object>();
/** REPLCONF rdb-only 1: the client wants the RDB and no stream (Redis's CLIENT_REPL_RDBONLY). */
const rdbOnly = new WeakSet<object>();
/** REPLCONF rdb-filter-only: what to leave out of its RDB (Redis's slave_req bits). */
const rdbExclude = new WeakMap<object, RdbExclude>();

function replconf(ctx: CommandContext): void {
  const { server, client, argv, reply } = ctx;
  const repl = replicationOf(server);
  if (argv.length % 2 === 0) return reply.error(ERR.syntax);
  for (let j = 1; j < argv.length; j += 2) {
    const opt = argv[j].toString("latin1").toLowerCase();
    const val = argv[j + 1].toString("latin1");
    if (opt === "listening-port") {
      const p = parseInteger(argv[j + 1]);
      if (p === null) return reply.error(ERR.notInteger);
      listeningPorts.set(client, Number(p));
    } else if (opt === "ip-address") {
      // Redis keeps at most NET_HOST_STR_LEN - 1 bytes of it.
      if (val.length >= 256) return reply.error(`REPLCONF ip-address provided by replica instance is too long: ${val.length} bytes`);
      announcedIps.set(client, val);
    } else if (opt === "capa") {
      if (val.toLowerCase() === "psync2") capaPsync2.add(client);
      else if (val.toLowerCase() === "eof") capaEof.add(client);
    } else if (opt === "ack") {
      // A replica's ACK gets no reply (Redis never answers it).
      const off = parseInteger(argv[j + 1]);
      if (off !== null) repl.ack(client, Number(off));
      return;
    } else if (opt === "getack") {
      // Only a master sends GETACK (a replica link answers it in the stream); from anyone
      // else it is ignored, and, as Redis's replconfCommand, never answered.
      return;
    } else if (opt === "rdb-only") {
      // redis-cli --rdb: the snapshot only, then the connection closes (no stream).
      const v = parseInteger(argv[j + 1]);
      if (v === null) return reply.error(ERR.notInteger);
      if (v < 0n || v > 1n) return reply.error("value is out of range, value must between 0 and 1");
      if (v === 1n) rdbOnly.add(client);
      else rdbOnly.delete(client);
    } else if (opt === "rdb-filter-only") {
      // Include filters: everything is left out but what is named; only "functions" exists
      // (redis-cli --functions-rdb), and "" (redis-cli --replica) asks for an empty RDB.
      const filters = splitConfigLine(val);
      if (filters === null) return reply.error("Missing rdb-filter-only values");
      const ex: RdbExclude = { data: true, functions: true };
      for (const f of filters) {
        if (f.toLowerCase() === "functions") ex.functions = false;
        else return reply.error(`Unsupported rdb-filter-only option: ${f}`);
      }
      rdbExclude.set(client, ex);
    } else {
      return reply.error(`Unrecognized REPLCONF option: ${argv[j].toString("latin1")}`);
    }
  }
  reply.ok();
}

function psync({ server, client, argv, reply }: CommandContext, legacySync: boolean): void {
  const repl = replicationOf(server);
  if (repl.replicas.has(client)) return; // already a replica: ignored, as Redis does
  // PSYNC <replid> <offset> FAILOVER: our master hands over (its FAILOVER command) and we
  // become the master, if we share its history.
  if (!legacySync && argv.length > 3 && argv[3].toString("latin1").toLowerCase() === "failover") {
    const replid = argv[1].toString("latin1");
    log("warning", `Failover request received for replid ${replid}.`);
    if (!repl.link) return reply.error("PSYNC FAILOVER can't be sent to a master.");
    if (replid.toLowerCase() !== repl.replid) return reply.error("PSYNC FAILOVER replid must match my replid.");
    setMaster(server, null);
    log("notice", `MASTER MODE enabled (failover request from '${clientInfoString(server, client)}')`);
  }
  // No replica syncs with us while we fail over.
  if (failoverOf(server).state !== "no-failover") return reply.error("-NOMASTERLINK Can't SYNC while failing over");
  if (repl.link && !repl.link.connected) return reply.error("-NOMASTERLINK Can't SYNC while not connected with my master");
  // A filtered RDB always goes to the socket (never over the snapshot file), so it needs
  // the EOF-marked form.
  const exclude = rdbExclude.get(client);
  if (exclude && !capaEof.has(client)) return reply.error("Filtered replica requires EOF capability");
  const want: SyncRequest = { eof: capaEof.has(client), rdbOnly: rdbOnly.has(client), exclude: exclude ?? null };
  const port = listeningPorts.get(client) ?? 0;
  const ip = announcedIps.get(client);
  // From now on it is a replica: its newlines are signs of life, a reply to it is refused.
  const becomeReplica = () => tapReplicaInput(server, client, () => repl.replicaAlive(client));
  if (legacySync) {
    becomeReplica();
    return repl.sync(client, null, -1, false, port, want, ip);
  }
  const replid = argv[1].toString("latin1");
  const off = parseInteger(argv[2]);
  if (off === null) {
    log("warning", `Replica ${replicaName(client, port, ip)} asks for synchronization but with a wrong offset`);
    return reply.error(ERR.notInteger);
  }
  becomeReplica();
  repl.sync(client, replid === "?" ? "?" : replid, Number(off), capaPsync2.has(client), port, want, ip);
}

/** Redis's replicationGetSlaveName: ip:listening-port, or ip:<unknown-replica-port>. */
function replicaName(client: Client, port: number, ip: string | undefined): string {
  const addr = ip ?? (client.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
  return port ? `${addr}:${port}` : `${addr}:<unknown-replica-port>`;
}

function role({ server, reply }: CommandContext): void {
  const repl = replicationOf(server);
  const link = repl.link;
  if (link) {
    reply.arrayLen(5);
    reply.bulk("slave");
    reply.bulk(link.host);
    reply.integer(link.port);
    reply.bulk(link.roleState);
    reply.integer(link.connected ? repl.offset : -1);
    return;
  }
  reply.arrayLen(3);
  reply.bulk("master");
  reply.integer(repl.offset);
  reply.arrayLen(repl.replicas.size);
  for (const r of repl.replicas.values()) {
    reply.arrayLen(3);
    reply.bulk(r.ip);
    reply.bulk(String(r.port));
    reply.bulk(String(r.ackOffset));
  }
}

function wait({ server, client, argv, reply }: CommandContext): void {
  const repl = replicationOf(server);
  if (repl.link) {
    return reply.error("WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated.");
  }
  const n = parseInteger(argv[1]);
  if (n === null) return reply.error(ERR.notInteger);
  const t = parseInteger(argv[2]);
  if (t === null) return reply.error("timeout is not an integer or out of range");
  if (t < 0n) return reply.error("timeout is negative");
  // In MULTI or a script WAIT cannot block: it answers with what is acknowledged now.
  if (client.denyBlocking) return reply.integer(repl.acked(repl.offset));
  repl.wait(client, Number(n), Number(t));
}

export function registerReplicationCommands(t: CommandTable): void {
  t.define("replicaof", replicaof);
  t.define("slaveof", replicaof);
  t.define("replconf", replconf);
  t.define("psync", (ctx) => psync(ctx, false));
  t.define("sync", (ctx) => psync(ctx, true));
  t.define("role", role);
  t.define("wait", wait);
  t.define("failover", (ctx) => failoverOf(ctx.server).command(ctx));
  // DEBUG REPLICATE cmd args...: sends the command to the replicas without running it here
  // (the Tcl tests use it to make a replica fail a command: data divergence).
  defineDebug("replicate", (n) => n >= 3, ({ server, argv, reply }) => {
    replicationOf(server).feed(argv.slice(2), -1);
    reply.ok();
  });
}

// CLIENT LIST / KILL: a replica's connection is type slave with flag S; the master's client
// on a replica is type master with flag M.
{
  const prevType = clientInfoProviders.type;
  clientInfoProviders.type = (c) => {
    const repl = replicationOf(c.server);
    if (repl.replicas.has(c)) return "slave";
    if (repl.link?.isMasterClient(c)) return "master";
    return prevType(c);
  };
  clientInfoProviders.flags.push((c) => {
    const repl = replicationOf(c.server);
    return repl.replicas.has(c) ? "S" : repl.link?.isMasterClient(c) ? "M" : "";
  });
}
