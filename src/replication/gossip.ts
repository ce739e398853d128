// Gossip: how a node's deltas reach its peers, reliably enough, and how replicas that
// missed deltas are repaired. Transport-agnostic: the simulator (test/simulation/) hands
// messages over through a lossy virtual network, peer-link.ts through TCP.
//
// Delta streams. Each local batch (Replicator.onBatch) is queued for every peer with a
// sequence number and sent; the peer applies batches in sequence order (buffering a few
// that arrive early; a stream it meets for the first time starts at the oldest batch the
// sender still holds for it), acknowledges cumulatively, and ignores duplicates. Unacknowledged
// batches are resent with exponential backoff. A stream carries an epoch (chosen at start
// and whenever the backlog is dropped) so a restarted sender or receiver starts afresh.
// The backlog per peer is bounded: when a peer falls too far behind, its backlog is dropped
// and anti-entropy repairs it instead.
//
// Anti-entropy. Periodically a node sends a peer the digests of its slot ranges
// (store.ts). The peer answers with its states for the ranges that differ and asks for
// ours; both join, so the two replicas agree on those ranges. A new, empty node gets a
// streamed full copy this way (every non-empty range differs), sent in chunks.
//
// Merges are joins (idempotent, commutative), so resends, duplicates and the overlap
// between deltas and anti-entropy are harmless.
import { Reader, Writer } from "./codec.js";
import { RANGES } from "./store.js";
import type { Replicator } from "./replicator.js";
import { faultySend, type Delayed } from "./faults.js";

const MSG_DELTA = 1;
const MSG_ACK = 2;
const MSG_DIGEST = 3;
const MSG_RANGES = 4;
/** Reply to a DIGEST whose digests all equal ours: we hold the sender's state as of its clock c0. */
const MSG_SAME = 5;

export interface GossipOptions {
  /** First resend after this many ms without an ack; doubles per try up to maxRetryMs. */
  retryMs: number;
  maxRetryMs: number;
  /** Batches kept per peer before its backlog is dropped (anti-entropy repairs it). */
  maxBacklog: number;
  /** Bytes kept per peer before its backlog is dropped. */
  maxBacklogBytes: number;
  /** Anti-entropy round period (ms); each round compares with one peer. */
  antiEntropyMs: number;
  /** Batches sent but unacknowledged at once (window). */
  window: number;
  /** Keys per anti-entropy chunk. */
  chunkKeys: number;
  /**
   * Tombstone GC waits this long after a removal became stable before collecting it, so a
   * message already in flight then (never delayed longer than this) cannot revive a write.
   */
  gcGraceMs: number;
}

export const DEFAULT_GOSSIP: GossipOptions = {
  retryMs: 200, maxRetryMs: 5000, maxBacklog: 10_000, maxBacklogBytes: 64 << 20, antiEntropyMs: 2000, window: 64, chunkKeys: 512,
  gcGraceMs: 10_000,
};

/** h: our clock when the batch was cut (every write of ours in it is at or below h). */
interface Pending { seq: number; batch: Buffer; sentAt: number; tries: number; h: number }

/**
 * Whether node id a is an older incarnation of the same node as b: ids are
 * `<name>~<incarnation>` and incarnations order by (length, text) — start times in fixed-width
 * base 36 in active-active.ts, counters in the simulator.
 */
export function olderIncarnation(a: string, b: string): boolean {
  const i = a.lastIndexOf("~"), j = b.lastIndexOf("~");
  if (i < 0 || j < 0 || a.slice(0, i) !== b.slice(0, j)) return false;
  const x = a.slice(i + 1), y = b.slice(j + 1);
  return x.length !== y.length ? x.length < y.length : x < y;
}

export class PeerStream {
  epoch: number;
  nextSeq = 1;
  backlog: Pending[] = [];
  backlogBytes = 0;
  ackedSeq = 0;
  lastAckAt = 0;
  droppedBacklogs = 0;
  lastAntiEntropy = 0;
  divergentRanges = 0;
  connected = true;
  /** Resets the transport link (the crdt-link-reset fault point), when it has one. */
  reset?: () => void;

  constructor(readonly id: string, public send: (msg: Buffer) => void, epoch: number) {
    this.epoch = epoch;
  }
}

interface Inbound { epoch: number; expected: number; early: Map<number, Buffer> }

export class Gossip {
  readonly peers = new Map<string, PeerStream>();
  private readonly inbound = new Map<string, Inbound>();
  private aeNext = 0;
  private lastAe = 0;
  private epochCounter: number;
  readonly stats = { sent: 0, resent: 0, received: 0, duplicates: 0, antiEntropyRounds: 0, rangesRepaired: 0 };
  /**
   * Per peer (by link key, kept after CRDT.PEER DEL so a removed peer that comes back is
   * still waited for): our clock c0 of the latest anti-entropy round that found the peer's
   * state equal to ours — it holds all our writes up to c0.
   */
  readonly covered = new Map<string, number>();
  /** Stability known here: node -> every replica holds that node's writes below this (gc.ts). */
  readonly stable = new Map<string, number>();
  /** Stability learned but not yet past the grace period: [learned at, node, ts]. */
  private stableLog: [number, string, number][] = [];
  /** Per peer link: the node id that last answered MSG_SAME (a change means it restarted). */
  private readonly peerIds = new Map<string, string>();
  /** Node ids a GC sweep asked about, not known to be departed (findDeparted looks at them). */
  private readonly unknownIds = new Set<string>();
  /** Incarnations seen replaced -> our clock when we noticed. */
  private readonly departed = new Map<string, number>();
  /** Stability past the grace period: what garbage collection uses. */
  readonly gcStable = new Map<string, number>();

  constructor(readonly rep: Replicator, private readonly now: () => number,
              readonly opts: GossipOptions = DEFAULT_GOSSIP, epochSeed = Math.floor(now())) {
    this.epochCounter = epochSeed;
    rep.onBatch = (b) => this.broadcast(b);
  }

  addPeer(id: string, send: (msg: Buffer) => void): PeerStream {
    const existing = this.peers.get(id);
    if (existing) { existing.send = send; return existing; }
    const p = new PeerStream(id, send, ++this.epochCounter);
    this.peers.set(id, p);
    if (!this.covered.has(id)) this.covered.set(id, 0);
    this.antiEntropyWith(p); // a new peer (or a new node) converges at once
    return p;
  }

  removePeer(id: string): void {
    this.peers.delete(id);
  }

  /**
   * Drops a peer from the tombstone-GC quorum too (CRDT.PEER FORGET): collection no longer
   * waits for it. Only for a node that will never come back with its old data — if it does,
   * what was collected meanwhile can come back with it. Returns whether it was in the quorum.
   */
  forgetPeer(id: string): boolean {
    this.peers.delete(id);
    this.peerIds.delete(id);
    const had = this.covered.delete(id);
    let min = Infinity;
    for (const c of this.covered.values()) min = Math.min(min, c);
    if (min > 0 && min < Infinity) this.learnStable(this.rep.nodeId, min);
    return had;
  }

  private broadcast(batch: Buffer): void {
    const now = this.now();
    for (const p of this.peers.values()) {
      const item: Pending = { seq: p.nextSeq++, batch, sentAt: 0, tries: 0, h: this.rep.hlc.current };
      p.backlog.push(item);
      p.backlogBytes += batch.length;
      if (p.backlog.length > this.opts.maxBacklog || p.backlogBytes > this.opts.maxBacklogBytes) {
        this.dropBacklog(p);
        continue;
      }
      if (p.backlog.length <= this.opts.window) this.sendDelta(p, item, now);
    }
  }

  /** The peer is too far behind: forget its backlog, start a new stream epoch, repair by anti-entropy. */
  private dropBacklog(p: PeerStream): void {
    p.backlog = [];
    p.backlogBytes = 0;
    p.epoch = ++this.epochCounter;
    p.nextSeq = 1;
    p.ackedSeq = 0;
    p.droppedBacklogs++;
    this.antiEntropyWith(p);
  }

  private sendDelta(p: PeerStream, item: Pending, now: number): void {
    const w = new Writer();
    // base: the oldest batch the peer has not acknowledged. A receiver that meets this stream
    // (epoch) for the first time starts from base, not from whichever batch arrives first,
    // so a lost first batch is waited for, not skipped: one node's deltas apply in order.
    const base = p.backlog.length ? p.backlog[0].seq : item.seq;
    w.u8(MSG_DELTA); w.f64(p.epoch); w.f64(item.seq); w.f64(base); w.bytes(item.batch);
    if (item.tries > 0) this.stats.resent++; else this.stats.sent++;
    item.sentAt = now;
    item.tries++;
    this.out(p.send, w.done(), p.reset);
  }

  /** Messages held back by the crdt-delay-message fault point, in due order. */
  private held: Delayed[] = [];

  /** Every message leaves through here: the replication fault points (faults.ts) act on it. */
  private out(send: (m: Buffer) => void, msg: Buffer, reset?: () => void): void {
    faultySend(send, msg, this.now(), (d) => { this.held.push(d); this.held.sort((a, b) => a.due - b.due); }, reset);
  }

  /** Resends overdue batches and runs anti-entropy rounds; call periodically. */
  tick(): void {
    const now = this.now();
    while (this.held.length && this.held[0].due <= now) { const d = this.held.shift()!; d.send(d.msg); }
    for (const p of this.peers.values()) {
      const n = Math.min(p.backlog.length, this.opts.window);
      for (let i = 0; i < n; i++) {
        const item = p.backlog[i];
        const wait = Math.min(this.opts.maxRetryMs, this.opts.retryMs * 2 ** Math.max(0, item.tries - 1));
        if (item.tries === 0 || now - item.sentAt >= wait) this.sendDelta(p, item, now);
      }
    }
    if (this.peers.size && now - this.lastAe >= this.opts.antiEntropyMs) {
      this.lastAe = now;
      this.collectGarbage(now);
      const list = [...this.peers.values()];
      this.antiEntropyWith(list[this.aeNext++ % list.length]);
    }
  }

  /** Starts an anti-entropy round with p: send our digests. */
  antiEntropyWith(p: PeerStream): void {
    const w = new Writer();
    w.u8(MSG_DIGEST);
    const d = this.rep.store.digests;
    for (let i = 0; i < d.length; i++) w.u32(d[i]);
    w.f64(this.rep.hlc.tick()); // c0: our state now holds all our writes below here
    w.u16(this.stable.size);
    for (const [n, ts] of this.stable) { w.node(n); w.f64(ts); }
    p.lastAntiEntropy = this.now();
    this.stats.antiEntropyRounds++;
    this.out(p.send, w.done(), p.reset);
  }

  /** A message from peer `from`; `reply` answers on the same path. */
  onMessage(from: string, msg: Buffer, reply: (m: Buffer) => void): void {
    const r = new Reader(msg);
    switch (r.u8()) {
      case MSG_DELTA: {
        const epoch = r.f64(), seq = r.f64(), base = r.f64(), batch = r.bytes();
        this.onDelta(from, epoch, seq, base, batch, reply);
        return;
      }
      case MSG_ACK: {
        const epoch = r.f64(), seq = r.f64();
        const p = this.peers.get(from);
        if (!p || p.epoch !== epoch || seq <= p.ackedSeq) return;
        p.ackedSeq = seq;
        p.lastAckAt = this.now();
        while (p.backlog.length && p.backlog[0].seq <= seq) p.backlogBytes -= p.backlog.shift()!.batch.length;
        // the window moved: send what it now admits
        const now = this.now();
        const n = Math.min(p.backlog.length, this.opts.window);
        for (let i = 0; i < n; i++) if (p.backlog[i].tries === 0) this.sendDelta(p, p.backlog[i], now);
        return;
      }
      case MSG_DIGEST: {
        const theirs = new Uint32Array(RANGES * 2);
        for (let i = 0; i < theirs.length; i++) theirs[i] = r.u32();
        const c0 = r.f64();
        for (let i = r.u16(); i > 0; i--) { const n = r.node(); this.learnStable(n, r.f64()); }
        const diff = this.rep.store.differingRanges(theirs);
        const p = this.peers.get(from);
        if (p) p.divergentRanges = diff.length;
        if (diff.length === 0) {
          const w = new Writer();
          w.u8(MSG_SAME); w.f64(c0); w.node(this.rep.nodeId);
          this.out(reply, w.done());
        }
        this.sendRanges(diff, true, reply);
        return;
      }
      case MSG_SAME: {
        const c0 = r.f64(), id = r.node();
        const p = this.peers.get(from);
        if (!p) return;
        p.divergentRanges = 0;
        const was = this.peerIds.get(from);
        if (was !== id) {
          // The peer restarted (a new incarnation id): the old one's writes are final — those
          // that reached anybody are in some replica's state, the rest are lost.
          if (was) this.departed.set(was, this.rep.hlc.tick());
          this.peerIds.set(from, id);
        }
        if (c0 > (this.covered.get(from) ?? 0)) { this.covered.set(from, c0); this.trimBacklog(p, c0); }
        let min = Infinity;
        for (const c of this.covered.values()) min = Math.min(min, c);
        if (!(min > 0 && min < Infinity)) return;
        this.learnStable(this.rep.nodeId, min);
        // Every replica's state has equalled ours since an incarnation departed: each holds
        // every write of it that survives, so all of its writes are stable.
        this.findDeparted();
        for (const [gone, at] of this.departed) {
          if (min > at) { this.learnStable(gone, Number.MAX_SAFE_INTEGER); this.departed.delete(gone); }
        }
        return;
      }
      case MSG_RANGES: {
        const wantBack = r.u8() === 1;
        const n = r.u16();
        const ranges: number[] = [];
        for (let i = 0; i < n; i++) ranges.push(r.u16());
        const batch = r.bytes();
        const changed = this.rep.receive(batch);
        this.stats.rangesRepaired += changed;
        if (wantBack) this.sendRanges(ranges, false, reply);
        return;
      }
    }
  }

  /** Our states for `ranges`, in chunks of at most chunkKeys keys; the first asks for theirs back. */
  private sendRanges(ranges: number[], wantBack: boolean, reply: (m: Buffer) => void): void {
    if (ranges.length === 0) return;
    const send = (rs: number[], ask: boolean, batch: Buffer) => {
      const w = new Writer();
      w.u8(MSG_RANGES); w.u8(ask ? 1 : 0); w.u16(rs.length);
      for (const x of rs) w.u16(x);
      w.bytes(batch);
      this.out(reply, w.done());
    };
    // The ask travels with the full range list; the states follow in chunks.
    let chunk: number[] = [];
    let keys = 0;
    let first = true;
    const flush = () => {
      send(first ? ranges : [], first && wantBack, this.rep.store.encodeRanges(chunk));
      first = false;
      chunk = [];
      keys = 0;
    };
    for (const rg of ranges) {
      chunk.push(rg);
      for (const _ of this.rep.store.keysInRange(rg)) keys++;
      if (keys >= this.opts.chunkKeys) flush();
    }
    if (chunk.length || first) flush();
  }

  private onDelta(from: string, epoch: number, seq: number, base: number, batch: Buffer, reply: (m: Buffer) => void): void {
    let inb = this.inbound.get(from);
    // A sender's epochs only grow: a batch of an older epoch is a stale copy (it must not
    // reset the stream, and what it carries is covered by what replaced it).
    if (inb && epoch < inb.epoch) { this.stats.received++; this.stats.duplicates++; return; }
    if (!inb || inb.epoch !== epoch) {
      // A new stream (a restarted or reset sender, or we restarted): accept from the oldest
      // batch the sender still holds for us (base) — earlier ones we acknowledged, or a
      // restarted receiver gets them by anti-entropy.
      inb = { epoch, expected: Math.min(base, seq), early: new Map() };
      this.inbound.set(from, inb);
    } else if (base > inb.expected) {
      // (the sender dropped what we still wait for: nothing older will come)
      inb.expected = base;
      for (const k of inb.early.keys()) if (k < base) inb.early.delete(k);
      for (let b = inb.early.get(inb.expected); b; b = inb.early.get(inb.expected)) {
        inb.early.delete(inb.expected);
        this.rep.receive(b);
        inb.expected++;
      }
    }
    this.stats.received++;
    if (seq < inb.expected) this.stats.duplicates++;
    else if (seq > inb.expected) {
      if (inb.early.size < this.opts.window * 2) inb.early.set(seq, batch);
    } else {
      this.rep.receive(batch);
      inb.expected++;
      for (let b = inb.early.get(inb.expected); b; b = inb.early.get(inb.expected)) {
        inb.early.delete(inb.expected);
        this.rep.receive(b);
        inb.expected++;
      }
    }
    const w = new Writer();
    w.u8(MSG_ACK); w.f64(epoch); w.f64(inb.expected - 1);
    this.out(reply, w.done());
  }

  /** Records that every replica holds node's writes below ts (facts only grow: max). */
  learnStable(node: string, ts: number): void {
    if (ts <= (this.stable.get(node) ?? 0)) return;
    this.stable.set(node, ts);
    this.stableLog.push([this.now(), node, ts]);
  }

  /** Promotes stability past its grace period, then runs a GC sweep (gc.ts). */
  private collectGarbage(now: number): void {
    let i = 0;
    for (; i < this.stableLog.length && now - this.stableLog[i][0] >= this.opts.gcGraceMs; i++) {
      const [, n, ts] = this.stableLog[i];
      if (ts > (this.gcStable.get(n) ?? 0)) this.gcStable.set(n, ts);
    }
    if (i) this.stableLog = this.stableLog.slice(i);
    if (!this.gcStable.size) return;
    this.rep.store.collectGarbage((n) => {
      const ts = this.gcStable.get(n) ?? 0;
      if (ts < Number.MAX_SAFE_INTEGER) this.unknownIds.add(n);
      return ts;
    });
  }

  /**
   * Node ids in our state may be incarnations that crashed (before anybody, or only some
   * nodes, noticed): one is departed when a newer incarnation of the same node (its current
   * id on a peer link, or ours) is answering.
   */
  private findDeparted(): void {
    const current = [this.rep.nodeId, ...this.peerIds.values()];
    for (const id of this.unknownIds) {
      if ((this.stable.get(id) ?? 0) >= Number.MAX_SAFE_INTEGER || current.includes(id)) { this.unknownIds.delete(id); continue; }
      if (current.some((c) => olderIncarnation(id, c))) {
        if (!this.departed.has(id)) this.departed.set(id, this.rep.hlc.tick());
        this.unknownIds.delete(id);
      }
    }
  }

  /**
   * The peer holds all our writes up to c0: batches cut at or before c0 need not be resent —
   * and must not be, since a resend after a removal they precede was collected would revive
   * what it removed. Drops them and restarts the stream (new epoch) with the rest.
   */
  private trimBacklog(p: PeerStream, c0: number): void {
    if (!p.backlog.length || p.backlog[0].h > c0) return;
    const rest = p.backlog.filter((b) => b.h > c0);
    p.epoch = ++this.epochCounter;
    p.nextSeq = 1;
    p.ackedSeq = 0;
    p.backlog = rest.map((b) => ({ ...b, seq: p.nextSeq++, sentAt: 0, tries: 0 }));
    p.backlogBytes = p.backlog.reduce((n, b) => n + b.batch.length, 0);
    const now = this.now();
    for (let i = 0; i < Math.min(p.backlog.length, this.opts.window); i++) this.sendDelta(p, p.backlog[i], now);
  }

  /** Per peer: unacknowledged batches, and ms since the oldest was first sent (lag). */
  peerLag(p: PeerStream): { backlog: number; lagMs: number } {
    const oldest = p.backlog[0];
    return { backlog: p.backlog.length, lagMs: oldest && oldest.sentAt ? Math.max(0, this.now() - oldest.sentAt) : 0 };
  }
}
