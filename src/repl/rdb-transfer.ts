// One full resync's RDB on its way to the replicas that share it (Redis's
// startBgsaveForReplication with an RDB child of target socket or disk).
//
// The image comes from persistence's non-blocking copy-on-write snapshot
// (Persistence.snapshotForReplica: the dataset at the instant of the call, encoded in slices
// between event-loop turns, paced by rdb-key-save-delay, holding the background-job slot so
// INFO shows rdb_bgsave_in_progress:1 and BGSAVE waits). Its bytes pass through a child
// process, `cat`, on their way to the sockets, as Redis's diskless child writes the RDB into
// a pipe the parent reads (rdbPipeReadHandler). What that buys is Redis's process model,
// which operators and Redis's tests rely on: the "rdb child" shows under the server's pid
// (`pgrep -P`), `kill -9` of it fails the transfer (the replicas are dropped and reconnect),
// and killing the server ends the child (its stdin closes).
//
// Socket target (replicas that said REPLCONF capa eof, with repl-diskless-sync): the payload
// goes out as it is produced, framed "$EOF:<40 chars>\r\n" ... "<the same 40 chars>"; a slow
// replica pauses the pipe (and with it the snapshot). Disk target: the payload is gathered,
// then sent as "$<len>\r\n" followed by the bytes, so replicas arriving while it is gathered
// can share it (Redis attaches them to the running disk BGSAVE).
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants } from "node:os";
import { log } from "../server/log.js";

/** One replica's part in a transfer. */
export interface TransferMember {
  readonly id: number;
  /** Writes to the replica's socket; false when its buffer is full (wait for drain). */
  write(b: Buffer): boolean;
  /** Its socket's 'drain', once. */
  onceDrain(fn: () => void): void;
  /** How many bytes its socket has not sent yet. */
  readonly unsent: number;
  readonly closed: boolean;
}

/** Pause the pipe while any socket holds more than this unsent. */
const SOCKET_HIGH_WATER = 1024 * 1024;

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** How the child ended: a clean exit, the number of the signal that killed it, or neither. */
export interface PipeExit { clean: boolean; signal: number }

/**
 * The child the RDB passes through. Its stdin takes the snapshot's chunks (resolving once it
 * can take more); its stdout feeds `onData`.
 */
export class RdbPipe {
  readonly pid: number;
  /** Resolves when the child exits (Redis's checkChildrenDone reaping it). */
  readonly exited: Promise<PipeExit>;
  exitedClean: boolean | null = null;
  /** Resolves when the child's stdout has ended (all its output read). */
  readonly drained: Promise<void>;
  private readonly child: ChildProcess;

  constructor(onData: (chunk: Buffer) => void) {
    const child = spawn("cat", [], { stdio: ["pipe", "pipe", "ignore"] });
    this.child = child;
    this.pid = child.pid ?? -1;
    live.add(child);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on("exit", () => { for (const c of live) { try { c.kill("SIGKILL"); } catch { /* gone */ } } });
    }
    this.exited = new Promise<PipeExit>((resolve) => {
      const done = (clean: boolean, signal: number) => {
        if (this.exitedClean !== null) return;
        this.exitedClean = clean;
        live.delete(child);
        resolve({ clean, signal });
      };
      child.on("exit", (code, signal) => done(code === 0 && signal === null, signal ? constants.signals[signal] ?? 0 : 0));
      child.on("error", () => done(false, 0));
    });
    child.stdin!.on("error", () => { /* EPIPE once the child is gone: the exit reports it */ });
    child.stdout!.on("data", onData);
    this.drained = new Promise<void>((resolve) => {
      child.stdout!.on("end", resolve);
      child.stdout!.on("close", resolve);
      child.stdout!.on("error", () => resolve());
    });
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.exitedClean !== null) return Promise.reject(new Error("the rdb child is gone"));
    const stdin = this.child.stdin!;
    if (stdin.write(chunk)) return Promise.resolve();
    return new Promise((res, rej) => {
      const onDrain = () => { res(); };
      stdin.once("drain", onDrain);
      void this.exited.then(() => { stdin.off("drain", onDrain); rej(new Error("the rdb child is gone")); });
    });
  }

  /** No more input: the child exits once it has written everything out. */
  end(): void { this.child.stdin!.end(); }

  pause(): void { this.child.stdout!.pause(); }
  resume(): void { this.child.stdout!.resume(); }

  /** SIGUSR1, as Redis's killRDBChild: the exit then reads "terminated by signal 10". */
  kill(): void {
    if (this.exitedClean !== null) return;
    try { this.child.kill("SIGUSR1"); } catch { /* gone */ }
  }
}

/** A snapshot job from Persistence.snapshotForReplica. */
export interface SnapshotJob { done: Promise<number>; abort(): void }

export type TransferResult = "ok" | "failed";

/**
 * One transfer: the pipe, the snapshot job writing into it, and the replicas it goes to.
 * `finished` resolves once every member has its payload (or the transfer failed).
 */
export class RdbTransfer {
  readonly members = new Set<TransferMember>();
  /** Socket target: each member's 40-char end mark is the same for all of them. */
  readonly mark = randomBytes(20).toString("hex");
  /** Disk target: the payload gathered so far. */
  private gathered: Buffer[] = [];
  gatheredBytes = 0;
  /** Bytes of payload produced so far (socket target: sent to every member). */
  produced = 0;
  private paused = false;
  readonly pipe: RdbPipe;
  private job: SnapshotJob | null = null;
  readonly finished: Promise<TransferResult>;
  private resolveFinished!: (r: TransferResult) => void;
  /** Set once the payload is complete (disk target: ready to send). */
  payload: Buffer | null = null;
  /** Disk target: writes the complete payload to dump.rdb, before the child's end is logged. */
  saveFile: ((payload: Buffer) => Promise<void>) | null = null;
  /** Set when the snapshot was stopped (or the transfer completed): no new members. */
  private over = false;
  private completed = false;
  /** Whether a snapshot feeds the pipe (a transfer that never started ends silently). */
  private started = false;
  /** Whether the pipe is still read (Redis's read handler on rdb_pipe_read). */
  private reading = true;

  /** `req`: the REPLCONF rdb-filter-only bits its image was made with (0: whole). */
  constructor(readonly socketTarget: boolean, readonly startOffset: number, readonly req = 0) {
    this.finished = new Promise((r) => { this.resolveFinished = r; });
    this.pipe = new RdbPipe((chunk) => this.onPipeData(chunk));
    void this.pipe.drained.then(() => this.pipeEof());
    void this.pipe.exited.then((how) => this.childExited(how));
  }

  /** Starts the snapshot into the pipe; false when the background slot is taken. */
  start(snapshot: (write: (chunk: Uint8Array) => Promise<void>) => SnapshotJob | null): boolean {
    const job = snapshot((chunk) => this.pipe.write(chunk));
    if (!job) { this.reading = false; this.pipe.kill(); this.over = true; return false; }
    this.job = job;
    this.started = true;
    // The whole image is in the pipe: the child exits once it has passed it on (a clean exit).
    void job.done.then((keys) => { if (keys < 0) this.fail(); else this.pipe.end(); });
    return true;
  }

  /** A member joins: with the socket target only before the first byte went out. */
  add(m: TransferMember): void {
    this.members.add(m);
    if (this.socketTarget) m.write(Buffer.from(`$EOF:${this.mark}\r\n`));
  }

  /** A member left (its connection closed). The last one leaving ends a socket transfer. */
  remove(m: TransferMember): void {
    if (!this.members.delete(m) || this.over) return;
    if (this.members.size === 0 && this.socketTarget) {
      log("warning", "Diskless rdb transfer, last replica dropped, killing fork child.");
      this.reading = false; // Redis stops reading the pipe then: no "done reading" line follows
      this.abort();
    } else if (this.paused) {
      this.maybeResume();
    }
  }

  /** Stops the snapshot and the child (the replicas are dropped once the child has exited). */
  abort(): void {
    this.fail();
  }

  /**
   * The child's stdout reached its end (Redis's rdbPipeReadHandler reading EOF): after the
   * whole payload, or early when the child died. Redis logs it either way while it still
   * reads the pipe.
   */
  private pipeEof(): void {
    if (!this.socketTarget || !this.reading) return;
    this.reading = false;
    let up = 0;
    for (const m of this.members) if (!m.closed) up++;
    log("warning", `Diskless rdb transfer, done reading from pipe, ${up} replicas still up.`);
  }

  /**
   * The child exited: the transfer's outcome, logged in Redis's words
   * (backgroundSaveDoneHandlerSocket, or ...Disk for a disk-target sync, which is a BGSAVE):
   * "terminated by signal 9" after a kill -9, "... 10" after our own kill (SIGUSR1, as
   * killRDBChild sends). The replicas learn it after that line (updateSlavesWaitingBgsave).
   */
  private async childExited(how: PipeExit): Promise<void> {
    // The pipe's last bytes and its EOF are read first, as Redis's event loop reads the pipe
    // before its cron reaps the child; not while paused (Redis is not reading the pipe then).
    if (how.clean || !this.paused) await this.pipe.drained;
    if (!this.started) { this.resolveFinished("failed"); return; }
    if (how.clean && !this.over && this.saveFile && !this.socketTarget) {
      // A disk-target sync is Redis's BGSAVE, whose child writes dump.rdb ("DB saved on disk")
      // before it exits: the file is there before the parent logs the end.
      this.complete();
      await this.saveFile(this.payload!);
    }
    const what = this.socketTarget ? "transfer" : "saving";
    if (how.clean) log("notice", this.socketTarget ? "Background RDB transfer terminated with success" : "Background saving terminated with success");
    else if (how.signal) log("warning", `Background ${what} terminated by signal ${how.signal}`);
    else log("warning", `Background ${what} error`);
    if (how.clean && !this.over) this.complete();
    else this.fail();
    this.resolveFinished(how.clean && this.completed ? "ok" : "failed");
  }

  private onPipeData(chunk: Buffer): void {
    this.produced += chunk.length;
    if (!this.socketTarget) {
      this.gathered.push(chunk);
      this.gatheredBytes += chunk.length;
      return;
    }
    let full = false;
    for (const m of this.members) {
      if (m.closed) continue;
      m.write(chunk);
      if (m.unsent > SOCKET_HIGH_WATER) full = true;
    }
    if (full && !this.paused) {
      // A replica that does not read holds the pipe, and the snapshot behind it (as Redis's
      // parent stops reading the child's pipe until every replica's socket is writable).
      this.paused = true;
      this.pipe.pause();
      for (const m of this.members) if (m.unsent > SOCKET_HIGH_WATER) m.onceDrain(() => this.maybeResume());
    }
  }

  private maybeResume(): void {
    if (!this.paused) return;
    for (const m of this.members) {
      if (!m.closed && m.unsent > SOCKET_HIGH_WATER) { m.onceDrain(() => this.maybeResume()); return; }
    }
    this.paused = false;
    this.pipe.resume();
  }

  private complete(): void {
    this.over = true;
    this.completed = true;
    if (this.socketTarget) {
      // Every byte went into the replicas' sockets; the end mark closes each payload.
      const end = Buffer.from(this.mark);
      for (const m of this.members) if (!m.closed) m.write(end);
    } else {
      this.payload = Buffer.concat(this.gathered);
      this.gathered = [];
    }
  }

  /** Stops the snapshot and the child; `finished` says "failed" once the child has exited. */
  private fail(): void {
    if (this.over) return;
    this.over = true;
    this.job?.abort();
    this.pipe.kill();
    this.gathered = [];
  }

  get running(): boolean { return !this.over; }
}
