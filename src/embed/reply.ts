// Decoding the kernel's RESP2 replies into JavaScript values for the embedded API.
//
//   +OK            -> "OK"                     (simple string)
//   -ERR ...       -> ReplyError               (returned, not thrown: a pipeline keeps going)
//   :42            -> 42, or a bigint beyond Number.MAX_SAFE_INTEGER
//   $3 abc         -> "abc" (UTF-8), or the bytes when the caller asks for them
//   $-1, *-1       -> null
//   *2 ...         -> an array of replies
// Browser-safe: TextDecoder, no Buffer.

export class ReplyError extends Error {
  override name = "ReplyError";
}

export type Reply = string | number | bigint | Uint8Array | null | ReplyError | Reply[];

const utf8 = new TextDecoder();

function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/** Reads one RESP2 value at pos; returns it and where the next one starts. */
export function decodeReply(buf: Uint8Array, pos: number, bytes = false): { value: Reply; next: number } {
  const type = buf[pos];
  let e = pos + 1;
  while (!(buf[e] === 13 && buf[e + 1] === 10)) {
    if (e >= buf.length) throw new Error("truncated RESP reply");
    e++;
  }
  const line = latin1(buf, pos + 1, e);
  const after = e + 2;
  switch (type) {
    case 0x2b: // +
      return { value: line, next: after };
    case 0x2d: // -
      return { value: new ReplyError(line), next: after };
    case 0x3a: { // :
      const n = Number(line);
      return { value: Number.isSafeInteger(n) ? n : BigInt(line), next: after };
    }
    case 0x24: { // $
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const body = buf.subarray(after, after + n);
      return { value: bytes ? body.slice() : utf8.decode(body), next: after + n + 2 };
    }
    case 0x2a: { // *
      const n = Number(line);
      if (n < 0) return { value: null, next: after };
      const items: Reply[] = [];
      let p = after;
      for (let i = 0; i < n; i++) {
        const r = decodeReply(buf, p, bytes);
        items.push(r.value);
        p = r.next;
      }
      return { value: items, next: p };
    }
    default:
      throw new Error(`unexpected RESP type byte ${type} in a kernel reply`);
  }
}
