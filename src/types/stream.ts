// StreamValue: the value of a Redis stream key, held by the host behind a kernel handle.
//
// Layout (after Redis's t_stream.c: a radix tree keyed by 128-bit IDs whose nodes are
// listpacks of up to stream-node-max-entries entries / stream-node-max-bytes bytes):
//   nodes   StreamNode[]        ordered by their first ID; binary search finds the node of an
//                               ID, as a radix-tree seek does. A node (stream-node.ts) packs
//                               its entries into one buffer like a listpack node (IDs as
//                               deltas from the master entry's, field names shared with it),
//                               and is the unit of approximate (~) trimming. XDEL marks an
//                               entry deleted in place; a node whose entries are all
//                               deleted is dropped
//   lastId, firstId, maxDeletedId, entriesAdded   as Redis's stream struct
//   groups  Map<name, ConsumerGroup>  consumer groups; each has a PEL (IdMap of NACKs) and
//                               consumers, each with its own PEL sharing the NACK objects
// IDs are {ms, seq} pairs of bigint, since both halves are unsigned 64-bit.
// The byte size that closes a node is an estimate of the listpack's size, not its exact
// encoding.
import { OBJ_STREAM, ENC_STREAM, type HostValue } from "./value.js";
import { StreamNode } from "./stream-node.js";

export { StreamNode };

export interface StreamID { ms: bigint; seq: bigint }

export const U64_MAX = 0xffffffffffffffffn;
export const MIN_ID: StreamID = { ms: 0n, seq: 0n };
export const MAX_ID: StreamID = { ms: U64_MAX, seq: U64_MAX };
/** SCG_INVALID_ENTRIES_READ */
export const INVALID_ENTRIES_READ = -1;

export function cmpId(a: StreamID, b: StreamID): number {
  if (a.ms !== b.ms) return a.ms > b.ms ? 1 : -1;
  if (a.seq !== b.seq) return a.seq > b.seq ? 1 : -1;
  return 0;
}

export function idString(id: StreamID): string { return `${id.ms}-${id.seq}`; }
export function isZeroId(id: StreamID): boolean { return id.ms === 0n && id.seq === 0n; }

/** streamIncrID: the successor, or null when id is the last possible ID. */
export function incrId(id: StreamID): StreamID | null {
  if (id.seq === U64_MAX) {
    if (id.ms === U64_MAX) return null;
    return { ms: id.ms + 1n, seq: 0n };
  }
  return { ms: id.ms, seq: id.seq + 1n };
}

/** streamDecrID: the predecessor, or null when id is 0-0. */
export function decrId(id: StreamID): StreamID | null {
  if (id.seq === 0n) {
    if (id.ms === 0n) return null;
    return { ms: id.ms - 1n, seq: U64_MAX };
  }
  return { ms: id.ms, seq: id.seq - 1n };
}

/** Redis's string2ull: decimal digits only (a leading + is not accepted), fits u64. */
function string2ull(s: string): bigint | null {
  if (!/^[0-9]{1,20}$/.test(s)) return null;
  const v = BigInt(s);
  return v > U64_MAX ? null : v;
}

export interface ParsedId { id: StreamID; seqGiven: boolean }

/**
 * streamGenericParseIDOrReply: "<ms>-<seq>", "<ms>" (seq = missingSeq), "-" and "+" unless
 * strict, and "<ms>-*" when allowSeqAuto (XADD). Null when invalid.
 */
export function parseId(s: string, missingSeq: bigint, strict: boolean, allowSeqAuto = false): ParsedId | null {
  if (s.length > 127) return null;
  if (strict && (s === "-" || s === "+")) return null;
  if (s === "-") return { id: { ms: 0n, seq: 0n }, seqGiven: true };
  if (s === "+") return { id: { ms: U64_MAX, seq: U64_MAX }, seqGiven: true };
  const dash = s.indexOf("-");
  const ms = string2ull(dash >= 0 ? s.slice(0, dash) : s);
  if (ms === null) return null;
  if (dash < 0) return { id: { ms, seq: missingSeq }, seqGiven: true };
  const rest = s.slice(dash + 1);
  if (allowSeqAuto && rest === "*") return { id: { ms, seq: 0n }, seqGiven: false };
  const seq = string2ull(rest);
  if (seq === null) return null;
  return { id: { ms, seq }, seqGiven: true };
}

/** Roughly what an element costs in a listpack (encoding header + bytes + backlen). */
function lpElementSize(len: number): number { return len + (len < 64 ? 2 : len < 4096 ? 4 : 10); }

/** One entry as the iterators hand it out. */
export interface StreamEntry { id: StreamID; node: StreamNode; slot: number }

// ---- consumer groups --------------------------------------------------------------------------

/** An ordered map keyed by stream ID (Redis uses a rax for PELs): sorted arrays + binary search. */
export class IdMap<V> {
  ids: StreamID[] = [];
  vals: V[] = [];
  get size(): number { return this.ids.length; }
  /** Index of the first key >= id. */
  lowerBound(id: StreamID): number {
    let lo = 0, hi = this.ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmpId(this.ids[mid], id) < 0) lo = mid + 1; else hi = mid;
    }
    return lo;
  }
  get(id: StreamID): V | undefined {
    const i = this.lowerBound(id);
    return i < this.ids.length && cmpId(this.ids[i], id) === 0 ? this.vals[i] : undefined;
  }
  /** raxTryInsert: false (and no change) when the key exists. */
  tryInsert(id: StreamID, v: V): boolean {
    const n = this.ids.length;
    if (n === 0 || cmpId(this.ids[n - 1], id) < 0) {
      this.ids.push(id);
      this.vals.push(v);
      return true;
    }
    const i = this.lowerBound(id);
    if (i < n && cmpId(this.ids[i], id) === 0) return false;
    this.ids.splice(i, 0, id);
    this.vals.splice(i, 0, v);
    return true;
  }
  set(id: StreamID, v: V): void {
    if (!this.tryInsert(id, v)) this.vals[this.lowerBound(id)] = v;
  }
  delete(id: StreamID): boolean {
    const i = this.lowerBound(id);
    if (i >= this.ids.length || cmpId(this.ids[i], id) !== 0) return false;
    this.ids.splice(i, 1);
    this.vals.splice(i, 1);
    return true;
  }
}

export interface Nack {
  deliveryTime: number;
  deliveryCount: number;
  consumer: Consumer | null;
}

export class Consumer {
  readonly pel = new IdMap<Nack>();
  constructor(readonly name: string, public seenTime: number) {}
}

export class ConsumerGroup {
  readonly pel = new IdMap<Nack>();
  readonly consumers = new Map<string, Consumer>();
  constructor(public lastId: StreamID, public entriesRead: number) {}

  /** Consumers in name order (Redis keeps them in a rax, so replies list them sorted). */
  sortedConsumers(): Consumer[] {
    return [...this.consumers.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** streamDelConsumer: drops the consumer and its pending entries from the group PEL. */
  deleteConsumer(c: Consumer): void {
    for (const id of c.pel.ids) this.pel.delete(id);
    this.consumers.delete(c.name);
  }
}

// ---- trimming ---------------------------------------------------------------------------------

export const TRIM_NONE = 0, TRIM_MAXLEN = 1, TRIM_MINID = 2;

export interface TrimArgs {
  strategy: number;
  approx: boolean;
  /** Maximum entries removed; 0 is no limit. */
  limit: number;
  maxlen: number;
  minid: StreamID;
}

// ---- the stream ---------------------------------------------------------------------------------

export class StreamValue implements HostValue {
  readonly type = OBJ_STREAM;
  nodes: StreamNode[] = [];
  length = 0;
  lastId: StreamID = { ms: 0n, seq: 0n };
  firstId: StreamID = { ms: 0n, seq: 0n };
  maxDeletedId: StreamID = { ms: 0n, seq: 0n };
  entriesAdded = 0;
  groups = new Map<string, ConsumerGroup>();

  encoding(): number { return ENC_STREAM; }

  /** freeStream: each node, then each group's PEL entries and consumers. */
  release(): void { this.releaseSome(Infinity); }

  /** Frees up to `budget` nodes and PEL entries (src/server/lazyfree.ts); whether the stream is empty now. */
  releaseSome(budget: number): boolean {
    let n = 0;
    while (n < budget && this.nodes.length) { this.nodes.pop(); n++; }
    for (const g of this.groups.values()) {
      while (n < budget && g.pel.ids.length) { g.pel.ids.pop(); g.pel.vals.pop(); n++; }
      if (n >= budget) return false;
      g.consumers.clear();
    }
    if (this.nodes.length) return false;
    this.groups.clear();
    this.length = 0;
    return true;
  }

  /**
   * streamAppendItem's tail: stores an entry under an ID the caller checked is greater than
   * lastId. A new node starts when the tail's entries (live + deleted) reach maxEntries or its
   * bytes would reach maxBytes (0 means the listpack limit).
   */
  append(id: StreamID, elems: Buffer[], maxEntries: number, maxBytes: number): void {
    let total = 0;
    let bytes = 4;
    for (const e of elems) { total += e.length; bytes += lpElementSize(e.length); }
    let tail = this.nodes.length ? this.nodes[this.nodes.length - 1] : null;
    if (tail) {
      const nodeMax = maxBytes === 0 || maxBytes > 0x3fffffff ? 0x3fffffff : maxBytes;
      if (tail.bytes + total >= nodeMax) tail = null;
      else if (maxEntries && tail.live + tail.tombstones >= maxEntries) tail = null;
    }
    if (!tail) {
      if (this.nodes.length) this.nodes[this.nodes.length - 1].seal();
      tail = new StreamNode(Math.min(Math.max(maxEntries, 1), 8));
      this.nodes.push(tail);
    }
    tail.push(id, elems, bytes);
    this.length++;
    this.entriesAdded++;
    this.lastId = id;
    if (this.length === 1) this.firstId = id;
  }

  /** Index of the node that may hold id: the last node whose first ID <= id (0 when none). */
  private nodeIndexFor(id: StreamID): number {
    let lo = 0, hi = this.nodes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cmpId(this.nodes[mid].firstId(), id) <= 0) lo = mid + 1; else hi = mid;
    }
    return Math.max(0, lo - 1);
  }

  /** Live entries with start <= ID <= end, in order (reverse when rev). */
  *range(start: StreamID, end: StreamID, rev = false): Generator<StreamEntry> {
    if (cmpId(start, end) > 0 || this.nodes.length === 0) return;
    if (!rev) {
      for (let n = this.nodeIndexFor(start); n < this.nodes.length; n++) {
        const node = this.nodes[n];
        for (let i = node.lowerBound(start); i < node.slots; i++) {
          if (node.isDeleted(i)) continue;
          const id = node.idAt(i);
          if (cmpId(id, end) > 0) return;
          yield { id, node, slot: i };
        }
      }
    } else {
      for (let n = this.nodeIndexFor(end); n >= 0; n--) {
        const node = this.nodes[n];
        let i = node.lowerBound(end);
        if (i >= node.slots || cmpId(node.idAt(i), end) > 0) i--;
        for (; i >= 0; i--) {
          if (node.isDeleted(i)) continue;
          const id = node.idAt(i);
          if (cmpId(id, start) < 0) return;
          yield { id, node, slot: i };
        }
      }
    }
  }

  fields(e: StreamEntry): Buffer[] { return e.node.entry(e.slot); }

  /** The live entry with this ID, or null. */
  find(id: StreamID): StreamEntry | null {
    for (const e of this.range(id, id)) return e;
    return null;
  }

  /** streamLastValidID: the last live ID (0-0 when empty). */
  lastValidId(): StreamID {
    for (const e of this.range(MIN_ID, MAX_ID, true)) return e.id;
    return { ms: 0n, seq: 0n };
  }

  /**
   * streamGetEdgeID(s, 1, 0): the first entry's ID, deleted entries included; the maximum ID
   * when the stream has no node (what an approximate MINID trim propagates as its threshold).
   */
  firstEdgeId(): StreamID {
    return this.nodes.length > 0 ? this.nodes[0].firstId() : MAX_ID;
  }

  /** The first live ID, or null when empty. */
  firstValidId(): StreamID | null {
    for (const e of this.range(MIN_ID, MAX_ID)) return e.id;
    return null;
  }

  /** Marks one entry deleted (streamIteratorRemoveEntry); a node left with none is dropped. */
  private removeAt(node: StreamNode, slot: number): void {
    node.markDeleted(slot);
    node.live--;
    node.tombstones++;
    this.length--;
    if (node.live === 0) this.nodes.splice(this.nodes.indexOf(node), 1);
  }

  /** streamDeleteItem plus XDEL's bookkeeping of firstId and maxDeletedId. */
  deleteId(id: StreamID): boolean {
    const e = this.find(id);
    if (!e) return false;
    this.removeAt(e.node, e.slot);
    if (cmpId(id, this.maxDeletedId) > 0) this.maxDeletedId = id;
    return true;
  }

  /** Recomputes firstId after deletions (streamGetEdgeID). */
  refreshFirstId(): void {
    this.firstId = this.length === 0 ? { ms: 0n, seq: 0n } : this.firstValidId()!;
  }

  /** streamTrim: removes entries from the head; returns how many. */
  trim(args: TrimArgs): number {
    if (args.strategy === TRIM_NONE) return 0;
    let deleted = 0;
    while (this.nodes.length) {
      if (args.strategy === TRIM_MAXLEN && this.length <= args.maxlen) break;
      const node = this.nodes[0];
      const entries = node.live;
      if (args.limit && deleted + entries > args.limit) break;
      const removeNode = args.strategy === TRIM_MAXLEN
        ? this.length - entries >= args.maxlen
        : cmpId(node.lastId(), args.minid) < 0;
      if (removeNode) {
        this.nodes.shift();
        this.length -= entries;
        deleted += entries;
        continue;
      }
      if (args.approx) break;
      for (let i = 0; i < node.slots; i++) {
        const stop = args.strategy === TRIM_MAXLEN ? this.length <= args.maxlen : cmpId(node.idAt(i), args.minid) >= 0;
        if (stop) break;
        if (!node.isDeleted(i)) {
          node.markDeleted(i);
          node.live--;
          node.tombstones++;
          this.length--;
          deleted++;
        }
      }
      if (node.live === 0) this.nodes.shift();
      break;
    }
    if (this.length === 0) this.firstId = { ms: 0n, seq: 0n };
    else if (deleted) this.refreshFirstId();
    return deleted;
  }

  /** streamRangeHasTombstones: whether [start, end] may contain a deleted entry. */
  rangeHasTombstones(start: StreamID | null, end: StreamID | null): boolean {
    if (!this.length || isZeroId(this.maxDeletedId)) return false;
    if (cmpId(this.firstId, this.maxDeletedId) > 0) return false;
    const s = start ?? MIN_ID, e = end ?? MAX_ID;
    return cmpId(s, this.maxDeletedId) <= 0 && cmpId(this.maxDeletedId, e) <= 0;
  }

  /** streamEstimateDistanceFromFirstEverEntry; INVALID_ENTRIES_READ when unknown. */
  estimateDistanceFromFirstEverEntry(id: StreamID): number {
    if (!this.entriesAdded) return 0;
    if (!this.length && cmpId(id, this.lastId) < 1) return this.entriesAdded;
    const cmpLast = cmpId(id, this.lastId);
    if (cmpLast === 0) return this.entriesAdded;
    if (cmpLast > 0) return INVALID_ENTRIES_READ;
    const cmpIdFirst = cmpId(id, this.firstId);
    const cmpXdelFirst = cmpId(this.maxDeletedId, this.firstId);
    if (isZeroId(this.maxDeletedId) || cmpXdelFirst < 0) {
      if (cmpIdFirst < 0) return this.entriesAdded - this.length;
      if (cmpIdFirst === 0) return this.entriesAdded - this.length + 1;
    }
    return INVALID_ENTRIES_READ;
  }

  /** The group's lag (streamReplyWithCGLag), or null when it cannot be known. */
  groupLag(g: ConsumerGroup): number | null {
    if (!this.entriesAdded) return 0;
    if (g.entriesRead !== INVALID_ENTRIES_READ && !this.rangeHasTombstones(g.lastId, null)) {
      return this.entriesAdded - g.entriesRead;
    }
    const read = this.estimateDistanceFromFirstEverEntry(g.lastId);
    return read !== INVALID_ENTRIES_READ ? this.entriesAdded - read : null;
  }

  /** Groups in name order (a rax in Redis). */
  sortedGroups(): [string, ConsumerGroup][] {
    return [...this.groups.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  dup(): StreamValue {
    const s = new StreamValue();
    s.nodes = this.nodes.map((n) => n.clone());
    s.length = this.length;
    s.lastId = this.lastId;
    s.firstId = this.firstId;
    s.maxDeletedId = this.maxDeletedId;
    s.entriesAdded = this.entriesAdded;
    for (const [name, g] of this.groups) {
      const ng = new ConsumerGroup(g.lastId, g.entriesRead);
      const consumers = new Map<Consumer, Consumer>();
      for (const c of g.consumers.values()) {
        const nc = new Consumer(c.name, c.seenTime);
        ng.consumers.set(c.name, nc);
        consumers.set(c, nc);
      }
      for (let i = 0; i < g.pel.size; i++) {
        const n = g.pel.vals[i];
        const owner = n.consumer ? consumers.get(n.consumer)! : null;
        const nn: Nack = { deliveryTime: n.deliveryTime, deliveryCount: n.deliveryCount, consumer: owner };
        ng.pel.tryInsert(g.pel.ids[i], nn);
        owner?.pel.tryInsert(g.pel.ids[i], nn);
      }
      s.groups.set(name, ng);
    }
    return s;
  }
}
