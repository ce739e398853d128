// The turn-end hold: replies and pushes that leave at the end of the event-loop turn, all
// together, as Redis writes every client's output in beforeSleep after the turn's reads.
// Two things hold a client's output:
//
// - A turn that feeds replicas (src/repl/replication.ts): the turn's stream goes to the
//   replicas first, then the clients' replies, then pushes to other clients, so a client that
//   read its reply and then asks a replica does not beat the stream there (psync2.tcl's
//   checks; an INCR on the master and a GET on its replica right after saw the old value in
//   740 of 2000 rounds at load 14 when replies left at once). Replication registers a
//   TurnEndHook for its part; repliesWaitForStream / pushesWait say when a client's output
//   waits.
// - A one-command read's big reply (>= TURN_END_REPLY_BYTES). At redis-benchmark -P 1 with big
//   replies (LRANGE_500 / 600: 4.5-5.4 KB each) the benchmark, not the server, is the busy
//   process: its hiredis parse of 600 elements costs more than our LRANGE, and throughput is
//   how fast it turns replies into new requests. Written as each read finished (one write per
//   read, ~10 µs apart), the replies woke the benchmark once or twice per reply; held to the
//   turn's end, the turn's replies reach it in one burst, as Redis's do (LRANGE mylist 0 599
//   -P 1, 2026-11-29, load ~14: 17,476 -> 21,286 requests/s). Small replies and pipelined
//   reads keep the direct write: there the server is the busy process and the hold only costs.
//
// A held client's bytes are kept as they are, not copied: a batch's bytes stay in the reply
// batch's scratch area (reply-batch.ts takeBatch(true)), host Buffers are nobody else's. At the
// turn's end (a setImmediate: after the poll phase's reads) each held socket gets its bytes in
// one write, through the direct path when it can (direct-write.ts). Until then everything else
// the client writes (a later read's reply, a push) joins its held bytes, in order; code that
// writes a client's socket itself calls flushHeld first.
import type { Socket } from "node:net";
import { directHandle, writeDirect, type DirectWriter } from "./direct-write.js";
import { turnEndScratch } from "./reply-batch.js";

/** A one-command read's replies at least this big wait for the turn's end. */
export const TURN_END_REPLY_BYTES = 2048;

/** What the hold needs of a client (Client). */
export interface HeldWriter extends DirectWriter {
  readonly socket: Socket;
  readonly closed: boolean;
  /** Output held to the turn's end, in order (null: not held this turn). */
  turnHeld: Uint8Array[] | null;
  /** Bytes in turnHeld (counted as unsent output: CLIENT LIST omem, output limits). */
  turnHeldBytes: number;
}

/** Work of the turn's end besides the held output (Replication's stream to its replicas). */
export interface TurnEndHook {
  /** Before any held output is written. */
  beforeHeld(): void;
  /** After it. */
  afterHeld(): void;
}

/** Replies go out first, then pushes to other clients (Redis: replica, writer, subscriber). */
export const HELD_REPLY = 0;
export const HELD_PUSH = 1;

let replies: HeldWriter[] = [];
let pushes: HeldWriter[] = [];
let hooks: TurnEndHook[] = [];
let scheduled = false;
/** Some held bytes were queued by their socket this turn: their areas are not reused. */
let queued = false;
const freeLists: Uint8Array[][] = [];

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(endTurnNow);
}

/** hook runs at this turn's end (once, however often it is asked for in the turn). */
export function atTurnEnd(hook: TurnEndHook): void {
  if (!hooks.includes(hook)) hooks.push(hook);
  schedule();
}

/** w's output waits for the turn's end from now on (HELD_REPLY or HELD_PUSH: when it goes). */
export function hold(w: HeldWriter, kind: number): void {
  if (w.turnHeld !== null) return;
  w.turnHeld = freeLists.pop() ?? [];
  (kind === HELD_PUSH ? pushes : replies).push(w);
  schedule();
}

/** Adds bytes to w's held output; they must stay as they are until the turn's end. */
export function keep(w: HeldWriter, b: Uint8Array): void {
  w.turnHeld!.push(b);
  w.turnHeldBytes += b.length;
}

/**
 * Writes w's held output now (its socket is about to be written or closed by other means, or
 * its output is over the high-water mark); w stays held for the rest of the turn.
 */
export function flushHeld(w: HeldWriter): void {
  const list = w.turnHeld;
  if (list === null || list.length === 0) return;
  w.turnHeld = freeLists.pop() ?? [];
  write(w, list);
}

function write(w: HeldWriter, list: Uint8Array[]): void {
  w.turnHeldBytes = 0;
  if (!w.closed && list.length > 0) {
    const sock = w.socket;
    const h = list.length === 1 ? directHandle(sock) : null;
    if (h !== null) {
      if (writeDirect(sock, h, list[0], w)) queued = true;
    } else {
      if (list.length > 1) sock.cork();
      for (const b of list) sock.write(b);
      if (list.length > 1) sock.uncork();
      if (sock.writableLength > 0) queued = true;
    }
  }
  list.length = 0;
  freeLists.push(list);
}

function release(list: HeldWriter[]): void {
  for (const w of list) {
    const held = w.turnHeld;
    w.turnHeld = null;
    if (held !== null) write(w, held);
  }
}

/**
 * The turn's end: the hooks' work, then the held replies, then the held pushes. Called by its
 * setImmediate, and at shutdown (Replication.flushReplicas) for a turn's end that never comes.
 */
export function endTurnNow(): void {
  scheduled = false;
  const hs = hooks;
  hooks = [];
  for (const h of hs) h.beforeHeld();
  const r = replies;
  const p = pushes;
  replies = [];
  pushes = [];
  release(r);
  release(p);
  for (const h of hs) h.afterHeld();
  if (turnEndScratch(queued)) queued = false;
}
