// Tombstone garbage collection. A removal leaves metadata behind: a floor version vector
// (the key's, or a removed member's / field's) and, for counters, reset points (bases). They
// are needed only while some replica might still hold — or be about to send — a write the
// removal killed. Once the removal is *causally stable* (every replica has received every
// write it covers, and the removal itself), nobody can send such a write again, and the
// metadata can go.
//
// Stability comes from gossip.ts: node o knows that every peer has received all of o's
// writes up to a timestamp (an anti-entropy round that found the peer's state equal to o's
// at that time), and announces the minimum over its peers as stable(o); announcements are
// gossiped and merged by max. A floor component (n, t) is stable when t < stable(n). Every
// local removal puts the removing node's own stamp into the floor it creates (delDelta,
// elemRemoveDelta), so "every component stable" also means "the removal has reached every
// replica". Gossip applies stability only after a grace period (gcGraceMs), so a message that
// was already in flight when the removal became stable cannot bring a killed write back.
//
// What is collected:
//   - a key with nothing alive (deleted): dropped from the store entirely, bases included,
//     when every floor and base in it is stable;
//   - a removed list element (a tombstone) whose removal stamp is stable;
//   - a removed member / field (a register with only a floor): dropped when its floor and
//     the key floor are stable (a dead field's HINCRBY / member's ZINCRBY bases go with it);
//   - a stable floor on a live register or on a live key: cleared (it can kill nothing more).
// A counter that is incremented again after its key was collected starts a new run (see
// Counter.run in key-state.ts), so a replica that still holds the old base is not misled.
import type { VV } from "./vv.js";
import type { OrRegister } from "./or-register.js";
import { seqHasEntries } from "./seq.js";
import type { Counter, FieldCounters, KeyState } from "./key-state.js";

/**
 * stable(n): every replica holds all of node n's writes with a timestamp below this.
 * successor(n), for a final incarnation n (stable(n) unbounded): the live incarnation of the
 * same node name, as far as this node knows (dropBases).
 */
export type Stable = ((node: string) => number) & { successor?: (node: string) => string | undefined };

/**
 * The node running a sweep acknowledges reset points (dropBases) of the counters of the nodes
 * it `acks` (itself, and its own earlier incarnations once final), stamped with a fresh
 * reading of its clock (taken only when one is needed).
 */
export interface Acker { acks(node: string): boolean; stamp(): number }

/** A reset point's `run` once its own node acknowledged it (dropBases; a total's run is a timestamp, never 0). */
export const ACKED = 0;

export function vvStable(v: VV, st: Stable): boolean {
  for (const [n, t] of v) if (t >= st(n)) return false;
  return true;
}

/**
 * A component of v that is not stable yet, [node, stamp] (undefined: v is stable). While a
 * key's floor has one, gcKeyState collects nothing in it: only that node's stability rising
 * past the stamp can change that.
 */
export function unstableIn(v: VV, st: Stable): [string, number] | undefined {
  for (const [n, t] of v) if (t >= st(n)) return [n, t];
  return undefined;
}

/** A hash field's HINCRBY / a zset member's ZINCRBY counters. */
function counted(s: KeyState, kind: string, m: string): FieldCounters<unknown> | undefined {
  return kind === "hash" ? s.hcnt.get(m) : kind === "zset" ? s.zcnt.get(m) : undefined;
}

function countersStable(m: Map<string, Counter<unknown>>, st: Stable): boolean {
  for (const [n, c] of m) if (c.ts >= st(n)) return false;
  return true;
}

const ELEM_KINDS = ["set", "hash", "zset"] as const;

/** Whether the key holds no entry at all (every write in it was removed). */
export function isDead(s: KeyState): boolean {
  if (s.str.entries.size || seqHasEntries(s.list) || s.ttl.entries.size || s.cnt.size) return false;
  for (const kind of ELEM_KINDS) for (const r of (s[kind] as Map<string, OrRegister<unknown>>).values()) if (r.entries.size) return false;
  for (const fc of s.hcnt.values()) if (fc.cnt.size) return false;
  for (const fc of s.zcnt.values()) if (fc.cnt.size) return false;
  return true;
}

/** Whether the state still carries removal metadata (floors, bases) that a later sweep may collect. */
export function hasTombstoneMeta(s: KeyState): boolean {
  if (s.floor.size || s.cntBase.size || s.str.floor.size || s.list.floor.size || s.ttl.floor.size) return true;
  for (const e of s.list.elems.values()) if (e.rts !== 0) return true;
  for (const kind of ELEM_KINDS) for (const r of (s[kind] as Map<string, OrRegister<unknown>>).values()) if (r.floor.size) return true;
  for (const fc of s.hcnt.values()) if (fc.base.size) return true;
  for (const fc of s.zcnt.values()) if (fc.base.size) return true;
  return false;
}

/** Tombstones a state carries: 1 for a dead key, else its dead members / fields. */
export function tombstones(s: KeyState): number {
  if (isDead(s)) return 1;
  let n = 0;
  for (const e of s.list.elems.values()) if (e.rts !== 0) n++;
  for (const kind of ELEM_KINDS) {
    for (const [m, r] of s[kind] as Map<string, OrRegister<unknown>>) {
      if (!r.entries.size && !counted(s, kind, m)?.cnt.size) n++;
    }
  }
  return n;
}

/**
 * Every node id the key's removal metadata names (floors, bases, list removal stamps). A
 * sweep reports these for what it could not collect, so gossip can tell which are crashed
 * incarnations (gossip.ts findDeparted) all at once: the stability checks stop at the first
 * unstable component, and learning one departed id per sweep left a floor naming several
 * waiting a whole stability cycle for each (simulation seed 1975).
 */
export function metaNodes(s: KeyState, out: (node: string) => void): void {
  // (forEach with functions made once: a sweep calls this for every key it parks, each key
  // written since the last sweep while a peer lags, and a closure and iterators per call were
  // ~0.5 KB allocated per SET with a peer)
  const was = metaOut;
  metaOut = out;
  try {
    s.floor.forEach(metaKey); s.str.floor.forEach(metaKey); s.list.floor.forEach(metaKey); s.ttl.floor.forEach(metaKey);
    s.cntBase.forEach(metaKey);
    if (s.list.elems.size) for (const e of s.list.elems.values()) if (e.rts !== 0) out(e.rnode);
    if (s.set.size) s.set.forEach(metaFloor);
    if (s.hash.size) s.hash.forEach(metaFloor);
    if (s.zset.size) s.zset.forEach(metaFloor);
    if (s.hcnt.size) s.hcnt.forEach(metaBase);
    if (s.zcnt.size) s.zcnt.forEach(metaBase);
  } finally {
    metaOut = was;
  }
}

/** metaNodes' `out` while it runs (its forEach callbacks below are made once). */
let metaOut: (node: string) => void = () => {};
function metaKey(_v: unknown, n: string): void { metaOut(n); }
function metaFloor(r: OrRegister<unknown>): void { r.floor.forEach(metaKey); }
function metaBase(fc: FieldCounters<unknown>): void { fc.base.forEach(metaKey); }

/**
 * Every (node, stamp) the key's removal metadata carries (floors, bases, list removal stamps):
 * the writes and removals a replica's state must hold for the key to be removed there. When
 * the key's state is dropped, gossip.ts folds these into what it has collected (removalHorizon).
 */
export function removalStamps(s: KeyState, out: (node: string, ts: number) => void): void {
  const vv = (v: VV) => { for (const [n, t] of v) out(n, t); };
  // (an acknowledged reset point's stamp is a mark, not a write a replica must hold: no batch
  // carries it, so a peer's coverage of its node may never reach it, and removalHorizon would
  // answer "cannot say" to every restart from then on; the removal that made the key dead
  // carries its own node's stamp in a floor, which says the same)
  const bases = (m: Map<string, Counter<unknown>>) => { for (const [n, c] of m) if (c.run !== ACKED) out(n, c.ts); };
  vv(s.floor); vv(s.str.floor); vv(s.list.floor); vv(s.ttl.floor);
  bases(s.cntBase);
  for (const e of s.list.elems.values()) if (e.rts !== 0) out(e.rnode, e.rts);
  for (const kind of ELEM_KINDS) for (const r of (s[kind] as Map<string, OrRegister<unknown>>).values()) vv(r.floor);
  for (const fc of s.hcnt.values()) bases(fc.base);
  for (const fc of s.zcnt.values()) bases(fc.base);
}

/** Whether every floor in the key (key, string, list, TTL, each member's) is stable. */
function floorsStable(s: KeyState, st: Stable): boolean {
  if (!vvStable(s.floor, st) || !vvStable(s.str.floor, st) || !vvStable(s.list.floor, st) || !vvStable(s.ttl.floor, st)) return false;
  for (const kind of ELEM_KINDS) for (const r of (s[kind] as Map<string, OrRegister<unknown>>).values()) if (!vvStable(r.floor, st)) return false;
  return true;
}

/**
 * Counter reset points (bases) on a live key; called once every floor of the key is stable
 * (every reset carries its node's own stamp in a floor: the reset has reached every
 * replica, so no replica still shows what it cancelled). A base for node n cancels n's
 * totals of the run it was observed in. It does nothing more, and goes once stable, when
 * every total of that run n will ever make is one the base cancels in full, everywhere —
 * nothing can arrive later whose total counts in full without it (an increment of that run
 * made concurrently with the reset):
 * - n's total here is a later run (n counted again after it saw the reset: key-state.ts
 *   nextTotal): every total the base could cancel loses to it in any join; stable: b.ts < st(n);
 * - n holds no total, and n acknowledged the base: n itself found, in its own state — which
 *   holds every increment n ever made — no total beside the base, so the reset saw every
 *   increment of its run and none can follow (n's next one starts a new run), and it raised
 *   the base's stamp to its clock then (run = ACKED; the value is unchanged: no total of that
 *   run is above either stamp, and a later run's is never cancelled). Once that stamp is
 *   stable (b.ts < st(n)), every replica holds all of n's increments of the run, each
 *   cancelled by the reset it also holds, and the acknowledged base itself (n's state when
 *   its peers were found equal to it held it); a replica that gets the unacknowledged base
 *   back takes the acknowledged one over it in a join (the later stamp).
 *   A departed incarnation acknowledges nothing: its successor (the same node name, a newer
 *   incarnation, on the same files) does it for it once it is final (every write of it that
 *   survives is on every replica) — so no total of it can come from elsewhere — and after
 *   the key's states from the file it restarted from, which may hold what the old incarnation
 *   never sent, are joined (a sweep leaves those keys alone until then: Store.gcHold). Its
 *   stamp is the successor's clock, and the base goes once the successor's stability passes
 *   it (st.successor): every replica has then held the acknowledged base. (Dropped as soon
 *   as the acknowledgement arrives — st(n) of a final n is unbounded — a replica dropped it,
 *   incoming states included, before it could spread: the successor kept it, waiting for
 *   peers that never took it, and its stability and all collection stalled.)
 * This is how a node that never counts again on the key lets its reset point go. A base for
 * a node whose total is still the cancelled run stays (dropping it could let an increment of
 * that run made concurrently with the reset count in full when it arrives), and so does one
 * for a node gone for good with no successor (CRDT.PEER FORGET).
 */
function dropBases<T>(cnt: Map<string, Counter<T>>, base: Map<string, Counter<T>>, st: Stable, ack?: Acker): boolean {
  let changed = false;
  for (const [n, b] of base) {
    const c = cnt.get(n);
    const holder = b.run !== ACKED || st(n) < Number.MAX_SAFE_INTEGER ? n : st.successor?.(n);
    const stable = holder !== undefined && b.ts < st(holder);
    const closed = c ? c.run > b.ts : b.run === ACKED;
    if (closed && stable) { base.delete(n); changed = true; continue; }
    if (!c && b.run !== ACKED && ack?.acks(n)) { base.set(n, { ts: ack.stamp(), total: b.total, run: ACKED }); changed = true; }
  }
  return changed;
}

/**
 * Collects what is stable in s, in place. Returns "drop" when the whole key can be
 * forgotten, else whether s changed.
 */
export function gcKeyState(s: KeyState, st: Stable, ack?: Acker): "drop" | boolean {
  const keyFloorStable = vvStable(s.floor, st);
  if (isDead(s)) {
    if (!keyFloorStable || !countersStable(s.cntBase, st)) return false;
    for (const r of [s.str, s.list, s.ttl] as { floor: VV }[]) if (!vvStable(r.floor, st)) return false;
    for (const e of s.list.elems.values()) if (e.rts >= st(e.rnode)) return false;
    for (const kind of ELEM_KINDS) for (const r of (s[kind] as Map<string, OrRegister<unknown>>).values()) if (!vvStable(r.floor, st)) return false;
    for (const fc of s.hcnt.values()) if (!countersStable(fc.base, st)) return false;
    for (const fc of s.zcnt.values()) if (!countersStable(fc.base, st)) return false;
    return "drop";
  }
  if (!keyFloorStable) return false; // member floors may rely on components the key floor covers
  let changed = false;
  if (floorsStable(s, st)) {
    if (dropBases(s.cnt, s.cntBase, st, ack)) changed = true;
    for (const kind of ["hash", "zset"] as const) {
      const fcs = (kind === "hash" ? s.hcnt : s.zcnt) as Map<string, FieldCounters<unknown>>;
      for (const [f, fc] of fcs) {
        // (a removed field's / member's bases go with it, below: acknowledging them would only
        // move their stamps later and hold that back)
        if (dropBases(fc.cnt, fc.base, st, s[kind].get(f)?.entries.size || fc.cnt.size ? ack : undefined)) changed = true;
        if (!fc.cnt.size && !fc.base.size) fcs.delete(f);
      }
    }
  }
  for (const r of [s.str, s.list, s.ttl] as { floor: VV }[]) {
    if (r.floor.size && vvStable(r.floor, st)) { r.floor.clear(); changed = true; }
  }
  // a list element whose removal every replica holds: the tombstone goes
  for (const [id, e] of s.list.elems) if (e.rts !== 0 && e.rts < st(e.rnode)) { s.list.elems.delete(id); changed = true; }
  for (const kind of ELEM_KINDS) {
    const m = s[kind] as Map<string, OrRegister<unknown>>;
    for (const [member, r] of m) {
      if (!r.floor.size || !vvStable(r.floor, st)) continue;
      if (r.entries.size) { r.floor.clear(); changed = true; continue; }
      const fc = counted(s, kind, member);
      if (fc && fc.cnt.size) { m.delete(member); changed = true; continue; } // it lives on as a counter
      if (fc && !countersStable(fc.base, st)) continue;
      if (fc) (kind === "hash" ? s.hcnt : s.zcnt).delete(member);
      m.delete(member);
      changed = true;
    }
  }
  if (s.floor.size) { s.floor.clear(); changed = true; }
  return changed;
}
