// Redis 7.0's shutdown sequence (server.c prepareForShutdown / isReadyToShutdown /
// finishShutdown / abortShutdown, db.c shutdownCommand, the SIGTERM/SIGINT handler).
//
// A shutdown first lets lagging replicas catch up: unless NOW is given (or shutdown-timeout
// is 0), a master with a replica whose acknowledged offset is behind its own pauses writes,
// asks every replica for an ACK and waits, up to shutdown-timeout seconds, checking from
// serverCron. The SHUTDOWN caller stays blocked meanwhile; SHUTDOWN ABORT (or a failed final
// save) cancels it and every blocked caller gets "Errors trying to SHUTDOWN. Check logs.".
// Signals only set a flag, which the next serverCron turns into a shutdown with the flags of
// shutdown-on-sigterm / shutdown-on-sigint (so DEBUG PAUSE-CRON holds a signalled shutdown,
// and SHUTDOWN ABORT can still cancel it, as in Redis). A second SIGINT exits at once.
import type { Server } from "./server.js";
import type { Client } from "./client.js";
import { log } from "./log.js";
import { replicationOf } from "../repl/replication.js";
import { persistenceOf } from "../persistence/persistence.js";
import { PAUSE_OFF, PAUSE_WRITE, PAUSE_ALL } from "./pause.js";

export const SHUTDOWN_SAVE = 1;
export const SHUTDOWN_NOSAVE = 2;
export const SHUTDOWN_NOW = 4;
export const SHUTDOWN_FORCE = 8;

const FLAG_WORDS: Record<string, number> = { save: SHUTDOWN_SAVE, nosave: SHUTDOWN_NOSAVE, now: SHUTDOWN_NOW, force: SHUTDOWN_FORCE };

export const SHUTDOWN_ERR = "Errors trying to SHUTDOWN. Check logs.";

/** shutdown-on-sigterm / shutdown-on-sigint ("default", or words such as "nosave now"). */
export function parseShutdownFlags(words: string): number {
  let flags = 0;
  for (const w of words.toLowerCase().split(/\s+/)) flags |= FLAG_WORDS[w] ?? 0;
  return flags;
}

export class Shutdown {
  /** A signal asked for a shutdown that serverCron has not started yet (server.shutdown_asap). */
  private asap = false;
  private lastSignal: NodeJS.Signals | null = null;
  /** finish() refused because the initial AOF is being written (cron keeps a signal for later). */
  private refusedForInitialAof = false;
  /** A signal refused for the initial AOF, acted on once the rewrite is done (cron). */
  private signalAfterInitialAof: NodeJS.Signals | null = null;
  private flags = 0;
  /** When the wait for lagging replicas ends (server.shutdown_mstime); 0: no shutdown initiated. */
  private deadline = 0;
  /** Clients blocked in SHUTDOWN (BLOCKED_SHUTDOWN). */
  private readonly blocked = new Set<Client>();
  /** Set once the process is on its way out (the listeners close asynchronously). */
  private exiting = false;
  /** The final save is waiting out rdb-key-save-delay (Persistence.finalSave's slow path). */
  private finalSaving = false;

  constructor(private readonly server: Server) {}

  get initiated(): boolean { return this.deadline !== 0; }
  get blockedCount(): number { return this.blocked.size; }

  /** INFO server's shutdown_in_milliseconds, while a shutdown waits for replicas. */
  infoFields(now: number): [string, number][] {
    return this.initiated ? [["shutdown_in_milliseconds", this.deadline - now]] : [];
  }

  /** SIGTERM / SIGINT (Redis's sigShutdownHandler): only flags the request for serverCron. */
  signal(sig: NodeJS.Signals): void {
    if (this.asap && sig === "SIGINT") {
      // Ctrl+C twice: the user wants out now, without saving or waiting for replicas.
      log("warning", "You insist... exiting now.");
      persistenceOf(this.server).removeTempFile();
      process.exit(1); // (child-writer's exit hook kills a saving child and removes its temp file)
    }
    let msg = sig === "SIGINT" ? "Received SIGINT scheduling shutdown..." : "Received SIGTERM scheduling shutdown...";
    if (persistenceOf(this.server).loading) msg = "Received shutdown signal during loading, scheduling shutdown.";
    log("warning", msg);
    this.asap = true;
    this.lastSignal = sig;
  }

  /** From serverCron: starts a signalled shutdown, or ends the wait for replicas. */
  cron(now: number): void {
    if (this.exiting || this.finalSaving) return;
    if (this.signalAfterInitialAof !== null) {
      // A signal refused while the initial AOF was being written: again once it is.
      if (persistenceOf(this.server).aof.rewriteInProgress) return;
      this.asap = true;
      this.lastSignal = this.signalAfterInitialAof;
      this.signalAfterInitialAof = null;
    }
    if (this.asap && !this.initiated) {
      const sig = this.lastSignal;
      const cfg = sig === "SIGINT" ? "shutdown-on-sigint" : "shutdown-on-sigterm";
      this.refusedForInitialAof = false;
      if (this.prepare(parseShutdownFlags(this.server.config.getString(cfg)))) this.exit();
      else if (!this.initiated && !this.finalSaving) {
        // The save failed: Redis keeps running and forgets the signal (cancelShutdown). Not
        // when only the initial AOF was in the way: Redis forgets that signal too, but its
        // initial rewrite takes milliseconds and ours (a child process) long enough that a
        // supervisor's SIGTERM right after a replica's sync lands in it, and the supervisor
        // waits for an exit that never comes (Redis's cluster tests kill such a node after
        // 10 s). The shutdown goes on once the AOF is written.
        this.asap = false;
        this.lastSignal = null;
        if (this.refusedForInitialAof) this.signalAfterInitialAof = sig;
      }
    } else if (this.initiated && (now >= this.deadline || this.readyToShutdown())) {
      if (this.finish()) this.exit();
    }
  }

  /**
   * SHUTDOWN (not ABORT): blocks the caller and starts the sequence. Returns an error for the
   * caller, or null (blocked, or the process is exiting).
   */
  command(client: Client, flags: number): string | null {
    if (!(flags & SHUTDOWN_NOW) && client.denyBlocking) {
      return "SHUTDOWN without NOW or ABORT isn't allowed for DENY BLOCKING client";
    }
    this.blocked.add(client);
    client.blocked = true;
    if (this.prepare(flags)) this.exit();
    return null;
  }

  /** A blocked SHUTDOWN caller went away. */
  forget(client: Client): void { this.blocked.delete(client); }

  /** SHUTDOWN ABORT (abortShutdown): false when no shutdown is in progress. */
  abort(): boolean {
    if (this.initiated) this.cancel();
    else if (this.asap || this.signalAfterInitialAof !== null) { this.asap = false; this.signalAfterInitialAof = null; }
    else return false;
    log("notice", "Shutdown manually aborted.");
    return true;
  }

  /** prepareForShutdown: true when the process may exit now. */
  private prepare(flags: number): boolean {
    if (this.initiated) return false;
    // A half-loaded dataset must not overwrite the file on disk.
    if (persistenceOf(this.server).loading) flags = (flags & ~SHUTDOWN_SAVE) | SHUTDOWN_NOSAVE;
    this.flags = flags;
    log("warning", "User requested shutdown...");
    if (!(flags & SHUTDOWN_NOW) && this.server.config.getNumber("shutdown-timeout") !== 0 && !this.readyToShutdown()) {
      this.deadline = this.server.now() + this.server.config.getNumber("shutdown-timeout") * 1000;
      const repl = replicationOf(this.server);
      if (this.server.pause.type === PAUSE_OFF) repl.feed(["REPLCONF", "GETACK", "*"], -1);
      this.server.pause.pause(Number.MAX_SAFE_INTEGER, PAUSE_WRITE, "shutdown");
      log("notice", "Waiting for replicas before shutting down.");
      return false;
    }
    return this.finish();
  }

  /** isReadyToShutdown: every replica acknowledged the whole stream. */
  private readyToShutdown(): boolean {
    const repl = replicationOf(this.server);
    for (const r of repl.replicas.values()) if (r.ackOffset !== repl.offset) return false;
    return true;
  }

  /** cancelShutdown: the blocked callers get the error, writes resume. */
  private cancel(): void {
    this.asap = false;
    this.flags = 0;
    this.deadline = 0;
    this.lastSignal = null;
    for (const c of this.blocked) {
      c.blocked = false;
      c.reply.error(SHUTDOWN_ERR);
      this.server.countError("ERR", SHUTDOWN_ERR);
      c.flushAndMaybeClose();
      c.resumeInput();
    }
    this.blocked.clear();
    this.server.pause.unpause("shutdown");
  }

  /** finishShutdown: true when it is safe to exit; otherwise logged and cancelled. */
  private finish(): boolean {
    const repl = replicationOf(this.server);
    let lagging = 0;
    for (const r of repl.replicas.values()) {
      if (r.ackOffset === repl.offset) continue;
      lagging++;
      const lag = r.syncState === "online" ? Math.floor((Date.now() - r.ackAt) / 1000) : 0;
      const state = r.syncState === "online" ? "online" : "wait_bgsave";
      log("warning", `Lagging replica ${r.ip}:${r.port} reported offset ${repl.offset - r.ackOffset} behind master, lag=${lag}, state=${state}.`);
    }
    if (repl.replicas.size > 0) {
      log("notice", `${repl.replicas.size - lagging} of ${repl.replicas.size} replicas are in sync when shutting down.`);
    }
    const p = persistenceOf(this.server);
    if (p.killRdbChildForShutdown()) log("warning", "There is a child saving an .rdb. Killing it!");
    const force = (this.flags & SHUTDOWN_FORCE) !== 0;
    if (p.aof.state === "wait_rewrite" && !force && p.aof.rewriteInProgress) {
      // The dataset is not in the AOF yet: exiting now would lose it.
      log("warning", "Writing initial AOF, can't exit.");
      this.refusedForInitialAof = true;
      return this.failed();
    }
    if (p.aof.rewriteInProgress) {
      if (p.aof.state === "wait_rewrite") log("warning", "Writing initial AOF. Exit anyway.");
      log("warning", "There is a child rewriting the AOF. Killing it!");
      p.aof.killChild();
    }
    const saved = p.finalSave({ save: (this.flags & SHUTDOWN_SAVE) !== 0, nosave: (this.flags & SHUTDOWN_NOSAVE) !== 0, force });
    if (saved instanceof Promise) {
      // rdb-key-save-delay: the save waits between event-loop turns so that a second SIGINT
      // can end it; no client is served meanwhile, as none is during Redis's foreground save.
      this.finalSaving = true;
      this.server.pause.pause(Number.MAX_SAFE_INTEGER, PAUSE_ALL, "shutdown");
      void saved.then((ok) => {
        this.finalSaving = false;
        if (ok) this.exit();
        else this.failed();
      });
      return false;
    }
    if (!saved) return this.failed();
    return true;
  }

  private failed(): false {
    log("warning", "Errors trying to shut down the server. Check the logs for more information.");
    this.cancel();
    return false;
  }

  /** The sequence succeeded: close everything and exit (server.close logs "bye bye"). */
  private exit(): void {
    this.exiting = true;
    // The blocked callers get no reply: their connections close as the process exits.
    for (const c of this.blocked) c.replyOff = true;
    // The replicas get this turn's stream before their sockets close (flushSlavesOutputBuffers).
    // Best effort: nothing may keep the process from exiting.
    try {
      replicationOf(this.server).flushReplicas();
    } catch (e) {
      log("warning", `Flushing the replicas' output at shutdown failed: ${(e as Error).message}`);
    }
    // Redis exits once finishShutdown is done; closing the listeners waits for connections to
    // end, so one that somehow stays open must not hold the exit (a harness that SIGTERMs us
    // and waits would kill us instead).
    const hold = setTimeout(() => {
      log("warning", "Connections still open 2 seconds into the exit: exiting anyway.");
      process.exit(0);
    }, 2000);
    hold.unref();
    void this.server.close().then(() => process.exit(0), (e) => {
      log("warning", `Closing the server at shutdown failed: ${(e as Error).message}`);
      process.exit(0);
    });
  }
}

const shutdowns = new WeakMap<Server, Shutdown>();

export function shutdownOf(server: Server): Shutdown {
  let s = shutdowns.get(server);
  if (!s) shutdowns.set(server, (s = new Shutdown(server)));
  return s;
}
