// Reading the RESP replies a shard wrote, so the router can join the replies of several
// shards (MGET, KEYS, SCAN, DEL counts...) without re-encoding the values: it picks out
// byte ranges and passes them on as they are.

/** A value's bytes: [start, end) of the buffer it was read from. */
export interface Span { start: number; end: number }

function lineEnd(buf: Uint8Array, pos: number): number {
  for (let i = pos; i + 1 < buf.length; i++) if (buf[i] === 13 && buf[i + 1] === 10) return i;
  throw new Error("truncated RESP reply");
}

/**
 * The number on the line [pos, end): a length or an integer reply. Plain decimal digits (with
 * a '-') are read in place; a multi-shard MGET reads ~15 such lines, and a Buffer view plus a
 * latin1 string per line was a tenth of its server CPU. Anything else (no digit, a long
 * number past exact doubles) is read by Number() as before.
 */
function lineNumber(buf: Uint8Array, pos: number, end: number): number {
  let i = pos;
  const neg = buf[i] === 0x2d;
  if (neg) i++;
  if (i === end) return numberText(buf, pos, end);
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9 || n >= 1e15) return numberText(buf, pos, end);
    n = n * 10 + d;
  }
  return neg ? -n : n;
}

function numberText(buf: Uint8Array, pos: number, end: number): number {
  return Number(Buffer.from(buf.buffer, buf.byteOffset + pos, end - pos).toString("latin1"));
}

/** Where the RESP value starting at pos ends. */
export function skipValue(buf: Uint8Array, pos: number): number {
  const type = buf[pos];
  const e = lineEnd(buf, pos + 1);
  switch (type) {
    case 0x2b: case 0x2d: case 0x3a: // + - :
    case 0x5f: case 0x2c: case 0x23: case 0x28: // RESP3 _ , # (
      return e + 2;
    case 0x24: case 0x3d: case 0x21: { // $, RESP3 verbatim = and blob error !
      const n = lineNumber(buf, pos + 1, e);
      return n < 0 ? e + 2 : e + 2 + n + 2;
    }
    case 0x2a: case 0x7e: case 0x3e: case 0x25: case 0x7c: { // *, RESP3 ~ > and (2n items) % |
      const n = lineNumber(buf, pos + 1, e) * (type === 0x25 || type === 0x7c ? 2 : 1);
      let p = e + 2;
      for (let i = 0; i < n; i++) p = skipValue(buf, p);
      // An attribute precedes the value it describes.
      return type === 0x7c ? skipValue(buf, p) : p;
    }
  }
  throw new Error(`unexpected RESP type byte ${type}`);
}

/** The elements of the array at pos (null for a null array or a non-array). */
export function arrayItems(buf: Uint8Array, pos = 0): Span[] | null {
  if (buf[pos] !== 0x2a && buf[pos] !== 0x7e) return null; // array, or a RESP3 set
  const e = lineEnd(buf, pos + 1);
  const n = lineNumber(buf, pos + 1, e);
  if (n < 0) return null;
  const out: Span[] = [];
  let p = e + 2;
  for (let i = 0; i < n; i++) {
    const end = skipValue(buf, p);
    out.push({ start: p, end });
    p = end;
  }
  return out;
}

export function isError(buf: Uint8Array, pos = 0): boolean { return buf[pos] === 0x2d; }

/** The integer of an integer reply at pos. */
export function integerOf(buf: Uint8Array, pos = 0): number {
  return lineNumber(buf, pos + 1, lineEnd(buf, pos + 1));
}

/** The payload of a bulk string at pos (null for a null bulk). */
export function bulkOf(buf: Uint8Array, pos = 0): Buffer | null {
  if (buf[pos] === 0x5f) return null; // RESP3 null
  const e = lineEnd(buf, pos + 1);
  const n = lineNumber(buf, pos + 1, e);
  if (n < 0) return null;
  return Buffer.from(buf.buffer, buf.byteOffset + e + 2, n);
}
