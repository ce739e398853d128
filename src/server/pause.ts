// CLIENT PAUSE / UNPAUSE (Redis 7.0's pauseClients, networking.c and processCommand).
//
// While a pause is in effect every client's kernel hands every command back (the
// useQueueing condition in Client.processRange), so Server.dispatch sees each one. Under
// PAUSE ALL every command of a non-replica client is postponed; under PAUSE WRITE only
// those that may replicate: write or may_replicate commands (PUBLISH, PFCOUNT), EXEC of a
// transaction holding one, and EVAL/EVALSHA/FCALL of a script that may write (a shebang
// script's flags decide, as Redis's evalGetCommandFlags: `no-writes` is not paused; a
// script without a shebang keeps EVAL's may_replicate flag). The check runs before MULTI
// queues a command, as in Redis, so a write sent inside MULTI is postponed too; commands
// with syntax (arity) errors are answered at once.
//
// A postponed client is blocked (Client.blocked, CLIENT LIST flag b, INFO blocked_clients)
// with its command kept; its later input waits. When the pause ends (UNPAUSE, its timeout,
// or a less restrictive type), the postponed commands are run again from the start, in the
// order they were postponed, and may be postponed again.
//
// While paused the dataset stays constant: the active expire cycle does not run and reads
// leave keys past their TTL in place (the kernel's expiryPaused), as Redis's expireIfNeeded
// and activeExpireCycle check checkClientPauseTimeoutAndReturnIfPaused. Eviction should
// check `Server.pause.type` too (performEvictions does in Redis).
import type { Client } from "./client.js";
import type { Server } from "./server.js";
import type { CommandSpec } from "../commands/table.js";
import { clientInfoProviders } from "../commands/client-cmd.js";
import { scriptingOf } from "../commands/scripting.js";
import { parseShebang, sha1hex } from "../scripting/engine.js";
import { mayReplicate } from "../commands/may-replicate.js";

export const PAUSE_OFF = 0;
export const PAUSE_WRITE = 1;
export const PAUSE_ALL = 2;

interface Postponed { client: Client; argv: Buffer[]; onClose: () => void }

/** setTimeout's limit; longer pauses re-arm. */
const MAX_TIMER_MS = 0x7fffffff;

/**
 * Who asked for a pause (Redis's pause_purpose): each keeps its own type and end, and the
 * pause in effect is the most restrictive of them, so CLIENT UNPAUSE does not lift the
 * write pause a FAILOVER holds (nor the other way round).
 */
export type PausePurpose = "client" | "failover" | "shutdown";

export class ClientPause {
  /** The pause in effect: PAUSE_OFF, PAUSE_WRITE or PAUSE_ALL (Redis's client_pause_type). */
  type = PAUSE_OFF;
  /** When it ends (server ms; Redis's client_pause_end_time). */
  endAt = 0;
  /** Each purpose's pause (Redis's client_pause_per_purpose). */
  private readonly purposes = new Map<PausePurpose, { type: number; endAt: number }>();
  private postponed: Postponed[] = [];
  private timer?: NodeJS.Timeout;
  /** Called once when the pause becomes less restrictive (a replica's held master stream). */
  private resumeWaiters: (() => void)[] = [];

  constructor(private readonly server: Server) {}

  /** Clients waiting for the pause to end (part of INFO blocked_clients). */
  get postponedCount(): number { return this.postponed.length; }

  /**
   * Pauses until `endAt` for one purpose (CLIENT PAUSE by default): a pause of that purpose
   * already in effect keeps the later end and the more restrictive type, as Redis's
   * pauseClients. An end in the past (timeout 0) pauses nothing.
   */
  pause(endAt: number, type: number, purpose: PausePurpose = "client"): void {
    const p = this.purposes.get(purpose);
    if (p) { p.type = Math.max(p.type, type); p.endAt = Math.max(p.endAt, endAt); }
    else this.purposes.set(purpose, { type, endAt });
    this.update();
  }

  /** CLIENT UNPAUSE (or the end of a FAILOVER's pause): lifts that purpose's pause only. */
  unpause(purpose: PausePurpose = "client"): void {
    if (!this.purposes.delete(purpose)) return;
    this.update();
  }

  /** Redis's updateClientPauseTypeAndEndTime: the most restrictive live purpose, its furthest end. */
  private update(): void {
    const now = this.server.now();
    let type = PAUSE_OFF;
    for (const [k, p] of this.purposes) {
      if (p.endAt < now) this.purposes.delete(k);
      else if (p.type > type) type = p.type;
    }
    let end = 0;
    for (const p of this.purposes.values()) if (p.type === type && p.endAt > end) end = p.endAt;
    this.set(type, end);
  }

  private set(type: number, endAt: number): void {
    const old = this.type;
    this.type = type;
    this.endAt = endAt;
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.purposes.size > 0) this.armTimer();
    if ((old === PAUSE_OFF) !== (type === PAUSE_OFF)) {
      for (const s of this.server.shards) s.kernel.x.setExpiryPaused(type === PAUSE_OFF ? 0 : 1);
    }
    // Less restrictive than before: the postponed clients are run again (they may be
    // postponed again), as Redis's unblockPostponedClients.
    if (type < old && this.postponed.length > 0) setImmediate(() => this.resumePostponed());
    if (type < old && this.resumeWaiters.length > 0) {
      const waiters = this.resumeWaiters.splice(0);
      setImmediate(() => { for (const f of waiters) f(); });
    }
  }

  /**
   * A replica's master link: whether the pause holds this command of the master's stream
   * (Redis pauses its master client too, so a paused replica's offset does not grow). When
   * it does, `resume` is called once the pause lifts.
   */
  holdsMasterCommand(argv: Buffer[], resume: () => void): boolean {
    if (this.type === PAUSE_OFF) return false;
    if (this.type === PAUSE_WRITE) {
      const found = this.server.resolveCommand(argv);
      const spec = found.spec;
      if (found.error !== undefined || !spec || !(spec.flags.has("write") || mayReplicate(spec))) return false;
    }
    if (!this.resumeWaiters.includes(resume)) this.resumeWaiters.push(resume);
    return true;
  }

  /** Wakes when the earliest purpose's pause ends, to recompute the pause in effect. */
  private armTimer(): void {
    let first = Infinity;
    for (const p of this.purposes.values()) first = Math.min(first, p.endAt);
    const delay = first - this.server.now();
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, delay + 1));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.update();
    }, wait);
    this.timer.unref();
  }

  /**
   * Server.dispatch's check, after the command's arity is known good and before MULTI queues
   * it: postpones the command when the pause in effect covers it. Whether it did.
   */
  postpones(client: Client, argv: Buffer[]): boolean {
    if (this.type === PAUSE_OFF) return false;
    if (clientInfoProviders.type(client) === "slave" || clientInfoProviders.type(client) === "replica") return false;
    const found = this.server.resolveCommand(argv);
    if (found.error !== undefined) return false; // answered at once (unknown command, arity)
    if (this.type === PAUSE_WRITE && !this.mayReplicate(client, found.spec!, argv)) return false;
    const p: Postponed = { client, argv, onClose: () => this.forget(p) };
    this.postponed.push(p);
    client.blocked = true;
    client.socket.once("close", p.onClose);
    return true;
  }

  private forget(p: Postponed): void {
    const i = this.postponed.indexOf(p);
    if (i >= 0) this.postponed.splice(i, 1);
    p.client.socket.off("close", p.onClose);
  }

  /** Runs the postponed commands again, in the order they were postponed. */
  private resumePostponed(): void {
    const list = this.postponed;
    this.postponed = [];
    for (const p of list) {
      const c = p.client;
      c.socket.off("close", p.onClose);
      if (c.closed) continue;
      c.blocked = false;
      this.server.dispatch(c, p.argv);
      c.flushAndMaybeClose();
      this.server.blocking.afterCommand();
      if (!c.blocked) c.resumeInput();
    }
  }

  /**
   * Redis's is_may_replicate_command: the command (with a script's declared flags for
   * EVAL/FCALL, with the queued commands for EXEC) is a write or may replicate.
   */
  private mayReplicate(client: Client, spec: CommandSpec, argv: Buffer[]): boolean {
    if (spec.name === "exec") {
      if (client.multi === null) return false;
      return client.multi.some((queued) => {
        const f = this.server.resolveCommand(queued);
        return f.spec !== undefined && f.error === undefined && this.mayReplicate(client, f.spec, queued);
      });
    }
    const flags = scriptAwareFlags(this.server, spec, argv);
    return flags.write || flags.mayReplicate;
  }
}

/** The command flags processCommand looks at, as getCommandFlags gives them. */
export interface ScriptAwareFlags { write: boolean; mayReplicate: boolean; denyoom: boolean; stale: boolean }

/**
 * A command's write / may_replicate / denyoom / stale flags, for EVAL* and FCALL* from the
 * script's declared flags when it has any (Redis's getCommandFlags with
 * evalGetCommandFlags/fcallGetCommandFlags and scriptFlagsToCmdFlags: declared flags replace
 * the command's own write, denyoom and stale; no-writes implies allow-oom).
 */
export function scriptAwareFlags(server: Server, spec: CommandSpec, argv: Buffer[]): ScriptAwareFlags {
  const own = { write: spec.flags.has("write"), mayReplicate: mayReplicate(spec), denyoom: spec.flags.has("denyoom"), stale: spec.flags.has("stale") };
  let declared: { noWrites: boolean; allowOom: boolean; allowStale: boolean; compat?: boolean } | undefined;
  switch (spec.name) {
    case "eval": case "eval_ro": case "evalsha": case "evalsha_ro": {
      const evalsha = spec.name.startsWith("evalsha");
      if (evalsha && argv[1].length !== 40) return own;
      const sha = evalsha ? argv[1].toString("latin1").toLowerCase() : sha1hex(argv[1]);
      const cached = scriptingOf(server).engine.scripts.get(sha);
      if (cached) declared = cached.flags;
      else if (!evalsha) {
        const parsed = parseShebang(argv[1]);
        if ("error" in parsed) return own;
        declared = parsed.flags;
      }
      break;
    }
    case "fcall": case "fcall_ro":
      declared = scriptingOf(server).functions.functions.get(argv[1].toString("latin1").toLowerCase())?.fn.flags;
      break;
    default:
      return own;
  }
  if (!declared || declared.compat) return own;
  return {
    write: !declared.noWrites, mayReplicate: false,
    denyoom: !(declared.allowOom || declared.noWrites), stale: declared.allowStale,
  };
}
