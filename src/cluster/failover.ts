// Replica failover (Redis's cluster.c "SLAVE node specific functions"): a replica whose
// master is marked fail asks the masters for their vote; a majority of the masters serving
// slots makes it the new master under a new configEpoch, and it takes its master's slots.
//
// The election (clusterHandleSlaveFailover), run from the bus's cron every 100 ms:
//   1. wait 500 ms + random 0..500 ms + 1 s per better-placed replica of the same master
//      (rank: replicas with a greater replication offset go first), so the FAIL message
//      spreads and the most up to date replica usually wins;
//   2. currentEpoch++, broadcast "auth-req" (the header carries the master's slots and
//      configEpoch);
//   3. a master grants one vote per epoch (lastVoteEpoch), only to a replica of a failed
//      master (or a manual failover's forceAck), not twice for the same master within
//      2 × node timeout, and only if no claimed slot belongs to a node with a greater
//      configEpoch (clusterSendFailoverAuthIfNeeded);
//   4. with (cluster size / 2) + 1 acks before the auth timeout (max(2 × node timeout, 2 s))
//      the replica sets configEpoch to the election's epoch, becomes a master, takes the
//      slots and pongs everyone (clusterFailoverReplaceYourMaster); otherwise it retries
//      after twice the timeout.
//
// Manual failover (CLUSTER FAILOVER): the replica sends "mfstart"; its master pauses writes
// and pings the replica with its offset flagged "paused"; once the replica has applied up to
// that offset it runs the election with forceAck (masters vote though the master is up).
// FORCE skips the offset handshake; TAKEOVER skips the election (a configEpoch bump without
// consensus). A manual failover gives up after 5 s (CLUSTER_MF_TIMEOUT).
import type { ClusterNode, ClusterState } from "./state.js";
import type { ClusterBus, Message } from "./bus.js";
import { log } from "../server/log.js";

const MF_TIMEOUT = 5000;
const MF_PAUSE_MULT = 2;

/** What the election needs from the rest of the server (src/cluster/cluster.ts). */
export interface FailoverHost {
  state: ClusterState;
  bus: ClusterBus;
  nodeTimeout(): number;
  config: { getNumber(name: string): number; getBool(name: string): boolean };
  /** This replica's applied replication offset. */
  replOffset(): number;
  /** Milliseconds since this replica last heard from its master (0 while linked and live). */
  masterDataAge(): number;
  /** This replica becomes a master (replication stops; PSYNC2 history kept). */
  becomeMaster(): void;
  /** Writes from clients wait while a master is paused for a manual failover. */
  pauseChanged(): void;
  changed(): void;
}

export class Failover {
  // The replica's election (Redis's failover_auth_*).
  private authTime = 0;
  private authCount = 0;
  private authSent = false;
  private authRank = 0;
  private authEpoch = 0;
  // Manual failover (mf_*): on a replica, mfEnd/mfCanStart/mfMasterOffset; on a master, mfReplica.
  private mfEnd = 0;
  private mfCanStart = false;
  private mfMasterOffset = -1;
  private mfReplica: ClusterNode | null = null;
  private pausedUntil = 0;
  /** A check of the election is queued for the end of this event-loop turn (see soon()). */
  private queued = false;

  constructor(private readonly host: FailoverHost) {}

  /**
   * Runs the manual-failover and election steps once the messages at hand are processed,
   * rather than at the next 100 ms cron: Redis's clusterDoBeforeSleep(CLUSTER_TODO_HANDLE_
   * [MANUAL]FAILOVER), set when an ack may complete the quorum, when a paused master's offset
   * arrives, or when a manual failover may start its election.
   */
  private soon(): void {
    if (this.queued) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      if (!this.host.state.myself.master) return;
      this.handleManualFailover();
      this.handleReplicaFailover(Date.now());
    });
  }

  /** A master paused for a replica's manual failover holds its clients' writes. */
  get paused(): boolean {
    return this.pausedUntil > Date.now();
  }

  /** Flags for this node's bus header. */
  headerFlags(): { paused?: boolean; forceAck?: boolean } {
    const me = this.host.state.myself;
    if (!me.master && this.mfEnd && this.paused) return { paused: true };
    if (me.master && this.mfEnd) return { forceAck: true };
    return {};
  }

  cron(now: number): void {
    this.checkManualTimeout(now);
    const me = this.host.state.myself;
    if (me.master) {
      this.handleManualFailover();
      this.handleReplicaFailover(now);
    }
  }

  // ---- the replica's election -----------------------------------------------------------

  private handleReplicaFailover(now: number): void {
    const { state: st, bus } = this.host;
    const me = st.myself;
    const master = me.master;
    const timeout = this.host.nodeTimeout();
    const manual = this.mfEnd !== 0 && this.mfCanStart;
    if (!master || (!master.fail && !manual) ||
        (this.host.config.getBool("cluster-replica-no-failover") && !manual) || st.numSlots(master) === 0) {
      return;
    }
    const authTimeout = Math.max(timeout * 2, 2000);
    const authRetry = authTimeout * 2;
    const authAge = now - this.authTime;

    // Too long without our master's data: not fit to replace it (validity factor).
    let dataAge = this.host.masterDataAge();
    if (dataAge > timeout) dataAge -= timeout;
    const factor = this.host.config.getNumber("cluster-replica-validity-factor");
    if (factor && dataAge > this.host.config.getNumber("repl-ping-replica-period") * 1000 + timeout * factor && !manual) return;

    if (authAge > authRetry) {
      this.authTime = now + 500 + Math.floor(Math.random() * 500);
      this.authCount = 0;
      this.authSent = false;
      this.authRank = this.rank();
      this.authTime += this.authRank * 1000;
      if (this.mfEnd) {
        this.authTime = now;
        this.authRank = 0;
        this.soon();
      }
      log("warning", `Start of election delayed for ${this.authTime - now} milliseconds (rank #${this.authRank}, offset ${this.host.replOffset()}).`);
      return;
    }
    if (!this.authSent && !this.mfEnd) {
      const rank = this.rank();
      if (rank > this.authRank) {
        this.authTime += (rank - this.authRank) * 1000;
        this.authRank = rank;
      }
    }
    if (now < this.authTime) return;
    if (authAge > authTimeout) return; // this attempt expired; a new one after the retry time
    if (!this.authSent) {
      st.currentEpoch++;
      this.authEpoch = st.currentEpoch;
      log("warning", `Starting a failover election for epoch ${this.authEpoch}.`);
      this.authSent = true;
      bus.broadcast("auth-req");
      this.host.changed();
      return;
    }
    const needed = Math.floor(st.size() / 2) + 1;
    if (this.authCount >= needed) {
      log("warning", "Failover election won: I'm the new master.");
      if (me.configEpoch < this.authEpoch) {
        me.configEpoch = this.authEpoch;
        log("warning", `configEpoch set to ${me.configEpoch} after successful failover`);
      }
      this.replaceMyMaster();
    }
  }

  /** Replicas of our master with a better offset than ours (clusterGetSlaveRank). */
  private rank(): number {
    const st = this.host.state;
    const master = st.myself.master;
    if (!master) return 0;
    const mine = this.host.replOffset();
    let rank = 0;
    for (const r of st.replicasOf(master)) if (r !== st.myself && r.replOffset > mine) rank++;
    return rank;
  }

  /** The winner takes its master's slots and tells everyone (clusterFailoverReplaceYourMaster). */
  private replaceMyMaster(): void {
    const st = this.host.state;
    const old = st.myself.master;
    if (!old) return;
    this.host.becomeMaster();
    for (const s of st.slotsOf(old)) st.assign(s, st.myself);
    this.host.changed();
    this.host.bus.broadcast("pong");
    this.resetManual();
  }

  /** A master's vote (clusterSendFailoverAuthIfNeeded). */
  onAuthRequest(node: ClusterNode, msg: Message, ack: () => void): void {
    const st = this.host.state;
    const me = st.myself;
    if (me.master || st.numSlots(me) === 0) return; // only masters serving slots vote
    if (msg.currentEpoch < st.currentEpoch) {
      log("warning", `Failover auth denied to ${node.id}: reqEpoch (${msg.currentEpoch}) < curEpoch(${st.currentEpoch})`);
      return;
    }
    if (st.lastVoteEpoch === st.currentEpoch) {
      log("warning", `Failover auth denied to ${node.id}: already voted for epoch ${st.currentEpoch}`);
      return;
    }
    const master = node.master;
    if (!master || (!master.fail && !msg.sender.forceAck)) {
      log("warning", `Failover auth denied to ${node.id}: ${!master ? "it is a master node" : "its master is up"}`);
      return;
    }
    const now = Date.now();
    const timeout = this.host.nodeTimeout();
    if (now - master.votedTime < timeout * 2) {
      log("warning", `Failover auth denied to ${node.id}: can't vote about this master before ${timeout * 2 - (now - master.votedTime)} milliseconds`);
      return;
    }
    for (const [a, b] of msg.sender.slots ?? []) {
      for (let s = a; s <= b; s++) {
        const owner = st.owner[s];
        if (owner && owner.configEpoch > msg.sender.configEpoch) {
          log("warning", `Failover auth denied to ${node.id}: slot ${s} epoch (${owner.configEpoch}) > reqEpoch (${msg.sender.configEpoch})`);
          return;
        }
      }
    }
    st.lastVoteEpoch = st.currentEpoch;
    master.votedTime = now;
    this.host.changed();
    st.save();
    ack();
    log("warning", `Failover auth granted to ${node.id} for epoch ${st.currentEpoch}`);
  }

  onAuthAck(node: ClusterNode, msg: Message): void {
    const st = this.host.state;
    if (!node.master && st.numSlots(node) > 0 && msg.currentEpoch >= this.authEpoch) {
      this.authCount++;
      this.soon(); // maybe the quorum
    }
  }

  // ---- manual failover ------------------------------------------------------------------

  /** CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica: the error to reply, or null. */
  manual(force: boolean, takeover: boolean): string | null {
    const st = this.host.state;
    const me = st.myself;
    if (!me.master) return "You should send CLUSTER FAILOVER to a replica";
    if (!force && (me.master.fail || !this.host.bus.linked(me.master))) {
      return "Master is down or failed, please use CLUSTER FAILOVER FORCE";
    }
    this.resetManual();
    this.mfEnd = Date.now() + MF_TIMEOUT;
    if (takeover) {
      log("warning", "Taking over the master (user request).");
      bumpEpochWithoutConsensus(st);
      this.replaceMyMaster();
    } else if (force) {
      log("warning", "Forced failover user request accepted.");
      this.mfCanStart = true;
    } else {
      log("warning", "Manual failover user request accepted.");
      this.host.bus.sendTo(me.master, "mfstart");
    }
    return null;
  }

  /** Master: a replica asks for a manual failover; pause writes and send it our offset. */
  onMfStart(node: ClusterNode): void {
    const me = this.host.state.myself;
    if (node.master !== me) return;
    this.resetManual();
    const now = Date.now();
    this.mfEnd = now + MF_TIMEOUT;
    this.mfReplica = node;
    this.pausedUntil = now + MF_TIMEOUT * MF_PAUSE_MULT;
    this.host.pauseChanged();
    log("warning", `Manual failover requested by replica ${node.id}.`);
    this.host.bus.sendTo(node, "ping");
  }

  /** Replica: our paused master's offset is what we must reach before the election. */
  onHeader(sender: ClusterNode, msg: Message): void {
    const me = this.host.state.myself;
    if (this.mfEnd && me.master === sender && msg.sender.paused && this.mfMasterOffset === -1) {
      this.mfMasterOffset = sender.replOffset;
      log("warning", `Received replication offset for paused master manual failover: ${this.mfMasterOffset}`);
      this.soon();
    }
  }

  /** This node stopped being a master (it was failed over): writes need not wait any more. */
  roleChanged(): void {
    this.resetManual();
  }

  private handleManualFailover(): void {
    if (this.mfEnd === 0 || this.mfCanStart || this.mfMasterOffset === -1) return;
    if (this.host.replOffset() >= this.mfMasterOffset) {
      this.mfCanStart = true;
      log("warning", "All master replication stream processed, manual failover can start.");
      this.soon();
    }
  }

  private checkManualTimeout(now: number): void {
    if (this.mfEnd && this.mfEnd < now) {
      log("warning", "Manual failover timed out.");
      this.resetManual();
    }
    // The master pings the replica doing a manual failover continuously.
    if (this.mfReplica && this.mfEnd) this.host.bus.sendTo(this.mfReplica, "ping");
  }

  private resetManual(): void {
    const wasPaused = this.mfReplica !== null || this.pausedUntil !== 0;
    this.mfEnd = 0;
    this.mfCanStart = false;
    this.mfReplica = null;
    this.mfMasterOffset = -1;
    this.pausedUntil = 0;
    if (wasPaused) this.host.pauseChanged();
  }
}

/**
 * A new configEpoch without an election (CLUSTER FAILOVER TAKEOVER, SETSLOT NODE on the
 * importing node, CLUSTER BUMPEPOCH): currentEpoch + 1, unless ours is already the only
 * greatest epoch (clusterBumpConfigEpochWithoutConsensus; Redis also keeps an epoch it
 * shares with another node and lets collision handling split them, which can leave a
 * just-imported slot unclaimable for a while). Whether it bumped.
 * Our own replicas do not count: their headers carry our configEpoch (Redis's replicas advertise
 * their master's), so counting them bumped the importing node again on nearly every SETSLOT NODE
 * of a reshard once its replicas had pinged (24 bumps in 300 slots), and every bump made all
 * nodes fsync nodes.conf; Redis bumps once, at the first slot.
 */
export function bumpEpochWithoutConsensus(st: ClusterState): boolean {
  const me = st.myself;
  let maxOthers = 0;
  for (const n of st.nodes.values()) if (!n.myself && n.master !== me) maxOthers = Math.max(maxOthers, n.configEpoch);
  if (me.configEpoch !== 0 && me.configEpoch > maxOthers && me.configEpoch === st.currentEpoch) return false;
  st.currentEpoch++;
  me.configEpoch = st.currentEpoch;
  log("warning", `New configEpoch set to ${me.configEpoch}`);
  return true;
}
