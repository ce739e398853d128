// A blocking request/reply exchange with another server, for MIGRATE: Redis's MIGRATE
// blocks the server while it talks to the target (cluster.c migrateCommand), so no other
// client can touch the keys between DUMP and DEL. Node cannot block on a socket, so the
// server runs this file as a child process with spawnSync and waits for it.
//
//   node exchange.js <host> <port> <replies> <timeoutMs>   (request bytes on stdin)
// Writes the raw RESP replies to stdout once `replies` complete replies arrived; exits 2
// on a connect/write error, 3 on a read error or timeout.
import net from "node:net";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

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

function main(): void {
  const [host, portArg, repliesArg, timeoutArg] = process.argv.slice(2);
  const want = Number(repliesArg);
  const request = readFileSync(0);
  let got = Buffer.alloc(0);
  let wrote = false;
  const sock = net.connect(Number(portArg), host);
  const timer = setTimeout(() => process.exit(wrote ? 3 : 2), Number(timeoutArg));
  sock.on("connect", () => sock.write(request, () => { wrote = true; }));
  sock.on("error", () => process.exit(wrote ? 3 : 2));
  sock.on("data", (d) => {
    got = Buffer.concat([got, d]);
    let p = 0;
    for (let i = 0; i < want; i++) {
      p = replyEnd(got, p);
      if (p < 0) return;
    }
    clearTimeout(timer);
    process.stdout.write(got.subarray(0, p), () => process.exit(0));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
