// DEBUG DIGEST / DIGEST-VALUE: a fingerprint of the dataset that two servers (or one server
// before and after a reload) agree on exactly when they hold the same keys, values and TTLs.
// Like Redis's, it is order-independent (per-key digests XORed together) and all zeros for
// an empty dataset; the bytes differ from Redis's own (the suite only compares ours to ours).
import { createHash } from "node:crypto";
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
  return createHash("sha1").update(canonical(s.value), "latin1").digest();
}

export function datasetDigest(server: Server): string {
  const acc = Buffer.alloc(20);
  const databases = server.config.getNumber("databases");
  for (let db = 0; db < databases; db++) {
    for (const { key, stored } of snapshotKeys(server, db)) {
      const h = createHash("sha1").update(String(db)).update("\0").update(key).update("\0")
        .update(valueDigest(stored)).update(String(stored.expireAt)).digest();
      for (let i = 0; i < 20; i++) acc[i] ^= h[i];
    }
  }
  return acc.toString("hex");
}
