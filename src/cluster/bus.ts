// The cluster bus: how nodes learn about each other, agree on slot ownership and notice a
// node that stopped answering. It listens on cluster-port (default port + 10000, where
// redis-cli --cluster and CLUSTER MEET expect it) and speaks newline-delimited JSON, not
// Redis's binary bus format: only LatticeKV nodes talk on it, clients never do.
//
// Messages (one JSON object per line):
//   meet / ping  -> answered with pong on the same connection
//   every message carries the sender (id, address, configEpoch, the slot ranges it claims),
//   the sender's currentEpoch, and gossip: the other nodes it knows and whether it
//   suspects them (pfail).
// Rules, as Redis's cluster.c:
//   - a node unknown to us is accepted only through meet, or through gossip from a node we
//     already know (then we handshake with it);
//   - a slot claimed by a node with a greater configEpoch than its current owner's moves to
//     it (clusterUpdateSlotsConfigWith); a node's own claim is authoritative for its slots;
//   - two masters with the same configEpoch: the one with the smaller id keeps it, the
//     other takes a new epoch (clusterHandleConfigEpochCollision);
//   - a node that did not answer a ping for cluster-node-timeout is suspected (fail?), and
//     marked failed (fail) once a majority of the slot-owning masters suspect it.
import net from "node:net";
import { randomBytes } from "node:crypto";
import type { ClusterNode, ClusterState } from "./state.js";
import { log } from "../server/log.js";

interface WireNode { id: string; ip: string; port: number; cport: number; pfail?: boolean }
interface Message {
  type: "meet" | "ping" | "pong";
  sender: WireNode & { configEpoch: number; slots: [number, number][] };
  currentEpoch: number;
  gossip: WireNode[];
}

interface Link { socket: net.Socket; node: ClusterNode; connected: boolean }

export class ClusterBus {
  private server?: net.Server;
  private readonly links = new Map<ClusterNode, Link>();
  private readonly inbound = new Set<net.Socket>();
  private timer?: NodeJS.Timeout;
  /** node -> reporter -> when it last reported the node as suspected. */
  private readonly failReports = new Map<ClusterNode, Map<ClusterNode, number>>();
  private readonly lastConnect = new Map<ClusterNode, number>();

  constructor(private readonly state: ClusterState, private readonly nodeTimeout: () => number,
              private readonly onChange: () => void) {}

  async listen(host: string | undefined, port: number): Promise<void> {
    const srv = net.createServer((sock) => this.accept(sock));
    this.server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once("error", reject);
      srv.listen(port, host, () => { srv.off("error", reject); resolve(); });
    });
    this.timer = setInterval(() => this.cron(), 100);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const l of this.links.values()) l.socket.destroy();
    for (const s of this.inbound) s.destroy();
    this.server?.close();
  }

  /** CLUSTER MEET: start a handshake with the node at ip:port (bus port cport). */
  meet(ip: string, port: number, cport: number): void {
    for (const n of this.state.nodes.values()) if (n.ip === ip && n.port === port) return;
    const n = this.state.addNode(randomBytes(20).toString("hex"), ip, port, cport);
    n.handshake = true;
    this.connect(n);
  }

  /** CLUSTER FORGET / RESET: drop the link to a node. */
  forget(node: ClusterNode): void {
    this.links.get(node)?.socket.destroy();
    this.links.delete(node);
    this.failReports.delete(node);
    this.lastConnect.delete(node);
  }

  /** CLUSTER COUNT-FAILURE-REPORTS: nodes that recently reported `node` as suspected. */
  failureReports(node: ClusterNode): number {
    const now = Date.now();
    let n = 0;
    for (const at of this.failReports.get(node)?.values() ?? []) if (now - at <= this.nodeTimeout() * 2) n++;
    return n;
  }

  linkCount(): number { return this.links.size + this.inbound.size; }

  // ---- periodic work (Redis's clusterCron) --------------------------------------------------

  private cron(): void {
    const now = Date.now();
    const timeout = this.nodeTimeout();
    for (const n of [...this.state.nodes.values()]) {
      if (n.myself) continue;
      const link = this.links.get(n);
      if (!link) {
        // Reconnect at most twice a second; the unanswered "ping" starts the failure clock.
        if (now - (this.lastConnect.get(n) ?? 0) >= 500) this.connect(n);
        if (!n.pingSent) n.pingSent = now;
      } else if (link.connected) {
        // A handshake that never completed is given up, as Redis does after the node timeout.
        if (n.handshake && n.pingSent && now - n.pingSent > timeout) {
          this.forget(n);
          this.state.removeNode(n);
          this.onChange();
          continue;
        }
        if (n.pingSent === 0 && now - n.pongReceived > Math.min(1000, timeout / 2)) this.send(link, n.handshake ? "meet" : "ping");
      }
      if (n.pingSent && now - n.pingSent > timeout && !n.pfail && !n.handshake) {
        n.pfail = true;
        log("notice", `*** NODE ${n.id} possibly failing`);
        this.onChange();
      }
      this.checkFailure(n, now);
    }
  }

  /** Marks a suspected node failed once a majority of slot-owning masters suspect it. */
  private checkFailure(n: ClusterNode, now: number): void {
    if (!n.pfail || n.fail) return;
    const reports = this.failReports.get(n);
    let votes = 1; // ourselves
    const validity = this.nodeTimeout() * 2;
    for (const [reporter, at] of reports ?? []) if (now - at <= validity && this.state.slotsOf(reporter).length) votes++;
    const needed = Math.floor(this.state.size() / 2) + 1;
    if (votes >= needed) {
      n.fail = true;
      log("notice", `Marking node ${n.id} as failing (quorum reached).`);
      this.onChange();
    }
  }

  // ---- links ------------------------------------------------------------------------------

  private connect(n: ClusterNode): void {
    this.lastConnect.set(n, Date.now());
    const socket = net.connect(n.cport, n.ip);
    const link: Link = { socket, node: n, connected: false };
    this.links.set(n, link);
    socket.setNoDelay(true);
    socket.on("connect", () => {
      link.connected = true;
      this.send(link, n.handshake ? "meet" : "ping");
    });
    this.readLines(socket, (msg) => this.receive(msg, socket, n));
    const drop = () => {
      if (this.links.get(n) === link) this.links.delete(n);
    };
    socket.on("error", drop);
    socket.on("close", drop);
  }

  private accept(socket: net.Socket): void {
    this.inbound.add(socket);
    socket.setNoDelay(true);
    this.readLines(socket, (msg) => this.receive(msg, socket, null));
    socket.on("error", () => this.inbound.delete(socket));
    socket.on("close", () => this.inbound.delete(socket));
  }

  private readLines(socket: net.Socket, onMessage: (m: Message) => void): void {
    let buf = "";
    socket.on("data", (d) => {
      buf += d.toString("latin1");
      // A peer that sends megabytes without a newline is not a LatticeKV node.
      if (buf.length > 16 << 20) { socket.destroy(); return; }
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let msg: Message;
        try { msg = JSON.parse(line) as Message; } catch { socket.destroy(); return; }
        onMessage(msg);
      }
    });
  }

  private send(link: Link | net.Socket, type: Message["type"]): void {
    const socket = "socket" in link ? link.socket : link;
    const me = this.state.myself;
    const gossip: WireNode[] = [];
    for (const n of this.state.nodes.values()) {
      if (n.myself || n.handshake) continue;
      gossip.push({ id: n.id, ip: n.ip, port: n.port, cport: n.cport, pfail: n.pfail || n.fail });
    }
    const msg: Message = {
      type,
      sender: { id: me.id, ip: me.ip, port: me.port, cport: me.cport, configEpoch: me.configEpoch, slots: this.state.rangesOf(me) },
      currentEpoch: this.state.currentEpoch,
      gossip,
    };
    if ("socket" in link && type !== "pong") link.node.pingSent = Date.now();
    bump(this.state.stats.sent, type);
    socket.write(JSON.stringify(msg) + "\n");
  }

  // ---- receiving --------------------------------------------------------------------------

  private receive(msg: Message, socket: net.Socket, linkNode: ClusterNode | null): void {
    const st = this.state;
    bump(st.stats.received, msg.type);
    let sender = st.nodes.get(msg.sender.id);
    if (linkNode?.handshake && msg.type === "pong") {
      // Our MEET was answered: the node's real id replaces the handshake's random one.
      const known = st.nodes.get(msg.sender.id);
      if (known && known !== linkNode) {
        this.forget(linkNode);
        st.removeNode(linkNode);
        sender = known;
      } else {
        st.renameNode(linkNode, msg.sender.id);
        sender = linkNode;
      }
    }
    if (!sender) {
      if (msg.type !== "meet") return; // only MEET introduces an unknown node
      const ip = msg.sender.ip || (socket.remoteAddress ?? "").replace(/^::ffff:/, "");
      sender = st.addNode(msg.sender.id, ip, msg.sender.port, msg.sender.cport);
      log("notice", `Node ${sender.id} met us at ${ip}:${sender.port}`);
    }
    if (sender.myself) return;
    if (msg.type !== "pong") this.send(socket, "pong");
    const now = Date.now();
    sender.pongReceived = now;
    sender.pingSent = 0;
    if (sender.pfail || sender.fail) log("notice", `Clear FAIL state for node ${sender.id}: is reachable again.`);
    sender.pfail = false;
    sender.fail = false;
    this.failReports.delete(sender);
    if (msg.currentEpoch > st.currentEpoch) st.currentEpoch = msg.currentEpoch;
    sender.configEpoch = msg.sender.configEpoch;
    this.updateSlots(sender, msg.sender.slots);
    this.handleEpochCollision(sender);
    for (const g of msg.gossip) this.gossipAbout(sender, g, now);
    this.onChange();
  }

  private updateSlots(sender: ClusterNode, ranges: [number, number][]): void {
    const st = this.state;
    const claimed = new Set<number>();
    for (const [a, b] of ranges) for (let s = a; s <= b; s++) claimed.add(s);
    for (const s of claimed) {
      const cur = st.owner[s];
      if (cur === sender) continue;
      // A slot being imported here stays ours to settle with CLUSTER SETSLOT NODE.
      if (cur === st.myself && st.importing.has(s)) continue;
      if (cur === null || cur.configEpoch < sender.configEpoch) {
        if (cur === st.myself) log("notice", `Slot ${s} now belongs to ${sender.id} (configEpoch ${sender.configEpoch})`);
        st.assign(s, sender);
      }
    }
    // A slot the sender no longer claims keeps its owner here until a node with a greater
    // configEpoch claims it, as in Redis: unassigning it would open a window after
    // CLUSTER SETSLOT NODE in which a message the sender sent before its own SETSLOT
    // leaves the slot unowned (cluster_state:fail) until the sender's next ping.
  }

  private handleEpochCollision(sender: ClusterNode): void {
    const me = this.state.myself;
    if (sender.configEpoch !== me.configEpoch || me.id < sender.id) return;
    if (!this.state.slotsOf(me).length || !this.state.slotsOf(sender).length) return;
    this.state.currentEpoch++;
    me.configEpoch = this.state.currentEpoch;
    log("notice", `WARNING: configEpoch collision with node ${sender.id}. configEpoch set to ${me.configEpoch}`);
  }

  private gossipAbout(reporter: ClusterNode, g: WireNode, now: number): void {
    const st = this.state;
    if (g.id === st.myself.id) return;
    let n = st.nodes.get(g.id);
    if (!n) {
      // Introduced by a node we know: handshake with it (Redis's clusterStartHandshake).
      for (const x of st.nodes.values()) if (x.ip === g.ip && x.port === g.port) return;
      n = st.addNode(g.id, g.ip, g.port, g.cport);
      this.connect(n);
      return;
    }
    if (g.pfail) {
      let reports = this.failReports.get(n);
      if (!reports) this.failReports.set(n, (reports = new Map()));
      reports.set(reporter, now);
    } else {
      this.failReports.get(n)?.delete(reporter);
    }
  }
}

function bump(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}
