// Streams in Redis's RDB object format (rdbSaveObject / rdbLoadObject for OBJ_STREAM), so
// DUMP/RESTORE and RDB files carry streams to and from Redis. Filled into the persistence
// layer's streamCodec hook (src/persistence/value-codec.ts).
//
// RDB_TYPE_STREAM_LISTPACKS_2 (Redis 7.0; _LISTPACKS is the same without the fields marked v2):
//   len(nodes), then per node: string(16-byte master ID, big endian ms|seq), string(listpack)
//   len(length) len(last.ms) len(last.seq)
//   v2: len(first.ms) len(first.seq) len(maxdel.ms) len(maxdel.seq) len(entries_added)
//   len(groups), per group: string(name) len(last.ms) len(last.seq) [v2: len(entries_read)]
//     len(pel), per NACK: raw 16-byte ID, u64le delivery time (ms), len(delivery count)
//     len(consumers), per consumer: string(name), u64le seen time, len(pel), raw 16-byte IDs
// A node's listpack: master entry [count, deleted, nfields, field..., 0], then per entry
//   [flags, ms-delta, seq-delta, (nfields, field, value... | value... if SAMEFIELDS), lp-count].
import { RdbReader, RdbWriter, RdbFormatError, RDB_TYPE_STREAM_LISTPACKS_2 } from "../persistence/rdb-format.js";
import { decodeListpack, canonicalInt64, lpBegin, lpAddInt, lpAddBytes, lpEnd } from "../persistence/packed.js";
import { streamCodec } from "../persistence/value-codec.js";
import type { HostValue } from "./value.js";
import { StreamValue, StreamNode, ConsumerGroup, Consumer, cmpId, type StreamID, type Nack } from "./stream.js";

const FLAG_DELETED = 1;
const FLAG_SAMEFIELDS = 2;

// ---- u64 lengths, which exceed what the shared reader/writer take as JS numbers ---------------

function writeLen64(w: RdbWriter, v: bigint | number): void {
  const n = BigInt(v);
  if (n <= 0xffffffffn) { w.len(Number(n)); return; }
  const b = Buffer.alloc(9);
  b[0] = 0x81;
  b.writeBigUInt64BE(n, 1);
  w.raw(b);
}

function readLen64(r: RdbReader): bigint {
  const first = r.buf[r.pos];
  if (first === 0x81) {
    r.u8();
    return r.bytes(8).readBigUInt64BE(0);
  }
  return BigInt(r.len());
}

function rawId(id: StreamID): Buffer {
  const b = Buffer.alloc(16);
  b.writeBigUInt64BE(id.ms, 0);
  b.writeBigUInt64BE(id.seq, 8);
  return b;
}
function idFromRaw(b: Buffer): StreamID { return { ms: b.readBigUInt64BE(0), seq: b.readBigUInt64BE(8) }; }

// ---- encode ----------------------------------------------------------------------------------

function sameFields(entry: Buffer[], master: Buffer[]): boolean {
  if (entry.length / 2 !== master.length) return false;
  for (let i = 0; i < master.length; i++) if (!entry[2 * i].equals(master[i])) return false;
  return true;
}

/** A node's listpack, in the scratch buffer of packed.ts: valid until the next is built. */
function nodeListpack(node: StreamNode): Uint8Array {
  const master = node.firstId();
  const first = node.entry(0);
  const masterFields: Buffer[] = [];
  for (let i = 0; i < first.length; i += 2) masterFields.push(first[i]);
  let count = 0;
  const int = (v: number | bigint) => { lpAddInt(v); count++; };
  const bytes = (b: Buffer) => { lpAddBytes(b); count++; };
  lpBegin();
  int(node.live); int(node.tombstones); int(masterFields.length);
  for (const f of masterFields) bytes(f);
  int(0);
  for (let i = 0; i < node.slots; i++) {
    const id = node.idAt(i);
    const e = node.entry(i);
    const same = sameFields(e, masterFields);
    let flags = node.isDeleted(i) ? FLAG_DELETED : 0;
    if (same) flags |= FLAG_SAMEFIELDS;
    int(flags); int(id.ms - master.ms); int(id.seq - master.seq);
    const n = e.length / 2;
    if (same) {
      for (let k = 1; k < e.length; k += 2) bytes(e[k]);
    } else {
      int(n);
      for (const x of e) bytes(x);
    }
    int(same ? 3 + n : 3 + 2 * n + 1);
  }
  return lpEnd(count);
}

function encode(w: RdbWriter, v: HostValue): number {
  const s = v as StreamValue;
  w.len(s.nodes.length);
  for (const node of s.nodes) {
    w.string(rawId(node.firstId()));
    w.string(nodeListpack(node));
  }
  writeLen64(w, s.length);
  writeLen64(w, s.lastId.ms); writeLen64(w, s.lastId.seq);
  writeLen64(w, s.firstId.ms); writeLen64(w, s.firstId.seq);
  writeLen64(w, s.maxDeletedId.ms); writeLen64(w, s.maxDeletedId.seq);
  writeLen64(w, s.entriesAdded);
  const groups = s.sortedGroups();
  w.len(groups.length);
  for (const [name, g] of groups) {
    w.string(Buffer.from(name, "latin1"));
    writeLen64(w, g.lastId.ms); writeLen64(w, g.lastId.seq);
    // entries_read -1 (invalid) is written as its u64 bit pattern, as Redis's rdbSaveLen does.
    writeLen64(w, g.entriesRead < 0 ? BigInt.asUintN(64, BigInt(g.entriesRead)) : g.entriesRead);
    w.len(g.pel.size);
    for (let i = 0; i < g.pel.size; i++) {
      w.raw(rawId(g.pel.ids[i]));
      w.i64le(g.pel.vals[i].deliveryTime);
      writeLen64(w, g.pel.vals[i].deliveryCount);
    }
    const consumers = g.sortedConsumers();
    w.len(consumers.length);
    for (const c of consumers) {
      w.string(Buffer.from(c.name, "latin1"));
      w.i64le(c.seenTime);
      w.len(c.pel.size);
      for (const id of c.pel.ids) w.raw(rawId(id));
    }
  }
  return RDB_TYPE_STREAM_LISTPACKS_2;
}

// ---- decode ----------------------------------------------------------------------------------

const toBig = (b: Buffer | undefined): bigint => {
  if (!b) throw new RdbFormatError("stream listpack truncated");
  const v = canonicalInt64(b);
  if (v === null) throw new RdbFormatError("stream listpack: integer expected");
  return v;
};

/**
 * A stream node's listpack, checked as Redis's streamValidateListpackIntegrity does (the
 * listpack, then the master entry and each entry's shape and lp-count); any failure is Redis's
 * "Stream listpack integrity check failed.".
 */
function nodeFromListpack(masterId: StreamID, lp: Buffer): StreamNode {
  let els: Buffer[];
  try {
    els = decodeListpack(lp);
  } catch (e) {
    if (e instanceof RdbFormatError) throw new RdbFormatError("Stream listpack integrity check failed.", { cause: e });
    throw e;
  }
  if (els.length === 0) throw new RdbFormatError("Empty listpack inside stream");
  try {
    return nodeFromEntries(masterId, els);
  } catch (e) {
    if (e instanceof RdbFormatError) throw new RdbFormatError("Stream listpack integrity check failed.", { cause: e });
    throw e;
  }
}

function nodeFromEntries(masterId: StreamID, els: Buffer[]): StreamNode {
  let p = 0;
  const next = () => { if (p >= els.length) throw new RdbFormatError("stream listpack truncated"); return els[p++]; };
  const live = Number(toBig(next()));
  const deleted = Number(toBig(next()));
  const nMaster = Number(toBig(next()));
  const masterFields: Buffer[] = [];
  for (let i = 0; i < nMaster; i++) masterFields.push(Buffer.from(next()));
  if (toBig(next()) !== 0n) throw new RdbFormatError("stream master entry terminator");
  const node = new StreamNode(Math.max(8, live + deleted));
  let seenLive = 0, seenDeleted = 0;
  while (p < els.length) {
    const flags = Number(toBig(next()));
    const id = { ms: masterId.ms + toBig(next()), seq: masterId.seq + toBig(next()) };
    const elems: Buffer[] = [];
    // lp-count: the entry's element count (flags, ms, seq, [count, fields,] values), which a
    // backward walk (XREVRANGE) uses to skip the entry.
    let expectCount: number;
    if (flags & FLAG_SAMEFIELDS) {
      for (const f of masterFields) elems.push(f, Buffer.from(next()));
      expectCount = 3 + masterFields.length;
    } else {
      const n = Number(toBig(next()));
      for (let i = 0; i < 2 * n; i++) elems.push(Buffer.from(next()));
      expectCount = 3 + 1 + 2 * n;
    }
    if (toBig(next()) !== BigInt(expectCount)) throw new RdbFormatError("stream entry lp-count mismatch");
    if (node.slots && cmpId(id, node.lastId()) <= 0) throw new RdbFormatError("stream IDs out of order");
    let bytes = 4;
    for (const e of elems) bytes += e.length + 2;
    node.push(id, elems, bytes);
    if (flags & FLAG_DELETED) {
      node.markDeleted(node.slots - 1);
      node.live--;
      node.tombstones++;
      seenDeleted++;
    } else seenLive++;
  }
  if (seenLive !== live || seenDeleted !== deleted) throw new RdbFormatError("stream listpack counts mismatch");
  node.seal();
  return node;
}

function decode(r: RdbReader, rdbType: number): HostValue {
  const v2 = rdbType === RDB_TYPE_STREAM_LISTPACKS_2;
  const s = new StreamValue();
  const nodes = r.len();
  const nodeKeys = new Set<string>();
  for (let i = 0; i < nodes; i++) {
    const key = r.string();
    if (key.length !== 16) throw new RdbFormatError("Stream node key entry is not the size of a stream ID");
    const k = Buffer.from(key).toString("latin1");
    if (nodeKeys.has(k)) throw new RdbFormatError("Listpack re-added with existing key");
    nodeKeys.add(k);
    const node = nodeFromListpack(idFromRaw(key), r.string());
    if (node.live > 0) s.nodes.push(node);
  }
  s.length = Number(readLen64(r));
  s.lastId = { ms: readLen64(r), seq: readLen64(r) };
  if (v2) {
    s.firstId = { ms: readLen64(r), seq: readLen64(r) };
    s.maxDeletedId = { ms: readLen64(r), seq: readLen64(r) };
    s.entriesAdded = Number(readLen64(r));
  } else {
    s.entriesAdded = s.length;
    s.refreshFirstId();
  }
  let counted = 0;
  for (const n of s.nodes) counted += n.live;
  if (counted !== s.length) throw new RdbFormatError("Stream length inconsistent with rax entries");
  const groups = r.len();
  for (let i = 0; i < groups; i++) {
    const name = r.string().toString("latin1");
    const lastId = { ms: readLen64(r), seq: readLen64(r) };
    let entriesRead: number;
    if (v2) {
      const raw = readLen64(r);
      entriesRead = raw === 0xffffffffffffffffn ? -1 : Number(raw);
    } else entriesRead = s.estimateDistanceFromFirstEverEntry(lastId);
    if (s.groups.has(name)) throw new RdbFormatError(`Duplicated consumer group name ${name}`);
    const g = new ConsumerGroup(lastId, entriesRead);
    s.groups.set(name, g);
    const pel = r.len();
    for (let k = 0; k < pel; k++) {
      const id = idFromRaw(r.bytes(16));
      const nack: Nack = { deliveryTime: Number(r.i64le()), deliveryCount: Number(readLen64(r)), consumer: null };
      if (!g.pel.tryInsert(id, nack)) throw new RdbFormatError("Duplicated global PEL entry loading stream consumer group");
    }
    const consumers = r.len();
    for (let k = 0; k < consumers; k++) {
      const cname = r.string().toString("latin1");
      if (g.consumers.has(cname)) throw new RdbFormatError("Duplicate stream consumer detected.");
      const c = new Consumer(cname, Number(r.i64le()));
      g.consumers.set(cname, c);
      const n = r.len();
      for (let j = 0; j < n; j++) {
        const id = idFromRaw(r.bytes(16));
        const nack = g.pel.get(id);
        if (!nack) throw new RdbFormatError("Consumer entry not found in group global PEL");
        if (nack.consumer) throw new RdbFormatError("Duplicated consumer PEL entry loading a stream consumer group");
        nack.consumer = c;
        c.pel.tryInsert(id, nack);
      }
    }
    for (const nack of g.pel.vals) if (!nack.consumer) throw new RdbFormatError("Stream PEL entry without a consumer");
  }
  return s;
}

/** Wires streams into DUMP/RESTORE and RDB files. */
export function installStreamCodec(): void {
  streamCodec.encode = encode;
  streamCodec.decode = decode;
  streamCodec.rdbType = RDB_TYPE_STREAM_LISTPACKS_2;
}
