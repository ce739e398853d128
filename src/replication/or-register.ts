// OrRegister: the building block of every replicated value here — an observed-remove,
// multi-value register. It holds each node's latest write (timestamp + value) and a floor
// version vector: a write is alive while its timestamp is above the floor for its node
// (and above the key-level floor the caller passes). A local write or remove raises the
// floor to everything it observed, so it removes what it saw and nothing it did not:
// concurrent writes elsewhere survive (add-wins). Merge is pointwise max of entries (by
// timestamp) and of floors: commutative, associative, idempotent.
//
// Used for a set member (value: presence), a hash field (value: bytes, last writer wins
// among the alive entries), a sorted-set member (value: score), a string, a whole list,
// and a key's TTL. The state is kept canonical — entries at or below a floor are dropped,
// floor components at or below the key floor too — so equal states encode to equal bytes
// (anti-entropy digests compare encodings).
import { compareStamp } from "./hlc.js";
import { vvGet, type VV } from "./vv.js";

export interface Entry<T> { ts: number; v: T }

export interface OrRegister<T> {
  entries: Map<string, Entry<T>>;
  floor: VV;
}

export function orNew<T>(): OrRegister<T> {
  return { entries: new Map(), floor: new Map() };
}

/** Whether an entry of `node` at `ts` is alive under the register's floor and the key floor. */
export function orAliveAt(r: OrRegister<unknown>, node: string, ts: number, keyFloor: VV): boolean {
  return ts > vvGet(r.floor, node) && ts > vvGet(keyFloor, node);
}

/** Alive entries as [node, entry]. */
export function orAlive<T>(r: OrRegister<T>, keyFloor: VV): [string, Entry<T>][] {
  const out: [string, Entry<T>][] = [];
  for (const [n, e] of r.entries) if (orAliveAt(r, n, e.ts, keyFloor)) out.push([n, e]);
  return out;
}

/** The alive entry with the greatest (timestamp, node): last writer wins. */
export function orWinner<T>(r: OrRegister<T>, keyFloor: VV): [string, Entry<T>] | undefined {
  let best: [string, Entry<T>] | undefined;
  for (const [n, e] of r.entries) {
    if (!orAliveAt(r, n, e.ts, keyFloor)) continue;
    if (!best || compareStamp(e.ts, n, best[1].ts, best[0]) > 0) best = [n, e];
  }
  return best;
}

/** Latest (timestamp, node) of the alive entries, or undefined. */
export function orLatest(r: OrRegister<unknown>, keyFloor: VV): { ts: number; node: string } | undefined {
  const w = orWinner(r, keyFloor);
  return w ? { ts: w[1].ts, node: w[0] } : undefined;
}

/** The delta of a local remove: a floor covering every entry this replica holds. */
export function orRemoveDelta<T>(r: OrRegister<T>): OrRegister<T> {
  const d = orNew<T>();
  for (const [n, e] of r.entries) d.floor.set(n, e.ts);
  return d;
}

/** The delta of a local write by `node` at `ts`: removes what it observed, adds its entry. */
export function orWriteDelta<T>(r: OrRegister<T> | undefined, node: string, ts: number, v: T): OrRegister<T> {
  const d = r ? orRemoveDelta(r) : orNew<T>();
  d.entries.set(node, { ts, v });
  return d;
}

/** r := r ⊔ d (in place), then canonical under keyFloor; whether r changed. */
export function orJoinInto<T>(r: OrRegister<T>, d: OrRegister<T>, keyFloor: VV): boolean {
  let changed = false;
  if (d.floor.size) for (const [n, ts] of d.floor) if (ts > vvGet(r.floor, n)) { r.floor.set(n, ts); changed = true; }
  // (the floors are final here, the register's above and the key floor before the call: an
  // entry alive when it is added stays, and one that arrived dead, at or below a floor,
  // changes nothing; asked after orCanonical, that took two arrays per join)
  if (d.entries.size) {
    for (const [n, e] of d.entries) {
      const cur = r.entries.get(n);
      if (!cur || e.ts > cur.ts) { r.entries.set(n, e); if (orAliveAt(r, n, e.ts, keyFloor)) changed = true; }
    }
  }
  if (r.entries.size || r.floor.size) orCanonical(r, keyFloor);
  return changed;
}

/** Drops dead entries and floor components the key floor already covers. */
export function orCanonical(r: OrRegister<unknown>, keyFloor: VV): void {
  // (forEach with functions made once: for-of over a Map allocated an iterator and an entry
  // array per entry, on every join; a Map's forEach may delete the entry it is at)
  const wasR = canonR, wasFloor = canonFloor;
  canonR = r; canonFloor = keyFloor;
  try {
    if (r.entries.size) r.entries.forEach(canonEntry);
    if (r.floor.size) r.floor.forEach(canonFloorEntry);
  } finally {
    canonR = wasR; canonFloor = wasFloor;
  }
}

/** orCanonical's register and key floor while it runs (its forEach callbacks below are made once). */
let canonR: OrRegister<unknown> = { entries: new Map(), floor: new Map() };
let canonFloor: VV = new Map();
function canonEntry(e: Entry<unknown>, n: string): void { if (!orAliveAt(canonR, n, e.ts, canonFloor)) canonR.entries.delete(n); }
function canonFloorEntry(ts: number, n: string): void { if (ts <= vvGet(canonFloor, n)) canonR.floor.delete(n); }

/** Whether the register carries nothing (no entry, no floor): it can be dropped. */
export function orEmpty(r: OrRegister<unknown>): boolean {
  return r.entries.size === 0 && r.floor.size === 0;
}

export function orCopy<T>(r: OrRegister<T>): OrRegister<T> {
  return { entries: new Map(r.entries), floor: new Map(r.floor) };
}
