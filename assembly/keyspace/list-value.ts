// QuickList: the value of a Redis list, laid out as Redis 7.0's quicklist (quicklist.c): a
// sequence of nodes, each one listpack block of elements.
//
//   QuickList  nodes: Array<ArrayBuffer> (head first) and count (elements in all nodes).
//              No node is ever empty; an empty list is no list (its key is deleted).
//   node       one block: an 8-byte header (bytes of entries in use: u32, entries: u16, as
//              Redis's listpack header holds its total bytes and count; then the gap: u16),
//              then `gap` bytes of slack, the entries back to back, then slack for growth:
//                  [varint len][len bytes][backlen]
//              The gap lets LPUSH write a node's new first entry in place (Redis's listpack
//              moves the whole listpack, up to 8 KiB, for each): a head insert takes room from
//              the gap, and when the node must move or grow for one, the gap gets the slack.
//              A node holds at most ~32K entries (64 KiB of 2-byte ones), so u16 counts fit.
//              len is unsigned LEB128 (7 bits a byte, low bits first); backlen is the entry's
//              bytes before it (varint + data) written backwards from the entry's end (the
//              byte just before the next entry holds the low 7 bits, bit 7 set when more
//              bytes follow towards the start), as a listpack's backlen: it lets RPOP,
//              LINDEX -1 and LRANGE from the tail walk a node backwards.
//
// A node holds at most list-max-listpack-size entries when that is positive (and never more
// than 8 KiB unless it is one element, Redis's SIZE_SAFETY_LIMIT), or at most 4/8/16/32/64
// KiB of entries for -1..-5 (-2, 8 KiB, by default): _quicklistNodeAllowInsert. An element
// too big for any node gets a node of its own. list-compress-depth is accepted (Redis
// compresses inner nodes with LZF, which changes nothing a client sees) and not applied.
//
// The entry holds the QuickList object in its value area (bit REF, entry.ts), pinned while
// held; the list functions below take the entry. Reading an element leaves its address in
// elemPtr/elemLen: it points into a node and stays valid only until the list next changes.

import { Entry } from "./entry";
import { OBJECT_MAXSIZE } from "rt/common";

/** list-max-listpack-size (alias list-max-ziplist-size). */
export let listFill: i64 = -2;
/** list-compress-depth: kept for CONFIG GET; compression is not applied (see the top). */
export let listCompressDepth: i64 = 0;

export function setListLimits(fill: i64, depth: i64): void {
  listFill = fill;
  listCompressDepth = depth;
}

const NODE_HEADER: i32 = 8;
/** Redis's SIZE_SAFETY_LIMIT: a count-limited node still stays under 8 KiB. */
const SIZE_SAFETY_LIMIT: i32 = 8192;
/** optimization_level[] of quicklist.c: the byte limits of fill -1..-5. */
const BYTE_LIMITS: StaticArray<i32> = [4096, 8192, 16384, 32768, 65536];

export let elemPtr: usize = 0;
export let elemLen: usize = 0;
/** The loaded element's entry size in its node (listNextLoaded steps over it without reading it again). */
let elemSize: i32 = 0;

export class QuickList {
  nodes: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  count: i64 = 0;
}

/** Makes the entry's value an empty list. */
export function listInitIn(e: Entry): QuickList {
  e.clearValue();
  const ql = new QuickList();
  e.val = changetype<ArrayBuffer>(ql);
  return ql;
}

/** The list an OBJ_LIST entry holds. */
@inline export function listOf(e: Entry): QuickList {
  return changetype<QuickList>(e.val);
}

// ---- node blocks --------------------------------------------------------------------------

@inline function nodeUsed(n: ArrayBuffer): i32 { return load<i32>(changetype<usize>(n)); }
@inline function nodeCount(n: ArrayBuffer): i32 { return <i32>load<u16>(changetype<usize>(n), 4); }
@inline function nodeGap(n: ArrayBuffer): i32 { return <i32>load<u16>(changetype<usize>(n), 6); }
@inline function setNodeGap(n: ArrayBuffer, v: i32): void { store<u16>(changetype<usize>(n), <u16>v, 6); }
@inline function setNodeUsed(n: ArrayBuffer, v: i32): void { store<i32>(changetype<usize>(n), v); }
@inline function setNodeCount(n: ArrayBuffer, v: i32): void { store<u16>(changetype<usize>(n), <u16>v, 4); }
@inline function nodeBase(n: ArrayBuffer): usize { return changetype<usize>(n) + <usize>(NODE_HEADER + nodeGap(n)); }
/** A node's bytes past its header: gap, entries and the slack after them. */
@inline function nodeSpace(n: ArrayBuffer): i32 { return n.byteLength - NODE_HEADER; }

@inline function varintSize(n: usize): i32 {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

/** Bytes one element of `len` bytes takes in a node. */
@inline export function entrySize(len: usize): i32 {
  const inner = varintSize(len) + <i32>len;
  return inner + varintSize(<usize>inner);
}

function writeEntry(p: usize, ptr: usize, len: usize): void {
  let n = len;
  let q = p;
  while (n >= 0x80) { store<u8>(q, <u8>(n | 0x80)); n >>= 7; q++; }
  store<u8>(q, <u8>n);
  q++;
  memory.copy(q, ptr, len);
  q += len;
  // backlen, backwards from the entry's end
  let inner = <usize>(q - p);
  const bl = varintSize(inner);
  let e = q + <usize>bl - 1;
  while (true) {
    const more = inner >= 0x80;
    store<u8>(e, <u8>((inner & 0x7f) | (more ? 0x80 : 0)));
    inner >>= 7;
    if (!more) break;
    e--;
  }
}

/** Loads the element at node offset `off` into elemPtr/elemLen; returns the entry's size. */
function readAt(base: usize, off: i32): i32 {
  const p = base + <usize>off;
  let b = <usize>load<u8>(p);
  let len: usize;
  let h: usize = 1;
  if (b < 0x80) len = b;
  else {
    len = b & 0x7f;
    let shift: usize = 7;
    while (true) {
      b = <usize>load<u8>(p + h);
      len |= (b & 0x7f) << shift;
      h++;
      if (b < 0x80) break;
      shift += 7;
    }
  }
  elemPtr = p + h;
  elemLen = len;
  const inner = <i32>(h + len);
  return (elemSize = inner + varintSize(<usize>inner));
}

/** The offset of the entry that ends at `end` (end > 0). */
function entryBefore(base: usize, end: i32): i32 {
  let p = base + <usize>end - 1;
  let v: usize = 0;
  let shift: usize = 0;
  let n: i32 = 0;
  while (true) {
    const b = <usize>load<u8>(p);
    v |= (b & 0x7f) << shift;
    n++;
    if (b < 0x80) break;
    shift += 7;
    p--;
  }
  return end - n - <i32>v;
}

/** Puts a node at position i of the node array (AssemblyScript's splice cannot insert). */
function insertNode(ql: QuickList, i: i32, n: ArrayBuffer): void {
  const nodes = ql.nodes;
  const len = nodes.length;
  if (i >= len) { nodes.push(n); return; }
  nodes.push(unchecked(nodes[len - 1]));
  for (let j = len - 1; j > i; j--) unchecked(nodes[j] = unchecked(nodes[j - 1]));
  unchecked(nodes[i] = n);
}

function newNode(cap: i32): ArrayBuffer {
  const n = new ArrayBuffer(NODE_HEADER + cap);
  store<u64>(changetype<usize>(n), 0);
  return n;
}

/**
 * The node with room for `need` bytes of entries (moved within its block, or a grown copy, when
 * it has not). front: the room is wanted before the first entry (a head insert), in the gap;
 * otherwise after the last. When the entries move, the slack is shared out: all of it on the
 * side asked for, or half when the node also takes inserts at its other end (a one-node list,
 * or a head node with a gap asked for room at its back), so that alternating ends do not move
 * the entries every time.
 */
function reserve(ql: QuickList, i: i32, need: i32, front: bool): ArrayBuffer {
  const n = unchecked(ql.nodes[i]);
  const space = nodeSpace(n);
  const gap = nodeGap(n);
  const used = nodeUsed(n);
  const size = need - used;
  if (front ? gap >= size : need <= space - gap) return n;
  let g = n;
  let c = space;
  if (need > space) {
    c = space + (space >> 1);
    if (c < need) c = need;
    c = (c + 15) & ~15;
    if (<i64>c + NODE_HEADER > <i64>OBJECT_MAXSIZE) c = need;
    g = new ArrayBuffer(NODE_HEADER + c);
    store<u64>(changetype<usize>(g), load<u64>(changetype<usize>(n)));
  }
  const slack = c - used;
  let newGap: i32;
  if (front) {
    newGap = i == ql.nodes.length - 1 ? max(size, slack >> 1) : slack;
    if (newGap > 0xffff) newGap = size <= 0xffff ? 0xffff : 0;
  } else {
    newGap = i == 0 && gap > 0 ? min(slack - size, slack >> 1) : 0;
    if (newGap > 0xffff) newGap = 0xffff;
  }
  memory.copy(changetype<usize>(g) + <usize>(NODE_HEADER + newGap), changetype<usize>(n) + <usize>(NODE_HEADER + gap), <usize>used);
  setNodeGap(g, newGap);
  if (g != n) unchecked(ql.nodes[i] = g);
  return g;
}

/** Can a node with `count` entries in `used` bytes take one more of `size` bytes? (_quicklistNodeAllowInsert) */
function allowInsert(count: i32, used: i32, size: i32): bool {
  const newUsed = <i64>used + <i64>size;
  if (listFill >= 0) {
    if (<i64>count >= listFill) return false;
    return newUsed <= <i64>SIZE_SAFETY_LIMIT;
  }
  let lvl = <i32>(-listFill) - 1;
  if (lvl > 4) lvl = 4;
  // Redis compares the listpack's whole size (header and end byte: 7) with the limit.
  return newUsed + 7 <= <i64>unchecked(BYTE_LIMITS[lvl]);
}

/** Would a node of `count` entries in `used` bytes be over the limits (after an in-place change)? */
function overLimits(count: i32, used: i32): bool {
  if (count <= 1) return false;
  if (listFill >= 0) return <i64>count > listFill || used > SIZE_SAFETY_LIMIT;
  let lvl = <i32>(-listFill) - 1;
  if (lvl > 4) lvl = 4;
  return <i64>used + 7 > <i64>unchecked(BYTE_LIMITS[lvl]);
}

/** Inserts an element into node i at byte offset off (no limit checks). */
function nodeInsert(ql: QuickList, i: i32, off: i32, ptr: usize, len: usize): void {
  const size = entrySize(len);
  const used = nodeUsed(unchecked(ql.nodes[i]));
  // ptr may point into this node (never: arguments are in the request buffer), so grow first.
  const head = off == 0;
  const n = reserve(ql, i, used + size, head);
  if (head && nodeGap(n) >= size) {
    // In the gap: nothing moves.
    const gap = nodeGap(n) - size;
    setNodeGap(n, gap);
    writeEntry(changetype<usize>(n) + <usize>(NODE_HEADER + gap), ptr, len);
  } else {
    const base = nodeBase(n);
    if (off < used) memory.copy(base + <usize>(off + size), base + <usize>off, <usize>(used - off));
    writeEntry(base + <usize>off, ptr, len);
  }
  setNodeUsed(n, used + size);
  setNodeCount(n, nodeCount(n) + 1);
  ql.count++;
}

/** Removes the entry at byte offset off of node i; the node goes when it empties. Returns whether it did. */
function nodeDelete(ql: QuickList, i: i32, off: i32): bool {
  const n = unchecked(ql.nodes[i]);
  const base = nodeBase(n);
  const size = readAt(base, off);
  const used = nodeUsed(n);
  // The first entry joins the gap (LPOP): nothing moves.
  if (off == 0 && nodeGap(n) + size <= 0xffff) setNodeGap(n, nodeGap(n) + size);
  else memory.copy(base + <usize>off, base + <usize>(off + size), <usize>(used - off - size));
  setNodeUsed(n, used - size);
  setNodeCount(n, nodeCount(n) - 1);
  ql.count--;
  if (nodeCount(n) == 0) {
    ql.nodes.splice(i, 1);
    return true;
  }
  shrinkIfSparse(ql, i);
  return false;
}

/** Gives memory back when a big node has mostly emptied. */
function shrinkIfSparse(ql: QuickList, i: i32): void {
  const n = unchecked(ql.nodes[i]);
  const cap = nodeSpace(n);
  const used = nodeUsed(n);
  if (cap > 1024 && used < (cap >> 2)) {
    const c = (used + (used >> 2) + 15) & ~15;
    const s = new ArrayBuffer(NODE_HEADER + c);
    store<u64>(changetype<usize>(s), load<u64>(changetype<usize>(n)));
    setNodeGap(s, 0);
    memory.copy(changetype<usize>(s) + <usize>NODE_HEADER, nodeBase(n), <usize>used);
    unchecked(ql.nodes[i] = s);
  }
}

/** Splits node i in two halves when it is over the limits (after an insert or replace in the middle). */
function splitIfOver(ql: QuickList, i: i32): void {
  const n = unchecked(ql.nodes[i]);
  const count = nodeCount(n);
  const used = nodeUsed(n);
  if (!overLimits(count, used)) return;
  const base = nodeBase(n);
  // The first half keeps ceil(count/2) entries.
  const keep = (count + 1) >> 1;
  let off = 0;
  for (let k = 0; k < keep; k++) off += readAt(base, off);
  const rest = used - off;
  const m = newNode((rest + 15) & ~15);
  memory.copy(nodeBase(m), base + <usize>off, <usize>rest);
  setNodeUsed(m, rest);
  setNodeCount(m, count - keep);
  setNodeUsed(n, off);
  setNodeCount(n, keep);
  insertNode(ql, i + 1, m);
  shrinkIfSparse(ql, i);
  // Either half may still be over (a few huge entries): split again.
  splitIfOver(ql, i + 1);
  splitIfOver(ql, i);
}

// ---- push / pop ---------------------------------------------------------------------------

export function listPushHead(ql: QuickList, ptr: usize, len: usize): void {
  const nodes = ql.nodes;
  const size = entrySize(len);
  if (nodes.length > 0) {
    const h = unchecked(nodes[0]);
    if (allowInsert(nodeCount(h), nodeUsed(h), size)) { nodeInsert(ql, 0, 0, ptr, len); return; }
  }
  nodes.unshift(newNode(nodeCapFor(size)));
  nodeInsert(ql, 0, 0, ptr, len);
}

export function listPushTail(ql: QuickList, ptr: usize, len: usize): void {
  const nodes = ql.nodes;
  const size = entrySize(len);
  const last = nodes.length - 1;
  if (last >= 0) {
    const t = unchecked(nodes[last]);
    if (allowInsert(nodeCount(t), nodeUsed(t), size)) { nodeInsert(ql, last, nodeUsed(t), ptr, len); return; }
  }
  nodes.push(newNode(nodeCapFor(size)));
  nodeInsert(ql, nodes.length - 1, 0, ptr, len);
}

/** A new node's first allocation: room for a few entries like the first, not the whole limit. */
function nodeCapFor(size: i32): i32 {
  const c = size * 8;
  return c < 64 ? 64 : c > 8192 ? max(size, 8192) : (c + 15) & ~15;
}

export function listPush(ql: QuickList, head: bool, ptr: usize, len: usize): void {
  if (head) listPushHead(ql, ptr, len); else listPushTail(ql, ptr, len);
}

/** Loads the first (head) or last element into elemPtr/elemLen; the list is not empty. */
export function listPeek(ql: QuickList, head: bool): void {
  const nodes = ql.nodes;
  if (head) {
    readAt(nodeBase(unchecked(nodes[0])), 0);
  } else {
    const n = unchecked(nodes[nodes.length - 1]);
    const base = nodeBase(n);
    readAt(base, entryBefore(base, nodeUsed(n)));
  }
}

/** Removes the first or last element (call listPeek first to read it). */
export function listDropEnd(ql: QuickList, head: bool): void {
  const nodes = ql.nodes;
  if (head) {
    nodeDelete(ql, 0, 0);
  } else {
    const i = nodes.length - 1;
    const n = unchecked(nodes[i]);
    nodeDelete(ql, i, entryBefore(nodeBase(n), nodeUsed(n)));
  }
}

// ---- positions ----------------------------------------------------------------------------
//
// A cursor on one element: node index and byte offset. locate() puts it on index i (0 <= i <
// count), walking nodes from the nearer end; next()/prev() step it, crossing nodes.

export let curNode: i32 = 0;
export let curOff: i32 = 0;

export function listLocate(ql: QuickList, i: i64): void {
  const nodes = ql.nodes;
  let at: i64;
  let k: i32;
  let inNode: i32;
  if (i < (ql.count >> 1)) {
    at = 0;
    k = 0;
    while (at + <i64>nodeCount(unchecked(nodes[k])) <= i) { at += <i64>nodeCount(unchecked(nodes[k])); k++; }
    inNode = <i32>(i - at);
  } else {
    at = ql.count;
    k = nodes.length - 1;
    while (at - <i64>nodeCount(unchecked(nodes[k])) > i) { at -= <i64>nodeCount(unchecked(nodes[k])); k--; }
    inNode = <i32>(i - (at - <i64>nodeCount(unchecked(nodes[k]))));
  }
  const n = unchecked(nodes[k]);
  const base = nodeBase(n);
  const cnt = nodeCount(n);
  let off: i32;
  if (inNode <= (cnt >> 1)) {
    off = 0;
    for (let j = 0; j < inNode; j++) off += readAt(base, off);
  } else {
    off = nodeUsed(n);
    for (let j = cnt; j > inNode; j--) off = entryBefore(base, off);
  }
  curNode = k;
  curOff = off;
  curBase = base;
  curUsed = nodeUsed(n);
  readAt(base, off);
}

/** Loads the cursor's element into elemPtr/elemLen. */
export function listCurrent(ql: QuickList): void {
  readAt(nodeBase(unchecked(ql.nodes[curNode])), curOff);
}

/** Moves the cursor to the next element; false at the end. Loads it. */
export function listNext(ql: QuickList): bool {
  const n = unchecked(ql.nodes[curNode]);
  const base = nodeBase(n);
  const next = curOff + readAt(base, curOff);
  if (next < nodeUsed(n)) { curOff = next; readAt(base, next); return true; }
  if (curNode + 1 >= ql.nodes.length) return false;
  curNode++;
  curOff = 0;
  readAt(nodeBase(unchecked(ql.nodes[curNode])), 0);
  return true;
}

/** The cursor node's base and bytes in use, as listLocate left them (for listNextLoaded). */
let curBase: usize = 0;
let curUsed: i32 = 0;

/**
 * listNext for a walk that listLocate started and only listNextLoaded continues, with no other
 * element read and no change to the list since (LRANGE's reply): it steps over the element it
 * loaded last without reading it again, and keeps the node's address, so each element costs
 * one read. LRANGE of 600 spent ~40% of its time in two reads and a node lookup an element.
 */
export function listNextLoaded(ql: QuickList): bool {
  const next = curOff + elemSize;
  if (next < curUsed) { curOff = next; readAt(curBase, next); return true; }
  if (curNode + 1 >= ql.nodes.length) return false;
  curNode++;
  curOff = 0;
  const n = unchecked(ql.nodes[curNode]);
  curBase = nodeBase(n);
  curUsed = nodeUsed(n);
  readAt(curBase, 0);
  return true;
}

/** Moves the cursor to the previous element; false at the start. Loads it. */
export function listPrev(ql: QuickList): bool {
  if (curOff > 0) {
    const base = nodeBase(unchecked(ql.nodes[curNode]));
    curOff = entryBefore(base, curOff);
    readAt(base, curOff);
    return true;
  }
  if (curNode == 0) return false;
  curNode--;
  const n = unchecked(ql.nodes[curNode]);
  const base = nodeBase(n);
  curOff = entryBefore(base, nodeUsed(n));
  readAt(base, curOff);
  return true;
}

/**
 * Deletes the cursor's element and leaves the cursor on the element after it (forward) or
 * before it (!forward). Returns whether there is one.
 */
export function listDeleteCurrent(ql: QuickList, forward: bool): bool {
  const k = curNode;
  const off = curOff;
  const nodeGone = nodeDelete(ql, k, off);
  if (forward) {
    if (nodeGone) {
      if (k >= ql.nodes.length) return false;
      curNode = k;
      curOff = 0;
    } else if (off >= nodeUsed(unchecked(ql.nodes[k]))) {
      if (k + 1 >= ql.nodes.length) return false;
      curNode = k + 1;
      curOff = 0;
    } else {
      curOff = off; // the next entry slid into place (offsets of a shrunk copy are the same)
    }
    listCurrent(ql);
    return true;
  }
  if (!nodeGone && off > 0) {
    curNode = k;
    curOff = entryBefore(nodeBase(unchecked(ql.nodes[k])), off);
  } else {
    if (k == 0) return false;
    curNode = k - 1;
    const n = unchecked(ql.nodes[k - 1]);
    curOff = entryBefore(nodeBase(n), nodeUsed(n));
  }
  listCurrent(ql);
  return true;
}

/** Inserts before (after=false) or after the cursor's element (LINSERT). */
export function listInsertAtCursor(ql: QuickList, after: bool, ptr: usize, len: usize): void {
  const k = curNode;
  const n = unchecked(ql.nodes[k]);
  let off = curOff;
  if (after) off += readAt(nodeBase(n), off);
  const size = entrySize(len);
  // At a node's edge with the node full, the neighbour (or a new node) takes it, as
  // _quicklistInsert does; otherwise it goes in here and the node splits if over the limits.
  if (!allowInsert(nodeCount(n), nodeUsed(n), size)) {
    if (off == 0) {
      if (k > 0) {
        const p = unchecked(ql.nodes[k - 1]);
        if (allowInsert(nodeCount(p), nodeUsed(p), size)) { nodeInsert(ql, k - 1, nodeUsed(p), ptr, len); return; }
      }
      insertNode(ql, k, newNode(nodeCapFor(size)));
      nodeInsert(ql, k, 0, ptr, len);
      return;
    }
    if (off == nodeUsed(n)) {
      if (k + 1 < ql.nodes.length) {
        const x = unchecked(ql.nodes[k + 1]);
        if (allowInsert(nodeCount(x), nodeUsed(x), size)) { nodeInsert(ql, k + 1, 0, ptr, len); return; }
      }
      insertNode(ql, k + 1, newNode(nodeCapFor(size)));
      nodeInsert(ql, k + 1, 0, ptr, len);
      return;
    }
  }
  nodeInsert(ql, k, off, ptr, len);
  splitIfOver(ql, k);
}

/** Replaces the cursor's element (LSET). */
export function listReplaceCurrent(ql: QuickList, ptr: usize, len: usize): void {
  const k = curNode;
  const off = curOff;
  let n = unchecked(ql.nodes[k]);
  const oldSize = readAt(nodeBase(n), off);
  const size = entrySize(len);
  const used = nodeUsed(n);
  const delta = size - oldSize;
  if (delta > 0) n = reserve(ql, k, used + delta, false);
  const base = nodeBase(n);
  const tail = off + oldSize;
  if (delta != 0) memory.copy(base + <usize>(tail + delta), base + <usize>tail, <usize>(used - tail));
  writeEntry(base + <usize>off, ptr, len);
  setNodeUsed(n, used + delta);
  if (delta < 0) shrinkIfSparse(ql, k);
  else splitIfOver(ql, k);
}

/** Removes `n` elements from the head (fromHead) or the tail, whole nodes at a time where possible. */
export function listDeleteRange(ql: QuickList, fromHead: bool, n: i64): void {
  const nodes = ql.nodes;
  while (n > 0 && nodes.length > 0) {
    const i = fromHead ? 0 : nodes.length - 1;
    const node = unchecked(nodes[i]);
    const c = <i64>nodeCount(node);
    if (c <= n) {
      nodes.splice(i, 1);
      ql.count -= c;
      n -= c;
      continue;
    }
    // Part of this node: cut n entries off its edge in one move.
    const base = nodeBase(node);
    const used = nodeUsed(node);
    if (fromHead) {
      let off = 0;
      for (let j: i64 = 0; j < n; j++) off += readAt(base, off);
      const gap = nodeGap(node) + off;
      // The cut entries join the gap (as long as it fits its u16), instead of moving the rest.
      if (gap <= 0xffff) setNodeGap(node, gap);
      else memory.copy(base, base + <usize>off, <usize>(used - off));
      setNodeUsed(node, used - off);
    } else {
      let off = used;
      for (let j: i64 = 0; j < n; j++) off = entryBefore(base, off);
      setNodeUsed(node, off);
    }
    setNodeCount(node, <i32>(c - n));
    ql.count -= n;
    shrinkIfSparse(ql, i);
    n = 0;
  }
}

// ---- whole lists --------------------------------------------------------------------------

/** A deep copy (COPY). */
export function listCloneInto(src: QuickList, dst: Entry): void {
  const ql = listInitIn(dst);
  const nodes = src.nodes;
  for (let i = 0; i < nodes.length; i++) {
    const n = unchecked(nodes[i]);
    const used = nodeUsed(n);
    const c = newNode((used + 15) & ~15);
    store<u64>(changetype<usize>(c), load<u64>(changetype<usize>(n)));
    setNodeGap(c, 0);
    memory.copy(changetype<usize>(c) + <usize>NODE_HEADER, nodeBase(n), <usize>used);
    ql.nodes.push(c);
  }
  ql.count = src.count;
}

/** Node blocks' sizes, for memory accounting: calls f(bytes) per node. */
export function listNodeCount(ql: QuickList): i32 { return ql.nodes.length; }
export function listNodeBytes(ql: QuickList, i: i32): i64 { return <i64>unchecked(ql.nodes[i]).byteLength; }
