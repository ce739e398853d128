// A RESP header ("*<n>\r\n", "$<n>\r\n") and a whole command written straight into a byte
// buffer: the request encoders on hot paths (Shard's argv encoding, a script's redis.call, the
// replication backlog's tail block) build their bytes in place rather than through strings.

/** Bytes of a RESP header "<type><n>\r\n". */
export function respHeaderSize(n: number): number {
  return n < 10 ? 4 : n < 100 ? 5 : n < 1000 ? 6 : n < 10000 ? 7 : String(n).length + 3;
}

/** Writes "<type><n>\r\n" at o; returns the position after it. */
export function putRespHeader(out: Uint8Array, o: number, type: number, n: number): number {
  out[o++] = type;
  if (n >= 10000) {
    const d = String(n);
    for (let i = 0; i < d.length; i++) out[o++] = d.charCodeAt(i);
  } else {
    // Short counts and lengths by arithmetic: String(n) per argument showed in the master's
    // propagation profile (src/repl/backlog.ts).
    if (n >= 1000) out[o++] = 48 + Math.floor(n / 1000);
    if (n >= 100) out[o++] = 48 + Math.floor(n / 100) % 10;
    if (n >= 10) out[o++] = 48 + Math.floor(n / 10) % 10;
    out[o++] = 48 + n % 10;
  }
  out[o++] = 13;
  out[o++] = 10;
  return o;
}

/** Bytes of a bulk string of n bytes: "$<n>\r\n", the bytes, "\r\n". */
export function respBulkSize(n: number): number {
  return respHeaderSize(n) + n + 2;
}

/** src[from, from + n) as a RESP bulk string written at out[o]; returns the index after it. */
export function putRespBulk(out: Uint8Array, o: number, src: Uint8Array, from: number, n: number): number {
  o = putRespHeader(out, o, 0x24, n);
  // A short argument byte by byte: set() on a few bytes costs more than the loop.
  if (n <= 32) for (let j = 0; j < n; j++) out[o + j] = src[from + j];
  else out.set(from === 0 && n === src.length ? src : src.subarray(from, from + n), o);
  o += n;
  out[o++] = 13;
  out[o++] = 10;
  return o;
}

/**
 * argv as a RESP multibulk command, written at out[o] (the caller made room: at most 16 bytes
 * of header per argument plus the arguments); returns the index after it.
 */
export function putRespCommand(out: Uint8Array, o: number, argv: Uint8Array[]): number {
  o = putRespHeader(out, o, 0x2a, argv.length);
  for (let i = 0; i < argv.length; i++) o = putRespBulk(out, o, argv[i], 0, argv[i].length);
  return o;
}
