// A deterministic cluster simulator: several LatticeKV nodes (real kernel + host code, real
// Replicator and Gossip) in one process, with virtual time, a seeded PRNG, and a network
// that delays (so reorders), drops, duplicates and partitions messages. Nodes crash and
// restart with empty memory, or restart from a file they saved (SimNode.save: the keys and
// the CRDT state in the RDB's encoding, saved-state.ts, kept in memory), which the restarted
// node loads and decides about as a server does (loaded-keys.ts). Everything that varies
// comes from the seed, so a failing run replays exactly from it.
import type { Socket } from "node:net";
import { Config } from "../../src/config/config.js";
import { Server } from "../../src/server/server.js";
import { Client } from "../../src/server/client.js";
import { Replicator, sameValue } from "../../src/replication/replicator.js";
import { Gossip, type GossipOptions, type Pacing } from "../../src/replication/gossip.js";
import { visible } from "../../src/replication/key-state.js";
import { encodeKeyState } from "../../src/replication/codec.js";
import { splitDbKey } from "../../src/replication/store.js";
import { parseReply, type RespValue } from "../../src/replication/resp-value.js";
import { LocalKeyspace } from "../../src/replication/keyspace-io.js";
import { LoadedKeys } from "../../src/replication/loaded-keys.js";
import { keepLoadedState, savedStateNow, takeLoadedStates } from "../../src/replication/saved-state.js";
import { mulberry32 } from "../types/prng.js";

/**
 * msPerKiB (optional): a receiver that takes that long per KiB of what it is sent, in the order
 * sent (a slow peer working through a queue: each message is delivered once the ones before
 * it to that node are through).
 */
export interface NetworkOptions { dropRate: number; dupRate: number; minDelay: number; maxDelay: number; msPerKiB?: number;
  /** msPerKiB for the messages to one node (a node slower than the others), by name. */
  msPerKiBTo?: Record<string, number> }

/**
 * What a node's file holds (SimNode.save), in memory: db 0's keys as the keyspace showed them,
 * the CRDT state as an RDB's `lkv-crdt` fields carry it, and when it was written.
 */
export interface SavedFile {
  time: number;
  keys: [Buffer, NonNullable<ReturnType<LocalKeyspace["read"]>>][];
  states: Buffer[];
}

/** toInc/fromInc: the incarnations at each end when sent (a crash resets connections, so a
 * message to an incarnation that crashed is lost, as on TCP). */
interface InFlight {
  at: number; from: string; to: string; msg: Buffer; order: number; toInc: number; fromInc: number;
  /** The link the receiver's gossip sees the message on (default: the sender's name). */
  as?: string;
  /** The link the sender's gossip sees the answers on (a second link to the same node: linkSend). */
  replyAs?: string;
}

export class SimNode {
  server!: Server;
  client!: Client;
  rep!: Replicator;
  gossip!: Gossip;
  incarnation = 0;
  /** Incarnations that crashed (their unreplicated writes may be lost). */
  readonly crashed = new Set<string>();
  /** The decision about the keys and states of the file this incarnation started from, if it did. */
  loaded?: LoadedKeys;
  /** The file the node saved last (save()), which restartFrom() starts it from. */
  file?: SavedFile;
  /** Restarts from a file (restartFrom), for the checker's stats. */
  fileRestarts = 0;

  constructor(readonly name: string, private readonly cluster: SimCluster) {
    this.boot();
  }

  get nodeId(): string { return `${this.name}~${this.incarnation}`; }

  /**
   * Our links still on their first dial (restart({ dialing: true })): what gossip sends on them
   * goes nowhere and their transport says closed (a server's PeerLink before the listener's
   * HELLO), until linkUp. Answers to peers' messages go back on the peers' own connections.
   */
  private readonly dialing = new Set<string>();

  private boot(file?: SavedFile, dialing = false): void {
    this.incarnation++;
    this.dialing.clear();
    if (dialing) for (const other of this.cluster.names) if (other !== this.name) this.dialing.add(other);
    this.server = new Server(new Config());
    this.server.now = () => this.cluster.now;
    this.client = new Client(this.server, {} as Socket);
    if (file) {
      // The load, before replication captures anything (as a server's load: its writes are not the node's new writes).
      const io = new LocalKeyspace(this.server);
      for (const [key, v] of file.keys) if (v.type !== "other") io.write(0, key, v);
      for (const piece of file.states) keepLoadedState(this.server, piece);
    }
    this.rep = new Replicator(this.server, this.nodeId);
    // (a restarted sender's stream epochs must exceed its old ones, as they do from the wall clock)
    const opts = { ...this.cluster.gossipOptions, ...this.cluster.nodeOptions.get(this.name) };
    this.gossip = new Gossip(this.rep, () => this.cluster.now, opts, this.incarnation * 1_000_000, this.pacing());
    const server = this.server;
    this.loaded = file ? new LoadedKeys(this.rep, this.gossip, 1, () => file.time, this.pacing(), () => takeLoadedStates(server)) : undefined;
    for (const other of this.cluster.names) if (other !== this.name) this.connect(other);
  }

  /**
   * With SimCluster.slicedAnswers: anti-entropy answers go out one chunk per 10 ms step, so
   * writes and other messages land between their chunks (as between a server's event-loop
   * turns). A crashed incarnation's pending slices never run.
   */
  private pacing(): Pacing | undefined {
    if (!this.cluster.slicedAnswers) return undefined;
    const inc = this.incarnation;
    return {
      later: (fn) => this.cluster.later(() => { if (this.incarnation === inc) fn(); }),
      slice: () => { let chunks = 0; return () => ++chunks >= 1; },
    };
  }

  /**
   * Our link to `other`, keyed by its name. What we send on it reaches `other` as a server's
   * bus listener names an inbound connection (peer-link.ts: `in:<our id>`), and its answers
   * come back on the link: two paths per pair of nodes, keyed apart, as between servers (one
   * shared key hid gossip.ts's lookups of a link by an inbound key, linkOf).
   */
  connect(other: string): void {
    const send = Object.assign((m: Buffer) => { if (!this.dialing.has(other)) this.cluster.send(this.name, other, m, undefined, { as: `in:${this.nodeId}` }); },
      { closed: () => this.dialing.has(other) });
    this.gossip.addPeer(other, send).reset = () => this.cluster.resetLink(this.name, other);
  }

  /**
   * Our link to `other`, on its first dial (restart({ dialing: true })), comes up as a server's
   * does (peer-link.ts up): the listener's HELLO names the node, and a round starts at once.
   */
  linkUp(other: string): void {
    if (!this.dialing.delete(other)) return;
    this.gossip.linkIdentified(other, this.cluster.node(other).nodeId);
    const p = this.gossip.peers.get(other)!;
    p.connected = true;
    p.connects++;
    if (p.expired === undefined) this.gossip.antiEntropyWith(p);
  }

  /**
   * Crash: memory is lost; the node comes back empty under a new incarnation id. dialing: its
   * links start on their first dial (linkUp brings each up), as a server's do after it listens.
   */
  restart(opts: { dialing?: boolean } = {}): void {
    this.crashed.add(this.nodeId);
    this.file = undefined; // (its disk is lost with it)
    this.boot(undefined, opts.dialing);
  }

  /** SAVE: the node's file now holds its keys and CRDT state of this moment (and its file states not joined yet). */
  save(): SavedFile {
    const io = this.rep.io;
    const keys: SavedFile["keys"] = [];
    for (const key of io.keys(0)) { const v = io.read(0, key); if (v) keys.push([key, v]); }
    return (this.file = { time: this.cluster.now, keys, states: savedStateNow(this.rep.store, this.loaded?.pendingForSave()) });
  }

  /**
   * Stops the node (what it wrote since its last save() is lost with it, as after a crash) and
   * starts it from its file under a new incarnation id; without a file, from one saved now (a
   * SHUTDOWN SAVE).
   */
  restartFrom(): void {
    const file = this.file ?? this.save();
    this.crashed.add(this.nodeId);
    this.fileRestarts++;
    this.boot(file);
  }

  /** Runs a command as a client of this node would (MULTI queues, EXEC runs). */
  run(...args: string[]): RespValue {
    this.server.dispatch(this.client, args.map((a) => Buffer.from(a)));
    return parseReply(this.client.reply.take());
  }
}

export class SimCluster {
  now = 1_000_000;
  readonly rand: () => number;
  readonly nodes: SimNode[] = [];
  readonly names: string[];
  private inFlight: InFlight[] = [];
  private order = 0;
  /** Partition: node name -> group; messages cross groups only when healed. */
  private group = new Map<string, number>();
  readonly netStats = { sent: 0, dropped: 0, duplicated: 0, delivered: 0 };

  /** Per node name: options that differ from gossipOptions (a node configured differently), from its next boot. */
  readonly nodeOptions = new Map<string, Partial<GossipOptions>>();

  /** Work nodes put off to a later step (Pacing.later), in order. */
  private laterQueue: (() => void)[] = [];

  later(fn: () => void): void { this.laterQueue.push(fn); }

  constructor(readonly seed: number, n: number, public net: NetworkOptions, readonly gossipOptions: GossipOptions,
              readonly slicedAnswers = false) {
    this.rand = mulberry32(seed);
    this.names = Array.from({ length: n }, (_, i) => `n${i}`);
    for (const name of this.names) this.nodes.push(new SimNode(name, this));
  }

  int(lo: number, hi: number): number { return lo + Math.floor(this.rand() * (hi - lo + 1)); }

  send(from: string, to: string, msg: Buffer, toInc = this.node(to)?.incarnation ?? 1, link: { as?: string; replyAs?: string } = {}): void {
    const fromInc = this.node(from)?.incarnation ?? 1;
    this.netStats.sent++;
    if (this.rand() < this.net.dropRate) { this.netStats.dropped++; return; }
    const copies = this.rand() < this.net.dupRate ? 2 : 1;
    if (copies === 2) this.netStats.duplicated++;
    for (let i = 0; i < copies; i++) {
      let at = this.now + this.int(this.net.minDelay, this.net.maxDelay);
      const pace = this.net.msPerKiBTo?.[to] ?? this.net.msPerKiB;
      if (pace) {
        at = Math.max(at, this.paceUntil.get(to) ?? 0) + (msg.length / 1024) * pace;
        this.paceUntil.set(to, at);
      }
      this.inFlight.push({ at, from, to, msg, order: this.order++, toInc, fromInc, ...link });
    }
  }

  /** NetworkOptions.msPerKiB: when each node is through what it was sent so far. */
  private readonly paceUntil = new Map<string, number>();
  /** freeze: until when a node is stopped (as by SIGSTOP). */
  private readonly frozenUntil = new Map<string, number>();

  /** Stops a node for ms (as SIGSTOP, then SIGCONT): it neither ticks nor takes messages meanwhile; they wait. */
  freeze(name: string, ms: number): void { this.frozenUntil.set(name, this.now + ms); }

  private frozen(name: string): boolean { return (this.frozenUntil.get(name) ?? 0) > this.now; }

  /**
   * How `from` sends on a second link to `to` (the same node added under another address):
   * answers come back to `from` on that link, as on a TCP connection.
   */
  linkSend(from: string, to: string, link: string): (m: Buffer) => void {
    return (m) => this.send(from, to, m, undefined, { as: `in:${this.node(from).nodeId}`, replyAs: link });
  }

  /** A connection reset between a and b: what was in flight between them is lost. */
  resetLink(a: string, b: string): void {
    const before = this.inFlight.length;
    this.inFlight = this.inFlight.filter((m) => !((m.from === a && m.to === b) || (m.from === b && m.to === a)));
    this.netStats.dropped += before - this.inFlight.length;
  }

  /** Links cut one by one (both directions), on top of the partition groups: cuts need not be transitive. */
  private cuts = new Set<string>();

  /** Cuts the link between a and b only (a and b may still reach each other through a third node). */
  cut(a: string, b: string): void { this.cuts.add([a, b].sort().join("|")); }

  uncut(a: string, b: string): void { this.cuts.delete([a, b].sort().join("|")); }

  partition(groups: string[][]): void {
    this.group.clear();
    groups.forEach((g, i) => g.forEach((n) => this.group.set(n, i)));
  }

  heal(): void { this.group.clear(); this.cuts.clear(); }

  private linked(a: string, b: string): boolean {
    return (this.group.get(a) ?? 0) === (this.group.get(b) ?? 0) && !this.cuts.has([a, b].sort().join("|"));
  }

  node(name: string): SimNode { return this.nodes[this.names.indexOf(name)]; }

  /** Advances virtual time by ms, delivering due messages and ticking every node's gossip. */
  advance(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now = Math.min(end, this.now + 10);
      this.deliverDue();
      for (const n of this.nodes) if (!this.frozen(n.name)) n.gossip.tick();
      const due = this.laterQueue;
      this.laterQueue = [];
      for (const fn of due) fn();
      this.deliverDue();
    }
  }

  private deliverDue(): void {
    for (;;) {
      let best = -1;
      for (let i = 0; i < this.inFlight.length; i++) {
        const m = this.inFlight[i];
        if (m.at > this.now || this.frozen(m.to)) continue;
        if (best < 0 || m.at < this.inFlight[best].at || (m.at === this.inFlight[best].at && m.order < this.inFlight[best].order)) best = i;
      }
      if (best < 0) return;
      const m = this.inFlight.splice(best, 1)[0];
      const target = this.node(m.to);
      if (!this.linked(m.from, m.to) || target.incarnation !== m.toInc) { this.netStats.dropped++; continue; }
      this.netStats.delivered++;
      this.hello(target, m);
      target.gossip.onMessage(m.as ?? m.from, m.msg, (reply) => this.send(m.to, m.from, reply, m.fromInc, { as: m.replyAs }));
    }
  }

  /** Connections whose HELLO the receiver has seen: receiver incarnation, path, sender incarnation. */
  private readonly hellos = new Set<string>();

  /**
   * A server's transport proves who is at the other end of a connection before any message
   * (peer-link.ts HELLO: Gossip.linkIdentified, on the listener's inbound key and on the
   * link). Here: before the first message on each path from each incarnation of its sender.
   */
  private hello(target: SimNode, m: InFlight): void {
    const path = m.as ?? m.from;
    const key = `${m.to}~${target.incarnation}|${path}|${m.fromInc}`;
    if (this.hellos.has(key)) return;
    this.hellos.add(key);
    target.gossip.linkIdentified(path, `${m.from}~${m.fromInc}`);
  }

  get quiet(): boolean {
    return this.inFlight.length === 0 && this.nodes.every((n) => [...n.gossip.peers.values()].every((p) => p.backlog.length === 0));
  }

  /** Heals, stops loss, and runs until nothing is in flight and anti-entropy has run everywhere. */
  settle(): void {
    this.heal();
    this.net = { ...this.net, dropRate: 0 };
    const aeRounds = (this.gossipOptions.antiEntropyMs / 10) * (this.nodes.length + 1);
    this.advance(aeRounds * 10);
    for (let i = 0; i < 1000 && !this.quiet; i++) this.advance(100);
    // one more full anti-entropy cycle with nothing in flight
    const cycle = this.gossipOptions.antiEntropyMs * (this.nodes.length + 1);
    this.advance(cycle);
    for (let i = 0; i < 1000 && !this.quiet; i++) this.advance(100);
    // Tombstone GC: stability is learned in anti-entropy rounds, applied after the grace
    // period, and replicas collect at different moments — run until they agree again.
    this.advance(this.gossipOptions.gcGraceMs + 2 * cycle);
    for (let i = 0; i < 50 && !(this.quiet && this.statesEqual()); i++) this.advance(cycle);
  }

  /** Whether every replica's CRDT state encodes identically. */
  statesEqual(): boolean {
    const enc = (n: SimNode) => [...n.rep.store.states()].map(([k, s]) => `${k}=${encodeKeyState(s).toString("hex")}`).sort().join(",");
    const want = enc(this.nodes[0]);
    return this.nodes.every((n) => enc(n) === want);
  }

  /** Problems found: replicas whose CRDT state differs, keyspaces that differ from their state. */
  check(): string[] {
    const problems: string[] = [];
    const ref = this.nodes[0];
    const encode = (n: SimNode) => new Map([...n.rep.store.states()].map(([k, s]) => [k, encodeKeyState(s).toString("hex")]));
    const want = encode(ref);
    for (const n of this.nodes) {
      const got = encode(n);
      for (const k of new Set([...want.keys(), ...got.keys()])) {
        if (want.get(k) !== got.get(k)) problems.push(`${n.name} state of ${k} differs from ${ref.name}`);
      }
      for (const [k, s] of n.rep.store.states()) {
        const { db, key } = splitDbKey(k);
        if (!sameValue(visible(s), n.rep.io.read(db, key))) problems.push(`${n.name} keyspace at ${k} differs from its CRDT state`);
      }
      for (const key of n.rep.io.keys(0)) {
        const k = `0:${key.toString("latin1")}`;
        // (a key a restarted node's file held and it keeps to itself: loaded-keys.ts, README)
        if (!n.rep.store.keys.has(k) && !n.rep.localKeys.keys.has(k)) problems.push(`${n.name} has key ${key} unknown to replication`);
      }
    }
    return problems;
  }
}
