// Blocking commands (Redis's blocked.c): clients waiting for a key to get elements.
//
// A blocking command (BLPOP, BLMOVE, BLMPOP..., and the zset family's BZPOPMIN...) that
// finds nothing calls block() with a BlockedRequest: the keys it waits on, the type that
// can serve it, a deadline, and a serve() callback that does the pop and writes the reply.
//   waiting: "db:key" -> requests, oldest first (FIFO fairness, as Redis's per-key list)
//   ready:   keys that may now serve someone: signalled by host writes (LPUSH, LMOVE's
//            destination, ZADD, and any key HostKeyspace.add creates, as Redis's dbAdd),
//            and, for the kernel's own commands that can move a value into place (RENAME,
//            COPY, MOVE, SWAPDB, RESTORE), every waited-on key after a batch that ran one.
// Ready keys are served after the command that readied them, never in the middle of one:
// the client input loop (Client.processRange) calls afterCommand() after each kernel batch
// and each host command, so a MULTI/EXEC or a script (which run nested) serves at its end,
// as Redis's handleClientsBlockedOnKeys runs after call(). Serving a key repeats while it
// still exists with the waiter's type, taking waiters in arrival order; a served client is
// unblocked, and serving one (BLMOVE) may ready another key, served in the same loop.
//
// While blocked, a client's later input waits (Client.blocked); it runs after the client
// is served, times out, is unblocked (CLIENT UNBLOCK) or disconnects, which also forgets it.
import type { Client } from "../server/client.js";
import type { Server } from "../server/server.js";
import type { ReplyWriter } from "../server/reply-writer.js";
import type { CommandContext } from "../commands/context.js";
import { WrongTypeError } from "./value.js";

export interface BlockedRequest {
  client: Client;
  db: number;
  keys: Buffer[];
  /** The type (OBJ_LIST, OBJ_ZSET) a key must hold to serve this request. */
  type: number;
  /** Absolute deadline in server ms; 0 waits forever. */
  timeoutAt: number;
  /**
   * Serves the request from `key`, which exists with `type`: pops, writes the reply to
   * `reply`, propagates. May throw WrongTypeError (BLMOVE's destination), replied as such.
   */
  serve(key: Buffer, reply: ReplyWriter): void;
  /**
   * Stream reads (XREAD, XREADGROUP) decide for themselves: when set, it is called instead of
   * serve() whatever the key now holds (absent included) and returns whether it replied. Such
   * waiters are re-checked after every command, since what serves them (an entry past their
   * ID, a deleted key or group) can come from any write, kernel ones included.
   */
  tryServe?(key: Buffer, reply: ReplyWriter): boolean;
}

/** The clients waiting on one key, oldest first. */
interface KeyQueue { db: number; key: Buffer; waiters: Waiter[] }

interface Waiter {
  req: BlockedRequest;
  timer?: NodeJS.Timeout;
  onClose: () => void;
}

/**
 * Kernel commands that may bring a list, zset or stream under a (waited-on) key: the key
 * movers, and the list and zset commands that create one (Redis's dbAdd signals the new key).
 */
const KERNEL_KEY_MOVERS = ["rename", "renamenx", "copy", "move", "swapdb", "restore", "lpush", "rpush", "lmove", "rpoplpush", "zadd"];

/** setTimeout's limit; longer waits re-arm. */
const MAX_TIMER_MS = 0x7fffffff;

export class Blocking {
  private readonly waiting = new Map<string, KeyQueue>();
  private readonly byClient = new Map<Client, Waiter>();
  private ready: { db: number; key: Buffer }[] = [];
  private readySet = new Set<string>();
  private lastKernelMoves = -1;
  private moveIndexes?: number[];
  private serving = false;
  /** Blocked clients with a tryServe (stream reads). */
  private pollers = 0;
  /**
   * Whether a client may not block (Redis's CLIENT_DENY_BLOCKING: inside EXEC, scripts):
   * a blocking command then answers as if it timed out. EXEC and scripts set
   * Client.denyBlocking.
   */
  denied: (c: Client) => boolean = (c) => c.denyBlocking;
  /** Called when a client stops being blocked (served, timed out, unblocked): the slow log's hook. */
  onUnblocked: ((c: Client) => void) | null = null;

  constructor(private readonly server: Server) {}

  /** Blocked clients (INFO blocked_clients). */
  get count(): number { return this.byClient.size; }

  isBlocked(c: Client): boolean { return this.byClient.has(c); }

  block(req: BlockedRequest): void {
    const c = req.client;
    const w: Waiter = { req, onClose: () => this.unblock(c) };
    const seen = new Set<string>();
    for (const key of req.keys) {
      const id = keyId(req.db, key);
      if (seen.has(id)) continue; // BLPOP k k 0 waits once on k
      seen.add(id);
      let q = this.waiting.get(id);
      if (!q) this.waiting.set(id, (q = { db: req.db, key, waiters: [] }));
      q.waiters.push(w);
    }
    this.byClient.set(c, w);
    if (req.tryServe) this.pollers++;
    c.blocked = true;
    c.socket.once("close", w.onClose);
    if (req.timeoutAt > 0) this.armTimer(w);
    if (this.lastKernelMoves < 0) this.lastKernelMoves = this.kernelMoves();
  }

  /** A key got elements (or was created): blocked clients may be served after this command. */
  signalKeyAsReady(db: number, key: Uint8Array): void {
    if (this.byClient.size === 0) return;
    const id = keyId(db, key);
    const q = this.waiting.get(id);
    if (!q || this.readySet.has(id)) return;
    this.readySet.add(id);
    this.ready.push({ db, key: q.key });
  }

  /** Called between top-level commands: serves what the last command made ready. */
  afterCommand(): void {
    if (this.byClient.size === 0) return;
    const d = this.kernelMoves();
    if (d !== this.lastKernelMoves) {
      // The kernel ran RENAME, COPY, MOVE, SWAPDB...: they may have put a value under a
      // waited-on key, so check them all.
      this.lastKernelMoves = d;
      for (const q of this.waiting.values()) this.signalKeyAsReady(q.db, q.key);
    }
    if (this.pollers > 0) {
      for (const w of this.byClient.values()) {
        if (!w.req.tryServe) continue;
        for (const key of w.req.keys) this.signalKeyAsReady(w.req.db, key);
      }
    }
    if (this.ready.length) this.serveReady();
  }

  /**
   * CLIENT UNBLOCK (and disconnects): unblocks a blocked client; with `reply`, answers it as
   * a timeout ("timeout") or with the UNBLOCKED error ("error"). Returns whether it was blocked.
   */
  unblock(c: Client, reply?: "timeout" | "error"): boolean {
    const w = this.byClient.get(c);
    if (!w) return false;
    this.forget(w);
    if (reply === "timeout") c.reply.nullArray();
    else if (reply === "error") {
      c.reply.error("-UNBLOCKED client unblocked via CLIENT UNBLOCK");
      // The blocked command failed: errorstats and its failed_calls, as Redis's reply does.
      this.server.countError("UNBLOCKED", "UNBLOCKED client unblocked via CLIENT UNBLOCK");
      const spec = this.server.table.lookup(c.lastCommand);
      if (spec) spec.failedCalls++;
    }
    if (reply) c.flushAndMaybeClose();
    c.resumeInput();
    return true;
  }

  /**
   * Unblocks each blocked client `decide` gives an error for, with that error (cluster mode:
   * its key's slot moved to another node, or the cluster went down: src/cluster/blocked.ts).
   */
  unblockWithError(decide: (req: BlockedRequest) => string | null): void {
    for (const w of [...this.byClient.values()]) {
      const error = decide(w.req);
      if (error === null) continue;
      const c = w.req.client;
      this.forget(w);
      c.reply.error(error);
      const text = error.replace(/^-/, "");
      this.server.countError(text.split(" ")[0], text);
      c.flushAndMaybeClose();
      c.resumeInput();
    }
  }

  /**
   * Redis's disconnectAllBlockedClients (a master turning replica): every blocked client gets
   * the UNBLOCKED error and is closed after it, so none is served by the new master's stream.
   */
  disconnectAll(message: string): void {
    for (const w of [...this.byClient.values()]) {
      const c = w.req.client;
      this.forget(w);
      c.reply.error(message);
      this.server.countError("UNBLOCKED", message.replace(/^-/, ""));
      c.closeAfterReply = true;
      c.flushAndMaybeClose();
    }
  }

  private serveReady(): void {
    if (this.serving) return;
    this.serving = true;
    try {
      while (this.ready.length) {
        const batch = this.ready;
        this.ready = [];
        for (const { db, key } of batch) {
          const id = keyId(db, key);
          this.readySet.delete(id);
          this.serveKey(id, db, key);
        }
      }
    } finally {
      this.serving = false;
    }
  }

  /** Serves the key's waiters in arrival order while it holds a value of their type. */
  private serveKey(id: string, db: number, key: Buffer): void {
    const q = this.waiting.get(id);
    if (!q) return;
    for (const w of q.waiters.slice()) {
      if (!this.byClient.has(w.req.client)) continue;
      if (w.req.tryServe) {
        const c = w.req.client;
        if (!w.req.tryServe(key, c.reply)) continue;
        this.forget(w);
        c.flushAndMaybeClose();
        c.resumeInput();
        continue;
      }
      const type = this.server.types.typeOf(db, key);
      if (type < 0) return;
      if (type !== w.req.type) continue;
      const c = w.req.client;
      this.forget(w);
      try {
        w.req.serve(key, c.reply);
      } catch (e) {
        if (!(e instanceof WrongTypeError)) throw e;
        c.reply.error(e.message);
      }
      c.flushAndMaybeClose();
      c.resumeInput();
    }
  }

  private armTimer(w: Waiter): void {
    const delay = w.req.timeoutAt - this.server.now();
    if (delay > MAX_TIMER_MS) {
      w.timer = setTimeout(() => this.armTimer(w), MAX_TIMER_MS);
      return;
    }
    w.timer = setTimeout(() => this.unblock(w.req.client, "timeout"), Math.max(0, delay));
  }

  /** Removes a waiter from every key queue and from the blocked set. */
  private forget(w: Waiter): void {
    const { client: c, db, keys } = w.req;
    this.byClient.delete(c);
    if (w.req.tryServe) this.pollers--;
    if (w.timer) clearTimeout(w.timer);
    c.socket.off("close", w.onClose);
    c.blocked = false;
    for (const key of keys) {
      const id = keyId(db, key);
      const q = this.waiting.get(id);
      if (!q) continue;
      const i = q.waiters.indexOf(w);
      if (i >= 0) q.waiters.splice(i, 1);
      if (q.waiters.length === 0) this.waiting.delete(id);
    }
    if (this.byClient.size === 0) this.lastKernelMoves = -1;
    this.onUnblocked?.(c);
  }

  /**
   * Calls so far of the kernel commands that can put a list/zset under a key without the
   * host (RENAME, RENAMENX, COPY, MOVE, SWAPDB, RESTORE): a few counters, so a busy server
   * with blocked clients does not re-check every waited-on key after each batch of SETs.
   */
  private kernelMoves(): number {
    this.moveIndexes ??= KERNEL_KEY_MOVERS.map((n) => this.server.table.find(n)?.kernelIndex ?? -1).filter((i) => i >= 0);
    let calls = 0;
    for (const s of this.server.shards) for (const i of this.moveIndexes) calls += s.kernel.x.commandCalls(i);
    return calls;
  }

}

function keyId(db: number, key: Uint8Array): string {
  const b = Buffer.isBuffer(key) ? key : Buffer.from(key.buffer, key.byteOffset, key.length);
  return db + ":" + b.toString("latin1");
}

/**
 * getTimeoutFromObjectOrReply(UNIT_SECONDS): seconds as Redis's string2ld reads them
 * (decimals, exponents, hex, inf), rounded up to ms. Returns the absolute deadline in server
 * ms, 0 for "forever", or null after replying the error.
 */
export function parseTimeoutOrReply(ctx: CommandContext, i: number): number | null {
  const secs = parseLongDouble(ctx.argv[i].toString("latin1"));
  if (secs === null) {
    ctx.reply.error("timeout is not a float or out of range");
    return null;
  }
  const ms = Math.ceil(secs * 1000);
  // C's (long long) of a value out of range is LLONG_MIN on x86: "negative" too.
  if (!(ms < 2 ** 63) || ms < 0) {
    ctx.reply.error("timeout is negative");
    return null;
  }
  return ms > 0 ? ms + ctx.server.now() : 0;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const HEX = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)(?:[pP]([+-]?\d+))?$/;
const INF = /^[+-]?inf(inity)?$/i;

/** strtold over the whole string, as string2ld accepts it (no spaces, no NaN), else null. */
export function parseLongDouble(s: string): number | null {
  if (DECIMAL.test(s)) return Number(s);
  if (INF.test(s)) return s[0] === "-" ? -Infinity : Infinity;
  const h = HEX.exec(s);
  if (h && (h[2] || h[3])) {
    let v = h[2] ? parseInt(h[2], 16) : 0;
    for (let k = 0; k < h[3].length; k++) v += parseInt(h[3][k], 16) / 16 ** (k + 1);
    if (h[4]) v *= 2 ** Number(h[4]);
    return h[1] === "-" ? -v : v;
  }
  return null;
}
