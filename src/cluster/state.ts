// The cluster's shape as this node sees it (Redis's clusterState): the nodes, which node
// owns each of the 16384 slots, slots being migrated out of or imported into this node,
// and the epochs that settle who owns a slot when two nodes disagree.
//
// Persisted in cluster-config-file (nodes.conf, under dir) in Redis's own format: one
// CLUSTER NODES line per node, then "vars currentEpoch N lastVoteEpoch 0". Written after
// every change, as Redis does, so a restarted node keeps its id, its peers and its slots.
//
// Layout:
//   nodes:      id -> ClusterNode (myself included)
//   owner:      slot -> owning node (or null: unassigned)
//   migrating:  slot -> target node (this node's slot moving out)
//   importing:  slot -> source node (a slot moving in)
//   groupMoving: slot -> the member of our active-active group migrating it out of the group
//               (group-migration.ts: we redirect the slot's commands to it meanwhile)
import { closeSync, constants, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { log } from "../server/log.js";

export const CLUSTER_SLOTS = 16384;

export interface ClusterNode {
  id: string;
  ip: string;
  /** The port clients use: the tls-port in a TLS cluster (tls-cluster yes), as Redis's node->port. */
  port: number;
  /**
   * The plain-text port of a node in a TLS cluster (Redis's pport, 0 when none), shown to
   * clients on a plain connection (src/cluster/ports.ts). Learnt from the bus, not saved in
   * nodes.conf (as in Redis).
   */
  pport: number;
  /** Its cluster-announce-hostname ("" when none), from its bus header (endpoints.ts). */
  hostname: string;
  cport: number;
  configEpoch: number;
  myself: boolean;
  /**
   * Time (ms) of the last PONG on our own link to it, 0 if none yet (Redis's pong_received):
   * what decides when we ping it next. Its PINGs to us do not count, or the node that pings
   * first would keep the other from ever pinging it.
   */
  pongReceived: number;
  /** Time (ms) of the last message of any kind from it (Redis's data_received): proof of life. */
  dataReceived: number;
  /** Time (ms) a ping was sent and not yet answered, 0 if none. */
  pingSent: number;
  /** Redis's "fail?" (this node suspects it) and "fail" (the cluster agreed). */
  pfail: boolean;
  fail: boolean;
  /** Still in the handshake of CLUSTER MEET: its real id is not known yet. */
  handshake: boolean;
  /** Learnt from gossip and not yet answered: our link to it sends MEET, not PING (CLUSTER_NODE_MEET). */
  meet: boolean;
  /** The master this node replicates (Redis's slaveof); null for a master. */
  master: ClusterNode | null;
  /** Its replication offset, as last announced on the bus (failover ranks replicas by it). */
  replOffset: number;
  /** When it was marked fail (Redis's fail_time). */
  failTime: number;
  /** When this node last voted for a replica of it in a failover election (voted_time). */
  votedTime: number;
  /**
   * A master that had a replica, or a replica promoted by a failover: a target for replica
   * migration once orphaned (Redis's CLUSTER_NODE_MIGRATE_TO).
   */
  migrateTo: boolean;
  /**
   * A replica whose master we do not know (forgotten, or not learnt yet): Redis's
   * CLUSTER_NODE_SLAVE with slaveof NULL, shown "slave -" with no slots. `master` is null
   * then, so every role check goes through isReplica().
   */
  unknownMaster: boolean;
  /** cluster-replica-no-failover yes there (shown as "nofailover" in CLUSTER NODES). */
  noFailover: boolean;
  /** Since when it has been an orphaned master (replica-migration.ts), 0 if not. */
  orphanedTime: number;
  /**
   * Its active-active replication group (cluster-group; "" or absent: none). Every member of a
   * group serves the group's slots and accepts writes; the members replicate through the CRDT
   * layer (src/replication/), not PSYNC (group.ts).
   */
  group: string;
  /** Its CRDT bus port, as announced on the cluster bus (0: none): group.ts links to it. */
  crdtPort: number;
}

export class ClusterState {
  readonly nodes = new Map<string, ClusterNode>();
  readonly owner: (ClusterNode | null)[] = new Array(CLUSTER_SLOTS).fill(null);
  readonly migrating = new Map<number, ClusterNode>();
  readonly importing = new Map<number, ClusterNode>();
  readonly groupMoving = new Map<number, ClusterNode>();
  currentEpoch = 0;
  lastVoteEpoch = 0;
  readonly myself: ClusterNode;
  /** Called after anything that changes which slots this node serves directly. */
  onSlotsChanged: () => void = () => {};
  stats = { sent: new Map<string, number>(), received: new Map<string, number>() };

  constructor(private readonly file: string, ip: string, port: number, cport: number) {
    let me: ClusterNode | undefined;
    if (existsSync(file)) me = this.load(readFileSync(file, "latin1"));
    if (!me) {
      me = newNode(randomBytes(20).toString("hex"), ip, port, cport);
      me.myself = true;
      this.nodes.set(me.id, me);
    }
    // Without cluster-announce-ip ("" here) a node keeps the address it learnt from a MEET
    // (saved in nodes.conf), as Redis does; a new node starts as 127.0.0.1 until then.
    me.ip = ip || me.ip || "127.0.0.1";
    me.port = port;
    me.cport = cport;
    this.myself = me;
    this.save();
  }

  static configPath(dir: string, file: string): string {
    return file.startsWith("/") ? file : join(dir, file);
  }

  // ---- slots ------------------------------------------------------------------------------

  /** Bumped by every change of a slot's owner (caches below key on it). */
  private version = 0;
  /** Changes whenever any slot changes owner. */
  get slotsVersion(): number { return this.version; }
  private readonly counts = new Map<ClusterNode, number>();
  /**
   * Per node, bumped when a slot moves to or from it. Its cached ranges key on this, not on
   * the global version: each save lists every node's ranges (CLUSTER NODES), and a reshard on
   * 20 nodes moving one slot at a time had every node walk all 16384 slots for each of them,
   * on every save.
   */
  private readonly nodeVersions = new Map<ClusterNode, number>();
  private readonly rangesCache = new Map<ClusterNode, { version: number; ranges: [number, number][]; unread: number }>();

  /** The only way a slot changes owner: keeps per-node counts and cached ranges right. */
  assign(slot: number, node: ClusterNode | null): void {
    const old = this.owner[slot];
    if (old === node) return;
    if (old) this.counts.set(old, (this.counts.get(old) ?? 1) - 1);
    if (node) this.counts.set(node, (this.counts.get(node) ?? 0) + 1);
    this.owner[slot] = node;
    this.version++;
    if (old) this.bumpRanges(old, slot, false);
    if (node) this.bumpRanges(node, slot, true);
    if (old && this.inMyShard(old) && !(node && this.inMyShard(node))) this.onSlotLeftShard(slot);
    // Another group's slot, now a peer's of our active-active group: it imported it.
    if (old && node && this.myself !== undefined && node !== this.myself && !this.sameGroup(old, this.myself) &&
        this.sameGroup(node, this.myself)) this.onSlotJoinedGroup(slot, node);
  }

  /** Changes whenever a slot moves to or from node. */
  versionOf(node: ClusterNode): number { return this.nodeVersions.get(node) ?? 0; }

  /**
   * A slot moved to (`added`) or from node: a new version, and its cached ranges updated in
   * place of a walk of all 16384 slots at the next rangesOf. In a reshard every node saves
   * (listing the ranges of the two masters involved) after every slot moved, and the two
   * walks were ~50 us of each save. A new array each time: wire.ts caches a header's bitmap
   * by the array. Past RANGES_KEPT ranges the cache is dropped and the next rangesOf walks;
   * so it is past UNREAD_KEPT updates no rangesOf read: a bulk claim (a master's ADDSLOTS of
   * 3,277 alternating slots, 15-cluster-slots) copied the growing list once per slot, ~100 ms
   * of CPU on every node for five such masters, where one walk at the next read does.
   */
  private bumpRanges(node: ClusterNode, slot: number, added: boolean): void {
    const version = this.versionOf(node);
    this.nodeVersions.set(node, version + 1);
    const cached = this.rangesCache.get(node);
    if (!cached || cached.version !== version) return;
    if (cached.ranges.length >= RANGES_KEPT || ++cached.unread > UNREAD_KEPT) {
      this.rangesCache.delete(node);
      return;
    }
    cached.ranges = added ? withSlot(cached.ranges, slot) : withoutSlot(cached.ranges, slot);
    cached.version = version + 1;
  }

  /** Called when a slot stops being served by this node's shard (shard-channels.ts). */
  onSlotLeftShard: (slot: number) => void = () => {};
  /** Called when a slot passes from another group to a peer of our group (group-migration.ts). */
  onSlotJoinedGroup: (slot: number, peer: ClusterNode) => void = () => {};

  /** n serves the slots this node serves: myself, our master, or a member of our group. */
  private inMyShard(n: ClusterNode): boolean {
    // (nodes.conf is loaded before myself is known: nothing to evict then)
    if (this.myself === undefined) return false;
    return this.sameGroup(n, this.myself) || n === this.myself.master;
  }

  slotsOf(node: ClusterNode): number[] {
    const out: number[] = [];
    for (let s = 0; s < CLUSTER_SLOTS; s++) if (this.owner[s] === node) out.push(s);
    return out;
  }

  /** Contiguous [start, end] ranges of the slots node owns (cached until a slot changes owner). */
  rangesOf(node: ClusterNode): [number, number][] {
    const version = this.versionOf(node);
    const cached = this.rangesCache.get(node);
    if (cached && cached.version === version) {
      cached.unread = 0;
      return cached.ranges;
    }
    const out: [number, number][] = [];
    let start = -1;
    for (let s = 0; s <= CLUSTER_SLOTS; s++) {
      const mine = s < CLUSTER_SLOTS && this.owner[s] === node;
      if (mine && start < 0) start = s;
      else if (!mine && start >= 0) { out.push([start, s - 1]); start = -1; }
    }
    this.rangesCache.set(node, { version, ranges: out, unread: 0 });
    return out;
  }

  /**
   * Whether this node runs the slot's commands without checks: owned here (or by a member of
   * our active-active group), not moving.
   */
  servesDirectly(slot: number): boolean {
    const owner = this.owner[slot];
    return owner !== null && this.sameGroup(owner, this.myself) && !this.migrating.has(slot) && !this.importing.has(slot) &&
      !this.groupMoving.has(slot);
  }

  /**
   * The slot ranges servesDirectly holds for, in order. Without a group these are our own
   * cached ranges less the slots migrating or importing: a reshard changes them on every
   * SETSLOT, and a walk of all 16384 slots there was most of the command's time.
   */
  directRanges(): [number, number][] {
    const me = this.myself;
    if (!me.group) {
      const moving = [...this.migrating.keys(), ...this.importing.keys()].sort((a, b) => a - b);
      const out: [number, number][] = [];
      for (const [a, b] of this.rangesOf(me)) {
        let start = a;
        for (const s of moving) {
          if (s < start || s > b) continue;
          if (s > start) out.push([start, s - 1]);
          start = s + 1;
        }
        if (start <= b) out.push([start, b]);
      }
      return out;
    }
    const out: [number, number][] = [];
    let start = -1;
    for (let s = 0; s <= CLUSTER_SLOTS; s++) {
      const on = s < CLUSTER_SLOTS && this.servesDirectly(s);
      if (on && start < 0) start = s;
      else if (!on && start >= 0) { out.push([start, s - 1]); start = -1; }
    }
    return out;
  }

  // ---- active-active groups (group.ts) ------------------------------------------------------
  // A slot's owner is still one node (the one whose claim reached us first); a claim by another
  // member of the owner's group is not a conflict, and every member serves the slot.

  /** Bumped when a node's group changes (the group caches below key on it). */
  groupsVersion = 0;

  /** a and b are the same node, or masters of the same active-active group. */
  sameGroup(a: ClusterNode, b: ClusterNode): boolean {
    return a === b || (!!a.group && a.group === b.group && !a.master && !b.master && !a.handshake && !b.handshake);
  }

  /** The members of n's group (n alone when it has none), in node-id order. */
  membersOf(n: ClusterNode): ClusterNode[] {
    if (!n.group) return [n];
    const out: ClusterNode[] = [];
    for (const x of this.nodes.values()) if (this.sameGroup(x, n)) out.push(x);
    return out.sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  }

  private readonly claimCache = new Map<string, { key: string; ranges: [number, number][] }>();

  /**
   * The slot ranges n serves and claims on the bus: its own, or with a group, every slot owned
   * by a member of its group (each member advertises the group's slots).
   */
  claimRangesOf(n: ClusterNode): [number, number][] {
    if (!n.group || n.master) return this.rangesOf(n);
    const key = `${this.version}|${this.groupsVersion}`;
    const cached = this.claimCache.get(n.group);
    if (cached && cached.key === key) return cached.ranges;
    const out: [number, number][] = [];
    let start = -1;
    for (let s = 0; s <= CLUSTER_SLOTS; s++) {
      const o = s < CLUSTER_SLOTS ? this.owner[s] : null;
      const mine = o !== null && this.sameGroup(o, n);
      if (mine && start < 0) start = s;
      else if (!mine && start >= 0) { out.push([start, s - 1]); start = -1; }
    }
    this.claimCache.set(n.group, { key, ranges: out });
    return out;
  }

  /** Number of slots node owns (Redis's numslots). */
  numSlots(node: ClusterNode): number {
    return this.counts.get(node) ?? 0;
  }

  /** The replicas of master (Redis's master->slaves), in the nodes table's order. */
  replicasOf(master: ClusterNode): ClusterNode[] {
    const out: ClusterNode[] = [];
    for (const n of this.nodes.values()) if (n.master === master) out.push(n);
    return out;
  }

  /** Redis's nodeEpoch: a replica shows its master's configEpoch. */
  epochOf(n: ClusterNode): number {
    return n.master ? n.master.configEpoch : n.configEpoch;
  }

  /** Masters that serve at least one slot (CLUSTER INFO cluster_size); every member of a group counts. */
  size(): number {
    let n = 0;
    const groups = new Set<string>();
    for (const [node, c] of this.counts) if (c > 0 && node.group && !node.master) groups.add(node.group);
    for (const node of this.nodes.values()) {
      if (node.master || node.handshake) continue;
      if ((this.counts.get(node) ?? 0) > 0 || (node.group && groups.has(node.group))) n++;
    }
    return n;
  }

  /** cluster-node-timeout (ms): bounds the delay before a master that was in a minority rejoins. */
  nodeTimeout = 15000;
  /** The last cluster_state computed (Redis's server.cluster->state; fail until the first ok). */
  private lastOk = false;
  private firstStateCall = 0;
  private minorityAt = 0;

  /**
   * cluster_state, as Redis's clusterUpdateState:
   *   - with cluster-require-full-coverage, fail while a slot is unassigned or its owner is
   *     marked failing (with a group: while no member of the owner's group is unmarked);
   *   - fail while fewer than a majority of the masters serving slots are reachable (not
   *     PFAIL or FAIL): a node on the minority side of a partition stops serving;
   *   - a master whose state was fail turns ok no sooner than 2 s after its first check (a
   *     restarted master gives the cluster time to reconfigure it), nor sooner than the node
   *     timeout (0.5..5 s) after it last saw itself in a minority.
   */
  stateOk(requireFullCoverage: boolean, now = Date.now()): boolean {
    if (this.firstStateCall === 0) this.firstStateCall = now;
    const master = this.myself.master === null;
    if (master && !this.lastOk && now - this.firstStateCall < 2000) return false;
    let ok = true;
    let size = 0, reachable = 0, covered = 0;
    const up = (m: ClusterNode) => !m.fail && !m.pfail;
    for (const [n, c] of this.counts) {
      if (c <= 0 || n.master) continue;
      covered += c;
      size++;
      const members = this.membersOf(n);
      if (members.some(up)) reachable++;
      if (requireFullCoverage && n.fail && !members.some((m) => !m.fail)) ok = false;
    }
    if (requireFullCoverage && covered < CLUSTER_SLOTS) ok = false;
    if (reachable < Math.floor(size / 2) + 1) {
      ok = false;
      this.minorityAt = now;
    }
    if (ok !== this.lastOk) {
      const rejoin = Math.min(5000, Math.max(500, this.nodeTimeout));
      if (ok && master && now - this.minorityAt < rejoin) return false;
      this.lastOk = ok;
      log("warning", `Cluster state changed: ${ok ? "ok" : "fail"}`);
    }
    return ok;
  }

  // ---- nodes ------------------------------------------------------------------------------

  addNode(id: string, ip: string, port: number, cport: number): ClusterNode {
    const n = newNode(id, ip, port, cport);
    this.nodes.set(id, n);
    return n;
  }

  /** Forgets a node (CLUSTER FORGET, or a handshake that learnt the node's real id). */
  removeNode(node: ClusterNode): void {
    this.nodes.delete(node.id);
    // Its replicas stay replicas of an unknown master (freeClusterNode: slaveof = NULL).
    for (const n of this.nodes.values()) {
      if (n.master !== node) continue;
      n.master = null;
      if (!n.myself) n.unknownMaster = true;
    }
    for (let s = 0; s < CLUSTER_SLOTS; s++) if (this.owner[s] === node) this.assign(s, null);
    this.counts.delete(node);
    this.rangesCache.delete(node);
    this.nodeVersions.delete(node);
    for (const [s, n] of this.migrating) if (n === node) this.migrating.delete(s);
    for (const [s, n] of this.importing) if (n === node) this.importing.delete(s);
    for (const [s, n] of this.groupMoving) if (n === node) this.groupMoving.delete(s);
  }

  renameNode(node: ClusterNode, id: string): void {
    this.nodes.delete(node.id);
    node.id = id;
    node.handshake = false;
    this.nodes.set(id, node);
  }

  // ---- CLUSTER NODES and nodes.conf ---------------------------------------------------------

  private readonly slotsTextCache = new WeakMap<ClusterNode, { ranges: [number, number][]; text: string }>();

  /**
   * The slots part of n's CLUSTER NODES line (" 0-5460 5462"), kept while claimRangesOf(n)
   * returns the same array (a new one whenever n's slots change). Every save writes every
   * node's line, and after a few `--cluster-from all` reshards (04-resharding) each master
   * owns hundreds of ranges: rebuilding all their text on every save was ~5% of the unit's
   * CPU (Redis builds it in C, once per text: clusterGenNodesSlotsInfo).
   */
  private slotsText(n: ClusterNode): string {
    const ranges = this.claimRangesOf(n);
    const cached = this.slotsTextCache.get(n);
    if (cached && cached.ranges === ranges) return cached.text;
    const parts = [""];
    for (const [a, b] of ranges) parts.push(a === b ? `${a}` : `${a}-${b}`);
    const text = parts.length > 1 ? parts.join(" ") : "";
    this.slotsTextCache.set(n, { ranges, text });
    return text;
  }

  /**
   * One CLUSTER NODES line (Redis's clusterGenNodeDescription); usePport shows a TLS
   * cluster's plain-text ports (to a client on a plain connection: src/cluster/ports.ts).
   */
  describe(n: ClusterNode, usePport = false): string {
    const flags: string[] = [];
    if (n.myself) flags.push("myself");
    // A handshake node has no role yet (createClusterNode with CLUSTER_NODE_HANDSHAKE only).
    if (!n.handshake) flags.push(isReplica(n) ? "slave" : "master");
    if (n.pfail && !n.fail) flags.push("fail?");
    if (n.fail) flags.push("fail");
    if (n.handshake) flags.push("handshake");
    if (n.noFailover) flags.push("nofailover");
    const link = n.myself || (n.pongReceived > 0 && !n.pfail && !n.fail) ? "connected" : "disconnected";
    const host = n.hostname ? `,${n.hostname}` : "";
    let line = `${n.id} ${n.ip}:${usePport && n.pport ? n.pport : n.port}@${n.cport}${host} ${flags.join(",")} ${n.master ? n.master.id : "-"} ` +
      `${n.myself ? 0 : n.pingSent} ${n.myself ? 0 : n.pongReceived} ${this.epochOf(n)} ${link}`;
    if (!isReplica(n)) line += this.slotsText(n);
    if (n.myself && !n.master) {
      for (const [s, t] of [...this.migrating].sort((x, y) => x[0] - y[0])) line += ` [${s}->-${t.id}]`;
      for (const [s, f] of [...this.importing].sort((x, y) => x[0] - y[0])) line += ` [${s}-<-${f.id}]`;
    }
    return line;
  }

  nodesText(usePport = false, skipHandshake = false): string {
    const lines: string[] = [];
    for (const n of this.nodes.values()) if (!(skipHandshake && n.handshake)) lines.push(this.describe(n, usePport));
    return lines.join("\n") + "\n";
  }

  /**
   * nodes.conf: every node but those still in a handshake (clusterSaveConfig). Written in
   * place as Redis does: the new text over the old from offset 0, padded with newlines to the
   * old length, then truncated. A temporary file renamed over nodes.conf made ext4 start
   * writing the new file's blocks out on every rename (its auto_da_alloc), about 1 ms on an
   * idle disk and far more under load; a reshard saves on every node for every slot moved.
   */
  save(forceSync = false): void {
    const text = Buffer.from(this.nodesText(false, true) + `vars currentEpoch ${this.currentEpoch} lastVoteEpoch ${this.lastVoteEpoch}\n`);
    const fd = openSync(this.file, constants.O_WRONLY | constants.O_CREAT, 0o644);
    try {
      const old = fstatSync(fd).size;
      // Padded to the old length, so no tail of the old text is left after ours, even if the
      // truncate fails.
      const out = old > text.length ? Buffer.concat([text, Buffer.alloc(old - text.length, 0x0a)]) : text;
      if (writeSync(fd, out, 0, out.length, 0) !== out.length) throw new Error(`short write to ${this.file}`);
      const durable = this.durableKey();
      if (forceSync || this.slotsFromBus || durable !== this.syncedKey) {
        this.syncFile(fd);
        this.syncedKey = durable;
        this.slotsFromBus = false;
      }
      if (out.length !== text.length) {
        try { ftruncateSync(fd, text.length); } catch { /* not critical: the padding is blank lines */ }
      }
    } finally {
      closeSync(fd);
    }
  }

  /** What the last fsync of nodes.conf held of durableKey ("" before the first save). */
  private syncedKey = "";

  /**
   * A peer's claim moved a slot here since the last save (clusterUpdateSlotsConfigWith, set by
   * the bus): the next save fsyncs. A slot moved by a command (ADDSLOTS, SETSLOT) does not:
   * Redis saves those without fsync, and a reshard sends SETSLOT NODE to every master for every
   * slot, each waiting for its save before the reply (an fsync took ~8 ms on this loaded disk).
   */
  slotsFromBus = false;

  /**
   * Redis fsyncs nodes.conf (CLUSTER_TODO_FSYNC_CONFIG) when what a restart must not lose
   * changed: an epoch (its own bump or collision, a failover's election, a peer's greater
   * configEpoch), a vote (lastVoteEpoch), slot owners taken from the bus (slotsFromBus), its
   * own role (CLUSTER REPLICATE, a failover), a reset; plain saves (a ping time, a new node,
   * ADDSLOTS, SETSLOT) are not synced. We sync when one of those fields differs from the last
   * synced save, and on CLUSTER SAVECONFIG and the first save (clusterInit).
   */
  private durableKey(): string {
    const me = this.myself;
    let key = `${this.currentEpoch}|${this.lastVoteEpoch}|${me ? `${me.master?.id ?? ""}${me.unknownMaster ? "?" : ""}` : ""}`;
    // A node added or learnt without an epoch yet changes nothing here.
    for (const n of this.nodes.values()) if (n.configEpoch) key += `|${n.id}:${n.configEpoch}`;
    return key;
  }

  /** fsync (a seam for test/cluster/config-fsync.test.ts). */
  protected syncFile(fd: number): void {
    fsyncSync(fd);
  }

  /** Loads nodes.conf; returns myself, or undefined when the file holds no node. */
  private load(text: string): ClusterNode | undefined {
    let me: ClusterNode | undefined;
    const slotLines: [ClusterNode, string[]][] = [];
    const masters: [ClusterNode, string][] = [];
    for (const raw of text.split("\n")) {
      const f = raw.trim().split(/\s+/);
      if (f.length < 2) continue;
      if (f[0] === "vars") {
        for (let i = 1; i + 1 < f.length; i += 2) {
          if (f[i] === "currentEpoch") this.currentEpoch = Number(f[i + 1]);
          if (f[i] === "lastVoteEpoch") this.lastVoteEpoch = Number(f[i + 1]);
        }
        continue;
      }
      if (f.length < 8) throw new Error(`Unrecoverable error: corrupted cluster config file "${raw}".`);
      const m = /^(.*):(\d+)@(\d+)(?:,(.*))?$/.exec(f[1]);
      if (!m) throw new Error(`Unrecoverable error: corrupted cluster config file "${raw}".`);
      const n = this.addNode(f[0], m[1], Number(m[2]), Number(m[3]));
      n.hostname = m[4] ?? "";
      const flags = f[2].split(",");
      n.myself = flags.includes("myself");
      n.configEpoch = Number(f[6]);
      if (n.myself) me = n;
      if (f[3] !== "-") masters.push([n, f[3]]);
      // "slave -": a replica whose master was unknown when this file was saved; myself too
      // (clusterLoadConfig keeps the flag with slaveof NULL).
      else if (flags.includes("slave")) n.unknownMaster = true;
      slotLines.push([n, f.slice(8)]);
    }
    for (const [n, id] of masters) {
      n.master = this.nodes.get(id) ?? null;
      if (n.master) n.master.migrateTo = true;
      else n.unknownMaster = true;
    }
    for (const [n, slots] of slotLines) {
      for (const s of slots) {
        const mig = /^\[(\d+)-([<>])-(\w+)\]$/.exec(s);
        if (mig) {
          const other = this.nodes.get(mig[3]);
          if (other) (mig[2] === ">" ? this.migrating : this.importing).set(Number(mig[1]), other);
          continue;
        }
        const [a, b] = s.split("-").map(Number);
        for (let x = a; x <= (b ?? a); x++) this.assign(x, n);
      }
    }
    return me;
  }
}

/**
 * Range lists longer than this are walked again rather than updated per slot (bumpRanges):
 * an update copies the list (a few us at this length), a walk reads all 16384 owners (~50 us).
 * The bound keeps a bulk assignment of alternating slots from copying ever longer lists.
 */
const RANGES_KEPT = 2048;

/** Updates of a node's cached ranges that no read came between before the cache is dropped. */
const UNREAD_KEPT = 32;

/** The index of the first range of r that ends at or after slot (r.length if none). */
function rangeAt(r: [number, number][], slot: number): number {
  let lo = 0, hi = r.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (r[mid][1] < slot) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sorted disjoint ranges r with slot (not in r) added, merged with its neighbours. */
function withSlot(r: [number, number][], slot: number): [number, number][] {
  const i = rangeAt(r, slot);
  const prev = i > 0 && r[i - 1][1] === slot - 1;
  const next = i < r.length && r[i][0] === slot + 1;
  const out = r.slice(0, prev ? i - 1 : i);
  if (prev && next) out.push([r[i - 1][0], r[i][1]]);
  else if (prev) out.push([r[i - 1][0], slot]);
  else if (next) out.push([slot, r[i][1]]);
  else out.push([slot, slot]);
  for (let j = next ? i + 1 : i; j < r.length; j++) out.push(r[j]);
  return out;
}

/** Sorted disjoint ranges r with slot (in r) taken out, its range split if need be. */
function withoutSlot(r: [number, number][], slot: number): [number, number][] {
  const i = rangeAt(r, slot);
  if (i === r.length || r[i][0] > slot) return r;
  const [a, b] = r[i];
  const out = r.slice(0, i);
  if (a < slot) out.push([a, slot - 1]);
  if (slot < b) out.push([slot + 1, b]);
  for (let j = i + 1; j < r.length; j++) out.push(r[j]);
  return out;
}

/** A replica, of a master we know or not (Redis's nodeIsSlave). */
export function isReplica(n: ClusterNode): boolean {
  return n.master !== null || n.unknownMaster === true;
}

function newNode(id: string, ip: string, port: number, cport: number): ClusterNode {
  return { id, ip, port, pport: 0, cport, configEpoch: 0, myself: false, pongReceived: 0, dataReceived: 0, pingSent: 0, pfail: false, fail: false, handshake: false,
    master: null, replOffset: 0, failTime: 0, votedTime: 0,
    hostname: "", meet: false, migrateTo: false, unknownMaster: false, noFailover: false, orphanedTime: 0, group: "", crdtPort: 0 };
}
