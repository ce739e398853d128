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
// writes call settle() first, and the read's end does. Writes outside any read (a peer's
// batch applied, timers, active expiry, a woken client's command) wait the same way for the
// end of the current task (a microtask), or for a reply leaving before it: so what one such
// task writes is one write(2) too. Active-active's `#CRDT` record of those writes comes after
// their commands in the same task: written at once, the commands went out first and the
// record in a second write, and a kill between the two left the commands without their
// state (src/persistence/aof-crdt.ts; test/integration/active-active-aof-writes.test.ts).

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
   * Asks for write to run before the next reply leaves, or at the read's end; outside any
   * read, at the end of the current task.
   */
  defer(write: () => void): void {
    if (this.depth === 0) {
      this.depth = 1;
      queueMicrotask(this.taskEnd);
    }
    this.waiting = write;
  }

  /** The end of a task that wrote outside any read: as a read's end. */
  private readonly taskEnd = (): void => this.leave();

  /** Before a reply leaves: runs what waits. */
  settle(): void {
    const write = this.waiting;
    if (write !== null) {
      this.waiting = null;
      write();
    }
  }
}
