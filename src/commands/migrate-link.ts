// MIGRATE's blocking request/reply exchange with the target, over plain TCP or TLS.
// Redis's migrateGetSocket opens a TLS connection when tls-cluster is on (connCreateTLS,
// with the server's client-side context: tls-client-cert-file, else tls-cert-file, and the
// CA). Node cannot block on a socket, so the server runs this file as a child process with
// spawnSync and waits for it (see src/commands/migrate.ts).
//
//   node migrate-link.js <host> <port> <replies> <timeoutMs>
// stdin: a 4-byte big-endian length, that many bytes of JSON TLS options (length 0: plain
// TCP), then the request bytes. Writes the raw RESP replies to stdout once `replies`
// complete replies arrived; exits 4 when it cannot connect (or the TLS handshake fails)
// within the timeout, 2 on a write error, 3 on a read error or timeout.
import net from "node:net";
import tls from "node:tls";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { replyEnd } from "../cluster/exchange.js";

/** Buffers in the TLS options travel as {"$b64": "..."} (PEM or DER files read by the server). */
export function encodeLinkInput(options: tls.ConnectionOptions | null, request: Buffer): Buffer {
  const json = options === null ? Buffer.alloc(0) : Buffer.from(JSON.stringify(options, (_k, v: unknown) => {
    if (v && typeof v === "object" && (v as { type?: string }).type === "Buffer" && Array.isArray((v as { data?: unknown }).data)) {
      return { $b64: Buffer.from((v as { data: number[] }).data).toString("base64") };
    }
    return typeof v === "function" ? undefined : v;
  }));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(json.length);
  return Buffer.concat([len, json, request]);
}

function decodeOptions(json: string): tls.ConnectionOptions {
  return JSON.parse(json, (_k, v: unknown) =>
    v && typeof v === "object" && typeof (v as { $b64?: unknown }).$b64 === "string"
      ? Buffer.from((v as { $b64: string }).$b64, "base64") : v) as tls.ConnectionOptions;
}

function main(): void {
  const [host, portArg, repliesArg, timeoutArg] = process.argv.slice(2);
  const want = Number(repliesArg);
  const input = readFileSync(0);
  const optLen = input.readUInt32BE(0);
  const request = input.subarray(4 + optLen);
  let got = Buffer.alloc(0);
  let connected = false, wrote = false;
  const fail = () => process.exit(!connected ? 4 : wrote ? 3 : 2);
  const send = () => { connected = true; sock.write(request, () => { wrote = true; }); };
  const port = Number(portArg);
  let sock: net.Socket;
  if (optLen === 0) {
    sock = net.connect(port, host);
    sock.on("connect", send);
  } else {
    const opts = decodeOptions(input.toString("utf8", 4, 4 + optLen));
    // The target's certificate is checked against the CA, not its host name (as Redis).
    sock = tls.connect({ ...opts, port, host, checkServerIdentity: () => undefined });
    sock.on("secureConnect", send);
  }
  const timer = setTimeout(fail, Number(timeoutArg));
  sock.on("error", fail);
  sock.on("close", fail);
  sock.on("data", (d: Buffer) => {
    got = Buffer.concat([got, d]);
    let p = 0;
    for (let i = 0; i < want; i++) {
      p = replyEnd(got, p);
      if (p < 0) return;
    }
    clearTimeout(timer);
    sock.removeAllListeners("close");
    process.stdout.write(got.subarray(0, p), () => process.exit(0));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
