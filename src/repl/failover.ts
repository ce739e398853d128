// FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms]: Redis 7.0's coordinated failover
// (replication.c failoverCommand, updateFailoverStatus, abortFailover, clearFailoverState).
//
// The master pauses writes (CLIENT PAUSE WRITE, so its offset stops moving) and waits in
// "waiting-for-sync" until a replica (the one named by TO, or any) has acknowledged the whole
// stream. It then turns into that replica's replica ("failover-in-progress") and its link sends
// PSYNC <replid> <offset> FAILOVER: the target, whose replid is the same, becomes a master
// (REPLICAOF NO ONE: the shared history goes on as its replid2) and answers +CONTINUE, and the
// failover ends. A target that rejects the PSYNC, FAILOVER ABORT, or a TIMEOUT without FORCE
// abort it: the node is a master again (under a new replid, so its replicas reconnect and
// continue partially). With FORCE the failover goes ahead at the timeout even if the target
// has not caught up. INFO master_failover_state shows the state.
import type { Server } from "../server/server.js";
import type { CommandContext } from "../commands/context.js";
import { ERR, parseInteger } from "../commands/context.js";
import { PAUSE_WRITE } from "../server/pause.js";
import { log } from "../server/log.js";
import { replicationOf, type ReplicaState } from "./replication.js";
import { setMaster } from "../commands/replication.js";
import { peersRefuse } from "../replication/active-active.js";

export type FailoverState = "no-failover" | "waiting-for-sync" | "failover-in-progress";

/** A pause "forever" (Redis pauses with LLONG_MAX and unpauses when the failover ends). */
const PAUSE_FOREVER = Number.MAX_SAFE_INTEGER;

export class Failover {
  state: FailoverState = "no-failover";
  targetHost: string | null = null;
  targetPort = 0;
  /** When waiting-for-sync times out (server ms; 0: never). */
  endAt = 0;
  force = false;
  /** Redis runs replicationCron every 100 ms while a failover goes on. */
  private cron?: NodeJS.Timeout;

  constructor(private readonly server: Server) {}

  /** The FAILOVER command. */
  command({ server, argv, reply }: CommandContext): void {
    if (server.cluster) return reply.error("FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.");
    if (argv.length === 2 && argv[1].toString("latin1").toLowerCase() === "abort") {
      if (this.state === "no-failover") return reply.error("No failover in progress.");
      this.abort("Failover manually aborted");
      return reply.ok();
    }
    let timeout = 0;
    let force = false;
    let host: string | null = null;
    let port = 0;
    for (let j = 1; j < argv.length; j++) {
      const opt = argv[j].toString("latin1").toLowerCase();
      if (opt === "timeout" && j + 1 < argv.length && timeout === 0) {
        const t = parseInteger(argv[j + 1]);
        if (t === null) return reply.error(ERR.notInteger);
        if (t <= 0n) return reply.error("FAILOVER timeout must be greater than 0");
        timeout = Number(t);
        j++;
      } else if (opt === "to" && j + 2 < argv.length && host === null) {
        const p = parseInteger(argv[j + 2]);
        if (p === null) return reply.error(ERR.notInteger);
        port = Number(p);
        host = argv[j + 1].toString("latin1");
        j += 2;
      } else if (opt === "force" && !force) {
        force = true;
      } else {
        return reply.error(ERR.syntax);
      }
    }
    const repl = replicationOf(server);
    if (this.state !== "no-failover") return reply.error("FAILOVER already in progress.");
    if (repl.link) return reply.error("FAILOVER is not valid when server is a replica.");
    const inGroup = peersRefuse(server, "FAILOVER");
    if (inGroup) return reply.error(inGroup);
    if (repl.replicas.size === 0) return reply.error("FAILOVER requires connected replicas.");
    if (force && (timeout === 0 || host === null)) return reply.error("FAILOVER with force option requires both a timeout and target HOST and IP.");
    if (host !== null) {
      const r = this.findReplica(host, port);
      if (!r) return reply.error("FAILOVER target HOST and PORT is not a replica.");
      if (r.syncState !== "online") return reply.error("FAILOVER target replica is not online.");
      this.targetHost = host;
      this.targetPort = port;
      log("notice", `FAILOVER requested to ${host}:${port}.`);
    } else {
      log("notice", "FAILOVER requested to any replica.");
    }
    this.endAt = timeout ? server.now() + timeout : 0;
    this.force = force;
    this.state = "waiting-for-sync";
    server.pause.pause(PAUSE_FOREVER, PAUSE_WRITE, "failover");
    this.startCron();
    reply.ok();
  }

  /** Redis's findReplica: by the address it announced (or connected from) and its listening port. */
  private findReplica(host: string, port: number): ReplicaState | undefined {
    for (const r of replicationOf(this.server).replicas.values()) {
      if (r.ip.toLowerCase() === host.toLowerCase() && r.port === port) return r;
    }
    return undefined;
  }

  private startCron(): void {
    if (this.cron) return;
    this.cron = setInterval(() => this.update(), 100);
    this.cron.unref();
  }

  /**
   * Redis's updateFailoverStatus (also called on each REPLCONF ACK): times out, or fails over
   * to the target (or the first replica) once it acknowledged the master's whole stream.
   */
  update(): void {
    if (this.state !== "waiting-for-sync") return;
    if (this.endAt && this.endAt <= this.server.now()) {
      if (this.force) {
        log("notice", `FAILOVER to ${this.targetHost}:${this.targetPort} time out exceeded, failing over.`);
        this.state = "failover-in-progress";
        setMaster(this.server, this.targetHost!, this.targetPort);
      } else {
        this.abort("Replica never caught up before timeout");
      }
      return;
    }
    const repl = replicationOf(this.server);
    let replica: ReplicaState | undefined;
    if (this.targetHost !== null) {
      replica = this.findReplica(this.targetHost, this.targetPort);
    } else {
      for (const r of repl.replicas.values()) {
        if (r.ackOffset === repl.offset) {
          replica = r;
          this.targetHost = r.ip;
          this.targetPort = r.port;
          break;
        }
      }
    }
    if (replica && replica.ackOffset === repl.offset) {
      this.state = "failover-in-progress";
      log("notice", `Failover target ${this.targetHost}:${this.targetPort} is synced, failing over.`);
      setMaster(this.server, this.targetHost!, this.targetPort);
    }
  }

  /** The link's PSYNC FAILOVER was answered: +CONTINUE / +FULLRESYNC end it, anything else aborts. */
  psyncAnswered(accepted: boolean): void {
    if (this.state !== "failover-in-progress") return;
    if (accepted) this.clear();
    else this.abort("Failover target rejected psync request");
  }

  /** Redis's abortFailover: a node that already turned replica is a master again. */
  abort(reason: string): void {
    if (this.state === "no-failover") return;
    if (this.targetHost !== null) log("notice", `FAILOVER to ${this.targetHost}:${this.targetPort} aborted: ${reason}`);
    else log("notice", `FAILOVER to any replica aborted: ${reason}`);
    if (this.state === "failover-in-progress") setMaster(this.server, null);
    this.clear();
  }

  /** Redis's clearFailoverState: the paused writes run (on a replica, they get -READONLY). */
  private clear(): void {
    this.endAt = 0;
    this.force = false;
    this.targetHost = null;
    this.targetPort = 0;
    this.state = "no-failover";
    if (this.cron) { clearInterval(this.cron); this.cron = undefined; }
    this.server.pause.unpause("failover");
  }
}

const failovers = new WeakMap<Server, Failover>();

export function failoverOf(server: Server): Failover {
  let f = failovers.get(server);
  if (!f) failovers.set(server, (f = new Failover(server)));
  return f;
}
