// Redis's RDB object serialization (rdbSaveObject / rdbLoadObject) over a neutral value
// model, shared by DUMP/RESTORE (dump.ts) and RDB files (rdb-file.ts).
//
// Loading accepts every encoding Redis 7.0 may write or still loads: plain string/list/set/
// zset/zset2/hash, zipmap, ziplist lists/zsets/hashes, intset, quicklist (v1 of ziplists,
// v2 of listpacks and plain nodes), listpack hashes and zsets. Streams go through a hook
// (streamCodec) that the streams type fills in. Writing uses the plain encodings only
// (RDB_TYPE_STRING, LIST, SET, ZSET_2, HASH), which every Redis since 4.0 loads.
import {
  RdbReader, RdbWriter, RdbFormatError,
  RDB_TYPE_STRING, RDB_TYPE_LIST, RDB_TYPE_SET, RDB_TYPE_ZSET, RDB_TYPE_HASH, RDB_TYPE_ZSET_2,
  RDB_TYPE_HASH_ZIPMAP, RDB_TYPE_LIST_ZIPLIST, RDB_TYPE_SET_INTSET, RDB_TYPE_ZSET_ZIPLIST,
  RDB_TYPE_HASH_ZIPLIST, RDB_TYPE_LIST_QUICKLIST, RDB_TYPE_STREAM_LISTPACKS, RDB_TYPE_HASH_LISTPACK,
  RDB_TYPE_ZSET_LISTPACK, RDB_TYPE_LIST_QUICKLIST_2, RDB_TYPE_STREAM_LISTPACKS_2,
  RDB_TYPE_MODULE, RDB_TYPE_MODULE_2, QUICKLIST_NODE_CONTAINER_PLAIN, QUICKLIST_NODE_CONTAINER_PACKED,
} from "./rdb-format.js";
import { decodeListpack, decodeZiplist, decodeIntset, decodeZipmap } from "./packed.js";
import type { HostValue } from "../types/value.js";
import { string2d } from "../util/strtod.js";

/** Element bytes: a Buffer, or a latin1 string (one char per byte) as the host types hold them. */
export type Bytes = Uint8Array | string;

export type RdbValue =
  | { type: "string"; value: Bytes }
  | { type: "list"; items: Bytes[] }
  | { type: "set"; members: Bytes[] }
  | { type: "zset"; entries: { member: Bytes; score: number }[] }
  /** field, value, field, value... */
  | { type: "hash"; pairs: Bytes[] }
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

/** The type byte writeObject writes for a value (rdbSaveObjectType). */
export function objectType(v: RdbValue): number {
  switch (v.type) {
    case "string": return RDB_TYPE_STRING;
    case "list": return RDB_TYPE_LIST;
    case "set": return RDB_TYPE_SET;
    case "zset": return RDB_TYPE_ZSET_2;
    case "hash": return RDB_TYPE_HASH;
    case "stream": return streamCodec.rdbType;
  }
}

/** rdbSaveObjectType + rdbSaveObject, in the plain encodings (a DUMP payload's body). */
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
      w.len(v.items.length);
      for (const e of v.items) w.string(e);
      return;
    case "set":
      w.len(v.members.length);
      for (const e of v.members) w.string(e);
      return;
    case "zset":
      w.len(v.entries.length);
      for (const e of v.entries) { w.string(e.member); w.binaryDouble(e.score); }
      return;
    case "hash":
      w.len(v.pairs.length / 2);
      for (const e of v.pairs) w.string(e);
      return;
    case "stream":
      if (!streamCodec.encode) throw new Error("stream values cannot be serialized yet");
      streamCodec.encode(w, v.value);
      return;
  }
}
