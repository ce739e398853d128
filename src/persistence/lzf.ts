// LZF decompression (liblzf's lzf_d.c), for RDB strings Redis stored compressed
// (RDB_ENC_LZF). Writing never compresses: a plain string is always a valid encoding.

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
