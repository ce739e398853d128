// ActiveActive: one node's multi-master replication — the Replicator (effects -> CRDT
// deltas, remote deltas -> keyspace), Gossip (delta streams, anti-entropy) and the TCP bus
// (peer-link.ts) — configured from redis.conf / flags:
//
//   crdt-node-id <id>       this node's name (default: one made up at the first start and
//                           kept in dir's crdt-node-id file); a random suffix is added per
//                           process start, since a restarted node starts empty and must not
//                           reuse its old counters' identity
//   crdt-bus-port <port>    where peers connect (default: port + 10000 when peers are set)
//   peer <host>:<busport>   a peer's bus address (repeatable)
//   crdt-secret <secret>    a shared secret every peer must prove on connecting (peer-link.ts)
//   crdt-user <user>        the ACL user this node authenticates as on its peers' bus
//   crdt-password <pass>    (like masteruser / masterauth; a peer checks them as AUTH does)
//   tls-replication yes     the bus is TLS, with the server's tls-* certificates (tls.ts)
//   crdt-gc-grace-ms <ms>   tombstone GC waits this long after a removal became stable
//                           (default 10000; gossip.ts gcGraceMs)
//   crdt-peer-gc-timeout <s> a peer silent this long leaves the GC quorum and that
//                           incarnation of it is refused from then on (default 0: never;
//                           gossip.ts peerGcTimeoutMs, Gossip.expire)
//
// or at runtime with CRDT.PEER ADD host busport (which starts replication on a node that
// had none: its existing keys become its first writes).
import type net from "node:net";
import type tls from "node:tls";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { writeFileDurable } from "../util/write-durable.js";
import type { Server } from "../server/server.js";
import { tlsOf, serverContextOptions } from "../server/tls.js";
import { aclOf } from "../acl/acl.js";
import { checkCommand, ACL_OK } from "../acl/check.js";
import { log } from "../server/log.js";
import { Replicator } from "./replicator.js";
import { Gossip, DEFAULT_GOSSIP, SERVER_PACING } from "./gossip.js";
import { PeerLink, listenBus, closeBus, type Credentials, type Dialer } from "./peer-link.js";
import { physicalOf } from "./hlc.js";
import { LoadedKeys, writtenKeys } from "./loaded-keys.js";
import { dbKey } from "./store.js";
import { LOCAL_KEYS_FILE, type FsyncPolicy } from "./local-keys.js";
import { SavedStateCursor, keepLoadedState, savedStateNow, takeLoadedStates, filePieces } from "./saved-state.js";
import { crdtStateHook } from "../persistence/rdb-file.js";
import { aofCrdtHook } from "../persistence/aof-crdt.js";
import { startupFileTime, persistenceOf } from "../persistence/persistence.js";
import { StartupError } from "../server/listeners.js";

export class ActiveActive {
  readonly rep: Replicator;
  readonly gossip: Gossip;
  readonly loaded: LoadedKeys;
  readonly links = new Map<string, PeerLink>();
  /** Replication's clock (ms): the server's, shifted by crdt-clock-offset-ms. */
  private readonly clock: () => number;
  private bus?: net.Server;
  private timer?: NodeJS.Timeout;
  busPort = 0;
  /** crdt-secret: peers must prove it in their HELLO (peer-link.ts); "" = no authentication. */
  readonly secret: string;
  /** What this node proves on its peers' bus: crdt-secret, crdt-user / crdt-password. */
  readonly credentials: Credentials;

  constructor(private readonly server: Server, readonly nodeId: string) {
    // crdt-clock-offset-ms (for tests): this node's replication reads a clock that is off by
    // that much (its HLC, gossip's timers, its file's time), as on a host whose clock is off.
    const offset = Number(ActiveActive.directive(server, "crdt-clock-offset-ms") ?? 0) || 0;
    const clock = this.clock = offset ? () => server.now() + offset : () => server.now();
    this.rep = new Replicator(server, nodeId, clock);
    // The replicator reads some written keys back after their command: a pipeline run in one
    // kernel call would show it the value after the whole pipeline, and an INCR read back
    // after a later INCR of the same key looks like a SET, which resets the counter. So the
    // kernel hands those writes back to run alone; the writes recorded from their effect
    // record alone (Replicator.RECORDED) and every read stay in the pipeline's one call.
    server.effectsPerCommand = true;
    const readBack: number[] = [];
    for (const spec of server.table.all.values()) {
      if (spec.kernelIndex >= 0 && spec.flags.has("write") && !Replicator.RECORDED.has(spec.name.toLowerCase())) readBack.push(spec.kernelIndex);
    }
    for (const shard of server.shards) shard.useHandBack(readBack);
    // One batch per peer for all the writes of a turn (a pipelined read), not one per command.
    this.rep.deferFlush = (f) => queueMicrotask(f);
    this.secret = ActiveActive.directive(server, "crdt-secret") ?? "";
    this.credentials = {
      secret: this.secret,
      user: ActiveActive.directive(server, "crdt-user") ?? "",
      password: ActiveActive.directive(server, "crdt-password") ?? "",
    };
    const grace = Number(ActiveActive.directive(server, "crdt-gc-grace-ms") ?? DEFAULT_GOSSIP.gcGraceMs);
    const timeout = Number(ActiveActive.directive(server, "crdt-peer-gc-timeout") ?? 0);
    this.gossip = new Gossip(this.rep, clock, {
      ...DEFAULT_GOSSIP, antiEntropyMs: 1000, gcGraceMs: Number.isFinite(grace) && grace >= 0 ? grace : DEFAULT_GOSSIP.gcGraceMs,
      peerGcTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout * 1000 : 0,
    }, undefined, SERVER_PACING); // (long anti-entropy answers go out a slice per event-loop turn)
    this.gossip.warn = (msg) => log("warning", msg);
    // A large answer to a node holding more keys is joined in slices while clients are served
    // (gossip.ts joinOpen): each client write first has the keys it names joined, and one that
    // may write keys it does not name (a script, a flush, anything in MULTI/EXEC) the whole answer.
    this.gossip.openJoins = {
      beforeWrites: (write) => this.rep.beforeCommands((spec, client, argv) => {
        if (client.multi !== null) { if (spec !== undefined || isExec(argv)) write(undefined); return; }
        if (spec === undefined) return;
        const keys = writtenKeys(spec, argv);
        write(keys === undefined ? undefined : keys.map((k) => dbKey(client.db, k)));
      }),
    };
    // the keys this node keeps from its peers, remembered beside its RDB/AOF (local-keys.ts)
    this.rep.localKeys.persistIn(LOCAL_KEYS_FILE, () => marksFsync(server));
    this.rep.pacing = SERVER_PACING; // (keyspace walks: a slice per event-loop turn)
    // The AOF carries the CRDT writes after the commands they go with (aof-crdt.ts).
    const aof = persistenceOf(server).aof;
    this.rep.file = { wants: () => aof.takesWrites, changed: () => aof.crdtChanged(), rewrite: () => aof.rewriteSoon() };
    this.rep.seedFromKeyspace(server.config.getNumber("databases"));
    // A node started before its RDB/AOF is loaded: the keys only the file holds go to the peers
    // once their states are in (loaded-keys.ts).
    this.loaded = new LoadedKeys(this.rep, this.gossip, server.config.getNumber("databases"), () => startupFileTime(server) + (startupFileTime(server) ? offset : 0), SERVER_PACING,
      () => takeLoadedStates(server));
    this.timer = setInterval(() => this.gossip.tick(), 50);
    this.timer.unref();
  }

  /** The last value of a directive from redis.conf / flags, or undefined. */
  static directive(server: Server, name: string): string | undefined {
    return server.config.extra.filter(([n]) => n === name).map(([, a]) => a.join(" ")).pop();
  }

  /** Reads crdt-* / peer directives; undefined when the node is not configured for replication. */
  static fromConfig(server: Server): { nodeId: string; busPort: number; peers: [string, number][] } | undefined {
    const extra = server.config.extra;
    const one = (name: string) => extra.filter(([n]) => n === name).map(([, a]) => a.join(" ")).pop();
    const peers: [string, number][] = [];
    for (const [n, args] of extra) {
      if (n !== "peer") continue;
      for (const a of args) {
        const i = a.lastIndexOf(":");
        if (i > 0) peers.push([a.slice(0, i), Number(a.slice(i + 1))]);
      }
    }
    const idConf = one("crdt-node-id");
    const portConf = one("crdt-bus-port");
    if (!peers.length && idConf === undefined && portConf === undefined) return undefined;
    return { nodeId: idConf ?? "", busPort: portConf ? Number(portConf) : 0, peers };
  }

  /**
   * `<name>~<incarnation>`: the name is crdt-node-id, or the one this node made up at its first
   * start (persistedNodeName); the incarnation is the start time (fixed-width base 36, so later
   * starts sort later) plus random bits; gossip.ts tells a restarted node's old incarnation
   * from this order (olderIncarnation).
   */
  static defaultNodeId(server: Server, configured: string): string {
    const started = incarnationStart().toString(36).padStart(9, "0");
    return `${configured || persistedNodeName(server)}~${started}${randomBytes(3).toString("hex")}`;
  }

  /** tls-replication yes: the bus is TLS both ways (CONFIG SET moves the listener and the links: moveBus). */
  private get secure(): boolean {
    return this.server.config.getBool("tls-replication");
  }

  /** The bus listener's TLS options: the server's certificate; peers' certificates as tls-auth-clients says. */
  private busTlsOptions(): tls.TlsOptions {
    const mode = this.server.config.get("tls-auth-clients");
    return { ...serverContextOptions(this.server.config), requestCert: mode !== "no", rejectUnauthorized: mode === "yes" };
  }

  /**
   * A peer's HELLO credentials, checked as AUTH checks a client's (no user: the default user
   * with an empty password, which passes while it is nopass); the user must also be allowed
   * to run CRDT.PEER, since a peer link writes everything. null = accepted.
   */
  private checkPeerUser(user: Buffer | undefined, password: Buffer | undefined): string | null {
    const acl = aclOf(this.server);
    const name = user ? user.toString("utf8") : "default";
    const u = acl.users.get(name);
    if (!u || !u.checkPassword(password ?? Buffer.alloc(0))) {
      return user ? `peer failed ACL authentication as '${name}'` : "peer sent no credentials and the default user requires a password";
    }
    const spec = this.server.table.lookup("crdt.peer");
    if (spec && checkCommand(u, spec, [Buffer.from("crdt.peer"), Buffer.from("add")]).result !== ACL_OK) {
      return `ACL user '${name}' may not run CRDT.PEER`;
    }
    return null;
  }

  async listen(host: string | undefined, port: number, secure = this.secure): Promise<void> {
    this.busHost = host;
    this.bus = await listenBus(this.gossip, this.nodeId, host, port, {
      secret: this.secret,
      tls: secure ? this.busTlsOptions() : undefined,
      checkUser: (u, p) => this.checkPeerUser(u, p),
      refused: (why) => log("verbose", `CRDT bus: refused a peer connection: ${why}`),
    });
    this.busPort = (this.bus.address() as net.AddressInfo).port;
    this.busSecure = secure;
    if (!this.appliersSet) {
      this.appliersSet = true;
      // A changed certificate (CONFIG SET tls-cert-file ...) applies to new peer connections.
      for (const d of ["tls-cert-file", "tls-key-file", "tls-ca-cert-file", "tls-ca-cert-dir", "tls-auth-clients", "tls-protocols", "tls-ciphers", "tls-ciphersuites"]) {
        this.server.config.onApply(d, () => this.refreshBusTls());
      }
      this.server.config.onApply("tls-replication", () => { void this.moveBus(); });
    }
  }

  private busHost?: string;
  private appliersSet = false;
  /** The mode the listener runs in (a moveBus may be under way). */
  private busSecure?: boolean;
  private moving: Promise<void> = Promise.resolve();

  /**
   * CONFIG SET tls-replication: the bus listener is re-opened on the same port in the new
   * mode (its connections end with the old one), and every peer link dials again in it, as
   * Redis's replication links take tls-replication at their next connection. A listener that
   * cannot start in TLS (no certificate) stays as it was, with a warning in the log.
   */
  private moveBus(): Promise<void> {
    this.moving = this.moving.then(async () => {
      const want = this.secure;
      if (!this.bus || this.busSecure === want) return;
      const port = this.busPort;
      const old = this.bus;
      await closeBus(old);
      this.bus = undefined;
      try {
        await this.listen(this.busHost, port, want);
      } catch (e) {
        log("warning", `CRDT bus: could not reopen the bus ${want ? "with" : "without"} TLS, keeping it as it was: ${(e as Error).message}`);
        await this.listen(this.busHost, port, !want).catch((e2) => log("warning", `CRDT bus: could not reopen the bus: ${(e2 as Error).message}`));
      }
      for (const l of this.links.values()) l.redial();
    });
    return this.moving;
  }

  private refreshBusTls(): void {
    const bus = this.bus as tls.Server | undefined;
    if (!bus || typeof bus.setSecureContext !== "function") return;
    try {
      const opts = this.busTlsOptions();
      bus.setSecureContext(opts);
      const live = bus as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
      live.requestCert = opts.requestCert!;
      live.rejectUnauthorized = opts.rejectUnauthorized!;
    } catch (e) {
      log("warning", `CRDT bus: keeping the old TLS configuration: ${(e as Error).message}`);
    }
  }

  addPeer(host: string, port: number): boolean {
    const key = `${host}:${port}`;
    if (this.links.has(key)) return false;
    // (secure is read at every dial: a link follows CONFIG SET tls-replication)
    const self = this;
    const dialer: Dialer = { dial: (p, h) => tlsOf(this.server).dial(p, h, this.secure), get secure() { return self.secure; } };
    this.links.set(key, new PeerLink(host, port, this.gossip, this.nodeId, this.credentials, dialer));
    return true;
  }

  removePeer(host: string, port: number): boolean {
    const key = `${host}:${port}`;
    const l = this.links.get(key);
    if (!l) return false;
    l.close();
    this.links.delete(key);
    return true;
  }

  /** CRDT.PEER FORGET: removes the link, and the peer from the GC quorum (gossip.ts forgetPeer). */
  forgetPeer(host: string, port: number): boolean {
    const key = `${host}:${port}`;
    this.removePeer(host, port);
    return this.gossip.forgetPeer(key);
  }

  /** INFO crdt. */
  info(): string {
    const g = this.gossip.stats;
    let s = "# CRDT\r\n";
    s += `crdt_node_id:${this.nodeId}\r\ncrdt_bus_port:${this.busPort}\r\ncrdt_keys:${this.rep.store.keys.size}\r\n`;
    s += `crdt_hlc_ms:${physicalOf(this.rep.hlc.current)}\r\ncrdt_peers:${this.links.size}\r\n`;
    s += `crdt_deltas_sent:${g.sent}\r\ncrdt_deltas_resent:${g.resent}\r\ncrdt_deltas_received:${g.received}\r\n`;
    // the same in bytes (delta messages as sent: first sends, resends)
    s += `crdt_deltas_sent_bytes:${g.sentBytes}\r\ncrdt_deltas_resent_bytes:${g.resentBytes}\r\n`;
    s += `crdt_duplicates:${g.duplicates}\r\ncrdt_anti_entropy_rounds:${g.antiEntropyRounds}\r\ncrdt_anti_entropy_skipped:${g.antiEntropySkipped}\r\ncrdt_keys_repaired:${g.rangesRepaired}\r\n`;
    // keys sent in anti-entropy answers (a new node's full copy counts every key once)
    s += `crdt_anti_entropy_keys_sent:${g.answerKeys}\r\n`;
    // keys in anti-entropy answers received, and rounds started asking one peer for a full copy
    // (an empty store: gossip.ts catchingUp; a second one means the first copier showed no life)
    s += `crdt_anti_entropy_keys_received:${g.keysReceived}\r\ncrdt_catch_up_rounds:${g.catchUpRounds}\r\n`;
    // batches received but not applied yet: waiting for an earlier one or for writes they depend on
    s += `crdt_deltas_waiting:${g.waiting}\r\n`;
    // script writes redis.set_repl kept from replicas (REPL_NONE / REPL_AOF): not sent to peers
    s += `crdt_local_only_writes:${this.rep.stats.localOnly}\r\n`;
    // keyspace walks (CRDT.PEER ADD on a node holding data, SWAPDB): under way, keys synced so far
    s += `crdt_walking:${this.rep.walking ? 1 : 0}\r\ncrdt_walked_keys:${this.rep.stats.walkedKeys}\r\n`;
    // keys whose content this node keeps from its peers (those writes, loaded keys kept local), across restarts
    s += `crdt_local_only_keys:${this.rep.localKeys.keys.size}\r\n`;
    // large answers joined a slice per turn: all of them, those to a node holding more keys than
    // they bring (clients served meanwhile: joinOpen; the others answer -LOADING: joinSliced),
    // and the slices they took
    s += `crdt_sliced_joins:${g.slicedJoins}\r\ncrdt_open_joins:${g.openJoins}\r\ncrdt_join_slices:${g.joinSlices}\r\n`;
    s += `crdt_joining:${this.gossip.joining}\r\n`;
    // keys loaded from disk with no CRDT state: waiting for every peer's state, then (those no
    // peer held) sent as this node's writes, or kept on this node (a peer collected removals
    // after the file was written: loaded-keys.ts)
    const lk = this.loaded.stats;
    s += `crdt_loaded_keys_pending:${lk.pending}\r\ncrdt_loaded_keys_sent:${lk.sent}\r\ncrdt_loaded_keys_kept_local:${lk.keptLocal}\r\n`;
    // key states (tombstones included) the RDB file carried (saved-state.ts), those joined, and
    // the live ones whose key the load left absent, recorded as deleted (loaded-keys.ts takeSaved)
    s += `crdt_loaded_states:${lk.states}\r\ncrdt_loaded_states_joined:${lk.statesJoined}\r\ncrdt_loaded_states_deleted:${lk.statesDeleted}\r\n`;
    // the load-end check (loaded-keys.ts takeSaved) under way: 1 from the load's end until it has
    // looked at every file state
    s += `crdt_loaded_checking:${this.loaded.checking ? 1 : 0}\r\n`;
    const gc = this.rep.store.gcStats;
    const own = this.gossip.stable.get(this.nodeId);
    // keys whose state is kept packed (stable: store.ts PackedState), and packs/unpacks so far
    const pk = this.rep.store.packStats;
    s += `crdt_packed_keys:${pk.now}\r\ncrdt_keys_packed:${pk.packed}\r\ncrdt_keys_unpacked:${pk.unpacked}\r\n`;
    s += `crdt_tombstones:${this.rep.store.tombstoneCount()}\r\ncrdt_gc_keys_dropped:${gc.keysDropped}\r\n` +
      `crdt_gc_keys_compacted:${gc.keysCollected}\r\ncrdt_gc_keys_visited:${gc.keysVisited}\r\ncrdt_stable_lag_ms:${own ? Math.max(0, physicalOf(this.rep.hlc.current - own)) : -1}\r\n`;
    // per node: how far behind our clock the stability GC acts on is (ms; departed = all final)
    // peers expired by crdt-peer-gc-timeout (their incarnations are refused), messages refused,
    // and the peers that refuse this node (it was expired: restart it empty)
    s += `crdt_peers_expired:${this.gossip.expired.size}\r\ncrdt_refused_messages:${g.refused}\r\n` +
      `crdt_refused_by:${[...this.gossip.refusedBy.values()].map((r) => r.id).join(",")}\r\n`;
    // entries kept per node incarnation (stability, applied) or name (final watermarks): they
    // stay about three per live node and one per restarted name, however often nodes restart
    const ie = this.gossip.incarnationEntries;
    s += `crdt_incarnation_entries:${ie.stable + ie.gcStable + ie.applied + ie.final + ie.gcFinal}\r\n`;
    // (departed: that incarnation and every older one of its name are final — one per name)
    s += `crdt_gc_stable:${[...[...this.gossip.gcStable].map(([n, ts]) => `${n}=${Math.max(0, physicalOf(this.rep.hlc.current - ts))}`),
      ...[...this.gossip.gcFinal.ids()].map((n) => `${n}=departed`)].join(",")}\r\n`;
    let i = 0;
    for (const l of this.links.values()) {
      const p = this.gossip.peers.get(l.key);
      if (!p) continue;
      const lag = this.gossip.peerLag(p);
      const lastAe = p.lastAntiEntropy ? Math.max(0, Math.floor((this.clock() - p.lastAntiEntropy) / 1000)) : -1;
      s += `peer${i++}:addr=${l.key},id=${l.remoteId},link=${l.connected ? "up" : "down"},backlog=${lag.backlog},` +
        `lag_ms=${lag.lagMs},acked=${p.ackedSeq},dropped_backlogs=${p.droppedBacklogs},last_anti_entropy_s=${lastAe},` +
        `divergent_ranges=${p.divergentRanges},removal_horizon_ms=${this.gossip.removalHorizonOf(l.key)},` +
        // (the delta stream's timing: smoothed ack time, the peer's pace per KiB, the wait before a resend)
        `ack_ms=${Math.round(p.srtt)},ack_ms_per_kib=${(p.msPerByte * 1024).toFixed(3)},resend_after_ms=${Math.round(this.gossip.resendWait(p))},` +
        `expired=${p.expired === undefined ? 0 : 1}\r\n`;
    }
    return s;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    for (const l of this.links.values()) l.close();
    this.links.clear();
    await this.moving;
    if (this.bus) await closeBus(this.bus);
  }
}

/** Where a node without crdt-node-id keeps the name it made up (in dir, the working directory). */
export const NODE_NAME_FILE = "crdt-node-id";

/**
 * A node's name when crdt-node-id does not give one: 16 random hex digits made up at its first
 * start and kept in dir's crdt-node-id file, so a restart is the same node to its peers (they
 * wait for a node by its name to collect tombstones: gossip.ts identify) and two hosts never
 * share one (the name was node-<port> before, so nodes on the same port of different hosts
 * were one node to their peers and exchanged nothing). An operator may write the file (one
 * line: the name, no whitespace or "~"). A dir it cannot write gets node-<port>, with a warning.
 */
/** The file in `dir` holding the start time (ms, base 36) of this node's latest incarnation. */
export const INCARNATION_FILE = "crdt-incarnation";

/**
 * This start's time for its incarnation id: the clock, but never at or before the last start's
 * (INCARNATION_FILE). Peers refuse every incarnation of a name at or below one they know is
 * final (gossip.ts refuses(), final-incarnations.ts), so a start made while the host's clock
 * stood before the previous start's (set back by hand or by NTP after a reboot) would
 * otherwise sort as older and be refused by every peer for good. The file is written and
 * fsynced before the node speaks to anyone; a dir that cannot be written leaves the clock alone.
 */
function incarnationStart(): number {
  let last = 0;
  try {
    const had = readFileSync(INCARNATION_FILE, "latin1").trim();
    if (/^[0-9a-z]{1,11}$/.test(had)) last = parseInt(had, 36);
  } catch { /* no earlier start here */ }
  const started = Math.max(Date.now(), last + 1);
  try {
    writeFileDurable(INCARNATION_FILE, `${started.toString(36)}\n`);
  } catch (e) {
    log("warning", `CRDT: cannot write ${INCARNATION_FILE} in ${process.cwd()} (${(e as Error).message}): a restart after the clock was set back would be refused by the peers`);
  }
  return started;
}

function persistedNodeName(server: Server): string {
  try {
    const had = readFileSync(NODE_NAME_FILE, "latin1").trim();
    if (/^[^\s~]{1,200}$/.test(had)) return had;
    log("warning", `CRDT: ignoring ${NODE_NAME_FILE} (not a node name: one line without whitespace or '~'); making up a new name`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") log("warning", `CRDT: cannot read ${NODE_NAME_FILE}: ${(e as Error).message}`);
  }
  const name = randomBytes(8).toString("hex");
  try {
    writeFileSync(NODE_NAME_FILE, `${name}\n`);
  } catch (e) {
    log("warning", `CRDT: cannot write ${NODE_NAME_FILE} in ${process.cwd()} (${(e as Error).message}): this node is node-${server.port} to its peers until it can; set crdt-node-id`);
    return `node-${server.port}`;
  }
  log("notice", `CRDT: this node's name is ${name} (made up now, kept in ${NODE_NAME_FILE})`);
  return name;
}

/**
 * A node is in an active-active group or in a primary/replica chain, not both (README,
 * "Primary/replica replication"): a replica applies its primary's stream, and with peers it
 * would also send that stream's effects to its group as its own writes, while the group's
 * writes would reach it beside its primary's. So REPLICAOF and FAILOVER are refused on a node
 * with peers, CRDT.PEER ADD on a replica, and a configuration naming both at start-up. A
 * replica *of* a group member is fine: it follows that member's stream, peers' writes
 * included. This is REPLICAOF's and FAILOVER's refusal on a node with peers (the error, or
 * null); REPLICA_REFUSES_PEERS is CRDT.PEER ADD's on a replica.
 */
export function peersRefuse(server: Server, doing: "REPLICAOF" | "FAILOVER"): string | null {
  return (server.crdt?.links.size ?? 0) > 0
    ? `ERR ${doing} is not allowed on a node with active-active peers: a node is either in an active-active group or a replica (CRDT.PEER DEL its peers first)`
    : null;
}

/** CRDT.PEER ADD on a replica (peersRefuse says why). */
export const REPLICA_REFUSES_PEERS =
  "ERR CRDT.PEER ADD is not allowed on a replica: a node is either in an active-active group or a replica (REPLICAOF NO ONE first)";

// The CRDT state goes into the node's RDB with its keys and comes back from it (saved-state.ts):
// saved while the node replicates, kept at load when it is configured to.
crdtStateHook.save = (server) => server.crdt ? savedStateNow(server.crdt.rep.store, server.crdt.loaded.pendingForSave()) : [];
crdtStateHook.begin = (server) => server.crdt ? new SavedStateCursor(server.crdt.rep.store, server.crdt.loaded.pendingForSave()) : null;
crdtStateHook.load = (server, value) => {
  if (server.crdt || ActiveActive.fromConfig(server) || ActiveActive.directive(server, "cluster-group")) keepLoadedState(server, value);
};
// In the AOF too: its preamble as aux fields, then a piece per batch of writes (aof-crdt.ts).
aofCrdtHook.take = (server) => server.crdt ? filePieces(server.crdt.rep.takeFile()) : [];
aofCrdtHook.load = (server, piece) => crdtStateHook.load(server, piece);

/** Start-up: replication from configuration, if any (called once the server listens). */
export async function startActiveActive(server: Server): Promise<ActiveActive | undefined> {
  const conf = ActiveActive.fromConfig(server);
  if (!conf) return undefined;
  if (conf.peers.length > 0 && server.config.getString("replicaof") !== "") {
    throw new StartupError("Both replicaof and active-active peers (peer) are configured: a node is either in an active-active group or a replica");
  }
  const aa = new ActiveActive(server, ActiveActive.defaultNodeId(server, conf.nodeId));
  const binds = server.config.getString("bind").split(/\s+/).filter(Boolean);
  const host = binds[0] === "*" ? undefined : binds[0];
  // In cluster mode port + 10000 is the cluster bus's: a free port then (src/cluster/group.ts announces it).
  await aa.listen(host, conf.busPort || (server.config.getBool("cluster-enabled") ? 0 : server.port + 10000));
  for (const [h, p] of conf.peers) aa.addPeer(h, p);
  return aa;
}

/**
 * The local-keys marks are fsynced as the data files are (local-keys.ts FsyncPolicy): by
 * appendfsync when the AOF is on; within a second without one (its RDB is fsynced at each save).
 */
function marksFsync(server: Server): FsyncPolicy {
  if (!server.config.getBool("appendonly")) return "everysec";
  const p = server.config.getString("appendfsync");
  return p === "always" || p === "no" ? p : "everysec";
}

/** Whether a command is EXEC (a client in MULTI: its queued writes run now). */
function isExec(argv: Buffer[]): boolean {
  return argv[0].length === 4 && argv[0].toString("latin1").toLowerCase() === "exec";
}
