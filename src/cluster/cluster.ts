// Cluster mode (cluster-enabled yes): Redis Cluster's protocol over LatticeKV nodes, so
// cluster clients (ioredis Cluster, redis-py RedisCluster, redis-cli -c / --cluster) shard
// across machines. This file ties the pieces to the server:
//   state.ts     nodes, slot owners, migrating/importing slots, epochs, nodes.conf
//   bus.ts       the cluster bus: MEET, gossip, slot ownership, failure detection
//   failover.ts  replica elections, CLUSTER FAILOVER
//   redirect.ts  MOVED / ASK / CROSSSLOT / CLUSTERDOWN for each command
//   group.ts     active-active groups (cluster-group): members share slots, CRDT replication
//   group-migration.ts  a slot migrating out of a group while every member takes writes
// A replica (CLUSTER REPLICATE) replicates its master with Redis's primary/replica protocol
// (src/repl/, through setMaster), as Redis Cluster does.
//   ../commands/cluster.ts  CLUSTER ..., ASKING, READONLY, READWRITE
// The kernel runs a command by itself only when all its keys are in one slot this node
// serves with nothing in flight (Kernel.setSlotsServed); everything else comes to the host,
// which applies redirect.ts first.
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import type { CommandSpec } from "../commands/table.js";
import { ClusterState, CLUSTER_SLOTS, isReplica } from "./state.js";
import { ClusterBus } from "./bus.js";
import { Failover } from "./failover.js";
import { clusterRedirect, type ClusterClientFlags } from "./redirect.js";
import type { ClusterNode } from "./state.js";
import { keySlot } from "../server/router.js";
import { log } from "../server/log.js";
import { randomBytes } from "node:crypto";
import { setMaster } from "../commands/replication.js";
import { replicationOf } from "../repl/replication.js";
import { emptyData, persistenceOf } from "../persistence/persistence.js";
import { scriptAwareFlags } from "../server/pause.js";
import { handleReplicaMigration, type MigrationHost } from "./replica-migration.js";
import { busListenPort, deriveAnnouncedPorts } from "./ports.js";
import { tlsOf } from "../server/tls.js";
import { StartupError } from "../server/listeners.js";
import { ReplicationGroup } from "./group.js";
import { GroupMigration } from "./group-migration.js";
import { ShardChannelEviction } from "./shard-channels.js";
import { redirectBlockedClients } from "./blocked.js";
import { setReplicaExpiry } from "../repl/replica-expiry.js";

export class Cluster {
  state!: ClusterState;
  bus!: ClusterBus;
  failover!: Failover;
  group!: ReplicationGroup;
  /** A slot migrating out of our active-active group while its members take writes (group-migration.ts). */
  migration!: GroupMigration;
  /** Slot ownership as last pushed to the kernels and saved: only changes are written. */
  private lastSignature = "";
  /** Writes held while this master is paused for a replica's manual failover. */
  private held: { client: Client; argv: Buffer[] }[] = [];
  private wasPaused = false;

  constructor(private readonly server: Server) {
    for (const s of server.shards) s.kernel.x.setClusterMode(1);
  }

  /**
   * After the client ports are known (the plain port and the tls-port: a TLS cluster is
   * built on the latter, src/cluster/ports.ts): load or create nodes.conf and open the bus.
   */
  async start(): Promise<void> {
    const cfg = this.server.config;
    const file = ClusterState.configPath(cfg.getString("dir"), cfg.getString("cluster-config-file"));
    const ip = cfg.getString("cluster-announce-ip");
    const plainPort = this.server.tcpPort, tlsPort = tlsOf(this.server).port;
    const cport = busListenPort(cfg, plainPort, tlsPort);
    const announced = deriveAnnouncedPorts(cfg, plainPort, tlsPort);
    this.state = new ClusterState(file, ip, announced.port, announced.cport);
    this.state.myself.pport = announced.pport;
    // A replica by nodes.conf keeps keys whose TTL passed from before the data loads (AOF
    // replay included): its master's DELs remove them (Redis: loading and masterhost both
    // keep checkAlreadyExpired/expireIfNeeded from deleting them).
    if (this.state.myself.master) setReplicaExpiry(this.server, true);
    // CONFIG SET cluster-announce-*port (clusterUpdateMyselfAnnouncedPorts).
    for (const name of ["cluster-announce-port", "cluster-announce-tls-port", "cluster-announce-bus-port"]) {
      cfg.onApply(name, () => {
        const p = deriveAnnouncedPorts(cfg, this.server.tcpPort, tlsOf(this.server).port);
        Object.assign(this.state.myself, p);
        this.changed();
      });
    }
    // cluster-announce-hostname: ours is announced in every bus header (endpoints.ts).
    this.state.myself.hostname = cfg.getString("cluster-announce-hostname");
    cfg.onApply("cluster-announce-hostname", () => {
      this.state.myself.hostname = cfg.getString("cluster-announce-hostname");
      this.changed();
    });
    const nodeTimeout = () => cfg.getNumber("cluster-node-timeout");
    const binds = cfg.getString("bind").split(/\s+/).filter(Boolean);
    const bindHost = binds[0] === "*" ? undefined : binds[0];
    this.group = new ReplicationGroup(this.server, this.state, () => this.bus);
    this.migration = new GroupMigration(this.server, this.state, () => this.bus, () => {
      this.changed();
      // A client blocked on a key of a slot we no longer serve is sent away now, not at the
      // next cron: a write replicated to us meanwhile would wake it to write here.
      redirectBlockedClients(this.server, this.state, this.state.stateOk(cfg.getBool("cluster-require-full-coverage")));
    });
    this.state.onSlotJoinedGroup = (slot, peer) => this.migration.slotJoinedGroup(slot, peer);
    const eviction = new ShardChannelEviction(this.server);
    this.state.onSlotLeftShard = (slot) => eviction.slotLost(slot);
    await this.group.start(bindHost);
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    this.failover = new Failover({
      state: this.state,
      get bus() { return self.bus; },
      nodeTimeout,
      config: cfg,
      replOffset: () => this.replOffset(),
      masterDataAge: () => {
        const link = replicationOf(this.server).link;
        if (!link) return Infinity;
        if (link.connected) return Date.now() - link.lastIo;
        // Since the link to our master went down (Redis's repl_down_since, which survives
        // reconnection attempts). A replica whose link was never up since it became one has no
        // data worth promoting: Redis's repl_down_since is 0 then ("down since ever"), so its
        // data age is unbounded and it never runs for election. Counting from when the link was
        // made let a replica attached to a master already marked FAIL win an election before
        // its first sync (Tcl "Create a 5 nodes cluster" under load: the helper's next CLUSTER
        // REPLICATE then found a master with slots where it had left a replica).
        return link.replDownSince ? Date.now() - link.replDownSince : Infinity;
      },
      becomeMaster: () => this.becomeMaster(),
      pauseChanged: () => this.pauseChanged(),
      changed: () => this.changed(),
    });
    this.bus = new ClusterBus(this.state, nodeTimeout, {
      // What the bus learns is applied once per event-loop turn, not once per message.
      changed: () => this.changedSoon(),
      replOffset: () => this.replOffset(),
      // A group member never turns replica (its group peers replicate through the CRDT layer).
      becomeReplicaOf: (n) => {
        if (this.group.active) log("warning", `Active-active group member: not following ${n.id} as a replica`);
        else this.becomeReplicaOf(n);
      },
      addressChanged: (n) => {
        // Our master moved: replicate it at its new address (nodeUpdateAddressIfNeeded).
        if (this.state.myself.master === n && !this.group.active) this.replicate(n);
      },
      countKeysInSlot: (slot) => this.countKeysInSlot(slot),
      deleteKeysInSlot: (slot) => this.deleteKeysInSlot(slot),
      onHeader: (n, m) => {
        // Only PING, PONG and MEET carry the ping extensions (hostname, group).
        if (m.carriesExtensions) {
          n.hostname = m.sender.hostname ?? "";
          this.group.onHeader(n, m);
          this.migration.onHeader(n, m);
        }
        this.failover.onHeader(n, m);
      },
      onAuthRequest: (n, m, ack) => this.failover.onAuthRequest(n, m, ack),
      onAuthAck: (n, m) => this.failover.onAuthAck(n, m),
      onMfStart: (n) => this.failover.onMfStart(n),
      headerFlags: () => ({ ...this.failover.headerFlags(), ...this.group.headerFields(), ...this.migration.headerFields(),
        ...(this.state.myself.hostname ? { hostname: this.state.myself.hostname } : {}) }),
      cron: (now) => this.cron(now),
      announcedIp: () => cfg.getString("cluster-announce-ip"),
      clusterOk: () => this.state.stateOk(cfg.getBool("cluster-require-full-coverage")),
      allowReplicaMigration: () => cfg.getBool("cluster-allow-replica-migration"),
      linkSendBufLimit: () => cfg.getNumber("cluster-link-sendbuf-limit"),
      onPublish: (channel, message, shard) => {
        if (shard) this.server.pubsub.publishShard(channel, message);
        else this.server.pubsub.publish(channel, message);
      },
      // tls-cluster yes: the bus is TLS both ways (src/server/tls.ts).
      createListener: (onSocket) => tlsOf(this.server).createBusListener(onSocket),
      dial: (p, host) => tlsOf(this.server).dial(p, host, cfg.getBool("tls-cluster")),
    });
    const bind = cfg.getString("bind");
    if (bind.trim() === "") throw new StartupError("No bind address is configured, but it is required for the Cluster bus.");
    try {
      await this.bus.listen(bind, cport);
    } catch {
      // The reason is logged by listenAll; the Tcl suite matches this line.
      throw new StartupError(`Failed listening on port ${cport} (cluster), aborting.`);
    }
    log("notice", `Cluster state loaded: node ${this.state.myself.id}, bus port ${cport}`);
    this.changed();
    // A replica restarted from nodes.conf resumes replicating its master from the cron, once
    // its own data has loaded (replicate()).
  }

  /**
   * Replicates `master` (setMaster), unless this node is still loading its own data at
   * start-up: then the cron starts it once the load is done, as Redis's clusterCron does
   * ("the replication is still turned off, enable it"), which cannot run while Redis loads.
   * A full sync started during the load would load the master's RDB alongside the AOF still
   * being replayed (04-resharding: a restarted replica died with "Fatal error loading the
   * append only file").
   */
  private replicate(master: ClusterNode): void {
    if (persistenceOf(this.server).loading && !replicationOf(this.server).link) return;
    setMaster(this.server, master.ip, master.port);
  }

  /**
   * This node's replication offset as the bus announces it and the election ranks it
   * (replicationGetSlaveOffset): 0 on a replica during a full sync, as Redis has no master
   * client then, so CLUSTER SHARDS shows it "loading".
   */
  replOffset(): number {
    const repl = replicationOf(this.server);
    return this.state?.myself.master && repl.link?.syncing ? 0 : repl.offset;
  }

  /** This node is a replica in the cluster's configuration (nodes.conf at start-up included). */
  isReplica(): boolean {
    return this.state?.myself.master != null;
  }

  /** Periodic work after the bus's (100 ms): failover, the replica's link, held writes. */
  private cron(now: number): void {
    // Our own "nofailover" flag follows the config (clusterUpdateMyselfFlags).
    this.state.myself.noFailover = this.server.config.getBool("cluster-replica-no-failover");
    this.state.nodeTimeout = this.server.config.getNumber("cluster-node-timeout");
    this.failover.cron(now);
    const me = this.state.myself;
    if (me.master && !replicationOf(this.server).link) this.replicate(me.master);
    if (this.wasPaused !== this.failover.paused) this.pauseChanged();
    if (me.master) handleReplicaMigration(this.state, this.migrationHost, now);
    this.migration.cron();
    redirectBlockedClients(this.server, this.state, this.state.stateOk(this.server.config.getBool("cluster-require-full-coverage")));
  }

  private readonly migrationHost: MigrationHost = {
    clusterOk: () => this.state.stateOk(this.server.config.getBool("cluster-require-full-coverage")),
    allowed: () => this.server.config.getBool("cluster-allow-replica-migration"),
    barrier: () => this.server.config.getNumber("cluster-migration-barrier"),
    becomeReplicaOf: (n) => this.becomeReplicaOf(n),
  };

  /**
   * CLUSTER REPLICATE, or a master that lost its last slot to a failover (clusterSetMaster):
   * replicate `master` (a full or partial resync through src/repl/).
   */
  becomeReplicaOf(master: ClusterNode): void {
    const st = this.state;
    const me = st.myself;
    if (!me.master) {
      // A master turning replica closes its slot migrations (clusterCloseAllSlots).
      st.migrating.clear();
      st.importing.clear();
    }
    me.master = master;
    me.unknownMaster = false;
    master.migrateTo = true;
    this.failover.roleChanged();
    this.replicate(master);
    log("notice", `Replicating ${master.id} at ${master.ip}:${master.port}`);
    this.changed();
    // Tell every node now rather than at the next ping: a client reading CLUSTER NODES from
    // another node right after CLUSTER REPLICATE must not see us as an empty master (Tcl
    // 25-pubsubshard-slot-migration picked such a "master" as a SETSLOT target and got
    // "Target node is not a master" from a node that already knew better).
    this.bus?.broadcast("pong");
  }

  /** A replica promoted by a failover (clusterSetNodeAsMaster + replicationUnsetMaster). */
  private becomeMaster(): void {
    this.state.myself.master = null;
    this.state.myself.unknownMaster = false;
    setMaster(this.server, null);
    this.changed();
  }

  /** Runs the writes held during a manual failover's pause once it ends (MOVED by then, usually). */
  private pauseChanged(): void {
    this.wasPaused = this.failover.paused;
    this.changed();
    if (this.failover.paused) return;
    const held = this.held;
    this.held = [];
    for (const { client, argv } of held) {
      client.blocked = false;
      if (client.closed) continue;
      this.server.dispatch(client, argv);
      client.flushAndMaybeClose();
      client.resumeInput();
    }
  }

  /** Keys of a slot this node lost to a newer owner while it still serves others. */
  private deleteKeysInSlot(slot: number): void {
    // In an active-active group the DEL would replicate to every member: the keys stay (and
    // are no longer served here) rather than risk the group's data on one node's view.
    if (this.group.active) {
      log("warning", `Slot ${slot} lost with keys in it: kept (active-active group member)`);
      return;
    }
    for (const key of this.keysInSlot(slot)) {
      this.server.router.shardOf(key).call([Buffer.from("DEL"), key], 0, this.server.now());
    }
  }

  close(): void { this.bus?.close(); }

  /** CLUSTER RESET: forget every other node and every slot; HARD also takes a new id and epoch 0. */
  reset(hard: boolean): void {
    const st = this.state;
    if (isReplica(st.myself)) {
      // A replica (of a master we may not know) turns master with an empty dataset.
      this.becomeMaster();
      emptyData(this.server);
    }
    this.failover.roleChanged();
    for (const n of [...st.nodes.values()]) {
      if (n.myself) continue;
      this.bus.forget(n);
      this.group.forget(n);
      st.removeNode(n);
    }
    for (let s = 0; s < CLUSTER_SLOTS; s++) st.assign(s, null);
    st.migrating.clear();
    st.importing.clear();
    if (hard) {
      st.currentEpoch = 0;
      st.lastVoteEpoch = 0;
      st.myself.configEpoch = 0;
      st.renameNode(st.myself, randomBytes(20).toString("hex"));
    }
    this.changed();
  }

  private pendingChange = false;

  /** changed(), once, after the current batch of I/O (bus messages arrive in bursts). */
  changedSoon(): void {
    if (this.pendingChange) return;
    this.pendingChange = true;
    setImmediate(() => {
      this.pendingChange = false;
      this.changed();
    });
  }

  /** Something in the cluster's shape may have changed: sync the kernels, save nodes.conf. */
  changed(): void {
    const st = this.state;
    const sig = this.signature();
    if (sig === this.lastSignature) return;
    this.lastSignature = sig;
    // While paused for a manual failover every command comes to the host, which holds writes.
    const paused = this.failover?.paused ?? false;
    // The kernels are told again only when what they serve may have changed: most changes
    // during a reshard are another node's slot or epoch, and rewriting every shard's table of
    // 16384 slots on every node for every slot moved cost more than the move. Without a group,
    // a slot is served directly when it is ours and neither migrating nor importing
    // (servesDirectly).
    const servedKey = this.state.myself.group ? sig : `${paused}|${st.versionOf(st.myself)}|${[...st.migrating.keys()]}|${[...st.importing.keys()]}`;
    if (servedKey !== this.lastServedKey) {
      this.lastServedKey = servedKey;
      const ranges = paused ? [] : st.directRanges();
      for (const shard of this.server.shards) {
        const x = shard.kernel.x;
        x.setSlotsServed(0, CLUSTER_SLOTS - 1, 0);
        for (const [a, b] of ranges) x.setSlotsServed(a, b, 1);
      }
    }
    st.save();
  }

  /** What the kernels were last told they serve (changed()). */
  private lastServedKey = "";

  /**
   * Redis's getNodeByQuery for a command from a client's input: the error to reply, null to
   * run it here, or true when the cluster holds it (a write while this master is paused for a
   * manual failover: it runs, or is redirected, when the pause ends, as Redis's paused clients).
   */
  redirect(client: Client, spec: CommandSpec, argv: Buffer[]): string | null | true {
    if (this.failover.paused && this.pauseHolds(client, spec, argv)) {
      client.blocked = true;
      this.held.push({ client, argv });
      return true;
    }
    const target = (owner: ClusterNode) => this.group.target(owner);
    // EXEC is checked over its queued commands' keys (a slot a group peer started migrating
    // since they were queued included: redirect.ts).
    return clusterRedirect(this.server, this.state, client as Client & { cluster?: ClusterClientFlags }, spec, argv, target);
  }

  /**
   * What a manual failover's pause holds (Redis pauses with CLIENT_PAUSE_WRITE): commands that
   * may replicate: writes, may_replicate ones (PUBLISH, EVAL of a script without a shebang),
   * scripts whose shebang flags allow writes, and EXEC of a transaction holding one. A write
   * that slipped through would move the offset the replica is waiting for.
   */
  private pauseHolds(client: Client, spec: CommandSpec, argv: Buffer[]): boolean {
    if (spec.name === "exec") {
      return (client.multi ?? []).some((queued) => {
        const f = this.server.resolveCommand(queued);
        return f.spec !== undefined && f.error === undefined && this.pauseHolds(client, f.spec, queued);
      });
    }
    const f = scriptAwareFlags(this.server, spec, argv);
    return f.write || f.mayReplicate;
  }

  /** Keys of db 0 in slot (Redis's countKeysInSlot), from the kernel's per-slot count. */
  countKeysInSlot(slot: number): number {
    return this.shardOfSlot(slot).kernel.x.countKeysInSlot(0, slot);
  }

  /** Keys of db 0 in slot (at most `max`): the kernel walks its dict only while keys are missing. */
  keysInSlot(slot: number, max = Infinity): Buffer[] {
    const k = this.shardOfSlot(slot).kernel;
    const n = k.x.keysInSlot(0, slot, Math.min(max, 0x7fffffff));
    const out: Buffer[] = [];
    const mem = k.mem;
    let p = k.x.slotKeysPtr();
    for (let i = 0; i < n; i++) {
      const len = (mem[p] | (mem[p + 1] << 8) | (mem[p + 2] << 16) | (mem[p + 3] << 24)) >>> 0;
      out.push(Buffer.from(mem.subarray(p + 4, p + 4 + len)));
      p += 4 + len;
    }
    return out;
  }

  private shardOfSlot(slot: number) {
    return this.server.shards.find((s) => slot >= s.slotLow && slot <= s.slotHigh)!;
  }

  private signature(): string {
    const st = this.state;
    let sig = `${st.currentEpoch}|${st.lastVoteEpoch}|${this.failover?.paused}|`;
    for (const n of st.nodes.values()) {
      sig += `${n.id}@${n.ip}:${n.port}:${n.configEpoch}:${n.pfail}:${n.fail}:${n.handshake}:${n.master?.id ?? (n.unknownMaster ? "?" : "")}:${n.group ?? ""}:${n.hostname ?? ""};`;
    }
    sig += `|v${st.slotsVersion}|`;
    for (const [s, n] of st.migrating) sig += `m${s}${n.id}`;
    for (const [s, n] of st.importing) sig += `i${s}${n.id}`;
    for (const [s, n] of st.groupMoving) sig += `g${s}${n.id}`;
    return sig;
  }
}
