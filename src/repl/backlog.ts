// The replication buffer (Redis 7.0's repl_buffer_blocks): the replication stream, held once
// and shared by the backlog and every replica. The backlog is its last repl-backlog-size
// bytes, so a replica that lost its link can continue from its offset (+CONTINUE) instead of a
// full resync; a replica whose stream is held (its RDB is still on the way) or not yet sent
// keeps the bytes from its position on, so the buffer — and with it repl_backlog_histlen —
// grows past repl-backlog-size for a lagging replica rather than each replica copying the
// stream (two lagging replicas do not double it). Once no replica needs the oldest bytes the
// buffer trims back to repl-backlog-size.
//
// Offsets are Redis's: `offset` is master_repl_offset, the number of stream bytes ever
// produced; the buffer holds bytes [firstByteOffset, offset + 1) — Redis numbers the first
// byte of the stream 1, and a replica asks PSYNC for "the offset of the next byte it needs".
//
// Storage is a list of blocks (Redis 7.0.15's feedReplicationBuffer): bytes go into the last
// block while it has room; the rest opens a new block sized for the piece of the stream Redis
// was feeding at that point — at least PROTO_REPLY_CHUNK_BYTES, at most repl-backlog-size/16 —
// rounded up as jemalloc rounds the allocation (Debian's redis-server uses jemalloc 5.3), so
// the blocks, and with them what the trim keeps, are Redis's. Trimming drops whole blocks
// from the head.
//
// Redis feeds a master's command piece by piece (replicationFeedSlaves: "*N\r\n", then each
// argument's "$len\r\n", its bytes and "\r\n"), and a replica's proxied stream a whole
// command at a time (replicationFeedStreamFromMasterStream after each command it applied).
// Only a piece larger than PROTO_REPLY_CHUNK_BYTES changes a new block's size, so the callers
// pass their bytes in one call and say which pieces they are made of (PIECES_*); the piece
// is found only when a new block is opened.

import { putRespCommand, respBulkSize, respHeaderSize as headerSize } from "../server/resp-header.js";
import type { KernelRecord } from "../server/effects.js";

/** Redis's PROTO_REPLY_CHUNK_BYTES. */
const BLOCK = 16 * 1024;
/** sizeof(replBufBlock) and sizeof(listNode) on 64 bits: both are in mem_total_replication_buffers. */
const BLOCK_HEADER = 40;
const LIST_NODE = 24;

/** Pieces of a master's own commands: the multibulk header, each argument's header, bytes, CRLF. */
export const PIECES_ARGS = 0;
/** Pieces of a replica's proxied stream: whole commands. */
export const PIECES_COMMANDS = 1;

/**
 * jemalloc's size class for an n-byte allocation (what zmalloc_usable reports): 8, then steps of
 * 16 up to 128, then four classes per doubling.
 */
export function jemallocSize(n: number): number {
  if (n <= 8) return 8;
  if (n <= 128) return Math.ceil(n / 16) * 16;
  const step = 2 ** Math.floor(Math.log2(n - 1)) / 4;
  return Math.ceil(n / step) * step;
}

/** Reads the decimal after a RESP type byte at i; [value, index after its CRLF] or null. */
function respNumber(b: Buffer, i: number): [number, number] | null {
  let n = 0;
  let j = i + 1;
  while (j < b.length && b[j] !== 13) {
    const d = b[j] - 48;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
    j++;
  }
  return j + 1 < b.length ? [n, j + 2] : null;
}

/**
 * The end of the piece (PIECES_ARGS or PIECES_COMMANDS) of multibulk commands `b` that holds
 * byte `at`, read from `from` (a command's start at or before `at`); b.length when b cannot be
 * read as such commands.
 */
export function pieceEnd(b: Buffer, at: number, pieces: number, from = 0): number {
  let i = from;
  while (i < b.length) {
    if (b[i] !== 42) return b.length; // not '*'
    const head = respNumber(b, i);
    if (head === null) return b.length;
    const cmdStart = i;
    i = head[1];
    if (pieces === PIECES_ARGS && at < i) return i;
    for (let a = 0; a < head[0]; a++) {
      if (b[i] !== 36) return b.length; // not '$'
      const len = respNumber(b, i);
      if (len === null) return b.length;
      const payload = len[1];
      const end = payload + len[0] + 2;
      if (pieces === PIECES_ARGS && at < end) return at < payload ? payload : at < end - 2 ? end - 2 : end;
      i = end;
    }
    if (at < i && at >= cmdStart) return Math.min(i, b.length);
  }
  return b.length;
}

/** Bytes of argv as a RESP multibulk command (what encodeCommand makes of it). */
export function commandSize(argv: Uint8Array[]): number {
  let size = headerSize(argv.length);
  for (let i = 0; i < argv.length; i++) size += respBulkSize(argv[i].length);
  return size;
}

/** A command as argv, or as a kernel effect read in place in its log (EffectBus's onKernelRecord). */
function putCommand(out: Uint8Array, o: number, cmd: Uint8Array[] | KernelRecord): number {
  return Array.isArray(cmd) ? putRespCommand(out, o, cmd) : cmd.putResp(out, o);
}

interface Block { buf: Buffer; used: number }

export class Backlog {
  private blocks: Block[] = [];
  /** Index of the first live block (blocks before it were trimmed; compacted now and then). */
  private head = 0;
  /** Bytes held (repl_backlog_histlen). */
  histlen = 0;
  /** Bytes allocated for the blocks (mem_total_replication_buffers). */
  allocated = 0;
  private limit: number;

  constructor(size: number, public offset: number) {
    this.limit = Math.max(16 * 1024, size);
  }

  /** repl-backlog-size. */
  get size(): number { return this.limit; }

  /** CONFIG SET repl-backlog-size: the buffer trims to the new size (what no replica needs). */
  resize(size: number, neededFrom = Infinity): void {
    this.limit = Math.max(16 * 1024, size);
    this.trim(neededFrom);
  }

  /** repl_backlog_first_byte_offset. */
  get firstByteOffset(): number { return this.offset - this.histlen + 1; }

  /**
   * Appends stream bytes (made of `pieces`, PIECES_*), then trims to repl-backlog-size without
   * dropping bytes at or after `neededFrom()` (the oldest byte a replica still needs), which
   * is asked only when the trim could drop a block: not for most appends, which only fill
   * the last block while the first is needed for repl-backlog-size.
   */
  append(data: Buffer, neededFrom: () => number = () => Infinity, pieces = PIECES_ARGS): void {
    this.offset += data.length;
    this.histlen += data.length;
    let pos = 0;
    const last = this.blocks.length > this.head ? this.blocks[this.blocks.length - 1] : null;
    if (last && last.used < last.buf.length) {
      const n = Math.min(data.length, last.buf.length - last.used);
      data.copy(last.buf, last.used, 0, n);
      last.used += n;
      pos = n;
    }
    // New blocks as feedReplicationBuffer opens them: sized for the rest of the piece at pos,
    // within [PROTO_REPLY_CHUNK_BYTES, repl-backlog-size/16], plus jemalloc's rounding.
    const cap = Math.max(Math.floor(this.limit / 16), BLOCK);
    let from = 0; // a command's start at or before pos, where pieceEnd reads from
    while (pos < data.length) {
      const end = pieceEnd(data, pos, pieces, from);
      const rest = end - pos;
      const usable = jemallocSize(Math.min(Math.max(rest, BLOCK), cap) + BLOCK_HEADER);
      const buf = Buffer.allocUnsafe(usable - BLOCK_HEADER);
      const n = Math.min(buf.length, data.length - pos);
      data.copy(buf, 0, pos, pos + n);
      this.blocks.push({ buf, used: n });
      this.allocated += usable + LIST_NODE;
      pos += n;
      // A whole command's end is the next one's start (a run of proxied commands is read once).
      if (pieces === PIECES_COMMANDS && end <= pos) from = end;
    }
    if (this.blocks.length - this.head > 1 && this.histlen - this.blocks[this.head].used > this.limit) this.trim(neededFrom());
  }

  /**
   * append() of a command (argv, or a kernel effect read in place in its log) as a RESP
   * multibulk of `size` bytes (commandSize, KernelRecord.respSize), a master's own write:
   * encoded straight into the last block when it fits there, as Redis's feedReplicationBuffer
   * copies each piece into the tail block, so a propagated write is neither encoded into a
   * buffer of its own nor copied. One that does not fit opens blocks as append() does (the new
   * block is sized by the piece at its start).
   */
  appendCommand(cmd: Uint8Array[] | KernelRecord, size: number, neededFrom: () => number = () => Infinity): void {
    const last = this.blocks.length > this.head ? this.blocks[this.blocks.length - 1] : null;
    if (last === null || last.buf.length - last.used < size) {
      const out = Buffer.allocUnsafe(size);
      putCommand(out, 0, cmd);
      this.append(out, neededFrom, PIECES_ARGS);
      return;
    }
    last.used = putCommand(last.buf, last.used, cmd);
    this.offset += size;
    this.histlen += size;
    if (this.blocks.length - this.head > 1 && this.histlen - this.blocks[this.head].used > this.limit) this.trim(neededFrom());
  }

  /**
   * Drops head blocks while what stays is at least repl-backlog-size and no replica needs them
   * (Redis's incrementalTrimReplicationBacklog; a block goes only when wholly unneeded).
   */
  trim(neededFrom = Infinity): void {
    let first = this.firstByteOffset;
    while (this.blocks.length - this.head > 1) {
      const b = this.blocks[this.head];
      if (this.histlen - b.used <= this.limit) break;
      if (first + b.used > neededFrom) break;
      this.histlen -= b.used;
      this.allocated -= b.buf.length + BLOCK_HEADER + LIST_NODE;
      first += b.used;
      this.blocks[this.head++] = undefined as unknown as Block;
    }
    if (this.head > 64 && this.head * 2 > this.blocks.length) {
      this.blocks = this.blocks.slice(this.head);
      this.head = 0;
    }
  }

  /** Whether the stream from `from` (the next byte a replica needs) is still here. */
  has(from: number): boolean {
    return from >= this.firstByteOffset && from <= this.offset + 1;
  }

  /** The stream bytes from `from` to the end. */
  from(from: number): Buffer {
    const parts = this.views(from);
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /**
   * The stream bytes from `from` to the end, as views of the blocks (what a replica is sent:
   * the bytes of a block up to `used` never change, later ones are only appended after them).
   */
  views(from: number): Buffer[] {
    const parts: Buffer[] = [];
    if (this.offset + 1 - from <= 0) return parts;
    let skip = from - this.firstByteOffset;
    for (let i = this.head; i < this.blocks.length; i++) {
      const b = this.blocks[i];
      if (skip >= b.used) { skip -= b.used; continue; }
      parts.push(b.buf.subarray(skip, b.used));
      skip = 0;
    }
    return parts;
  }
}
