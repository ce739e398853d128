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
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import { EFFECT_COMMAND, type Effect } from "../server/effects.js";
import { Backlog } from "./backlog.js";
import { snapshotRdb } from "../persistence/rdb-file.js";
import { log } from "../server/log.js";
import type { ReplicaLink } from "./replica-link.js";
import { parseMemory } from "../config/config.js";

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
  /**
   * After a diskless (EOF-marked) transfer: the stream is held here until the replica's
   * first REPLCONF ACK says it loaded the RDB (Redis's repl_start_cmd_stream_on_ack), since
   * a replica reading the payload to disk finds the end mark only at the end of a read.
   */
  pending: Buffer[] | null;
  pendingBytes: number;
  /** Bytes of the RDB payload still in the socket's buffer (not counted against the limit). */
  rdbOutstanding: number;
  /** When the replica's buffer went over the soft limit (0: under it). */
  softSince: number;
}

/** A replica waiting for a diskless full sync to start (repl-diskless-sync-delay). */
interface WaitingReplica { state: ReplicaState; psync: boolean }

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

export function encodeCommand(argv: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`)];
  for (const a of argv) {
    const b = typeof a === "string" ? Buffer.from(a) : a;
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
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
  /** Set while this server is a replica (REPLICAOF host port). */
  link: ReplicaLink | null = null;
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

  /** Replicas waiting for a diskless sync to start, and the timer that starts it. */
  private disklessWaiting: WaitingReplica[] = [];
  private disklessTimer?: NodeJS.Timeout;
  private limitCache = { cob: "", lim: replicaOutputLimit("") };
  /** INFO stats sync_full, sync_partial_ok, sync_partial_err. */
  readonly syncStats = { full: 0, partialOk: 0, partialErr: 0 };

  constructor(readonly server: Server) {
    server.config.onApply("repl-backlog-size", (cfg) => this.backlog?.resize(cfg.getNumber("repl-backlog-size")));
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
    if (!this.subscribed) {
      this.subscribed = true;
      this.server.effects.subscribe({ onEffect: (e) => this.onEffect(e), onGroup: (b) => this.onGroup(b) });
      const period = Math.max(1, this.server.config.getNumber("repl-ping-replica-period")) * 1000;
      this.pingTimer = setInterval(() => { if (this.replicas.size && !this.link) this.feed(["PING"], -1); }, period);
      this.pingTimer.unref();
    }
    return this.backlog;
  }

  private onEffect(e: Effect): void {
    // A replica's stream is its master's, proxied byte for byte (proxy()); its own writes,
    // if it is writable, stay local as in Redis 7.0.
    if (this.link) return;
    const argv = e.kind === EFFECT_COMMAND ? e.argv : [Buffer.from("DEL"), e.argv[0]];
    this.feed(argv, e.db);
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
    // ones inside the transaction (as Redis propagates a transaction).
    const [first, ...rest] = cmds;
    const head = first.length === 2 ? [first[0], encodeCommand(["MULTI"]), first[1]] : [encodeCommand(["MULTI"]), first[0]];
    this.write(Buffer.concat([...head, ...rest.flat(), encodeCommand(["EXEC"])]));
  }

  /** Appends one command (run in db; -1: any db, e.g. PING) to the stream. */
  feed(argv: (string | Buffer)[], db: number): void {
    const bytes = encodeCommand(argv);
    const parts = [bytes];
    if (db >= 0 && db !== this.streamDb) {
      parts.unshift(encodeCommand(["SELECT", String(db)]));
      this.streamDb = db;
    }
    if (this.group) this.group.push(parts);
    else this.write(parts.length === 1 ? bytes : Buffer.concat(parts));
  }

  private write(bytes: Buffer): void {
    // A master counts its stream only once it keeps a backlog; a replica always counts what
    // it applied of its master's.
    if (!this.backlog && !this.link) return;
    this.backlog?.append(bytes);
    this.offset += bytes.length;
    for (const r of this.replicas.values()) {
      if (r.pending) {
        r.pending.push(bytes);
        r.pendingBytes += bytes.length;
      } else {
        r.client.write(bytes);
      }
      this.checkOutputLimit(r);
    }
  }

  /**
   * client-output-buffer-limit replica: a replica whose unsent stream passes the hard limit,
   * or stays over the soft one for its seconds, is disconnected (it reconnects and resyncs,
   * partially if the backlog still holds its offset). The RDB payload itself is not counted.
   */
  private checkOutputLimit(r: ReplicaState): void {
    const lim = this.outputLimit;
    if (lim.hard === 0 && lim.soft === 0) return;
    const used = r.pendingBytes + Math.max(0, r.client.socket.writableLength - r.rdbOutstanding);
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
    this.replicas.delete(r.client);
    r.client.kill();
  }

  /** Replica: stream bytes from the master, applied here, go on unchanged to our replicas. */
  proxy(bytes: Buffer): void {
    this.write(bytes);
  }

  /** Replica after a full resync: the master's history is ours from its offset on. */
  adoptMaster(replid: string, offset: number): void {
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
  sync(client: Client, replid: string | null, from: number, capaPsync2: boolean, port: number, capaEof = false): void {
    const backlog = this.ensureBacklog();
    const state: ReplicaState = {
      client, ip: (client.socket.remoteAddress ?? "").replace(/^::ffff:/, ""), port,
      ackOffset: 0, ackAt: Date.now(), capaPsync2, pending: null, pendingBytes: 0, rdbOutstanding: 0, softSince: 0,
    };
    const historyOk = replid !== null && (replid === this.replid || (replid === this.replid2 && from <= this.secondReplOffset));
    if (historyOk && backlog.has(from)) {
      this.syncStats.partialOk++;
      client.write(Buffer.from(capaPsync2 ? `+CONTINUE ${this.replid}\r\n` : "+CONTINUE\r\n"));
      client.write(backlog.from(from));
      this.replicas.set(client, state);
      log("notice", `Partial resynchronization request from ${state.ip}:${port} accepted. Sending ${this.offset + 1 - from} bytes of backlog starting from offset ${from}.`);
      return;
    }
    if (replid !== null) log("notice", `Full resync requested by replica ${state.ip}:${port}`);
    // A PSYNC that named a history (not "?") and could not continue is a partial-sync error.
    if (replid !== null && replid !== "?") this.syncStats.partialErr++;
    this.syncStats.full++;
    // repl-diskless-sync: replicas that can read an EOF-marked payload get the RDB streamed;
    // the transfer starts after repl-diskless-sync-delay, so replicas arriving meanwhile share it.
    if (capaEof && this.server.config.getBool("repl-diskless-sync")) {
      this.disklessWaiting.push({ state, psync: replid !== null });
      const max = this.server.config.getNumber("repl-diskless-sync-max-replicas");
      const delay = this.server.config.getNumber("repl-diskless-sync-delay");
      if ((max > 0 && this.disklessWaiting.length >= max) || delay <= 0) {
        if (this.disklessTimer) clearTimeout(this.disklessTimer);
        this.disklessTimer = undefined;
        if (delay <= 0 && !(max > 0 && this.disklessWaiting.length >= max)) setImmediate(() => this.startDisklessSync());
        else this.startDisklessSync();
      } else if (!this.disklessTimer) {
        log("notice", `Delay next BGSAVE for diskless SYNC`);
        this.disklessTimer = setTimeout(() => { this.disklessTimer = undefined; this.startDisklessSync(); }, delay * 1000);
      }
      return;
    }
    log("notice", "Starting BGSAVE for SYNC with target: disk");
    this.fullSync([{ state, psync: replid !== null }], false);
  }

  private startDisklessSync(): void {
    const list = this.disklessWaiting.filter((w) => !w.state.client.closed);
    this.disklessWaiting = [];
    if (list.length === 0) return;
    log("notice", "Starting BGSAVE for SYNC with target: replicas sockets");
    this.fullSync(list, true);
  }

  /**
   * +FULLRESYNC and the RDB to each replica: with eof, in the EOF-marked form
   * ("$EOF:<40 bytes>" RDB <the same 40 bytes>), else as a bulk of known length. The snapshot
   * and the stream position it corresponds to are taken at the same instant: nothing runs
   * between them, and from then on the replicas receive the stream.
   */
  private fullSync(list: WaitingReplica[], eof: boolean): void {
    const { data } = snapshotRdb(this.server);
    this.streamDb = -1;
    for (const { state, psync } of list) {
      const client = state.client;
      if (psync) client.write(Buffer.from(`+FULLRESYNC ${this.replid} ${this.offset}\r\n`));
      if (eof) {
        const mark = randomBytes(20).toString("hex");
        client.write(Buffer.concat([Buffer.from(`$EOF:${mark}\r\n`), data, Buffer.from(mark)]));
        state.pending = [];
      } else {
        client.write(Buffer.concat([Buffer.from(`$${data.length}\r\n`), data]));
      }
      if (client.socket.writableLength > 0) {
        state.rdbOutstanding = data.length;
        client.socket.once("drain", () => { state.rdbOutstanding = 0; });
      }
      this.replicas.set(client, state);
      if (eof) log("notice", `Streamed RDB transfer with replica ${state.ip}:${state.port} succeeded (socket). Waiting for REPLCONF ACK from replica to enable streaming`);
      else log("notice", `Synchronization with replica ${state.ip}:${state.port} succeeded`);
    }
  }

  /** The replica's connection closed (or CLIENT KILL). */
  dropReplica(client: Client): void {
    this.disklessWaiting = this.disklessWaiting.filter((w) => w.state.client !== client);
    const r = this.replicas.get(client);
    if (!r) return;
    this.replicas.delete(client);
    log("notice", `Connection with replica ${r.ip}:${r.port} lost.`);
  }

  ack(client: Client, offset: number): void {
    const r = this.replicas.get(client);
    if (!r) return;
    r.ackOffset = Math.max(r.ackOffset, offset);
    r.ackAt = Date.now();
    if (r.pending) {
      // The replica loaded the streamed RDB: the stream held for it goes out now.
      const held = r.pending;
      r.pending = null;
      r.pendingBytes = 0;
      if (held.length) r.client.write(Buffer.concat(held));
      log("notice", `Synchronization with replica ${r.ip}:${r.port} succeeded`);
    }
    this.checkWaiting();
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
      if (!link.connected) f.push(["master_link_down_since_seconds", Math.floor((Date.now() - link.downSince) / 1000)]);
      f.push(["slave_priority", this.server.config.getNumber("replica-priority")],
        ["slave_read_only", this.server.config.getBool("replica-read-only") ? 1 : 0],
        ["replica_announced", 1]);
    } else {
      f.push(["role", "master"]);
    }
    f.push(["connected_slaves", this.replicas.size + this.disklessWaiting.length]);
    let i = 0;
    for (const { state: r } of this.disklessWaiting) f.push([`slave${i++}`, `ip=${r.ip},port=${r.port},state=wait_bgsave,offset=0,lag=0`]);
    for (const r of this.replicas.values()) {
      const lag = Math.floor((Date.now() - r.ackAt) / 1000);
      f.push([`slave${i++}`, `ip=${r.ip},port=${r.port},state=online,offset=${r.ackOffset},lag=${lag}`]);
    }
    f.push(["master_failover_state", "no-failover"], ["master_replid", this.replid], ["master_replid2", this.replid2],
      ["master_repl_offset", this.offset], ["second_repl_offset", this.secondReplOffset],
      ["repl_backlog_active", this.backlog ? 1 : 0],
      ["repl_backlog_size", this.backlog?.size ?? this.server.config.getNumber("repl-backlog-size")],
      ["repl_backlog_first_byte_offset", this.backlog ? this.backlog.firstByteOffset : 0],
      ["repl_backlog_histlen", this.backlog?.histlen ?? 0]);
    return f;
  }
}

const states = new WeakMap<Server, Replication>();

export function replicationOf(server: Server): Replication {
  let r = states.get(server);
  if (!r) states.set(server, (r = new Replication(server)));
  return r;
}
