// Moving a slot out of an active-active group (group.ts) while clients write to any member.
//
// Redis's migration (SETSLOT MIGRATING / IMPORTING, MIGRATE, SETSLOT NODE) assumes one node
// takes a slot's writes. In a group every member does, and replicates them to the others
// asynchronously (CRDT). A write a member took while its group peer was moving the slot's keys
// could reach that peer after the slot's last key had left: the key stayed behind on the
// source group, in a slot it no longer served (lost to readers), or redis-cli's SETSLOT NODE
// found it there and stopped the reshard ("Can't assign hashslot N to a different node while
// I still hold keys for this hash slot").
//
// So the member running the migration (the runner: SETSLOT MIGRATING was sent to it) makes
// the slot's writes serialize through itself before any key moves:
//   1. It announces the slot on the cluster bus (the LATTICE_MOVES ping extension, wire.ts:
//      its migrating slots and a sequence number raised for each new one) and sends its group
//      peers a PONG at once.
//   2. A peer that reads the announcement stops serving the slot (the kernel is told before
//      the next command runs) and answers its commands with -MOVED to the runner; then it
//      answers: the runner's sequence it has acted on, and the cut time of its latest CRDT
//      batch (every write it made, the slot's included, is in a batch cut at or before it).
//   3. SETSLOT MIGRATING replies only once every group peer not marked FAIL has answered the
//      new sequence and the runner's CRDT state holds that peer's writes up to its cut (the
//      replication layer's `applied`). From then on no write of the slot can arrive from
//      the group, so the keys GETKEYSINSLOT lists are all there are, and MIGRATE moves them.
//      A peer that does not answer within twice cluster-node-timeout (its link is down but it
//      is not marked FAIL) makes SETSLOT MIGRATING fail: the slot is not left migrating.
//   4. A peer keeps redirecting the slot to the runner until the slot leaves the group in its
//      own view (SETSLOT NODE, or the new owner's claim), so the slot never comes back to it
//      between the runner's hand-off and the news of the new owner; or until the runner no
//      longer lists it while still claiming it (SETSLOT STABLE: cancelled); or the runner is
//      marked FAIL.
// On the importing group the target takes the keys (RESTORE-ASKING) and the writes sent to it
// with ASKING; its peers receive them by CRDT replication, later. A peer that served the slot
// as soon as it heard of the new owner could answer for a moved key before the key reached it
// (a read finding nothing, an INCR or APPEND starting from nothing that then wins over the
// moved value). So:
//   5. When a slot passes from another group to a peer of ours (the importer's claim, or
//      SETSLOT NODE), we redirect it to that peer (-MOVED) until we hold the peer's writes up
//      to the cut its first header claiming the slot carries (that header was built after it
//      took the slot, so the cut covers every key it imported). The importer is not held up.
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import type { ClusterNode, ClusterState } from "./state.js";
import type { ClusterBus, Message } from "./bus.js";
import type { WireMoves } from "./wire.js";
import { log } from "../server/log.js";

interface Waiter { client: Client; slot: number; seq: number; deadline: number }

/** How often a blocked SETSLOT MIGRATING looks at the group's answers and the CRDT state (ms). */
const CHECK_MS = 5;

export class GroupMigration {
  /** Our migration sequence: raised whenever a slot starts migrating out of the group here. */
  private seq = 0;
  /** Per group peer (node id): its latest answer to our sequence, its cut then and its CRDT id. */
  private readonly answers = new Map<string, { seq: number; cut: number; crdtId: string }>();
  /** Per group peer (node id): the latest of its sequences we have acted on (our answer). */
  private readonly seen = new Map<string, number>();
  /** Clients blocked in SETSLOT MIGRATING until the group's writes of the slot are all here. */
  private readonly waiters = new Set<Waiter>();
  private timer: NodeJS.Timeout | undefined;
  /**
   * Slots a peer of ours imported from another group, served here once we hold its writes up
   * to `cut` (undefined until its first header claiming the slot) (step 5).
   */
  private readonly catchingUp = new Map<number, { from: ClusterNode; cut: number | undefined }>();
  /** Per group peer (node id): the slots its latest header lists as migrating, and its CRDT id. */
  private readonly peerMoves = new Map<string, { slots: Set<number>; crdtId: string }>();

  constructor(private readonly server: Server, private readonly state: ClusterState,
              private readonly bus: () => ClusterBus | undefined,
              /** Pushes what this node serves to the kernels (Cluster.changed), at once. */
              private readonly changed: () => void) {}

  private get active(): boolean { return !!this.state.myself.group && !!this.server.crdt; }

  /** Our group peers (the other members of our group). */
  private peers(): ClusterNode[] {
    return this.state.membersOf(this.state.myself).filter((n) => !n.myself);
  }

  /** Our LATTICE_MOVES extension: what we migrate and our answers to our peers' migrations. */
  headerFields(): { moves?: WireMoves } {
    const crdt = this.server.crdt;
    if (!this.state.myself.group || !crdt) return {};
    return {
      moves: {
        seq: this.seq, cut: crdt.gossip.latestCut, crdtId: crdt.rep.nodeId,
        slots: [...this.state.migrating.keys()],
        acks: [...this.seen].map(([peer, seq]) => ({ peer, seq })),
      },
    };
  }

  /**
   * SETSLOT MIGRATING was just set here: announces it to the group. Returns true when the
   * client is blocked until the group's writes of the slot have all reached us (step 3).
   */
  migrating(client: Client, slot: number): boolean {
    if (!this.active) return false;
    const peers = this.peers();
    if (peers.length === 0) return false;
    this.seq = Math.max(this.seq + 1, Date.now());
    const bus = this.bus();
    for (const p of peers) bus?.sendTo(p, "pong");
    // In MULTI (or a script) a command cannot block: the answer comes at once, unguarded.
    if (client.denyBlocking || this.holds(this.seq)) return false;
    const timeout = Math.max(2 * this.server.config.getNumber("cluster-node-timeout"), 2000);
    client.blocked = true;
    this.waiters.add({ client, slot, seq: this.seq, deadline: Date.now() + timeout });
    this.timer ??= setInterval(() => this.check(), CHECK_MS);
    return true;
  }

  /** Every group peer not marked FAIL has answered seq, and its writes up to its cut are in our CRDT state. */
  private holds(seq: number): boolean {
    const applied = this.server.crdt?.gossip.applied;
    if (!applied) return true;
    for (const p of this.peers()) {
      if (p.fail) continue;
      const a = this.answers.get(p.id);
      if (!a || a.seq < seq || (applied.get(a.crdtId) ?? 0) < a.cut) return false;
    }
    return true;
  }

  private check(): void {
    const now = Date.now();
    for (const w of [...this.waiters]) {
      const c = w.client;
      if (c.closed) { this.waiters.delete(w); continue; }
      if (this.holds(w.seq)) {
        this.finish(w, null);
      } else if (now > w.deadline) {
        const waiting = this.peers().filter((p) => !p.fail && (this.answers.get(p.id)?.seq ?? 0) < w.seq).map((p) => p.id);
        // Not left migrating: the peers that did hear of it stop redirecting once we list it no more.
        this.state.migrating.delete(w.slot);
        this.changed();
        for (const p of this.peers()) this.bus()?.sendTo(p, "pong");
        log("warning", `Slot ${w.slot}: group peers ${waiting.join(", ") || "(their writes)"} did not confirm the migration in time`);
        this.finish(w, `ERR Slot ${w.slot} not migrating: not every member of group ${this.state.myself.group} confirmed ` +
          "that its writes of the slot reached this node (its link is down?)");
      }
    }
    if (this.waiters.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private finish(w: Waiter, error: string | null): void {
    this.waiters.delete(w);
    const c = w.client;
    c.blocked = false;
    if (error === null) c.reply.ok();
    else c.reply.error(error);
    c.flushAndMaybeClose();
    c.resumeInput();
  }

  /** A group peer's PING/PONG/MEET: its migrations (steps 2 and 4) and its answers to ours. */
  onHeader(sender: ClusterNode, msg: Message): void {
    const st = this.state;
    if (!this.active || sender.myself || !st.sameGroup(sender, st.myself)) return;
    // (A header without LATTICE_MOVES, or with one we could not read, says nothing about the
    // sender's migrations: its runs are left as they are, and a slot it imported is not
    // waited for, as there is no cut to wait for.)
    const moves = msg.sender.moves;
    const listed = new Set(moves?.slots ?? []);
    if (moves) this.peerMoves.set(sender.id, { slots: listed, crdtId: moves.crdtId });
    let servedChanged = false;
    for (const [slot, runner] of st.groupMoving) {
      if (runner !== sender) continue;
      const imported = this.catchingUp.get(slot);
      if (imported) {
        // (step 5: the first header claiming the slot gives the cut to wait for)
        if (imported.cut === undefined && claims(msg.sender.slots, slot)) imported.cut = moves?.cut ?? 0;
        continue;
      }
      // No longer listed: cancelled if the runner still claims the slot, else handed off
      // (kept until the slot leaves our group here: cron).
      if (moves && !listed.has(slot) && claims(msg.sender.slots, slot)) {
        st.groupMoving.delete(slot);
        servedChanged = true;
      }
    }
    for (const slot of listed) {
      if (st.groupMoving.get(slot) === sender) continue;
      const owner = st.owner[slot];
      if (!owner || !st.sameGroup(owner, st.myself)) continue;
      st.groupMoving.set(slot, sender);
      servedChanged = true;
    }
    if (this.caughtUp()) servedChanged = true;
    // The kernels stop serving the slot before any further command runs here.
    if (servedChanged) this.changed();
    if (!moves) return;
    const mine = moves.acks.find((a) => a.peer === st.myself.id);
    if (mine) this.answers.set(sender.id, { seq: mine.seq, cut: moves.cut, crdtId: moves.crdtId });
    if (moves.seq > (this.seen.get(sender.id) ?? 0)) {
      // Our answer, now: this PONG's cut covers every write we took before redirecting.
      this.seen.set(sender.id, moves.seq);
      this.bus()?.sendTo(sender, "pong");
    }
    if (this.waiters.size > 0) this.check();
  }

  /** A slot passed from another group to `peer`, of ours (ClusterState.assign): step 5. */
  slotJoinedGroup(slot: number, peer: ClusterNode): void {
    if (!this.active) return;
    this.catchingUp.set(slot, { from: peer, cut: undefined });
    this.state.groupMoving.set(slot, peer);
    // Its answer's header claims the slot and carries the cut (the header that told us may
    // have, but it is read before the claims it carries).
    this.bus()?.sendTo(peer, "ping");
  }

  /** Serves again the imported slots whose importer's writes we now hold up to its cut; whether any. */
  private caughtUp(): boolean {
    const applied = this.server.crdt?.gossip.applied;
    let any = false;
    for (const [slot, e] of this.catchingUp) {
      if (e.cut === undefined) continue;
      const crdtId = this.peerMoves.get(e.from.id)?.crdtId ?? "";
      if ((applied?.get(crdtId) ?? 0) < e.cut) continue;
      this.catchingUp.delete(slot);
      // (unless the importer is already migrating it out again)
      if (!this.peerMoves.get(e.from.id)?.slots.has(slot)) this.state.groupMoving.delete(slot);
      any = true;
    }
    return any;
  }

  /**
   * Periodic: serves the imported slots caught up (step 5); forgets migrations whose slot left
   * our group or whose runner failed (step 4), and nodes gone.
   */
  cron(): void {
    const st = this.state;
    let servedChanged = this.caughtUp();
    for (const [slot, runner] of st.groupMoving) {
      const owner = st.owner[slot];
      if (!owner || !st.sameGroup(owner, st.myself) || runner.fail || st.nodes.get(runner.id) !== runner) {
        st.groupMoving.delete(slot);
        this.catchingUp.delete(slot);
        servedChanged = true;
      }
    }
    for (const slot of this.catchingUp.keys()) if (!st.groupMoving.has(slot)) this.catchingUp.delete(slot);
    if (servedChanged) this.changed();
    for (const id of this.answers.keys()) if (!st.nodes.has(id)) this.answers.delete(id);
    for (const id of this.seen.keys()) if (!st.nodes.has(id)) this.seen.delete(id);
    for (const id of this.peerMoves.keys()) if (!st.nodes.has(id)) this.peerMoves.delete(id);
  }
}

function claims(ranges: [number, number][], slot: number): boolean {
  return ranges.some(([a, b]) => slot >= a && slot <= b);
}
