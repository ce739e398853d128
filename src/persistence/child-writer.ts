// The background writer of BGSAVE and BGREWRITEAOF is a child process of the server, as
// Redis's fork child is. Without fork the child cannot hold the dataset: the parent
// encodes its copy-on-write snapshot in slices (bgsave.ts) and streams the bytes over a
// pipe to the child, `cat`, whose stdout is the temp file. The job succeeds only if the
// child exits cleanly after the parent's end of stream; then the parent fsyncs the file
// and renames it into place (as backgroundSaveDoneHandler / backgroundRewriteDoneHandler
// act on the child's exit status).
//
// What this buys is Redis's process model, which tools and tests rely on: the child shows
// up under the server's pid (`pgrep -P`, `ps --ppid`), `kill -9 <child>` fails the job
// exactly as it fails Redis's (rdb_last_bgsave_status:err, -MISCONF, an AOF rewrite
// failure and its retry), and a stopped writer does not stop the server. `cat` rather
// than a node child: it starts in about a millisecond and costs no heap; the pipe and the
// page cache are the only buffers.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync } from "node:fs";
import { constants } from "node:os";

/** How a child ended: a clean exit (code 0), an exit code, or a signal's number. */
export interface ChildExit { code: number | null; signal: number | null }

/** Redis whitelists SIGUSR1: a child killed with it ends the job without an error state. */
export const SIGUSR1 = constants.signals.SIGUSR1;

const live = new Set<ChildWriter>();
let exitHookInstalled = false;

/** One child writing one temp file. */
export class ChildWriter {
  readonly pid: number;
  /** Resolves when the child has exited (never rejects). */
  readonly exited: Promise<ChildExit>;
  /** Set once the child has exited. */
  exit: ChildExit | null = null;
  private readonly child: ChildProcess;
  private fd: number;
  private ended = false;

  /**
   * Opens (truncates) tmpPath and starts the child writing to it; throws when either fails.
   * With `nameByChild`, the file is then renamed after the child's pid, as Redis's fork child
   * names its temp file temp-<its pid>.rdb (the open descriptor follows the rename).
   */
  constructor(public tmpPath: string, nameByChild?: (pid: number) => string) {
    this.fd = openSync(tmpPath, "w");
    let child: ChildProcess;
    try {
      child = spawn("cat", [], { stdio: ["pipe", this.fd, "ignore"] });
    } catch (e) {
      this.discard();
      throw e;
    }
    this.child = child;
    this.exited = new Promise<ChildExit>((resolveExit) => {
      const done = (x: ChildExit) => {
        if (this.exit) return;
        this.exit = x;
        live.delete(this);
        resolveExit(x);
      };
      child.on("exit", (code, signal) => done({ code, signal: signal ? constants.signals[signal] : null }));
      // spawn failed (no `cat`): reported as an exit with an error code, like a failed fork.
      child.on("error", () => done({ code: 127, signal: null }));
    });
    // EPIPE once the child is gone: the exit handler reports the failure.
    child.stdin!.on("error", () => {});
    this.pid = child.pid ?? -1;
    if (nameByChild && this.pid > 0) {
      const named = nameByChild(this.pid);
      try { renameSync(tmpPath, named); this.tmpPath = named; } catch { /* keep the first name */ }
    }
    live.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      // Shutdown while a job runs: Redis kills the child and removes its temp file.
      process.on("exit", () => { for (const w of live) w.kill(); });
    }
  }

  /** Streams one chunk; resolves once the pipe can take more (backpressure). */
  write(chunk: Uint8Array): Promise<void> {
    if (this.exit || this.ended) return Promise.reject(new Error("the background writer is gone"));
    const stdin = this.child.stdin!;
    if (stdin.write(chunk)) return Promise.resolve();
    return new Promise((res, rej) => {
      const onDrain = () => { void this.exited.then(off); res(); };
      const off = () => { stdin.off("drain", onDrain); };
      stdin.once("drain", onDrain);
      void this.exited.then(() => { off(); rej(new Error("the background writer is gone")); });
    });
  }

  /**
   * Ends the stream and waits for the child: on a clean exit the file is fsynced and
   * closed and true is returned; otherwise the temp file is removed and false returned.
   */
  async finish(): Promise<boolean> {
    this.ended = true;
    this.child.stdin!.end();
    const x = await this.exited;
    if (x.code !== 0 || x.signal !== null) { this.discard(); return false; }
    try {
      fsyncSync(this.fd);
    } catch {
      this.discard();
      return false;
    }
    closeSync(this.fd);
    this.fd = -1;
    return true;
  }

  /** Stops the child (SIGUSR1 unless told) and removes the temp file. */
  kill(signal: NodeJS.Signals = "SIGUSR1"): void {
    this.ended = true;
    if (!this.exit) { try { this.child.kill(signal); } catch { /* already gone */ } }
    this.discard();
  }

  /** Closes and removes the temp file (a failed or abandoned job leaves nothing behind). */
  discard(): void {
    if (this.fd >= 0) { try { closeSync(this.fd); } catch { /* closed */ } this.fd = -1; }
    try { unlinkSync(this.tmpPath); } catch { /* gone */ }
  }
}
