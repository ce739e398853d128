// Turn writes: the reply of a read leaves at the end of the event-loop turn, with every other
// client's, as Redis writes replies in beforeSleep (handleClientsWithPendingWrites) after it
// has read and run every ready client, instead of in the middle of reading them.
//
// Why: redis-benchmark (or any client) waits on its socket; our write wakes it, and on a busy
// machine the scheduler often runs it at once on our core, in the middle of our turn (the
// server is preempted on its way back from write()). With a write per read, a turn of many
// clients' reads was cut into as many pieces, each resumed with cold caches. `perf record` of a
// 4-shard server under GET -r 100000 -P 16 (2026-11-28, load ~4) had 19% of its samples in
// finish_task_switch under write(), against 6% with 1 shard; written at the turn's end, the
// wake-ups come after the turn's work.
//
// Only a client's batch written through its socket's handle (direct-write.ts: a plain socket
// with nothing buffered, not corked) is held here, copied into one area per turn. Every other
// write to a client with held bytes sends the held bytes first (Client.flushTurn, called
// before its other writes and before its next read runs), so its bytes stay in order; so do
// everyone else's, as nothing reorders between clients that could be seen: a reply still
// leaves only after its command ran, and every command of the turn ran before any of them.
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import { writeDirect, type DirectWriter, type StreamHandle } from "./direct-write.js";

/** A writer whose bytes may be held (Client). */
export interface TurnWriter extends DirectWriter {
  readonly closed: boolean;
  /** Whether it has bytes held for the turn's end (set and cleared here). */
  turnHeld: boolean;
}

/** The held bytes of the turn, one area (replaced when a socket kept a view of it). */
const AREA_BYTES = 256 * 1024;
let area = Buffer.allocUnsafeSlow(AREA_BYTES);
let used = 0;
/** Per held write: writer, socket, handle, bytes (a view of `area`). */
const held: unknown[] = [];
let scheduled = false;

/**
 * Holds data (copied) for writer's socket until the turn ends; false when it does not fit (what
 * was held is sent first, so the caller may write data at once, in order).
 */
export function holdTurnWrite(writer: TurnWriter, sock: Socket, handle: StreamHandle, data: Uint8Array): boolean {
  const n = data.length;
  if (used + n > area.length) {
    flushTurnWrites();
    if (n > area.length) return false;
  }
  const bytes = area.subarray(used, used + n);
  bytes.set(data);
  used += n;
  held.push(writer, sock, handle, bytes);
  writer.turnHeld = true;
  if (!scheduled) {
    scheduled = true;
    setImmediate(flushTurnWrites);
  }
  return true;
}

/** Sends every held write, in the order they were held. */
export function flushTurnWrites(): void {
  scheduled = false;
  if (held.length === 0) return;
  let kept = false;
  for (let i = 0; i < held.length; i += 4) {
    const writer = held[i] as TurnWriter;
    writer.turnHeld = false;
    const sock = held[i + 1] as Socket;
    // A client killed since (CLIENT KILL, output limits) drops its replies, as it would have.
    if (writer.closed || sock.destroyed) continue;
    if (writeDirect(sock, held[i + 2] as StreamHandle, held[i + 3] as Uint8Array, writer)) kept = true;
  }
  held.length = 0;
  used = 0;
  if (kept) area = Buffer.allocUnsafeSlow(AREA_BYTES);
}
