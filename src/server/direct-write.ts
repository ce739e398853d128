// Direct socket writes: a client's replies handed to the socket's handle without Node's
// Writable stream in between.
//
// socket.write() runs the stream machinery on every call: Writable.write, writeOrBuffer,
// Socket._writeGeneric, a new WriteWrap request object (a C++-backed object, instantiated
// from its template each time), afterWriteDispatched, onwrite and an afterWrite tick. A
// client's read ends in one such write, so at redis-benchmark -P 1 that is one per command:
// `perf record` of SET -P 1 (1 shard, 2026-11-27) had ~9% of the server's user time under
// flushBatch outside the write system call. The handle's writeBuffer() is what that
// machinery calls in the end: it tries the write at once (libuv's uv_try_write) and, if the
// socket took everything, is done; only when it did not does it queue the rest (uv_write) and
// complete the request object later. A request object that was not queued is not kept by
// anyone, so one is reused until a write queues it.
//
// Only where nothing can tell the difference: a plain TCP or unix socket (not TLS, whose
// handle encrypts), whose stream has nothing buffered or in flight (the stream's own
// writes, e.g. socket.end() or a replica's stream, stay in order: libuv sends queued
// writes in order, and a direct write is made only when the stream has nothing waiting),
// not corked, not ending, and whose write() is Node's own (src/server/faults.ts wraps it
// to inject short writes). Bytes a direct write left queued are the client's to count
// (Client.directPending: CLIENT LIST omem, output limits, backpressure), since the stream's
// writableLength does not see them.
import { Socket } from "node:net";

interface WriteReq { oncomplete?: (status: number) => void; buffer?: Uint8Array | null }
interface StreamHandle { writeBuffer(req: WriteReq, data: Uint8Array): number; constructor: { name: string } }
interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kBytesWritten: number;
  kLastWriteWasAsync: number;
}

/** Node's stream_wrap binding (what net.Socket writes through), or null where it is not there. */
const binding: StreamWrapBinding | null = (() => {
  try {
    const b = (process as unknown as { binding(name: string): StreamWrapBinding }).binding("stream_wrap");
    if (typeof b.WriteWrap !== "function" || !(b.streamBaseState instanceof Int32Array) ||
      typeof b.kBytesWritten !== "number" || typeof b.kLastWriteWasAsync !== "number") return null;
    return b;
  } catch {
    return null;
  }
})();

const nodeWrite = Socket.prototype.write;
/** The request object of the next write (replaced when a write queues it). */
let req: WriteReq | null = binding ? new binding.WriteWrap() : null;

/** What writeDirect needs of the writer (Client). */
export interface DirectWriter {
  /** Bytes of direct writes that were queued and have not completed. */
  directPending: number;
  /** The queued direct writes all completed (or failed: the socket is then destroyed). */
  directDrained(): void;
}

/**
 * The socket's handle when a write to it may go direct now, else null (use socket.write).
 * `writer.directPending` may be above 0: the handle queues behind its own earlier writes.
 */
export function directHandle(sock: Socket): StreamHandle | null {
  if (req === null || sock.writableLength !== 0 || sock.writableCorked !== 0 || sock.writableEnded ||
    sock.destroyed || sock.write !== nodeWrite) return null;
  const h = (sock as unknown as { _handle?: StreamHandle | null })._handle;
  if (!h || typeof h.writeBuffer !== "function") return null;
  const ctor = h.constructor;
  if (ctor !== tcpHandle && ctor !== pipeHandle && !plainHandle(ctor)) return null;
  if ((sock as { encrypted?: boolean }).encrypted) return null;
  return h;
}

/** The TCP and Pipe handle classes, once met (reading a function's name is a runtime call). */
let tcpHandle: unknown = null;
let pipeHandle: unknown = null;
function plainHandle(ctor: { name: string }): boolean {
  if (ctor.name === "TCP") tcpHandle = ctor;
  else if (ctor.name === "Pipe") pipeHandle = ctor;
  else return false;
  return true;
}

/**
 * Writes data through handle (from directHandle). Returns true when the socket kept a
 * reference to data (the write was queued: data must not be reused until it completes).
 */
export function writeDirect(sock: Socket, handle: StreamHandle, data: Uint8Array, writer: DirectWriter): boolean {
  const b = binding!;
  const r = req!;
  const err = handle.writeBuffer(r, data);
  if (err !== 0) {
    // EPIPE, ECONNRESET...: the connection is gone, as the stream would find on its write.
    sock.destroy();
    return false;
  }
  if (b.streamBaseState[b.kLastWriteWasAsync] === 0) return false;
  // Queued: the request is the handle's until it completes; the next write gets a new one.
  req = new b.WriteWrap();
  const bytes = b.streamBaseState[b.kBytesWritten];
  writer.directPending += bytes;
  r.buffer = data; // kept alive until sent, as Node's afterWriteDispatched keeps req.buffer
  r.oncomplete = (status: number) => {
    r.buffer = null;
    writer.directPending -= bytes;
    if (status < 0 && !sock.destroyed) sock.destroy();
    if (writer.directPending === 0) writer.directDrained();
  };
  return true;
}
