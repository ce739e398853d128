// A small sorted set held by the kernel: Redis 7.0's listpack encoding of a zset, kept in
// WASM memory so that ZADD and ZPOPMIN/ZPOPMAX on it run inside process() like LPUSH.
//
// Only the hot commands live here (assembly/commands/zsets.ts); every other zset command,
// and every zset past the listpack limits, stays in the host (src/types/zset.ts). A kernel
// zset moves to the host the first time the host asks for its handle (keyHandleOfType,
// keyHandle: any host zset command, MEMORY USAGE, DEBUG...), through the zsetToHost import,
// which builds a listpack-encoded ZSetValue from the pairs; it never moves back. Both hold
// the same (score, member) order, so the move is invisible to clients.
//
// Layout: one ArrayBuffer, held by the entry as its value object (bit REF, entry.ts; a zset
// entry without REF holds a host handle):
//   offset 0   u32 count of elements
//   offset 4   u32 bytes in use, this header included
//   offset 8   the elements in (score, member bytes) order, as zzlInsert keeps a listpack:
//                f64 score, u32 member length, member bytes
// Scores are doubles as parsed (Redis's listpack stores their text, which reads back to the
// same double), except -0, which a listpack gives back as 0 (redis-server 7.0.15: ZADD z -0 m;
// ZSCORE z m answers 0): ZADD stores 0.

import { Entry, OBJ_ZSET } from "./entry";

const HEADER: usize = 8;
/** Bytes of an element before its member: the score and the member's length. */
const ELEM_HEAD: usize = 12;

@inline function buf(e: Entry): usize { return changetype<usize>(e.val); }

/** Whether e is a zset the kernel holds (rather than a host handle). */
@inline export function isKernelZset(e: Entry): bool { return e.type == OBJ_ZSET && e.val != null; }

/** Makes e (typed OBJ_ZSET by the caller) hold an empty kernel zset. */
export function zsetInitIn(e: Entry, capHint: usize): void {
  const b = new ArrayBuffer(<i32>(HEADER + capHint));
  store<u32>(changetype<usize>(b), 0);
  store<u32>(changetype<usize>(b), <u32>HEADER, 4);
  e.val = b;
}

@inline export function zsetCount(e: Entry): u32 { return load<u32>(buf(e)); }
@inline function used(e: Entry): usize { return <usize>load<u32>(buf(e), 4); }

/** The first element's address (the set must not be empty). */
@inline export function zsetFirst(e: Entry): usize { return buf(e) + HEADER; }
@inline export function zsetScoreAt(p: usize): f64 { return load<f64>(p); }
@inline export function zsetMemberLen(p: usize): usize { return <usize>load<u32>(p, 8); }
@inline export function zsetMemberPtr(p: usize): usize { return p + ELEM_HEAD; }
@inline export function zsetNextAt(p: usize): usize { return p + ELEM_HEAD + <usize>load<u32>(p, 8); }
/** Where the elements end (one past the last). */
@inline export function zsetEnd(e: Entry): usize { return buf(e) + used(e); }

/** The last element's address (the set must not be empty). */
export function zsetLast(e: Entry): usize {
  let p = zsetFirst(e);
  const end = zsetEnd(e);
  while (true) {
    const n = zsetNextAt(p);
    if (n >= end) return p;
    p = n;
  }
}

/** The element whose member is [ptr, ptr+len), or 0. */
export function zsetFind(e: Entry, ptr: usize, len: usize): usize {
  const end = zsetEnd(e);
  for (let p = zsetFirst(e); p < end; p = zsetNextAt(p)) {
    if (zsetMemberLen(p) == len && memory.compare(zsetMemberPtr(p), ptr, len) == 0) return p;
  }
  return 0;
}

/** Removes the element at p (an address from this set). */
export function zsetDeleteAt(e: Entry, p: usize): void {
  const b = buf(e);
  const end = b + used(e);
  const next = zsetNextAt(p);
  memory.copy(p, next, end - next);
  store<u32>(b, load<u32>(b) - 1);
  store<u32>(b, <u32>(used(e) - (next - p)), 4);
}

/** Removes the k elements from p on (a run in order: ZREMRANGEBY*), with one move of the rest. */
export function zsetDeleteRun(e: Entry, p: usize, k: u32): void {
  if (k == 0) return;
  const b = buf(e);
  const end = b + used(e);
  let q = p;
  for (let i: u32 = 0; i < k; i++) q = zsetNextAt(q);
  memory.copy(p, q, end - q);
  store<u32>(b, load<u32>(b) - k);
  store<u32>(b, <u32>(used(e) - (q - p)), 4);
}

/** memcmp order of two members, shorter first on a common prefix (sdscmp). */
function compareMember(ap: usize, al: usize, bp: usize, bl: usize): i32 {
  const c = memory.compare(ap, bp, min(al, bl));
  if (c != 0) return c;
  return al < bl ? -1 : al > bl ? 1 : 0;
}

/** Inserts a member that is not in the set, at its place in (score, member) order (zzlInsert). */
export function zsetInsert(e: Entry, score: f64, ptr: usize, len: usize): void {
  const size = ELEM_HEAD + len;
  let b = buf(e);
  const inUse = used(e);
  // Where it goes: before the first element with a greater score, or an equal score and a
  // greater member.
  let at = b + HEADER;
  const end = b + inUse;
  while (at < end) {
    const s = zsetScoreAt(at);
    if (s > score || (s == score && compareMember(zsetMemberPtr(at), zsetMemberLen(at), ptr, len) > 0)) break;
    at = zsetNextAt(at);
  }
  let off = at - b;
  if (inUse + size > <usize>e.val!.byteLength) {
    // Grow by a quarter at least (a listpack is realloc'd per insert; this is amortized).
    let cap = <usize>e.val!.byteLength;
    cap = max(inUse + size, cap + (cap >> 2));
    const grown = new ArrayBuffer(<i32>((cap + 7) & ~7));
    memory.copy(changetype<usize>(grown), b, inUse);
    e.val = grown;
    b = changetype<usize>(grown);
  }
  const p = b + off;
  memory.copy(p + size, p, inUse - off);
  store<f64>(p, score);
  store<u32>(p, <u32>len, 8);
  memory.copy(p + ELEM_HEAD, ptr, len);
  store<u32>(b, load<u32>(b) + 1);
  store<u32>(b, <u32>(inUse + size), 4);
}

/** Bytes held by the set's block (MEMORY accounting, used_memory). */
export function zsetBlockBytes(e: Entry): usize { return <usize>e.val!.byteLength; }

/** A copy of e's set held by dst (COPY). */
export function zsetCloneInto(e: Entry, dst: Entry): void {
  const n = used(e);
  const b = new ArrayBuffer(<i32>((n + 7) & ~7));
  memory.copy(changetype<usize>(b), buf(e), n);
  dst.val = b;
}
