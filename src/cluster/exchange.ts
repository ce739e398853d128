// Where one RESP reply ends in a buffer, for MIGRATE's exchange with its target
// (src/commands/migrate-link.ts reads the target's replies with it; migrate.ts checks them).
// It used to also hold the child process MIGRATE ran with spawnSync; migrate-link.ts's
// worker thread replaced that.

/** The index just past the complete reply starting at pos, or -1 while it is incomplete. */
export function replyEnd(buf: Buffer, pos: number): number {
  if (pos >= buf.length) return -1;
  const e = buf.indexOf("\r\n", pos);
  if (e < 0) return -1;
  const type = buf[pos];
  if (type === 0x24) { // $
    const n = Number(buf.toString("latin1", pos + 1, e));
    if (n < 0) return e + 2;
    return buf.length >= e + 2 + n + 2 ? e + 2 + n + 2 : -1;
  }
  if (type === 0x2a) { // *
    const n = Number(buf.toString("latin1", pos + 1, e));
    let p = e + 2;
    for (let i = 0; i < n; i++) {
      p = replyEnd(buf, p);
      if (p < 0) return -1;
    }
    return p;
  }
  return e + 2;
}
