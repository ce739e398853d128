// Many bulk strings of one reply (LRANGE's elements), encoded straight into bytes.
//
// A profile of redis-benchmark LRANGE_100 -P 16 had about half of the server's time in
// building the reply as a JS string ("$" + len + "\r\n" + v + "\r\n" per element, joined into
// a rope: StringAdd, NumberToString, megamorphic loads) and in flattening that rope
// (WriteToFlat) before its latin1 copy into the reply batch. Here each element's bytes go
// into one reused buffer (a short element char by char, a long one in one latin1 write), and
// the reply gets one copy of them per ~32 KiB. Elements are latin1 strings (one char per
// byte), as src/types/ keeps them.
//
// The buffer is shared: begin, add..., end run without any other reply being written in
// between (a handler writing one reply), so one buffer serves every client.

// The global `Buffer` is a getter (node's lazy bootstrap): a module binding is a plain load.
import { Buffer } from "node:buffer";

/** Bytes gathered before they are handed to the reply as a part of their own. */
const FLUSH_AT = 32 * 1024;
/** An element's header and trailer at most: "$" + 20 digits + CRLF + CRLF. */
const OVERHEAD = 25;
/** Elements longer than this are written with one latin1 write, not char by char. */
const LONG = 64;

const buf = Buffer.allocUnsafeSlow(FLUSH_AT + 4 * 1024);
let used = 0;

/** Starts an encoding (drops anything left from one that was not ended). */
export function bulkBegin(): void {
  used = 0;
}

/**
 * Whether s fits the buffer now; false when the gathered bytes must be taken first (and, if
 * the buffer is empty, that s is too long for it: the caller writes it some other way).
 */
export function bulkFits(s: string): boolean {
  return used + s.length + OVERHEAD <= buf.length && (used < FLUSH_AT || used === 0);
}

/** Appends "$<len>\r\n<s>\r\n" (s latin1); the caller checked bulkFits. */
export function bulkAdd(s: string): void {
  const n = s.length;
  let p = used;
  buf[p++] = 36; // $
  if (n < 10) {
    buf[p++] = 48 + n;
  } else {
    let digits = 1;
    for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++;
    let x = n;
    for (let d = p + digits - 1; d >= p; d--) {
      buf[d] = 48 + (x % 10);
      x = Math.floor(x / 10);
    }
    p += digits;
  }
  buf[p++] = 13;
  buf[p++] = 10;
  if (n <= LONG) {
    for (let j = 0; j < n; j++) buf[p + j] = s.charCodeAt(j);
  } else {
    buf.write(s, p, n, "latin1");
  }
  p += n;
  buf[p++] = 13;
  buf[p++] = 10;
  used = p;
}

/** Bytes gathered since the last take. */
export function bulkUsed(): number {
  return used;
}

/** A copy of the gathered bytes (from Node's pool when small), and the buffer emptied. */
export function bulkTake(): Buffer {
  const out = Buffer.allocUnsafe(used);
  buf.copy(out, 0, 0, used);
  used = 0;
  return out;
}
