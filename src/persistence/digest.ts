// DEBUG DIGEST / DIGEST-VALUE: a fingerprint of the dataset that two servers (or one server
// before and after a reload) agree on exactly when they hold the same keys, values and TTLs.
// Like Redis's, it is order-independent (per-key digests XORed together) and all zeros for
// an empty dataset; the bytes differ from Redis's own (the suite only compares ours to ours).
import { hash } from "node:crypto";
import type { Server } from "../server/server.js";
import { snapshotKeys } from "./rdb-file.js";
import { writeObjectBody, type Bytes, type RdbValue } from "./value-codec.js";
import { RdbWriter } from "./rdb-format.js";
import type { StoredValue } from "./keyspace-io.js";

const latin1 = (b: Bytes): string => (typeof b === "string" ? b : Buffer.from(b.buffer, b.byteOffset, b.length).toString("latin1"));

/** The value's canonical text: unordered collections sorted, so the encoding does not matter. */
function canonical(v: RdbValue): string {
  const parts: string[] = [v.type];
  switch (v.type) {
    case "string": parts.push(latin1(v.value)); break;
    case "list": for (const e of v.items) parts.push(latin1(e)); break;
    case "set": parts.push(...v.members.map(latin1).sort()); break;
    case "zset": for (const e of v.entries) parts.push(latin1(e.member), String(e.score)); break;
    case "hash": {
      const pairs: string[] = [];
      for (let i = 0; i < v.pairs.length; i += 2) pairs.push(`${latin1(v.pairs[i]).length}:${latin1(v.pairs[i])}${latin1(v.pairs[i + 1])}`);
      parts.push(...pairs.sort());
      break;
    }
    case "stream": {
      // Its RDB form: deterministic for equal streams written by the same code.
      const w = new RdbWriter();
      writeObjectBody(w, v);
      parts.push(w.take().toString("latin1"));
      break;
    }
  }
  return parts.map((p) => `${p.length}:${p}`).join("");
}

export function valueDigest(s: StoredValue): Buffer {
  // One-shot hash(), not a createHash object per call: two per key made DEBUG DIGEST of 1M
  // keys ~1.8x slower.
  return hash("sha1", Buffer.from(canonical(s.value), "latin1"), "buffer");
}

const NUL = Buffer.from([0]);

export function datasetDigest(server: Server): string {
  const acc = Buffer.alloc(20);
  const databases = server.config.getNumber("databases");
  for (let db = 0; db < databases; db++) {
    const dbPart = Buffer.from(`${db}\0`);
    for (const { key, stored } of snapshotKeys(server, db)) {
      const h = hash("sha1", Buffer.concat([dbPart, key, NUL, valueDigest(stored), Buffer.from(String(stored.expireAt))]), "buffer");
      for (let i = 0; i < 20; i++) acc[i] ^= h[i];
    }
  }
  return acc.toString("hex");
}
