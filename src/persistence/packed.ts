// Decoders for the packed blobs Redis stores inside RDB strings: listpack (7.0), ziplist
// (before 7.0), intset and zipmap (ancient hashes). Each yields its elements as bytes,
// integers as their decimal text, exactly as Redis would reply them. Every read is bounds
// checked: a corrupt blob throws RdbFormatError, never reads past its end.
import { RdbFormatError } from "./rdb-format.js";

function fail(what: string): never { throw new RdbFormatError(what); }

const intText = (v: number | bigint) => Buffer.from(String(v), "latin1");

/** lpDecodeBacklen: the entry length stored backwards ending at `at`, 7 bits a byte. */
function decodeBacklen(lp: Buffer, at: number): number {
  let v = 0, shift = 0;
  for (let i = 0; i < 5; i++, at--) {
    v += (lp[at] & 0x7f) * 2 ** shift;
    if (!(lp[at] & 0x80)) return v;
    shift += 7;
  }
  return -1;
}

/**
 * Listpack: u32 total bytes, u16 element count (65535 = unknown), entries, 0xFF.
 * Entry: encoding + data, then its length again backwards (1-5 bytes).
 */
export function decodeListpack(lp: Buffer): Buffer[] {
  if (lp.length < 7) fail("listpack too short");
  const total = lp.readUInt32LE(0);
  if (total !== lp.length) fail("listpack size mismatch");
  if (lp[total - 1] !== 0xff) fail("listpack without terminator");
  const count = lp.readUInt16LE(4);
  const out: Buffer[] = [];
  let p = 6;
  const need = (n: number) => { if (p + n > total - 1) fail("listpack entry past end"); };
  while (true) {
    if (p >= total) fail("listpack without terminator");
    const b = lp[p];
    if (b === 0xff) break;
    const start = p;
    if ((b & 0x80) === 0) { out.push(intText(b & 0x7f)); p += 1; }
    else if ((b & 0xc0) === 0x80) { const n = b & 0x3f; need(1 + n); out.push(lp.subarray(p + 1, p + 1 + n)); p += 1 + n; }
    else if ((b & 0xe0) === 0xc0) {
      need(2);
      let v = ((b & 0x1f) << 8) | lp[p + 1];
      if (v >= 1 << 12) v -= 1 << 13;
      out.push(intText(v)); p += 2;
    } else if ((b & 0xf0) === 0xe0) {
      need(2);
      const n = ((b & 0x0f) << 8) | lp[p + 1];
      need(2 + n); out.push(lp.subarray(p + 2, p + 2 + n)); p += 2 + n;
    } else if (b === 0xf0) {
      need(5);
      const n = lp.readUInt32LE(p + 1);
      need(5 + n); out.push(lp.subarray(p + 5, p + 5 + n)); p += 5 + n;
    } else if (b === 0xf1) { need(3); out.push(intText(lp.readInt16LE(p + 1))); p += 3; }
    else if (b === 0xf2) { need(4); out.push(intText(lp.readIntLE(p + 1, 3))); p += 4; }
    else if (b === 0xf3) { need(5); out.push(intText(lp.readInt32LE(p + 1))); p += 5; }
    else if (b === 0xf4) { need(9); out.push(intText(lp.readBigInt64LE(p + 1))); p += 9; }
    else fail(`invalid listpack encoding ${b}`);
    // backlen: the entry's encoding+data length in 7-bit groups
    const entryLen = p - start;
    const backlen = entryLen <= 127 ? 1 : entryLen < 16383 ? 2 : entryLen < 2097151 ? 3 : entryLen < 268435455 ? 4 : 5;
    need(backlen);
    p += backlen;
    // The length stored backwards must match the one at the front (lpValidateNext), or a
    // backward walk (LINDEX -1, RPOP) would land mid-entry.
    if (decodeBacklen(lp, p - 1) !== entryLen) fail("listpack backlen mismatch");
  }
  if (p !== total - 1) fail("listpack terminator before end");
  if (count !== 65535 && count !== out.length) fail("listpack count mismatch");
  return out;
}

/**
 * Ziplist: u32 total bytes, u32 tail offset, u16 count, entries, 0xFF.
 * Entry: prevlen (1 byte, or 0xFE + u32), encoding, data.
 */
export function decodeZiplist(zl: Buffer): Buffer[] {
  if (zl.length < 11) fail("ziplist too short");
  const total = zl.readUInt32LE(0);
  if (total !== zl.length) fail("ziplist size mismatch");
  if (zl[total - 1] !== 0xff) fail("ziplist without terminator");
  const tail = zl.readUInt32LE(4);
  if (tail > total - 1) fail("ziplist tail offset past end");
  const headerCount = zl.readUInt16LE(8);
  const out: Buffer[] = [];
  let p = 10;
  // ziplistValidateIntegrity's deep checks: each entry's prevlen is the previous entry's
  // size, the tail offset is the last entry, and the count matches (65535: unknown).
  let prevStart = -1, prevSize = 0;
  const need = (n: number) => { if (p + n > total - 1) fail("ziplist entry past end"); };
  while (true) {
    if (p >= total) fail("ziplist without terminator");
    if (zl[p] === 0xff) break;
    const start = p;
    need(1);
    let prevlen = zl[p];
    if (prevlen === 0xfe) { need(5); prevlen = zl.readUInt32LE(p + 1); p += 5; } else p += 1;
    if (prevlen !== prevSize) fail("ziplist prevlen mismatch");
    need(1);
    const b = zl[p];
    const kind = b >> 6;
    if (kind === 0) { const n = b & 0x3f; need(1 + n); out.push(zl.subarray(p + 1, p + 1 + n)); p += 1 + n; }
    else if (kind === 1) { need(2); const n = ((b & 0x3f) << 8) | zl[p + 1]; need(2 + n); out.push(zl.subarray(p + 2, p + 2 + n)); p += 2 + n; }
    else if (kind === 2) { need(5); const n = zl.readUInt32BE(p + 1); need(5 + n); out.push(zl.subarray(p + 5, p + 5 + n)); p += 5 + n; }
    else if (b === 0xc0) { need(3); out.push(intText(zl.readInt16LE(p + 1))); p += 3; }
    else if (b === 0xd0) { need(5); out.push(intText(zl.readInt32LE(p + 1))); p += 5; }
    else if (b === 0xe0) { need(9); out.push(intText(zl.readBigInt64LE(p + 1))); p += 9; }
    else if (b === 0xf0) { need(4); out.push(intText(zl.readIntLE(p + 1, 3))); p += 4; }
    else if (b === 0xfe) { need(2); out.push(intText(zl.readInt8(p + 1))); p += 2; }
    else if (b >= 0xf1 && b <= 0xfd) { out.push(intText((b & 0x0f) - 1)); p += 1; }
    else fail(`invalid ziplist encoding ${b}`);
    prevStart = start;
    prevSize = p - start;
  }
  if (p !== total - 1) fail("ziplist terminator before end");
  if (prevStart >= 0 && prevStart !== tail) fail("ziplist tail offset is not the last entry");
  if (headerCount !== 0xffff && headerCount !== out.length) fail("ziplist count mismatch");
  return out;
}

/** Intset: u32 encoding (2, 4 or 8 bytes per element), u32 length, sorted little-endian integers. */
export function decodeIntset(is: Buffer): Buffer[] {
  if (is.length < 8) fail("intset too short");
  const enc = is.readUInt32LE(0);
  const n = is.readUInt32LE(4);
  if ((enc !== 2 && enc !== 4 && enc !== 8) || 8 + enc * n !== is.length) fail("invalid intset");
  if (n === 0) fail("empty intset");
  const out: Buffer[] = [];
  let prev: bigint | null = null;
  for (let i = 0; i < n; i++) {
    const at = 8 + i * enc;
    const v = enc === 2 ? BigInt(is.readInt16LE(at)) : enc === 4 ? BigInt(is.readInt32LE(at)) : is.readBigInt64LE(at);
    // Binary search (SISMEMBER on an intset) needs strictly ascending members.
    if (prev !== null && v <= prev) fail("intset out of order or with duplicates");
    prev = v;
    out.push(intText(v));
  }
  return out;
}

/** Zipmap (RDB_TYPE_HASH_ZIPMAP): u8 count, then (len, key, len, free, value + free bytes)*, 0xFF. */
export function decodeZipmap(zm: Buffer): Buffer[] {
  if (zm.length < 2 || zm[zm.length - 1] !== 0xff) fail("zipmap without terminator");
  const out: Buffer[] = [];
  let p = 1;
  const len = (): number => {
    if (p >= zm.length) fail("zipmap past end");
    const b = zm[p];
    if (b < 254) { p += 1; return b; }
    if (b === 254) { if (p + 5 > zm.length) fail("zipmap past end"); const v = zm.readUInt32LE(p + 1); p += 5; return v; }
    fail("zipmap bad length");
  };
  while (true) {
    if (p >= zm.length) fail("zipmap without terminator");
    if (zm[p] === 0xff) break;
    const kl = len();
    if (p + kl > zm.length) fail("zipmap past end");
    out.push(zm.subarray(p, p + kl)); p += kl;
    const vl = len();
    if (p >= zm.length) fail("zipmap past end");
    const free = zm[p++];
    if (p + vl + free > zm.length) fail("zipmap past end");
    out.push(zm.subarray(p, p + vl)); p += vl + free;
  }
  // zipmapValidateIntegrity: not empty, and the count byte right unless it says "254 or more".
  if (out.length === 0) fail("empty zipmap");
  if (zm[0] !== 254 && zm[0] !== out.length / 2) fail("zipmap count mismatch");
  return out;
}

// ---- listpack writing (lpAppend: integers in the smallest int encoding, strings that are
// canonical int64 text as integers too, as Redis's lpEncodeGetType does) ----------------------

export function canonicalInt64(b: Buffer): bigint | null {
  if (b.length === 0 || b.length > 20) return null;
  const s = b.toString("latin1");
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
  const v = BigInt(s);
  return v < -(2n ** 63n) || v >= 2n ** 63n ? null : v;
}

// Listpacks are built in one scratch buffer: a save writes one per small hash and sorted set
// (and per stream node), and an entry as its own Buffers, concatenated, made 100k small
// hashes' SAVE three times slower than writing them plain.
let lpBuf = Buffer.allocUnsafe(8192);
let lpAt = 0;

function lpRoom(n: number): void {
  if (lpAt + n <= lpBuf.length) return;
  const next = Buffer.allocUnsafe(Math.max(lpBuf.length * 2, lpAt + n));
  lpBuf.copy(next, 0, 0, lpAt);
  lpBuf = next;
}

/** lpEncodeBacklen: an entry's length, written after it in 7-bit groups (1-5 bytes). */
function putBacklen(n: number): void {
  lpRoom(5);
  if (n <= 127) { lpBuf[lpAt++] = n; return; }
  if (n < 16383) { lpBuf[lpAt++] = n >> 7; lpBuf[lpAt++] = (n & 127) | 128; return; }
  if (n < 2097151) { lpBuf[lpAt++] = n >> 14; lpBuf[lpAt++] = ((n >> 7) & 127) | 128; lpBuf[lpAt++] = (n & 127) | 128; return; }
  if (n < 268435455) { lpBuf[lpAt++] = n >> 21; lpBuf[lpAt++] = ((n >> 14) & 127) | 128; lpBuf[lpAt++] = ((n >> 7) & 127) | 128; lpBuf[lpAt++] = (n & 127) | 128; return; }
  lpBuf[lpAt++] = Math.floor(n / 2 ** 28); lpBuf[lpAt++] = ((n >> 21) & 127) | 128; lpBuf[lpAt++] = ((n >> 14) & 127) | 128; lpBuf[lpAt++] = ((n >> 7) & 127) | 128; lpBuf[lpAt++] = (n & 127) | 128;
}

/**
 * lpStringToInt64: the canonical int64 that b[0, n) spells ("0", "-12"; not "012", "+1", "-0"),
 * as a number when it has at most 15 digits (exact), a bigint past that; null if none.
 */
function lpInt64Of(b: Uint8Array | string, n: number): number | bigint | null {
  if (n === 0 || n > 20) return null;
  const at = typeof b === "string" ? (i: number) => b.charCodeAt(i) : (i: number) => b[i];
  const neg = at(0) === 0x2d;
  let i = neg ? 1 : 0;
  if (i === n) return null;
  if (at(i) === 0x30) return n === 1 ? 0 : null;
  let v = 0;
  for (; i < n; i++) {
    const c = at(i) - 0x30;
    if (c < 0 || c > 9) return null;
    v = v * 10 + c;
  }
  if (n - (neg ? 1 : 0) <= 15) return neg ? -v : v;
  const big = BigInt(typeof b === "string" ? b : Buffer.from(b.buffer, b.byteOffset, n).toString("latin1"));
  return big >= -(2n ** 63n) && big < 2n ** 63n ? big : null;
}

/** One listpack entry for an integer, in lpEncodeIntegerGetType's smallest encoding. */
function putLpInt(v: number | bigint): void {
  lpRoom(10);
  const start = lpAt;
  if (typeof v === "number" && v >= 0 && v <= 127) lpBuf[lpAt++] = v;
  else if (typeof v === "number" && v >= -4096 && v <= 4095) {
    const u = v < 0 ? (1 << 13) + v : v;
    lpBuf[lpAt++] = 0xc0 | (u >> 8); lpBuf[lpAt++] = u & 0xff;
  } else if (typeof v === "number" && v >= -32768 && v <= 32767) { lpBuf[lpAt] = 0xf1; lpBuf.writeInt16LE(v, lpAt + 1); lpAt += 3; }
  else if (typeof v === "number" && v >= -8388608 && v <= 8388607) { lpBuf[lpAt] = 0xf2; lpBuf.writeIntLE(v, lpAt + 1, 3); lpAt += 4; }
  else if (typeof v === "number" && v >= -2147483648 && v <= 2147483647) { lpBuf[lpAt] = 0xf3; lpBuf.writeInt32LE(v, lpAt + 1); lpAt += 5; }
  else { lpBuf[lpAt] = 0xf4; lpBuf.writeBigInt64LE(BigInt(v), lpAt + 1); lpAt += 9; }
  putBacklen(lpAt - start);
}

/** One listpack entry for bytes (lpAppend): an integer entry when they spell a canonical int64. */
function putLpBytes(b: Uint8Array | string): void {
  const n = b.length;
  const asInt = lpInt64Of(b, n);
  if (asInt !== null) { putLpInt(asInt); return; }
  lpRoom(5 + n);
  const start = lpAt;
  if (n < 64) lpBuf[lpAt++] = 0x80 | n;
  else if (n < 4096) { lpBuf[lpAt++] = 0xe0 | (n >> 8); lpBuf[lpAt++] = n & 0xff; }
  else { lpBuf[lpAt] = 0xf0; lpBuf.writeUInt32LE(n, lpAt + 1); lpAt += 5; }
  if (typeof b === "string") lpAt += lpBuf.write(b, lpAt, "latin1");
  else { lpBuf.set(b, lpAt); lpAt += n; }
  putBacklen(lpAt - start);
}

/** The bytes putLpBytes adds for b: quicklist.c cuts its nodes by the listpack's size. */
export function lpEntrySize(b: Uint8Array | string): number {
  const n = b.length;
  const asInt = lpInt64Of(b, n);
  if (asInt !== null) {
    const v = Number(asInt);
    const enc = v >= 0 && v <= 127 ? 1 : v >= -4096 && v <= 4095 ? 2 : v >= -32768 && v <= 32767 ? 3
      : v >= -8388608 && v <= 8388607 ? 4 : v >= -2147483648 && v <= 2147483647 ? 5 : 9;
    return enc + 1;
  }
  const head = n < 64 ? 1 : n < 4096 ? 2 : 5;
  const e = head + n;
  return e + (e <= 127 ? 1 : e < 16383 ? 2 : e < 2097151 ? 3 : e < 268435455 ? 4 : 5);
}

/** Starts a listpack in the scratch buffer; lpAddInt/lpAddBytes append, lpEnd closes it. */
export function lpBegin(): void {
  lpAt = 6;
}

/** Appends an integer entry (a stream node's counts, flags and ID deltas). */
export function lpAddInt(v: number | bigint): void {
  // putLpInt picks the smallest encoding from a number's range; a bigint goes to 64 bits.
  putLpInt(typeof v === "bigint" && v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v);
}

/** Appends bytes as lpAppend does: an integer entry when they spell a canonical int64. */
export const lpAddBytes = putLpBytes;

/**
 * Closes the listpack begun by lpBegin, of `count` entries: a view of the scratch buffer,
 * valid until the next listpack is begun (write it out at once).
 */
export function lpEnd(count: number): Uint8Array {
  lpRoom(1);
  lpBuf[lpAt++] = 0xff;
  lpBuf.writeUInt32LE(lpAt, 0);
  lpBuf.writeUInt16LE(Math.min(count, 65535), 4);
  return lpBuf.subarray(0, lpAt);
}

/**
 * A listpack of items[from, to) (a hash's field, value, ... or a sorted set's member, score,
 * ...; a quicklist node's elements), as lpAppend builds it. The result is a view of a scratch
 * buffer, valid until the next call: write it out at once.
 */
export function encodeListpack(items: (Uint8Array | string)[], from = 0, to = items.length): Uint8Array {
  lpBegin();
  for (let i = from; i < to; i++) putLpBytes(items[i]);
  return lpEnd(to - from);
}

/**
 * An intset (RDB_TYPE_SET_INTSET) of decimal members: u32 encoding (bytes per value: 2, 4 or
 * 8), u32 count, the values ascending. The encoding is the narrowest that holds every member;
 * Redis's intset never narrows, so one that once held a wider member is written wider there.
 */
export function encodeIntset(members: (Uint8Array | string)[]): Buffer {
  const vals = members.map((m) => BigInt(typeof m === "string" ? m : Buffer.from(m).toString("latin1"))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let width = 2;
  for (const v of vals) {
    if (v < -2147483648n || v > 2147483647n) { width = 8; break; }
    if (v < -32768n || v > 32767n) width = 4;
  }
  const out = Buffer.alloc(8 + width * vals.length);
  out.writeUInt32LE(width, 0);
  out.writeUInt32LE(vals.length, 4);
  vals.forEach((v, i) => {
    if (width === 2) out.writeInt16LE(Number(v), 8 + 2 * i);
    else if (width === 4) out.writeInt32LE(Number(v), 8 + 4 * i);
    else out.writeBigInt64LE(v, 8 + 8 * i);
  });
  return out;
}
