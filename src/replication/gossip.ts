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
// streamed full copy this way (every non-empty range differs), sent in chunks, from one peer
// at a time (catchingUp).
//
// Causal delivery. Every node tracks `applied`: per origin node, a timestamp below which it
// holds all of that node's writes. A batch carries its origin's id, its cut time h (every
// write in it is at or below h), `after` (the h of the batch before it in this stream) and
// `deps` (the sender's `applied` when it was cut, raised to the stamps of other nodes' list
// elements the batch carries). A receiver applies a batch only when it holds everything the
// batch depends on: the origin's writes up to `after`, and every other node's up to deps;
// until then the batch waits (unacknowledged). So a write made after seeing another node's
// write is applied after it everywhere, and a gap in one node's stream (a dropped backlog,
// a receiver that restarted, a peer added late) is never skipped. This matters beyond
// ordering: a DEL removes by version-vector floors (key-state.ts), which are only exact
// observed-removes when a replica's state holds every earlier write of each node it has
// a later write of. `applied` rises as batches apply, and by anti-entropy: a round that
// completes (every chunk received) proves one side holds all the other side held at a known
// moment, so it takes over the other side's `applied` of that moment (learn): a node cut
// off from an origin gets its writes, and the writes that depend on them, through any peer.
// A round's chunks are joined together once all have arrived, never one by one, and the
// states sent back after an answer cover every range the sender changed since its digest:
// so a node's state always holds, with any write, every write its origin had seen before
// it — across keys too — and `applied` covers everything the state holds.
//
// Merges are joins (idempotent, commutative), so resends, duplicates and the overlap
// between deltas and anti-entropy are harmless.
//
// Final incarnations (final-incarnations.ts). A departed incarnation whose writes are stable
// without bound is final. Finality is kept as one watermark per node name ("every
// incarnation of N up to X is final": `final`, and `gcFinal` once past the grace period), not
// as an entry per incarnation, so that the stability vectors, `applied`, a DIGEST and the
// removalHorizon coverage copies hold the live incarnations plus one entry per name, however
// often nodes restart. The rules:
// - refuses(id): messages from an incarnation at or below its name's watermark are refused
//   (as an expired one's are): it may still hold writes that removals collected since killed.
// - When a watermark may advance: to X once X is learned final — here by quorumReached (X
//   departed, and every live peer in the GC quorum has since found its state equal to ours:
//   each acknowledged all of X that survives), or from a peer's DIGEST that carries X as
//   final (it learned it so). Never on a mere restart: a departed incarnation is final only
//   through that quorum rule, as before.
// - A peer's DIGEST carries our non-final stability entries plus one (id, MAX) entry per
//   watermark (the wire format is unchanged). Merging it: each final entry raises that name's
//   watermark (max per name); an entry for an incarnation our watermark covers — a peer that
//   still teaches an old incarnation, final or not in its view — changes nothing. So do such
//   ids in a peer's knowledge vectors (learn) and in a batch's deps (ready): a final
//   incarnation's writes are held everywhere, nothing waits for them.
// - When a watermark rises, every entry it now covers leaves `stable`, `applied` (and,
//   after the grace period, `gcStable`), and the per-connection records of those
//   incarnations (inbound streams, link ids): dropFinal.
import { Reader, Writer } from "./codec.js";
import { COARSE_RANGES, SLOTS, validRangeCount, decodeBatch, slotOf, type Snapshot } from "./store.js";
import type { KeyState } from "./key-state.js";
import { removalStamps, type Acker, type Stable } from "./gc.js";
import type { Replicator } from "./replicator.js";
import { faultySend, JOIN_STALL_MS, type Delayed } from "./faults.js";
import { buggify } from "../util/buggify.js";
import { FinalIncarnations, nodeName } from "./final-incarnations.js";

const MSG_DELTA = 1;
const MSG_ACK = 2;
const MSG_DIGEST = 3;
const MSG_RANGES = 4;
/** Reply to a DIGEST whose digests all equal ours: we hold the sender's state as of its clock c0. */
const MSG_SAME = 5;
/** Reply to a message from an expired incarnation (peerGcTimeoutMs): who refuses, and whom. */
const MSG_REFUSED = 6;

export interface GossipOptions {
  /** First resend after this many ms without an ack; doubles per try up to maxRetryMs. */
  retryMs: number;
  maxRetryMs: number;
  /** Batches kept per peer before its backlog is dropped (anti-entropy repairs it). */
  maxBacklog: number;
  /** Bytes kept per peer before its backlog is dropped. */
  maxBacklogBytes: number;
  /**
   * While a peer's link is down (the transport says so: PeerStream.connected), its backlog is
   * kept up to this many batches / bytes; past that it is dropped and nothing more is queued
   * for it until the link is back (anti-entropy's full copy then brings it all).
   */
  maxDownBacklog: number;
  maxDownBacklogBytes: number;
  /** Anti-entropy round period (ms); each round compares with one peer. */
  antiEntropyMs: number;
  /** Batches sent but unacknowledged at once (window). */
  window: number;
  /** Keys per anti-entropy chunk. */
  chunkKeys: number;
  /**
   * A round we start compares per slot (16384 ranges) once our store holds this many keys,
   * else 256 ranges of 64 slots (store.ts: what each costs).
   */
  fineRangesFrom: number;
  /**
   * Tombstone GC waits this long after a removal became stable before collecting it, so a
   * message already in flight then (never delayed longer than this) cannot revive a write.
   */
  gcGraceMs: number;
  /**
   * A peer not heard from for this long (ms; 0 = never) leaves the GC quorum, as CRDT.PEER
   * FORGET does, and the incarnation it was is refused from then on (Gossip.expire).
   */
  peerGcTimeoutMs: number;
  /**
   * With pacing: from this many changed keys not yet hashed, they are hashed a slice per
   * event-loop turn (warmDigests), and a digest that needs them (our round's, the comparison
   * with a peer's) waits for that instead of hashing them all in one turn (withDigests).
   */
  digestsSlicedFrom: number;
  /**
   * With pacing: a complete anti-entropy answer of at least this many keys that brings more
   * keys than this node holds (it is catching up: new, restarted, far behind) is joined a
   * slice per event-loop turn, its clients answered -LOADING meanwhile (joinSliced); smaller
   * answers are joined in one turn. 0: never sliced.
   */
  slicedJoinFrom: number;
}

export const DEFAULT_GOSSIP: GossipOptions = {
  retryMs: 200, maxRetryMs: 5000, maxBacklog: 10_000, maxBacklogBytes: 64 << 20, maxDownBacklog: 1024, maxDownBacklogBytes: 4 << 20, antiEntropyMs: 2000, window: 64, chunkKeys: 512, fineRangesFrom: 8192,
  gcGraceMs: 10_000, peerGcTimeoutMs: 0, digestsSlicedFrom: 2048, slicedJoinFrom: 10_000,
};

/**
 * How a message leaves for a peer. A transport with a buffer (peer-link.ts) also says when it
 * is full, so a long anti-entropy answer waits for it to drain instead of piling up in
 * memory ahead of later messages (acks, deltas); and when the link is gone, so the rest of
 * an answer nobody will receive is not encoded.
 */
export type Send = ((m: Buffer) => void) & {
  backlogged?: () => boolean;
  whenDrained?: (go: () => void) => void;
  closed?: () => boolean;
};

/**
 * How a node spreads a long anti-entropy answer over event-loop turns (Gossip.pump). Without
 * one (the simulator's default) an answer is encoded and sent at once.
 */
/**
 * A server's look at its clients' commands during joinOpen: beforeWrites calls `write` before
 * each client command that may write, with the keys it names (db-qualified, store.ts dbKey),
 * or undefined when which keys it writes is not known from its arguments; the function it
 * returns ends the look.
 */
export interface OpenJoinHooks {
  beforeWrites(write: (keys: string[] | undefined) => void): () => void;
}

export interface Pacing {
  /** Runs fn in a later turn. */
  later(fn: () => void): void;
  /** Starts a slice of work; the function returned says when it has had its share of the turn (ms, by default 4). */
  slice(ms?: number): () => boolean;
}

/** Answer encoding gets ~4 ms per event-loop turn; clients and acks are served between slices. */
export const SERVER_PACING: Pacing = {
  later: (fn) => { setImmediate(fn); },
  slice: (ms = 4) => { const t0 = performance.now(); return () => performance.now() - t0 >= ms; },
};

/**
 * An anti-entropy answer being sent: `count` chunks, each encoded (from a snapshot of the
 * ranges it covers, taken when the answer was made) when its turn comes.
 */
interface Answer { role: number; reply: Send; count: number; next: number; chunk: (i: number) => Buffer; snap: Snapshot }

/**
 * h: our clock when the batch was cut (every write of ours in it is at or below h); after:
 * the h of the batch before it for this peer; deps: what it depends on (encoded vector).
 */
/** One local batch as cut (broadcast): its writes, cut time h, the h before it, what it depends on. */
interface Part { batch: Buffer; h: number; after: number; deps: Buffer }

/**
 * A message of a delta stream: one batch, or consecutive batches merged while they waited
 * for the window (broadcast), sent as one (sendDelta joins them). Its h is its last part's,
 * its `after` its first part's. `bytes`: what it holds counted against the backlog bound.
 */
interface Pending { seq: number; parts: Part[]; bytes: number; sentAt: number; tries: number; h: number; after: number;
  /** PeerStream.connects when last sent: a connection since lost took it with it (tick resends it on the new one). */
  conn?: number;
  /** At its first send: its bytes and those of the batches in flight before it (the peer's work before its ack). */
  ahead?: number }

/**
 * Batches that have not left yet (the window is full) are merged into one message up to this
 * size: a burst of pipelined writes cuts a batch per client read (16 SETs, ~0.8 KB), and one
 * message, ack and backlog entry per such batch was most of a stream's cost per write on
 * both sides. A receiver applies a message in one turn: 64 KiB is ~1,000 SETs.
 */
const MERGE_BYTES = 64 << 10;

/**
 * What a backlog entry costs beyond its batches' bytes (the entry, its part, the buffers'
 * objects), counted against maxBacklogBytes so the bound is one of memory, not of payload.
 */
const PENDING_OVERHEAD = 256;

/** A received batch not yet applied (waiting for an earlier one, or for what it depends on). */
interface Held { origin: string; after: number; h: number; deps: [string, number][]; batch: Buffer }

/** Anti-entropy periods in a row a round with a peer may be left out while a stream between us moves (Gossip.streamMoved). */
const MAX_SKIPPED_ROUNDS = 10;

/**
 * DIGESTs in a row from one peer left unanswered because the delta streams between us explain
 * every difference (Gossip.streamsExplain): a bound on how long a difference the streams do
 * not explain after all (tombstone metadata collected on one side only) can wait.
 */
const MAX_EXPLAINED_SKIPS = 120;

/**
 * Most keys warmDigests hashes in one turn beyond its slice to keep up with the keys changed
 * since its previous turn: a join of a whole anti-entropy answer changes them all in one turn,
 * and hashing those in the next turn would stall it as long again.
 */
const WARM_SHARE_MAX = 8192;

/**
 * A sliced join's share of an event-loop turn (ms): more than an answer's encoding gets (4),
 * since clients only get -LOADING meanwhile; with 4 ms, the other work of each turn (timers,
 * hashing, peers' digests) weighed more, and a 300k-key join took 341 s at load ~30.
 */
const JOIN_SLICE_MS = 20;

/** A periodic GC sweep's share of an event-loop turn (Gossip.collectGarbage). */
const GC_SLICE_MS = 10;
/** The longest a peer's pace may stretch the resend timeout (Gossip.drainTime, ms). */
const MAX_DRAIN_MS = 30_000;
/**
 * A batch acknowledged after the peer had at least this many bytes to work through (its own
 * and those in flight before it) samples the peer's pace (PeerStream.msPerByte): below, the
 * link's latency makes most of its ack time.
 */
const PACE_SAMPLE_BYTES = 16 << 10;
/**
 * A gap between two ticks this long means the node was stopped or stalled (SIGSTOP, a paused
 * VM, a turn that held the event loop): its peers' input is queued behind it (Gossip.backFromStall).
 * The server ticks every 50 ms, the simulator every 10.
 */
const STALL_MS = 1000;
/** DIGESTs found equal kept per peer node for removalHorizon (one per anti-entropy round). */
const SAME_KEPT = 32;

/**
 * What our state held when a peer's DIGEST was found equal to it (Gossip.coverage): per
 * node, every write at or below vv's stamp; every write of a final incarnation (the
 * watermarks of that moment).
 */
interface Coverage { vv: Map<string, number>; final: ReadonlyMap<string, string> }

function coveredAt(c: Coverage, n: string): number {
  return FinalIncarnations.coveredBy(c.final, n) ? Number.MAX_SAFE_INTEGER : c.vv.get(n) ?? 0;
}

/** MSG_RANGES roles: the answer to a DIGEST, and the digest sender's states sent back. */
const ROLE_REPLY = 1, ROLE_BACK = 2;

function writeVector(w: Writer, v: Iterable<[string, number]>): void {
  const list = [...v];
  w.u16(list.length);
  for (const [n, ts] of list) { w.node(n); w.f64(ts); }
}

function readVector(r: Reader): [string, number][] {
  const out: [string, number][] = [];
  for (let i = r.u16(); i > 0; i--) { const n = r.node(); out.push([n, r.f64()]); }
  return out;
}

/** What merged batches depend on: per node, the greatest of their deps (encoded as writeVector). */
function depsOfParts(parts: Part[]): Buffer {
  if (parts.length === 1) return parts[0].deps;
  const max = new Map<string, number>();
  let prev: Buffer | undefined;
  for (const p of parts) {
    if (p.deps === prev) continue; // (consecutive batches often depend on the same)
    prev = p.deps;
    for (const [n, ts] of readVector(new Reader(p.deps))) if (ts > (max.get(n) ?? 0)) max.set(n, ts);
  }
  const w = new Writer();
  writeVector(w, max);
  return w.done();
}

/** Batches (store.ts encodeBatch: u32 count, entries) joined into one: their entries in order. */
function joinBatches(parts: Part[]): Buffer {
  let n = 0, len = 4;
  for (const p of parts) { n += p.batch.readUInt32LE(0); len += p.batch.length - 4; }
  const out = Buffer.allocUnsafe(len);
  out.writeUInt32LE(n, 0);
  let at = 4;
  for (const p of parts) at += p.batch.copy(out, at, 4);
  return out;
}

export { nodeName };

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
  /** Smoothed time from a batch's first send to its ack (ms; 0 = no sample yet): sets the resend timeout. */
  srtt = 0;
  /**
   * Smoothed ms per byte the peer acknowledges while our window to it stays full (0 = no
   * sample yet): how fast it works through what we send (Gossip.drainTime).
   */
  msPerByte = 0;
  /** When an ack left our window full (more waiting than it admits): the next ack samples msPerByte from there; 0 = not full. */
  fullSince = 0;
  /** Connections made so far on this link (the transport counts them: peer-link.ts). */
  connects = 0;
  droppedBacklogs = 0;
  lastAntiEntropy = 0;
  /** Batches this peer acknowledged (all epochs): Gossip.streamMoved compares it between periods. */
  acked = 0;
  /** acked, and Gossip.appliedBatches, when the last period looked at this peer (-1: not yet). */
  seenAcked = -1;
  seenApplied = -1;
  /** Periods in a row whose round with this peer was left out (streamMoved). */
  skippedRounds = 0;
  /** Our round with this peer still open (its c0; 0 = none), when it last showed life, and whether it compares per slot. */
  roundC0 = 0;
  roundAt = 0;
  roundFine = false;
  /** Whether our open round with this peer was started with an empty store: it asks for a full copy (Gossip.catchingUp). */
  roundCatchUp = false;
  /** The collection stability (gcStable) our latest DIGEST to this peer carried (Gossip.staleDigest). */
  roundGc: [string, number][] = [];
  /** This peer's DIGESTs left unanswered in a row by staleDigest (at most one). */
  staleSkips = 0;
  /** When we last answered a DIGEST of this peer's with states (tick: no round of ours right after). */
  answeredAt = 0;
  /** Whether our latest round with this peer was left out for that (tick: at most one in a row). */
  skippedForAnswer = false;
  /**
   * Ranges found to differ with this peer: by the last DIGEST of theirs we compared, or by
   * the last answer to a round of ours (the ranges it lists); 0 once a round finds us equal.
   */
  divergentRanges = 0;
  connected = true;
  /** Its link went down with more than maxDownBacklog queued: nothing is queued for it until the link is back. */
  parked = false;
  /**
   * The peer may lack writes of ours that no batch in this stream carries: a new stream to it,
   * a backlog dropped (restartStream), a new incarnation behind the link (linkIdentified). Its
   * next acknowledgement ends that: it applies a batch only once it holds everything before
   * it (streamsExplain).
   */
  gapped = true;
  /** When anything last came from the node behind this link (peerGcTimeoutMs). */
  lastHeard = 0;
  /**
   * The incarnation id this link's node was expired as (Gossip.expire; "" = the link had
   * never been identified): no deltas or rounds go to it until a newer incarnation answers.
   */
  expired?: string;
  /**
   * Another link reaches the same node (it was added under two addresses): this one carries
   * no deltas or anti-entropy rounds while that one is there (Gossip.identify).
   */
  duplicateOf?: string;
  /** Resets the transport link (the crdt-link-reset fault point), when it has one. */
  reset?: () => void;

  /**
   * @param lastH the cut time of the batch before the first one this stream sends (our writes
   *   at or below it reach the peer by anti-entropy, which the peer must have before the stream)
   */
  constructor(readonly id: string, public send: (msg: Buffer) => void, epoch: number, public lastH = 0) {
    this.epoch = epoch;
  }
}

/**
 * A peer's stream as received: `held` by sequence number, applied from `expected` on; movedAt:
 * when we last applied one of its batches (kept across its epochs: streamsExplain).
 */
interface Inbound { epoch: number; expected: number; held: Map<number, Held>; reply: (m: Buffer) => void; movedAt: number;
  /** The node whose batches this stream brings (its latest batch's origin). */
  origin?: string }

export class Gossip {
  readonly peers = new Map<string, PeerStream>();
  private readonly inbound = new Map<string, Inbound>();
  private aeNext = 0;
  /** Per DIGEST sender: digests in a row left unanswered (streamCarries). */
  private readonly answerSkips = new Map<string, number>();
  /** Peers' batches applied so far (streamMoved). */
  private appliedBatches = 0;
  private lastAe = 0;
  /** When tick last ran (undefined before the first), and when it found the node back from a stall (backFromStall). */
  private lastTickAt?: number;
  private resumedAt = -Infinity;
  private epochCounter: number;
  readonly stats = { sent: 0, resent: 0, sentBytes: 0, resentBytes: 0, received: 0, duplicates: 0, antiEntropyRounds: 0, antiEntropySkipped: 0, rangesRepaired: 0, waiting: 0, learned: 0,
    peersExpired: 0, refused: 0, slicedJoins: 0, openJoins: 0, joinSlices: 0, answerKeys: 0, keysReceived: 0, catchUpRounds: 0 };
  /** Sliced joins under way (joinSliced, joinOpen): while any is, clients are answered -LOADING (joinSliced). */
  joining = 0;
  /** The knowledge of the answers joinOpen is joining: batches cut meanwhile depend on it (depsOf). */
  private readonly joiningVectors = new Set<[string, number][]>();
  /**
   * How joinOpen looks at clients' writes (active-active.ts, for a server): unset, a large
   * answer to a node holding more keys than it brings is joined in one turn.
   */
  openJoins?: OpenJoinHooks;
  /**
   * Incarnations expired here (peerGcTimeoutMs): their messages are refused. One watermark per
   * node name, as `final` (final-incarnations.ts): expiring X refuses X and every older
   * incarnation of its name (each had departed before X started), so a node expired again
   * after each of its restarts leaves one entry, not one per expiry.
   */
  readonly expired = new FinalIncarnations();
  /**
   * Nodes that refused us as expired (MSG_REFUSED), per node name: the newest incarnation of it
   * that did, and our clock when told (a peer restarted while it refuses us is one entry).
   */
  readonly refusedBy = new Map<string, { id: string; at: number }>();
  /** Per message source (a link, an inbound connection): the node id its transport proved (HELLO). */
  private readonly linkIds = new Map<string, string>();
  /**
   * Per node name: the newest of its incarnations we refused, and when we last told one so
   * (MSG_REFUSED goes at most every 5 s per name; the log says it once per newer incarnation).
   */
  private readonly toldRefused = new Map<string, { id: string; at: number }>();
  /**
   * A peer link's whole state is now joined here: a complete answer to our DIGEST (or its
   * MSG_SAME: equal). horizon: what the peer says of its tombstone collection (removalHorizon).
   * A node restarted from its file waits for this from every peer (loaded-keys.ts).
   */
  wholeView?: (link: string, horizon: number) => void;
  /**
   * Every (node, stamp) the key states GC sweeps dropped here carried, joined (removalHorizon);
   * a departed incarnation's component is pruned once it is final everywhere (pruneCollected).
   */
  private readonly collected = new Map<string, number>();
  /** Whether a GC sweep here ever dropped a key state (collected may be empty again after pruning). */
  private droppedAny = false;

  /** The nodes `collected` names (tests: it stays bounded as incarnations come and go). */
  get collectedNodes(): number { return this.collected.size; }
  /**
   * Entries kept per node incarnation or name, by structure (tests and INFO crdt's
   * crdt_incarnation_entries: they stay bounded as incarnations come and go). coverage: the
   * largest removalHorizon coverage copy (sameAt).
   */
  /** Entries kept about expired incarnations (tests: one per node name, however often nodes expire). */
  get refusalEntries(): { expired: number; toldRefused: number; refusedBy: number } {
    return { expired: this.expired.size, toldRefused: this.toldRefused.size, refusedBy: this.refusedBy.size };
  }

  get incarnationEntries(): { stable: number; gcStable: number; applied: number; final: number; gcFinal: number; coverage: number; links: number } {
    let coverage = 0;
    for (const list of this.sameAt.values()) for (const same of list) coverage = Math.max(coverage, same.ours.vv.size + same.ours.final.size);
    return { stable: this.stable.size, gcStable: this.gcStable.size, applied: this.applied.size, final: this.final.size, gcFinal: this.gcFinal.size,
      coverage, links: Math.max(this.inbound.size, this.linkIds.size) };
  }
  /**
   * Per node name, its latest DIGESTs found equal to our state (answerDigest), oldest first:
   * the sender's incarnation, its clock when it took the digests (ms) and what our state held
   * then (coverage). At most SAME_KEPT each (removalHorizon).
   */
  private readonly sameAt = new Map<string, { id: string; theirs: number; ours: Coverage }[]>();
  /** Where warnings go (the server's log; the simulator has none). */
  warn: (msg: string) => void = () => {};
  /** Per origin node: every write of it with a timestamp at or below this is in our state (causal delivery). */
  readonly applied = new Map<string, number>();
  /** The cut time of our latest batch (a peer added later gets our writes up to it by anti-entropy). */
  private lastCut = 0;
  /** Every write of ours is in a batch cut at or before this (src/cluster/group-migration.ts waits for it). */
  get latestCut(): number { return this.lastCut; }
  /** Our digests as sent in our latest DIGESTs, by round (c0): what changed since is sent back too. */
  private readonly sentDigests = new Map<number, { ranges: number; digests: Uint32Array }>();
  /**
   * Anti-entropy answers being received, per (peer, role, round): the chunks so far. They are
   * joined only once all have arrived, together, so no client sees part of a round.
   */
  private readonly chunks = new Map<string, { at: number; batches: Map<number, Buffer> }>();
  /** Anti-entropy answers sent (each one's chunks carry its number). */
  private sends = 0;
  /**
   * Per peer node (by node name — its id without the incarnation — once a round has told us
   * who answers on a link, by link key until then; kept after CRDT.PEER DEL so a removed peer
   * that comes back, under any address, is still waited for): our clock c0 of the latest
   * anti-entropy round that found the node's state equal to ours — it holds all our writes
   * up to c0. A node reached by two links (two addresses) is one entry.
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
  /** Per gcStable entry (and gcFinal watermark, by its id): when (our clock) its fact was first learned, here or by the peer we took it from. */
  private readonly gcSince = new Map<string, number>();
  /** Incarnations final everywhere (stable without bound), per node name (see the header). */
  readonly final = new FinalIncarnations();
  /** `final` past the grace period: what garbage collection uses. */
  readonly gcFinal = new FinalIncarnations();

  /** Peer messages that arrived while a Lua script was paused, in arrival order (onMessage). */
  private readonly deferred: [string, Buffer, Send][] = [];

  /** Peers whose round was held back while a full copy came from another (catchingUp): their rounds start once it has landed. */
  private readonly heldBack = new Set<PeerStream>();

  /** Per peer link: the anti-entropy answers being sent to it, in order (pump). */
  private readonly answers = new Map<string, Answer[]>();

  constructor(readonly rep: Replicator, private readonly now: () => number,
              readonly opts: GossipOptions = DEFAULT_GOSSIP, epochSeed = Math.floor(now()), private readonly pacing?: Pacing) {
    this.epochCounter = epochSeed;
    this.sends = epochSeed * 1024; // (a restarted node's answers do not reuse the numbers of its old ones)
    rep.onBatch = (b, carried) => this.broadcast(b, carried);
  }

  addPeer(id: string, send: (msg: Buffer) => void): PeerStream {
    const existing = this.peers.get(id);
    if (existing) { existing.send = send; return existing; }
    const p = new PeerStream(id, send, ++this.epochCounter, this.lastCut);
    p.lastHeard = this.now();
    this.peers.set(id, p);
    const known = this.peerIds.get(id);
    const ck = known ? nodeName(known) : id;
    if (!this.covered.has(ck)) this.covered.set(ck, 0);
    this.antiEntropyWith(p); // a new peer (or a new node) converges at once
    return p;
  }

  removePeer(id: string): void {
    this.peers.delete(id);
    // a link that stood aside for this one (the same node under another address) takes over
    for (const p of this.peers.values()) {
      if (p.duplicateOf !== id) continue;
      p.duplicateOf = undefined;
      this.dropBacklog(p); // (a new stream; anti-entropy brings what it did not carry)
      break;
    }
  }

  /**
   * The node answering on link `link` is `id`. Its coverage moves from the link's
   * placeholder to the node's name; a second link to a node another link already reaches
   * stands aside (duplicateOf), so the node gets one delta stream and is waited for once.
   */
  private identify(link: string, id: string): void {
    const name = nodeName(id);
    if (link !== name && this.covered.has(link)) {
      const c = this.covered.get(link)!;
      this.covered.delete(link);
      this.covered.set(name, Math.max(c, this.covered.get(name) ?? 0));
    }
    const p = this.peers.get(link);
    if (!p || p.duplicateOf) return;
    for (const [other, q] of this.peers) {
      if (other === link || q.duplicateOf) continue;
      const otherId = this.peerIds.get(other);
      if (otherId === undefined || nodeName(otherId) !== name) continue;
      // keep the link identified first (the other one's stream is already under way)
      p.duplicateOf = other;
      p.backlog = [];
      p.backlogBytes = 0;
      return;
    }
  }

  /**
   * Drops a peer from the tombstone-GC quorum too (CRDT.PEER FORGET): collection no longer
   * waits for it. Only for a node that will never come back with its old data — if it does,
   * what was collected meanwhile can come back with it. Returns whether it was in the quorum.
   */
  forgetPeer(id: string): boolean {
    this.peers.delete(id);
    const known = this.peerIds.get(id);
    this.peerIds.delete(id);
    let had = this.covered.delete(id);
    if (known !== undefined && this.covered.delete(nodeName(known))) had = true;
    let min = Infinity;
    for (const c of this.covered.values()) min = Math.min(min, c);
    if (min > 0 && min < Infinity) this.learnStable(this.rep.nodeId, min);
    return had;
  }

  /**
   * The node behind link `link` has been silent for peerGcTimeoutMs: it leaves the GC quorum
   * as with forgetPeer, but the link stays configured. The incarnation it was is remembered
   * as expired and refused from now on (refuses), and marked departed, so its writes become
   * stable once the rest of the quorum has caught up with each other: collection then goes
   * on without it. Refusing it is what keeps that safe — it may still hold writes the
   * removals collected meanwhile killed, and anti-entropy with it would bring them back; a
   * restart empty (a new incarnation) is accepted and gets a full copy.
   */
  private expire(link: string, p: PeerStream): void {
    const id = this.peerIds.get(link) ?? this.linkIds.get(link);
    p.expired = id ?? "";
    this.covered.delete(link);
    if (id !== undefined) {
      this.covered.delete(nodeName(id));
      this.expired.raise(id);
      if (!this.departed.has(id)) this.departed.set(id, this.rep.hlc.tick());
    }
    // (nothing more goes to it: a new incarnation gets everything by anti-entropy)
    p.backlog = [];
    p.backlogBytes = 0;
    p.epoch = ++this.epochCounter;
    p.nextSeq = 1;
    p.ackedSeq = 0;
    p.roundC0 = 0;
    this.stats.peersExpired++;
    this.warn(`CRDT: peer ${link}${id ? ` (${id})` : ""} not heard from for ${Math.round(this.opts.peerGcTimeoutMs / 1000)} s: ` +
      `it leaves the tombstone GC quorum, and this incarnation of it will be refused; restart it empty to bring it back`);
    let min = Infinity;
    for (const c of this.covered.values()) min = Math.min(min, c);
    if (min > 0 && min < Infinity) this.quorumReached(min);
  }

  /**
   * Whether messages from incarnation `id` are refused: it expired here, or somewhere (its
   * writes are final everywhere: stable without bound). A node that expired a peer in an
   * asymmetric partition thus has every other node refuse it too, once they learn it.
   */
  private refuses(id: string): boolean {
    return this.expired.covers(id) || this.final.covers(id);
  }

  /** Every replica holds node's writes below this (MAX_SAFE_INTEGER: all of them, it is final). */
  stableOf(node: string): number {
    return this.final.covers(node) ? Number.MAX_SAFE_INTEGER : this.stable.get(node) ?? 0;
  }

  /** The transport proved who is on the other end of `from` (peer-link.ts HELLO). */
  linkIdentified(from: string, id: string): void {
    const was = this.linkIds.get(from);
    const p = this.peers.get(from);
    if (p && was !== undefined && was !== id) p.gapped = true; // (a new incarnation holds none of our writes yet)
    this.linkIds.set(from, id);
    if (!this.refuses(id)) this.heard(from, id);
  }

  /**
   * Whether a message from `from` (sent by incarnation `id`, when the message names it) is
   * refused: its sender expired. The sender is told, at most every 5 s, so it can say so.
   */
  private refused(from: string, id: string | undefined, reply: (m: Buffer) => void): boolean {
    const who = id ?? this.linkIds.get(from) ?? this.peers.get(from)?.expired;
    if (!who || !this.refuses(who)) { this.heard(from, id); return false; }
    this.stats.refused++;
    const now = this.now();
    const told = this.toldRefused.get(nodeName(who));
    const newer = told === undefined || olderIncarnation(told.id, who);
    if (newer || now - told.at >= 5000) {
      this.toldRefused.set(nodeName(who), { id: newer ? who : told.id, at: now });
      if (newer) this.warn(`CRDT: refused messages from ${who} on ${from}: that incarnation expired (crdt-peer-gc-timeout); restart it empty to bring it back`);
      const w = new Writer();
      w.u8(MSG_REFUSED); w.node(this.rep.nodeId); w.node(who);
      this.out(reply, w.done());
    }
    return true;
  }

  /**
   * Something came from `from` (incarnation `id`, when known): the link(s) reaching that
   * node are alive. A newer incarnation behind an expired link brings the link back.
   */
  private heard(from: string, id: string | undefined): void {
    const now = this.now();
    const mark = (q: PeerStream) => {
      q.lastHeard = now;
      if (q.expired !== undefined && id !== undefined && (q.expired === "" || olderIncarnation(q.expired, id))) {
        q.expired = undefined;
        this.antiEntropyWith(q); // (it converges by a full copy)
      }
    };
    const p = this.peers.get(from);
    if (p) { mark(p); return; }
    if (id === undefined) return;
    const name = nodeName(id);
    for (const [link, q] of this.peers) {
      const known = this.linkIds.get(link) ?? this.peerIds.get(link);
      if (known !== undefined && nodeName(known) === name) mark(q);
    }
  }

  /**
   * Every node in the GC quorum has held all our writes up to min: our stable point rises,
   * and an incarnation that departed (replaced, or expired) before min is final everywhere.
   */
  private quorumReached(min: number): void {
    this.learnStable(this.rep.nodeId, min);
    // Every replica's state has equalled ours since an incarnation departed: each holds
    // every write of it that survives, so all of its writes are stable.
    this.findDeparted();
    for (const [gone, at] of this.departed) {
      if (min > at) { this.learnStable(gone, Number.MAX_SAFE_INTEGER); this.departed.delete(gone); }
    }
  }

  /**
   * What a batch cut now depends on: our `applied`, raised to the stamps of other nodes' list
   * elements it carries; entries every replica is known to hold (stable) are left out.
   */
  private depsOf(carried: Map<string, number>): Buffer {
    const deps = new Map(this.applied);
    for (const [n, ts] of carried) if (ts > (deps.get(n) ?? 0)) deps.set(n, ts);
    for (const v of this.joiningVectors) for (const [n, ts] of v) if (ts > (deps.get(n) ?? 0)) deps.set(n, ts);
    const w = new Writer();
    writeVector(w, [...deps].filter(([n, ts]) => n !== this.rep.nodeId && ts > 0 && ts >= this.stableOf(n)));
    return w.done();
  }

  private broadcast(batch: Buffer, carried: Map<string, number> = new Map()): void {
    const now = this.now();
    const h = this.rep.hlc.current;
    this.lastCut = h;
    const deps = this.depsOf(carried);
    for (const p of this.peers.values()) {
      if (p.duplicateOf || p.expired !== undefined) continue;
      if (this.parked(p)) { p.lastH = h; continue; } // (the next batch's `after` still names this one: it waits for anti-entropy)
      const part: Part = { batch, h, after: p.lastH, deps };
      p.lastH = h;
      const last = p.backlog[p.backlog.length - 1];
      if (p.backlog.length > this.opts.window && last.tries === 0 && last.bytes + batch.length <= MERGE_BYTES) {
        // (the window is full and the last message has not left: this batch goes with it)
        last.parts.push(part);
        last.h = h;
        last.bytes += batch.length;
        p.backlogBytes += batch.length;
      } else {
        const item: Pending = { seq: p.nextSeq++, parts: [part], bytes: batch.length + PENDING_OVERHEAD, sentAt: 0, tries: 0, h, after: part.after };
        p.backlog.push(item);
        p.backlogBytes += item.bytes;
      }
      if (p.backlog.length > this.opts.maxBacklog || p.backlogBytes > this.opts.maxBacklogBytes) {
        this.dropBacklog(p);
        continue;
      }
      if (p.backlog.length <= this.opts.window && p.backlog[p.backlog.length - 1].tries === 0) this.sendDelta(p, p.backlog[p.backlog.length - 1], now);
    }
  }

  /**
   * Whether nothing is queued for p now: its link is down and its backlog reached the bound
   * for a down link (then dropped, once). A node whose peer was down while it took 300k SETs
   * held 4,688 batches for it and sent them all when the peer came up, alongside the full copy
   * anti-entropy sends a new or returning peer anyway (measured 2026-11-27: see README).
   */
  private parked(p: PeerStream): boolean {
    if (p.connected) { p.parked = false; return false; }
    if (p.parked) return true;
    if (p.backlog.length < this.opts.maxDownBacklog && p.backlogBytes < this.opts.maxDownBacklogBytes) return false;
    this.restartStream(p);
    p.parked = true;
    return true;
  }

  /** The peer is too far behind: forget its backlog, start a new stream epoch, repair by anti-entropy. */
  private dropBacklog(p: PeerStream): void {
    this.restartStream(p);
    this.antiEntropyWith(p);
  }

  /** Forgets p's backlog and starts a new stream epoch (counted in droppedBacklogs). */
  private restartStream(p: PeerStream): void {
    p.gapped = true;
    p.backlog = [];
    p.backlogBytes = 0;
    p.epoch = ++this.epochCounter;
    p.nextSeq = 1;
    p.ackedSeq = 0;
    p.droppedBacklogs++;
  }

  private sendDelta(p: PeerStream, item: Pending, now: number): void {
    const w = new Writer();
    // base: the oldest batch the peer has not acknowledged. A receiver that meets this stream
    // (epoch) for the first time starts from base, not from whichever batch arrives first,
    // so a lost first batch is waited for, not skipped: one node's deltas apply in order.
    const base = p.backlog.length ? p.backlog[0].seq : item.seq;
    w.u8(MSG_DELTA); w.f64(p.epoch); w.f64(item.seq); w.f64(base);
    w.node(this.rep.nodeId); w.f64(item.after); w.f64(item.h); w.raw(depsOfParts(item.parts));
    w.bytes(item.parts.length === 1 ? item.parts[0].batch : joinBatches(item.parts));
    const msg = w.done();
    if (item.tries > 0) { this.stats.resent++; this.stats.resentBytes += msg.length; } else { this.stats.sent++; this.stats.sentBytes += msg.length; }
    if (item.tries === 0) {
      let ahead = item.bytes;
      for (const q of p.backlog) { if (q === item) break; if (q.tries > 0) ahead += q.bytes; }
      item.ahead = ahead;
    }
    item.sentAt = now;
    item.tries++;
    item.conn = p.connects;
    this.out(p.send, msg, p.reset);
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
    if (this.lastTickAt !== undefined && now - this.lastTickAt > STALL_MS) this.resumedAt = now;
    this.lastTickAt = now;
    while (this.held.length && this.held[0].due <= now) { const d = this.held.shift()!; d.send(d.msg); }
    if (this.opts.peerGcTimeoutMs > 0) {
      for (const [link, p] of this.peers) {
        if (p.expired === undefined && !p.duplicateOf && now - p.lastHeard > this.opts.peerGcTimeoutMs) this.expire(link, p);
      }
    }
    for (const p of this.peers.values()) {
      if (p.duplicateOf) continue;
      const n = Math.min(p.backlog.length, this.opts.window);
      // A peer whose acks still advance is slow, not losing batches: resending to it would only
      // add duplicates to what it is working through (a flood then never drains). Resends wait
      // for a timeout without progress, which follows the measured ack time.
      // That timeout also covers the time the peer needs to work through what is in flight to
      // it (drainTime): with the window full of 64 KiB messages, a peer busy for a moment
      // elsewhere (a join, a sweep, a GC pause) stopped acking for longer than twice the ack
      // time of one message, and all of them were sent again (312-1,555 resent in a 1M-SET
      // burst). While the link is down, resends back off from the plain timeout, as before; a
      // batch sent on a connection since lost goes again on the new one at once.
      const quiet = this.resendWait(p);
      const progressing = now - p.lastAckAt < quiet;
      for (let i = 0; i < n; i++) {
        const item = p.backlog[i];
        if (item.tries === 0) { this.sendDelta(p, item, now); continue; }
        if (p.connected && item.conn !== undefined && item.conn !== p.connects) { this.sendDelta(p, item, now); continue; }
        if (progressing) continue;
        const wait = Math.min(Math.max(this.opts.maxRetryMs, quiet), quiet * 2 ** Math.max(0, item.tries - 1));
        if (now - item.sentAt >= wait) this.sendDelta(p, item, now);
      }
    }
    this.warmDigests();
    // (the full copy landed, or its round ended without it: the rounds held back meanwhile start;
    // while we are still empty, the first becomes the next catch-up round and the rest wait again)
    if (this.heldBack.size && this.joining === 0 && !this.catchingUp()) {
      const held = [...this.heldBack];
      this.heldBack.clear();
      for (const q of held) if (this.peers.get(q.id) === q && !q.duplicateOf && q.expired === undefined && q.connected) this.antiEntropyWith(q);
    }
    if (this.peers.size && now - this.lastAe >= this.opts.antiEntropyMs) {
      this.lastAe = now;
      this.collectGarbage(now, true);
      this.expireChunks(now);
      // Every peer expired: the quorum is this node alone, which holds all its writes.
      if (this.covered.size === 0 && [...this.peers.values()].some((q) => q.expired !== undefined)) this.quorumReached(this.rep.hlc.tick());
      // (a peer whose link is down gets no round: the digest would go nowhere, and hashing
      // every key changed since the last round was most of a node's CPU while a peer was down
      // and clients wrote; the link's return starts a round at once, peer-link.ts)
      const list = [...this.peers.values()].filter((q) => !q.duplicateOf && q.expired === undefined && q.connected);
      if (list.length) {
        const q = list[this.aeNext++ % list.length];
        // One per-slot round at a time per peer: a digest sent while the answer to the previous
        // one is still coming makes the peer build the same large answer again (on a write
        // flood the digests queued up behind answers that each took seconds of its CPU). A
        // round that shows no life for roundTimeout (a lost message, an unanswered digest)
        // ends. Small stores (256 ranges) do not wait: their answers are cheap, and a round
        // held back by a lost digest delayed tombstone collection (simulator seed 1176).
        if (q.roundC0 && q.roundFine && now - q.roundAt < this.roundTimeout(q)) this.stats.antiEntropySkipped++;
        // (back from a stall, our state lacks what the queued input brings: backFromStall)
        else if (this.backFromStall(now)) this.stats.antiEntropySkipped++;
        // (while our keyspace is busy — a load, the load-end check, a keyspace walk, a paused
        // script — a peer's answer would wait for its end with the other messages, and each
        // round started meanwhile brings one more: after a 100k-state check, two full answers
        // were joined back to back, each in one turn)
        else if (this.rep.keyspaceBusy()) this.stats.antiEntropySkipped++;
        // (while a large answer is being joined, a digest would show its ranges not joined yet
        // as differing, and the peer would send them again)
        else if (this.joining > 0) this.stats.antiEntropySkipped++;
        // (a round started out of turn a moment ago, by a link coming up or a peer added: its
        // answer is on its way, and a second digest now would be answered with the same states)
        else if (q.roundC0 && now - q.lastAntiEntropy < this.opts.antiEntropyMs / 2) this.stats.antiEntropySkipped++;
        // (nor right after we answered its DIGEST: that exchange, both ways, is still landing,
        // and a digest taken before it lands differs by what it carries. At most once in a row:
        // with equal periods the peer's digest can come just before our turn with it every
        // time, and only our own round tells us we hold its whole state — a node restarted
        // from its file waited for that from that peer for good, simulator seed 222)
        else if (now - q.answeredAt < this.opts.antiEntropyMs / 2 && !q.skippedForAnswer) { q.skippedForAnswer = true; this.stats.antiEntropySkipped++; }
        else if (this.streamMoved(q)) this.stats.antiEntropySkipped++;
        else { q.skippedForAnswer = false; this.antiEntropyWith(q); }
      }
    }
  }

  /**
   * Whether everything that may differ between our state and that of a DIGEST's sender (its
   * knowledge: `held`) is writes on their way in the delta streams between us, at least one of
   * which is moving: then an answer would send, both ways, the keys those streams are
   * bringing. Our writes they lack: our stream to them has no gap (they acknowledged a batch of
   * it since it began, since a backlog was dropped or since the node behind the link
   * restarted: PeerStream.gapped; not parked) and was acknowledged lately (or its oldest
   * unacknowledged batch left lately and was not resent). Theirs we lack: their stream to us
   * applied a batch lately and its next one, if here, is applicable; or it brought us more of theirs
   * than the digest knew (the digest is older than our state: on a flood, the answer waited
   * for the keys it had just applied to be hashed). Any other node's: both sides hold the same
   * of it, or the side that lacks some gets them from that node, by its delta stream (moving:
   * the sender's DIGEST lists its moving streams, `streaming`) or, on our side, by the answer
   * to our open round with it. A write flood to one node made every range
   * differ the whole time (the keys in flight), and the round forced after MAX_SKIPPED_ROUNDS,
   * or a digest answered late, sent the whole store both ways: with 1M SETs, 509k keys each
   * way, while the stream delivered all of them anyway.
   */
  private streamsExplain(from: string, held: [string, number][], streaming: ReadonlySet<string> = new Set()): boolean {
    const sender = held[0]?.[0];
    if (sender === undefined) return false;
    const me = this.rep.nodeId, now = this.now();
    const theirs = new Map(held);
    let moving = false;
    const mine = theirs.get(me) ?? 0;
    if (mine < this.lastCut) {
      const p = this.linkOf(from, sender);
      if (!p || p.duplicateOf || p.parked || p.gapped || p.expired !== undefined) return false;
      // (acknowledged lately, or its oldest batch left lately, once: a flood's first batches are
      // not acknowledged yet when the peer's next digest comes; a batch resent to a peer that
      // stopped acknowledging — frozen, far behind — says nothing of its stream moving)
      const first = p.backlog[0];
      const last = Math.max(p.lastAckAt, first && first.tries === 1 ? first.sentAt : 0);
      if (!(now - last < Math.max(this.opts.antiEntropyMs, this.resendTimeout(p)))) return false;
      moving = true;
    }
    const theirOwn = theirs.get(sender) ?? 0, appliedOwn = this.applied.get(sender) ?? 0;
    // (their stream brought us more of theirs since the digest: what differs came with it)
    if (theirOwn < appliedOwn) moving = true;
    else if (theirOwn > appliedOwn) {
      // (their stream's next batch here but not applicable: it waits for what no stream brings;
      // a new epoch's first batch still on its way is not known to: the movement counts on)
      const inb = this.inbound.get(from);
      const head = inb?.held.get(inb.expected);
      if (!inb || (head && !this.ready(head)) || !(now - inb.movedAt < this.opts.antiEntropyMs)) return false;
      moving = true;
    }
    // A third node's writes that one side holds and the other not: explained when that node's
    // own delta stream into the side that lacks them is moving (the sender says which of its
    // streams are, streamingOrigins; ours we know), or, when we lack them, when our own round
    // with that node is open (its answer brings them). A node catching up on a write burst by
    // the origin's stream sent its digest to the other peers, and each one answered it with
    // the burst's keys both ways (3 servers, 3,000 pipelined SETs: 3,000 keys sent each way by
    // the third node, on top of the stream); a node back from a freeze answered one peer's
    // digest while its round with the writer was under way, and received the writer's 3,000
    // rewrites twice (active-active-catch-up.test.ts). (knowledge() leaves out what is stable
    // on its sender: every replica holds that)
    const ourStreams = this.streamingOrigins();
    for (const n of new Set([...theirs.keys(), ...this.applied.keys()])) {
      if (n === me || n === sender) continue;
      const ours = this.applied.get(n) ?? 0, th = theirs.get(n) ?? 0, st = this.stableOf(n);
      if (th > Math.max(ours, st)) { if (!ourStreams.has(n) && !this.roundOpenWith(n)) return false; moving = true; }
      else if (ours > Math.max(th, st)) { if (!streaming.has(n)) return false; moving = true; }
    }
    return moving;
  }

  /**
   * Whether the node is back from a stop or stall (a tick overdue by more than STALL_MS: SIGSTOP,
   * a paused VM, a turn that held the event loop) and within one anti-entropy period of it. Its
   * peers' delta batches and DIGESTs queued up meanwhile, and Node's event loop may run the
   * overdue timer, or read one peer's connection, before another peer's batches: a comparison
   * made then differs by what those batches bring. So for that period it starts no round and
   * leaves differing DIGESTs unanswered (like lost ones); the next ones compare a state with the
   * queued input in. A node stopped 6 s while a peer rewrote 3,000 keys received them from both
   * peers as well as from the writer's stream (active-active-catch-up.test.ts, "frozen C";
   * test/simulation/frozen-node.test.ts).
   */
  private backFromStall(now: number): boolean {
    return (this.lastTickAt !== undefined && now - this.lastTickAt > STALL_MS) || now - this.resumedAt < this.opts.antiEntropyMs;
  }

  /** Whether our round with node incarnation `id` is open and showing life (roundTimeout): its answer is on its way. */
  private roundOpenWith(id: string): boolean {
    const now = this.now();
    for (const [link, q] of this.peers) {
      if (q.duplicateOf || q.roundC0 === 0 || !(now - q.roundAt < this.roundTimeout(q))) continue;
      if ((this.linkIds.get(link) ?? this.peerIds.get(link)) === id) return true;
    }
    return false;
  }

  /**
   * The nodes whose delta streams into this node are moving: a batch of theirs applied within
   * the anti-entropy period, and the next one, if here already, applicable (it waits for
   * nothing only anti-entropy brings). Our DIGESTs carry them (streamsExplain on the peer).
   */
  private streamingOrigins(): Set<string> {
    const now = this.now(), out = new Set<string>();
    for (const inb of this.inbound.values()) {
      if (inb.origin === undefined || !(now - inb.movedAt < this.opts.antiEntropyMs)) continue;
      const head = inb.held.get(inb.expected);
      if (!head || this.ready(head)) out.add(inb.origin);
    }
    return out;
  }

  /**
   * Whether a DIGEST from `from` that differs from our state is left unanswered: the sender
   * has not applied all our batches yet (its knowledge, `held`, is below our latest cut) and
   * our stream to it is moving (acknowledged within a period or resend timeout, more to
   * go). The answer would send it every differing range — on a write flood, the keys in
   * flight on that stream — while the stream brings them anyway; answering made the sender
   * of the stream too busy to send, so the next digest found even more to do (streamMoved
   * is the same test on the side that starts rounds). At most MAX_SKIPPED_ROUNDS in a row
   * per sender; unanswered is what a lost DIGEST is.
   */
  private streamCarries(from: string, held: [string, number][], streaming: ReadonlySet<string>): boolean {
    const skips = this.answerSkips.get(from) ?? 0;
    this.answerSkips.delete(from);
    if (skips < MAX_EXPLAINED_SKIPS && this.streamsExplain(from, held, streaming)) {
      this.answerSkips.set(from, skips + 1);
      return true;
    }
    const sender = held[0]?.[0]; // (knowledge() puts the sender's own id first)
    const theirs = held.find(([n]) => n === this.rep.nodeId)?.[1] ?? 0;
    if (theirs >= this.lastCut || skips >= MAX_SKIPPED_ROUNDS) return false;
    const now = this.now();
    for (const [link, q] of this.peers) {
      if (q.duplicateOf || q.backlog.length === 0) continue;
      const id = this.peerIds.get(link);
      if (id !== undefined && id !== sender) continue; // (a link not identified yet may be the sender's)
      if (now - q.lastAckAt < Math.max(this.opts.antiEntropyMs, this.resendTimeout(q))) {
        this.answerSkips.set(from, skips + 1);
        return true;
      }
    }
    return false;
  }

  /**
   * Whether this period's round with p is left out because a delta stream between us moved
   * since the previous period: p acknowledged batches of ours and more wait, or we applied
   * peers' batches.
   * While writes go on, the keys on their way in a stream make their slots differ at every
   * round, and a round sends those slots' keys both ways, work the stream is doing anyway;
   * on a write flood the rounds took most of both nodes' CPU and the stream fell further
   * behind (bench/active-active.mjs). A stream that stalls (one side waits for a gap only
   * anti-entropy fills, a link is down) or has nothing in flight does not hold rounds back,
   * and at most MAX_SKIPPED_ROUNDS in a row are left out, so third nodes' writes and
   * stability (tombstone GC) still come under endless load. Leaving a round out is what a
   * lost DIGEST does: nothing relies on a round happening.
   */
  private streamMoved(p: PeerStream): boolean {
    // ours to p: acknowledged since, and more to go; theirs (any peer's: an inbound stream is
    // known by the sender's node id, a link by its address) applied since
    const outbound = p.seenAcked >= 0 && p.acked !== p.seenAcked && p.backlog.length > 0;
    const inbound = p.seenApplied >= 0 && this.appliedBatches !== p.seenApplied;
    p.seenAcked = p.acked;
    p.seenApplied = this.appliedBatches;
    if (!(outbound || inbound) || p.skippedRounds >= MAX_SKIPPED_ROUNDS) { p.skippedRounds = 0; return false; }
    p.skippedRounds++;
    return true;
  }

  /**
   * How long a round with p may show no life before the next one starts: two periods, or
   * four resend timeouts when p is slower (its answer waits behind its other work then).
   */
  private roundTimeout(p: PeerStream): number {
    return Math.max(2 * this.opts.antiEntropyMs, 4 * this.resendTimeout(p));
  }

  /**
   * How long acknowledgements from p may stop before its batches in flight are resent (tick):
   * the resend timeout, or the time p needs for the bytes in flight (drainTime) when longer and
   * its link is up. INFO crdt's peer line shows it (resend_after_ms).
   */
  resendWait(p: PeerStream): number {
    const rto = this.resendTimeout(p);
    return p.connected ? Math.max(rto, this.drainTime(p, Math.min(p.backlog.length, this.opts.window))) : rto;
  }

  private samplePace(p: PeerStream, msPerByte: number): void {
    p.msPerByte = p.msPerByte ? 0.875 * p.msPerByte + 0.125 * msPerByte : msPerByte;
  }

  /**
   * Twice the time the peer needs to acknowledge the bytes in flight to it (the first n of its
   * backlog that went out), at the pace it acknowledged while our window to it was full; at
   * most MAX_DRAIN_MS. 0 before any such pace was seen (a peer we never filled the window of).
   */
  drainTime(p: PeerStream, n: number): number {
    if (p.msPerByte === 0) return 0;
    let bytes = 0;
    for (let i = 0; i < n; i++) if (p.backlog[i].tries > 0) bytes += p.backlog[i].bytes;
    return Math.min(MAX_DRAIN_MS, 2 * bytes * p.msPerByte);
  }

  /** The first resend's wait: retryMs, or twice the smoothed ack time when acks are slower (at most maxRetryMs). */
  resendTimeout(p: PeerStream): number {
    return Math.max(this.opts.retryMs, Math.min(this.opts.maxRetryMs, 2 * p.srtt));
  }

  /** A background digest slice chain is under way (warmDigests). */
  private warming = false;
  /** Work waiting for warmDigests to hash every changed key (withDigests), in order. */
  private readonly digestWaiters: (() => void)[] = [];
  /** Peers whose round waits there (one each). */
  private readonly roundsWaiting = new Set<PeerStream>();

  /**
   * With pacing (a server): folds changed keys into the range digests a slice per event-loop
   * turn, whenever many are waiting, so a digest (Store.digestsAt) has little left to hash.
   * Each turn hashes at least as many keys as changed since its previous turn (up to
   * WARM_SHARE_MAX), then for the rest of its slice: with only the slice, a write flood
   * changed keys faster than it hashed them, and the first digest after it (a peer's return)
   * hashed the rest in one turn — PINGs to the node then waited 2-5 s (2026-11-27). The share
   * costs the writing turns what hashing their keys costs, a fraction of capturing them.
   * When none are left, the work that waited for it runs (withDigests).
   */
  private warmDigests(): void {
    if (!this.pacing || this.warming || this.rep.store.dirtyCount < this.opts.digestsSlicedFrom) return;
    // While no link is up and nothing waits for a digest, no digest is coming: the keys are
    // hashed when one is asked for (a link's return starts a round, which waits here for them:
    // withDigests), each once however often it was written meanwhile. Hashing them as written
    // was ~15% of a node's CPU per SET while its only peer was down.
    if (this.digestWaiters.length === 0 && !this.anyLinkUp()) return;
    this.warming = true;
    const store = this.rep.store;
    let seen = store.dirtied;
    const step = () => {
      const owed = Math.min(WARM_SHARE_MAX, store.dirtied - seen);
      seen = store.dirtied;
      if (!store.hashSome(this.pacing!.slice(), owed)) { this.pacing!.later(step); return; }
      this.warming = false;
      const due = this.digestWaiters.splice(0);
      for (const fn of due) fn();
    };
    step();
  }

  /** Whether some peer's link is up (PeerStream.connected). */
  private anyLinkUp(): boolean {
    for (const p of this.peers.values()) if (p.connected) return true;
    return false;
  }

  /**
   * Runs fn, which needs current digests, now — or, with pacing and many changed keys not yet
   * hashed, once warmDigests has hashed them all (in order with what already waits). Waiting is
   * what a slow network does to the message or round it serves: nothing relies on its timing.
   */
  private withDigests(fn: () => void): void {
    const store = this.rep.store;
    if (!this.pacing || (this.digestWaiters.length === 0 && store.dirtyCount < this.opts.digestsSlicedFrom)) { fn(); return; }
    this.digestWaiters.push(fn);
    this.warmDigests();
  }

  /** Starts an anti-entropy round with p: send our digests (once they are current: withDigests). */
  antiEntropyWith(p: PeerStream): void {
    if (this.roundsWaiting.has(p)) return;
    this.roundsWaiting.add(p);
    this.withDigests(() => {
      this.roundsWaiting.delete(p);
      if (this.peers.get(p.id) === p) this.sendDigest(p); // (unless removed meanwhile)
    });
  }

  /**
   * Our open round that asks a peer for a full copy, if one is: a round we started with an
   * empty store (a new node, or one restarted empty or from its file), still showing life
   * (roundTimeout). While it is open no other peer sends us its states:
   *   - our digests to the others are probes (sendDigest): a peer whose state equals ours
   *     answers MSG_SAME as to any digest (an empty cluster's nodes, booting together, find
   *     each other equal at once: GC's quorum and loaded-keys.ts wait for that), any other
   *     peer leaves it unanswered; their rounds proper (heldBack) start once the copy has
   *     landed, and compare a nearly equal state then;
   *   - we leave every peer's DIGEST that differs from our state unanswered, the copying
   *     peer's too (answering one asks that peer's states back: a second copy), except an
   *     empty node's (nothing comes back from it, and two empty nodes each catching up from
   *     the other would wait for each other's round to time out).
   * Before, every peer that answered an empty node sent it a whole copy (3 nodes, 3,000 keys:
   * 5,936 keys sent), and with N peers it joined N copies. A copying peer that dies mid-copy
   * shows no life: the round ends after roundTimeout, and the next peer held back is asked
   * for the copy; at once when our link to it goes down (its process died: the connection
   * closed, and the copy went with it), not after that timeout.
   */
  private catchingUp(): PeerStream | undefined {
    const now = this.now();
    for (const q of this.peers.values()) if (q.roundCatchUp && q.roundC0 !== 0 && q.connected && now - q.roundAt < this.roundTimeout(q)) return q;
    return undefined;
  }

  /**
   * Whether a link of ours is still on its first dial (connected, as a new link starts, and no
   * node known behind it yet: no HELLO, no answer): its coming up starts a round (peer-link.ts
   * up), which asks one peer for a full copy while we hold nothing (sendDigest: a catch-up
   * round, catchingUp). An empty node leaves a non-empty peer's DIGEST unanswered meanwhile
   * (answerDigest): answering asks that peer for its whole state, and the round asks one more.
   * A restarted server listens before its links dial (active-active.ts), and a peer whose own
   * link to it came up first (its reconnect) sent its DIGEST then: 6,000 keys received for
   * 3,000 (active-active-catch-up.test.ts, once in a full test run; simulation/anti-entropy-cost).
   * Once the links are up, catchingUp covers the copy; a DIGEST from a node none of them
   * reaches (a one-sided CRDT.PEER ADD) is answered then as before.
   */
  private linkDialling(): boolean {
    for (const [link, q] of this.peers) {
      if (q.connected && !q.duplicateOf && q.expired === undefined && !this.linkIds.has(link) && !this.peerIds.has(link)) return true;
    }
    return false;
  }

  private sendDigest(p: PeerStream): void {
    const copying = this.catchingUp();
    if (copying === p) { this.stats.antiEntropySkipped++; return; } // (its copy is on its way)
    const probe = copying !== undefined;
    if (probe) this.heldBack.add(p);
    const w = new Writer();
    w.u8(MSG_DIGEST);
    const ranges = this.rep.store.keys.size >= this.opts.fineRangesFrom ? SLOTS : COARSE_RANGES;
    const digests = this.rep.store.digestsAt(ranges);
    w.u16(ranges % SLOTS); // (16384 travels as 0)
    w.u32s(digests);
    const c0 = this.rep.hlc.tick(); // c0: our state now holds all our writes below here
    this.sentDigests.set(c0, { ranges, digests });
    if (this.sentDigests.size > 16) this.sentDigests.delete(this.sentDigests.keys().next().value!);
    w.f64(c0);
    // (stability: the non-final entries, and each name's watermark as its incarnation stable without bound)
    writeVector(w, [...this.stable, ...[...this.final.ids()].map((n): [string, number] => [n, Number.MAX_SAFE_INTEGER])]);
    writeVector(w, this.knowledge()); // what our state holds now (the peer learns it: causal delivery)
    w.f64(this.now()); // our clock as the digests were taken (the peer's removalHorizon for us)
    // the stability our collection used for the digests: the peer collects alike before comparing
    // (with each fact's age: a peer whose grace period is longer waits for the rest of it)
    // (the final incarnations as one (id, MAX_SAFE_INTEGER) entry per name's watermark)
    const gc: [string, number][] = [...this.gcStable, ...[...this.gcFinal.ids()].map((n): [string, number] => [n, Number.MAX_SAFE_INTEGER])];
    const now = this.now();
    w.u16(gc.length);
    for (const [n, ts] of gc) { w.node(n); w.f64(ts); w.f64(Math.max(0, now - (this.gcSince.get(n) ?? now))); }
    w.u8(probe ? 1 : 0); // (a probe: answered only if equal, catchingUp)
    const streaming = this.streamingOrigins();
    w.u16(streaming.size); // (the peer leaves out what these streams are bringing us: streamsExplain)
    for (const n of streaming) w.node(n);
    p.roundGc = gc;
    p.lastAntiEntropy = this.now();
    p.roundC0 = c0;
    p.roundAt = p.lastAntiEntropy;
    p.roundFine = ranges === SLOTS;
    // (not when the link is not up yet — a booting node's first digests go nowhere: its
    // copy is asked for by the round the link's coming up starts, peer-link.ts; counted as a
    // catch-up round, that one was held back, and the copy waited for roundTimeout, 2.4 s
    // instead of 0.4 s with 3 real servers)
    p.roundCatchUp = !probe && this.rep.store.keys.size === 0 && !(p.send as Send).closed?.();
    this.stats.antiEntropyRounds++;
    if (p.roundCatchUp) this.stats.catchUpRounds++;
    this.out(p.send, w.done(), p.reset);
  }

  /**
   * A message from peer `from`; `reply` answers on the same path. While a Lua script is
   * paused, messages wait (in arrival order) until it ends: applying one writes the keyspace.
   */
  onMessage(from: string, msg: Buffer, reply: Send): void {
    if (this.deferred.length > 0 || this.rep.keyspaceBusy()) {
      this.deferred.push([from, msg, reply]);
      if (this.deferred.length === 1) this.rep.whenKeyspaceFree(() => this.handleDeferred());
      return;
    }
    this.handleMessage(from, msg, reply);
  }

  private handleDeferred(): void {
    while (this.deferred.length > 0) {
      if (this.rep.keyspaceBusy()) return this.rep.whenKeyspaceFree(() => this.handleDeferred());
      const [from, msg, reply] = this.deferred.shift()!;
      this.handleMessage(from, msg, reply);
    }
  }

  private handleMessage(from: string, msg: Buffer, reply: Send): void {
    const r = new Reader(msg);
    switch (r.u8()) {
      case MSG_DELTA: {
        const epoch = r.f64(), seq = r.f64(), base = r.f64();
        const origin = r.node(), after = r.f64(), h = r.f64(), deps = readVector(r), batch = r.bytes();
        if (this.refused(from, origin, reply)) return;
        this.onDelta(from, epoch, seq, base, { origin, after, h, deps, batch }, reply);
        return;
      }
      case MSG_ACK: {
        const epoch = r.f64(), seq = r.f64();
        if (this.refused(from, undefined, reply)) return;
        const p = this.peers.get(from);
        if (!p || p.epoch !== epoch || seq <= p.ackedSeq) return;
        p.acked += seq - p.ackedSeq;
        p.ackedSeq = seq;
        p.gapped = false;
        p.lastAckAt = this.now();
        let ackedBytes = 0;
        while (p.backlog.length && p.backlog[0].seq <= seq) {
          const done = p.backlog.shift()!;
          p.backlogBytes -= done.bytes;
          ackedBytes += done.bytes;
          // ack time of a batch sent once (a resent one's ack could answer either send)
          if (done.seq === seq && done.tries === 1) {
            const sample = Math.max(0, p.lastAckAt - done.sentAt);
            p.srtt = p.srtt ? 0.875 * p.srtt + 0.125 * sample : sample;
            // (and the pace, when the peer had enough bytes to work through that they, not the
            // link's latency, made most of the wait)
            if ((done.ahead ?? 0) >= PACE_SAMPLE_BYTES) this.samplePace(p, sample / done.ahead!);
          }
        }
        // The pace at which the peer works through a full window (drainTime): bytes acknowledged
        // since the previous ack left it full (the time between two acks of a link with more
        // to send than the window admits is the peer's, not the sender's).
        if (p.fullSince > 0 && ackedBytes > 0) this.samplePace(p, (p.lastAckAt - p.fullSince) / ackedBytes);
        p.fullSince = p.backlog.length > this.opts.window ? p.lastAckAt : 0;
        // the window moved: send what it now admits
        const now = this.now();
        const n = Math.min(p.backlog.length, this.opts.window);
        for (let i = 0; i < n; i++) if (p.backlog[i].tries === 0) this.sendDelta(p, p.backlog[i], now);
        return;
      }
      case MSG_DIGEST: {
        const ranges = r.u16() || SLOTS;
        if (!validRangeCount(ranges)) throw new Error(`anti-entropy digest of ${ranges} ranges`);
        const theirs = r.u32s(ranges * 2);
        const c0 = r.f64();
        const stable = readVector(r);
        const held = readVector(r);
        const at = r.remaining >= 8 ? r.f64() : 0; // (0: a sender that does not say)
        let gc: [string, number, number][] | undefined; // (a sender that does not say: undefined)
        if (r.remaining > 0) { gc = []; for (let n = r.u16(); n > 0; n--) gc.push([r.node(), r.f64(), r.f64()]); }
        const probe = r.remaining > 0 && r.u8() === 1; // (its sender is getting a full copy from another node: catchingUp)
        // (the nodes whose delta streams into the sender are moving: streamsExplain)
        const streaming = new Set<string>();
        if (r.remaining > 0) for (let n = r.u16(); n > 0; n--) streaming.add(r.node());
        if (this.refused(from, held[0]?.[0], reply)) return; // (knowledge() puts the sender's own id first)
        for (const [n, ts] of stable) this.learnStable(n, ts);
        if (gc) this.learnGcStable(gc);
        // A large answer is being joined here (joinSliced): our states are partly what it
        // leaves behind, and comparing them costs a digest. Unanswered, like a lost DIGEST;
        // the next one compares the whole.
        if (this.joining > 0) { this.stats.antiEntropySkipped++; return; }
        this.withDigests(() => this.answerDigest(from, reply, ranges, theirs, c0, held, at, gc, probe, streaming));
        return;
      }
      case MSG_SAME: {
        const c0 = r.f64(), id = r.node();
        if (this.refused(from, id, reply)) return;
        // their state equalled ours at c0, and ours still holds all of that: we hold all they held
        this.learn(readVector(r));
        const p = this.peers.get(from);
        if (!p) return;
        p.divergentRanges = 0;
        this.heldBack.delete(p); // (a probe found us equal: no round proper is needed)
        if (c0 === p.roundC0) p.roundC0 = 0;
        if (!this.answeredBy(from, id)) return;
        this.wholeView?.(from, r.f64());
        this.holdsOurWrites(p, nodeName(id), c0);
        return;
      }
      case MSG_RANGES: {
        const wantBack = r.u8() === 1;
        const role = r.u8(), round = r.f64(), send = r.f64(), idx = r.u16(), count = r.u16(), of = r.u16() || SLOTS;
        if (!validRangeCount(of)) throw new Error(`anti-entropy states of ${of} ranges`);
        const vector = readVector(r);
        const n = r.u16();
        const ranges: number[] = [];
        for (let i = 0; i < n; i++) ranges.push(r.u16());
        const batch = r.bytes();
        const horizon = r.f64();
        if (this.refused(from, vector[0]?.[0], reply)) return;
        if (batch.length >= 4) this.stats.keysReceived += batch.readUInt32LE(0); // (a batch starts with its key count)
        // (the states asked back go unsent, like a lost message, while our answer to that node's
        // own DIGEST is going out on our other connection to it: that answer holds them, and a
        // new node was sent two full copies at once — the second one encoded for nothing, since
        // a node joining a large answer drops the next, joinSliced)
        if (wantBack && this.answeringNode(vector[0]?.[0], from)) this.stats.antiEntropySkipped++;
        else if (wantBack) this.sendBack(from, ranges, of, round, reply);
        const p = role === ROLE_REPLY ? this.peers.get(from) : undefined;
        if (p && round === p.roundC0) p.roundAt = this.now();
        if (p && idx === 0) p.divergentRanges = ranges.length; // (the first chunk lists the ranges that differed)
        // (a complete answer to our DIGEST is the peer's whole state: wholeView, once joined)
        const whole = role === ROLE_REPLY && this.wholeView ? () => this.wholeView!(from, horizon) : undefined;
        if (this.chunkArrived(`${from}|${role}|${round}|${send}`, idx, count, vector, batch, whole) && p && round === p.roundC0) p.roundC0 = 0;
        return;
      }
      case MSG_REFUSED: {
        // A peer expired this incarnation of ours: it will take nothing from us again. Only a
        // restart empty (a new incarnation id) brings this node back into the group.
        const by = r.node(), who = r.node();
        if (who !== this.rep.nodeId) return;
        const known = this.refusedBy.get(nodeName(by));
        const newer = known === undefined || olderIncarnation(known.id, by);
        if (newer) {
          this.warn(`CRDT: peer ${by} refuses this node (${who}): it expired us after crdt-peer-gc-timeout without contact. ` +
            `Restart this node empty to rejoin; writes made here since then will not reach it`);
        }
        if (newer || known.id === by) this.refusedBy.set(nodeName(by), { id: by, at: this.now() });
        return;
      }
    }
  }

  /**
   * Our link to the node a message came from: `from` itself when it is one of our links (an
   * answer to what we sent on it), else — a message the node sent on its own connection to us,
   * which the transport names apart (peer-link.ts: `in:<id>`) — our link identified as that
   * node incarnation, `sender` (by its HELLO, linkIds, or a round's MSG_SAME, peerIds). What a
   * peer's DIGEST tells about the peer (divergent ranges, our crossing round, its collection
   * lag, answeredAt) lives on that link. A link standing aside (duplicateOf) is not it. None
   * when we have no link to that incarnation (it is not our configured peer, or our link to it
   * is not identified yet, or still names an earlier incarnation): the DIGEST is answered as
   * one from an unconfigured node, with no round of ours with it to cross.
   */
  private linkOf(from: string, sender: string | undefined): PeerStream | undefined {
    const own = this.peers.get(from);
    if (own) return own;
    if (sender === undefined) return undefined;
    for (const [link, q] of this.peers) {
      if (q.duplicateOf) continue;
      if ((this.linkIds.get(link) ?? this.peerIds.get(link)) === sender) return q;
    }
    return undefined;
  }

  /**
   * Compares a peer's DIGEST (of round c0, taken at `at` on the peer's clock) with our digests
   * and answers it (handleMessage; once they are current).
   */
  private answerDigest(from: string, reply: Send, ranges: number, theirs: Uint32Array, c0: number, held: [string, number][], at: number,
                       gc?: [string, number, number][], probe = false, streaming: ReadonlySet<string> = new Set()): void {
    const diff = this.rep.store.differingRanges(theirs, ranges);
    if (diff.length && this.sweepDue) {
      // (the peer collected with stability we only now took over: collect alike, then compare
      // again, once the keys the sweep changed are hashed)
      this.collectGarbage(this.now());
      this.withDigests(() => this.answerDigest(from, reply, ranges, theirs, c0, held, at, gc, probe, streaming));
      return;
    }
    const p = this.linkOf(from, held[0]?.[0]);
    if (diff.length === 0) {
      if (p) { p.divergentRanges = 0; p.staleSkips = 0; }
      // our state equals theirs at c0: we hold all they held then, and they held all we hold
      this.noteSame(held[0]?.[0], at);
      this.learn(held);
      this.answeredSame(p, held[0]?.[0]);
      const w = new Writer();
      w.u8(MSG_SAME); w.f64(c0); w.node(this.rep.nodeId);
      writeVector(w, this.knowledge());
      w.f64(this.removalHorizon(held[0]?.[0]));
      this.out(reply, w.done());
      return;
    }
    // (a probe, or a full copy on its way to us from one peer, answering would bring a second: catchingUp)
    const empty = theirs.every((x) => x === 0);
    if (probe || (this.catchingUp() && !empty)) { this.stats.antiEntropySkipped++; return; }
    // (we hold nothing, and a link of ours still dialling will ask one peer for the copy: answering asks this one too)
    if (!empty && this.rep.store.keys.size === 0 && this.linkDialling()) { this.stats.antiEntropySkipped++; return; }
    // (back from a stall: what the input queued meanwhile brings is not in our state yet)
    if (this.backFromStall(this.now())) { this.stats.antiEntropySkipped++; return; }
    // (a stale digest's differences are not ours: divergent_ranges keeps the last real comparison)
    if (p && this.staleDigest(p, held[0]?.[0], gc, empty)) { this.stats.antiEntropySkipped++; return; }
    if (p) p.divergentRanges = diff.length;
    if (this.streamCarries(from, held, streaming)) { this.stats.antiEntropySkipped++; return; }
    if (this.joining > 0) { this.stats.antiEntropySkipped++; return; } // (a join began while this waited: as above)
    if (p) p.answeredAt = this.now();
    // Our answer to this peer's previous DIGEST is still going out (pump): a second one
    // now would send the same states again, behind it (a new node's digests, a period
    // apart, each queued another full copy). Unanswered, like a lost DIGEST.
    if (this.answers.get(from)?.some((a) => a.role === ROLE_REPLY)) { this.stats.antiEntropySkipped++; return; }
    // Likewise while we are sending that node our states on our other connection to it (the
    // states it asked back after answering our DIGEST): a returning or new peer's first
    // digest and ours cross, and answering both sends it two full copies at once (a peer's
    // digest used to be held back by the delta backlog we kept for it while it was down;
    // parked drops that backlog now). Measured effect on a 300k-key catch-up: unclear
    // (42.6 s without, load 8-12; 24.0 / 39.6 s with, load 18-21).
    if (this.answeringNode(held[0]?.[0], from)) { this.stats.antiEntropySkipped++; return; }
    // (what they held is learned once their states come back: they send their knowledge then)
    this.sendRanges(from, diff, ranges, true, reply, ROLE_REPLY, c0, true, this.removalHorizon(held[0]?.[0]));
  }

  /**
   * Incarnation `id` answers on our link `link` (MSG_SAME, answeredSame). False, and nothing
   * learned, when the link already knows a newer incarnation of that node: a delayed message
   * of one since restarted says nothing of the node's state now (taken as news, it marked the
   * live incarnation departed — final everywhere — once answeredSame learned the restart
   * before the old incarnation's last MSG_SAME arrived: simulation seeds 476, 1286, 1894).
   */
  private answeredBy(link: string, id: string): boolean {
    const was = this.peerIds.get(link);
    if (was !== undefined && olderIncarnation(id, was)) return false;
    if (was !== id) {
      // The peer restarted (a new incarnation id): the old one's writes are final — those
      // that reached anybody are in some replica's state, the rest are lost.
      if (was) this.departed.set(was, this.rep.hlc.tick());
      this.peerIds.set(link, id);
    }
    this.identify(link, id);
    return true;
  }

  /**
   * Node `name` (on our link p) holds every write of ours below c0: our stable point rises to
   * the minimum over the GC quorum.
   */
  private holdsOurWrites(p: PeerStream, name: string, c0: number): void {
    if (c0 > (this.covered.get(name) ?? 0)) { this.covered.set(name, c0); if (!p.duplicateOf) this.trimBacklog(p, c0); }
    let min = Infinity;
    for (const c of this.covered.values()) min = Math.min(min, c);
    if (!(min > 0 && min < Infinity)) return;
    this.quorumReached(min);
  }

  /**
   * Node `id`'s DIGEST equals our state now (answerDigest): its state when it took the digests
   * held every write of ours our state holds, as much as a MSG_SAME to a round of ours would
   * say. Learning it only from MSG_SAME left a node's stability stalled for good when its
   * peer never answered its DIGESTs "same": the simulator's adjacent nodes start their rounds
   * in the same step each period, the larger id leaves the smaller one's DIGEST unanswered
   * as stale or crossing (staleDigest), and the rounds it does answer carry states (seeds 2378,
   * 2673 with counter reset points collected, 17a: tombstones never went). Only from our link
   * to that node, `p` (linkOf: the DIGEST came back on it, or its HELLO or a MSG_SAME named
   * the incarnation on it), and never from an incarnation older than the one our link knows
   * (a delayed DIGEST of a node since restarted says nothing of its state now).
   */
  private answeredSame(p: PeerStream | undefined, id: string | undefined): void {
    if (p === undefined || id === undefined) return;
    if (!this.answeredBy(p.id, id)) return;
    this.holdsOurWrites(p, nodeName(id), this.rep.hlc.tick());
  }

  /**
   * What this node tells node `to` (a restarted node asking for our whole state) of its
   * tombstone collection: a moment of `to`'s own clock (ms, read by one of its earlier
   * incarnations) by which that node's state held every removal whose key state we dropped;
   * 0 when we dropped none, MAX_SAFE_INTEGER when we cannot say (it keeps its file's unknown
   * keys local). loaded-keys.ts on `to` compares it with its file's time, a reading of the same
   * clock, so no two nodes' clocks are compared: a node whose clock runs ahead of or behind
   * ours gets the same answer (this was our drop time minus gcGraceMs, on our clock, and with
   * our clock 1 h behind a restarted node sent back a key deleted and collected since its RDB).
   *
   * How it is known: when `to`'s DIGEST equals our state (answerDigest), its state when it took
   * the digests (`at`, its clock) was ours of then; if ours then held every write and removal
   * that a dropped key's metadata names (coverage covers `collected`), so did its state: each
   * such key was removed there, or dropped. The earliest such DIGEST kept gives the tightest
   * moment; a file `to` wrote after it holds none of those keys. A DIGEST of an incarnation we
   * expired (peerGcTimeoutMs) does not count: we collected without waiting for it, and its
   * writes are refused — so infinite for `to` itself if expired. A later incarnation's DIGESTs
   * do count (a file the expired one wrote is older than them, so its unknown keys stay local):
   * this was infinite for every incarnation of a name once one had expired, so a node that
   * rejoined empty after an expiry kept every later file's unknown keys local for good.
   */
  private removalHorizon(to: string | undefined): number {
    if (to !== undefined && this.expired.covers(to)) return Number.MAX_SAFE_INTEGER;
    if (!this.droppedAny) return 0;
    for (const same of (to === undefined ? undefined : this.sameAt.get(nodeName(to))) ?? []) {
      if (this.expired.covers(same.id)) continue;
      let holds = true;
      for (const [n, t] of this.collected) if (coveredAt(same.ours, n) < t) { holds = false; break; }
      if (holds) return same.theirs;
    }
    return Number.MAX_SAFE_INTEGER;
  }

  /**
   * INFO crdt's per-peer `removal_horizon_ms`: what removalHorizon tells the node behind `link`
   * now, should it restart from its file (-1: cannot say, so it would keep its file's unknown
   * keys local; 0: nothing collected). Tests wait on it before they restart a node whose file
   * must count as newer than the peers' collection.
   */
  removalHorizonOf(link: string): number {
    const h = this.removalHorizon(this.peerIds.get(link) ?? this.linkIds.get(link));
    return h === Number.MAX_SAFE_INTEGER ? -1 : Math.floor(h);
  }

  /** Node `id`'s DIGEST, taken at `at` on its clock, equals our state now (removalHorizon). */
  private noteSame(id: string | undefined, at: number): void {
    if (id === undefined || !(at > 0)) return;
    const name = nodeName(id);
    let list = this.sameAt.get(name);
    if (!list) this.sameAt.set(name, list = []);
    list.push({ id, theirs: at, ours: this.coverage() });
    if (list.length > SAME_KEPT) list.shift();
  }

  /**
   * Per node: every write of it with a stamp at or below this is in our state (applied, what
   * stability says every replica holds, and our own writes up to our clock); final
   * incarnations by the watermarks (coveredAt).
   */
  private coverage(): Coverage {
    const vv = new Map(this.applied);
    for (const [n, s] of this.stable) if (s - 1 > (vv.get(n) ?? 0)) vv.set(n, s - 1);
    vv.set(this.rep.nodeId, this.rep.hlc.current);
    return { vv, final: this.final.snapshot() };
  }

  /**
   * Our states for `ranges`, in chunks of at most chunkKeys keys; the first asks for theirs
   * back. Every chunk names its anti-entropy round, role, number and the chunk count, so the
   * receiver knows when it has them all (chunkArrived); an answer to a DIGEST also carries
   * what our state holds now (the receiver learns it then). The chunks are our state of now
   * (a snapshot), encoded as pump gets to them.
   */
  private sendRanges(from: string, ranges: number[], of: number, wantBack: boolean, reply: Send, role: number, round: number, withKnowledge = true, horizon = 0): void {
    if (ranges.length === 0) return;
    const groups: number[][] = [];
    let chunk: number[] = [];
    let keys = 0;
    for (const rg of ranges) {
      chunk.push(rg);
      const n = this.rep.store.keysInRange(rg, of);
      keys += n;
      this.stats.answerKeys += n;
      if (keys >= this.opts.chunkKeys) { groups.push(chunk); chunk = []; keys = 0; }
    }
    if (chunk.length || groups.length === 0) groups.push(chunk);
    const vector = withKnowledge ? this.knowledge() : [];
    // (one answer's chunks belong together: a duplicated ask is answered twice, at different
    // moments, and chunks of the two answers must not be mixed into one)
    const send = ++this.sends;
    const snap = this.rep.store.snapshot(ranges, of);
    const chunkAt = (i: number): Buffer => {
      const w = new Writer();
      // The ask travels with the full range list; the states follow in chunks.
      w.u8(MSG_RANGES); w.u8(i === 0 && wantBack ? 1 : 0);
      w.u8(role); w.f64(round); w.f64(send); w.u16(i); w.u16(groups.length); w.u16(of % SLOTS);
      writeVector(w, vector);
      const listed = i === 0 ? ranges : [];
      w.u16(listed.length);
      for (const x of listed) w.u16(x);
      w.bytes(this.rep.store.encodeSnapshot(snap, groups[i], of));
      w.f64(horizon);
      return w.done();
    };
    const queue = this.answers.get(from);
    const answer: Answer = { role, reply, count: groups.length, next: 0, chunk: chunkAt, snap };
    if (queue) { queue.push(answer); return; }
    this.answers.set(from, [answer]);
    this.pump(from);
  }

  /** Whether an answer to node `id` is going out on a connection other than `from`. */
  private answeringNode(id: string | undefined, from: string): boolean {
    if (id === undefined) return false;
    for (const [f, queue] of this.answers) {
      if (f === from || !queue.length) continue;
      const other = this.linkIds.get(f) ?? this.peerIds.get(f);
      if (other === id) return true;
    }
    return false;
  }

  /**
   * Sends the answers queued for a peer link, in order, a slice per event-loop turn (Pacing):
   * an answer that covers a large store (a new node's full copy, a flood's differing slots)
   * took seconds to encode at once, and the node served no client and sent no ack meanwhile.
   * It waits while the link's buffer is full, so what the node sends later (acks, deltas) is
   * not queued behind the rest of a long answer. Without pacing, everything goes at once.
   */
  private pump(from: string): void {
    const queue = this.answers.get(from);
    if (!queue) return;
    const enough = this.pacing ? this.pacing.slice() : () => false;
    while (queue.length) {
      const a = queue[0];
      while (a.next < a.count) {
        if (a.reply.closed?.()) break; // (the link is gone: the receiver drops what it has)
        if (this.pacing && a.reply.backlogged?.() && a.reply.whenDrained) { a.reply.whenDrained(() => this.pump(from)); return; }
        this.out(a.reply, a.chunk(a.next++));
        if (enough()) { this.pacing!.later(() => this.pump(from)); return; }
      }
      queue.shift();
      this.rep.store.release(a.snap);
    }
    this.answers.delete(from);
  }

  /**
   * The states a peer asked back after answering our DIGEST of round c0: the ranges it asked
   * for, and every range our state changed in since c0 (its state equals ours of c0 in the
   * others). So what it receives makes it hold all we hold now, and it can take over our
   * knowledge of now (sendRanges carries it) — not only what we held at c0.
   */
  private sendBack(from: string, asked: number[], of: number, c0: number, reply: Send): void {
    const sent = this.sentDigests.get(c0);
    if (sent && sent.ranges === of) {
      const ranges = this.rep.store.changedSince(sent.digests, of);
      for (const r of asked) ranges.add(r);
      this.sendRanges(from, [...ranges].sort((a, b) => a - b), of, false, reply, ROLE_BACK, c0);
      return;
    }
    // (a round too old to remember: the states go back, but they carry no knowledge)
    this.sendRanges(from, asked, of, false, reply, ROLE_BACK, c0, false);
  }

  /**
   * One anti-entropy chunk arrived. When every chunk of an answer (or of the states sent back
   * after our answer) is here, they are joined together, at once, and we take over what their
   * sender's state held when it sent them (its knowledge: we now hold all of it). Joining
   * chunk by chunk would let a client see a node's later write to one key before its earlier
   * write to another key that travels in a later chunk (causal order across keys).
   */
  private chunkArrived(key: string, idx: number, count: number, vector: [string, number][], batch: Buffer, whole?: () => void): boolean {
    let got = this.chunks.get(key);
    if (!got) {
      got = { at: 0, batches: new Map() };
      this.chunks.set(key, got);
      if (this.chunks.size > 64) this.chunks.delete(this.chunks.keys().next().value!);
    }
    // (an answer that keeps arriving is not expired: a large one, sent in slices at the
    // pace the link drains, can take longer than expireChunks' limit from first to last chunk)
    got.at = this.now();
    got.batches.set(idx, batch);
    if (got.batches.size < count) return false;
    this.chunks.delete(key);
    const batches: Buffer[] = [];
    let keys = 0;
    for (let i = 0; i < count; i++) {
      const b = got.batches.get(i);
      if (b) { batches.push(b); keys += b.readUInt32LE(0); } // (a batch starts with its key count)
    }
    const from = this.opts.slicedJoinFrom;
    if (this.pacing && from > 0 && keys >= from && keys > this.rep.store.keys.size) {
      // A second large answer while one is being joined: dropped, as if a chunk were lost (the
      // next round repairs what it held). A new node is sent two full copies at once — the
      // answer to its digest and the states sent back after it answered the peer's — and
      // joining both side by side did the work twice over the same turns.
      if (this.joining > 0) { this.stats.antiEntropySkipped++; return true; }
      this.joinSliced(batches, vector, whole);
      return true;
    }
    if (this.pacing && from > 0 && keys >= from && this.openJoins) {
      // (the same for a large answer to a node holding more keys than it brings: joinOpen)
      if (this.joining > 0) { this.stats.antiEntropySkipped++; return true; }
      this.joinOpen(batches, vector, this.openJoins, whole);
      return true;
    }
    for (const b of batches) this.stats.rangesRepaired += this.rep.receive(b);
    this.learn(vector);
    whole?.();
    return true;
  }

  /**
   * Joins a complete answer's batches a slice per event-loop turn, with the node's clients
   * answered -LOADING until the last key is in (loading-gate.ts), so none of them sees part of
   * it; then takes over the sender's knowledge, as chunkArrived does at once. A new node's
   * 300k-key full copy joined in one turn held its event loop for 13-60 s (2026-11-27, load
   * 11-35). Peer messages go on being handled between slices (what they apply is hidden by
   * the gate too, and joins commute); deltas that depend on what the answer brings wait for
   * the knowledge taken over at the end, as before.
   */
  private joinSliced(batches: Buffer[], vector: [string, number][], whole?: () => void): void {
    // (INFO's loading_* fields: the answer's bytes, each batch counted as joined once all its keys are)
    const progress = { startedAt: this.now(), totalBytes: batches.reduce((n, b) => n + b.length, 0), loadedBytes: 0 };
    const release = this.rep.holdClients(progress);
    this.joining++;
    this.stats.slicedJoins++;
    let next = 0, entries: [string, KeyState][] | undefined, at = 0;
    const step = () => {
      this.stats.joinSlices++;
      const enough = this.pacing!.slice(JOIN_SLICE_MS);
      for (;;) {
        if (!entries) {
          if (next === batches.length) break;
          entries = decodeBatch(batches[next++]);
          at = 0;
          this.rep.stats.remoteBatches++;
        }
        const to = Math.min(entries.length, at + 64);
        this.stats.rangesRepaired += this.rep.receiveEntries(entries, at, to, false);
        at = to;
        if (at >= entries.length) { entries = undefined; progress.loadedBytes += batches[next - 1].length; }
        if ((entries || next < batches.length) && enough()) { this.pacing!.later(step); return; }
      }
      this.joining--;
      release();
      this.learn(vector);
      this.rep.serveBlocked();
      whole?.();
    };
    step();
  }

  /**
   * Joins a large answer to a node that holds more keys than it brings (a node back from a
   * partition, a restart from its file) a slice per event-loop turn, its clients served
   * between slices: joined in one turn, 100k states held the node's event loop 4.5 s (the
   * restart after a FLUSHALL, test/integration/active-active-flush-crash.test.ts), its clients
   * answered nothing. Unlike joinSliced the node keeps answering (it is not a node whose data
   * is still to come), so what a client observes is each key either before or after its join:
   *  - a key is joined in one receiveEntries call, so a WATCH, a keyspace event, the node's
   *    replicas and its AOF see its change as one write, between two commands;
   *  - a client's command that may write has the keys it names joined first (`ahead`): its
   *    write comes after what the answer brings for them (a DEL removes it, a SET is stamped
   *    later); a command whose keys are not known from its arguments (a script, a flush,
   *    MULTI/EXEC...) finishes the join first, in one go (`rush`); reads go on between slices;
   *  - this node's batches cut meanwhile depend on the answer's knowledge as well (depsOf:
   *    joiningVectors), since a write made here may follow a read of a key already joined.
   * Peers' messages are handled between slices as during joinSliced (joins commute; a batch
   * depending on what the answer brings waits for the knowledge taken over at the end); no
   * round starts, digests go unanswered and a second large answer is dropped while it runs.
   */
  private joinOpen(batches: Buffer[], vector: [string, number][], hooks: OpenJoinHooks, whole?: () => void): void {
    this.joining++;
    this.stats.slicedJoins++;
    this.stats.openJoins++;
    this.joiningVectors.add(vector);
    // Each batch's first key's slot: the answer's chunks hold whole slot ranges in ascending
    // order, so a key of slot s is in the last batch starting at or before s, or the next one.
    const firstSlot = batches.map((b) => { const r = new Reader(b); return r.u32() === 0 ? -1 : slotOf(r.str()); });
    const decoded = new Map<number, [string, KeyState][]>(); // (batches decoded ahead of the slices)
    const taken = new Set<string>(); // (keys `ahead` joined: the slices skip them)
    let next = 0, entries: [string, KeyState][] | undefined, at = 0, rushed = false, ended = false, slices = 0;
    const entriesOf = (i: number): [string, KeyState][] => {
      let e = decoded.get(i);
      if (!e) { e = decodeBatch(batches[i]); decoded.set(i, e); }
      return e;
    };
    const joinOne = (e: [string, KeyState][], i: number) => {
      taken.add(e[i][0]);
      this.stats.rangesRepaired += this.rep.receiveEntries(e, i, i + 1, false);
    };
    const ahead = (keys: string[]) => {
      for (const k of keys) {
        if (taken.has(k)) continue;
        const s = slotOf(k);
        let last = -1, after = -1;
        for (let i = 0; i < batches.length; i++) {
          if (firstSlot[i] === -1) continue;
          if (firstSlot[i] > s) { after = i; break; }
          last = i;
        }
        for (const i of [last, after]) {
          // (batches before the one the slices are in are joined whole; in it, the entries before `at`)
          if (i < 0 || i < next - 1) continue;
          const e = i === next - 1 ? entries : entriesOf(i);
          const j = e ? e.findIndex(([key]) => key === k) : -1;
          if (j >= 0 && !(e === entries && j < at)) { joinOne(e!, j); break; }
        }
      }
    };
    const step = () => {
      if (ended) return; // (a slice put off to a later turn, after a rush ended the join)
      // A script holding the keyspace between its calls (a busy script): not in the middle of it.
      if (!rushed && this.rep.keyspaceBusy()) { this.rep.whenKeyspaceFree(step); return; }
      this.stats.joinSlices++;
      // (a test's fault point, faults.ts: the first slice ends after one group, the next comes 5 s later)
      const stall = !rushed && slices++ === 0 && buggify("crdt-join-stall");
      const enough = rushed ? () => false : stall ? () => true : this.pacing!.slice(JOIN_SLICE_MS);
      for (;;) {
        if (!entries) {
          if (next === batches.length) break;
          entries = decoded.get(next) ?? decodeBatch(batches[next]);
          decoded.delete(next);
          next++;
          at = 0;
          this.rep.stats.remoteBatches++;
        }
        const to = Math.min(entries.length, at + 64);
        if (taken.size === 0) this.stats.rangesRepaired += this.rep.receiveEntries(entries, at, to, false);
        else for (let i = at; i < to; i++) if (!taken.has(entries[i][0])) this.stats.rangesRepaired += this.rep.receiveEntries(entries, i, i + 1, false);
        at = to;
        if (at >= entries.length) entries = undefined;
        if ((entries || next < batches.length) && enough()) {
          if (stall) setTimeout(step, JOIN_STALL_MS);
          else this.pacing!.later(step);
          return;
        }
      }
      ended = true;
      release();
      this.joining--;
      this.joiningVectors.delete(vector);
      this.learn(vector);
      this.rep.serveBlocked();
      whole?.();
    };
    const release = hooks.beforeWrites((keys) => {
      // (a busy script's or a keyspace walk's turn: the join waits for it too, see step)
      if (ended || this.rep.keyspaceBusy()) return;
      if (keys === undefined) { rushed = true; step(); }
      else ahead(keys);
    });
    step();
  }

  /** Drops anti-entropy answers that stopped arriving before they completed (a chunk was lost: the next round repairs). */
  private expireChunks(now: number): void {
    const limit = Math.max(30_000, 10 * this.opts.antiEntropyMs);
    for (const [k, c] of this.chunks) if (now - c.at > limit) this.chunks.delete(k);
  }

  /**
   * What our state holds: all our own writes up to our latest batch's cut time, and every
   * origin's up to `applied`. (Cut times, not clock readings: a receiver meets each of them
   * as some batch's h in that node's stream, so a batch depending on them never waits for
   * more than a stream delivers.)
   */
  private knowledge(): [string, number][] {
    const out: [string, number][] = [[this.rep.nodeId, this.lastCut]];
    for (const [n, ts] of this.applied) if (n !== this.rep.nodeId && ts >= this.stableOf(n)) out.push([n, ts]);
    return out;
  }

  /** Our state holds every write of each node up to the given timestamps: raise `applied`, apply what waited. */
  private learn(v: [string, number][]): void {
    let rose = false;
    for (const [n, ts] of v) {
      if (n === this.rep.nodeId || ts <= (this.applied.get(n) ?? 0) || this.final.covers(n)) continue;
      this.applied.set(n, ts);
      rose = true;
    }
    if (!rose) return;
    this.stats.learned++;
    for (const [from, inb] of this.inbound) this.drain(from, inb);
  }

  /** Whether we hold everything a batch depends on. */
  private ready(b: Held): boolean {
    const me = this.rep.nodeId;
    // (a final origin's batch never is: its writes are everywhere already, and one held
    // since may carry a write that a collected removal killed — refuses says why)
    if (b.origin !== me && (b.after > (this.applied.get(b.origin) ?? 0) || this.final.covers(b.origin))) return false;
    for (const [n, ts] of b.deps) {
      if (n === me || n === b.origin) continue;
      if (ts > (this.applied.get(n) ?? 0) && ts >= this.stableOf(n)) return false;
    }
    return true;
  }

  /** Applies a stream's batches in order while the next one is ready; acknowledges what was applied. */
  private drain(from: string, inb: Inbound): void {
    const start = inb.expected;
    for (let b = inb.held.get(inb.expected); b && this.ready(b); b = inb.held.get(inb.expected)) {
      inb.held.delete(inb.expected);
      inb.origin = b.origin;
      this.rep.receive(b.batch);
      this.appliedBatches++;
      if (b.h > (this.applied.get(b.origin) ?? 0)) this.applied.set(b.origin, b.h);
      inb.expected++;
    }
    let waiting = 0;
    for (const i of this.inbound.values()) waiting += i.held.size;
    this.stats.waiting = waiting;
    if (inb.expected !== start) {
      inb.movedAt = this.now();
      const w = new Writer();
      w.u8(MSG_ACK); w.f64(inb.epoch); w.f64(inb.expected - 1);
      this.out(inb.reply, w.done());
      // what this stream's batches add may be what another stream's next batch waits for
      for (const [f, other] of this.inbound) if (other !== inb) this.drain(f, other);
    }
  }

  private onDelta(from: string, epoch: number, seq: number, base: number, b: Held, reply: (m: Buffer) => void): void {
    let inb = this.inbound.get(from);
    // A sender's epochs only grow: a batch of an older epoch is a stale copy (it must not
    // reset the stream, and what it carries is covered by what replaced it).
    if (inb && epoch < inb.epoch) { this.stats.received++; this.stats.duplicates++; return; }
    if (!inb || inb.epoch !== epoch) {
      // A new stream (a restarted or reset sender, or we restarted): accept from the oldest
      // batch the sender still holds for us (base) — earlier ones we acknowledged, or (a
      // restarted receiver) get by anti-entropy, which the first batch's `after` waits for.
      inb = { epoch, expected: Math.min(base, seq), held: new Map(), reply, movedAt: inb?.movedAt ?? 0 };
      this.inbound.set(from, inb);
    } else if (base > inb.expected) {
      // (the sender dropped what we still wait for: nothing older will come)
      inb.expected = base;
      for (const k of inb.held.keys()) if (k < base) inb.held.delete(k);
    }
    inb.reply = reply;
    this.stats.received++;
    if (seq < inb.expected || inb.held.has(seq)) this.stats.duplicates++;
    else if (seq === inb.expected || inb.held.size < this.opts.window * 2) inb.held.set(seq, b);
    const before = inb.expected;
    this.drain(from, inb);
    if (inb.expected === before) {
      // nothing applied: acknowledge what we have (the sender resends the rest)
      const w = new Writer();
      w.u8(MSG_ACK); w.f64(epoch); w.f64(inb.expected - 1);
      this.out(reply, w.done());
    }
  }

  /** Records that every replica holds node's writes below ts (facts only grow: max). */
  learnStable(node: string, ts: number): void {
    if (ts <= this.stableOf(node)) return;
    if (ts >= Number.MAX_SAFE_INTEGER) {
      this.final.raise(node);
      this.dropFinal();
    } else this.stable.set(node, ts);
    this.stableLog.push([this.now(), node, ts]);
  }

  /**
   * Collection stability a peer's DIGEST carried: its gcStable, each fact with the time since
   * it was learned there (or by whoever it was taken from). A fact was true from then on, so
   * its grace period counts from then: one already past our gcGraceMs is taken over at once,
   * a younger one waits for the rest of it. So nodes collect alike (with equal grace periods,
   * at once), and a digest that differs from our state is compared again after a sweep
   * (answerDigest): the difference may be only metadata the peer collected and we had not yet.
   * Before, each node counted the grace from when it heard of the fact itself — a node
   * partitioned for a while heard seconds after the other — and every round between
   * them meanwhile sent every range that metadata touched both ways.
   */
  private learnGcStable(gc: [string, number, number][]): void {
    const now = this.now();
    for (const [n, ts, age] of gc) {
      if (!(ts > this.gcStableOf(n)) || !(age >= 0)) continue;
      this.learnStable(n, ts);
      const since = now - age;
      if (age >= this.opts.gcGraceMs) {
        this.promoteGc(n, ts, since);
        this.sweepDue = true;
        continue;
      }
      // (the log stays in order of learning: collectGarbage promotes a prefix of it)
      let i = this.stableLog.length;
      while (i > 0 && this.stableLog[i - 1][0] > since) i--;
      this.stableLog.splice(i, 0, [since, n, ts]);
    }
  }

  /** What garbage collection takes as stable for node n (gcStable, or unbounded when gcFinal covers it). */
  private gcStableOf(n: string): number {
    return this.gcFinal.covers(n) ? Number.MAX_SAFE_INTEGER : this.gcStable.get(n) ?? 0;
  }

  /** Collection may use the fact "n is stable below ts", learned at `since`: gcStable, or gcFinal's watermark. */
  private promoteGc(n: string, ts: number, since: number): void {
    if (!(ts > this.gcStableOf(n))) return;
    if (ts < Number.MAX_SAFE_INTEGER) { this.gcStable.set(n, ts); this.gcSince.set(n, since); return; }
    this.gcFinal.raise(n);
    this.gcSince.set(n, since);
    for (const m of this.gcStable.keys()) if (this.gcFinal.covers(m)) { this.gcStable.delete(m); this.gcSince.delete(m); }
    for (const m of this.gcSince.keys()) if (m !== n && this.gcFinal.covers(m)) this.gcSince.delete(m);
  }

  /** gcStable rose since the last sweep (learnGcStable): answerDigest sweeps before it answers. */
  private sweepDue = false;

  /**
   * Whether a peer's DIGEST that differs from our state is left unanswered, as stale or
   * redundant (a lost DIGEST does the same; the next period's round repeats it):
   *   - its collection stability lags what our latest DIGEST to that peer carried: it was
   *     taken before the peer took ours over (learnGcStable), so it still holds metadata we
   *     collected and the peer collects now, and answering sent every range that metadata
   *     touches both ways (after a heal, most of the store). The peer's next DIGEST, or its
   *     answer to ours, compares alike. Only the incarnation those DIGESTs reached (a restarted
   *     or new node gets its copy at once). At most one in a row is left out this way: when both
   *     nodes collect something new every period (a write load) each lags the other at every
   *     crossing, and rounds must still complete;
   *   - our own round with the peer is open (our DIGEST crossed theirs): one answer already
   *     exchanges the differing ranges both ways (answer, then the states asked back), so
   *     answering both sent every differing key four times; the greater node id yields. The
   *     simulator's nodes start their rounds in the same step, so there every round crossed.
   *     Not when the peer's store is empty (every digest 0): it is catching up, and answers no
   *     digest that differs while its copy is coming (catchingUp), ours neither.
   */
  private staleDigest(p: PeerStream, sender: string | undefined, gc: [string, number, number][] | undefined, empty: boolean): boolean {
    if (sender === undefined || gc === undefined) return false;
    // (only for the incarnation our DIGESTs went to: a node restarted empty, or new, has taken
    // nothing over from them, and leaving its first digest out delayed its full copy a period)
    if (p.staleSkips === 0 && this.peerIds.get(p.id) === sender) {
      const theirs = new Map(gc.map(([n, ts]) => [n, ts]));
      const theirFinal = new FinalIncarnations();
      for (const [n, ts] of gc) if (ts >= Number.MAX_SAFE_INTEGER) theirFinal.raise(n);
      const lags = (n: string, t: number) => t > (theirFinal.covers(n) ? Number.MAX_SAFE_INTEGER : theirs.get(n) ?? 0);
      for (const [n, t] of p.roundGc) if (lags(n, t)) { p.staleSkips++; return true; }
      // (nor when we collected with stability the peer has not heard of yet: our DIGEST goes to
      // it instead, with those facts, and it collects alike before it answers — learnGcStable.
      // Under a steady write load rounds are rare, a node's collection runs ahead of what its
      // peers learned of it, and answering sent every range it had just collected in: measured,
      // 3 nodes, 3,000 keys, a write every 10 ms, 5,277 keys sent in 60 s, 5,014 of them in
      // three answers of 1,554-1,726 keys; not an empty node's: it is catching up, catchingUp)
      if (!empty) {
        const ours: [string, number][] = [...this.gcStable, ...[...this.gcFinal.ids()].map((n): [string, number] => [n, Number.MAX_SAFE_INTEGER])];
        for (const [n, t] of ours) if (lags(n, t)) { p.staleSkips++; this.antiEntropyWith(p); return true; }
      }
    }
    p.staleSkips = 0;
    const open = p.roundC0 !== 0 && this.now() - p.roundAt < this.roundTimeout(p);
    return open && this.rep.nodeId > sender && !empty;
  }

  /**
   * Forgets what is kept per incarnation for those the watermarks now cover: their
   * stability and applied entries (the watermark answers for them), and the records of their
   * connections to us (an inbound stream, the link id its HELLO proved, unanswered digests).
   */
  private dropFinal(): void {
    for (const n of this.stable.keys()) if (this.final.covers(n)) this.stable.delete(n);
    for (const n of this.applied.keys()) if (n !== this.rep.nodeId && this.final.covers(n)) this.applied.delete(n);
    for (const [link, id] of this.linkIds) {
      if (!this.final.covers(id) || this.peers.has(link)) continue;
      this.linkIds.delete(link);
      this.inbound.delete(link);
      this.answerSkips.delete(link);
    }
  }

  /** The node ids the last sweep was run with (collectGarbage). */
  private sweptWho = "";

  /** The sweep under way in slices (collectGarbage `sliced`), if any. */
  private sweeping?: object;

  /**
   * Promotes stability past its grace period, then runs a GC sweep (gc.ts): `sliced` (the
   * periodic one) over event-loop turns, a slice of GC_SLICE_MS each, while one started
   * earlier goes on (it reads stability as it goes); otherwise in this turn (answerDigest's,
   * which compares digests right after it), ending a sliced one first.
   */
  private collectGarbage(now: number, sliced = false): void {
    let i = 0;
    for (; i < this.stableLog.length && now - this.stableLog[i][0] >= this.opts.gcGraceMs; i++) {
      const [since, n, ts] = this.stableLog[i];
      this.promoteGc(n, ts, since);
    }
    if (i) this.stableLog = this.stableLog.slice(i);
    this.sweepDue = false;
    // Nothing known stable yet (no peer ever found holding our writes: one configured and never
    // up, or every peer down since we started): nothing can be collected, but the periodic sweep
    // still parks and packs the keys written meanwhile (store.ts parkSome), which otherwise
    // stayed state objects for as long (1M SETs: 535 MB of heap against 8 with no peer).
    const unstable = !this.gcStable.size && !this.gcFinal.size;
    if (unstable && !sliced) return;
    if (this.sweeping !== undefined) {
      if (sliced) return;
      this.sweeping = undefined; // (its next slice does nothing: this sweep goes over its keys)
    }
    if (unstable) { this.parkWhileUnstable(); return; }
    const gcStableOf: Stable = (n: string) => this.gcStableOf(n);
    gcStableOf.successor = (n) => [this.rep.nodeId, ...this.peerIds.values()].find((id) => olderIncarnation(n, id));
    // (every id still named by metadata that stays is a candidate for findDeparted, not only
    // the first unstable one a check stopped at)
    // A sweep passes over keys parked on a node whose stability has not risen (store.ts
    // gcParked), unless who is who changed since the last: the ids a parked key names are
    // heard again then (findDeparted: a peer that restarted makes its old id departed), and
    // the acker and successors (gcFinal, peer ids) are part of what a sweep decides.
    const who = `${this.rep.nodeId}|${[...this.peerIds.values()].join(",")}|${[...this.gcFinal.ids()].join(",")}`;
    const full = who !== this.sweptWho;
    this.sweptWho = who;
    const store = this.rep.store;
    const holders = (n: string) => { if (!this.gcFinal.covers(n)) this.unknownIds.add(n); };
    const dropping = (dropped: KeyState) => {
      this.droppedAny = true;
      removalStamps(dropped, (n, t) => { if (t > (this.collected.get(n) ?? 0)) this.collected.set(n, t); });
    };
    const acker = this.acker;
    store.beginSweep(gcStableOf, full);
    const pacing = this.pacing;
    if (!sliced || pacing === undefined) {
      store.sweepSome(gcStableOf, holders, dropping, acker);
      this.pruneCollected();
      return;
    }
    const sweep = {};
    this.sweeping = sweep;
    const step = () => {
      if (this.sweeping !== sweep) return;
      if (!store.sweepSome(gcStableOf, holders, dropping, acker, pacing.slice(GC_SLICE_MS))) { pacing.later(step); return; }
      this.sweeping = undefined;
      this.pruneCollected();
    };
    step();
  }

  /**
   * collectGarbage's sweep while nothing is stable: parks and packs only, sliced as the periodic
   * sweep; changed keys packed unhashed while no digest is coming (warmDigests' rule: no link
   * up, none waited for), else hashed as they are packed.
   */
  private parkWhileUnstable(): void {
    const store = this.rep.store;
    store.beginParking();
    const pacing = this.pacing;
    const lazy = () => this.digestWaiters.length === 0 && !this.anyLinkUp();
    if (pacing === undefined) { store.parkSome(undefined, lazy()); return; }
    const sweep = {};
    this.sweeping = sweep;
    const step = () => {
      if (this.sweeping !== sweep) return;
      if (!store.parkSome(pacing.slice(GC_SLICE_MS), lazy())) { pacing.later(step); return; }
      this.sweeping = undefined;
    };
    step();
  }

  /**
   * Whose counters' reset points this node acknowledges (gc.ts dropBases): its own, and those
   * of its earlier incarnations once final (past the grace period too) — the keys whose
   * states from the file it restarted from are not joined yet are left out by the sweep
   * (Store.gcHold).
   */
  private get acker(): Acker {
    const node = this.rep.nodeId;
    return { acks: (n) => n === node || (olderIncarnation(n, node) && this.gcFinal.covers(n)), stamp: () => this.rep.hlc.tick() };
  }

  /**
   * Drops the components of `collected` for incarnations that departed and are final
   * everywhere (stable at MAX_SAFE_INTEGER): one per incarnation ever seen in a dropped key
   * otherwise stays for good, and a node restarted every few minutes adds one each time.
   * removalHorizon gives the same answers without them: a kept DIGEST whose coverage falls
   * short of such a component can never pass again (collected only grows), so it is dropped
   * with it; every other kept DIGEST covers it, and every later one too (coverage carries
   * the stable point, MAX_SAFE_INTEGER). A dropped key naming the incarnation later adds it
   * again, to be pruned again.
   */
  private pruneCollected(): void {
    for (const [n, t] of this.collected) {
      if (!this.final.covers(n)) continue;
      for (const [name, list] of this.sameAt) {
        const kept = list.filter((same) => coveredAt(same.ours, n) >= t);
        if (kept.length !== list.length) this.sameAt.set(name, kept);
      }
      this.collected.delete(n);
    }
  }

  /**
   * Node ids in our state may be incarnations that crashed (before anybody, or only some
   * nodes, noticed): one is departed when a newer incarnation of the same node (its current
   * id on a peer link, or ours) is answering.
   */
  private findDeparted(): void {
    const current = [this.rep.nodeId, ...this.peerIds.values()];
    for (const id of this.unknownIds) {
      if (this.final.covers(id) || current.includes(id)) { this.unknownIds.delete(id); continue; }
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
   *
   * Why a new epoch, when DELTA's `base` could tell the receiver to skip the dropped prefix
   * within the old one: a copy of a dropped batch still in flight (a resend, a duplicate, a
   * delayed message) then arrives with an older epoch and is discarded as stale (onDelta),
   * so it cannot be applied after the removal it precedes was collected here or there,
   * whatever the delay; within one epoch only gcGraceMs would stand between them. The cost
   * is small where it was measured (2026-11-27): the receiver drops the batches it held
   * early and we resend up to a window of the rest, but trims are rare and most leave no
   * rest: 27 trims in simulator seeds 1-200, which sent 5 messages between them (70k deltas
   * sent in all; a same-epoch version sent 3), and none in a 200k-SET flood
   * (bench/active-active.mjs), where the stream's acks empty the backlog first.
   */
  private trimBacklog(p: PeerStream, c0: number): void {
    if (!p.backlog.length || p.backlog[0].parts[0].h > c0) return;
    // (part by part: a merged message's earlier batches may be at or before c0, its later ones not)
    const rest = p.backlog.flatMap((b) => b.parts).filter((b) => b.h > c0);
    p.epoch = ++this.epochCounter;
    p.nextSeq = 1;
    p.ackedSeq = 0;
    p.backlog = rest.map((b) => ({ seq: p.nextSeq++, parts: [b], bytes: b.batch.length + PENDING_OVERHEAD, sentAt: 0, tries: 0, h: b.h, after: b.after }));
    p.backlogBytes = p.backlog.reduce((n, b) => n + b.bytes, 0);
    const now = this.now();
    for (let i = 0; i < Math.min(p.backlog.length, this.opts.window); i++) this.sendDelta(p, p.backlog[i], now);
  }

  /** Per peer: unacknowledged batches, and ms since the oldest was first sent (lag). */
  peerLag(p: PeerStream): { backlog: number; lagMs: number } {
    const oldest = p.backlog[0];
    return { backlog: p.backlog.length, lagMs: oldest && oldest.sentAt ? Math.max(0, this.now() - oldest.sentAt) : 0 };
  }
}
