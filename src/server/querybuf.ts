// The query buffer's allocation as Redis reports it (CLIENT LIST qbuf-free): we keep a
// client's pending input as socket chunks or a kernel region, not in one growing sds, so
// the size Redis's querybuf would have is modelled from the reads, as networking.c does it:
//   - each read reserves room for PROTO_IOBUF_LEN (16 KB), or for the rest of a big
//     argument (PROTO_MBULK_BIG_ARG, 32 KB and over) in one piece; a buffer under 16 KB or
//     a big argument grows to exactly that (sdsMakeRoomForNonGreedy), a bigger one greedily
//     (doubling under 1 MB, +1 MB over it); jemalloc rounds every allocation up to its size
//     class (a fresh 16 KB buffer is 20474 bytes usable);
//   - the peak (querybuf_peak) is the most any read wanted since the last cron pass;
//   - serverCron (clientsCronResizeQueryBuffer), when more than 4 KB is unused: a client
//     idle for more than 2 seconds has the free space removed; otherwise a buffer over
//     PROTO_RESIZE_THRESHOLD (32 KB) that is more than twice the peak shrinks to the peak.
// Only what CLIENT LIST (and the tests reading it) observe depends on this model.
import type { Client } from "./client.js";
import type { Server } from "./server.js";

const PROTO_IOBUF_LEN = 16 * 1024;
const PROTO_MBULK_BIG_ARG = 32 * 1024;
const PROTO_RESIZE_THRESHOLD = 32 * 1024;
const SDS_MAX_PREALLOC = 1024 * 1024;
/** An sds's header and terminator (sdshdr32 + '\0'), which the allocation also holds. */
const SDS_OVERHEAD = 6;

/** jemalloc's size class for n bytes (4 classes per doubling). */
export function jemallocUsable(n: number): number {
  if (n <= 8) return 8;
  const lg = Math.floor(Math.log2(n - 1));
  const spacing = Math.max(16, 2 ** (lg - 2));
  return Math.ceil(n / spacing) * spacing;
}

function queryBufLen(c: Client): number {
  return c.queryBufferLength + c.inputInFlight;
}

/** Client.onData, before the bytes join the pending input (Redis's readQueryFromClient). */
export function noteQueryRead(c: Client, bytes: number): void {
  // A field of the client, not a WeakMap entry: this runs on every socket read.
  let q = c.queryBuf;
  if (q === null) c.queryBuf = q = { alloc: 0, peak: 0 };
  const qblen = queryBufLen(c);
  const remaining = c.queryBufferNeed;
  const bigArg = remaining >= PROTO_MBULK_BIG_ARG;
  // Node hands over whatever arrived, possibly more than one of Redis's reads would take.
  const readlen = Math.max(bytes, bigArg ? remaining : PROTO_IOBUF_LEN);
  const want = qblen + readlen;
  if (q.peak < want) q.peak = want;
  if (q.alloc >= want) return;
  let size = want;
  if (!bigArg && q.alloc >= PROTO_IOBUF_LEN) size = want < SDS_MAX_PREALLOC ? want * 2 : want + SDS_MAX_PREALLOC;
  q.alloc = jemallocUsable(size + SDS_OVERHEAD) - SDS_OVERHEAD;
}

/**
 * CLIENT LIST qbuf: the bytes received and not yet run, less, inside a big argument
 * (PROTO_MBULK_BIG_ARG or more), what precedes its data: Redis trims the query buffer to
 * start at such an argument (its earlier arguments are in argv already), so qbuf counts
 * only the argument's bytes received so far.
 */
export function queryBufferUsed(c: Client): number {
  return incompleteCommand(c, 64 * 1024).used;
}

/**
 * The query buffer's share of CLIENT LIST tot-mem (Redis's sdsZmallocSize of the querybuf):
 * while a big argument is incomplete, Redis has already allocated room for all of it
 * (processMultibulkBuffer preallocates bulk + 2 as soon as it parses the length), however
 * little of it has arrived; otherwise the bytes received.
 */
export function queryBufferMemory(c: Client): number {
  // Measured after every read while maxmemory-clients is on: a short look at the front.
  const { len, used, bigBulk } = incompleteCommand(c, 4096);
  return bigBulk > 0 ? len - used + Math.max(used, bigBulk + 2) : len;
}

/** The pending input: its length, qbuf (see queryBufferUsed), and the length of an incomplete big argument (0: none). */
function incompleteCommand(c: Client, peek: number): { len: number; used: number; bigBulk: number } {
  const len = queryBufLen(c);
  const whole = { len, used: len, bigBulk: 0 };
  const need = c.queryBufferNeed;
  // No incomplete command, or one too short to hold a big argument: nothing to look at.
  if (c.inputInFlight > 0 || need < 1 || len + need < PROTO_MBULK_BIG_ARG) return whole;
  const head = c.peekInput(peek);
  if (head[0] !== 0x2a) return whole; // '*': a multibulk; inline commands are never trimmed
  let pos = head.indexOf("\r\n");
  if (pos < 0) return whole;
  const argc = Number(head.toString("latin1", 1, pos));
  pos += 2;
  for (let i = 0; i < argc && pos < head.length; i++) {
    if (head[pos] !== 0x24) return whole; // '$'
    const eol = head.indexOf("\r\n", pos);
    if (eol < 0) return whole;
    const bulk = Number(head.toString("latin1", pos + 1, eol));
    const data = eol + 2;
    if (data + bulk + 2 > len) return bulk >= PROTO_MBULK_BIG_ARG ? { len, used: len - data, bigBulk: bulk } : whole; // the incomplete argument
    pos = data + bulk + 2;
  }
  return whole;
}

/** CLIENT LIST qbuf-free: the modelled allocation less what is in use. */
export function queryBufferFree(c: Client): number {
  const q = c.queryBuf;
  return q !== null ? Math.max(0, q.alloc - queryBufferUsed(c)) : 0;
}

/** The modelled allocation (qbuf + qbuf-free). */
export function queryBufferAlloc(c: Client): number {
  const q = c.queryBuf;
  return q !== null ? Math.max(q.alloc, queryBufLen(c)) : queryBufLen(c);
}

/** serverCron: Redis's clientsCronResizeQueryBuffer for every client. */
export function resizeQueryBuffers(server: Server): void {
  const now = Date.now();
  for (const c of server.clients.values()) {
    const q = c.queryBuf;
    if (q === null) continue;
    const len = queryBufLen(c);
    const bulk = len > 0 ? len + c.queryBufferNeed : 0;
    if (q.alloc - len > 4 * 1024) {
      const idleSeconds = Math.floor((now - c.lastInteraction) / 1000);
      if (idleSeconds > 2) {
        q.alloc = len;
      } else if (q.alloc > PROTO_RESIZE_THRESHOLD && q.alloc / 2 > q.peak) {
        q.alloc = Math.max(len, q.peak, bulk);
      }
    }
    q.peak = Math.max(len, bulk);
  }
}
