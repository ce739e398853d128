// The cluster bus: how nodes learn about each other, agree on slot ownership and notice a
// node that stopped answering. It listens on cluster-port (default port + 10000, where
// redis-cli --cluster and CLUSTER MEET expect it) and speaks Redis Cluster's own binary bus
// protocol (src/cluster/wire.ts: clusterMsg, version 1), so redis-server 7.0 nodes and
// LatticeKV nodes can be members of one cluster. With tls-cluster yes it is TLS both ways (the
// transport is BusHooks' createListener and dial: src/server/tls.ts), and `port` is a node's
// tls-port, `pport` its plain-text one.
//
// Messages: MEET / PING are answered with a PONG on the same connection; every message's
// header carries the sender (id, ports, flags, configEpoch, the slots it claims, its master),
// the sender's currentEpoch; PING/PONG/MEET carry gossip: other nodes it knows and whether
// it suspects them (PFAIL/FAIL flags). The epochs are taken from every message's header, the
// sender's role and slots only from a PING/PONG/MEET's (Redis does the same).
// Rules, as Redis's cluster.c:
//   - a node unknown to us is accepted only through MEET, or through gossip from a node we
//     already know (then we MEET it);
//   - a slot claimed by a node with a greater configEpoch than its current owner's moves to
//     it (clusterUpdateSlotsConfigWith); a node's own claim is authoritative for its slots;
//   - two masters with the same configEpoch: the one with the smaller id keeps it, the
//     other takes a new epoch (clusterHandleConfigEpochCollision);
//   - a node that did not answer a ping for cluster-node-timeout is suspected (PFAIL), and
//     marked failed (FAIL) once a majority of the masters suspect it; the node that sees the
//     majority tells everyone (a FAIL message);
//   - a replica announces its master (and advertises its master's slots and configEpoch);
//     a master whose slots all went to a node with a greater configEpoch (its replica won a
//     failover) becomes that node's replica (clusterUpdateSlotsConfigWith);
//   - a node that claims slots we know to belong to a node with a greater configEpoch is sent
//     an UPDATE about that node, so a master returning after a failover learns of it;
//   - failover elections (AUTH_REQUEST / AUTH_ACK) and manual failover (MFSTART) are
//     src/cluster/failover.ts's; the bus carries them.
import net from "node:net";
import tls from "node:tls";
import { randomBytes } from "node:crypto";
import type { ClusterNode, ClusterState } from "./state.js";
import { CLUSTER_SLOTS, isReplica } from "./state.js";
import { log } from "../server/log.js";
import { listenAll, type ListenerGroup } from "../server/listeners.js";
import { decode, encode, FrameReader, WireError, TYPE_NUMBER, NODE_MASTER, NODE_SLAVE, NODE_PFAIL, NODE_FAIL,
  NODE_MYSELF, NODE_NOFAILOVER, NODE_MIGRATE_TO, NODE_NOADDR, type Message, type MessageType, type WireNode,
  type WireSender } from "./wire.js";
export type { Message, MessageType, WireSender } from "./wire.js";

/** What the bus needs from the rest of the cluster code (src/cluster/cluster.ts). */
export interface BusHooks {
  changed(): void;
  /** This node's replication offset (master_repl_offset, or what a replica applied). */
  replOffset(): number;
  /** A node's address changed (nodeUpdateAddressIfNeeded): our master's means a new replication target. */
  addressChanged(node: ClusterNode): void;
  /** This node lost its last slot to `master`: become its replica (clusterSetMaster). */
  becomeReplicaOf(master: ClusterNode): void;
  /** Keys of db 0 in slot: counted, or deleted when the slot was lost with keys in it. */
  countKeysInSlot(slot: number): number;
  deleteKeysInSlot(slot: number): void;
  /** Failover messages and header fields (src/cluster/failover.ts). */
  onHeader(sender: ClusterNode, msg: Message): void;
  onAuthRequest(sender: ClusterNode, msg: Message, reply: () => void): void;
  onAuthAck(sender: ClusterNode, msg: Message): void;
  onMfStart(sender: ClusterNode): void;
  /** Flags and fields this node's header carries now. */
  headerFlags(): { paused?: boolean; forceAck?: boolean; group?: string; crdtPort?: number; hostname?: string };
  /** cluster-announce-ip ("" when unset: peers take the address our messages come from). */
  announcedIp(): string;
  /** cluster_state as this node sees it, for the header's state byte. */
  clusterOk(): boolean;
  /** Runs after the bus's own periodic work (failover, the replica's link). */
  cron(now: number): void;
  /** cluster-allow-replica-migration: a master emptied by slot moves follows their new owner. */
  allowReplicaMigration(): boolean;
  /** cluster-link-sendbuf-limit (bytes, 0: none). */
  linkSendBufLimit(): number;
  /** A PUBLISH (or SPUBLISH, shard) another node propagated: deliver it to our subscribers. */
  onPublish(channel: Buffer, message: Buffer, shard: boolean): void;
  /** A listening socket whose connections go to onSocket (TLS with tls-cluster yes). */
  createListener(onSocket: (socket: net.Socket) => void): net.Server;
  /** An outgoing link to a node's bus port (TLS with tls-cluster yes). */
  dial(port: number, host: string): net.Socket;
}

interface Link { socket: net.Socket; node: ClusterNode; connected: boolean; createTime: number }
/** A connection a peer opened to us; `node` once a message says who it is (Redis's inbound_link). */
interface InboundLink { socket: net.Socket; node: ClusterNode | null; createTime: number }

/** One row of CLUSTER LINKS. */
export interface LinkInfo { direction: "to" | "from"; node: string; createTime: number; events: string; sendBufferAllocated: number; sendBufferUsed: number }

export class ClusterBus {
  private listeners?: ListenerGroup;
  private readonly links = new Map<ClusterNode, Link>();
  private readonly inbound = new Map<net.Socket, InboundLink>();
  /** Links freed because their send buffer passed cluster-link-sendbuf-limit (CLUSTER INFO). */
  linksBufferLimitExceeded = 0;
  private timer?: NodeJS.Timeout;
  /** node -> reporter -> when it last reported the node as suspected. */
  private readonly failReports = new Map<ClusterNode, Map<ClusterNode, number>>();
  private readonly lastConnect = new Map<ClusterNode, number>();
  /** DEBUG DROP-CLUSTER-PACKET-FILTER: received messages of this Redis type number are dropped (-1: none). */
  dropFilter = -1;

  constructor(private readonly state: ClusterState, private readonly nodeTimeout: () => number,
              private readonly hooks: BusHooks) {}

  /** Listens on `port` at every address of `bind` (Redis's listenToPort for the bus). */
  async listen(bind: string, port: number): Promise<void> {
    this.listeners = await listenAll(() => this.hooks.createListener((sock) => this.accept(sock)), port, bind, "TCP");
    // The cron runs in the check phase of the loop turn its timer fires in (setImmediate), that
    // is after that turn has read the sockets: when this process was busy or starved for a
    // while, the PONGs that arrived meanwhile are taken before any node is judged by them.
    // Run straight from the timer (which Node runs before reading input), the cron suspected
    // every node whose answer was still unread, and enough masters doing so at once marked
    // healthy nodes FAIL (Tcl "Create a 5 nodes cluster" under load: a replica won a failover
    // mid-setup and the helper's next CLUSTER REPLICATE was refused).
    this.timer = setInterval(() => setImmediate(() => this.cron()), 100);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const l of this.links.values()) l.socket.destroy();
    for (const s of this.inbound.keys()) s.destroy();
    void this.listeners?.close();
  }

  /** CLUSTER MEET: start a handshake with the node at ip:port (bus port cport). */
  meet(ip: string, port: number, cport: number): void {
    // Only a handshake already under way with that address is not started again
    // (clusterHandshakeInProgress): a known node's address may now be another node's.
    for (const n of this.state.nodes.values()) if (n.handshake && n.ip === ip && n.port === port) return;
    const n = this.state.addNode(randomBytes(20).toString("hex"), ip, port, cport);
    n.handshake = true;
    n.meet = true;
    this.connect(n);
  }

  /** Nodes CLUSTER FORGET removed, until when gossip may not add them back (Redis's nodes_black_list). */
  private readonly forgotten = new Map<string, number>();

  /** CLUSTER FORGET: gossip from nodes that still know it does not add it back for 60 s. */
  blacklist(id: string): void {
    const now = Date.now();
    for (const [k, until] of this.forgotten) if (until <= now) this.forgotten.delete(k);
    this.forgotten.set(id, now + 60_000);
  }

  /** CLUSTER FORGET / RESET: drop the link to a node. */
  forget(node: ClusterNode): void {
    for (const l of [...this.inbound.values()]) if (l.node === node) l.socket.destroy();
    this.links.get(node)?.socket.destroy();
    this.links.delete(node);
    // Its reports about others go too (clusterDelNode).
    this.failReports.delete(node);
    for (const reports of this.failReports.values()) reports.delete(node);
    this.lastConnect.delete(node);
  }

  /** DEBUG CLUSTERLINK KILL: frees our link to node ("to"), the one it opened to us ("from"), or both. */
  freeLinks(node: ClusterNode, dir: "to" | "from" | "all"): void {
    if (dir !== "from") {
      const l = this.links.get(node);
      if (l) {
        this.links.delete(node);
        l.socket.destroy();
      }
    }
    if (dir !== "to") {
      for (const l of [...this.inbound.values()]) {
        if (l.node !== node) continue;
        this.inbound.delete(l.socket);
        l.socket.destroy();
      }
    }
  }

  /** CLUSTER COUNT-FAILURE-REPORTS: nodes that recently reported `node` as suspected. */
  failureReports(node: ClusterNode): number {
    return this.reportsAbout(node, Date.now())?.size ?? 0;
  }

  /**
   * The reports about n still valid, the ones older than 2 x cluster-node-timeout dropped
   * (clusterNodeCleanupFailureReports). A report otherwise goes only when its reporter's
   * gossip says n is fine again, or the reporter is forgotten; a message from n itself
   * removes none.
   */
  private reportsAbout(n: ClusterNode, now: number): Map<ClusterNode, number> | undefined {
    const reports = this.failReports.get(n);
    if (!reports) return undefined;
    const validity = this.nodeTimeout() * 2;
    for (const [reporter, at] of reports) if (now - at > validity) reports.delete(reporter);
    return reports;
  }

  linkCount(): number { return this.links.size + this.inbound.size; }

  /** CLUSTER LINKS: per node, our link to it and the one it opened to us (clusterReplyLinks). */
  linksInfo(): LinkInfo[] {
    const out: LinkInfo[] = [];
    const row = (direction: "to" | "from", node: ClusterNode, socket: net.Socket, createTime: number): LinkInfo => ({
      direction, node: node.id, createTime, events: socket.writableLength > 0 ? "rw" : "r",
      sendBufferAllocated: socket.writableLength, sendBufferUsed: socket.writableLength,
    });
    const from = new Map<ClusterNode, InboundLink>();
    for (const l of this.inbound.values()) if (l.node) from.set(l.node, l);
    for (const n of this.state.nodes.values()) {
      if (n.myself) continue;
      const to = this.links.get(n);
      if (to) out.push(row("to", n, to.socket, to.createTime));
      const inb = from.get(n);
      if (inb) out.push(row("from", n, inb.socket, inb.createTime));
    }
    return out;
  }

  /**
   * Frees links whose unsent bytes passed cluster-link-sendbuf-limit (a peer that stopped
   * reading): clusterNodeCronFreeLinkOnBufferLimitReached. Our own link is made again.
   */
  private freeLinksOverLimit(): void {
    const limit = this.hooks.linkSendBufLimit();
    if (limit <= 0) return;
    for (const l of [...this.links.values()]) {
      if (l.socket.writableLength <= limit) continue;
      this.linksBufferLimitExceeded++;
      log("warning", `Freeing cluster link(to node ${l.node.id}), used memory: ${l.socket.writableLength}`);
      this.links.delete(l.node);
      l.socket.destroy();
    }
    for (const l of [...this.inbound.values()]) {
      if (l.socket.writableLength <= limit) continue;
      this.linksBufferLimitExceeded++;
      this.inbound.delete(l.socket);
      l.socket.destroy();
    }
  }

  /** Whether our link to node is up (Redis's node->link != NULL). */
  linked(node: ClusterNode): boolean { return this.links.get(node)?.connected ?? false; }

  /** Sends a message to every node we have a link to (clusterBroadcastMessage). */
  broadcast(type: MessageType, extra: Partial<Message> = {}): void {
    // One encoding for every link (a reshard broadcasts a PONG per imported slot).
    let bytes: Buffer | null = null;
    for (const link of this.links.values()) {
      if (!link.connected || link.node.handshake) continue;
      bytes ??= this.build(type, extra);
      this.sendBytes(link, type, bytes);
    }
  }

  /**
   * PUBLISH in cluster mode reaches every node's subscribers (clusterPropagatePublish);
   * SPUBLISH only the nodes of this shard: its master and the master's replicas.
   */
  publish(channel: Buffer, message: Buffer, shard: boolean): void {
    const extra: Partial<Message> = { publish: { channel, message } };
    if (!shard) return this.broadcast("publish", extra);
    const master = this.state.myself.master ?? this.state.myself;
    for (const n of this.state.nodes.values()) {
      if (!n.myself && (n === master || n.master === master)) this.sendTo(n, "publishshard", extra);
    }
  }

  /** Sends a message to one node over our link to it, if it is up. */
  sendTo(node: ClusterNode, type: MessageType, extra: Partial<Message> = {}): void {
    const link = this.links.get(node);
    if (link?.connected) this.send(link, type, extra);
  }

  // ---- periodic work (Redis's clusterCron) --------------------------------------------------

  /** When the cron last ran: a much later run means this process itself was stalled. */
  private lastCron = 0;

  private cron(): void {
    const now = Date.now();
    const timeout = this.nodeTimeout();
    // After a stall of our own event loop (a long command, a starved process) the answers to
    // our pings may be waiting unread in the sockets: suspect no node before reading them.
    const stalled = this.lastCron > 0 && now - this.lastCron > Math.min(1000, timeout / 2);
    this.lastCron = now;
    this.freeLinksOverLimit();
    // Once a second (every 10th run) one node gets a ping: of 5 picked at random, the one
    // with no ping pending whose last pong is oldest (clusterCron). With the half-timeout
    // pings below this is all the bus traffic Redis makes, so it grows with the node count
    // as Redis's does: pinging every node each second flooded 20-node clusters under load.
    if (++this.iteration % 10 === 0) this.pingOneRandom();
    for (const n of [...this.state.nodes.values()]) {
      if (n.myself) continue;
      // A handshake that did not complete in the node timeout (at least 1 s) is given up, as
      // Redis's clusterCron does, whether or not a connection was ever made.
      if (n.handshake && n.pingSent && now - n.pingSent > Math.max(timeout, 1000)) {
        this.forget(n);
        this.state.removeNode(n);
        this.hooks.changed();
        continue;
      }
      const link = this.links.get(n);
      if (!link) {
        // Reconnect at most twice a second; the unanswered "ping" starts the failure clock.
        if (now - (this.lastConnect.get(n) ?? 0) >= 500) this.connect(n);
        if (!n.pingSent) n.pingSent = now;
      } else if (link.connected) {
        // A link whose ping went unanswered for half the node timeout, with nothing else heard
        // from the node, is made again (clusterCron frees it): the peer may have lost its
        // side of the connection, and a fresh link gets a fresh ping.
        if (!n.handshake && n.pingSent && now - link.createTime > timeout && now - n.pingSent > timeout / 2 &&
            now - n.dataReceived > timeout / 2) {
          this.links.delete(n);
          link.socket.destroy();
          continue;
        }
        // No ping pending and the last pong older than half the node timeout: ping it now, so
        // every node is pinged within that time whatever the random pick does.
        if (n.pingSent === 0 && now - n.pongReceived > timeout / 2) this.send(link, n.meet ? "meet" : "ping");
      }
      // Any message from the node is proof of life too (Redis's data_received): a PONG may
      // queue behind a lot of traffic on a busy link.
      if (!stalled && n.pingSent && now - Math.max(n.pingSent, n.dataReceived) > timeout && !n.pfail && !n.fail &&
          !n.handshake) {
        n.pfail = true;
        log("notice", `*** NODE ${n.id} possibly failing`);
        this.hooks.changed();
      }
      this.checkFailure(n, now);
    }
    this.hooks.cron(now);
  }

  /** How many times the cron has run (Redis's clusterCron `iteration`). */
  private iteration = 0;

  /** Pings the node, of 5 sampled at random, whose pong is oldest (clusterCron's random ping). */
  private pingOneRandom(): void {
    const nodes = [...this.state.nodes.values()];
    let pick: ClusterNode | null = null;
    for (let j = 0; j < 5 && nodes.length; j++) {
      const n = nodes[Math.floor(Math.random() * nodes.length)];
      const link = this.links.get(n);
      // Not nodes without a link up, with a ping pending, ourselves or in handshake.
      if (!link?.connected || n.pingSent !== 0 || n.myself || n.handshake) continue;
      if (!pick || n.pongReceived < pick.pongReceived) pick = n;
    }
    if (pick) this.send(this.links.get(pick)!, pick.meet ? "meet" : "ping");
  }

  /**
   * Marks a suspected node failed once a majority of the masters serving slots suspect it
   * (this node counts itself when it is a master), and tells every node (markNodeAsFailingIfNeeded).
   */
  private checkFailure(n: ClusterNode, now: number): void {
    if (!n.pfail || n.fail) return;
    let votes = isReplica(this.state.myself) ? 0 : 1;
    for (const reporter of this.reportsAbout(n, now)?.keys() ?? []) if (!isReplica(reporter)) votes++;
    const needed = Math.floor(this.state.size() / 2) + 1;
    if (votes >= needed) {
      n.fail = true;
      n.pfail = false;
      n.failTime = now;
      log("notice", `Marking node ${n.id} as failing (quorum reached).`);
      this.broadcast("fail", { about: n.id });
      this.hooks.changed();
    }
  }

  /** A failed node we hear from again (clearNodeFailureIfNeeded). */
  private clearFailureIfNeeded(n: ClusterNode, now: number): void {
    const slots = this.state.numSlots(n);
    if (n.master || slots === 0) {
      log("notice", `Clear FAIL state for node ${n.id}: ${n.master ? "replica" : "master without slots"} is reachable again.`);
      n.fail = false;
    } else if (now - n.failTime > this.nodeTimeout() * 2) {
      // Nobody took its slots over in the meantime: it serves them again.
      log("notice", `Clear FAIL state for node ${n.id}: is reachable again and nobody is serving its slots after some time.`);
      n.fail = false;
    }
  }

  // ---- links ------------------------------------------------------------------------------

  private connect(n: ClusterNode): void {
    this.lastConnect.set(n, Date.now());
    const socket = this.hooks.dial(n.cport, n.ip);
    const link: Link = { socket, node: n, connected: false, createTime: Date.now() };
    this.links.set(n, link);
    socket.setNoDelay(true);
    // A TLS link is usable once its handshake is done (the peer checked our certificate).
    socket.on(socket instanceof tls.TLSSocket ? "secureConnect" : "connect", () => {
      link.connected = true;
      // A ping still unanswered from before the reconnect keeps its time (clusterLinkConnectHandler):
      // a link made again and again must not keep a node from being suspected.
      const pending = n.pingSent;
      this.send(link, n.meet ? "meet" : "ping");
      if (pending) n.pingSent = pending;
    });
    this.readFrames(socket, (msg) => this.receive(msg, socket, n));
    const drop = () => {
      if (this.links.get(n) === link) this.links.delete(n);
    };
    socket.on("error", drop);
    socket.on("close", drop);
  }

  private accept(socket: net.Socket): void {
    this.inbound.set(socket, { socket, node: null, createTime: Date.now() });
    socket.setNoDelay(true);
    this.readFrames(socket, (msg) => this.receive(msg, socket, null));
    socket.on("error", () => this.inbound.delete(socket));
    socket.on("close", () => this.inbound.delete(socket));
  }

  /** Splits a link's bytes into messages (clusterReadHandler + clusterProcessPacket's checks). */
  private readFrames(socket: net.Socket, onMessage: (m: Message) => void): void {
    // The peer's address, worked out once per link rather than per message (~1% of an idle
    // cluster node's CPU).
    let from: string | undefined;
    const reader = new FrameReader((frame) => {
      let msg: Message;
      try {
        msg = decode(frame, from ??= peerIp(socket));
      } catch (e) {
        // A message of another version or with a wrong length is ignored, as Redis does.
        if (e instanceof WireError) { log("warning", e.message); return; }
        throw e;
      }
      onMessage(msg);
    }, (e) => {
      log("warning", e.message);
      socket.destroy();
    });
    socket.on("data", (d: Buffer) => reader.push(d));
  }

  private header(): WireSender {
    const st = this.state;
    const me = st.myself;
    // A replica advertises its master's slots and configEpoch (clusterBuildMessageHdr).
    const owner = me.master ?? me;
    return {
      id: me.id, ip: me.ip, port: me.port, pport: me.pport, cport: me.cport, configEpoch: st.epochOf(me),
      slots: st.claimRangesOf(owner), master: me.master?.id ?? null, offset: this.hooks.replOffset(),
      flags: nodeFlags(me), state: this.hooks.clusterOk() ? 0 : 1,
      ...this.hooks.headerFlags(),
      ...(me.noFailover ? { noFailover: true } : {}),
    };
  }

  private send(link: Link | net.Socket, type: MessageType, extra: Partial<Message> = {}): void {
    this.sendBytes(link, type, this.build(type, extra));
  }

  private sendBytes(link: Link | net.Socket, type: MessageType, bytes: Buffer): void {
    if ("socket" in link && (type === "ping" || type === "meet")) link.node.pingSent = Date.now();
    bump(this.state.stats.sent, type);
    const socket = "socket" in link ? link.socket : link;
    if (!this.corked.has(socket)) {
      if (this.corked.size === 0) setImmediate(() => this.flushWrites());
      socket.cork();
      this.corked.add(socket);
    }
    socket.write(bytes);
  }

  /**
   * Links written to in this loop turn, corked until its check phase. Redis queues a bus
   * message in the link's send buffer and writes it when the socket is next writable, after
   * beforeSleep has sent the clients' replies. Written at once, CLUSTER SETSLOT NODE's PONG
   * to 19 peers went out before its reply: each loopback write wakes the peer, which on a
   * busy machine takes the CPU from us, so redis-cli --cluster reshard waited ~4 ms per slot
   * on that command (Redis: 0.1 ms). The bytes stay counted in writableLength meanwhile
   * (CLUSTER LINKS, cluster-link-sendbuf-limit).
   */
  private readonly corked = new Set<net.Socket>();

  private flushWrites(): void {
    const sockets = [...this.corked];
    this.corked.clear();
    for (const s of sockets) s.uncork();
  }

  /** A message's bytes: our header, and for PING/PONG/MEET a gossip section (gossipSection). */
  private build(type: MessageType, extra: Partial<Message>): Buffer {
    const gossip = type === "ping" || type === "pong" || type === "meet" ? this.gossipSection() : [];
    const msg: Message = { type, sender: this.header(), currentEpoch: this.state.currentEpoch, gossip, ...extra };
    return encode(msg, this.hooks.announcedIp());
  }

  /**
   * Which nodes a PING/PONG/MEET tells about, as Redis's clusterSendPing: a tenth of the known
   * nodes (at least 3, at most all but us and the receiver) picked at random, leaving out nodes
   * in a handshake and nodes with neither a link nor slots; then every node we suspect
   * (PFAIL), so that failure reports spread fast. Failure detection needs no more: each node
   * pings every other, and a suspected node is in every message.
   */
  private gossipSection(): WireNode[] {
    const all = [...this.state.nodes.values()];
    let fresh = all.length - 2;
    let wanted = Math.max(3, Math.floor(all.length / 10));
    if (wanted > fresh) wanted = fresh;
    const chosen = new Set<ClusterNode>();
    for (let tries = wanted * 3; fresh > 0 && chosen.size < wanted && tries > 0; tries--) {
      const n = all[Math.floor(Math.random() * all.length)];
      if (n.myself || n.pfail || chosen.has(n)) continue;
      if (n.handshake || (!this.links.has(n) && this.state.numSlots(n) === 0)) {
        fresh--;
        continue;
      }
      chosen.add(n);
      fresh--;
    }
    for (const n of all) if (n.pfail && !n.myself && !n.handshake) chosen.add(n);
    const out: WireNode[] = [];
    for (const n of chosen) {
      out.push({ id: n.id, ip: n.ip, port: n.port, pport: n.pport, cport: n.cport, flags: nodeFlags(n),
        pingSent: Math.floor(n.pingSent / 1000), pongReceived: Math.floor(n.pongReceived / 1000) });
    }
    return out;
  }

  // ---- receiving --------------------------------------------------------------------------

  private receive(msg: Message, socket: net.Socket, linkNode: ClusterNode | null): void {
    const st = this.state;
    if (this.dropFilter >= 0 && TYPE_NUMBER[msg.type] === this.dropFilter) {
      log("warning", "Dropping packet that matches debug drop filter");
      return;
    }
    bump(st.stats.received, msg.type);
    let sender = st.nodes.get(msg.sender.id);
    let handshakeDone = false;
    if (linkNode?.handshake && msg.type === "pong") {
      // Our MEET was answered: the node's real id replaces the handshake's random one.
      const known = st.nodes.get(msg.sender.id);
      if (known && known !== linkNode) {
        // We already know the node: it may be at the address we just met it at.
        this.forget(linkNode);
        st.removeNode(linkNode);
        sender = known;
        if (!known.myself) this.updateAddressIfNeeded(known, msg.sender);
      } else {
        st.renameNode(linkNode, msg.sender.id);
        sender = linkNode;
        handshakeDone = true;
      }
    }
    if (sender?.myself) return;
    // The address other nodes reach us at, learnt from the socket a MEET arrived on, unless
    // cluster-announce-ip says it (Redis: "We use incoming MEET messages in order to set the
    // address for 'myself'").
    if (msg.type === "meet" && !this.hooks.announcedIp()) {
      const local = (socket.localAddress ?? "").replace(/^::ffff:/, "");
      if (local && local !== st.myself.ip) {
        st.myself.ip = local;
        log("warning", `IP address for this node updated to ${local}`);
      }
    }
    if (!sender) {
      // Only MEET introduces an unknown node, but a PING is answered anyway (Redis's "Anyway
      // reply with a PONG"): the sender knows us, and an unanswered ping would leave its link
      // silent (no further pings) and us suspected.
      if (msg.type === "ping") this.send(socket, "pong");
      if (msg.type !== "meet") return;
      // As Redis: the node joins as a handshake node under a random name; our own link to it
      // PINGs it, and its PONG gives the real name. Nothing else of this MEET is taken.
      const ip = msg.sender.ip || peerIp(socket);
      const hs = st.addNode(randomBytes(20).toString("hex"), ip, wirePort(msg.sender.port), wirePort(msg.sender.cport));
      hs.pport = wirePort(msg.sender.pport);
      hs.handshake = true;
      log("notice", `Node at ${ip}:${hs.port} met us: handshake started`);
      this.send(socket, "pong");
      this.hooks.changed();
      return;
    }
    // A PING on a link the node opened says where it is now (a restart on another port, a
    // CONFIG SET cluster-announce-*port): Redis's nodeUpdateAddressIfNeeded.
    if (msg.type === "ping" && linkNode === null) this.updateAddressIfNeeded(sender, msg.sender);
    // Not saved in nodes.conf: every header says it again.
    sender.pport = wirePort(msg.sender.pport);
    if (linkNode === null) this.setInboundNode(socket, sender);
    if (msg.type === "meet" || msg.type === "ping") this.send(socket, "pong");
    const now = Date.now();
    sender.dataReceived = now;
    // Only a PONG on our own link answers our PING (Redis: `!link->inbound && type == PONG`).
    // Counting the node's own PINGs to us as answers would let whichever node pings first keep
    // the other from pinging at all, and a node learns a peer's new address only from that
    // peer's PINGs (nodeUpdateAddressIfNeeded): a CONFIG SET cluster-announce-port could go
    // unseen for seconds.
    if (msg.type === "pong" && linkNode !== null) {
      sender.pongReceived = now;
      sender.pingSent = 0;
      sender.meet = false;
      sender.pfail = false;
      if (sender.fail) this.clearFailureIfNeeded(sender, now);
    }
    // The PONG that ends a handshake only names the node: Redis looks its sender up before the
    // rename, finds none, and takes no configuration (slots, role, epochs, gossip) from it; the
    // node's next message brings that.
    if (handshakeDone) {
      this.hooks.changed();
      return;
    }
    // Every message's header: the epochs and the replication offset.
    if (msg.currentEpoch > st.currentEpoch) st.currentEpoch = msg.currentEpoch;
    if (msg.sender.configEpoch > sender.configEpoch) sender.configEpoch = msg.sender.configEpoch;
    sender.replOffset = Number(msg.sender.offset) || 0;
    // The sender's role, the slots it claims, its no-failover flag and its gossip only from a
    // PING, PONG or MEET, as Redis's clusterProcessPacket ("PING, PONG, MEET: process config
    // information"). A FAIL, UPDATE, PUBLISH or failover message may have waited in a send
    // buffer behind the sender's newer PINGs, or come from a node that changed since; its
    // header would take a role or slots back.
    const config = msg.type === "ping" || msg.type === "pong" || msg.type === "meet";
    if (config) {
      sender.noFailover = msg.sender.noFailover === true;
      this.updateRole(sender, msg.sender.master);
    }
    this.hooks.onHeader(sender, msg);
    // Only a master's header claims slots: a replica's advertises its master's, and one whose
    // master we do not know yet is still no master (Redis takes the role from the header).
    if (config && !sender.master && msg.sender.master === null) {
      const claimed = clampRanges(msg.sender.slots);
      // Most messages claim what we already know: skip the per-slot work then.
      if (!sameRanges(claimed, st.claimRangesOf(sender))) {
        this.updateSlotsConfigWith(sender, msg.sender.configEpoch, claimed);
        this.tellStaleClaimer(sender, msg.sender.configEpoch, claimed, socket);
      }
      this.handleEpochCollision(sender);
    }
    if (config) for (const g of msg.gossip ?? []) this.gossipAbout(sender, g, now);
    switch (msg.type) {
      case "fail": {
        const failing = msg.about ? st.nodes.get(msg.about) : undefined;
        if (failing && !failing.fail && !failing.myself) {
          log("notice", `FAIL message received from ${sender.id} about ${failing.id}`);
          failing.fail = true;
          failing.pfail = false;
          failing.failTime = now;
        }
        break;
      }
      case "update": {
        const u = msg.update;
        const n = u ? st.nodes.get(u.id) : undefined;
        if (u && n && !n.myself && n.configEpoch < u.configEpoch) {
          if (isReplica(n)) n.migrateTo = true; // a promoted replica (clusterSetNodeAsMaster)
          n.master = null;
          n.unknownMaster = false;
          n.configEpoch = u.configEpoch;
          this.updateSlotsConfigWith(n, u.configEpoch, clampRanges(u.slots));
        }
        break;
      }
      case "auth-req":
        this.hooks.onAuthRequest(sender, msg, () => this.send(socket, "auth-ack"));
        break;
      case "auth-ack":
        this.hooks.onAuthAck(sender, msg);
        break;
      case "mfstart":
        this.hooks.onMfStart(sender);
        break;
      case "publish":
      case "publishshard":
        if (msg.publish) this.hooks.onPublish(msg.publish.channel, msg.publish.message, msg.type === "publishshard");
        break;
    }
    this.hooks.changed();
  }

  /**
   * An inbound connection belongs to the node whose messages arrive on it; a newer one from
   * the same node replaces the older (setClusterNodeToInboundClusterLink).
   */
  private setInboundNode(socket: net.Socket, node: ClusterNode): void {
    const link = this.inbound.get(socket);
    if (!link || link.node === node) return;
    for (const other of [...this.inbound.values()]) {
      if (other !== link && other.node === node) {
        this.inbound.delete(other.socket);
        other.socket.destroy();
      }
    }
    link.node = node;
  }

  /**
   * The node says it is at another address than we know (its header's myip, or else the
   * address its message came from, and its ports): take it, and drop our link to the old
   * address so that the cron connects to the new one. Whether it changed.
   */
  private updateAddressIfNeeded(n: ClusterNode, h: WireSender): boolean {
    const port = wirePort(h.port), cport = wirePort(h.cport), pport = wirePort(h.pport);
    if (!h.ip || (n.ip === h.ip && n.port === port && n.cport === cport && n.pport === pport)) return false;
    this.moveNode(n, h.ip, port, cport, pport);
    log("warning", `Address updated for node ${n.id}, now ${n.ip}:${n.port}`);
    return true;
  }

  private moveNode(n: ClusterNode, ip: string, port: number, cport: number, pport: number): void {
    n.ip = ip;
    n.port = port;
    n.cport = cport;
    n.pport = pport;
    const l = this.links.get(n);
    if (l) {
      this.links.delete(n);
      l.socket.destroy();
    }
    this.hooks.addressChanged(n);
    this.hooks.changed();
  }

  /** The sender announces itself as a master, or as the replica of a node we know. */
  private updateRole(sender: ClusterNode, masterId: string | null): void {
    const st = this.state;
    if (masterId === null) {
      // A promoted replica is a replica-migration target (clusterSetNodeAsMaster).
      if (isReplica(sender)) sender.migrateTo = true;
      sender.master = null;
      sender.unknownMaster = false;
      return;
    }
    const master = st.nodes.get(masterId);
    if (!master) {
      // A replica of a node we do not know (forgotten, or not learnt yet): it serves no slots
      // (Redis's clusterDelNodeSlots for a master turned replica). Before, its header's slots,
      // its master's, became its own: 27-endpoints' isolated node listed shard-2's replica as
      // the shard's master, without shard-2's hostname. A master it had before stays its
      // master, as in Redis; without one it is "slave -" (slaveof NULL).
      if (st.numSlots(sender) > 0) for (let s = 0; s < CLUSTER_SLOTS; s++) if (st.owner[s] === sender) st.assign(s, null);
      if (!sender.master) sender.unknownMaster = true;
      return;
    }
    sender.unknownMaster = false;
    if (master === sender || master === sender.master) return;
    if (!sender.master) {
      // A master turned into a replica: it serves no slots any more (clusterDelNodeSlots).
      for (let s = 0; s < CLUSTER_SLOTS; s++) if (st.owner[s] === sender) st.assign(s, null);
    }
    sender.master = master;
    master.migrateTo = true; // clusterNodeAddSlave
  }

  /**
   * Slots a master claims move to it from owners with a smaller configEpoch (Redis's
   * clusterUpdateSlotsConfigWith). If this node (or the master it replicates) loses its
   * last slot that way, it becomes the claimer's replica: its replica won a failover.
   */
  private updateSlotsConfigWith(sender: ClusterNode, epoch: number, claimed: [number, number][]): void {
    const st = this.state;
    const curMaster = st.myself.master ?? st.myself;
    let newMaster: ClusterNode | null = null;
    const dirty: number[] = [];
    let senderSlots = 0;
    let migratedOurSlots = 0;
    for (const [a, b] of claimed) for (let s = a; s <= b; s++) {
      senderSlots++;
      const cur = st.owner[s];
      // A member of the owner's active-active group serves the slot too: no conflict.
      if (cur === sender || (cur !== null && st.sameGroup(cur, sender))) continue;
      // A slot being imported is settled by hand (CLUSTER SETSLOT NODE), as in Redis.
      if (st.importing.has(s)) continue;
      if (cur === null || cur.configEpoch < epoch) {
        if (cur === st.myself) {
          log("notice", `Slot ${s} now belongs to ${sender.id} (configEpoch ${epoch})`);
          if (this.hooks.countKeysInSlot(s) > 0) dirty.push(s);
        }
        if (cur === curMaster) {
          newMaster = sender;
          migratedOurSlots++;
        }
        st.assign(s, sender);
        st.slotsFromBus = true;
      }
    }
    // A slot the sender no longer claims keeps its owner here until a node with a greater
    // configEpoch claims it, as in Redis: unassigning it would open a window after
    // CLUSTER SETSLOT NODE in which a message the sender sent before its own SETSLOT
    // leaves the slot unowned (cluster_state:fail) until the sender's next ping.
    // An emptied master follows the new owner when replica migration is allowed, or when
    // the new owner took exactly our slots (a failover: its replica won).
    if (newMaster && st.numSlots(curMaster) === 0 &&
        (this.hooks.allowReplicaMigration() || senderSlots === migratedOurSlots)) {
      log("warning", `Configuration change detected. Reconfiguring myself as a replica of ${sender.id}`);
      this.hooks.becomeReplicaOf(sender);
    } else if (st.myself.master?.master && st.myself.master.master !== st.myself) {
      // Our master turned replica: follow its master rather than chain (no sub-replicas).
      this.hooks.becomeReplicaOf(st.myself.master.master);
    } else if (dirty.length && !st.myself.master) {
      // Still a master of other slots: the keys of the slots we lost go.
      for (const s of dirty) this.hooks.deleteKeysInSlot(s);
    }
  }

  /** A master claims slots we know a newer owner of: tell it (Redis's UPDATE message). */
  private tellStaleClaimer(sender: ClusterNode, epoch: number, claimed: [number, number][], socket: net.Socket): void {
    const st = this.state;
    for (const [a, b] of claimed) for (let s = a; s <= b; s++) {
      const cur = st.owner[s];
      if (cur === null || st.sameGroup(cur, sender) || cur.configEpoch <= epoch) continue;
      this.send(socket, "update", { update: { id: cur.id, configEpoch: cur.configEpoch, slots: st.rangesOf(cur) } });
      return;
    }
  }

  private handleEpochCollision(sender: ClusterNode): void {
    const me = this.state.myself;
    if (me.master || sender.configEpoch !== me.configEpoch || me.id < sender.id) return;
    if (!this.state.numSlots(me) || !this.state.numSlots(sender)) return;
    this.state.currentEpoch++;
    me.configEpoch = this.state.currentEpoch;
    log("notice", `WARNING: configEpoch collision with node ${sender.id}. configEpoch set to ${me.configEpoch}`);
  }

  private gossipAbout(reporter: ClusterNode, g: WireNode, now: number): void {
    const st = this.state;
    if (g.id === st.myself.id) return;
    let n = st.nodes.get(g.id);
    if (!n) {
      // Introduced by a node we know: added under its own name, unless we were told to
      // forget it lately. Our link PINGs it, not MEETs it (Redis 7.0's
      // clusterProcessGossipSection adds it with the gossiped flags, no CLUSTER_NODE_MEET):
      // a node that does not know us yet answers a PING with a PONG and takes nothing from
      // it, so it learns of us only from gossip in turn. 27-endpoints' isolated node, whose
      // PINGs are dropped by DEBUG DROP-CLUSTER-PACKET-FILTER 0, must not learn a shard's
      // slots from a MEET that filter lets through.
      // No check of the address: a handshake node may hold it (a CLUSTER MEET of that node
      // not answered yet), and the node is added beside it, as Redis does.
      if ((this.forgotten.get(g.id) ?? 0) > now || (g.flags ?? 0) & NODE_NOADDR) return;
      n = st.addNode(g.id, g.ip, g.port, g.cport);
      n.pport = wirePort(g.pport);
      // Its role is the gossiped one until its own header says more (createClusterNode with the
      // gossiped flags): a replica is "slave -" and owns nothing, whatever its master's slots.
      if ((g.flags ?? 0) & NODE_SLAVE) n.unknownMaster = true;
      this.connect(n);
      return;
    }
    // A node we cannot reach, seen healthy at another address by a node that can: try that
    // address (clusterProcessGossipSection).
    const gflags = g.flags ?? 0;
    if ((n.pfail || n.fail) && !(gflags & NODE_NOADDR) && !g.pfail && g.ip &&
        (n.ip !== g.ip || n.port !== g.port || n.cport !== g.cport)) {
      this.moveNode(n, g.ip, g.port, g.cport, wirePort(g.pport));
    }
    // Only masters' opinions count towards marking a node failed.
    if (isReplica(reporter)) return;
    if (g.pfail) {
      let reports = this.failReports.get(n);
      if (!reports) this.failReports.set(n, (reports = new Map()));
      reports.set(reporter, now);
      this.checkFailure(n, now);
    } else {
      this.failReports.get(n)?.delete(reporter);
    }
  }
}

/** A node's CLUSTER_NODE_* flags as the bus header and gossip entries carry them. */
function nodeFlags(n: ClusterNode): number {
  let f = isReplica(n) ? NODE_SLAVE : NODE_MASTER;
  if (n.myself) f |= NODE_MYSELF;
  if (n.pfail && !n.fail) f |= NODE_PFAIL;
  if (n.fail) f |= NODE_FAIL;
  if (n.noFailover) f |= NODE_NOFAILOVER;
  if (n.migrateTo) f |= NODE_MIGRATE_TO;
  return f;
}

/** The address a peer's socket comes from (an IPv4-mapped IPv6 address as plain IPv4). */
function peerIp(socket: net.Socket): string {
  return (socket.remoteAddress ?? "").replace(/^::ffff:/, "");
}

/** A peer's slot ranges, kept within 0..16383. */
function clampRanges(ranges: [number, number][] | undefined): [number, number][] {
  const out: [number, number][] = [];
  for (const r of Array.isArray(ranges) ? ranges : []) {
    const a = Math.max(0, Number(r[0]) | 0), b = Math.min(CLUSTER_SLOTS - 1, Number(r[1]) | 0);
    if (a <= b) out.push([a, b]);
  }
  return out;
}

/** A port field from a peer: 0..65535, 0 when absent or malformed. */
function wirePort(p: unknown): number {
  const n = Number(p);
  return Number.isInteger(n) && n > 0 && n <= 65535 ? n : 0;
}

function sameRanges(x: [number, number][], y: [number, number][]): boolean {
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i][0] !== y[i][0] || x[i][1] !== y[i][1]) return false;
  return true;
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}
