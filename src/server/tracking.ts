// Client-side caching: key tracking and invalidation (Redis 7.0's tracking.c, ported).
//
// Default mode: the keys a tracking client reads are remembered in the tracking table
// (key name -> ids of the clients that may cache it; key names only, not per db, as in
// Redis). When a key in the table changes, every client in its entry gets one invalidation
// message and the entry is dropped (the client must read the key again to be told again).
// BCAST mode: nothing is remembered; every changed key matching one of the client's
// prefixes is collected, and the collected keys go out once per event-loop turn, one
// message per prefix.
//
// Where the facts come from:
//   - keys read: a tracking client's commands are all handed back by the kernel (Client.
//     tracked), so each one passes through Server.run, where commandEnd() takes the keys of
//     a read-only command from the command table's key specs (trackingRememberKeys). A read
//     inside a script remembers the script's declared keys, as Redis does.
//   - keys changed: the effect bus (src/server/effects.ts): every write command as executed,
//     keys the kernel expired or evicted, FLUSHDB/FLUSHALL (a null invalidation: "all keys").
//   - who changed them: the client whose command is running (Server.run, between
//     commandBegin and commandEnd), for NOLOOP; a tracking client's own invalidations are
//     held until its command's reply is written (Redis's tracking_pending_keys).
//
// Messages: a RESP3 push (">2 invalidate [keys]") on the client's own connection, or, with
// REDIRECT, to the redirect client: a push if it speaks RESP3, a Pub/Sub message on
// __redis__:invalidate if it is a RESP2 client in Pub/Sub mode. A RESP2 client without
// redirection gets nothing (RESP2 has no out-of-band replies). A redirect client that went
// away is reported with a "tracking-redir-broken" push to a RESP3 tracking client.
import type { Client } from "./client.js";
import { TrackingTable } from "./tracking-table.js";
import type { Server } from "./server.js";
import type { CommandSpec } from "../commands/table.js";
import { keysFromSpecs } from "../commands/command.js";
import { EFFECT_COMMAND, EFFECT_EVICTED, type Effect, type Subscription } from "./effects.js";
import { scriptCaller } from "../commands/scripting.js";
import { clientInfoProviders } from "../commands/client-cmd.js";
import { resetHooks } from "../commands/server-cmds.js";

/** One client's tracking mode (Redis's CLIENT_TRACKING_* flags and fields). */
export interface ClientTracking {
  on: boolean;
  /** REDIRECT id (0: none). Kept while tracking is on even after the client is gone. */
  redirect: number;
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  /** CLIENT CACHING yes (OPTIN) / no (OPTOUT) given for the next command or transaction. */
  caching: boolean;
  /** The redirect client was found gone (CLIENT LIST flag R, TRACKINGINFO broken_redirect). */
  brokenRedirect: boolean;
  /** BCAST prefixes (latin1 strings of the raw bytes). */
  prefixes: Set<string>;
}

/** A BCAST prefix: its subscribers, and the keys changed this event-loop turn with who changed them last. */
interface BcastState {
  clients: Set<Client>;
  keys: Map<string, Client | null>;
}

const INVALIDATE_PUSH = ">2\r\n$10\r\ninvalidate\r\n";
const INVALIDATE_MESSAGE = "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n";
const SCRIPT_COMMANDS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro"]);
/** Read-only script commands: the reads of their scripts are tracked, not the command itself. */
const RO_SCRIPT_COMMANDS = new Set(["eval_ro", "evalsha_ro", "fcall_ro"]);

export class Tracking {
  /** Key name (latin1) -> ids of the clients that may have it cached (Redis's TrackingTable). */
  private readonly table = new TrackingTable();
  private totalItems = 0;
  /** BCAST prefix (latin1) -> its state (Redis's PrefixTable). */
  private readonly prefixTable = new Map<string, BcastState>();
  private readonly states = new WeakMap<Client, ClientTracking>();
  /** Clients with tracking on (INFO tracking_clients). */
  trackingClients = 0;
  /** The client whose command is running, and how deep (EXEC and scripts nest). */
  private current: Client | null = null;
  private depth = 0;
  /** The commands running, outermost first (a read inside a script tracks the script's keys). */
  private readonly stack: { spec: CommandSpec; argv: Buffer[] }[] = [];
  /** The current client's own invalidations, sent after its reply (null: a flush). */
  private pendingKeys: (Buffer | null)[] = [];
  private broadcastScheduled = false;
  /** Redis's timeout_counter of trackingLimitUsedSlots: effort grows while over the limit. */
  private limitTimeouts = 0;
  private readonly subscription: Subscription;
  private cron?: NodeJS.Timeout;

  constructor(private readonly server: Server) {
    // First: Redis invalidates a key (signalModifiedKey) before it raises the key's keyspace
    // event (notifyKeyspaceEvent), so a client getting both sees the invalidation first.
    this.subscription = server.effects.subscribe({ onEffect: (e) => this.onEffect(e) }, false, true);
  }

  stateOf(c: Client): ClientTracking | undefined { return this.states.get(c); }
  isOn(c: Client): boolean { return this.states.get(c)?.on ?? false; }

  get totalKeys(): number { return this.table.size; }
  get totalItemsCount(): number { return this.totalItems; }
  get totalPrefixes(): number { return this.prefixTable.size; }

  // ---- enabling and disabling ------------------------------------------------------------

  /** Redis's enableTracking: options already validated by CLIENT TRACKING. */
  enable(c: Client, redirect: number, opts: { bcast: boolean; optin: boolean; optout: boolean; noloop: boolean }, prefixes: Buffer[]): void {
    let st = this.states.get(c);
    if (!st) {
      st = { on: false, redirect: 0, bcast: false, optin: false, optout: false, noloop: false, caching: false, brokenRedirect: false, prefixes: new Set() };
      this.states.set(c, st);
    }
    if (!st.on) {
      this.trackingClients++;
      c.socket.once("close", () => this.disable(c));
    }
    st.on = true;
    st.brokenRedirect = st.bcast = st.optin = st.optout = st.noloop = false;
    st.redirect = redirect;
    if (opts.bcast) {
      st.bcast = true;
      if (prefixes.length === 0) this.enableBcastPrefix(c, st, "");
      for (const p of prefixes) this.enableBcastPrefix(c, st, p.toString("latin1"));
    }
    st.optin = opts.optin;
    st.optout = opts.optout;
    st.noloop = opts.noloop;
    c.tracked = true;
    this.updateActive();
  }

  /** Redis's disableTracking: the table keeps the client's id until the keys change (lazy). */
  disable(c: Client): void {
    const st = this.states.get(c);
    if (!st) return;
    if (st.bcast) {
      for (const p of st.prefixes) {
        const bs = this.prefixTable.get(p);
        if (!bs) continue;
        bs.clients.delete(c);
        if (bs.clients.size === 0) this.prefixTable.delete(p);
      }
      st.prefixes.clear();
    }
    if (st.on) {
      this.trackingClients--;
      st.on = st.brokenRedirect = st.bcast = st.optin = st.optout = st.caching = st.noloop = false;
    }
    c.tracked = false;
    this.updateActive();
  }

  private enableBcastPrefix(c: Client, st: ClientTracking, prefix: string): void {
    let bs = this.prefixTable.get(prefix);
    if (!bs) this.prefixTable.set(prefix, (bs = { clients: new Set(), keys: new Map() }));
    if (!bs.clients.has(c)) {
      bs.clients.add(c);
      st.prefixes.add(prefix);
    }
  }

  /**
   * Redis's checkPrefixCollisionsOrReply: two prefixes of one client may not overlap (one a
   * prefix of the other). The error message, or null.
   */
  prefixCollision(c: Client, prefixes: Buffer[]): string | null {
    const own = this.states.get(c)?.prefixes ?? new Set<string>();
    const cstr = (s: string) => { const z = s.indexOf("\0"); return z >= 0 ? s.slice(0, z) : s; };
    for (let i = 0; i < prefixes.length; i++) {
      const pi = prefixes[i].toString("latin1");
      for (const existing of [...own].sort()) {
        if (overlaps(existing, pi)) {
          return `Prefix '${cstr(pi)}' overlaps with an existing prefix '${cstr(existing)}'. Prefixes for a single client must not overlap.`;
        }
      }
      for (let j = i + 1; j < prefixes.length; j++) {
        const pj = prefixes[j].toString("latin1");
        if (overlaps(pi, pj)) {
          return `Prefix '${cstr(pi)}' overlaps with another provided prefix '${cstr(pj)}'. Prefixes for a single client must not overlap.`;
        }
      }
    }
    return null;
  }

  /** The effect subscription (and the limit cron) run while anything can be invalidated. */
  private updateActive(): void {
    const active = this.trackingClients > 0 || this.table.size > 0 || this.prefixTable.size > 0;
    this.subscription.setActive(active);
    if (this.trackingClients > 0 && !this.cron) {
      // serverCron's trackingLimitUsedSlots, at Redis's default hz.
      this.cron = setInterval(() => { if (this.depth === 0) this.limitUsedSlots(); }, 100);
      this.cron.unref();
    } else if (this.trackingClients === 0 && this.cron) {
      clearInterval(this.cron);
      this.cron = undefined;
    }
  }

  // ---- commands: Server.run calls these around every command it runs --------------------

  /**
   * processCommand's trackingLimitUsedSlots: before every command that reaches the host, even
   * one MULTI only queues (the kernel's own commands are covered by the cron).
   */
  beforeCommand(): void {
    if (this.trackingClients > 0) this.limitUsedSlots();
  }

  /** A command starts (nested inside EXEC or a script when depth > 0). */
  commandBegin(c: Client, spec: CommandSpec, argv: Buffer[]): void {
    if (this.depth === 0) this.current = c;
    this.depth++;
    this.stack.push({ spec, argv });
  }

  /** A command ended: remember the keys it read; after the outermost, send held invalidations. */
  commandEnd(c: Client, spec: CommandSpec): void {
    const frame = this.stack.pop()!;
    this.depth--;
    const st = this.states.get(c);
    if (st?.on && !st.bcast && spec.flags.has("readonly") && !RO_SCRIPT_COMMANDS.has(spec.name)) {
      // Inside a script, Redis remembers the keys of the caller's command: the script's keys.
      let keysOf = frame;
      if (scriptCaller(this.server) === c) {
        for (let i = this.stack.length - 1; i >= 0; i--) {
          if (SCRIPT_COMMANDS.has((this.stack[i].spec.parent ?? this.stack[i].spec).name)) { keysOf = this.stack[i]; break; }
        }
      }
      this.rememberKeys(c.id, st, keysOf.spec, keysOf.argv);
    }
    if (this.depth > 0) return;
    this.current = null;
    // resetClient: CLIENT CACHING applies to the next command, or the next transaction.
    if (st && c.multi === null && (spec.parent ?? spec).name !== "client") st.caching = false;
    if (this.pendingKeys.length) {
      const pending = this.pendingKeys;
      this.pendingKeys = [];
      // After the command's reply, which is still in c.reply: appended behind it.
      for (const key of pending) {
        this.send(c, key === null ? (c.resp >= 3 ? "_\r\n" : "$-1\r\n") : keyArray([key]), true);
      }
    }
  }

  /** Redis's trackingRememberKeys. */
  private rememberKeys(id: number, st: ClientTracking, spec: CommandSpec, argv: Buffer[]): void {
    if ((st.optin && !st.caching) || (st.optout && st.caching)) return;
    if (spec.flags.has("pubsub")) return;
    const refs = keysFromSpecs(spec, argv);
    if (!refs || refs.length === 0) return;
    for (const r of refs) {
      const key = argv[r.pos].toString("latin1");
      const ids = this.table.getOrAdd(key);
      if (!ids.has(id)) {
        ids.add(id);
        this.totalItems++;
      }
    }
    this.updateActive();
  }

  // ---- invalidation ------------------------------------------------------------------------

  private onEffect(e: Effect): void {
    if (e.kind !== EFFECT_COMMAND) {
      // Expired or evicted by the kernel: no client changed it (NOLOOP does not apply). An
      // eviction happens, in Redis, before the command runs (performEvictions): its message
      // goes before the command's reply, never behind it.
      this.invalidateKey(e.argv[0], null, true, e.kind === EFFECT_EVICTED);
      return;
    }
    const argv = e.argv;
    const name = argv[0].toString("latin1").toLowerCase();
    switch (name) {
      case "flushall":
      case "flushdb":
        // A keyspace-wide command runs once per shard: invalidate once.
        if (e.fanOutPart) return;
        return this.invalidateOnFlush();
      case "swapdb":
        return; // Redis 7.0 does not invalidate on SWAPDB.
      case "move":
        return this.invalidateKey(argv[1], this.current, true);
      case "copy":
        return this.invalidateKey(argv[2], this.current, true);
    }
    for (const key of this.writtenKeys(name, argv)) this.invalidateKey(key, this.current, true);
  }

  /** The keys a write command changed: its key specs, minus the ones it only reads. */
  private writtenKeys(name: string, argv: Buffer[]): Buffer[] {
    let spec: CommandSpec | undefined = this.server.table.find(name);
    if (spec && spec.subcommands.size > 0 && argv.length > 1) {
      spec = spec.subcommands.get(argv[1].toString("latin1").toLowerCase()) ?? spec;
    }
    const refs = spec ? keysFromSpecs(spec, argv) : null;
    if (!refs) return argv.slice(1);
    const out: Buffer[] = [];
    for (const r of refs) {
      const flags = r.flags.map((f) => (typeof f === "object" && f && !Array.isArray(f) ? (f as { s: string }).s : String(f)));
      if (flags.includes("RO") && !flags.some((f) => f === "RW" || f === "OW" || f === "RM")) continue;
      out.push(argv[r.pos]);
    }
    return out;
  }

  /** Redis's trackingInvalidateKey. modifier: the client that changed the key (NOLOOP). */
  invalidateKey(keyBuf: Buffer, modifier: Client | null, bcast: boolean, beforeReply = false): void {
    const key = keyBuf.toString("latin1");
    if (bcast && this.prefixTable.size > 0) this.rememberKeyToBroadcast(key, modifier);
    const ids = this.table.get(key);
    if (!ids) return;
    for (const id of ids) {
      const target = this.server.clients.get(id);
      const st = target && this.states.get(target);
      if (!target || !st || !st.on || st.bcast) continue;
      if (st.noloop && target === this.current) continue;
      if (target === this.current && !beforeReply) this.pendingKeys.push(Buffer.from(keyBuf));
      else this.send(target, keyArray([keyBuf]), false, beforeReply);
    }
    this.totalItems -= ids.size;
    this.table.delete(key);
    this.updateActive();
  }

  /** Redis's trackingInvalidateKeysOnFlush: a null invalidation ("every key") to every tracking client. */
  private invalidateOnFlush(): void {
    if (this.trackingClients > 0) {
      for (const c of this.server.clients.values()) {
        if (!this.states.get(c)?.on) continue;
        if (c === this.current) this.pendingKeys.push(null);
        else this.send(c, c.resp >= 3 ? "_\r\n" : "$-1\r\n", false);
      }
    }
    this.table.clear();
    this.totalItems = 0;
    this.updateActive();
  }

  private rememberKeyToBroadcast(key: string, modifier: Client | null): void {
    let any = false;
    for (const [prefix, bs] of this.prefixTable) {
      if (!key.startsWith(prefix)) continue;
      // Deleted and re-inserted: the last modifier wins, as raxInsert overwrites it.
      bs.keys.set(key, modifier);
      any = true;
    }
    if (any && !this.broadcastScheduled) {
      // beforeSleep's trackingBroadcastInvalidationMessages: once this event-loop turn is done.
      this.broadcastScheduled = true;
      setImmediate(() => this.broadcast());
    }
  }

  /** Redis's trackingBroadcastInvalidationMessages: one message per prefix with keys. */
  private broadcast(): void {
    this.broadcastScheduled = false;
    for (const bs of this.prefixTable.values()) {
      if (bs.keys.size === 0) continue;
      const all = [...bs.keys.keys()].sort(compareBytes);
      const proto = keyArray(all.map((k) => Buffer.from(k, "latin1")));
      for (const c of bs.clients) {
        const st = this.states.get(c);
        if (st?.noloop) {
          const keys = all.filter((k) => bs.keys.get(k) !== c);
          if (keys.length) this.send(c, keyArray(keys.map((k) => Buffer.from(k, "latin1"))), false);
        } else {
          this.send(c, proto, false);
        }
      }
      bs.keys = new Map();
    }
  }

  /**
   * Redis's sendTrackingMessage: `value` is the RESP of the invalidated keys (an array, or a
   * null for "all keys"). afterReply: c's command reply is still in c.reply; go behind it.
   */
  private send(c: Client, value: string | Buffer, afterReply: boolean, beforeReply = false): void {
    const st = this.states.get(c);
    let target = c;
    let redirected = false;
    if (st && st.redirect) {
      const r = this.server.clients.get(st.redirect);
      if (!r || r.closed) {
        st.brokenRedirect = true;
        if (c.resp > 2) deliver(c, `>2\r\n$21\r\ntracking-redir-broken\r\n:${st.redirect}\r\n`, afterReply, beforeReply);
        return;
      }
      target = r;
      redirected = true;
    }
    let header: string;
    if (target.resp > 2) header = INVALIDATE_PUSH;
    else if (redirected && target.subscriptions > 0) header = INVALIDATE_MESSAGE;
    else return; // RESP2 on its own connection: nothing can be sent
    const bytes = typeof value === "string" ? header + value : Buffer.concat([Buffer.from(header, "latin1"), value]);
    deliver(target, bytes, afterReply && target === c, beforeReply);
  }

  /**
   * Redis's trackingLimitUsedSlots: over tracking-table-max-keys, drop keys picked at random
   * (raxRandomWalk) with an invalidation, as if they had changed; the effort grows each time
   * one pass was not enough.
   */
  limitUsedSlots(): void {
    const max = this.server.config.getNumber("tracking-table-max-keys");
    if (max === 0 || this.table.size <= max) {
      this.limitTimeouts = 0;
      return;
    }
    let effort = 100 * (this.limitTimeouts + 1);
    while (effort-- > 0) {
      const key = this.table.randomKey();
      if (key === undefined) break;
      this.invalidateKey(Buffer.from(key, "latin1"), null, false);
      if (this.table.size <= max) {
        this.limitTimeouts = 0;
        return;
      }
    }
    this.limitTimeouts++;
  }
}

/** Writes a push behind the reply being built (afterReply), or now, out of band. */
function deliver(c: Client, bytes: string | Buffer, afterReply: boolean, beforeReply = false): void {
  const b = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : bytes;
  // Under CLIENT REPLY OFF / SKIP the reply is dropped, but pushes are not (Redis's
  // CLIENT_PUSHING): the client's own invalidation still goes out.
  if (afterReply && (c.replyOff || c.skipNextReply)) return c.writePush(b);
  // A client whose reply is being built (served from a blocking command) gets it behind the reply.
  if (afterReply || (c.reply.pending > 0 && !beforeReply)) c.reply.raw(b);
  else c.writePush(b);
}

function keyArray(keys: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${keys.length}\r\n`, "latin1")];
  for (const k of keys) parts.push(Buffer.from(`$${k.length}\r\n`, "latin1"), k, Buffer.from("\r\n", "latin1"));
  return Buffer.concat(parts);
}

/** Redis's stringCheckPrefix: one is a prefix of the other. */
function overlaps(a: string, b: string): boolean {
  const n = Math.min(a.length, b.length);
  return a.slice(0, n) === b.slice(0, n);
}

/** Rax order: bytewise (latin1 strings compare by code unit, which is the byte). */
function compareBytes(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const trackers = new WeakMap<Server, Tracking>();

/** The server's tracking state (created on first use). */
export function trackingOf(server: Server): Tracking {
  // Asked on every socket read (host-lane.ts plainState): the last answer first, then the WeakMap.
  if (server === lastServer) return lastTracking!;
  let t = trackers.get(server);
  if (!t) trackers.set(server, (t = new Tracking(server)));
  lastServer = server;
  lastTracking = t;
  return t;
}
let lastServer: Server | null = null;
let lastTracking: Tracking | null = null;

// CLIENT LIST: flags t (tracking), R (broken redirect), B (broadcast), and redir=.
clientInfoProviders.flags.push((c) => {
  const st = trackers.get(c.server)?.stateOf(c);
  if (!st?.on) return "";
  return "t" + (st.brokenRedirect ? "R" : "") + (st.bcast ? "B" : "");
});
clientInfoProviders.redir = (c) => {
  const st = trackers.get(c.server)?.stateOf(c);
  return st?.on ? st.redirect : -1;
};
// RESET turns tracking off.
resetHooks.push((c) => trackers.get(c.server)?.disable(c));
