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
// Storage is a list of blocks of at least BLOCK bytes (Redis's PROTO_REPLY_CHUNK_BYTES): small
// writes are copied into the last block, and trimming drops whole blocks from the head.

/** Redis's PROTO_REPLY_CHUNK_BYTES. */
const BLOCK = 16 * 1024;

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
   * Appends stream bytes, then trims to repl-backlog-size without dropping bytes at or after
   * `neededFrom` (the oldest byte a replica still needs).
   */
  append(data: Buffer, neededFrom = Infinity): void {
    this.offset += data.length;
    this.histlen += data.length;
    let src = data;
    const last = this.blocks.length > this.head ? this.blocks[this.blocks.length - 1] : null;
    if (last && last.used < last.buf.length) {
      const n = Math.min(src.length, last.buf.length - last.used);
      src.copy(last.buf, last.used, 0, n);
      last.used += n;
      src = src.subarray(n);
    }
    if (src.length) {
      const buf = Buffer.allocUnsafe(Math.max(BLOCK, src.length));
      src.copy(buf, 0);
      this.blocks.push({ buf, used: src.length });
      this.allocated += buf.length;
    }
    this.trim(neededFrom);
  }

  /**
   * Drops head blocks while what stays is at least repl-backlog-size and no replica needs them
   * (Redis's incrementalTrimReplicationBacklog; a block goes only when wholly unneeded).
   */
  trim(neededFrom = Infinity): void {
    let first = this.firstByteOffset;
    while (this.blocks.length - this.head > 1) {
      const b = this.blocks[this.head];
      if (this.histlen - b.used < this.limit) break;
      if (first + b.used > neededFrom) break;
      this.histlen -= b.used;
      this.allocated -= b.buf.length;
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
    const n = this.offset + 1 - from;
    if (n <= 0) return Buffer.alloc(0);
    const parts: Buffer[] = [];
    let skip = from - this.firstByteOffset;
    for (let i = this.head; i < this.blocks.length; i++) {
      const b = this.blocks[i];
      if (skip >= b.used) { skip -= b.used; continue; }
      parts.push(b.buf.subarray(skip, b.used));
      skip = 0;
    }
    return Buffer.concat(parts);
  }
}
