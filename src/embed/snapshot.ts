// Snapshots of an embedded kernel's whole keyspace, to save it (IndexedDB, a file, a
// message to another worker) and restore it into this or another instance.
//
// This is LatticeKV's own format, not Redis's RDB (the server's persistence writes RDB):
// each key is the kernel's migrate blob (assembly/cluster/migrate.ts: type, encoding,
// LRU clock, absolute expiry, value), which already travels between shards.
//
// Layout (little-endian):
//   "LKVS"  magic
//   u8      version (1)
//   u32     databases
//   records, each:  u8 db, u32 keyLen, key bytes, u32 blobLen, blob bytes
//   u8      0xFF   end
// Keys are enumerated with the kernel's own SCAN, which returns every key present for the
// whole scan at least once; duplicates (possible while a table resizes) are skipped.
import type { Kernel } from "../kernel/kernel.js";
import { decodeReply } from "./reply.js";

const MAGIC = [0x4c, 0x4b, 0x56, 0x53]; // "LKVS"
const VERSION = 1;
const END = 0xff;
const OBJ_STRING = 0;
const OBJ_HASH = 4;

type Call = (argv: (string | Uint8Array)[], db: number) => Uint8Array;

class Writer {
  private buf = new Uint8Array(1024);
  len = 0;
  private room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u8(v: number): void { this.room(1); this.buf[this.len++] = v; }
  u32(v: number): void {
    this.room(4);
    new DataView(this.buf.buffer).setUint32(this.len, v, true);
    this.len += 4;
  }
  bytes(b: Uint8Array): void { this.u32(b.length); this.room(b.length); this.buf.set(b, this.len); this.len += b.length; }
  done(): Uint8Array { return this.buf.slice(0, this.len); }
}

export function encodeSnapshot(kernel: Kernel, databases: number, call: Call): Uint8Array {
  const w = new Writer();
  for (const b of MAGIC) w.u8(b);
  w.u8(VERSION);
  w.u32(databases);
  const x = kernel.x;
  for (let db = 0; db < databases; db++) {
    if (x.dbSize(db) === 0) continue;
    const seen = new Set<string>();
    let cursor = "0";
    do {
      const reply = decodeReply(call(["SCAN", cursor, "COUNT", "1000"], db), 0, true).value as [Uint8Array, Uint8Array[]];
      cursor = new TextDecoder().decode(reply[0]);
      for (const key of reply[1]) {
        const id = latin1(key);
        if (seen.has(id)) continue;
        seen.add(id);
        const p = x.alloc(Math.max(1, key.length));
        try {
          kernel.mem.set(key, p);
          // -1: the key expired between SCAN and now; nothing to save.
          if (x.migrateOut(db, p, key.length, 0) < 0) continue;
        } finally {
          x.free(p);
        }
        const bp = x.migrateBlobPtr();
        const blob = kernel.mem.slice(bp, bp + x.migrateBlobLen());
        w.u8(db);
        w.bytes(key);
        w.bytes(blob);
      }
    } while (cursor !== "0");
  }
  w.u8(END);
  return w.done();
}

export function decodeSnapshot(kernel: Kernel, databases: number, bytes: Uint8Array): void {
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC[i]) throw new Error("not a LatticeKV kernel snapshot (bad magic)");
  }
  if (bytes[4] !== VERSION) throw new Error(`unsupported snapshot version ${bytes[4]}`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const dbs = dv.getUint32(5, true);
  let pos = 9;
  const x = kernel.x;
  const need = (n: number) => { if (pos + n > bytes.length) throw new Error("truncated kernel snapshot"); };
  for (;;) {
    need(1);
    const db = bytes[pos++];
    if (db === END) break;
    if (db >= databases || db >= dbs) throw new Error(`snapshot has db ${db}; this kernel has ${databases} databases`);
    need(4);
    const keyLen = dv.getUint32(pos, true);
    need(4 + keyLen + 4);
    const key = bytes.subarray(pos + 4, pos + 4 + keyLen);
    pos += 4 + keyLen;
    const blobLen = dv.getUint32(pos, true);
    need(4 + blobLen);
    const blob = bytes.subarray(pos + 4, pos + 4 + blobLen);
    pos += 4 + blobLen;
    // The embedded kernel holds only its own types: strings and hashes (entry.ts OBJ_*).
    if (blobLen < 20 || (blob[0] !== OBJ_STRING && blob[0] !== OBJ_HASH)) throw new Error("kernel snapshot record holds a value this kernel cannot store");
    const p = x.alloc(keyLen + blobLen + 1);
    try {
      kernel.mem.set(key, p);
      kernel.mem.set(blob, p + keyLen);
      x.migrateIn(db, p, keyLen, p + keyLen, blobLen);
    } finally {
      x.free(p);
    }
  }
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}
