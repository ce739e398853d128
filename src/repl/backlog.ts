// The replication backlog (Redis's repl_backlog): the last repl-backlog-size bytes of the
// replication stream, so a replica that lost its link can continue from its offset
// (+CONTINUE) instead of a full resync.
//
// Offsets are Redis's: `offset` is master_repl_offset, the number of stream bytes ever
// produced; the backlog holds bytes [firstByteOffset, offset + 1) — Redis numbers the first
// byte of the stream 1, and a replica asks PSYNC for "the offset of the next byte it needs".
export class Backlog {
  private buf: Buffer;
  /** Bytes held (histlen). */
  histlen = 0;
  /** Where the next byte goes in buf. */
  private idx = 0;

  constructor(size: number, public offset: number) {
    this.buf = Buffer.alloc(Math.max(16 * 1024, size));
  }

  get size(): number { return this.buf.length; }

  /** CONFIG SET repl-backlog-size: keeps the newest bytes that still fit (Redis's resizeReplicationBacklog). */
  resize(size: number): void {
    const newSize = Math.max(16 * 1024, size);
    if (newSize === this.buf.length) return;
    const keep = Math.min(this.histlen, newSize);
    const tail = this.from(this.offset + 1 - keep);
    this.buf = Buffer.alloc(newSize);
    tail.copy(this.buf, 0);
    this.idx = tail.length % newSize;
    this.histlen = tail.length;
  }

  /** repl_backlog_first_byte_offset. */
  get firstByteOffset(): number { return this.offset - this.histlen + 1; }

  append(data: Buffer): void {
    this.offset += data.length;
    let src = data;
    if (src.length >= this.buf.length) src = src.subarray(src.length - this.buf.length);
    const first = Math.min(src.length, this.buf.length - this.idx);
    src.copy(this.buf, this.idx, 0, first);
    src.copy(this.buf, 0, first);
    this.idx = (this.idx + src.length) % this.buf.length;
    this.histlen = Math.min(this.buf.length, this.histlen + data.length);
  }

  /** Whether the stream from `from` (the next byte a replica needs) is still here. */
  has(from: number): boolean {
    return from >= this.firstByteOffset && from <= this.offset + 1;
  }

  /** The stream bytes from `from` to the end. */
  from(from: number): Buffer {
    const n = this.offset + 1 - from;
    if (n <= 0) return Buffer.alloc(0);
    const start = (this.idx - n + this.buf.length) % this.buf.length;
    if (start + n <= this.buf.length) return Buffer.from(this.buf.subarray(start, start + n));
    return Buffer.concat([this.buf.subarray(start), this.buf.subarray(0, (start + n) % this.buf.length)]);
  }
}
