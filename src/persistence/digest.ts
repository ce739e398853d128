// DEBUG DIGEST / DIGEST-VALUE, computed as Redis 7.0's debug.c computes them, so the same data
// gives the same 40 hex digits in both servers. Unordered things (keys, set members, hash
// fields, sorted-set members) are XORed together; ordered things (list elements, stream
// entries, the parts of one element) are mixed in order (mixDigest). A TTL counts only as
// being there ("!!expire!!"), not by its value, as in Redis.
import { hash } from "node:crypto";
import type { Server } from "../server/server.js";
import { snapshotKeys } from "./rdb-file.js";
import type { Bytes, RdbValue } from "./value-codec.js";
import type { StoredValue } from "./keyspace-io.js";
import { formatDouble } from "../kernel/format-double.js";
import { MIN_ID, MAX_ID, type StreamValue } from "../types/stream.js";
import { OBJ_STRING, OBJ_LIST, OBJ_SET, OBJ_ZSET, OBJ_HASH, OBJ_STREAM } from "../types/value.js";

const TYPE_CODE: Record<RdbValue["type"], number> = {
  string: OBJ_STRING, list: OBJ_LIST, set: OBJ_SET, zset: OBJ_ZSET, hash: OBJ_HASH, stream: OBJ_STREAM,
};
const EXPIRE_MARK = Buffer.from("!!expire!!", "latin1");

const bytes = (b: Bytes): Uint8Array => (typeof b === "string" ? Buffer.from(b, "latin1") : b);

/** debug.c xorDigest: digest ^= SHA1(data). */
function xorDigest(digest: Uint8Array, data: Uint8Array): void {
  const h = hash("sha1", data, "buffer");
  for (let i = 0; i < 20; i++) digest[i] ^= h[i];
}

/** debug.c mixDigest: digest = SHA1(digest ^ SHA1(data)), so order matters. */
function mixDigest(digest: Uint8Array, data: Uint8Array): void {
  xorDigest(digest, data);
  digest.set(hash("sha1", digest, "buffer"));
}

function u32be(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** debug.c xorObjectDigest: mixes the value (and whether it has a TTL) into digest. */
function xorObjectDigest(digest: Uint8Array, s: StoredValue): void {
  const v = s.value;
  mixDigest(digest, u32be(TYPE_CODE[v.type]));
  switch (v.type) {
    case "string": mixDigest(digest, bytes(v.value)); break;
    case "list": for (const e of v.items) mixDigest(digest, bytes(e)); break;
    case "set": for (const m of v.members) xorDigest(digest, bytes(m)); break;
    case "zset":
      for (const e of v.entries) {
        const ele = new Uint8Array(20);
        mixDigest(ele, bytes(e.member));
        mixDigest(ele, Buffer.from(formatDouble(e.score), "latin1"));
        xorDigest(digest, ele);
      }
      break;
    case "hash":
      for (let i = 0; i < v.pairs.length; i += 2) {
        const ele = new Uint8Array(20);
        mixDigest(ele, bytes(v.pairs[i]));
        mixDigest(ele, bytes(v.pairs[i + 1]));
        xorDigest(digest, ele);
      }
      break;
    case "stream":
      // The entries only (ID as "ms.seq", then each field and value), as Redis: not the groups.
      for (const e of (v.value as StreamValue).range(MIN_ID, MAX_ID)) {
        mixDigest(digest, Buffer.from(`${e.id.ms}.${e.id.seq}`, "latin1"));
        for (const f of e.node.entry(e.slot)) mixDigest(digest, f);
      }
      break;
  }
  if (s.expireAt >= 0) xorDigest(digest, EXPIRE_MARK);
}

/** DEBUG DIGEST-VALUE of one value: its xorObjectDigest from zero. */
export function valueDigest(s: StoredValue): Buffer {
  const d = Buffer.alloc(20);
  xorObjectDigest(d, s);
  return d;
}

/**
 * debug.c computeDatasetDigest: per db that has keys, the db's number is mixed in, then each
 * key's digest (the key mixed, then its value) is XORed in. Keys whose TTL passed but are not
 * yet reclaimed count, as they do in Redis's dict. All zeros for an empty dataset.
 */
export function datasetDigest(server: Server): string {
  const final = Buffer.alloc(20);
  const databases = server.config.getNumber("databases");
  for (let db = 0; db < databases; db++) {
    let mixedDb = false;
    for (const { key, stored } of snapshotKeys(server, db, true)) {
      if (!mixedDb) {
        mixDigest(final, u32be(db));
        mixedDb = true;
      }
      const d = new Uint8Array(20);
      mixDigest(d, key);
      xorObjectDigest(d, stored);
      xorDigest(final, d);
    }
  }
  return final.toString("hex");
}
