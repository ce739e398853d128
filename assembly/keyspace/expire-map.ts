// TTLs live beside the entries, not in them (Redis keeps them in db->expires, a dict of its
// own): most keys have no TTL, and 12 bytes in every entry (an i64 expire time and the
// position in the db's `expiring` array) made a 10-byte key with a 10-byte value a 64-byte
// block instead of a 48-byte one (issue #8's memory line). An entry with a TTL has a flag
// bit (entry.ts BIT_EXPIRE) and a slot here, found by the entry's address.
//
// Open addressing with linear probing over three parallel arrays, keyed by the entry's
// address (never 0; entries are 16-byte aligned blocks, so the address is shifted before
// hashing). Deletion shifts the following run back (no tombstones), so a lookup stops at
// the first empty slot. The table doubles above 3/4 full and halves below 1/8.
//
// A slot costs 16 bytes (4 key + 8 time + 4 index); at a load between 3/8 and 3/4 that is
// 21-43 bytes per key with a TTL, about what Redis's dictEntry and bucket cost (32).

const MIN_CAP: i32 = 16;

let cap: i32 = 0;
let mask: u32 = 0;
let used: i32 = 0;
let keys = new StaticArray<u32>(0);
let whens = new StaticArray<i64>(0);
let idxs = new StaticArray<i32>(0);

/** Keys with a TTL, all dbs together (for tests and the accounting). */
export function expireMapSize(): i32 { return used; }

@inline function home(k: u32): u32 {
  return ((k >> 4) * 0x9e3779b1) & mask;
}

/** The slot holding the entry at address k (which must be present). */
function slotOf(k: u32): i32 {
  let i = home(k);
  while (true) {
    const at = unchecked(keys[<i32>i]);
    if (at == k) return <i32>i;
    if (at == 0) return -1;
    i = (i + 1) & mask;
  }
}

function resize(newCap: i32): void {
  const ok = keys;
  const ow = whens;
  const oi = idxs;
  const oc = cap;
  cap = newCap;
  mask = <u32>newCap - 1;
  keys = new StaticArray<u32>(newCap);
  whens = new StaticArray<i64>(newCap);
  idxs = new StaticArray<i32>(newCap);
  for (let j = 0; j < oc; j++) {
    const k = unchecked(ok[j]);
    if (k == 0) continue;
    let i = home(k);
    while (unchecked(keys[<i32>i]) != 0) i = (i + 1) & mask;
    unchecked(keys[<i32>i] = k);
    unchecked(whens[<i32>i] = unchecked(ow[j]));
    unchecked(idxs[<i32>i] = unchecked(oi[j]));
  }
}

/** Adds the entry at address k with its expire time (it must not be present). */
export function expireMapInsert(k: u32, when: i64): void {
  if ((used + 1) * 4 > cap * 3) resize(cap == 0 ? MIN_CAP : cap * 2);
  let i = home(k);
  while (unchecked(keys[<i32>i]) != 0) i = (i + 1) & mask;
  unchecked(keys[<i32>i] = k);
  unchecked(whens[<i32>i] = when);
  unchecked(idxs[<i32>i] = -1);
  used++;
}

export function expireMapWhen(k: u32): i64 {
  const s = slotOf(k);
  return s < 0 ? -1 : unchecked(whens[s]);
}

export function expireMapSetWhen(k: u32, when: i64): void {
  const s = slotOf(k);
  if (s >= 0) unchecked(whens[s] = when);
}

export function expireMapIdx(k: u32): i32 {
  const s = slotOf(k);
  return s < 0 ? -1 : unchecked(idxs[s]);
}

export function expireMapSetIdx(k: u32, idx: i32): void {
  const s = slotOf(k);
  if (s >= 0) unchecked(idxs[s] = idx);
}

/** Removes the entry at address k (if present), shifting the run after it back. */
export function expireMapRemove(k: u32): void {
  let hole = slotOf(k);
  if (hole < 0) return;
  used--;
  let i = (<u32>hole + 1) & mask;
  while (true) {
    const at = unchecked(keys[<i32>i]);
    if (at == 0) break;
    // The slot's key may move into the hole if the hole lies between its home and it.
    const h = home(at);
    const dist = (i - h) & mask;
    const holeDist = (i - <u32>hole) & mask;
    if (holeDist <= dist) {
      unchecked(keys[hole] = at);
      unchecked(whens[hole] = unchecked(whens[<i32>i]));
      unchecked(idxs[hole] = unchecked(idxs[<i32>i]));
      hole = <i32>i;
    }
    i = (i + 1) & mask;
  }
  unchecked(keys[hole] = 0);
  if (cap > MIN_CAP && used * 8 < cap) resize(cap / 2);
}
