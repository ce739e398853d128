// Dataset memory accounting: how many bytes of this kernel's linear memory the keys and
// their values hold, kept as a running total (Redis's zmalloc used_memory, for the part of
// it that is the dataset). INFO's used_memory and maxmemory eviction read it.
//
// Why a running total and not the allocator: AssemblyScript's incremental GC frees an
// object only when a collection reaches it, so the heap's size says nothing about what a
// deletion just gave back; eviction must see the bytes of a key go the moment it is gone.
//
// How it stays right without a hook at every mutation: every write reaches its key through
// lookupKeyWrite / dbAdd / dbAddEntry (keyspace.ts), which queue the entry here (noteWrite);
// settleMemory() re-measures the queued entries after the command (index.ts) and adds the
// difference to the total. Unlinking a key (delete, expiry, eviction, flush, MOVE's source)
// subtracts what it was accounted at. Each entry remembers that figure (Entry.acct).
//
// Sizes are what the allocator hands out: AssemblyScript's TLSF rounds a block (4-byte
// header + 16-byte object header + payload) up to 16 bytes.

import { Entry, OBJ_STRING, OBJ_HASH, OBJ_LIST, OBJ_SET, OBJ_ZSET } from "./entry";
import { QuickList, listOf } from "./list-value";
import { HashValue } from "./hash-value";
import { retireFree } from "./keyspace";

export let datasetBytes: i64 = 0;
const pending = new Array<Entry>();

/** A managed object of `payload` bytes as the allocator holds it. */
@inline export function blockBytes(payload: i64): i64 {
  return (payload + 20 + 15) & ~15;
}

/** An unmanaged block (heap.alloc, no runtime header) of `payload` bytes: TLSF's 4-byte header, 16-byte granules. */
@inline function rawBlockBytes(payload: i64): i64 {
  return max<i64>((payload + 4 + 15) & ~15, 16);
}

/** A key's share of the db's bucket table (one 4-byte slot per key, tables up to twice the keys). */
const BUCKET_SHARE_BYTES: i64 = 8;
/** A key with a TTL: its slot in expire-map.ts (16 bytes at a load of 3/8..3/4) and in the db's expiring array (4). */
const EXPIRE_SLOT_BYTES: i64 = 32;

/** Bytes of a hash value; a large one is sampled (O(1), like MEMORY USAGE's SAMPLES). */
function hashValueBytes(h: HashValue): i64 {
  // No object around either encoding: the entry holds the listpack block or the table.
  const lp = h.lp;
  if (lp != null) return lp.byteLength == 0 ? 0 : blockBytes(<i64>lp.byteLength);
  const ht = h.ht!;
  const dense = ht.dense;
  const n = dense.length;
  let total: i64 = 48 + (<i64>ht.dict.t0.length + <i64>dense.length) * 4;
  const t1 = ht.dict.t1;
  if (t1 != null) total += <i64>t1.length * 4;
  if (n == 0) return total;
  const samples = min(n, 16);
  let sampled: i64 = 0;
  for (let i = 0; i < samples; i++) sampled += blockBytes(<i64>unchecked(dense[i]).pair.byteLength) + 48;
  return total + (sampled * <i64>n) / <i64>samples;
}

/** Bytes of a list value: the QuickList and its node array, and its node blocks (sampled when many). */
function listValueBytes(ql: QuickList): i64 {
  const nodes = ql.nodes;
  const n = nodes.length;
  let total: i64 = 48 + blockBytes(<i64>n * 4);
  if (n == 0) return total;
  const samples = min(n, 16);
  let sampled: i64 = 0;
  // the head and tail nodes are the ones that grow and shrink; sample from both ends
  for (let i = 0; i < samples; i++) {
    const k = (i & 1) == 0 ? i >> 1 : n - 1 - (i >> 1);
    sampled += blockBytes(<i64>unchecked(nodes[k]).byteLength);
  }
  return total + (sampled * <i64>n) / <i64>samples;
}

/** What an entry holds now: the entry with its key (and a short value), and any value block it has (a host value's bytes are the host's). */
export function entryBytes(e: Entry): i64 {
  // The entry's one block holds its fields, its value area and the key (entry.ts).
  let n = BUCKET_SHARE_BYTES + rawBlockBytes(<i64>offsetof<Entry>() + <i64>e.valCap + <i64>e.keyLen);
  if (e.expIdx >= 0) n += EXPIRE_SLOT_BYTES;
  if (e.type == OBJ_STRING) {
    const s = e.val; // a value not stored inline
    if (!e.isInt && !e.isInline && s != null) n += blockBytes(<i64>s.byteLength);
  } else if (e.type == OBJ_HASH) {
    const h = e.hashVal;
    if (h != null) n += hashValueBytes(h);
  } else if (e.type == OBJ_LIST) {
    if (e.val != null) n += listValueBytes(listOf(e));
  } else if (e.type == OBJ_ZSET || e.type == OBJ_SET) {
    // A set or zset the kernel holds: one block (set-value.ts, zset-value.ts).
    if (e.val != null) n += blockBytes(<i64>e.val!.byteLength);
  }
  return n;
}

/** The entry may change: re-measure it after the command. */
@inline export function noteWrite(e: Entry): void {
  if (e.pending) return;
  e.pending = true;
  pending.push(e);
}

/** The entry went into a db's dict. */
export function noteLinked(e: Entry): void {
  e.linked = true;
  noteWrite(e);
}

/** The entry left its dict: what it was accounted at is given back. */
export function noteUnlinked(e: Entry): void {
  datasetBytes -= <i64>e.acct;
  e.acct = 0;
  e.linked = false;
}

/** Re-measures every entry written since the last call, then frees the entries unlinked since. */
export function settleMemory(): void {
  const n = pending.length;
  if (n == 0) { retireFree(); return; }
  for (let i = 0; i < n; i++) {
    const e = unchecked(pending[i]);
    e.pending = false;
    if (!e.linked) continue;
    const b = entryBytes(e);
    datasetBytes += b - <i64>e.acct;
    e.acct = <u32>b;
  }
  pending.length = 0;
  retireFree();
}
