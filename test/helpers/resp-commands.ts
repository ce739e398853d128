// The commands a client sent a fake server (a test's stand-in master), read off the front of
// what arrived so far: RESP arrays of bulk strings only, as replicas and Redis clients send.

/** The first complete command in buf and what follows it, or null until one has arrived. */
export function takeCommand(buf: string): { argv: string[]; rest: string } | null {
  const m = /^\*(\d+)\r\n/.exec(buf);
  if (!m) return null;
  let p = m[0].length;
  const argv: string[] = [];
  for (let i = 0; i < Number(m[1]); i++) {
    const e = buf.indexOf("\r\n", p);
    if (e < 0) return null;
    const len = Number(buf.slice(p + 1, e));
    if (buf.length < e + 2 + len + 2) return null;
    argv.push(buf.slice(e + 2, e + 2 + len));
    p = e + 2 + len + 2;
  }
  return { argv, rest: buf.slice(p) };
}
