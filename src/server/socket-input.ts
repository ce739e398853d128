// Socket input without a Buffer per read: a client connection's reads land in one reused
// buffer and go straight to the client (Node's `onread: { buffer, callback }` mode).
//
// In the default mode every read allocates a new ArrayBuffer (malloc'd backing store) and
// travels through the Readable stream machinery (push, addChunk, emit 'data'); at
// redis-benchmark -P 1, where each read holds one command, that per-read cost showed in
// profiles next to the command itself. Node offers `onread` only to sockets it creates
// through `new net.Socket()` / `net.connect()`, not to the ones a server accepts, so this
// switches an accepted socket to it the same way the Socket constructor does: the two
// stream symbols (looked up by their description on the socket) and the handle's
// useUserBuffer(). Where that is not available (another Node version, a TLS socket whose
// reads are decrypted by its own wrap), the socket keeps its 'data' event.
//
// The buffer is shared by every connection: a read's callback runs to completion before
// the next read of any socket, and whatever the client keeps past the callback it copies
// (Client.onData's `borrowed`).
import type { Socket } from "node:net";

/** Node reads at most 64 KiB per read callback in either mode. */
const READ_BUFFER_BYTES = 64 * 1024;
const shared = Buffer.allocUnsafe(READ_BUFFER_BYTES);

let kBuffer: symbol | undefined;
let kBufferCb: symbol | undefined;
let probed = false;

function findSymbols(sock: Socket): boolean {
  if (!probed) {
    probed = true;
    for (const s of Object.getOwnPropertySymbols(sock)) {
      if (s.description === "kBuffer") kBuffer = s;
      else if (s.description === "kBufferCb") kBufferCb = s;
    }
  }
  return kBuffer !== undefined && kBufferCb !== undefined;
}

type Handle = { useUserBuffer?: (b: Uint8Array) => void; constructor?: { name?: string } };

/**
 * Delivers sock's input to onChunk: `borrowed` true when the bytes are a view of the shared
 * read buffer (valid only during the call). Call once, right after the socket is accepted.
 */
export function readSocketInput(sock: Socket, onChunk: (chunk: Buffer, borrowed: boolean) => void): void {
  const handle = (sock as unknown as { _handle?: Handle })._handle;
  const kind = handle?.constructor?.name;
  const plain = (kind === "TCP" || kind === "Pipe") && !(sock as { encrypted?: boolean }).encrypted;
  if (!plain || typeof handle!.useUserBuffer !== "function" || !findSymbols(sock)) {
    sock.on("data", (d: Buffer) => onChunk(d, false));
    return;
  }
  const s = sock as unknown as Record<symbol, unknown>;
  s[kBuffer!] = shared;
  s[kBufferCb!] = (nread: number, buf: Buffer) => { onChunk(buf.subarray(0, nread), true); };
  handle!.useUserBuffer!(shared);
  // Flowing mode, so that the end of input (pushed as null by Node) emits 'end' and 'close'.
  sock.resume();
}
