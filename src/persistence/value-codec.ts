// Redis's RDB object serialization (rdbSaveObject / rdbLoadObject) over a neutral value
// model, shared by DUMP/RESTORE (dump.ts) and RDB files (rdb-file.ts).
//
// Loading accepts every encoding Redis 7.0 may write or still loads: plain string/list/set/
// zset/zset2/hash, zipmap, ziplist lists/zsets/hashes, intset, quicklist (v1 of ziplists,
// v2 of listpacks and plain nodes), listpack hashes and zsets. Streams go through a hook
// (streamCodec) that the streams type fills in. Writing uses the encodings Redis 7.0 writes:
// a list as a quicklist of listpacks, an intset, listpack hashes and sorted sets (values
// marked packed), the plain forms otherwise.
import {
  RdbReader, RdbWriter, RdbFormatError,
  RDB_TYPE_STRING, RDB_TYPE_LIST, RDB_TYPE_SET, RDB_TYPE_ZSET, RDB_TYPE_HASH, RDB_TYPE_ZSET_2,
  RDB_TYPE_HASH_ZIPMAP, RDB_TYPE_LIST_ZIPLIST, RDB_TYPE_SET_INTSET, RDB_TYPE_ZSET_ZIPLIST,
  RDB_TYPE_HASH_ZIPLIST, RDB_TYPE_LIST_QUICKLIST, RDB_TYPE_STREAM_LISTPACKS, RDB_TYPE_HASH_LISTPACK,
  RDB_TYPE_ZSET_LISTPACK, RDB_TYPE_LIST_QUICKLIST_2, RDB_TYPE_STREAM_LISTPACKS_2,
  RDB_TYPE_MODULE, RDB_TYPE_MODULE_2, QUICKLIST_NODE_CONTAINER_PLAIN, QUICKLIST_NODE_CONTAINER_PACKED,
} from "./rdb-format.js";
import { decodeListpack, decodeZiplist, decodeIntset, decodeZipmap, encodeListpack, encodeIntset, lpEntrySize } from "./packed.js";
import { formatDouble } from "../kernel/format-double.js";
import type { HostValue } from "../types/value.js";
import { string2d } from "../util/strtod.js";

/** Element bytes: a Buffer, or a latin1 string (one char per byte) as the host types hold them. */
export type Bytes = Uint8Array | string;

/**
 * `packed`: the value is in its compact encoding (OBJECT ENCODING intset for a set, listpack
 * for a hash or sorted set), which Redis writes as that blob; otherwise, and when absent, the
 * plain form.
 */
export type RdbValue =
  | { type: "string"; value: Bytes }
  | { type: "list"; items: Bytes[] }
  | { type: "set"; members: Bytes[]; packed?: boolean }
  | { type: "zset"; entries: { member: Bytes; score: number }[]; packed?: boolean }
  /** field, value, field, value... */
  | { type: "hash"; pairs: Bytes[]; packed?: boolean }
  | { type: "stream"; value: HostValue };

/** A key whose value is empty: Redis refuses it in RESTORE and skips it when loading a file. */
export class EmptyKeyError extends RdbFormatError {}

/**
 * How stream values cross RDB (filled in by the streams type, issue #12): decode reads the
 * object that follows a stream type byte; encode writes one, of type rdbType
 * (RDB_TYPE_STREAM_LISTPACKS_2 as Redis 7.0 writes).
 */
export const streamCodec: {
  decode: ((r: RdbReader, rdbType: number) => HostValue) | null;
  encode: ((w: RdbWriter, v: HostValue) => void) | null;
  /** The type byte of what encode() writes. */
  rdbType: number;
} = { decode: null, encode: null, rdbType: RDB_TYPE_STREAM_LISTPACKS_2 };

export function isObjectType(t: number): boolean {
  return (t >= RDB_TYPE_STRING && t <= RDB_TYPE_ZSET_2) || t === RDB_TYPE_MODULE || t === RDB_TYPE_MODULE_2 ||
    (t >= RDB_TYPE_HASH_ZIPMAP && t <= RDB_TYPE_STREAM_LISTPACKS_2);
}

function parseScore(b: Buffer): number {
  const v = string2d(b.toString("latin1"));
  if (v === null) throw new RdbFormatError("invalid zset score");
  return v;
}

function pairsToZset(items: Buffer[]): { member: Bytes; score: number }[] {
  if (items.length % 2) throw new RdbFormatError("odd zset listpack");
  const out: { member: Bytes; score: number }[] = [];
  for (let i = 0; i < items.length; i += 2) out.push({ member: items[i], score: parseScore(items[i + 1]) });
  return out;
}

/** Throws RdbFormatError(reason) when a member (every `step`th item) repeats. */
function noDuplicates(items: Bytes[], step: number, reason: string): void {
  const seen = new Set<string>();
  for (let i = 0; i < items.length; i += step) {
    const k = typeof items[i] === "string" ? (items[i] as string) : Buffer.from(items[i] as Uint8Array).toString("latin1");
    if (seen.has(k)) throw new RdbFormatError(reason);
    seen.add(k);
  }
}

/**
 * Decodes and checks a packed blob; any corruption in it is reported with Redis's reason for
 * that encoding ("Ziplist integrity check failed." ...), which RESTORE logs and a file load
 * prints before it stops. Only the blob is checked here: reading the blob itself stays outside,
 * so a cut-short stream is still told apart from corruption (RdbShortRead).
 */
function integrity<T>(reason: string, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (e instanceof RdbFormatError) throw new RdbFormatError(reason, { cause: e });
    throw e;
  }
}

function nonEmpty<T extends RdbValue>(v: T, n: number): T {
  if (n === 0) throw new EmptyKeyError("empty key");
  return v;
}

/** rdbLoadObject: reads the object of type `t` (the byte before it). */
export function readObject(r: RdbReader, t: number): RdbValue {
  switch (t) {
    case RDB_TYPE_STRING:
      return { type: "string", value: r.string() };
    case RDB_TYPE_LIST: {
      const n = r.len();
      const items: Bytes[] = [];
      for (let i = 0; i < n; i++) items.push(r.string());
      return nonEmpty({ type: "list", items }, n);
    }
    case RDB_TYPE_SET: {
      const n = r.len();
      const members: Bytes[] = [];
      for (let i = 0; i < n; i++) members.push(r.string());
      noDuplicates(members, 1, "Duplicate set members detected");
      return nonEmpty({ type: "set", members }, n);
    }
    case RDB_TYPE_ZSET:
    case RDB_TYPE_ZSET_2: {
      const n = r.len();
      const entries: { member: Bytes; score: number }[] = [];
      for (let i = 0; i < n; i++) {
        const member = r.string();
        const score = t === RDB_TYPE_ZSET_2 ? r.binaryDouble() : r.textDouble();
        if (Number.isNaN(score)) throw new RdbFormatError("Zset with NAN score detected");
        entries.push({ member, score });
      }
      noDuplicates(entries.map((e) => e.member), 1, "Duplicate zset fields detected");
      return nonEmpty({ type: "zset", entries }, n);
    }
    case RDB_TYPE_HASH: {
      const n = r.len();
      const pairs: Bytes[] = [];
      for (let i = 0; i < n; i++) { pairs.push(r.string()); pairs.push(r.string()); }
      noDuplicates(pairs, 2, "Duplicate hash fields detected");
      return nonEmpty({ type: "hash", pairs }, n);
    }
    case RDB_TYPE_LIST_QUICKLIST:
    case RDB_TYPE_LIST_QUICKLIST_2: {
      const nodes = r.len();
      const items: Bytes[] = [];
      for (let i = 0; i < nodes; i++) {
        let container = QUICKLIST_NODE_CONTAINER_PACKED;
        if (t === RDB_TYPE_LIST_QUICKLIST_2) {
          container = r.len();
          if (container !== QUICKLIST_NODE_CONTAINER_PLAIN && container !== QUICKLIST_NODE_CONTAINER_PACKED) {
            throw new RdbFormatError("Quicklist integrity check failed.");
          }
        }
        const blob = r.string();
        if (blob.length === 0) throw new RdbFormatError("quicklist node of length 0");
        if (container === QUICKLIST_NODE_CONTAINER_PLAIN) { items.push(blob); continue; }
        // An empty node is skipped, as Redis does.
        const els = t === RDB_TYPE_LIST_QUICKLIST_2
          ? integrity("Listpack integrity check failed.", () => decodeListpack(blob))
          : integrity("Ziplist integrity check failed.", () => decodeZiplist(blob));
        for (const e of els) items.push(e);
      }
      return nonEmpty({ type: "list", items }, items.length);
    }
    case RDB_TYPE_LIST_ZIPLIST: {
      const blob = r.string();
      const items = integrity("List ziplist integrity check failed.", () => decodeZiplist(blob));
      return nonEmpty({ type: "list", items }, items.length);
    }
    case RDB_TYPE_SET_INTSET: {
      const blob = r.string();
      const members = integrity("Intset integrity check failed.", () => decodeIntset(blob));
      return nonEmpty({ type: "set", members }, members.length);
    }
    case RDB_TYPE_ZSET_ZIPLIST:
    case RDB_TYPE_ZSET_LISTPACK: {
      const blob = r.string();
      const entries = integrity(t === RDB_TYPE_ZSET_LISTPACK ? "Zset listpack integrity check failed." : "Zset ziplist integrity check failed.", () => {
        const zs = pairsToZset(t === RDB_TYPE_ZSET_LISTPACK ? decodeListpack(blob) : decodeZiplist(blob));
        noDuplicates(zs.map((e) => e.member), 1, "duplicate zset member");
        return zs;
      });
      return nonEmpty({ type: "zset", entries }, entries.length);
    }
    case RDB_TYPE_HASH_ZIPMAP:
    case RDB_TYPE_HASH_ZIPLIST:
    case RDB_TYPE_HASH_LISTPACK: {
      const blob = r.string();
      if (t === RDB_TYPE_HASH_ZIPMAP) {
        const pairs = integrity("Zipmap integrity check failed.", () => decodeZipmap(blob));
        noDuplicates(pairs, 2, "Hash zipmap with dup elements, or big length");
        return { type: "hash", pairs };
      }
      const pairs = integrity(t === RDB_TYPE_HASH_LISTPACK ? "Hash listpack integrity check failed." : "Hash ziplist integrity check failed.", () => {
        const ps = t === RDB_TYPE_HASH_LISTPACK ? decodeListpack(blob) : decodeZiplist(blob);
        if (ps.length % 2) throw new RdbFormatError("odd hash listpack");
        noDuplicates(ps, 2, "duplicate hash field");
        return ps;
      });
      return nonEmpty({ type: "hash", pairs }, pairs.length);
    }
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2: {
      if (!streamCodec.decode) throw new RdbFormatError("stream values are not supported yet");
      return { type: "stream", value: streamCodec.decode(r, t) };
    }
    case RDB_TYPE_MODULE:
    case RDB_TYPE_MODULE_2:
      throw new RdbFormatError("module values are not supported");
  }
  throw new RdbFormatError(`unknown object type ${t}`);
}

/** The type byte writeObject writes for a value (rdbSaveObjectType): the encoding Redis 7.0 writes. */
export function objectType(v: RdbValue): number {
  switch (v.type) {
    case "string": return RDB_TYPE_STRING;
    case "list": return RDB_TYPE_LIST_QUICKLIST_2;
    case "set": return v.packed ? RDB_TYPE_SET_INTSET : RDB_TYPE_SET;
    case "zset": return v.packed ? RDB_TYPE_ZSET_LISTPACK : RDB_TYPE_ZSET_2;
    case "hash": return v.packed ? RDB_TYPE_HASH_LISTPACK : RDB_TYPE_HASH;
    case "stream": return streamCodec.rdbType;
  }
}

/** rdbSaveObjectType + rdbSaveObject (a DUMP payload's body). */
export function writeObject(w: RdbWriter, v: RdbValue): void {
  w.u8(objectType(v));
  writeObjectBody(w, v);
}

/** rdbSaveObject: the object after its type byte (and, in an RDB file, after the key). */
export function writeObjectBody(w: RdbWriter, v: RdbValue): void {
  switch (v.type) {
    case "string":
      w.string(v.value);
      return;
    case "list":
      writeQuicklist(w, v.items);
      return;
    case "set":
      if (v.packed) { w.string(encodeIntset(v.members)); return; }
      w.len(v.members.length);
      for (const e of v.members) w.string(e);
      return;
    case "zset":
      if (v.packed) {
        const items: Bytes[] = [];
        for (const e of v.entries) items.push(e.member, formatDouble(e.score));
        w.string(encodeListpack(items));
        return;
      }
      // A skiplist from the greatest to the smallest score, as Redis writes it (its loader
      // then inserts each at the head).
      w.len(v.entries.length);
      for (let i = v.entries.length - 1; i >= 0; i--) { w.string(v.entries[i].member); w.binaryDouble(v.entries[i].score); }
      return;
    case "hash":
      if (v.packed) { w.string(encodeListpack(v.pairs)); return; }
      w.len(v.pairs.length / 2);
      for (const e of v.pairs) w.string(e);
      return;
    case "stream":
      if (!streamCodec.encode) throw new Error("stream values cannot be serialized yet");
      streamCodec.encode(w, v.value);
      return;
  }
}

/** list-max-listpack-size's default, -2: a quicklist node's listpack stays within 8 KB. */
const QUICKLIST_NODE_MAX_BYTES = 8192;

/**
 * A list as RDB_TYPE_LIST_QUICKLIST_2: its node count, then each node's container
 * (QUICKLIST_NODE_CONTAINER_PACKED) and listpack. The nodes are cut where a list pushed at its
 * tail under the default list-max-listpack-size would have them (quicklist.c
 * _quicklistNodeAllowInsert: a new node once the listpack's size, the element and 8 bytes of
 * entry overhead pass 8 KB); a list built otherwise may have other nodes in Redis, and any
 * cut loads the same list.
 */
function writeQuicklist(w: RdbWriter, items: Bytes[]): void {
  const cuts: number[] = []; // where each node after the first starts
  let size = 7; // the node's listpack: 6-byte header, its entries, the end byte
  for (let i = 0; i < items.length; i++) {
    // SIZE_ESTIMATE_OVERHEAD: 8 bytes for the entry's encoding and back length, at most.
    if (i > 0 && size + items[i].length + 8 > QUICKLIST_NODE_MAX_BYTES) { cuts.push(i); size = 7; }
    size += lpEntrySize(items[i]);
  }
  w.len(items.length === 0 ? 0 : cuts.length + 1);
  let from = 0;
  for (const to of [...cuts, items.length]) {
    if (to === 0) break;
    w.len(QUICKLIST_NODE_CONTAINER_PACKED);
    w.string(encodeListpack(items, from, to));
    from = to;
  }
}
