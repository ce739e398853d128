// CrdtStore snapshots (src/replication/store.ts): an anti-entropy answer encoded a chunk at a
// time over several event-loop turns must still be one moment's state. Writes that land
// between chunks (a changed key, a new key, a key collected by GC) must not show in the
// chunks still to come.
import { describe, it, expect } from "vitest";
import { CrdtStore, COARSE_RANGES, SLOTS, decodeBatch, slotOf } from "../../src/replication/store.js";
import { emptyKeyState, setStringDelta, delDelta, type KeyState } from "../../src/replication/key-state.js";
import { encodeKeyState } from "../../src/replication/codec.js";

const hex = (s: KeyState) => encodeKeyState(s).toString("hex");

/** A store of n string keys (db 0), written by node "a" at ts 1..n. */
function storeOf(n: number): CrdtStore {
  const st = new CrdtStore();
  for (let i = 0; i < n; i++) st.join(`0:k${i}`, setStringDelta(emptyKeyState(), "a", i + 1, Buffer.from(`v${i}`)));
  return st;
}

/** Every key's encoded state, by key. */
const contents = (st: CrdtStore) => new Map([...st.keys].map(([k, s]) => [k, hex(s)]));

/** The keys and states in some encoded batches. */
function decoded(batches: Buffer[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const b of batches) for (const [k, s] of decodeBatch(b)) { expect(out.has(k), `${k} sent twice`).toBe(false); out.set(k, hex(s)); }
  return out;
}

const all = (n: number) => Array.from({ length: n }, (_, i) => i);

describe("CrdtStore snapshot", () => {
  it("chunks encoded after later writes hold the states of when the snapshot was taken", () => {
    const st = storeOf(400);
    const then = contents(st);
    const snap = st.snapshot(all(COARSE_RANGES), COARSE_RANGES);
    const first = all(COARSE_RANGES / 2), rest = all(COARSE_RANGES).slice(COARSE_RANGES / 2);
    const out = [st.encodeSnapshot(snap, first, COARSE_RANGES)];
    // writes between the chunks: keys of both halves change (one twice), one is deleted, new keys come
    const slotHalf = (k: string) => Math.floor(slotOf(k) / (SLOTS / COARSE_RANGES)) >= COARSE_RANGES / 2;
    const later = [...st.keys.keys()].filter(slotHalf).slice(0, 20);
    const earlier = [...st.keys.keys()].filter((k) => !slotHalf(k)).slice(0, 5);
    expect(later.length).toBe(20);
    for (const k of [...later, ...earlier]) st.join(k, setStringDelta(st.get(k)!, "b", 10_000, Buffer.from("new")));
    st.join(later[0], setStringDelta(st.get(later[0])!, "b", 10_001, Buffer.from("newer")));
    st.join(later[1], delDelta(st.get(later[1])!, "b", 10_002));
    for (let i = 0; i < 50; i++) st.join(`0:new${i}`, setStringDelta(emptyKeyState(), "b", 20_000 + i, Buffer.from("x")));
    out.push(st.encodeSnapshot(snap, rest, COARSE_RANGES));
    st.release(snap);
    expect(decoded(out)).toEqual(then);
    // (and the store itself moved on)
    expect(st.keys.size).toBe(450);
    expect(hex(st.get(later[0])!)).not.toBe(then.get(later[0]));
  });

  it("a key collected by garbage collection after the snapshot is still sent as it was", () => {
    const st = storeOf(50);
    const victim = "0:k7";
    st.join(victim, delDelta(st.get(victim)!, "a", 100)); // a tombstone: collected once stable
    const then = contents(st);
    const snap = st.snapshot(all(COARSE_RANGES), COARSE_RANGES);
    st.collectGarbage(() => Number.MAX_SAFE_INTEGER); // every write stable: the dead key goes
    expect(st.get(victim)).toBeUndefined();
    const got = decoded([st.encodeSnapshot(snap, all(COARSE_RANGES), COARSE_RANGES)]);
    st.release(snap);
    expect(got).toEqual(then);
  });

  it("per-slot ranges: only the listed slots, each once", () => {
    const st = storeOf(300);
    const slots = [...new Set([...st.keys.keys()].map(slotOf))].sort((a, b) => a - b).slice(0, 40);
    const want = new Map([...contents(st)].filter(([k]) => slots.includes(slotOf(k))));
    const snap = st.snapshot(slots, SLOTS);
    for (const k of [...st.keys.keys()].filter((k) => slots.includes(slotOf(k))).slice(0, 10)) st.join(k, setStringDelta(st.get(k)!, "b", 5000, Buffer.from("y")));
    const a = st.encodeSnapshot(snap, slots.slice(0, 20), SLOTS);
    const b = st.encodeSnapshot(snap, slots, SLOTS); // (the first 20 again: already sent, left out)
    st.release(snap);
    expect(decoded([a, b])).toEqual(want);
  });
});
