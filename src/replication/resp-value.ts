// Parses one RESP2 reply (what Server.execCommand left in an internal client's ReplyWriter)
// into a plain value, for reading a key back after a write.
export type RespValue = Buffer | number | null | RespValue[] | { error: string } | { status: string };

export function parseReply(buf: Buffer): RespValue {
  return parseAt(buf, 0)[0];
}

function parseAt(buf: Buffer, pos: number): [RespValue, number] {
  const eol = buf.indexOf("\r\n", pos, "latin1");
  if (eol < 0) throw new Error("truncated reply");
  const line = buf.toString("latin1", pos + 1, eol);
  switch (buf[pos]) {
    case 0x2b: return [{ status: line }, eol + 2];
    case 0x2d: return [{ error: line }, eol + 2];
    case 0x3a: return [Number(line), eol + 2];
    case 0x24: {
      const n = Number(line);
      if (n < 0) return [null, eol + 2];
      return [Buffer.from(buf.subarray(eol + 2, eol + 2 + n)), eol + 4 + n];
    }
    case 0x2a: {
      const n = Number(line);
      if (n < 0) return [null, eol + 2];
      const out: RespValue[] = [];
      let p = eol + 2;
      for (let i = 0; i < n; i++) { const [v, q] = parseAt(buf, p); out.push(v); p = q; }
      return [out, p];
    }
    default: throw new Error(`unexpected reply type ${String.fromCharCode(buf[pos])}`);
  }
}
