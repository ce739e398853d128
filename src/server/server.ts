// Server: the listening socket, the clients, the shards, the command table, and
// dispatch of the commands the kernel hands back.
// The global `performance` is a getter (node's lazy bootstrap): a module binding is a plain load.
import { commandFault } from "./command-fault.js";
import { performance } from "node:perf_hooks";
import net from "node:net";
import { Client } from "./client.js";
import { ReplyFence } from "./reply-fence.js";
import type { ReplyWriter } from "./reply-writer.js";
import { Shard } from "./shard.js";
import { Router, slotRange } from "./router.js";
import { log } from "./log.js";
import { CommandTable, arityOk, type CommandSpec } from "../commands/table.js";
import type { CommandContext } from "../commands/context.js";
import { parseMemory, type Config } from "../config/config.js";
import { registerAllCommands } from "../commands/index.js";
import { randomBytes } from "node:crypto";
import { totalCalls, resetCommandStats, recordCall } from "../commands/stats.js";
import { applyConfigToServer } from "../config/apply.js";
import { clientsCron } from "../commands/client-cmd.js";
import { perfConfig } from "../config/perf-config.js";
import { HostKeyspace } from "../types/keyspace.js";
import { WatchedKeys } from "./watch.js";
import { EffectBus } from "./effects.js";
import { MaxMemory, OOM_ERR } from "./maxmemory.js";
import { Cluster } from "../cluster/cluster.js";
import { replicationOf } from "../repl/replication.js";
import { replicaRejects, setMaster } from "../commands/replication.js";
import { writeGateUp } from "../repl/write-gate.js";
import { queueCommand, discardTransaction } from "../commands/multi.js";
import { scriptPaused, afterScript } from "../commands/scripting.js";
import { Blocking } from "../types/blocking.js";
import { startActiveActive, type ActiveActive } from "../replication/active-active.js";
import { aclOf, aclAccept } from "../acl/acl.js";
import { tlsOf } from "./tls.js";
import { listenAll, type ListenerGroup } from "./listeners.js";
import { listenUnixSocket, closeUnixSocket } from "./unix-socket.js";
import { unknownCommandError, truncate } from "./unknown-command.js";
import { injectClockFaults, injectSocketFaults } from "./faults.js";
import { MinReplicas, NOREPLICAS_ERR } from "./min-replicas.js";
import { staleReplica, MASTERDOWN_ERR } from "./stale-replica.js";
export { unknownCommandError };
import { PubSub } from "../pubsub/pubsub.js";
import { monitorBefore, monitorAfter } from "../commands/monitor.js";
import { rejectInSubscribedContext } from "../commands/pubsub.js";
import { trackingOf } from "./tracking.js";
import { ClientPause, PAUSE_OFF, scriptAwareFlags, type ScriptAwareFlags } from "./pause.js";
import { SlowLog, logCall } from "./slowlog.js";
import { LatencyMonitor } from "./latency-monitor.js";
import { activeExpireCycle } from "./active-expire.js";
import { shutdownOf } from "./shutdown.js";
import { readSocketInput } from "./socket-input.js";
import { postponesClientList } from "./client-list-turn.js";
import { lookupCommandBytes } from "./command-lookup.js";
import { watchdogOf } from "./watchdog.js";
import { resizeReplyBuffers } from "./reply-buffer.js";
import { setClientSocketOptions } from "./socket-options.js";
import type { ScriptCommand } from "../scripting/script-command.js";

export const LATTICEKV_VERSION = "0.1.0";

/** Commands that run a script, whose error may be one a command inside already counted. */
const SCRIPT_COMMANDS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);

/** runScriptCall's argv when nothing will read it. */
const NO_ARGV: Buffer[] = Object.freeze([]) as unknown as Buffer[];

/** A client socket's 'error' listener: the 'close' that follows does the cleanup. */
function ignoreError(): void {}

export class Server {
  readonly table = new CommandTable();
  readonly shards: Shard[] = [];
  readonly router: Router;
  /** Keys whose values the host holds (lists, sets, zsets): src/types/keyspace.ts. */
  readonly types: HostKeyspace;
  /** Every write's effect record, for WATCH, notifications, AOF, replication: src/server/effects.ts. */
  readonly effects: EffectBus;
  /** maxmemory: -OOM for denyoom commands while over the limit (src/server/maxmemory.ts). */
  readonly maxmemory: MaxMemory;
  /** min-replicas-to-write: -NOREPLICAS for writes while too few replicas ack (src/server/min-replicas.ts). */
  readonly minReplicas: MinReplicas;
  /**
   * rename-command renamed or removed a command the kernel runs: the kernels know commands by
   * their own names, so every command from clients is handed back to be looked up here.
   */
  readonly kernelRenamed: boolean;
  /**
   * A consumer needs a write's effects before the next command runs (CRDT replication reads
   * some writes' keys back: src/replication/replicator.ts), so host commands leave the fast
   * lane and the kernel hands those writes back to run alone (Shard.useHandBack).
   */
  effectsPerCommand = false;
  /** Cluster mode (cluster-enabled yes): src/cluster/cluster.ts; null otherwise. */
  readonly cluster: Cluster | null = null;
  /** WATCHed keys and the writes that touch them: src/server/watch.ts. */
  readonly watches: WatchedKeys;
  /** Clients waiting in blocking commands (BLPOP...): src/types/blocking.ts. */
  readonly blocking = new Blocking(this);
  /** Active-active replication, when configured or started by CRDT.PEER ADD: src/replication/. */
  crdt?: ActiveActive;
  /** Pub/Sub channels, patterns and their subscribers: src/pubsub/pubsub.ts. */
  readonly pubsub: PubSub;
  /** Clients in MONITOR mode: src/commands/monitor.ts. */
  readonly monitors = new Set<Client>();
  /** The AOF's writes of a read wait for its first reply or its end (src/server/reply-fence.ts). */
  readonly replyFence = new ReplyFence();
  /** CLIENT PAUSE: src/server/pause.ts. */
  readonly pause = new ClientPause(this);
  /** SLOWLOG: src/server/slowlog.ts. */
  readonly slowlog: SlowLog;
  /** LATENCY: src/server/latency-monitor.ts. */
  readonly latency: LatencyMonitor;
  readonly clients = new Map<number, Client>();
  readonly startedAt = Date.now();
  /** The plain port's listening sockets, one per bind address (src/server/listeners.ts). */
  tcpListener?: ListenerGroup;
  private cron?: NodeJS.Timeout;
  /** The one clock of the server (ms). Tests and the simulator may replace it. */
  now: () => number = Date.now;
  stats = { connectionsReceived: 0, commandsProcessed: 0, rejectedConnections: 0,
    netInputBytes: 0, netOutputBytes: 0, readsProcessed: 0, writesProcessed: 0, errorReplies: 0,
    evictedKeys: 0, evictedClients: 0, lazyfreedObjects: 0,
    // Reply buffers resized by serverCron (src/server/reply-buffer.ts).
    replyBufferShrinks: 0, replyBufferExpands: 0,
    // Replication (src/repl/): full and partial syncs served, stream bytes to/from replicas.
    syncFull: 0, syncPartialOk: 0, syncPartialErr: 0, netReplInputBytes: 0, netReplOutputBytes: 0 };
  // INFO / CONFIG RESETSTAT state.
  readonly runId = randomBytes(20).toString("hex");
  /** The port actually listened on (INFO tcp_port, CLIENT LIST laddr); the tls-port without a plain one. */
  port = 0;
  /** Set once listen() ran: from then on CONFIG SET port / tls-port move the listeners. */
  listening = false;
  /** Absolute path of the config file, if the server was started with one. */
  configFilePath?: string;
  /** Table rows by kernel command index (a kernel reports what it ran by index). */
  kernelSpecs: CommandSpec[] = [];
  /** latency-tracking: record per-command latency histograms (INFO latencystats). */
  latencyTracking = true;
  /** errorstat_<CODE>: error replies by their first word. */
  readonly errorStats = new Map<string, number>();
  memoryPeak = 0;
  memoryAtStartup = 0;
  /** LASTSAVE / rdb_last_save_time (ms): start-up until persistence exists. */
  lastSave = Date.now();
  /** Kernel counters at the last CONFIG RESETSTAT (the kernels cannot reset these). */
  private statBase = { keyspaceHits: 0, keyspaceMisses: 0, expiredKeys: 0 };
  /** total_commands_processed samples for instantaneous_ops_per_sec (Redis: 16 samples, 100ms apart). */
  private opsSamples: number[] = [];
  private lastOpsSample = { at: 0, calls: 0 };
  /** Per-client buffer limits, kept current by CONFIG SET (read on every reply write). */
  limits: ClientLimits = DEFAULT_LIMITS;
  /**
   * Set while a script runs past busy-reply-threshold (src/scripting/busy.ts): every
   * command of every client goes through it first (the kernel hands them all back), and it
   * returns true for those it answered instead (-BUSY). No cron runs meanwhile, as in Redis.
   */
  inputGate: ((client: Client, argv: Buffer[]) => boolean) | null = null;
  /**
   * Input gates that never refuse a command and stand for no load or busy script: while one of
   * them is the gate, serverCron runs (CRDT's load-end check, Replicator.beforeCommands, goes
   * on for seconds to minutes after a large load, and expiry, eviction, client timeouts and
   * the watchdog must not stop for it).
   */
  readonly watchOnlyGates = new WeakSet<(client: Client, argv: Buffer[]) => boolean>();

  constructor(readonly config: Config) {
    const databases = config.getNumber("databases");
    const n = configuredShardCount();
    for (let i = 0; i < n; i++) {
      const [low, high] = slotRange(i, n);
      this.shards.push(new Shard(i, databases, low, high, n));
    }
    this.router = new Router(this, this.shards);
    this.effects = new EffectBus(this.shards);
    this.types = new HostKeyspace(this.shards, (key) => this.router.shardOf(key), () => this.now(), this.effects);
    this.types.onAdd = (db, key) => this.blocking.signalKeyAsReady(db, key);
    this.watches = new WatchedKeys(this);
    if (config.getBool("cluster-enabled")) this.cluster = new Cluster(this);
    this.pubsub = new PubSub(this);
    this.maxmemory = new MaxMemory(this);
    this.minReplicas = new MinReplicas(this);
    this.slowlog = new SlowLog(this);
    this.latency = new LatencyMonitor(this);
    registerAllCommands(this.table);
    for (const s of this.shards) s.bindCommands(this.table);
    for (const spec of this.table.all.values()) {
      if (spec.kernelIndex >= 0) this.kernelSpecs[spec.kernelIndex] = spec;
      // OBJECT's subcommands are kernel rows of their own for statistics (assembly/commands/table.ts defineStatsRow).
      for (const sub of spec.subcommands.values()) if (sub.kernelIndex >= 0) this.kernelSpecs[sub.kernelIndex] = sub;
    }
    for (const [from, to] of config.renames) this.table.rename(from, to);
    this.kernelRenamed = this.table.kernelRenamed();
    this.watchClientLimits();
    applyConfigToServer(this);
    injectClockFaults(this);
  }

  /** Per-client buffer limits from client-output-buffer-limit / client-query-buffer-limit. */
  private watchClientLimits(): void {
    const update = () => {
      this.limits = parseClientLimits(this.config.getString("client-output-buffer-limit"),
        this.config.getString("client-query-buffer-limit"));
    };
    this.config.onApply("client-output-buffer-limit", update);
    this.config.onApply("client-query-buffer-limit", update);
  }

  async listen(): Promise<number> {
    const port = this.config.getNumber("port");
    const bind = this.config.getString("bind");
    // port 0 with a tls-port: TLS only, as Redis (port 0 alone still picks a free port).
    if (port !== 0 || this.config.getNumber("tls-port") === 0) {
      this.tcpListener = await listenAll(() => net.createServer((sock) => this.accept(sock)), port, bind, "TCP");
      this.port = this.tcpListener.port;
    }
    this.listening = true;
    await tlsOf(this).start(bind); // tls-port and the tls-* directives: src/server/tls.ts
    await listenUnixSocket(this); // unixsocket: src/server/unix-socket.ts
    this.port ||= tlsOf(this).port;
    this.startCron();
    this.crdt ??= await startActiveActive(this);
    await this.cluster?.start(); // after both listeners: a TLS cluster uses the tls-port
    // replicaof in redis.conf or --replicaof: start as a replica of that master.
    const replicaof = this.config.getString("replicaof");
    if (replicaof) {
      const [host, port] = replicaof.split(" ");
      setMaster(this, host, Number(port));
    }
    return this.port;
  }

  /** The port the plain listener is bound to (0: none, as with port 0 and a tls-port). */
  get tcpPort(): number {
    return this.tcpListener?.port ?? 0;
  }

  /**
   * CONFIG SET port (Redis's changeListenPort): the plain listener moves to `port` (0: none).
   * Binding is asynchronous: the promise settles when it is done; on failure the old
   * listener stays and the log says why (CONFIG SET waits for it: src/server/tls.ts).
   */
  changeTcpPort(port: number): Promise<void> {
    const old = this.tcpListener;
    if (port !== 0 && port === this.tcpPort) return Promise.resolve();
    const done = (group?: ListenerGroup) => {
      void old?.close();
      this.tcpListener = group;
      this.port = this.tcpPort || tlsOf(this).port;
    };
    if (port === 0) return Promise.resolve(done());
    return listenAll(() => net.createServer((sock) => this.accept(sock)), port, this.config.getString("bind"), "TCP")
      .then(done);
  }

  /** (Re)starts serverCron at the configured hz (CONFIG SET hz takes effect at once). */
  startCron(): void {
    if (this.cron) clearInterval(this.cron);
    const hz = Math.max(1, Math.min(500, this.config.getNumber("hz")));
    this.cron = setInterval(() => this.serverCron(), Math.floor(1000 / hz));
    this.cron.unref();
  }

  /** Stats for INFO: host counters plus the shard kernels' counters, since the last RESETSTAT. */
  infoStats() {
    let hits = 0, misses = 0, expired = 0, dirty = 0;
    for (const sh of this.shards) {
      hits += sh.kernel.x.statKeyspaceHits();
      misses += sh.kernel.x.statKeyspaceMisses();
      expired += sh.kernel.x.statExpiredKeys();
      dirty += sh.kernel.x.statDirty();
    }
    return {
      ...this.stats,
      commandsProcessed: totalCalls(this),
      keyspaceHits: hits - this.statBase.keyspaceHits,
      keyspaceMisses: misses - this.statBase.keyspaceMisses,
      expiredKeys: expired - this.statBase.expiredKeys,
      dirty,
    };
  }

  /** CONFIG RESETSTAT. */
  resetStats(): void {
    const cur = this.infoStats();
    this.statBase = {
      keyspaceHits: this.statBase.keyspaceHits + cur.keyspaceHits,
      keyspaceMisses: this.statBase.keyspaceMisses + cur.keyspaceMisses,
      expiredKeys: this.statBase.expiredKeys + cur.expiredKeys,
    };
    for (const k of Object.keys(this.stats) as (keyof typeof this.stats)[]) this.stats[k] = 0;
    this.errorStats.clear();
    resetCommandStats(this);
    this.memoryPeak = 0;
  }

  /** Counts an error reply for INFO errorstats / total_error_replies. */
  countError(code: string, message = code): void {
    this.stats.errorReplies++;
    this.errorStats.set(code, (this.errorStats.get(code) ?? 0) + 1);
    this.countedErrors++;
    this.lastCountedError = message;
  }

  /** Error replies every shard's kernel has counted since it started. */
  private kernelErrorReplies(): number {
    let n = 0;
    for (const sh of this.shards) n += sh.kernel.x.errorRepliesEver();
    return n;
  }

  /** Errors counted so far, and the text of the last one (a script's error counts once). */
  private countedErrors = 0;
  private lastCountedError = "";

  instantaneousOps(): number {
    if (this.opsSamples.length === 0) return 0;
    return Math.round(this.opsSamples.reduce((a, b) => a + b, 0) / this.opsSamples.length);
  }

  /** Clients blocked in a blocking command (WAIT included, as in Redis). */
  blockedClients(): number {
    return this.blocking.count + this.pause.postponedCount + replicationOf(this).waiting.size + shutdownOf(this).blockedCount;
  }

  /** A new client connection (plain, or TLS once its handshake is done: src/server/tls.ts). */
  accept(sock: net.Socket): void {
    setClientSocketOptions(sock, this.config.getNumber("tcp-keepalive"));
    injectSocketFaults(sock);
    if (this.clients.size >= this.config.getNumber("maxclients")) {
      // Redis answers before closing, so the client sees why.
      sock.on("error", () => {});
      sock.end("-ERR max number of clients reached\r\n");
      this.stats.rejectedConnections++;
      return;
    }
    const c = new Client(this, sock);
    if (!aclAccept(this, c)) return;
    this.clients.set(c.id, c);
    this.stats.connectionsReceived++;
    readSocketInput(sock, (d, borrowed) => c.onData(d, borrowed));
    sock.on("error", ignoreError);
    sock.on("end", () => c.peerEnded());
    sock.on("close", () => {
      c.onClose();
      this.watches.unwatchAll(c);
      replicationOf(this).dropReplica(c);
      shutdownOf(this).forget(c);
      this.pubsub.unsubscribeAll(c);
      this.clients.delete(c.id);
    });
  }

  /**
   * Runs a command from a client's input stream that the kernel handed back to the host;
   * in MULTI, queues it instead (src/commands/multi.ts).
   */
  dispatch(client: Client, argv: Buffer[]): void {
    // A check added here must also be in src/server/host-lane.ts plainState (the lane skips these).
    if (client.aclGuarded && aclOf(this).checkDispatch(client, argv)) return;
    if (this.cluster && this.clusterRejects(client, argv)) return;
    if (this.inputGate !== null && this.inputGate(client, argv)) return;
    if (writeGateUp(this) && this.readOnlyRejects(client, argv)) return;
    if (client.subscriptions > 0 && client.resp === 2 && rejectInSubscribedContext(this, client, argv)) return;
    if (this.maxmemory.check() && this.oomRejects(client, argv)) return;
    if (this.minReplicas.active && !this.minReplicas.satisfied() && this.noReplicasRejects(client, argv)) return;
    if (staleReplica(this) && this.masterDownRejects(client, argv)) return;
    trackingOf(this).beforeCommand();
    if (this.pause.type !== PAUSE_OFF && this.pause.postpones(client, argv)) return;
    if (client.multi !== null && queueCommand(this, client, argv)) return;
    if (postponesClientList(this, client, argv)) return; // after this turn's reads (client-list-turn.ts)
    this.execCommand(client, argv, false);
  }

  /**
   * Runs argv on behalf of client, as if it had arrived in its input stream, and writes the
   * reply to client.reply; nothing is flushed to the socket (the caller takes the reply:
   * EXEC, Lua's redis.call). Host commands run their handler; kernel commands run in the
   * kernel of the shard(s) owning their keys (Router.execute), whichever shard parsed the
   * client's input. Unknown commands and arity errors are replied as errors, as Redis's
   * processCommand does. Synchronous: nothing else runs in between. nested (EXEC, scripts):
   * ACL rules are checked here; dispatch checked its commands already.
   */
  execCommand(client: Client, argv: Buffer[], nested = true, raw?: Uint8Array): void {
    const found = this.resolveCommand(argv);
    if (found.error !== undefined) {
      client.lastCommand = argv[0].toString("latin1").toLowerCase();
      return this.rejectCommand(client, found.error, found.spec);
    }
    if (nested && client.aclGuarded && aclOf(this).checkNested(client, found.spec!, argv)) return;
    this.run(client, found.spec!, argv, raw);
  }

  /**
   * The table row that runs argv (a subcommand's row when the command has subcommands), or
   * the error Redis replies instead (unknown command/subcommand, wrong arity), with the row
   * whose rejected_calls it counts.
   */
  resolveCommand(argv: Buffer[]): { spec?: CommandSpec; error?: string } {
    const spec = lookupCommandBytes(this.table, argv[0]);
    if (!spec) return { error: unknownCommandError(argv[0].toString("latin1"), argv) };
    if (!arityOk(spec, argv.length)) return { spec, error: `wrong number of arguments for '${spec.name}' command` };
    // Like Redis's lookupCommandLogic: with arguments, a command that has subcommands runs
    // the named subcommand; alone (COMMAND), it runs its own handler.
    // A kernel command that runs its subcommands itself (OBJECT) goes to the kernel whole,
    // once the subcommand is known to be one of Redis's (MULTI must refuse to queue others).
    if (spec.subcommands.size > 0 && argv.length >= 2) {
      const kernelWhole = spec.kernelIndex >= 0 && !spec.handler;
      const subName = argv[1].toString("latin1").toLowerCase();
      const sub = spec.subcommands.get(subName);
      if (!sub || !(kernelWhole || sub.handler || sub.kernelIndex >= 0)) {
        return { spec, error: `unknown subcommand '${truncate(argv[1].toString("latin1"))}'. Try ${spec.name.toUpperCase()} HELP.` };
      }
      if (!arityOk(sub, argv.length)) return { spec: sub, error: `wrong number of arguments for '${sub.name}' command` };
      return { spec: kernelWhole ? spec : sub };
    }
    return { spec };
  }

  /**
   * Cluster mode: MOVED/ASK/CROSSSLOT/CLUSTERDOWN instead of running argv here (Redis's
   * processCommand checks this after arity, before MULTI queues the command). Whether it replied.
   */
  private clusterRejects(client: Client, argv: Buffer[]): boolean {
    const found = this.resolveCommand(argv);
    if (found.error !== undefined) return false; // execCommand / queueCommand reply that error
    const error = this.cluster!.redirect(client, found.spec!, argv);
    if (error === null) return false;
    if (error === true) return true; // held (a manual failover's pause): src/cluster/cluster.ts
    client.lastCommand = found.spec!.name;
    this.rejectCommand(client, error, found.spec);
    // Redis: an EXEC redirected discards the transaction, another command flags it (flagTransaction).
    if (client.multi !== null) {
      if (found.spec!.name === "exec") discardTransaction(this, client);
      else client.dirtyExec = true;
    }
    return true;
  }

  /** A read-only replica refuses writes from its clients (-READONLY), before MULTI queues them. */
  private readOnlyRejects(client: Client, argv: Buffer[]): boolean {
    const found = this.resolveCommand(argv);
    if (found.error !== undefined) return false;
    const spec = found.spec!;
    // EXEC is a write when a command it queued is (mstate.cmd_flags); scripts by their flags.
    const write = spec.name === "exec" && client.multi !== null
      ? client.multi.some((a) => { const q = this.resolveCommand(a).spec; return q !== undefined && scriptAwareFlags(this, q, a).write; })
      : scriptAwareFlags(this, spec, argv).write;
    const error = replicaRejects(this, write, spec.name === "ping");
    if (error === null) return false;
    if (spec.name === "exec" && client.multi !== null) {
      this.rejectCommand(client, `-EXECABORT Transaction discarded because of: ${error.replace(/^-/, "")}`, spec);
      discardTransaction(this, client);
      return true;
    }
    this.rejectCommand(client, error, spec);
    if (client.multi !== null) client.dirtyExec = true;
    return true;
  }

  /** Over maxmemory: a denyoom command (or EXEC of a transaction holding one) gets -OOM. */
  private oomRejects(client: Client, argv: Buffer[]): boolean {
    return this.rejectBeforeRun(client, argv, (f) => f.denyoom, OOM_ERR);
  }

  /** Too few good replicas (min-replicas-to-write): a write gets -NOREPLICAS. */
  private noReplicasRejects(client: Client, argv: Buffer[]): boolean {
    return this.rejectBeforeRun(client, argv, (f) => f.write, NOREPLICAS_ERR);
  }

  /** A stale replica (src/server/stale-replica.ts): a command not flagged `stale` gets -MASTERDOWN. */
  private masterDownRejects(client: Client, argv: Buffer[]): boolean {
    return this.rejectBeforeRun(client, argv, (f) => !f.stale, MASTERDOWN_ERR);
  }

  /**
   * The shape Redis's processCommand gives its OOM, NOREPLICAS and MASTERDOWN checks: a
   * command that deny() refuses (by its flags, a script's declared ones for EVAL and FCALL)
   * is answered with error before it runs or is queued (and flags the open transaction, like
   * flagTransaction); EXEC of a transaction holding such a command is aborted and discarded
   * saying why (execCommandAbort). Whether it replied.
   */
  private rejectBeforeRun(client: Client, argv: Buffer[], deny: (flags: ScriptAwareFlags) => boolean, error: string): boolean {
    const found = this.resolveCommand(argv);
    if (found.error !== undefined) return false; // execCommand / queueCommand reply that error
    const spec = found.spec!;
    if (spec.name === "exec" && client.multi !== null) {
      if (!client.multi.some((a) => { const q = this.resolveCommand(a).spec; return q !== undefined && deny(scriptAwareFlags(this, q, a)); })) return false;
      this.rejectCommand(client, `-EXECABORT Transaction discarded because of: ${error}`, spec);
      discardTransaction(this, client);
      return true;
    }
    if (!deny(scriptAwareFlags(this, spec, argv))) return false;
    this.rejectCommand(client, error, spec);
    if (client.multi !== null) client.dirtyExec = true;
    return true;
  }

  /** Replies a command's rejection (resolveCommand's error) and counts it like Redis's rejectCommand. */
  rejectCommand(client: Client, error: string, spec?: CommandSpec): void {
    client.reply.error(error);
    if (spec) spec.rejectedCalls++;
    this.countError(client.reply.lastErrorCode, client.reply.lastErrorMessage);
  }

  /** raw: argv as a RESP multibulk when the caller has it (a master's stream), for the kernel to run as is. */
  private run(client: Client, spec: CommandSpec, argv: Buffer[], raw?: Uint8Array): void {
    const reply = client.reply;
    const errorsBefore = reply.errors;
    const countedBefore = this.countedErrors;
    const t0 = performance.now();
    client.lastCommand = spec.name;
    monitorBefore(this, client, spec, argv);
    const tracking = trackingOf(this);
    tracking.commandBegin(client, spec, argv);
    const pendingBefore = reply.pending;
    // Run by the kernel though the row has a host handler (a shared set/zset command): the
    // kernel counts its calls and failures (src/commands/stats.ts), so the row does not.
    let kernelRan = false;
    // A kernel command run through router.execute replied an error the kernel counted.
    let kernelCounted = false;
    try {
      const byKernel = spec.handler && spec.kernelIndex >= 0 && spec.firstKey === 1 && spec.lastKey === 1 &&
        argv.length > 1 && !this.kernelRenamed ? this.router.tryKernel(client, argv, raw) : null;
      if (byKernel !== null) {
        kernelRan = true;
        // An error the kernel replied is in its own errorstats (src/commands/stats.ts adds
        // them); remembered here as countError would, so that EXEC and a script failing with
        // it do not count it again.
        if (byKernel[0] === 0x2d) {
          this.countedErrors++;
          this.lastCountedError = byKernel.toString("latin1", 1, byKernel.indexOf("\r\n"));
        }
      } else if (spec.handler) {
        const ctx: CommandContext = { server: this, client, argv, reply, spec };
        let argvBytes = 0;
        for (const a of argv) argvBytes += a.length;
        client.currentArgvBytes = argvBytes;
        // A command run inside another (EXEC's) leaves the outer one's group to it.
        const outerHost = this.effects.hostCommand;
        this.effects.hostCommand = true;
        try {
          spec.handler(ctx);
        } finally {
          if (!outerHost) this.effects.endHostCommand();
        }
      } else {
        // A kernel command reached through dispatch (MULTI/EXEC, Lua): run it in the kernel
        // of the shard(s) its keys belong to, under the name the kernel knows it by.
        const top = spec.parent ?? spec;
        const kargv = this.kernelRenamed && this.table.renamed.has(top) ? [Buffer.from(top.name), ...argv.slice(1)] : argv;
        const kernelErrors = this.kernelErrorReplies();
        this.router.execute(client, top, kargv, kargv === argv ? raw : undefined);
        // The kernel counted its own error reply in its errorstats (a host error on this path,
        // a split command's, it did not: that one is counted below). Remembered here as
        // countError would, so that a script failing with it (redis.call's error, or
        // redis.pcall's error table returned) does not count it again.
        kernelCounted = this.kernelErrorReplies() !== kernelErrors;
        if (kernelCounted) {
          this.countedErrors++;
          const last = reply.lastPart();
          if (last !== undefined && last[0] === (typeof last === "string" ? "-" : 0x2d)) {
            const text = typeof last === "string" ? last : last.toString("latin1");
            this.lastCountedError = text.slice(1, text.indexOf("\r\n"));
          }
        }
      }
    } catch (e) {
      commandFault(client, spec, pendingBefore, e);
    } finally {
      client.currentArgvBytes = 0;
      tracking.commandEnd(client, spec);
    }
    monitorAfter(this, client, spec, argv);
    // A script past busy-reply-threshold goes on in later ticks (src/scripting/busy.ts). In
    // Redis it is still inside call() then, so its duration (commandstats, SLOWLOG, the
    // latency monitor's "command" event) is the whole run, and its error reply counts when it
    // comes: account for it when it ends.
    if (SCRIPT_COMMANDS.has(spec.name) && scriptPaused(this)) {
      afterScript(this, () => this.finishCall(client, reply, spec, argv, t0, errorsBefore, countedBefore, kernelRan, kernelCounted));
    } else {
      this.finishCall(client, reply, spec, argv, t0, errorsBefore, countedBefore, kernelRan, kernelCounted);
    }
  }

  /** run()'s accounting once the command is over: calls, time, SLOWLOG, latency, errors. */
  private finishCall(client: Client, reply: ReplyWriter, spec: CommandSpec, argv: Buffer[] | (() => Buffer[]), t0: number,
                     errorsBefore: number, countedBefore: number, kernelRan: boolean, kernelCounted: boolean): void {
    if (!kernelRan) spec.calls++;
    const usec = (performance.now() - t0) * 1000;
    recordCall(this, spec, usec);
    logCall(this, client, spec, argv, usec);
    // EXEC's reply holds its commands' errors, which they counted themselves (EXEC fails only
    // for its own errors: EXECABORT, EXEC without MULTI).
    const nestedErrors = spec.name === "exec" && this.countedErrors !== countedBefore;
    if (reply.errors !== errorsBefore && !nestedErrors) {
      if (!kernelRan) spec.failedCalls++;
      // A script failing with the error a command it called already counted (redis.call's
      // error, or redis.pcall's error table returned) is not counted again: Redis's
      // ERR_REPLY_FLAG_NO_STATS_UPDATE.
      const recounted = this.countedErrors !== countedBefore && SCRIPT_COMMANDS.has(spec.name) &&
        reply.lastErrorMessage.startsWith(this.lastCountedError);
      if (!recounted && !kernelCounted) this.countError(reply.lastErrorCode, reply.lastErrorMessage);
    }
    this.stats.commandsProcessed++;
  }

  // ---- A script's command: run() for redis.call, resolved once (speed, issue #8) ------------

  /**
   * A command a script calls (src/commands/scripting.ts callFromScript), as
   * execCommand(client, argv, true, request) runs it, for a row the caller has already found
   * and arity-checked, without subcommands. A kernel command goes straight to the kernel of
   * its shard (the only one, or with several the one owning its key when it has one key, at
   * argv[1], as Router.execute places it), and so does a set/zset command the kernel runs on
   * a small value (run()'s Router.tryKernel case), its host handler running when the kernel
   * declines; anything else goes through run() as before.
   *
   * The kernel case keeps every effect run() has for such a call: ACL, MONITOR's feed and
   * client tracking's frame (monitorBefore/After, commandBegin/End), commandstats and
   * latencystats (finishCall), the kernel's own keyspace hits/misses, errorstats counted once,
   * and notifications, WATCH and propagation (the kernel's effects, as for any call). What it
   * leaves out cannot apply: the second lookup, run()'s branches for host-only and renamed
   * commands, Router.execute's multi-shard placement, and the busy-script check (a script
   * cannot call a script). finishCall's SLOWLOG entry and latency
   * sample are logCall's, which logs a script's call under the Lua client as Redis does.
   *
   * command: its request bytes, and its arguments as Buffers made only when something reads
   * them (most calls run from the bytes alone: src/scripting/script-command.ts).
   */
  runScriptCall(client: Client, spec: CommandSpec, command: ScriptCommand): void {
    if (client.aclGuarded && aclOf(this).checkNested(client, spec, command.argv())) return;
    // A row with a host handler too runs in the kernel only as run() lets it (one key, first).
    const shared = spec.handler !== undefined;
    const oneKey = spec.firstKey === 1 && spec.lastKey === 1 && command.argc > 1 && !spec.flags.has("movablekeys");
    if (spec.kernelIndex < 0 || this.kernelRenamed || (shared && !oneKey) || (this.shards.length !== 1 && !oneKey)) {
      this.run(client, spec, command.argv(), command.request);
      return;
    }
    const reply = client.reply;
    const errorsBefore = reply.errors;
    const countedBefore = this.countedErrors;
    const t0 = performance.now();
    client.lastCommand = spec.name;
    const tracking = trackingOf(this);
    // Only a tracking client's remembered keys read the call's tracking frame (the script's
    // own frame is the outermost: no invalidation is sent at this call's end), and no
    // command a script may call turns tracking on: without tracking clients, no frame.
    const tracked = tracking.trackingClients > 0;
    // Only MONITOR's feed and a tracking client's remembered keys read a call's arguments.
    const argv = this.monitors.size > 0 || tracked ? command.argv() : NO_ARGV;
    monitorBefore(this, client, spec, argv);
    if (tracked) tracking.commandBegin(client, spec, argv);
    const pendingBefore = reply.pending;
    let kernelRan = false;
    let kernelCounted = false;
    try {
      const shard = this.shards.length === 1 ? this.shards[0] : this.router.shardOf(command.bytes, command.argStart(1), command.argEnd(1));
      // (replyToClient false: a script's caller is never the reply's client: reply-limit.ts)
      if (shared) {
        shard.useProtocol(client.resp);
        const out = shard.tryCallRaw(command.bytes, client.db, this.now(), false, command.length);
        if (out !== null) {
          // As run()'s Router.tryKernel case: the kernel counted the call and its error.
          kernelRan = true;
          reply.raw(out);
          if (out[0] === 0x2d) {
            this.countedErrors++;
            this.lastCountedError = out.toString("latin1", 1, out.indexOf("\r\n"));
          }
        } else {
          // Declined (a big or host-held value): the host handler, as run() runs it.
          const full = command.argv();
          let argvBytes = 0;
          for (const a of full) argvBytes += a.length;
          client.currentArgvBytes = argvBytes;
          spec.handler!({ server: this, client, argv: full, reply, spec });
        }
      } else {
        // (Router.execute sets every shard's protocol)
        for (const s of this.shards) s.useProtocol(client.resp);
        const out = shard.callRaw(command.bytes, client.db, this.now(), false, command.length);
        reply.raw(out);
        // As run() after Router.execute: the kernel counted its error reply; remembered so a
        // script failing with it does not count it again.
        if (shard.nestedErrors !== 0) {
          kernelCounted = true;
          this.countedErrors++;
          if (out[0] === 0x2d) this.lastCountedError = out.toString("latin1", 1, out.indexOf("\r\n"));
        }
      }
    } catch (e) {
      commandFault(client, spec, pendingBefore, e);
    } finally {
      client.currentArgvBytes = 0;
      if (tracked) tracking.commandEnd(client, spec);
    }
    monitorAfter(this, client, spec, argv);
    // The SLOWLOG reads the arguments only for a slow call.
    this.finishCall(client, reply, spec, argv === NO_ARGV ? command.argvLater : argv, t0, errorsBefore, countedBefore, kernelRan, kernelCounted);
  }

  /** DEBUG PAUSE-CRON: serverCron skips its work (Redis's server.pause_cron). */
  cronPaused = false;

  private serverCron(): void {
    if (this.cronPaused) return;
    const now = this.now();
    shutdownOf(this).cron(now);
    // Redis runs no serverCron while loading or in a busy script (whileBlockedCron only): the
    // gate is up then, and the watchdog is not re-armed. A gate that only looks at commands
    // (watchOnlyGates) holds nothing back.
    if (this.inputGate !== null && !this.watchOnlyGates.has(this.inputGate)) return;
    watchdogOf(this).rearm();
    clientsCron(this);
    resizeReplyBuffers(this, Date.now());
    this.maxmemory.cron();
    this.minReplicas.refresh();
    if (now - this.lastOpsSample.at >= 100) {
      const calls = totalCalls(this);
      if (this.lastOpsSample.at) {
        const ops = ((calls - this.lastOpsSample.calls) * 1000) / (now - this.lastOpsSample.at);
        this.opsSamples.push(ops);
        if (this.opsSamples.length > 16) this.opsSamples.shift();
      }
      this.lastOpsSample = { at: now, calls };
    }
    activeExpireCycle(this, now);
  }

  async close(): Promise<void> {
    if (this.cron) clearInterval(this.cron);
    watchdogOf(this).close();
    // Stop listening before any client sees its connection close, so that a client which
    // reconnects at once is refused, as when Redis's process exits (SHUTDOWN NOSAVE).
    const listening = [this.tcpListener?.close(), tlsOf(this).close()];
    closeUnixSocket(this);
    await this.crdt?.close();
    this.cluster?.close();
    replicationOf(this).link?.close();
    for (const c of this.clients.values()) c.socket.destroy();
    await Promise.all(listening);
    log("notice", "Redis is now ready to exit, bye bye...");
  }
}

export interface ClientLimits {
  /** client-query-buffer-limit: a client whose unrun input exceeds it is closed. */
  queryBufferMax: number;
  /** client-output-buffer-limit normal <hard> <soft> <soft seconds>; 0 = no limit. */
  normalOutput: { hard: number; soft: number; softSeconds: number };
}

const DEFAULT_LIMITS: ClientLimits = { queryBufferMax: 1024 ** 3, normalOutput: { hard: 0, soft: 0, softSeconds: 0 } };

/** Parses "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60" and "1gb". */
export function parseClientLimits(cob: string, qbl: string): ClientLimits {
  const limits: ClientLimits = { queryBufferMax: DEFAULT_LIMITS.queryBufferMax, normalOutput: { ...DEFAULT_LIMITS.normalOutput } };
  const q = qbl ? parseMemory(qbl) : null;
  if (q !== null && q > 0) limits.queryBufferMax = q;
  const words = cob.trim().split(/\s+/);
  for (let i = 0; i + 3 < words.length; i += 4) {
    if (words[i].toLowerCase() !== "normal") continue;
    const hard = parseMemory(words[i + 1]);
    const soft = parseMemory(words[i + 2]);
    const secs = Number(words[i + 3]);
    if (hard !== null && soft !== null && Number.isFinite(secs)) limits.normalOutput = { hard, soft, softSeconds: secs };
  }
  return limits;
}

/** Number of shards (kernel instances): perf_config.toml's `shards`, or LATTICEKV_SHARDS. */
export function configuredShardCount(): number {
  return perfConfig().shards;
}


