// CrdtStore: the replicated state of every key (db + key -> KeyState), with a digest per
// slot range for anti-entropy. A range's digest is the XOR of its keys' hashes (a key's
// hash covers its name and its canonical encoding), kept current on every join, so
// comparing two replicas costs one vector of RANGES digests and only the ranges that
// differ are exchanged.
import { createHash } from "node:crypto";
import { keySlot } from "../server/router.js";
import { encodeKeyState, Reader, Writer, readKeyState, writeKeyState } from "./codec.js";
import { emptyKeyState, joinInto, isBlank, type KeyState } from "./key-state.js";
import { gcKeyState, hasTombstoneMeta, metaNodes, tombstones, type Stable } from "./gc.js";

/** Slot ranges compared by anti-entropy: 16384 slots / 256 = 64 slots each. */
export const RANGES = 256;
const SLOTS_PER_RANGE = 16384 / RANGES;

export function dbKey(db: number, key: Buffer): string {
  return `${db}:${key.toString("latin1")}`;
}

export function splitDbKey(k: string): { db: number; key: Buffer } {
  const i = k.indexOf(":");
  return { db: Number(k.slice(0, i)), key: Buffer.from(k.slice(i + 1), "latin1") };
}

export function rangeOf(k: string): number {
  const { key } = splitDbKey(k);
  return Math.floor(keySlot(key) / SLOTS_PER_RANGE);
}

function hashOf(k: string, s: KeyState): [number, number] {
  const h = createHash("sha1").update(k, "latin1").update(encodeKeyState(s)).digest();
  return [h.readUInt32LE(0), h.readUInt32LE(4)];
}

export class CrdtStore {
  readonly keys = new Map<string, KeyState>();
  private readonly hashes = new Map<string, [number, number]>();
  private readonly digestVec = new Uint32Array(RANGES * 2);
  private readonly byRange: Set<string>[] = Array.from({ length: RANGES }, () => new Set());

  get(k: string): KeyState | undefined {
    return this.keys.get(k);
  }

  /** Keys changed since their hash was last folded into the digests (hashed lazily). */
  private readonly dirty = new Set<string>();

  /** Joins d into the key's state; returns whether the state changed. */
  join(k: string, d: KeyState): boolean {
    let s = this.keys.get(k);
    if (!s) {
      if (isBlank(d)) return false;
      s = emptyKeyState();
      this.keys.set(k, s);
      this.byRange[rangeOf(k)].add(k);
    }
    if (!joinInto(s, d)) return false;
    this.dirty.add(k);
    this.gcCandidates.add(k);
    return true;
  }

  /** Keys that may hold tombstones garbage collection has not yet collected (gc.ts). */
  readonly gcCandidates = new Set<string>();
  readonly gcStats = { keysDropped: 0, keysCollected: 0, sweeps: 0 };
  /** The stability the last sweep used; incoming states are filtered by it (Replicator.receive). */
  gcStable?: Stable;

  /**
   * One garbage-collection sweep over the candidate keys with stability `st`: collects what
   * is stable, forgets keys with nothing left. Invisible to clients (only dead metadata goes).
   * `holders` hears every node id named by the metadata that stays.
   */
  collectGarbage(st: Stable, holders?: (node: string) => void): void {
    this.gcStats.sweeps++;
    this.gcStable = st;
    for (const k of this.gcCandidates) {
      const s = this.keys.get(k);
      if (!s) { this.gcCandidates.delete(k); continue; }
      const r = gcKeyState(s, st);
      if (r === "drop") { this.drop(k); this.gcStats.keysDropped++; continue; }
      if (r) { this.dirty.add(k); this.gcStats.keysCollected++; }
      if (!hasTombstoneMeta(s)) this.gcCandidates.delete(k);
      else if (holders) metaNodes(s, holders);
    }
  }

  /** Dead keys and removed members still held (INFO crdt_tombstones). */
  tombstoneCount(): number {
    let n = 0;
    for (const k of this.gcCandidates) { const s = this.keys.get(k); if (s) n += tombstones(s); }
    return n;
  }

  /** Forgets a key: its hash leaves its range's digest. */
  private drop(k: string): void {
    const old = this.hashes.get(k);
    if (old) {
      const r = rangeOf(k);
      this.digestVec[2 * r] ^= old[0];
      this.digestVec[2 * r + 1] ^= old[1];
      this.hashes.delete(k);
    }
    this.dirty.delete(k);
    this.gcCandidates.delete(k);
    this.keys.delete(k);
    this.byRange[rangeOf(k)].delete(k);
  }

  /** Per range: [lo, hi] XOR of key hashes, current. */
  get digests(): Uint32Array {
    for (const k of this.dirty) {
      const s = this.keys.get(k)!;
      const r = rangeOf(k);
      const old = this.hashes.get(k);
      if (old) { this.digestVec[2 * r] ^= old[0]; this.digestVec[2 * r + 1] ^= old[1]; }
      const h = hashOf(k, s);
      this.digestVec[2 * r] ^= h[0];
      this.digestVec[2 * r + 1] ^= h[1];
      this.hashes.set(k, h);
    }
    this.dirty.clear();
    return this.digestVec;
  }

  /** Ranges whose digests differ from `other` (a peer's digest vector). */
  differingRanges(other: Uint32Array): number[] {
    const mine = this.digests;
    const out: number[] = [];
    for (let r = 0; r < RANGES; r++) {
      if (mine[2 * r] !== other[2 * r] || mine[2 * r + 1] !== other[2 * r + 1]) out.push(r);
    }
    return out;
  }

  keysInRange(r: number): Iterable<string> {
    return this.byRange[r];
  }

  /** Every key's state in the given ranges, encoded as a batch. */
  encodeRanges(ranges: number[]): Buffer {
    const entries: [string, KeyState][] = [];
    for (const r of ranges) for (const k of this.byRange[r]) entries.push([k, this.keys.get(k)!]);
    return encodeBatch(entries);
  }
}

/** A batch of (db:key, state-or-delta): u32 n, n × (bytes dbkey, keystate). */
export function encodeBatch(entries: Iterable<[string, KeyState]>): Buffer {
  const w = new Writer();
  const list = [...entries];
  w.u32(list.length);
  for (const [k, s] of list) { w.str(k); writeKeyState(w, s); }
  return w.done();
}

export function decodeBatch(b: Buffer): [string, KeyState][] {
  const r = new Reader(b);
  const out: [string, KeyState][] = [];
  for (let n = r.u32(); n > 0; n--) { const k = r.str(); out.push([k, readKeyState(r)]); }
  return out;
}
