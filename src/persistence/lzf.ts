// LZF for RDB strings stored compressed (RDB_ENC_LZF): decompression for what Redis wrote, and
// compression as Redis's rdbSaveLzfStringObject does under rdbcompression yes. The compressor
// is liblzf 3.6's lzf_compress with lzfP.h's defaults (HLOG 16, VERY_FAST), the library
// Debian's redis-server 7.0.15 (our yardstick) links, so a string compresses to the same bytes
// as in its RDB files and DUMP payloads. (Redis's bundled lzf_c.c also refuses matches within
// 4 bytes of the end; any LZF decoder reads both.)

/** Decompresses `src` into exactly `outLen` bytes; null when the data is corrupt. */
export function lzfDecompress(src: Uint8Array, outLen: number): Buffer | null {
  const out = Buffer.allocUnsafe(outLen);
  let ip = 0, op = 0;
  while (ip < src.length) {
    let ctrl = src[ip++];
    if (ctrl < 32) {
      // literal run of ctrl + 1 bytes
      ctrl++;
      if (op + ctrl > outLen || ip + ctrl > src.length) return null;
      for (let i = 0; i < ctrl; i++) out[op++] = src[ip++];
    } else {
      // back reference
      let len = ctrl >> 5;
      let ref = op - ((ctrl & 0x1f) << 8) - 1;
      if (ip >= src.length) return null;
      if (len === 7) {
        len += src[ip++];
        if (ip >= src.length) return null;
      }
      ref -= src[ip++];
      len += 2;
      if (op + len > outLen || ref < 0) return null;
      for (let i = 0; i < len; i++) out[op++] = out[ref++];
    }
  }
  return op === outLen ? out : null;
}

// ---- compression (lzf_c.c) -------------------------------------------------------------------

const HLOG = 16;
const HSIZE = 1 << HLOG;
/** Longest literal run, farthest back reference, longest back reference. */
const MAX_LIT = 1 << 5;
const MAX_OFF = 1 << 13;
const MAX_REF = (1 << 8) + (1 << 3);

/**
 * The hash table of the last position each 3-byte hash was seen at. Redis's lzf_compress keeps
 * it on the stack uninitialized (INIT_HTAB 0) and filters stale slots by bounds checks; here
 * every call stores its positions as base + index with a base above every earlier call's, so
 * a slot from an earlier call reads as a position before the input and is never matched,
 * without clearing 64K slots per string.
 */
const htab = new Int32Array(HSIZE);
let nextBase = 1;

/** lzf_c.c's IDX with VERY_FAST: a multiplicative-like hash of the 3 bytes in h's low 24 bits. */
const idx = (h: number): number => ((h >>> 8) - Math.imul(h, 5)) & (HSIZE - 1);

/**
 * lzf_compress: compresses src[start, end) into out (which has room for outLen + 1 bytes);
 * the compressed length, or 0 when it does not fit in outLen bytes.
 */
export function lzfCompress(src: Uint8Array, start: number, end: number, out: Uint8Array, outLen: number): number {
  const inLen = end - start;
  if (inLen === 0 || outLen === 0) return 0;
  if (nextBase > 0x7fffffff - inLen - 1) { htab.fill(0); nextBase = 1; }
  const base = nextBase;
  nextBase += inLen + 1;
  const at = (i: number) => src[start + i];
  let ip = 0;
  let op = 1; // the first literal run's length byte
  let lit = 0;
  let hval = (at(0) << 8) | at(1);
  while (ip < inLen - 2) {
    hval = (hval << 8) | at(ip + 2);
    const slot = idx(hval);
    const ref = htab[slot] - base;
    htab[slot] = base + ip;
    const off = ip - ref - 1;
    // ref > 0, not >= 0: lzf_c.c never refers back to the input's first byte.
    if (ref > 0 && off < MAX_OFF && at(ref) === at(ip) && at(ref + 1) === at(ip + 1) && at(ref + 2) === at(ip + 2)) {
      let len = 2;
      const maxlen = Math.min(inLen - ip - len, MAX_REF);
      out[op - lit - 1] = lit - 1; // close the literal run
      if (lit === 0) op--; // (an empty one is undone)
      if (op + 3 + 1 >= outLen) return 0;
      // lzf_c.c compares 16 bytes unrolled before its loop when maxlen > 16, which can take len
      // up to 2 past maxlen at the end of the input: kept, for the same bytes as Redis's.
      let mismatch = false;
      if (maxlen > 16) {
        for (let k = 0; k < 16 && !mismatch; k++) { len++; mismatch = at(ref + len) !== at(ip + len); }
      }
      if (!mismatch) {
        do len++; while (len < maxlen && at(ref + len) === at(ip + len));
      }
      len -= 2; // the match's length - 1
      ip++;
      if (len < 7) out[op++] = (off >> 8) + (len << 5);
      else { out[op++] = (off >> 8) + (7 << 5); out[op++] = len - 7; }
      out[op++] = off & 0xff;
      lit = 0; op++; // start a literal run
      ip += len + 1;
      if (ip >= inLen - 2) break;
      // VERY_FAST: hash the match's last two positions only.
      ip -= 2;
      hval = (at(ip) << 8) | at(ip + 1);
      hval = (hval << 8) | at(ip + 2);
      htab[idx(hval)] = base + ip;
      ip++;
      hval = (hval << 8) | at(ip + 2);
      htab[idx(hval)] = base + ip;
      ip++;
    } else {
      if (op >= outLen) return 0;
      lit++; out[op++] = at(ip++);
      if (lit === MAX_LIT) { out[op - lit - 1] = lit - 1; lit = 0; op++; }
    }
  }
  if (op + 3 > outLen) return 0; // at most 3 more bytes: 2 literals and a run byte
  while (ip < inLen) {
    lit++; out[op++] = at(ip++);
    if (lit === MAX_LIT) { out[op - lit - 1] = lit - 1; lit = 0; op++; }
  }
  out[op - lit - 1] = lit - 1; // close the last run
  if (lit === 0) op--;
  return op;
}
