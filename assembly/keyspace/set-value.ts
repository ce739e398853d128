// A small set held by the kernel, so that SADD, SREM, SPOP, SISMEMBER, SMISMEMBER, SCARD and
// SMEMBERS on it run inside process() (assembly/commands/sets.ts).
//
// The host holds every other set (src/types/set.ts: Redis-shaped dict, SSCAN cursors, DEBUG
// HTSTATS-KEY, SRANDMEMBER's and SPOP-with-count's sampling). A kernel set holds at most
// KERNEL_SET_MAX members of at most KERNEL_SET_MAX_BYTES bytes; a command that would grow it
// past that declines to the host, and the set moves there (setToHost import) the first time
// the host asks for its handle, never to come back. The member order is the host's
// (SetValue.values(): an intset ascending, a hashtable in insertion order where a removed
// member's place takes the last member), so SMEMBERS answers alike before and after a move.
//
// Layout: one ArrayBuffer held by the entry as its value object (bit REF, entry.ts; a set
// entry without REF holds a host handle):
//   offset 0   u32 count of members
//   offset 4   u32 bytes in use, this header included
//   offset 8   u8  encoding: ENC_INTSET_K (Redis's intset: every member a canonical int64, at
//              most set-max-intset-entries of them) or ENC_HT_K (OBJECT ENCODING hashtable)
//   offset 16  members: intset, i64 each in ascending order; hashtable, u32 length and bytes each

import { Entry, OBJ_SET } from "./entry";
import { ll2string } from "../util/number";

export const KERNEL_SET_MAX: i32 = 128;
export const KERNEL_SET_MAX_BYTES: usize = 64;
export const ENC_INTSET_K: u8 = 0;
export const ENC_HT_K: u8 = 1;

const HEADER: usize = 16;

@inline function buf(e: Entry): usize { return changetype<usize>(e.val); }
@inline function used(e: Entry): usize { return <usize>load<u32>(buf(e), 4); }
@inline function setUsed(e: Entry, n: usize): void { store<u32>(buf(e), <u32>n, 4); }
@inline function setCountTo(e: Entry, n: i32): void { store<u32>(buf(e), <u32>n); }

/** Whether e is a set the kernel holds (rather than a host handle). */
@inline export function isKernelSet(e: Entry): bool { return e.type == OBJ_SET && e.val != null; }
@inline export function setCount(e: Entry): i32 { return <i32>load<u32>(buf(e)); }
@inline export function setIsIntset(e: Entry): bool { return load<u8>(buf(e), 8) == ENC_INTSET_K; }
@inline export function setMembersStart(e: Entry): usize { return buf(e) + HEADER; }

/** Makes e (typed OBJ_SET by the caller) hold an empty kernel set of the given encoding. */
export function setInitIn(e: Entry, intset: bool, capHint: usize): void {
  const b = new ArrayBuffer(<i32>((HEADER + capHint + 7) & ~7));
  const p = changetype<usize>(b);
  store<u32>(p, 0);
  store<u32>(p, <u32>HEADER, 4);
  store<u64>(p + 8, 0);
  store<u8>(p, intset ? ENC_INTSET_K : ENC_HT_K, 8);
  e.val = b;
}

/** Room for `more` bytes past the members in use (a new block when it must grow). */
function reserve(e: Entry, more: usize): void {
  const inUse = used(e);
  const cap = <usize>e.val!.byteLength;
  if (inUse + more <= cap) return;
  const n = max(inUse + more, cap + (cap >> 1));
  const grown = new ArrayBuffer(<i32>((n + 7) & ~7));
  memory.copy(changetype<usize>(grown), buf(e), inUse);
  e.val = grown;
}

// ---- intset ---------------------------------------------------------------------------------

@inline export function intAt(e: Entry, i: i32): i64 { return load<i64>(setMembersStart(e) + (<usize>i << 3)); }

/** Binary search: the index of v, or -(where it would go) - 1. */
export function intsetSearch(e: Entry, v: i64): i32 {
  let lo = 0, hi = setCount(e) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = intAt(e, mid);
    if (x < v) lo = mid + 1;
    else if (x > v) hi = mid - 1;
    else return mid;
  }
  return -lo - 1;
}

export function intsetInsertAt(e: Entry, i: i32, v: i64): void {
  reserve(e, 8);
  const p = setMembersStart(e) + (<usize>i << 3);
  const end = buf(e) + used(e);
  memory.copy(p + 8, p, end - p);
  store<i64>(p, v);
  setCountTo(e, setCount(e) + 1);
  setUsed(e, used(e) + 8);
}

export function intsetDeleteAt(e: Entry, i: i32): void {
  const p = setMembersStart(e) + (<usize>i << 3);
  const end = buf(e) + used(e);
  memory.copy(p, p + 8, end - p - 8);
  setCountTo(e, setCount(e) - 1);
  setUsed(e, used(e) - 8);
}

// ---- hashtable (members in the host's order) -------------------------------------------------

@inline export function memberLen(p: usize): usize { return <usize>load<u32>(p); }
@inline export function memberPtr(p: usize): usize { return p + 4; }
@inline export function nextMember(p: usize): usize { return p + 4 + <usize>load<u32>(p); }
@inline export function membersEnd(e: Entry): usize { return buf(e) + used(e); }

/** The member [ptr, ptr+len) of a hashtable-encoded kernel set, or 0. */
export function htFind(e: Entry, ptr: usize, len: usize): usize {
  const end = membersEnd(e);
  for (let p = setMembersStart(e); p < end; p = nextMember(p)) {
    if (memberLen(p) == len && memory.compare(p + 4, ptr, len) == 0) return p;
  }
  return 0;
}

/** The i-th member's address (hashtable). */
export function htNth(e: Entry, i: i32): usize {
  let p = setMembersStart(e);
  for (let k = 0; k < i; k++) p = nextMember(p);
  return p;
}

export function htAppend(e: Entry, ptr: usize, len: usize): void {
  reserve(e, 4 + len);
  const p = membersEnd(e);
  store<u32>(p, <u32>len);
  memory.copy(p + 4, ptr, len);
  setCountTo(e, setCount(e) + 1);
  setUsed(e, used(e) + 4 + len);
}

/** Removes the member at p as SetValue does: the last member takes its place. */
export function htDeleteAt(e: Entry, p: usize): void {
  const next = nextMember(p);
  let end = membersEnd(e);
  const gone = next - p;
  memory.copy(p, next, end - next);
  end -= gone;
  setCountTo(e, setCount(e) - 1);
  setUsed(e, used(e) - gone);
  if (p >= end) return; // it was the last one
  // Find the last member (now at the end) and move it into p's place.
  let last = p;
  while (nextMember(last) < end) last = nextMember(last);
  if (last == p) return;
  const size = end - last;
  // Rotate [p, end) right by `size`: the last member first, the rest after it.
  const tmp = heap.alloc(size);
  memory.copy(tmp, last, size);
  memory.copy(p + size, p, last - p);
  memory.copy(p, tmp, size);
  heap.free(tmp);
}

/**
 * setTypeConvert: the intset becomes a hashtable of the same members in the same (ascending)
 * order, as the host's SetValue.toHashtable keeps them.
 */
export function setToHashtable(e: Entry): void {
  const n = setCount(e);
  const b = new ArrayBuffer(<i32>((HEADER + <usize>n * 24 + 7) & ~7));
  const nb = changetype<usize>(b);
  store<u64>(nb + 8, 0);
  store<u8>(nb, ENC_HT_K, 8);
  let q = nb + HEADER;
  for (let i = 0; i < n; i++) {
    const l = ll2string(q + 4, intAt(e, i));
    store<u32>(q, <u32>l);
    q += 4 + l;
  }
  store<u32>(nb, <u32>n);
  store<u32>(nb, <u32>(q - nb), 4);
  e.val = b;
}

/** Bytes held by the set's block (used_memory). */
export function setBlockBytes(e: Entry): usize { return <usize>e.val!.byteLength; }

/** A copy of e's set held by dst (COPY). */
export function setCloneInto(e: Entry, dst: Entry): void {
  const n = used(e);
  const b = new ArrayBuffer(<i32>((n + 7) & ~7));
  memory.copy(changetype<usize>(b), buf(e), n);
  dst.val = b;
}

/** Bytes of the members region (the blob and the host's copy read it as it is). */
export function setMembersBytes(e: Entry): usize { return used(e) - HEADER; }
