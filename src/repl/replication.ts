// Redis's own primary/replica replication (replication.c), the primary's side: replicas
// connect as clients, say REPLCONF and PSYNC, get a full resync (+FULLRESYNC and an RDB
// snapshot) or continue from the backlog (+CONTINUE), then receive the replication stream:
// every write as the command to replay, produced from the effect bus (src/server/effects.ts)
// — relative TTLs already absolute, keys the server expired or evicted as DEL, EXEC and
// scripts wrapped in MULTI/EXEC — with SELECT whenever the database changes.
//
// Replication ids follow PSYNC2: replid is this node's history; after a replica is
// promoted (REPLICAOF NO ONE) its old master's id becomes replid2, valid up to
// second_repl_offset, so the other replicas of that master continue partially.
//
// The replica's side (connecting to a master, loading its RDB, applying its stream) is
// src/repl/replica-link.ts; the commands are src/commands/replication.ts.
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import { EFFECT_COMMAND, PROPAGATE_REPL, type Effect, type KernelRecord } from "../server/effects.js";
import { Backlog, PIECES_ARGS, PIECES_COMMANDS, commandSize } from "./backlog.js";
import { encodeCommand as encodeArgv } from "../server/shard.js";
import { deletionArgv } from "../server/propagate-deletion.js";
import { persistenceOf } from "../persistence/persistence.js";
import { replInfoHook } from "../persistence/rdb-file.js";
import { RdbTransfer, type TransferMember } from "./rdb-transfer.js";
import { log } from "../server/log.js";
import type { ReplicaLink } from "./replica-link.js";
import { ReadsAfterStream } from "./reads-after-stream.js";
import { parseMemory } from "../config/config.js";
import { failoverOf } from "./failover.js";
import { atTurnEnd, endTurnNow, type TurnEndHook } from "../server/turn-end-replies.js";

/** REPLCONF rdb-filter-only: the parts of the RDB left out (Redis's SLAVE_REQ_RDB_EXCLUDE_*). */
export interface RdbExclude { data: boolean; functions: boolean }

/** What a SYNC/PSYNC asked for with its REPLCONFs. */
export interface SyncRequest {
  /** capa eof: it reads the EOF-marked (diskless) form. */
  eof: boolean;
  /** rdb-only 1: the RDB and no stream; closed once the RDB is sent (redis-cli --rdb). */
  rdbOnly: boolean;
  /** rdb-filter-only: a filtered RDB, always sent to the socket (null: the whole RDB). */
  exclude: RdbExclude | null;
}

/** Redis's slave_req bits: replicas share a snapshot only when these are equal. */
function reqBits(ex: RdbExclude | null): number {
  return ex ? (ex.data ? 1 : 0) | (ex.functions ? 2 : 0) : 0;
}

/** A connected replica, as the primary sees it. */
export interface ReplicaState {
  client: Client;
  ip: string;
  /** REPLCONF listening-port. */
  port: number;
  /** REPLCONF ACK: the replica's processed offset. */
  ackOffset: number;
  ackAt: number;
  capaPsync2: boolean;
  /** It came with SYNC, not PSYNC: it never sends REPLCONF ACK (Redis's CLIENT_PRE_PSYNC). */
  preSync: boolean;
  /** REPLCONF rdb-only 1: never fed the stream, closed after its RDB (CLIENT_REPL_RDBONLY). */
  rdbOnly: boolean;
  /** REPLCONF rdb-filter-only, as reqBits (0: the whole RDB). */
  req: number;
  /**
   * While its RDB is on the way, and after a diskless (EOF-marked) transfer until the
   * replica's first REPLCONF ACK says it loaded the RDB (Redis's repl_start_cmd_stream_on_ack,
   * since a replica reading the payload to disk finds the end mark only at the end of a
   * read): the stream from this offset on is held for it, in the shared replication buffer.
   */
  heldFrom: number | null;
  /**
   * The first byte of this turn's stream not yet handed to its socket (null: none). The turn's
   * stream goes out once, from the shared buffer, when the turn ends (endTurn), as Redis
   * writes a replica's share of repl_buffer_blocks once per event loop.
   */
  pendingFrom: number | null;
  /** Bytes of the RDB payload still in the socket's buffer (not counted against the limit). */
  rdbOutstanding: number;
  /** A disk-target sync's payload is still on its way to the socket: INFO says send_bulk. */
  sendingBulk: boolean;
  /** When the replica's buffer went over the soft limit (0: under it). */
  softSince: number;
  /**
   * Redis's replstate: wait_start (WAIT_BGSAVE_START: a full sync is needed, no snapshot for
   * it yet), wait_end (WAIT_BGSAVE_END: its RDB is being produced), online, rdb_transmitted
   * (an rdb-only replica whose RDB has gone out, about to be closed).
   */
  syncState: "wait_start" | "wait_end" | "online" | "rdb_transmitted";
  /** The full resync this replica's RDB comes from, while it runs. */
  transfer: RdbTransfer | null;
  member: TransferMember | null;
  /** Socket-target sync: bytesWritten at the last check, and since when it has not moved. */
  lastWritten: number;
  stalledSince: number;
}

/** A replica that needs a full sync, waiting for a snapshot to start (WAIT_BGSAVE_START). */
interface WaitingReplica { state: ReplicaState; psync: boolean; eof: boolean; since: number }

/** client-output-buffer-limit's replica class: hard and soft bytes, soft seconds. */
export function replicaOutputLimit(cob: string): { hard: number; soft: number; softSeconds: number } {
  const words = cob.trim().split(/\s+/);
  let lim = { hard: 256 * 1024 * 1024, soft: 64 * 1024 * 1024, softSeconds: 60 };
  for (let i = 0; i + 3 < words.length; i += 4) {
    const cls = words[i].toLowerCase();
    if (cls !== "replica" && cls !== "slave") continue;
    const hard = parseMemory(words[i + 1]);
    const soft = parseMemory(words[i + 2]);
    const secs = Number(words[i + 3]);
    if (hard !== null && soft !== null && Number.isFinite(secs)) lim = { hard, soft, softSeconds: secs };
  }
  return lim;
}

/**
 * RESP multibulk of argv, in one pooled allocation (shard.ts's encoder): every propagated
 * write is encoded here, and a Buffer per header and per CRLF was a tenth of a master's CPU
 * with a replica attached.
 */
export function encodeCommand(argv: (string | Buffer)[]): Buffer {
  for (let i = 0; i < argv.length; i++) {
    if (typeof argv[i] === "string") return encodeArgv(argv.map((a) => typeof a === "string" ? Buffer.from(a) : a)) as Buffer;
  }
  return encodeArgv(argv as Buffer[]) as Buffer;
}


/** SELECT <db> as the stream sends it, encoded once per db (Redis's shared.select). */
const selectCommands: Buffer[] = [];
function selectCommand(db: number): Buffer {
  return selectCommands[db] ??= encodeCommand(["SELECT", String(db)]);
}

const NULL_ID = "0000000000000000000000000000000000000000";

export class Replication {
  replid = randomBytes(20).toString("hex");
  replid2 = NULL_ID;
  /** master_repl_offset: bytes of stream produced (or, on a replica, applied). */
  offset = 0;
  secondReplOffset = -1;
  backlog: Backlog | null = null;
  readonly replicas = new Map<Client, ReplicaState>();
  /** This node has been in sync with a master (so PSYNC can name its history). */
  everSynced = false;
  /** The db the master's stream was in when its link dropped (the cached master's), for +CONTINUE. */
  cachedMasterDb = 0;
  /** Set while this server is a replica (REPLICAOF host port). */
  link: ReplicaLink | null = null;
  /** On a replica, clients' reads wait for the master stream read in the same iteration. */
  readonly readsAfterStream = new ReadsAfterStream();
  /** The database the stream last SELECTed (-1: the next command must SELECT). */
  private streamDb = -1;
  /**
   * Commands of an EXEC/script group, sent as one MULTI ... EXEC when the group ends; each
   * is [SELECT, command] or [command].
   */
  private group: Buffer[][] | null = null;
  private subscribed = false;
  private pingTimer?: NodeJS.Timeout;
  /** Clients blocked in WAIT. */
  readonly waiting = new Set<{ client: Client; offset: number; numreplicas: number; timer?: NodeJS.Timeout }>();

  /** Replicas waiting for a full sync's snapshot to start, oldest first. */
  private needSync: WaitingReplica[] = [];
  /** The full resync running now (one at a time: it holds the background-job slot). */
  private transfer: RdbTransfer | null = null;
  /** Starts pending syncs and sends keepalives while replicas wait (Redis's replicationCron). */
  private syncCron?: NodeJS.Timeout;
  private lastNewline = 0;
  private limitCache = { cob: "", lim: replicaOutputLimit("") };

  /** Since when this master has had no replica (Redis's repl_no_slaves_since, for repl-backlog-ttl). */
  private noReplicasSince = Date.now();
  /** The 1-second replication cron (timeouts, backlog TTL). */
  private cron?: NodeJS.Timeout;
  private lastCronAt = 0;

  constructor(readonly server: Server) {
    server.config.onApply("repl-backlog-size", (cfg) => this.backlog?.resize(cfg.getNumber("repl-backlog-size"), this.neededFrom()));
  }

  /**
   * Redis's replicationCron, the part that runs every second: repl-timeout on both sides of a
   * link, and freeing the backlog of a master left without replicas for repl-backlog-ttl.
   */
  startCron(): void {
    if (this.cron) return;
    this.lastCronAt = Date.now();
    this.cron = setInterval(() => this.replicationCron(), 1000);
    this.cron.unref();
  }

  private replicationCron(): void {
    const now = Date.now();
    // After the event loop was blocked (DEBUG SLEEP, a long script) timers run before the
    // sockets are read: the idle times are stale this once, so nothing times out on them
    // (Redis reads its sockets before its cron runs).
    const stalled = now - this.lastCronAt > 2000;
    this.lastCronAt = now;
    if (stalled) return;
    const timeout = this.server.config.getNumber("repl-timeout");
    this.link?.checkTimeout(timeout);
    // What was sent below the socket's high-water mark (no 'drain') leaves here.
    this.backlog?.trim(this.neededFrom());
    for (const r of [...this.replicas.values()]) {
      if (r.client.closed) continue;
      // ackAt is its last ACK or newline: a replica loading a streamed RDB (its stream held
      // until its first ACK) sends a newline a second (src/repl/replica-input.ts).
      // In whole seconds, as Redis compares unix times.
      const secs = (t: number) => Math.floor(now / 1000) - Math.floor(t / 1000);
      if (r.syncState === "online" && !r.preSync && secs(r.ackAt) > timeout) {
        log("warning", `Disconnecting timedout replica (streaming sync): ${r.ip}:${r.port}`);
        r.client.kill();
        this.dropReplica(r.client);
        continue;
      }
      if (r.syncState === "wait_end" && r.transfer?.socketTarget) {
        // The payload streams to it: no progress while bytes wait in its socket for too long.
        const sock = r.client.socket;
        const written = sock.bytesWritten;
        if (sock.writableLength === 0 || written !== r.lastWritten) {
          r.lastWritten = written;
          r.stalledSince = now;
        } else if (secs(r.stalledSince) > timeout) {
          log("warning", `Disconnecting timedout replica (full sync): ${r.ip}:${r.port}`);
          r.client.kill();
          this.dropReplica(r.client);
        }
      }
    }
    const ttl = this.server.config.getNumber("repl-backlog-ttl");
    if (this.replicas.size === 0 && ttl > 0 && this.backlog && !this.link && (now - this.noReplicasSince) / 1000 > ttl) {
      // A new history: with no backlog the offset stops counting, so the old id could no
      // longer tell a replica where it is (Redis's changeReplicationId + clearReplicationId2).
      this.replid = randomBytes(20).toString("hex");
      this.replid2 = NULL_ID;
      this.secondReplOffset = -1;
      this.backlog = null;
      log("notice", `Replication backlog freed after ${ttl} seconds without connected replicas.`);
    }
  }

  private get outputLimit(): { hard: number; soft: number; softSeconds: number } {
    const cob = this.server.config.get("client-output-buffer-limit");
    if (cob !== this.limitCache.cob) this.limitCache = { cob, lim: replicaOutputLimit(cob) };
    return this.limitCache.lim;
  }

  // ---- the stream ---------------------------------------------------------------------------

  /** Starts recording the stream (Redis creates the backlog when the first replica connects). */
  ensureBacklog(): Backlog {
    if (!this.backlog) {
      this.backlog = new Backlog(this.server.config.getNumber("repl-backlog-size"), this.offset);
      this.streamDb = -1;
    }
    this.startCron();
    if (!this.subscribed) {
      this.subscribed = true;
      this.server.effects.subscribe({
        onEffect: (e) => this.onEffect(e),
        onGroup: (b) => this.onGroup(b),
        onKernelRecord: (r) => this.onKernelRecord(r),
      });
      this.startPingTimer();
      // CONFIG SET repl-ping-replica-period takes effect at once (Redis's cron reads it each second).
      this.server.config.onApply("repl-ping-replica-period", () => this.startPingTimer());
    }
    return this.backlog;
  }

  /** PING to the replicas every repl-ping-replica-period seconds, so they see the link alive. */
  private startPingTimer(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    const period = Math.max(1, this.server.config.getNumber("repl-ping-replica-period")) * 1000;
    // Not while a FAILOVER waits for a replica to catch up: the PING would move the offset.
    this.pingTimer = setInterval(() => {
      if (this.replicas.size && !this.link && failoverOf(this.server).state === "no-failover") this.feed(["PING"], -1);
    }, period);
    this.pingTimer.unref();
  }

  private onEffect(e: Effect): void {
    // A replica's stream is its master's, proxied byte for byte (proxy()); its own writes,
    // if it is writable, stay local as in Redis 7.0.
    if (this.link) return;
    // A keyspace-wide command goes out once, with its last shard's run.
    if (e.fanOutPart) return;
    // redis.set_repl(redis.REPL_NONE / REPL_AOF) kept it from the replicas.
    if (e.targets !== undefined && !(e.targets & PROPAGATE_REPL)) return;
    const argv = e.kind === EFFECT_COMMAND ? e.argv : deletionArgv(this.server.config, e);
    if (this.group !== null || this.backlog === null) return this.feedEncoded(encodeArgv(argv) as Buffer, e.db);
    // Not in a transaction: the command is encoded straight into the shared buffer.
    if (e.db >= 0 && e.db !== this.streamDb) {
      this.streamDb = e.db;
      this.write(selectCommand(e.db));
    }
    const size = commandSize(argv);
    this.streamAdded(size);
    this.backlog.appendCommand(argv, size, this.neededFromFn);
  }

  /**
   * onEffect() of a kernel write, encoded from its record in the kernel's log straight into the
   * shared buffer, with no Effect or argv Buffers made for it; anything else goes to onEffect.
   */
  private onKernelRecord(r: KernelRecord): void {
    if (this.link || r.fanOutPart) return;
    if (r.targets !== undefined && !(r.targets & PROPAGATE_REPL)) return;
    if (r.kind !== EFFECT_COMMAND || this.group !== null || this.backlog === null) return this.onEffect(r.toEffect());
    if (r.db !== this.streamDb) {
      this.streamDb = r.db;
      this.write(selectCommand(r.db));
    }
    const size = r.respSize();
    this.streamAdded(size);
    this.backlog.appendCommand(r, size, this.neededFromFn);
  }

  private onGroup(begin: boolean): void {
    if (this.link) return;
    if (begin) { this.group = []; return; }
    const cmds = this.group;
    this.group = null;
    if (!cmds || cmds.length === 0) return;
    // A one-command group needs no MULTI (Redis propagates a lone write as itself too).
    if (cmds.length === 1) return this.write(Buffer.concat(cmds[0]));
    // MULTI goes out in the first command's database: its SELECT comes before MULTI, later
    // ones inside the transaction (as Redis propagates a transaction). Each command is fed on
    // its own, as propagatePendingCommands does: the backlog reads a new block's piece from the
    // start of what it is given, which for a whole transaction would be a long read per block.
    const [first, ...rest] = cmds;
    if (first.length === 2) this.write(first[0]);
    this.write(encodeCommand(["MULTI"]));
    this.write(first[first.length - 1]);
    for (const parts of rest) for (const p of parts) this.write(p);
    this.write(encodeCommand(["EXEC"]));
  }

  /** Appends one command (run in db; -1: any db, e.g. PING) to the stream. */
  feed(argv: (string | Buffer)[], db: number): void {
    // No stream to add to (no replica ever attached, not a replica): Redis's
    // replicationFeedSlaves returns at once too. Encoding PUBLISH's argv here was ~10% of a
    // redis.call('PUBLISH') loop for bytes write() then dropped. (A backlog made later starts
    // with streamDb -1: its first command gets its SELECT.)
    if (this.backlog === null && !this.link) return;
    this.feedEncoded(encodeCommand(argv), db);
  }

  /** feed() of a command already encoded; SELECT goes first when db is not the stream's. */
  private feedEncoded(bytes: Buffer, db: number): void {
    const select = db >= 0 && db !== this.streamDb ? selectCommand(db) : null;
    if (select !== null) this.streamDb = db;
    if (this.group) this.group.push(select !== null ? [select, bytes] : [bytes]);
    else {
      if (select !== null) this.write(select);
      this.write(bytes);
    }
  }

  /** Feeds stream bytes (made of `pieces`, backlog.ts's PIECES_*) to the replicas and the backlog. */
  private write(bytes: Buffer, pieces = PIECES_ARGS): void {
    // A master counts its stream only once it keeps a backlog; a replica always counts what
    // it applied of its master's.
    if (!this.backlog && !this.link) return;
    this.streamAdded(bytes.length);
    this.backlog?.append(bytes, this.neededFromFn, pieces);
  }

  /**
   * n bytes join the stream (the caller appends them to the backlog next): the offset moves
   * and the replicas that take the stream get them when the turn ends.
   */
  private streamAdded(n: number): void {
    const first = this.offset + 1;
    this.offset += n;
    if (this.replicas.size === 0) return;
    for (const r of this.replicas.values()) {
      // A replica waiting for its snapshot to start gets the stream from the snapshot's offset;
      // one whose RDB is on the way has its stream held in the buffer (heldFrom).
      if (r.syncState === "wait_start" || r.heldFrom !== null || r.rdbOnly || r.client.closed) continue;
      if (r.pendingFrom === null) r.pendingFrom = first;
    }
    this.endTurnLater();
  }

  /** Replica sockets corked this turn by sendStream. */
  private corked: Socket[] = [];
  private turnEndPending = false;

  /**
   * While this turn has stream for the replicas, a client's replies wait for it: they go out
   * at the turn's end right after the replicas' writes (src/server/turn-end-replies.ts), as
   * Redis writes clients' replies and replicas' output in the same beforeSleep. Sent at once,
   * a write's reply reached a client well before its stream reached the replica, and a client
   * that then read the key on the replica found the old value: an INCR on the master and a GET
   * on its replica right after saw the old value in 740 of 2000 rounds at load 14
   * (redis-server: 1), and psync2.tcl's checks after each INCR waited a second for it, so fewer
   * of its 10-test cycles fit in its 40 seconds. Asked by the client before it writes a read's
   * replies (Client.flushBatch).
   */
  get repliesWaitForStream(): boolean {
    return this.turnEndPending;
  }

  /**
   * A push to a client outside that client's own read (a keyspace notification, a PUBLISH
   * message, a tracking invalidation, a MONITOR line) while this master has replicas: it goes
   * out at the turn's end, after the replicas' stream and the turn's replies. Redis writes
   * its pending clients newest first in beforeSleep, and the subscriber got its output before
   * the writer's reply and the replica's stream: strace of redis-server 7.0.15 for a SET with
   * a keyspace subscriber, and for a PUBLISH, shows the replica, the writer, the subscriber.
   * Sent at once, ours reached the subscriber before the stream reached the replica, so a
   * subscriber that then read the key on the replica could find the old value. Asked by
   * Client.writePush; true when the push waits for the turn's end.
   */
  pushesWait(): boolean {
    if (this.replicas.size === 0) return false;
    this.endTurnLater();
    return true;
  }

  /**
   * endTurn once this event-loop iteration's reads are all run (the turn-end hold's
   * setImmediate: after the poll phase), as Redis writes to its replicas in beforeSleep: the
   * stream of every client served in the iteration goes to a replica in one write, not one
   * write per client read.
   */
  private endTurnLater(): void {
    if (this.turnEndPending) return;
    this.turnEndPending = true;
    atTurnEnd(this.turnEnd);
  }

  /** This master's part of the turn's end: the stream before the held output, the limits after. */
  private readonly turnEnd: TurnEndHook = {
    beforeHeld: () => this.endTurn(),
    afterHeld: () => { if (this.replicas.size) for (const r of [...this.replicas.values()]) this.checkOutputLimit(r); },
  };

  /**
   * The end of a turn that wrote stream: the replicas get what the turn wrote and their sockets
   * are uncorked (each gets it in one write); then the clients' held replies and pushes go
   * (turn-end-replies.ts), and then the replicas' output limits are checked (turnEnd.afterHeld),
   * on what the sockets could not take, as each write was checked before the writes were
   * gathered (a 256 kB value to a replica with a 32 kB limit goes out; replication-buffer.tcl's
   * "limited to backlog_limit/16"). Redis too closes a replica over its limit asynchronously
   * (CLOSE_ASAP).
   */
  private endTurn(): void {
    // The turn's stream, to each replica that takes it: views of the shared buffer's blocks
    // (one or two for a pipeline's writes), not a copy and a socket write per command each.
    for (const r of this.replicas.values()) {
      const from = r.pendingFrom;
      if (from === null) continue;
      r.pendingFrom = null;
      if (this.backlog !== null) for (const v of this.backlog.views(from)) this.sendStream(r.client, v);
    }
    this.turnEndPending = false;
    const socks = this.corked;
    this.corked = [];
    for (const s of socks) s.uncork();
  }

  /**
   * Shutdown (Redis's finishShutdown, flushSlavesOutputBuffers): the turn's stream goes to the
   * replicas now, before the sockets are closed, rather than at the turn's end that never comes
   * (writes in the same pipeline as SHUTDOWN NOW). Best effort, as Redis's: what a socket
   * cannot take at once is lost with the process.
   */
  flushReplicas(): void {
    if (this.turnEndPending) endTurnNow();
  }

  /**
   * Stream bytes to a replica, in order with its replies (a PSYNC's +CONTINUE), counted as
   * replication traffic (INFO total_net_repl_output_bytes) rather than replies.
   */
  private sendStream(client: Client, bytes: Buffer): void {
    if (client.closed) return;
    // Held until the turn ends, so a pipeline's stream reaches the replica in one write, as
    // Redis writes a replica's output buffer once per event loop (beforeSleep). One socket
    // write per command was a syscall each on the master and, with the segments it made, a
    // read each on the replica. (A socket someone else corked is uncorked by them.)
    const sock = client.socket;
    if (sock.writableCorked === 0) {
      sock.cork();
      this.corked.push(sock);
      this.endTurnLater();
    }
    client.write(bytes);
    this.server.stats.netOutputBytes -= bytes.length;
    this.server.stats.netReplOutputBytes += bytes.length;
  }

  /** Bytes of the stream a replica still needs: held for it, this turn's, or written but not yet sent. */
  private replicaUsed(r: ReplicaState): number {
    if (r.syncState === "wait_start" || r.rdbOnly) return 0;
    if (r.heldFrom !== null) return this.offset + 1 - r.heldFrom;
    const pending = r.pendingFrom === null ? 0 : this.offset + 1 - r.pendingFrom;
    return pending + Math.max(0, r.client.socket.writableLength - r.rdbOutstanding);
  }

  /** neededFrom for Backlog.append, which asks only when its trim could drop a block. */
  private readonly neededFromFn = (): number => this.neededFrom();

  /** The oldest stream byte some replica still needs (the buffer keeps it). */
  private neededFrom(): number {
    let min = Infinity;
    for (const r of this.replicas.values()) {
      const used = this.replicaUsed(r);
      if (used > 0) min = Math.min(min, this.offset + 1 - used);
    }
    return min;
  }

  /**
   * The replication buffer's memory (mem_total_replication_buffers), and the part of it
   * counted as the replicas' (mem_clients_slaves: what exceeds repl-backlog-size, as Redis
   * 7.0's getMemoryOverhead counts the shared buffer).
   */
  bufferMemory(): { total: number; replicas: number; notCountedForEvict: number } {
    const total = this.backlog?.allocated ?? 0;
    const size = this.backlog?.size ?? 0;
    // Eviction counts the buffer up to repl-backlog-size only (Redis's
    // freeMemoryGetNotCountedMemory), with replicas or without: writes fed to a lagging
    // replica must not evict keys, and neither must the buffer while it trims back.
    const over = total > size ? total - size : 0;
    return { total, replicas: this.replicas.size > 0 ? over : 0, notCountedForEvict: over };
  }

  /**
   * client-output-buffer-limit replica: a replica whose unsent stream passes the hard limit,
   * or stays over the soft one for its seconds, is disconnected (it reconnects and resyncs,
   * partially if the backlog still holds its offset). The RDB payload itself is not counted.
   */
  private checkOutputLimit(r: ReplicaState): void {
    const lim = this.outputLimit;
    if (lim.hard === 0 && lim.soft === 0) return;
    // While its RDB is on the way, the socket holds payload: only the held stream counts.
    const used = this.replicaUsed(r);
    // A hard limit below repl-backlog-size is raised to it (Redis: a replica that could
    // continue partially from the backlog would only be cut off again).
    const hard = lim.hard > 0 ? Math.max(lim.hard, this.backlog?.size ?? 0) : 0;
    let over = hard > 0 && used >= hard;
    if (lim.soft > 0 && used >= lim.soft) {
      // Over the soft limit for more than its seconds, counted in whole seconds as Redis does.
      const nowSecs = Math.floor(Date.now() / 1000);
      if (r.softSince === 0) r.softSince = nowSecs;
      else if (nowSecs - r.softSince > lim.softSeconds) over = true;
    } else {
      r.softSince = 0;
    }
    if (!over) return;
    log("warning", `Client id=${r.client.id} addr=${r.ip}:${r.client.socket.remotePort ?? 0} type=replica scheduled to be closed ASAP for overcoming of output buffer limits.`);
    r.client.kill();
    this.dropReplica(r.client);
  }

  /** Replica: stream bytes from the master, applied here, go on unchanged to our replicas. */
  proxy(bytes: Buffer): void {
    this.write(bytes, PIECES_COMMANDS);
  }

  /** Replica after a full resync: the master's history is ours from its offset on. */
  adoptMaster(replid: string, offset: number): void {
    // Our replicas' history ended here: they reconnect and resync (replicationAttachToNewMaster).
    this.disconnectReplicas();
    this.replid = replid;
    this.replid2 = NULL_ID;
    this.secondReplOffset = -1;
    this.offset = offset;
    if (this.backlog) this.backlog = new Backlog(this.backlog.size, offset);
  }

  // ---- PSYNC --------------------------------------------------------------------------------

  /**
   * PSYNC replid offset from a replica (or SYNC: psync null). Answers +CONTINUE with the
   * backlog from offset when the history matches, else +FULLRESYNC and an RDB snapshot.
   */
  sync(client: Client, replid: string | null, from: number, capaPsync2: boolean, port: number, want: SyncRequest, announcedIp?: string): void {
    const backlog = this.ensureBacklog();
    const state: ReplicaState = {
      client, ip: announcedIp ?? (client.socket.remoteAddress ?? "").replace(/^::ffff:/, ""), port,
      ackOffset: 0, ackAt: Date.now(), capaPsync2, preSync: replid === null, rdbOnly: want.rdbOnly, req: reqBits(want.exclude), heldFrom: null, pendingFrom: null, rdbOutstanding: 0, sendingBulk: false, softSince: 0,
      syncState: "online", transfer: null, member: null, lastWritten: 0, stalledSince: Date.now(),
    };
    // As its socket drains, the stream it no longer needs leaves the shared buffer (Redis
    // trims as writeToClient moves a replica past a block), with no write or ACK needed.
    client.socket.on("drain", () => { if (this.replicas.get(client) === state) this.backlog?.trim(this.neededFrom()); });
    const historyOk = replid !== null && (replid === this.replid || (replid === this.replid2 && from <= this.secondReplOffset));
    if (historyOk && backlog.has(from)) {
      this.server.stats.syncPartialOk++;
      client.write(Buffer.from(capaPsync2 ? `+CONTINUE ${this.replid}\r\n` : "+CONTINUE\r\n"));
      this.sendStream(client, backlog.from(from));
      this.replicas.set(client, state);
      log("notice", `Partial resynchronization request from ${state.ip}:${port} accepted. Sending ${this.offset + 1 - from} bytes of backlog starting from offset ${from}.`);
      return;
    }
    if (replid !== null) log("notice", `Full resync requested by replica ${state.ip}:${port}`);
    // A PSYNC that named a history (not "?") and could not continue is a partial-sync error.
    if (replid !== null && replid !== "?") this.server.stats.syncPartialErr++;
    this.server.stats.syncFull++;
    const w: WaitingReplica = { state, psync: replid !== null, eof: want.eof, since: Date.now() };
    this.replicas.set(client, state);
    const diskless = this.server.config.getBool("repl-diskless-sync");
    const tr = this.transfer;
    if (tr && tr.running) {
      // A disk-target snapshot still being produced can serve this replica too, from the same
      // offset with a copy of the stream held since (Redis attaches it to the running BGSAVE).
      // Only with the same filters (slave_req): the image must be the one it asked for.
      if (!tr.socketTarget && !(diskless && want.eof) && tr.req === state.req && [...this.replicas.values()].some((r) => r.transfer === tr)) {
        this.joinTransfer(tr, w);
        log("notice", "Waiting for end of BGSAVE for SYNC");
        return;
      }
      log("notice", tr.socketTarget ? "Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC"
        : "Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC");
    } else if (diskless && this.server.config.getNumber("repl-diskless-sync-delay") > 0) {
      if (this.needSync.length === 0) log("notice", "Delay next BGSAVE for diskless SYNC");
    }
    state.syncState = "wait_start";
    this.needSync.push(w);
    this.ensureSyncCron();
    // Several replicas arriving in the same turn share one snapshot.
    setImmediate(() => this.maybeStartSync());
  }

  /**
   * Starts a snapshot for the replicas waiting for one (Redis's replicationStartPendingFork):
   * when the background slot is free and, for a diskless sync, repl-diskless-sync-delay has
   * passed since the oldest arrived or repl-diskless-sync-max-replicas are waiting.
   */
  private maybeStartSync(): void {
    this.needSync = this.needSync.filter((w) => !w.state.client.closed && this.replicas.get(w.state.client) === w.state);
    if (this.needSync.length === 0) return;
    if (this.transfer?.running) return;
    const p = persistenceOf(this.server);
    if (p.bgsaveInProgress || p.aof.rewriteInProgress) return;
    const cfg = this.server.config;
    const diskless = cfg.getBool("repl-diskless-sync");
    // One snapshot serves the replicas with the first one's filters; the others wait for the
    // next (Redis's replicationCron skips replicas whose slave_req differs).
    const req = this.needSync[0].state.req;
    const list = this.needSync.filter((w) => w.state.req === req);
    if (diskless) {
      const max = cfg.getNumber("repl-diskless-sync-max-replicas");
      const idle = (Date.now() - list[0].since) / 1000;
      if (!(max > 0 && list.length >= max) && idle < cfg.getNumber("repl-diskless-sync-delay")) return;
    }
    // The socket target needs every waiting replica to read an EOF-marked payload. A filtered
    // RDB always takes it, so the snapshot file is never overwritten with a partial image
    // (the command refused SYNC from a filtered replica without capa eof).
    const socketTarget = (diskless || req !== 0) && list.every((w) => w.eof);
    const tr = new RdbTransfer(socketTarget, this.offset, req);
    const dirtyAt = p.dirty();
    const startedAt = Date.now();
    const parts = { data: (req & 1) === 0, functions: (req & 2) === 0 };
    // A disk-target sync is a BGSAVE in Redis: dump.rdb is written and the changes counter resets.
    if (!socketTarget) tr.saveFile = (payload) => p.savedForReplicas(payload, dirtyAt, startedAt);
    if (!tr.start((write) => p.snapshotForReplica(write, socketTarget ? "replicas sockets" : "disk", tr.finished, parts))) return;
    this.transfer = tr;
    log("notice", socketTarget ? `Background RDB transfer started by pid ${tr.pipe.pid}` : `Background saving started by pid ${tr.pipe.pid}`);
    this.needSync = this.needSync.filter((w) => w.state.req !== req);
    // The snapshot is of this instant: the stream from here on is held for each replica.
    this.streamDb = -1;
    for (const w of list) this.joinTransfer(tr, w);
    void tr.finished.then((res) => this.transferDone(tr, res));
  }

  /** +FULLRESYNC with the snapshot's offset, and the replica's part in its transfer. */
  private joinTransfer(tr: RdbTransfer, w: WaitingReplica): void {
    const state = w.state;
    const client = state.client;
    const sock = client.socket;
    if (w.psync) client.write(Buffer.from(`+FULLRESYNC ${this.replid} ${tr.startOffset}\r\n`));
    state.syncState = "wait_end";
    state.transfer = tr;
    // Its stream starts where the snapshot was taken (held in the buffer since then); an
    // rdb-only one gets no stream.
    state.heldFrom = state.rdbOnly ? null : tr.startOffset + 1;
    const m: TransferMember = {
      id: client.id,
      write: (b) => { this.server.stats.netReplOutputBytes += b.length; client.flushTurnHold(); return sock.write(b); },
      onceDrain: (fn) => { sock.once("drain", fn); sock.once("close", fn); },
      get unsent() { return sock.writableLength; },
      get closed() { return client.closed || sock.destroyed; },
    };
    state.member = m;
    tr.add(m);
  }

  /** Sends a replica the stream held for it since heldFrom. */
  private releaseHeld(r: ReplicaState): void {
    const from = r.heldFrom;
    r.heldFrom = null;
    if (from === null || !this.backlog || from > this.offset) return;
    this.sendStream(r.client, this.backlog.from(from));
  }

  /** The transfer ended: the replicas get the rest of their payload and the held stream. */
  private transferDone(tr: RdbTransfer, res: "ok" | "failed"): void {
    if (this.transfer === tr) this.transfer = null;
    for (const state of [...this.replicas.values()]) {
      if (state.transfer !== tr) continue;
      state.transfer = null;
      state.member = null;
      const client = state.client;
      if (res === "failed") {
        log("warning", "SYNC failed. BGSAVE child returned an error");
        this.replicas.delete(client);
        client.kill();
        continue;
      }
      if (state.rdbOnly) {
        this.rdbOnlyDone(tr, state);
        continue;
      }
      state.syncState = "online";
      state.ackAt = Date.now(); // replicaPutOnline: repl-timeout counts from here
      if (tr.socketTarget) {
        // Its stream stays held until the replica's first REPLCONF ACK (ack()).
        log("notice", `Streamed RDB transfer with replica ${state.ip}:${state.port} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming`);
      } else {
        state.sendingBulk = true;
        this.sendDiskPayload(tr, client, () => { state.sendingBulk = false; });
        this.releaseHeld(state);
        log("notice", `Synchronization with replica ${state.ip}:${state.port} succeeded`);
      }
      if (client.socket.writableLength > 0) {
        state.rdbOutstanding = client.socket.writableLength;
        client.socket.once("drain", () => { state.rdbOutstanding = 0; });
      }
    }
    setImmediate(() => this.maybeStartSync());
  }

  /**
   * A disk-target transfer's payload to one replica, as Redis's sendBulkToSlave: the
   * "$<len>\r\n" preamble, then the RDB's bytes, both counted in total_net_repl_output_bytes.
   * Two writes, so the payload every replica of the transfer shares is not copied for each.
   */
  private sendDiskPayload(tr: RdbTransfer, client: Client, sent?: () => void): void {
    const data = tr.payload!;
    const preamble = Buffer.from(`$${data.length}\r\n`);
    this.server.stats.netReplOutputBytes += preamble.length + data.length;
    client.flushTurnHold(); // (+FULLRESYNC may be held to the turn's end: it goes first)
    client.socket.write(preamble);
    client.socket.write(data, sent); // (sent: the socket has handed it all to the kernel, or failed)
  }

  /**
   * An rdb-only replica (redis-cli --rdb) has its RDB: it is closed once the bytes are out
   * (Redis's replicaPutOnline returns 0 for it and the client is freed; it never goes online).
   */
  private rdbOnlyDone(tr: RdbTransfer, state: ReplicaState): void {
    const client = state.client;
    if (tr.socketTarget) {
      log("notice", `Streamed RDB transfer with replica ${state.ip}:${state.port} succeeded (socket). Waiting for REPLCONF ACK from slave to enable streaming`);
    } else {
      this.sendDiskPayload(tr, client);
    }
    state.syncState = "rdb_transmitted";
    log("notice", `RDB transfer completed, rdb only replica (${state.ip}:${state.port}) should be disconnected asap`);
    client.closeAfterReply = true;
    client.flushAndMaybeClose();
  }

  /**
   * While replicas wait for a sync: retry starting it, and every second send each replica
   * that has no payload bytes coming yet a newline, so it does not time out (replicationCron).
   */
  private ensureSyncCron(): void {
    if (this.syncCron) return;
    this.syncCron = setInterval(() => {
      const disk = this.transfer?.running && !this.transfer.socketTarget;
      if (this.needSync.length === 0 && !disk) {
        if (!this.transfer?.running) { clearInterval(this.syncCron); this.syncCron = undefined; }
        return;
      }
      if (Date.now() - this.lastNewline >= 1000) {
        this.lastNewline = Date.now();
        for (const r of this.replicas.values()) {
          if (r.syncState === "wait_start" || (r.syncState === "wait_end" && disk)) {
            r.client.flushTurnHold();
            r.client.socket.write("\n");
          }
        }
      }
      this.maybeStartSync();
    }, 100);
    this.syncCron.unref();
  }

  /** Drops every replica (Redis's disconnectSlaves): they reconnect and PSYNC again. */
  disconnectReplicas(): void {
    for (const r of [...this.replicas.values()]) {
      r.client.kill();
      this.dropReplica(r.client);
    }
  }

  /** The replica's connection closed (or CLIENT KILL). */
  dropReplica(client: Client): void {
    this.needSync = this.needSync.filter((w) => w.state.client !== client);
    const r = this.replicas.get(client);
    if (!r) return;
    this.replicas.delete(client);
    if (this.replicas.size === 0) this.noReplicasSince = Date.now();
    if (r.transfer && r.member) {
      const tr = r.transfer;
      tr.remove(r.member);
      // Redis's freeClient: a disk-target RDB no other replica waits for is not worth
      // finishing (killRDBChild), unless save points make it a snapshot worth keeping.
      if (!tr.socketTarget && tr.running && r.syncState === "wait_end" && tr.members.size === 0 &&
        this.server.config.getString("save").trim() === "") tr.abort();
    }
    // What only this replica needed leaves the shared buffer.
    this.backlog?.trim(this.neededFrom());
    log("notice", `Connection with replica ${r.ip}:${r.port} lost.`);
  }

  /** A newline from a replica (one loading a big RDB sends one a second): Redis's repl_ack_time. */
  replicaAlive(client: Client): void {
    const r = this.replicas.get(client);
    if (r) r.ackAt = Date.now();
  }

  ack(client: Client, offset: number): void {
    const r = this.replicas.get(client);
    if (!r) return;
    if (r.syncState !== "online") return; // its RDB is still on the way
    r.ackOffset = Math.max(r.ackOffset, offset);
    r.ackAt = Date.now();
    // Replicas send ACK every second: sent bytes leave the shared buffer (incremental trim).
    this.backlog?.trim(this.neededFrom());
    if (r.heldFrom !== null) {
      // The replica loaded the streamed RDB: the stream held for it goes out now.
      this.releaseHeld(r);
      log("notice", `Synchronization with replica ${r.ip}:${r.port} succeeded`);
    }
    this.checkWaiting();
    failoverOf(this.server).update();
  }

  // ---- WAIT ---------------------------------------------------------------------------------

  /** Replicas that acknowledged at least offset. */
  acked(offset: number): number {
    let n = 0;
    for (const r of this.replicas.values()) if (r.ackOffset >= offset) n++;
    return n;
  }

  /** WAIT numreplicas timeout: replies now, or blocks the client until enough acks or the timeout. */
  wait(client: Client, numreplicas: number, timeoutMs: number): void {
    const target = this.offset;
    const have = this.acked(target);
    if (have >= numreplicas || this.replicas.size === 0 && numreplicas <= 0) {
      client.reply.integer(have);
      return;
    }
    const w: { client: Client; offset: number; numreplicas: number; timer?: NodeJS.Timeout } = { client, offset: target, numreplicas };
    client.blocked = true;
    this.waiting.add(w);
    if (timeoutMs > 0) w.timer = setTimeout(() => this.finishWait(w), timeoutMs);
    // Ask every replica for its offset now rather than waiting for its next periodic ACK.
    this.feed(["REPLCONF", "GETACK", "*"], -1);
  }

  /** Clients blocked in WAIT get the error and are closed (a master turning replica). */
  disconnectWaiting(message: string): void {
    for (const w of [...this.waiting]) {
      this.waiting.delete(w);
      if (w.timer) clearTimeout(w.timer);
      const c = w.client;
      c.blocked = false;
      c.reply.error(message);
      this.server.countError("UNBLOCKED", message.replace(/^-/, ""));
      c.closeAfterReply = true;
      c.flushAndMaybeClose();
    }
  }

  private checkWaiting(): void {
    for (const w of [...this.waiting]) if (this.acked(w.offset) >= w.numreplicas) this.finishWait(w);
  }

  private finishWait(w: { client: Client; offset: number; timer?: NodeJS.Timeout }): void {
    if (!this.waiting.delete(w as never)) return;
    if (w.timer) clearTimeout(w.timer);
    const c = w.client;
    c.blocked = false;
    c.reply.integer(this.acked(w.offset));
    c.flushAndMaybeClose();
    c.resumeInput();
  }

  // ---- roles --------------------------------------------------------------------------------

  /** REPLICAOF NO ONE on a replica: this node's history goes on under a new id (PSYNC2). */
  promote(): void {
    this.replid2 = this.replid;
    this.secondReplOffset = this.offset + 1;
    this.replid = randomBytes(20).toString("hex");
    this.streamDb = -1;
    log("notice", `Setting secondary replication ID to ${this.replid2}, valid up to offset: ${this.secondReplOffset}. New replication ID is ${this.replid}`);
    // From now on the backlog records this node's own writes, replicas attached or not (a
    // Redis replica creates its backlog when it syncs, and a master feeds it whenever it has
    // one). Made only when a first replica attached, it started at the offset of that moment:
    // a replica that continued from this node then got +CONTINUE and missed the writes made
    // before it came.
    this.ensureBacklog();
  }

  // ---- the history in an RDB (aux fields), restored on restart -------------------------------

  /**
   * The aux fields an RDB carries (Redis's rdbPopulateSaveInfo): a master only once it keeps a
   * backlog (it is in a replication chain), a replica once it has (had) a master; the db is
   * the one the stream is in, so a restarted node goes on in it.
   */
  saveInfo(): { streamDb: number; replid: string; offset: number } | null {
    const link = this.link;
    if (!link && this.backlog) return { streamDb: this.streamDb === -1 ? 0 : this.streamDb, replid: this.replid, offset: this.offset };
    if (link && (link.connected || this.everSynced)) {
      return { streamDb: link.connected ? link.streamDb : this.cachedMasterDb, replid: this.replid, offset: this.offset };
    }
    return null;
  }

  /**
   * Whether the start-up load is a replica's: a master link (replicaof), or a cluster replica
   * by nodes.conf, whose link is made only once the data is loaded (Redis's loadDataFromDisk:
   * masterhost || (cluster_enabled && nodeIsSlave(myself))).
   */
  private replicaAtLoad(): boolean {
    return this.link !== null || this.server.cluster?.isReplica() === true;
  }

  /** Loading at start-up as a master: keys found expired go to the backlog as DELs. */
  loadBegin(): void {
    if (!this.replicaAtLoad()) this.ensureBacklog();
  }

  expiredAtLoad(db: number, key: Buffer): void {
    if (this.replicaAtLoad()) return;
    this.feed([this.server.config.getBool("lazyfree-lazy-expire") ? "UNLINK" : "DEL", key], db);
  }

  /**
   * After the start-up load (Redis's loadDataFromDisk): a replica takes the saved history as
   * its own, so it can continue partially with its master; a master keeps it as replid2 up to
   * the saved offset, and its offset goes on from there (plus the DELs of keys that expired),
   * so its replicas can continue partially after its restart.
   */
  loadEnd(aux: Map<string, string>): void {
    const id = aux.get("repl-id");
    const off = Number(aux.get("repl-offset") ?? "-1");
    const db = Number(aux.get("repl-stream-db") ?? "-1");
    const valid = id !== undefined && id.length === 40 && Number.isInteger(off) && off >= 0 && db >= 0;
    // A cluster replica took its own new replid here and asked its master for that history,
    // never a partial sync (cluster 17-diskless-load-swapdb: no async loading either).
    if (this.replicaAtLoad()) {
      if (!valid) return;
      this.replid = id;
      this.offset = off;
      this.everSynced = true;
      this.cachedMasterDb = db;
      if (this.backlog) this.backlog = new Backlog(this.backlog.size, off);
      log("notice", `Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.`);
      return;
    }
    if (!valid) {
      // Nothing to continue from: the backlog waits for the first replica, as before.
      this.backlog = null;
      this.offset = 0;
      this.streamDb = -1;
      return;
    }
    this.replid2 = id;
    this.secondReplOffset = off + 1;
    this.offset += off;
    if (this.backlog) this.backlog.offset += off;
  }

  /** INFO replication (Redis's genRedisInfoString "Replication" section). */
  info(): [string, string | number][] {
    const f: [string, string | number][] = [];
    const link = this.link;
    if (link) {
      f.push(["role", "slave"], ["master_host", link.host], ["master_port", link.port],
        ["master_link_status", link.connected ? "up" : "down"],
        ["master_last_io_seconds_ago", link.connected ? Math.floor((Date.now() - link.lastIo) / 1000) : -1],
        ["master_sync_in_progress", link.syncing ? 1 : 0],
        ["slave_read_repl_offset", this.offset + link.unappliedBytes], ["slave_repl_offset", this.offset]);
      const t = link.transfer;
      if (t) {
        f.push(["master_sync_total_bytes", t.size], ["master_sync_read_bytes", t.read],
          ["master_sync_left_bytes", t.size - t.read], ["master_sync_perc", (t.size > 0 ? (t.read / t.size) * 100 : 0).toFixed(2)],
          ["master_sync_last_io_seconds_ago", Math.floor((Date.now() - link.lastIo) / 1000)]);
      }
      // server.unixtime - repl_down_since: a difference of whole unix seconds, as Redis's.
      if (!link.connected) {
        f.push(["master_link_down_since_seconds", link.replDownSince ? Math.floor(Date.now() / 1000) - Math.floor(link.replDownSince / 1000) : -1]);
      }
      f.push(["slave_priority", this.server.config.getNumber("replica-priority")],
        ["slave_read_only", this.server.config.getBool("replica-read-only") ? 1 : 0],
        ["replica_announced", 1]);
    } else {
      f.push(["role", "master"]);
    }
    f.push(["connected_slaves", this.replicas.size]);
    const cfg = this.server.config;
    if (cfg.getNumber("min-replicas-to-write") > 0 && cfg.getNumber("min-replicas-max-lag") > 0) {
      f.push(["min_slaves_good_slaves", this.server.minReplicas.goodReplicas()]);
    }
    // A line per replica in a listed state (an rdb-only one whose RDB is out has none), its
    // lag only once online, as Redis's; send_bulk while a disk-target payload is still on its
    // way to the socket (Redis's SLAVE_STATE_SEND_BULK).
    let i = 0;
    for (const r of this.replicas.values()) {
      if (r.syncState === "rdb_transmitted") continue;
      const st = r.syncState !== "online" ? "wait_bgsave" : r.sendingBulk ? "send_bulk" : "online";
      const lag = st === "online" ? Math.floor((Date.now() - r.ackAt) / 1000) : 0;
      f.push([`slave${i++}`, `ip=${r.ip},port=${r.port},state=${st},offset=${r.ackOffset},lag=${lag}`]);
    }
    f.push(["master_failover_state", failoverOf(this.server).state], ["master_replid", this.replid], ["master_replid2", this.replid2],
      ["master_repl_offset", this.offset], ["second_repl_offset", this.secondReplOffset],
      ["repl_backlog_active", this.backlog ? 1 : 0],
      ["repl_backlog_size", this.backlog?.size ?? this.server.config.getNumber("repl-backlog-size")],
      ["repl_backlog_first_byte_offset", this.backlog ? this.backlog.firstByteOffset : 0],
      ["repl_backlog_histlen", this.backlog?.histlen ?? 0]);
    return f;
  }
}

const states = new WeakMap<Server, Replication>();

replInfoHook.save = (server) => replicationOf(server).saveInfo();
replInfoHook.loadBegin = (server) => replicationOf(server).loadBegin();
replInfoHook.expiredAtLoad = (server, db, key) => replicationOf(server).expiredAtLoad(db, key);
replInfoHook.loadEnd = (server, aux) => replicationOf(server).loadEnd(aux);
// iAmMaster: no master link (REPLICAOF / replicaof, or a cluster replica's link to its master).
replInfoHook.iAmMaster = (server) => replicationOf(server).link === null;

export function replicationOf(server: Server): Replication {
  // Asked a few times on every socket read (stale-replica.ts, Client.flushBatch): the last
  // answer first, then the WeakMap.
  if (server === lastServer) return lastReplication!;
  let r = states.get(server);
  if (!r) states.set(server, (r = new Replication(server)));
  lastServer = server;
  lastReplication = r;
  return r;
}
let lastServer: Server | null = null;
let lastReplication: Replication | null = null;
