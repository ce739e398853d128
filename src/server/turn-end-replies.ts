// Big replies to one-command reads leave at the end of the event-loop turn, all together, as
// Redis writes every client's replies in beforeSleep after the turn's reads.
//
// At redis-benchmark -P 1 with big replies (LRANGE_500 / 600: 4.5-5.4 KB each) the benchmark,
// not the server, is the busy process: its hiredis parse of 600 elements costs more than our
// LRANGE, and throughput is how fast it turns replies into new requests. Written as each read
// finished (one write per read, ~10 µs apart), the replies woke the benchmark once or twice per
// reply; held to the turn's end, the turn's replies reach it in one burst, as Redis's do, and
// one epoll_wait of the benchmark returns them all. Alternating a held build and main's on
// LRANGE mylist 0 599 -P 1 (2026-11-29, load ~8): 15.4-21.1k against 14.6-17.3k requests/s;
// server CPU per request 16-17 µs against 15-16 (the copy and the corked write; Redis's 22).
// Small replies and pipelined reads keep the direct write: there the server is the busy
// process and the hold would only cost (a cork, a copy of the bytes, Node's stream write).
//
// The socket is corked until a setImmediate after the turn's poll phase, so anything else
// written to it meanwhile (a push, another read's reply) stays behind it, in order. A master's
// stream to its replicas for the turn is written first (Replication.flushReplicas), as a reply
// held for the stream would be (Replication.holdReplies).
import type { Socket } from "node:net";

/** A one-command read's replies at least this big wait for the turn's end. */
export const TURN_END_REPLY_BYTES = 2048;

interface Held { sock: Socket; beforeRelease: () => void }

let held: Held[] = [];

/**
 * Corks sock until the end of this event-loop turn; beforeRelease runs first then (the
 * replicas' stream). Returns true: the caller's write is held (it must not keep a view of
 * memory it reuses in the meantime).
 */
export function holdUntilTurnEnd(sock: Socket, beforeRelease: () => void): boolean {
  // Already corked by someone else (replication's holdReplies): its holder releases it.
  if (sock.writableCorked !== 0) return true;
  sock.cork();
  if (held.length === 0) setImmediate(release);
  held.push({ sock, beforeRelease });
  return true;
}

function release(): void {
  const list = held;
  held = [];
  for (const h of list) h.beforeRelease();
  for (const h of list) h.sock.uncork();
}
