// Active-active groups (the cluster's layout (b)): `cluster-group <name>` puts a node in a
// replication group. Every member of a group is a master that serves the group's slots and
// accepts writes for them; the members replicate to one another through the CRDT layer
// (src/replication/), never with PSYNC. Clients may write to any member.
//
//   - Slot ownership (state.ts): a slot's owner is still one node, but a claim by a member of
//     the owner's group is not a conflict: every member claims, serves and shows the group's
//     slots, and no member deletes keys or turns replica because a group peer claimed them.
//   - CRDT discovery: each node announces its group and CRDT bus port in its cluster bus
//     header; a node links (CRDT.PEER ADD's addPeer) to every member of its group it hears of,
//     and moves the link when a restarted member announces a new port. A member starts its
//     CRDT replication itself when redis.conf did not (crdt-bus-port, default: a free port,
//     since port + 10000 is the cluster bus's).
//   - Failover: nothing moves. A member that stops answering is marked fail? / fail as any
//     node; the cluster stays ok while one member of each group is not failed; MOVED and
//     CLUSTER SLOTS name a member we can reach (our bus link and, for our own group, the
//     CRDT link to it are up) ahead of one we cannot, so a client leaves a dead member at
//     once, without an election.
//   - Migration: a slot moving to another group is announced to the group by the member
//     running it, whose peers send the slot's commands there meanwhile (group-migration.ts).
//   - Topology: CLUSTER SLOTS lists each group's ranges once, the member a client should use
//     first (this node for its own group) then the other members; CLUSTER NODES shows every
//     member as a master with the group's slots; CLUSTER SHARDS one shard per group.
import type { Server } from "../server/server.js";
import type { ClusterNode, ClusterState } from "./state.js";
import type { ClusterBus, Message } from "./bus.js";
import { ActiveActive } from "../replication/active-active.js";
import { log } from "../server/log.js";

export class ReplicationGroup {
  /** This node's group ("": none). */
  readonly name: string;
  /** node id -> the CRDT bus address we linked to for it. */
  private readonly linked = new Map<string, { host: string; port: number }>();

  constructor(private readonly server: Server, private readonly state: ClusterState,
              private readonly bus: () => ClusterBus | undefined) {
    this.name = ActiveActive.directive(server, "cluster-group") ?? "";
  }

  get active(): boolean { return this.name !== ""; }

  /** At start-up (after nodes.conf): mark ourselves and make sure CRDT replication runs. */
  async start(bindHost: string | undefined): Promise<void> {
    const me = this.state.myself;
    me.group = this.name;
    if (!this.active) return;
    if (!this.server.crdt) {
      const aa = new ActiveActive(this.server, ActiveActive.defaultNodeId(this.server, ActiveActive.directive(this.server, "crdt-node-id") ?? ""));
      await aa.listen(bindHost, Number(ActiveActive.directive(this.server, "crdt-bus-port") ?? 0));
      this.server.crdt = aa;
    }
    me.crdtPort = this.server.crdt.busPort;
    this.state.groupsVersion++;
    log("notice", `Active-active group ${this.name}: CRDT bus port ${me.crdtPort}`);
  }

  /** Fields of our bus header: the group and where our CRDT bus listens. */
  headerFields(): { group?: string; crdtPort?: number } {
    if (!this.active) return {};
    return { group: this.name, crdtPort: this.server.crdt?.busPort ?? 0 };
  }

  /** A bus message's header: learn the sender's group; link to its CRDT bus if it is ours. */
  onHeader(sender: ClusterNode, msg: Message): void {
    const group = typeof msg.sender.group === "string" ? msg.sender.group : "";
    const port = Number(msg.sender.crdtPort) | 0;
    if ((sender.group ?? "") !== group) {
      sender.group = group;
      this.state.groupsVersion++;
    }
    sender.crdtPort = port;
    if (!this.active || group !== this.name || port <= 0 || port > 65535 || !this.server.crdt) return;
    const old = this.linked.get(sender.id);
    if (old && old.host === sender.ip && old.port === port) return;
    // A member restarted on a new CRDT port: its old incarnation is gone for good.
    if (old) this.server.crdt.forgetPeer(old.host, old.port);
    this.server.crdt.addPeer(sender.ip, port);
    this.linked.set(sender.id, { host: sender.ip, port });
    log("notice", `Active-active group ${this.name}: replicating with ${sender.id} at ${sender.ip}:${port}`);
  }

  /** A node was forgotten (CLUSTER FORGET / RESET): drop its CRDT link. */
  forget(node: ClusterNode): void {
    const old = this.linked.get(node.id);
    if (!old) return;
    this.server.crdt?.forgetPeer(old.host, old.port);
    this.linked.delete(node.id);
  }

  /** Whether we can reach n now: bus link up, not suspected; for our group, the CRDT link up. */
  reachable(n: ClusterNode): boolean {
    if (n.myself) return true;
    if (n.fail || n.pfail || !this.bus()?.linked(n)) return false;
    const l = this.linked.get(n.id);
    if (l && this.server.crdt) return this.server.crdt.links.get(`${l.host}:${l.port}`)?.connected ?? false;
    return true;
  }

  /**
   * The members serving owner's slots, the one a client should use first at the head: this
   * node for its own group, else the owner if reachable, else the first reachable member.
   */
  servers(owner: ClusterNode): ClusterNode[] {
    const members = this.state.membersOf(owner);
    if (members.length === 1) return members;
    const rank = (n: ClusterNode) => (n.myself ? 0 : this.reachable(n) ? (n === owner ? 1 : 2) : 3);
    return members.map((n, i) => ({ n, i })).sort((a, b) => rank(a.n) - rank(b.n) || a.i - b.i).map((x) => x.n);
  }

  /** Where MOVED sends a client for owner's slots. */
  target(owner: ClusterNode): ClusterNode {
    return this.servers(owner)[0];
  }
}
