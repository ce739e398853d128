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
