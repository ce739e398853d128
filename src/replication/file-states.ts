// FileStates: the key states a start-up load read from its file, from the load until
// loaded-keys.ts has joined them (or dropped them: loaded-keys.ts tryRecord), kept as the file
// holds them.
//
// They wait for the load-end check and then for every peer's whole state; with a peer down that
// is as long as the peer stays down. Kept as state objects, even in the store's compact form
// (compact-state.ts), 1M string keys' states were 459 MB of heap after a restart (1M SETs,
// peer never started: bench/crdt-persist.mjs --cases rdb-strings), against 9 MB for a node
// without replication, and their promotion to the old generation was a fifth of the restart's
// CPU. A live state is now kept as its entry's bytes in the file (saved-state.ts writeEntry:
// node ids as numbers into its piece's node table, which is kept once per distinct table),
// in an arena (below), and decoded when looked at: the load-end check needs only which
// states are live (a tombstone is kept decoded: the check joins it) and the greatest stamp
// among them (observed once, at the check's start), and each state is decoded again when it is
// joined, adopted by a client's write, or written into a save made meanwhile.
//
// Packed states are copied into large buffers (an arena, off the JS heap) and the map holds
// each one's place in them, a number: kept as 1M latin1 strings they were 1M heap objects
// the young generation's collections copied and promoted, and a string made per state (1M SETs
// restarted: ~10% of the restart's CPU in the collector). A state deleted or replaced leaves
// its bytes in the arena until the FileStates goes (they go together: loaded-keys.ts drops it
// once the states are decided), so it holds at most what the file's states took, once.
import type { KeyState } from "./key-state.js";
import { joinInto, maxStamp } from "./key-state.js";
import { isDead } from "./gc.js";
import { shrinkDeep, unshareDeepFor } from "./compact-state.js";
import { Reader, Writer } from "./codec.js";
import { numberedNode, readEntry } from "./saved-state.js";
// (store.ts imports saved-state.ts, which imports this module: only functions and classes used later cross the cycle)
import { PackNodes, writePacked } from "./store.js";

/**
 * A waiting state as kept: a live one packed, as its place in the arena (a number: chunk
 * index * CHUNK + offset; there a u32 node table number, then its entry's bytes), or the state.
 */
export type FileState = number | KeyState;

/** What packs a state (one reused buffer). */
const scratch = new Writer(1024);
/** The arena's largest chunk (and the place's multiplier: an offset is below it). */
const CHUNK = 1 << 20;
/** Its first chunk (a FileStates of a few states stays small; the chunks double up to CHUNK). */
const FIRST_CHUNK = 4096;

export class FileStates {
  private readonly m = new Map<string, FileState>();
  /** The node tables packed states number into, each kept once (a file's pieces mostly name the same few nodes). */
  private readonly tables: string[][] = [];
  private readonly tableOf = new Map<string, number>();
  /** The table of states joined here (an AOF's later records of a key): its number, and its numbering (whose list is the table). */
  private own?: { t: number; nodes: PackNodes };
  /** The greatest stamp of any state added (loaded-keys.ts: the check's clock observes it). */
  maxStamp = 0;
  /** The arena: packed states' bytes, appended (see above). */
  private readonly chunks: Buffer[] = [];
  /** Where the last chunk's free space starts. */
  private at = 0;

  get size(): number { return this.m.size; }
  has(k: string): boolean { return this.m.has(k); }
  delete(k: string): boolean { return this.m.delete(k); }
  clear(): void { this.m.clear(); this.chunks.length = 0; this.at = 0; }
  keys(): IterableIterator<string> { return this.m.keys(); }

  /** The key's state (decoded for the caller alone: nothing writes into what is kept). */
  get(k: string): KeyState | undefined {
    const v = this.m.get(k);
    return v === undefined ? undefined : this.state(v);
  }

  /** Every state, each decoded as it is reached. */
  *entries(): Generator<[string, KeyState]> {
    for (const [k, v] of this.m) yield [k, this.state(v)];
  }
  [Symbol.iterator](): Generator<[string, KeyState]> { return this.entries(); }

  /** The key's state as kept (decode it with state()). */
  kept(k: string): FileState | undefined { return this.m.get(k); }
  /** The states as kept (the Map's own iterator: an entry deleted meanwhile is not reached). */
  keptEntries(): IterableIterator<[string, FileState]> { return this.m.entries(); }

  /** Whether a kept state is live, without decoding it (a packed one is). */
  static live(v: FileState): boolean { return typeof v === "number" || !isDead(v); }

  state(v: FileState): KeyState {
    if (typeof v !== "number") return v;
    const r = new Reader(this.chunks[Math.floor(v / CHUNK)]);
    r.pos = v % CHUNK;
    const t = r.u32();
    return readEntry(r, numberedNode(r, this.tables[t]));
  }

  /** Room for n bytes in the arena: the place, and the chunk to write them at its offset. */
  private reserve(n: number): number {
    let i = this.chunks.length - 1;
    if (i < 0 || this.at + n > this.chunks[i].length) {
      const last = i < 0 ? 0 : this.chunks[i].length;
      this.chunks.push(Buffer.allocUnsafeSlow(Math.max(n, Math.min(CHUNK, last === 0 ? FIRST_CHUNK : last * 2))));
      i++;
      this.at = 0;
    }
    const place = i * CHUNK + this.at;
    this.at += n;
    return place;
  }

  /** Packs table number t and bytes[start, end) into the arena: the place. */
  private pack(t: number, bytes: Buffer, start: number, end: number): number {
    const place = this.reserve(4 + end - start);
    const chunk = this.chunks[this.chunks.length - 1];
    const off = place % CHUNK;
    chunk.writeUInt32LE(t, off);
    bytes.copy(chunk, off + 4, start, end);
    return place;
  }

  /** The number of a piece's node table (the same list of ids: the same number). */
  table(nodes: string[]): number {
    const name = nodes.join("\n");
    let t = this.tableOf.get(name);
    if (t === undefined) { this.tableOf.set(name, (t = this.tables.length)); this.tables.push(nodes); }
    return t;
  }

  /**
   * A state a piece holds for key k: `s` as read, its entry's bytes value[start, end) numbering
   * nodes into table t. A later state of the same key (an AOF's next record) is joined into it.
   * `s` undefined: a live entry not decoded (saved-state.ts skimEntry), its greatest stamp
   * `stamp`; decoded here only to be joined.
   */
  addEntry(k: string, s: KeyState | undefined, stamp: number, value: Buffer, start: number, end: number, t: number): void {
    if (s === undefined) {
      if (this.m.has(k)) {
        const r = new Reader(value);
        r.pos = start;
        this.add(k, readEntry(r, numberedNode(r, this.tables[t])));
        return;
      }
      if (stamp > this.maxStamp) this.maxStamp = stamp;
    } else {
      if (this.m.has(k) || isDead(s)) { this.add(k, s); return; }
      this.see(s);
    }
    this.m.set(k, this.pack(t, value, start, end));
  }

  /** A state for key k (joined into the key's state if one is kept). */
  add(k: string, s: KeyState): void {
    this.see(s);
    const cur = this.m.get(k);
    if (cur === undefined) { this.keep(k, s); return; }
    // (a decoded state shares the empty maps of the compact form: unshared where s writes)
    const c = this.state(cur);
    unshareDeepFor(c, s);
    joinInto(c, s);
    this.keep(k, c);
  }

  private see(s: KeyState): void {
    const t = maxStamp(s);
    if (t > this.maxStamp) this.maxStamp = t;
  }

  /**
   * Keeps a state: a live one packed into this object's own table (as the store packs one,
   * store.ts writePacked: past u16 node numbers in the bus's encoding), a tombstone as it is
   * (compact).
   */
  private keep(k: string, s: KeyState): void {
    if (isDead(s)) { shrinkDeep(s); this.m.set(k, s); return; }
    let own = this.own;
    if (!own) { const nodes = new PackNodes(); own = this.own = { t: this.tables.push(nodes.list) - 1, nodes }; }
    scratch.reset();
    writePacked(scratch, s, own.nodes);
    this.m.set(k, this.pack(own.t, scratch.done(), 0, scratch.length));
  }
}
