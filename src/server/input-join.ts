// Joining a command split across reads without a new buffer per read.
//
// While a client streams input (redis-cli --pipe, a big pipeline), nearly every read ends
// inside a command: the next read then runs as [kept tail, new read]. Buffer.concat gave
// each such run a fresh buffer of ~64 KiB, malloc'd outside the V8 heap and freed only when
// a garbage collection finds it dead; thousands of them between two collections grew
// glibc's heap by ~15 MiB while 1M SETs were written a second time, and it kept that memory
// (issue #8's memory line: RSS after writing every key again). The join goes into one
// reused scratch buffer instead; it is copied into the shard's input region right away, so
// like the shared read buffer (src/server/socket-input.ts) its bytes are only valid until
// the next join, and a caller copies what it keeps.

/** Joins bigger than this get a buffer of their own (the scratch buffer never grows past it). */
const SCRATCH_MAX = 1024 * 1024;
let scratch = Buffer.allocUnsafeSlow(128 * 1024);

/** The chunks (total bytes in all) as one buffer: a view of the scratch buffer up to SCRATCH_MAX. */
export function joinInput(chunks: Buffer[], total: number): { buf: Buffer; transient: boolean } {
  if (total > SCRATCH_MAX) return { buf: Buffer.concat(chunks, total), transient: false };
  if (total > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(total, scratch.length * 2)));
  let at = 0;
  for (const c of chunks) {
    scratch.set(c, at);
    at += c.length;
  }
  return { buf: scratch.subarray(0, total), transient: true };
}
