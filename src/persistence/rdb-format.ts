// Redis's RDB encoding primitives (rdb.h / rdb.c, RDB version 10 as Redis 7.0 writes it):
// type and opcode numbers, length encoding, string encoding (plain, integer, LZF), doubles.
//
// Length:  00xxxxxx                 6-bit length
//          01xxxxxx xxxxxxxx        14-bit length (big-endian)
//          10000000 + 4 bytes       32-bit length (big-endian)
//          10000001 + 8 bytes       64-bit length (big-endian)
//          11xxxxxx                 a specially encoded string follows: xxxxxx = RDB_ENC_*
// String:  length + bytes, or 11 + INT8/INT16/INT32 (little-endian, as decimal text),
//          or 11 + LZF: compressed length, uncompressed length, compressed bytes.
import { lzfDecompress, lzfCompress } from "./lzf.js";

export const RDB_VERSION = 10;

export const RDB_TYPE_STRING = 0;
export const RDB_TYPE_LIST = 1;
export const RDB_TYPE_SET = 2;
export const RDB_TYPE_ZSET = 3;
export const RDB_TYPE_HASH = 4;
export const RDB_TYPE_ZSET_2 = 5;
export const RDB_TYPE_MODULE = 6;
export const RDB_TYPE_MODULE_2 = 7;
export const RDB_TYPE_HASH_ZIPMAP = 9;
export const RDB_TYPE_LIST_ZIPLIST = 10;
export const RDB_TYPE_SET_INTSET = 11;
export const RDB_TYPE_ZSET_ZIPLIST = 12;
export const RDB_TYPE_HASH_ZIPLIST = 13;
export const RDB_TYPE_LIST_QUICKLIST = 14;
export const RDB_TYPE_STREAM_LISTPACKS = 15;
export const RDB_TYPE_HASH_LISTPACK = 16;
export const RDB_TYPE_ZSET_LISTPACK = 17;
export const RDB_TYPE_LIST_QUICKLIST_2 = 18;
export const RDB_TYPE_STREAM_LISTPACKS_2 = 19;

export const RDB_OPCODE_FUNCTION2 = 245;
export const RDB_OPCODE_FUNCTION = 246;
export const RDB_OPCODE_MODULE_AUX = 247;
export const RDB_OPCODE_IDLE = 248;
export const RDB_OPCODE_FREQ = 249;
export const RDB_OPCODE_AUX = 250;
export const RDB_OPCODE_RESIZEDB = 251;
export const RDB_OPCODE_EXPIRETIME_MS = 252;
export const RDB_OPCODE_EXPIRETIME = 253;
export const RDB_OPCODE_SELECTDB = 254;
export const RDB_OPCODE_EOF = 255;

const RDB_ENC_INT8 = 0;
const RDB_ENC_INT16 = 1;
const RDB_ENC_INT32 = 2;
const RDB_ENC_LZF = 3;

/** Quicklist node containers (RDB_TYPE_LIST_QUICKLIST_2). */
export const QUICKLIST_NODE_CONTAINER_PLAIN = 1;
export const QUICKLIST_NODE_CONTAINER_PACKED = 2;

/** Malformed or truncated RDB data: RESTORE answers "Bad data format", loading refuses the file. */
export class RdbFormatError extends Error {
  /** Where in a file it was found (set by readRdbRecord): the key being read, its type byte, its offset. */
  at?: { key: Buffer; rdbType: number; offset: number };
}

/**
 * The data ended inside an item: a file is cut short, but a payload read as it arrives (a
 * replica's diskless load, src/persistence/rdb-stream.ts) only needs more bytes. `reader` tells
 * the top-level reader apart from a nested one over a complete blob (that is corruption).
 */
export class RdbShortRead extends RdbFormatError {
  /** needed: the position the reader wanted to reach. */
  constructor(readonly reader: RdbReader, readonly needed: number) { super("unexpected end of data"); }
}

export class RdbReader {
  pos = 0;
  constructor(readonly buf: Buffer, readonly end = buf.length) {}

  get remaining(): number { return this.end - this.pos; }

  private need(n: number): void {
    if (n < 0) throw new RdbFormatError("unexpected end of data");
    if (this.pos + n > this.end) throw new RdbShortRead(this, this.pos + n);
  }

  u8(): number { this.need(1); return this.buf[this.pos++]; }

  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  u32le(): number { this.need(4); const v = this.buf.readUInt32LE(this.pos); this.pos += 4; return v; }
  i64le(): bigint { this.need(8); const v = this.buf.readBigInt64LE(this.pos); this.pos += 8; return v; }

  /** rdbLoadLenByRef: { len, encoded } where encoded means len is an RDB_ENC_* type. */
  lenOrEnc(): { len: number; encoded: boolean } {
    const b = this.u8();
    const kind = (b & 0xc0) >> 6;
    if (kind === RDB_ENCVAL) return { len: b & 0x3f, encoded: true };
    if (kind === 0) return { len: b & 0x3f, encoded: false };
    if (kind === 1) return { len: ((b & 0x3f) << 8) | this.u8(), encoded: false };
    if (b === 0x80) { this.need(4); const v = this.buf.readUInt32BE(this.pos); this.pos += 4; return { len: v, encoded: false }; }
    if (b === 0x81) {
      this.need(8);
      const v = this.buf.readBigUInt64BE(this.pos);
      this.pos += 8;
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RdbFormatError("length out of range");
      return { len: Number(v), encoded: false };
    }
    throw new RdbFormatError(`unknown length encoding ${b}`);
  }

  len(): number {
    const r = this.lenOrEnc();
    if (r.encoded) throw new RdbFormatError("unexpected encoded length");
    return r.len;
  }

  /** rdbGenericLoadStringObject: the string's bytes (integers as decimal text). */
  string(): Buffer {
    const { len, encoded } = this.lenOrEnc();
    if (!encoded) return this.bytes(len);
    switch (len) {
      case RDB_ENC_INT8: { this.need(1); const v = this.buf.readInt8(this.pos); this.pos += 1; return Buffer.from(String(v)); }
      case RDB_ENC_INT16: { this.need(2); const v = this.buf.readInt16LE(this.pos); this.pos += 2; return Buffer.from(String(v)); }
      case RDB_ENC_INT32: { this.need(4); const v = this.buf.readInt32LE(this.pos); this.pos += 4; return Buffer.from(String(v)); }
      case RDB_ENC_LZF: {
        const clen = this.len();
        const ulen = this.len();
        const out = lzfDecompress(this.bytes(clen), ulen);
        if (!out) throw new RdbFormatError("invalid LZF compressed string");
        return out;
      }
    }
    throw new RdbFormatError(`unknown string encoding ${len}`);
  }

  /** A RDB_TYPE_ZSET_2 score: 8-byte little-endian IEEE double. */
  binaryDouble(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A RDB_TYPE_ZSET score: length byte then ASCII, or 253 nan, 254 +inf, 255 -inf. */
  textDouble(): number {
    const n = this.u8();
    if (n === 253) return NaN;
    if (n === 254) return Infinity;
    if (n === 255) return -Infinity;
    const v = Number(this.bytes(n).toString("latin1"));
    if (Number.isNaN(v)) throw new RdbFormatError("invalid double");
    return v;
  }
}

const RDB_ENCVAL = 3;

/** rdbSaveLzfStringObject's output, reused: a save compresses every string over 20 bytes. */
let lzfOut = Buffer.allocUnsafe(1024);

/** Appends RDB-encoded items to a growing list of chunks. */
export class RdbWriter {
  private chunks: Buffer[] = [];
  private cur = Buffer.allocUnsafe(64 * 1024);
  private at = 0;
  /** Bytes written so far (flushed chunks + current). */
  size = 0;

  /**
   * @param compress rdbcompression: strings over 20 bytes are stored LZF-compressed when that
   *   saves at least 4 bytes, as rdbSaveRawString does (in files, DUMP payloads and FUNCTION DUMP).
   */
  constructor(private readonly compress = false) {}

  private room(n: number): void {
    if (this.at + n <= this.cur.length) return;
    this.flushCurrent();
    this.cur = Buffer.allocUnsafe(Math.max(64 * 1024, n));
  }

  private flushCurrent(): void {
    if (this.at > 0) this.chunks.push(this.cur.subarray(0, this.at));
    this.at = 0;
  }

  u8(v: number): void { this.room(1); this.cur[this.at++] = v; this.size++; }

  raw(b: Uint8Array): void {
    if (b.length > 16 * 1024) {
      this.flushCurrent();
      this.chunks.push(Buffer.from(b));
      this.cur = Buffer.allocUnsafe(64 * 1024);
    } else {
      this.room(b.length);
      this.cur.set(b, this.at);
      this.at += b.length;
    }
    this.size += b.length;
  }

  len(n: number): void {
    if (n < 64) this.u8(n);
    else if (n < 16384) { this.u8(0x40 | (n >> 8)); this.u8(n & 0xff); }
    else if (n <= 0xffffffff) { this.room(5); this.cur[this.at] = 0x80; this.cur.writeUInt32BE(n, this.at + 1); this.at += 5; this.size += 5; }
    else { const b = Buffer.allocUnsafe(9); b[0] = 0x81; b.writeBigUInt64BE(BigInt(n), 1); this.raw(b); }
  }

  /** rdbSaveRawString: small canonical integers as RDB_ENC_INT*, else length + bytes. */
  string(s: Uint8Array | string): void {
    const b = typeof s === "string" ? Buffer.from(s, "latin1") : s;
    if (b.length > 0 && b.length <= 11) {
      const v = canonicalInt32(b);
      if (v !== null) { this.int(v); return; }
    }
    if (this.compress && b.length > 20 && this.lzfString(b, 0, b.length)) return;
    this.len(b.length);
    this.raw(b);
  }

  /**
   * rdbSaveLzfStringObject: buf[off, off+len) as RDB_ENC_LZF (compressed length, original
   * length, data) when it compresses into len - 4 bytes or fewer; false (nothing written) if not.
   */
  private lzfString(buf: Uint8Array, off: number, len: number): boolean {
    if (lzfOut.length < len - 3) lzfOut = Buffer.allocUnsafe(Math.max(len - 3, lzfOut.length * 2));
    const n = lzfCompress(buf, off, off + len, lzfOut, len - 4);
    if (n === 0) return false;
    this.u8((RDB_ENCVAL << 6) | RDB_ENC_LZF);
    this.len(n);
    this.len(len);
    this.raw(lzfOut.subarray(0, n));
    return true;
  }

  /**
   * string() of buf[off, off+len) without a view of it: a save writes a million keys and
   * values straight out of the kernel's snapshot blob (rdb-entry.ts).
   */
  stringAt(buf: Uint8Array, off: number, len: number): void {
    if (len > 0 && len <= 11) {
      const v = canonicalInt32(buf, off, off + len);
      if (v !== null) { this.int(v); return; }
    }
    if (this.compress && len > 20 && this.lzfString(buf, off, len)) return;
    this.len(len);
    if (len > 16 * 1024) { this.raw(buf.subarray(off, off + len)); return; }
    this.room(len);
    this.cur.set(buf.subarray(off, off + len), this.at);
    this.at += len;
    this.size += len;
  }

  /** An integer value in the smallest RDB_ENC_INT* (caller checked it is int32). */
  int(v: number): void {
    if (v >= -128 && v <= 127) { this.u8(0xc0 | RDB_ENC_INT8); this.u8(v & 0xff); }
    else if (v >= -32768 && v <= 32767) { const b = Buffer.allocUnsafe(3); b[0] = 0xc0 | RDB_ENC_INT16; b.writeInt16LE(v, 1); this.raw(b); }
    else { const b = Buffer.allocUnsafe(5); b[0] = 0xc0 | RDB_ENC_INT32; b.writeInt32LE(v, 1); this.raw(b); }
  }

  binaryDouble(v: number): void { const b = Buffer.allocUnsafe(8); b.writeDoubleLE(v, 0); this.raw(b); }

  i64le(v: number): void {
    this.room(8);
    if (Number.isSafeInteger(v)) {
      // lo and hi words: no BigInt per key (an expire time is always in this range).
      const lo = v % 4294967296;
      const hi = (v - lo) / 4294967296;
      this.cur.writeUInt32LE(lo < 0 ? lo + 4294967296 : lo, this.at);
      this.cur.writeInt32LE(lo < 0 ? hi - 1 : hi, this.at + 4);
    } else {
      this.cur.writeBigInt64LE(BigInt(v), this.at);
    }
    this.at += 8;
    this.size += 8;
  }

  /** Everything written so far, as one buffer. */
  take(): Buffer {
    this.flushCurrent();
    const out = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [];
    this.cur = Buffer.allocUnsafe(64 * 1024);
    return out;
  }

  /** Hands out the chunks written so far (for streaming to a file); the writer starts over. */
  drain(): Buffer[] {
    this.flushCurrent();
    const out = this.chunks;
    this.chunks = [];
    this.cur = Buffer.allocUnsafe(64 * 1024);
    return out;
  }
}

/** The value of a string that is exactly the decimal form of an int32 (string2l + range), else null. */
function canonicalInt32(b: Uint8Array, start = 0, end = b.length): number | null {
  let i = start;
  const neg = b[start] === 0x2d;
  if (neg) i++;
  if (i >= end) return null;
  if (b[i] === 0x30 && (end - i > 1 || neg)) return null;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i] - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  if (neg) v = -v;
  return v >= -2147483648 && v <= 2147483647 ? v : null;
}
