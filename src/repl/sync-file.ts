// The temp file a replica writes the master's RDB into when it loads from disk
// (repl-diskless-load disabled, or on-empty-db with keys): Redis's
// "temp-<unixtime>.<pid>.rdb" in the working directory, written as the payload arrives,
// then fsynced and renamed over dbfilename before the load reads it back. A transfer that
// fails removes it (replicationAbortSyncTransfer).
import { openSync, writeSync, fsyncSync, closeSync, ftruncateSync, renameSync, unlinkSync } from "node:fs";
import { resolve } from "node:path";

export class SyncTempFile {
  readonly path: string;
  private fd: number;
  written = 0;

  constructor() {
    this.path = resolve(`temp-${Math.floor(Date.now() / 1000)}.${process.pid}.rdb`);
    this.fd = openSync(this.path, "w", 0o644);
  }

  write(b: Buffer): void {
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    this.written += b.length;
  }

  /** The payload is the first `len` bytes written: synced and renamed to dest. */
  commit(len: number, dest: string): void {
    if (this.written > len) ftruncateSync(this.fd, len);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
    renameSync(this.path, dest);
  }

  /** The transfer failed: the file goes. */
  discard(): void {
    if (this.fd < 0) return;
    try { closeSync(this.fd); } catch { /* closed */ }
    this.fd = -1;
    try { unlinkSync(this.path); } catch { /* gone */ }
  }
}
