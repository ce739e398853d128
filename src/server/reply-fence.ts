// ReplyFence: the AOF's writes of a read go out once, before any reply of that read.
//
// Redis appends each command to the AOF buffer (feedAppendOnlyFile) and writes the buffer
// once per event-loop turn, in beforeSleep, before any client's reply is written
// (flushAppendOnlyFile, then handleClientsWithPendingWrites); with appendfsync always it
// fsyncs there too. Ours wrote (and under always fsynced) every command on its own: with
// appendonly yes, `redis-benchmark -P 16 -t set` spent three quarters of the server's busy
// time in writeBuffer, 4.3 µs of CPU per SET against Redis's 1.3.
//
// So while a read runs (a client's input, a slice of the master's stream), the AOF keeps
// what it is given and asks to be written before the next reply leaves: the client's socket
// writes call settle() first, and the read's end does. Writes outside any read (timers,
// active expiry, a woken client's command) are written at once, as before.

export class ReplyFence {
  /** Reads under way (they nest: a read can resume another client's held input). */
  private depth = 0;
  /** What must be written before the next reply leaves (the AOF's flush), if anything. */
  private waiting: (() => void) | null = null;

  /** A read begins: writes may wait for its end or its first reply. */
  enter(): void {
    this.depth++;
  }

  /** A read ends: what waits is written once the outermost read ends. */
  leave(): void {
    if (--this.depth === 0) this.settle();
  }

  /**
   * Asks for write to run before the next reply leaves, or at the read's end. False when no
   * read is under way: the caller writes now.
   */
  defer(write: () => void): boolean {
    if (this.depth === 0) return false;
    this.waiting = write;
    return true;
  }

  /** Before a reply leaves: runs what waits. */
  settle(): void {
    const write = this.waiting;
    if (write !== null) {
      this.waiting = null;
      write();
    }
  }
}
