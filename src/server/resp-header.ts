// A RESP header ("*<n>\r\n", "$<n>\r\n") written straight into a byte buffer: the request
// encoders on hot paths (Shard's argv encoding, a script's redis.call) build their requests
// in place rather than through strings.

/** Writes "<type><n>\r\n" at o; returns the position after it. */
export function putRespHeader(out: Uint8Array, o: number, type: number, n: number): number {
  out[o++] = type;
  if (n < 10) out[o++] = 48 + n;
  else {
    const d = String(n);
    for (let i = 0; i < d.length; i++) out[o++] = d.charCodeAt(i);
  }
  out[o++] = 13;
  out[o++] = 10;
  return o;
}
