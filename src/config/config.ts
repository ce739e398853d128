// Config: every redis.conf directive Redis 7.0 has (the table in redis-directives.json is
// generated from Redis's own config.c, so names, aliases, bounds, enum names, defaults and
// IMMUTABLE/HIDDEN/... flags are Redis's), read from a redis.conf-style file and
// `--name value` flags (redis-server's own command-line form), changed at run time by
// CONFIG SET and written back by CONFIG REWRITE.
//
// Values are kept in the form CONFIG GET replies them (canonical strings), validated and
// normalized the way config.c does. A directive LatticeKV does not act on (IMPLEMENTED
// below) is still stored and round-trips through CONFIG GET; set from a file or flags,
// it is listed in a start-up warning instead of being refused.
//
// Code that must react to a change (proto-max-bulk-len reaching the kernel, hz, dir...)
// registers Config.onApply(name, fn); CONFIG SET calls it after all values are set and
// restores the old values if it throws.

import { announcedHostnameError } from "../cluster/endpoints.js";
import { validProcTitleTemplate, INVALID_TEMPLATE } from "../server/proc-title.js";
import { readFileSync } from "node:fs";
import { packageFile } from "../util/package-files.js";
import { catRepr } from "../util/repr.js";
import { resolve } from "node:path";
import { redisCommandNames } from "../commands/table.js";
import { includedFiles } from "./include.js";

export type DirectiveType = "bool" | "string" | "enum" | "numeric" | "special";

export interface Directive {
  name: string;
  alias?: string;
  type: DirectiveType;
  /** Redis's config flags: immutable, sensitive, debug, multi_arg, hidden, protected, deny_loading, volatile. */
  flags: string[];
  /** Canonical default (as CONFIG GET replies it on a fresh redis-server 7.0.15). */
  default: string;
  /** Enum names and their C values (names sharing a value are synonyms). */
  enum?: [string, string][];
  /** Numeric bounds (decimal strings: some exceed 2^53) and parse flags. */
  min?: string;
  max?: string;
  memory?: boolean;
  percent?: boolean;
  octal?: boolean;
  unsigned?: boolean;
  emptyIsNull?: boolean;
  /** Name of Redis's extra validation function, when there is one. */
  validator?: string;
}

interface GeneratedFile { directives: Directive[] }

// tsc does not copy JSON into dist/, so the compiled file reads it from src/.
const generatedPath = packageFile("src/config/redis-directives.json");

export const DIRECTIVES: Directive[] = (JSON.parse(readFileSync(generatedPath, "utf8")) as GeneratedFile).directives;

/** Directives LatticeKV acts on; the rest are stored only (start-up warning when set). */
export const IMPLEMENTED = new Set<string>([
  "port", "bind", "databases", "dir", "hz", "loglevel", "logfile", "pidfile", "proto-max-bulk-len",
  "maxclients", "timeout", "tcp-keepalive", "hash-max-listpack-entries", "hash-max-listpack-value",
  "list-max-listpack-size", "list-compress-depth",
  "client-output-buffer-limit", "client-query-buffer-limit", "enable-debug-command",
  "enable-protected-configs", "maxmemory-policy", "lfu-log-factor", "lfu-decay-time",
  "set-max-intset-entries", "zset-max-listpack-entries", "zset-max-listpack-value",
  "stream-node-max-entries", "stream-node-max-bytes", "hll-sparse-max-bytes",
  "cluster-enabled", "cluster-config-file", "cluster-port", "cluster-node-timeout", "cluster-announce-ip",
  "cluster-announce-port", "cluster-announce-bus-port", "cluster-require-full-coverage",
  "cluster-allow-reads-when-down", "cluster-allow-pubsubshard-when-down", "cluster-replica-no-failover", "cluster-replica-validity-factor",
  "cluster-migration-barrier", "cluster-allow-replica-migration", "cluster-link-sendbuf-limit",
  "cluster-announce-hostname", "cluster-preferred-endpoint-type",
  // the process title (src/server/proc-title.ts)
  "proc-title-template", "set-proc-title",
  // persistence (src/persistence/)
  "save", "dbfilename", "rdbchecksum", "rdbcompression", "rdb-key-save-delay", "appendonly", "appendfsync", "appendfilename",
  "appenddirname", "aof-load-truncated", "aof-timestamp-enabled",
  "aof-use-rdb-preamble", "key-load-delay", "loading-process-events-interval-bytes", "stop-writes-on-bgsave-error",
  "auto-aof-rewrite-percentage", "auto-aof-rewrite-min-size",
  "requirepass", "aclfile", "acllog-max-len", "acl-pubsub-default", "protected-mode",
  // TLS (src/server/tls.ts); tls-cluster also makes the cluster bus TLS (src/cluster/ports.ts)
  "tls-port", "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file",
  "tls-client-key-file", "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file",
  "tls-ca-cert-dir", "tls-auth-clients", "tls-protocols", "tls-ciphers", "tls-ciphersuites",
  "tls-prefer-server-ciphers", "tls-replication", "tls-cluster", "tls-session-caching",
  "tls-session-cache-size", "tls-session-cache-timeout", "cluster-announce-tls-port",
  // listeners and outgoing links (src/server/unix-socket.ts, src/server/tls.ts)
  "unixsocket", "unixsocketperm", "bind-source-addr", "always-show-logo",
  // memory, eviction, lazy free (src/server/maxmemory.ts, lazyfree.ts, client-eviction.ts)
  "maxmemory", "maxmemory-clients", "maxmemory-eviction-tenacity", "maxmemory-samples",
  "lazyfree-lazy-eviction", "lazyfree-lazy-expire", "lazyfree-lazy-server-del", "lazyfree-lazy-user-del",
  "lazyfree-lazy-user-flush", "aof-disable-auto-gc",
  // introspection (latency monitor, slowlog, tracking, notifications, scripts)
  "latency-monitor-threshold", "latency-tracking", "latency-tracking-info-percentiles",
  "slowlog-log-slower-than", "slowlog-max-len", "tracking-table-max-keys", "notify-keyspace-events",
  "busy-reply-threshold",
  // the software watchdog (src/server/watchdog.ts)
  "watchdog-period",
  // shutdown (src/server/shutdown.ts), crash reports (crash-report.ts), the OOM score (oom-score-adj.ts)
  "shutdown-timeout", "shutdown-on-sigterm", "shutdown-on-sigint", "crash-log-enabled",
  "oom-score-adj", "oom-score-adj-values",
  // primary/replica replication (src/repl/)
  "replicaof", "masterauth", "masteruser", "repl-backlog-size", "repl-diskless-sync", "repl-diskless-sync-delay",
  "repl-diskless-sync-max-replicas", "repl-ping-replica-period", "replica-announce-port",
  "replica-ignore-maxmemory", "replica-priority", "replica-read-only", "replica-serve-stale-data",
  "min-replicas-max-lag", "min-replicas-to-write", "propagation-error-behavior", "repl-timeout",
  "repl-backlog-ttl", "replica-announce-ip", "repl-diskless-load",
]);

const byName = new Map<string, Directive>();
for (const d of DIRECTIVES) {
  byName.set(d.name, d);
  if (d.alias) byName.set(d.alias, d);
}

export function findDirective(name: string): Directive | undefined {
  return byName.get(name.toLowerCase());
}

/** Every name CONFIG GET can match: directive names and aliases (like Redis's configs dict). */
export function allConfigNames(): [string, Directive][] {
  return [...byName.entries()];
}

/**
 * Redis's memtoull: "1gb", "100mb", "10k", plain bytes; returns null when invalid.
 * (Kept as a number: memory values beyond 2^53 bytes are not a practical concern.)
 */
export function parseMemory(s: string): number | null {
  const m = /^(\d+)(k|kb|m|mb|g|gb|b)?$/i.exec(s);
  if (!m) return null;
  const unit = (m[2] ?? "b").toLowerCase();
  const mul: Record<string, number> = { b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return Number(m[1]) * mul[unit];
}

function parseMemoryBig(s: string): bigint | null {
  const m = /^(\d+)(k|kb|m|mb|g|gb|b)?$/i.exec(s);
  if (!m) return null;
  const unit = (m[2] ?? "b").toLowerCase();
  const mul: Record<string, bigint> = { b: 1n, k: 1000n, kb: 1024n, m: 1000000n, mb: 1048576n, g: 1000000000n, gb: 1073741824n };
  const v = BigInt(m[1]) * mul[unit];
  return v > 18446744073709551615n ? null : v;
}

/** Redis's string2ll: strict decimal that fits a signed 64-bit integer. */
function string2ll(s: string): bigint | null {
  if (!/^(0|-?[1-9][0-9]*)$/.test(s)) return null;
  const v = BigInt(s);
  return v > 9223372036854775807n || v < -9223372036854775808n ? null : v;
}

/** Directives of LatticeKV's own (active-active replication, src/replication/active-active.ts). */
const EXTRA_DIRECTIVES = new Set(["peer", "crdt-node-id", "crdt-bus-port", "crdt-gc-grace-ms", "crdt-peer-gc-timeout", "crdt-clock-offset-ms", "crdt-secret", "crdt-user", "crdt-password", "cluster-group"]);

export type ApplyFn = (config: Config) => void;

export class Config {
  private values = new Map<string, string>();
  /**
   * get() and getNumber() results by the name asked for: the dispatch path reads a few
   * directives per command (maxmemory, maxmemory-clients...), and finding the directive
   * (lower-casing the name) and parsing its value each time showed in profiles. Every
   * change of a value goes through setValue(), which empties both.
   */
  private readCache = new Map<string, string>();
  private numberCache = new Map<string, number>();
  /**
   * Counts value changes (setValue): a reader of the hot path (a socket read's host-lane
   * and client-eviction checks) keeps what it derived from a few directives and derives it
   * again only when this moved, instead of a Map lookup per directive per read.
   */
  generation = 0;
  /** Directives read from a file or flags that LatticeKV does not act on (start-up warning). */
  readonly unknown: string[] = [];
  /** `loadmodule` paths: Redis loads them after the config; LatticeKV cannot, and main() aborts as Redis does on a failed load. */
  readonly modules: string[] = [];
  /** LatticeKV's own directives (no Redis equivalent) with their arguments, in file order: src/replication/. */
  readonly extra: [string, string[]][] = [];
  /** Directives set at start-up (file or flags), for CONFIG REWRITE's "what the user chose". */
  configFile?: string;
  private appliers = new Map<string, ApplyFn[]>();
  /** `user` lines from the config file or flags, in order (applied by src/acl/ at start-up). */
  readonly userLines: string[][] = [];
  private loadingFile = false;
  private saveLoaded = false;

  constructor() {
    for (const d of DIRECTIVES) this.values.set(d.name, d.default);
  }

  private setValue(name: string, value: string): void {
    this.values.set(name, value);
    this.generation++;
    this.readCache.clear();
    this.numberCache.clear();
  }

  get(name: string): string {
    const cached = this.readCache.get(name);
    if (cached !== undefined) return cached;
    const d = findDirective(name);
    if (!d) throw new Error(`unknown config ${name}`);
    if (d.name === "dir") return safeCwd(); // the process's cwd: never cached
    const v = this.values.get(d.name)!;
    this.readCache.set(name, v);
    return v;
  }
  getString(name: string): string { return this.get(name); }
  /**
   * A value the server itself changed, not a CONFIG SET: REPLICAOF sets replicaof, as Redis's
   * CONFIG GET and CONFIG REWRITE read it from server.masterhost.
   */
  setByServer(name: string, value: string): void {
    const d = findDirective(name);
    if (!d) throw new Error(`unknown config ${name}`);
    this.setValue(d.name, value);
  }
  /** A numeric directive's value as a number (memory values in bytes). */
  getNumber(name: string): number {
    const cached = this.numberCache.get(name);
    if (cached !== undefined) return cached;
    const d = findDirective(name)!;
    const v = this.get(name);
    let n: number;
    if (d.octal) n = parseInt(v, 8);
    else if (d.percent && v.endsWith("%")) n = -Number(v.slice(0, -1));
    else n = Number(v);
    this.numberCache.set(name, n);
    return n;
  }
  getBool(name: string): boolean { return this.get(name) === "yes"; }

  /** Registers code that acts on a directive (run at start-up and after CONFIG SET changes it). */
  onApply(name: string, fn: ApplyFn): void {
    const d = findDirective(name);
    if (!d) throw new Error(`unknown config ${name}`);
    const list = this.appliers.get(d.name) ?? [];
    list.push(fn);
    this.appliers.set(d.name, list);
  }

  /** Runs every registered applier once (start-up). */
  applyAll(): void {
    for (const fns of this.appliers.values()) for (const fn of fns) fn(this);
  }

  /**
   * Sets one directive from start-up (file or --flags): args are the words after the name.
   * Returns an error message in Redis's wording, or null.
   */
  set(name: string, args: string[], fromStartup: boolean): string | null {
    if (!fromStartup) {
      const r = this.setMany([[name, args.join(" ")]]);
      return r;
    }
    if (name.toLowerCase() === "user") return this.addUserLine(args);
    if (name.toLowerCase() === "rename-command") return this.addRename(args);
    if (name.toLowerCase() === "sentinel") return "sentinel directive while not in sentinel mode";
    if (name.toLowerCase() === "loadmodule" && args.length >= 1) {
      this.modules.push(args[0]);
      return null;
    }
    const d = findDirective(name);
    if (!d) {
      // redis-server refuses a name that is none of its directives (a typo must not pass
      // unseen); ours (peers, CRDT settings) are the only additions.
      if (!EXTRA_DIRECTIVES.has(name.toLowerCase())) return "Bad directive or wrong number of arguments";
      this.extra.push([name.toLowerCase(), args]);
      return null;
    }
    if (!IMPLEMENTED.has(d.name) && !this.unknown.includes(d.name)) this.unknown.push(d.name);
    // Redis's loadServerConfigFromString: a single-argument directive takes exactly one; a
    // multi-argument one given one non-empty argument splits it ("--save '900 1 300 10'").
    const multi = d.flags.includes("multi_arg");
    if (!multi && args.length !== 1) return "wrong number of arguments";
    let argv = args;
    if (multi && args.length === 1 && args[0] !== "") argv = splitConfigLine(args[0]) ?? args;
    const r = this.parse(d, argv, true);
    if (typeof r === "object") return r.error;
    this.setValue(d.name, r);
    return null;
  }

  /**
   * `rename-command <name> <new-name>` (Redis's loadServerConfigFromString): kept for the
   * server to apply to its command table; "" as the new name removes the command. Checked
   * here, against Redis's command set with the renames so far, as Redis checks it.
   */
  private addRename(args: string[]): string | null {
    if (args.length === 1 && args[0].includes(" ")) args = splitConfigLine(args[0]) ?? args;
    if (args.length !== 2) return "Bad directive or wrong number of arguments";
    this.commandNames ??= new Set(redisCommandNames());
    const [from, to] = [args[0].toLowerCase(), args[1].toLowerCase()];
    if (!this.commandNames.has(from)) return "No such command in rename-command";
    this.commandNames.delete(from);
    if (to !== "") {
      if (this.commandNames.has(to)) return "Target command name already exists";
      this.commandNames.add(to);
    }
    this.renames.push([from, to]);
    return null;
  }

  /** rename-command directives, in order (applied by the Server to its command table). */
  readonly renames: [string, string][] = [];
  private commandNames?: Set<string>;

  /**
   * A `user <name> <rules...>` line (Redis's ACLAppendUserForLoading): kept for src/acl/ to
   * apply at start-up, where the rules are checked against the command table.
   */
  private addUserLine(args: string[]): string | null {
    if (args.length === 1 && args[0].includes(" ")) args = splitConfigLine(args[0]) ?? args;
    if (args.length < 1) return "wrong number of arguments";
    if (this.userLines.some((u) => u[0] === args[0])) {
      return `Error in user declaration '${args[0]}': Duplicate user found. A user can only be defined once in config files`;
    }
    this.userLines.push(args);
    return null;
  }

  /**
   * CONFIG SET semantics: every pair is validated and set, and appliers run; if any fails,
   * every value is restored (atomic). Returns null or the error (without "ERR "). While the
   * dataset loads, a deny_loading directive (dir, appendonly...) fails the whole CONFIG SET
   * with -LOADING, which wins over the other errors (Redis's deny_loading_error).
   */
  setMany(pairs: [string, string][], localClient = true, loading = false): string | null {
    const ds: Directive[] = [];
    let unknownArg: string | undefined;
    let err: { arg: string; msg: string } | undefined;
    let denyLoading = false;
    for (const [name] of pairs) {
      const d = findDirective(name);
      // Only the first error counts, as Redis's invalid_args (an unknown name after it too).
      if (!d) { if (!err) unknownArg ??= name; continue; }
      if (unknownArg !== undefined || err) continue;
      if (d.flags.includes("immutable")) { err = { arg: name, msg: "can't set immutable config" }; continue; }
      if (d.flags.includes("protected") && !protectedActionAllowed(this.get("enable-protected-configs"), localClient)) {
        err = { arg: name, msg: "can't set protected config" };
        continue;
      }
      if (loading && d.flags.includes("deny_loading")) {
        denyLoading = true;
        err = { arg: name, msg: "loading flag is set" };
        continue;
      }
      if (ds.includes(d)) { err = { arg: name, msg: "duplicate parameter" }; continue; }
      ds.push(d);
    }
    if (denyLoading) return "-LOADING Redis is loading the dataset in memory";
    if (unknownArg !== undefined) return `Unknown option or number of arguments for CONFIG SET - '${unknownArg}'`;
    if (err) return `CONFIG SET failed (possibly related to argument '${err.arg}') - ${err.msg}`;

    const old = ds.map((d) => this.values.get(d.name)!);
    const oldDir = safeCwd();
    const changed: Directive[] = [];
    const restore = () => {
      ds.forEach((d, i) => this.setValue(d.name, old[i]));
      if (ds.some((d) => d.name === "dir")) tryChdir(oldDir);
    };
    for (let i = 0; i < ds.length; i++) {
      const d = ds[i];
      const value = pairs[i][1];
      const argv = d.flags.includes("multi_arg") ? value.split(" ") : [value];
      const r = this.parse(d, argv, false);
      if (typeof r === "object") {
        restore();
        return `CONFIG SET failed (possibly related to argument '${d.name}') - ${r.error}`;
      }
      if (r !== this.values.get(d.name) || d.name === "dir" || d.flags.includes("volatile")) changed.push(d);
      this.setValue(d.name, r);
    }
    const seen = new Set<ApplyFn>();
    for (const d of changed) {
      for (const fn of this.appliers.get(d.name) ?? []) {
        if (seen.has(fn)) continue;
        seen.add(fn);
        try {
          fn(this);
        } catch (e) {
          restore();
          for (const f of seen) { try { f(this); } catch { /* restoring: best effort */ } }
          const msg = e instanceof Error ? e.message : String(e);
          return `CONFIG SET failed (possibly related to argument '${d.name}') - ${msg}`;
        }
      }
    }
    return null;
  }

  /** Validates argv for a directive and returns its canonical value, or {error}. */
  private parse(d: Directive, argv: string[], fromStartup: boolean): string | { error: string } {
    switch (d.type) {
      case "bool": {
        const v = argv[0].toLowerCase();
        if (v !== "yes" && v !== "no") return { error: "argument must be 'yes' or 'no'" };
        return v;
      }
      case "string": {
        const e = validateString(d, argv[0], this);
        return e ? { error: e } : argv[0];
      }
      case "enum":
        return parseEnum(d, argv);
      case "numeric":
        return parseNumeric(d, argv[0]);
      case "special":
        return this.parseSpecial(d, argv, fromStartup);
    }
  }

  private parseSpecial(d: Directive, argv: string[], fromStartup: boolean): string | { error: string } {
    switch (d.name) {
      case "dir":
        if (argv.length !== 1) return { error: "wrong number of arguments" };
        try { process.chdir(argv[0]); } catch (e) { return { error: errnoText(e) }; }
        return argv[0];
      case "save": {
        const reset = argv.length === 1 && argv[0] === "";
        let args = reset ? [] : argv;
        if (args.length % 2) return { error: "Invalid save parameters" };
        for (let j = 0; j < args.length; j++) {
          const v = /^-?\d+$/.test(args[j]) ? Number(args[j]) : NaN;
          if (Number.isNaN(v) || (j % 2 === 0 && v < 1) || (j % 2 === 1 && v < 0)) return { error: "Invalid save parameters" };
        }
        args = args.map((a) => String(Number(a)));
        // In a config file the first "save" line replaces the defaults, later ones add to it.
        if (fromStartup && this.loadingFile) {
          const prev = this.saveLoaded && !reset ? this.values.get("save")! : "";
          this.saveLoaded = true;
          return [prev, ...args].filter(Boolean).join(" ");
        }
        return args.join(" ");
      }
      case "bind": {
        if (argv.length > 16) return { error: "Too many bind addresses specified." };
        return argv.join(" ");
      }
      case "client-output-buffer-limit":
        return parseClientOutputBufferLimit(argv, this.values.get(d.name)!);
      case "oom-score-adj-values": {
        if (argv.length !== 3) return { error: "wrong number of arguments" };
        const vals: number[] = [];
        for (const a of argv) {
          const v = /^-?\d+$/.test(a) ? Number(a) : NaN;
          if (Number.isNaN(v) || v < -2000 || v > 2000) return { error: "Invalid oom-score-adj-values, elements must be between -2000 and 2000." };
          vals.push(v);
        }
        return vals.join(" ");
      }
      case "notify-keyspace-events": {
        if (argv.length !== 1) return { error: "wrong number of arguments" };
        const flags = keyspaceEventsStringToFlags(argv[0]);
        if (flags < 0) return { error: "Invalid event class character. Use 'Ag$lshzxeKEtmdn'." };
        return keyspaceEventsFlagsToString(flags);
      }
      case "replicaof": {
        if (argv.length !== 2) return { error: "wrong number of arguments" };
        if (argv[0].toLowerCase() === "no" && argv[1].toLowerCase() === "one") return "";
        const port = /^\d+$/.test(argv[1]) ? Number(argv[1]) : -1;
        if (port < 0 || port > 65535) return { error: "Invalid master port" };
        return `${argv[0]} ${port}`;
      }
      case "latency-tracking-info-percentiles": {
        const out: string[] = [];
        for (const a of argv) {
          if (a === "" && argv.length === 1) break;
          const v = Number(a);
          if (a === "" || Number.isNaN(v)) return { error: "Invalid latency-tracking-info-percentiles parameters" };
          if (v < 0 || v > 100) return { error: "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]" };
          out.push(String(v));
        }
        return out.join(" ");
      }
      default:
        return argv.join(" ");
    }
  }

  /** Names and values for CONFIG GET / REWRITE: every directive, canonical names. */
  entries(): [string, string][] {
    return DIRECTIVES.map((d) => [d.name, this.get(d.name)]);
  }

  /** Applies redis.conf text (one directive per line, # comments, "quoted args"). */
  loadText(text: string): string[] {
    const errors: string[] = [];
    const outer = this.loadingFile;
    this.loadingFile = true;
    try {
      text.split(/\r?\n/).forEach((line, i) => {
        const t = line.trim();
        if (!t || t.startsWith("#")) return;
        const words = splitConfigLine(t);
        if (!words) { errors.push(formatLoadError(i + 1, t, "Unbalanced quotes in configuration line")); return; }
        if (words.length === 0) return;
        if (words[0].toLowerCase() === "include" && words.length === 2) { errors.push(...this.include(words[1])); return; }
        const err = this.set(words[0], words.slice(1), true);
        if (err) errors.push(formatLoadError(i + 1, t, err));
      });
    } finally {
      this.loadingFile = outer;
    }
    return errors;
  }

  /** How `include` reads a file (applyArgv's reader; node's by default). */
  readFile: (path: string) => string = (p) => readFileSync(p, "utf8");
  private includeDepth = 0;

  /** `include PATH` (src/config/include.ts): each file's lines at this point, as Redis loads them. */
  private include(path: string): string[] {
    // Redis has no guard: a file including itself recurses until the stack ends. Stop first.
    if (this.includeDepth >= 32) return [`Fatal error, can't open config file '${path}': too many levels of include`];
    const errors: string[] = [];
    this.includeDepth++;
    try {
      for (const file of includedFiles(path)) {
        let text: string;
        try {
          text = this.readFile(file);
        } catch (e) {
          errors.push(`Fatal error, can't open config file '${file}': ${openErrorText(e)}`);
          return errors;
        }
        errors.push(...this.loadText(text));
        if (errors.length) return errors;
      }
    } finally {
      this.includeDepth--;
    }
    return errors;
  }
}

/** enable-protected-configs / enable-debug-command: "yes", or "local" for loopback clients. */
export function protectedActionAllowed(setting: string, localClient: boolean): boolean {
  return setting === "yes" || (setting === "local" && localClient);
}

/** strerror's words for a failed open ("No such file or directory"), as Redis prints them. */
function openErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "No such file or directory";
  if (code === "EACCES") return "Permission denied";
  if (code === "EISDIR") return "Is a directory";
  return (e as Error).message;
}

function formatLoadError(lineNo: number, line: string, msg: string): string {
  return `Reading the configuration file, at line ${lineNo}\n>>> '${line}'\n${msg}`;
}

function safeCwd(): string {
  try { return process.cwd(); } catch { return ""; }
}
function tryChdir(dir: string): void {
  try { process.chdir(dir); } catch { /* the old dir vanished: keep the current one */ }
}
function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const texts: Record<string, string> = {
    ENOENT: "No such file or directory", ENOTDIR: "Not a directory", EACCES: "Permission denied",
  };
  return (code && texts[code]) ?? String((e as Error).message ?? e);
}

function validateString(d: Directive, v: string, config: Config): string | null {
  switch (d.validator) {
    case "isValidProcTitleTemplate":
      return validProcTitleTemplate(config, v) ? null : INVALID_TEMPLATE;
    case "isValidDBfilename":
      return v.includes("/") ? "dbfilename can't be a path, just a filename" : null;
    case "isValidAOFfilename":
      if (v === "") return "appendfilename can't be empty";
      return v.includes("/") ? "appendfilename can't be a path, just a filename" : null;
    case "isValidAnnouncedHostname":
      return announcedHostnameError(v);
    case "isValidAOFdirname":
      if (v === "") return "appenddirname can't be empty";
      return v.includes("/") ? "appenddirname can't be a path, just a dirname" : null;
    default:
      return null;
  }
}

function parseEnum(d: Directive, argv: string[]): string | { error: string } {
  const items = d.enum!;
  const multi = d.flags.includes("multi_arg");
  const bad = () => ({ error: `argument(s) must be one of the following: ${items.map((x) => x[0]).join(", ")}` });
  if (argv.length === 0 || (!multi && argv.length !== 1)) return bad();
  const values = new Set<string>();
  for (const a of argv) {
    const hit = items.filter((x) => x[0] === a.toLowerCase());
    if (hit.length === 0) return bad();
    for (const h of hit) if (h[1] !== "0") values.add(h[1]);
  }
  if (multi) {
    if (values.has("SHUTDOWN_SAVE") && values.has("SHUTDOWN_NOSAVE")) {
      return { error: "shutdown options SAVE and NOSAVE can't be used simultaneously" };
    }
    if (values.size === 0) return items.find((x) => x[1] === "0")![0];
    return items.filter((x) => values.has(x[1])).map((x) => x[0]).join(" ");
  }
  const want = items.find((x) => x[0] === argv[0].toLowerCase())![1];
  // The first name with this value is the canonical one (oom-score-adj: relative -> yes).
  return items.find((x) => x[1] === want)![0];
}

function parseNumeric(d: Directive, v: string): string | { error: string } {
  let n: bigint | null = null;
  if (d.memory) n = parseMemoryBig(v);
  if (n === null && d.percent && v.length > 1 && v.endsWith("%")) {
    const p = string2ll(v.slice(0, -1));
    if (p !== null && p >= 0n) n = -p;
  }
  if (n === null && d.octal && /^[0-7]+$/.test(v)) n = BigInt(parseInt(v, 8));
  if (n === null && !d.memory && !d.percent && !d.octal) n = string2ll(v);
  if (n === null) {
    if (d.memory && d.percent) return { error: "argument must be a memory or percent value" };
    if (d.memory) return { error: "argument must be a memory value" };
    if (d.octal) return { error: "argument couldn't be parsed as an octal number" };
    return { error: "argument couldn't be parsed into an integer" };
  }
  const min = BigInt(d.min!);
  const max = BigInt(d.max!);
  if (d.unsigned) {
    const u = n < 0n ? n + (1n << 64n) : n;
    if (u > max || u < min) {
      const f = (x: bigint) => (d.octal ? x.toString(8) : x.toString());
      return { error: `argument must be between ${f(min)} and ${f(max)} inclusive` };
    }
  } else if (d.percent && n < 0n) {
    if (n < min) return { error: `percentage argument must be less or equal to ${-min}` };
  } else if (n > max || n < min) {
    return { error: `argument must be between ${min} and ${max} inclusive` };
  }
  if (d.percent && n < 0n) return `${-n}%`;
  if (d.octal) return n.toString(8);
  if (d.unsigned && n < 0n) return (n + (1n << 64n)).toString();
  return n.toString();
}

const OBUF_CLASSES = ["normal", "slave", "pubsub"];

function parseClientOutputBufferLimit(argv: string[], current: string): string | { error: string } {
  if (argv.length % 4) return { error: "Wrong number of arguments in buffer limit configuration." };
  const cur = current.split(" ");
  const table = new Map<string, string[]>();
  for (let i = 0; i < cur.length; i += 4) table.set(cur[i], cur.slice(i + 1, i + 4));
  for (let j = 0; j < argv.length; j += 4) {
    let cls = argv[j].toLowerCase();
    if (cls === "replica") cls = "slave";
    if (!OBUF_CLASSES.includes(cls) || cls === "master") return { error: "Invalid client class specified in buffer limit configuration." };
    const hard = parseMemoryBig(argv[j + 1]);
    const soft = parseMemoryBig(argv[j + 2]);
    const secs = /^\d+$/.test(argv[j + 3]) ? BigInt(argv[j + 3]) : null;
    if (hard === null || soft === null || secs === null) {
      return { error: "Error in hard, soft or soft_seconds setting in buffer limit configuration." };
    }
    table.set(cls, [String(hard), String(soft), String(secs)]);
  }
  return OBUF_CLASSES.map((c) => [c, ...table.get(c)!].join(" ")).join(" ");
}

// notify-keyspace-events classes (notify.c).
const NOTIFY: Record<string, number> = {
  K: 1 << 0, E: 1 << 1, g: 1 << 2, $: 1 << 3, l: 1 << 4, s: 1 << 5, h: 1 << 6, z: 1 << 7,
  x: 1 << 8, e: 1 << 9, t: 1 << 10, m: 1 << 11, d: 1 << 12, n: 1 << 13,
};
const NOTIFY_ALL = NOTIFY.g | NOTIFY.$ | NOTIFY.l | NOTIFY.s | NOTIFY.h | NOTIFY.z | NOTIFY.x | NOTIFY.e | NOTIFY.t | NOTIFY.d;

export function keyspaceEventsStringToFlags(s: string): number {
  let flags = 0;
  for (const c of s) {
    if (c === "A") flags |= NOTIFY_ALL;
    else if (c in NOTIFY) flags |= NOTIFY[c];
    else return -1;
  }
  return flags;
}

export function keyspaceEventsFlagsToString(flags: number): string {
  let r = "";
  if ((flags & NOTIFY_ALL) === NOTIFY_ALL) r += "A";
  else for (const c of "g$lshzxetdn") if (flags & NOTIFY[c]) r += c;
  for (const c of "KEm") if (flags & NOTIFY[c]) r += c;
  return r;
}

/** Splits a config line like Redis's sdssplitargs: spaces separate, "double" (with \\ escapes) and 'single' quotes group. */
export function splitConfigLine(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  while (true) {
    while (i < n && /\s/.test(line[i])) i++;
    if (i >= n) return out;
    let cur = "";
    let inq = false, insq = false, done = false;
    while (!done) {
      const c = line[i];
      if (inq) {
        if (i >= n) return null;
        if (c === "\\" && line[i + 1] === "x" && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === "\\" && i + 1 < n) {
          i++;
          const e = line[i];
          cur += e === "n" ? "\n" : e === "r" ? "\r" : e === "t" ? "\t" : e === "b" ? "\b" : e === "a" ? "\x07" : e;
        } else if (c === '"') {
          if (i + 1 < n && !/\s/.test(line[i + 1])) return null;
          done = true;
        } else cur += c;
      } else if (insq) {
        if (i >= n) return null;
        if (c === "\\" && line[i + 1] === "'") { i++; cur += "'"; }
        else if (c === "'") {
          if (i + 1 < n && !/\s/.test(line[i + 1])) return null;
          done = true;
        } else cur += c;
      } else {
        if (i >= n || /\s/.test(c)) done = true;
        else if (c === '"') inq = true;
        else if (c === "'") insq = true;
        else cur += c;
      }
      if (i < n) i++;
    }
    out.push(cur);
  }
}

/**
 * redis-server's argv, as its main() reads it: an optional config file (a first argument not
 * starting with "-"), then options conceptually appended to it. `--name` starts a new line;
 * the words after it are its values (quoted), even words starting with "--" when the name
 * has none yet (`--logfile --my--log--file`); "--name value" in one argument is a whole
 * line; a bare `--save` before another option or at the end means `save ""`.
 * Returns the errors, if any.
 */
export function applyArgv(config: Config, argv: string[], readFile: (p: string) => string): string[] {
  config.readFile = readFile;
  let j = 0;
  const errors: string[] = [];
  if (argv[0] !== undefined && !argv[0].startsWith("-")) {
    // Absolute before loading: a "dir" line changes the working directory.
    config.configFile = resolve(argv[0]);
    errors.push(...config.loadText(readFile(config.configFile)));
    j = 1;
  }
  let options = "";
  let handledLastConfigArg = true;
  for (; j < argv.length; j++) {
    const a = argv[j];
    if (handledLastConfigArg && a.startsWith("--")) {
      if (options.length) options += "\n";
      options += a.slice(2) + " ";
      const words = splitConfigLine(a);
      if (words !== null && words.length === 1) {
        handledLastConfigArg = false;
        const next = argv[j + 1];
        if (a.toLowerCase() === "--save" && (next === undefined || next.startsWith("--"))) {
          options += '""';
          handledLastConfigArg = true;
        }
      } else {
        handledLastConfigArg = true;
      }
    } else {
      options += catRepr(a) + " ";
      handledLastConfigArg = true;
    }
  }
  errors.push(...config.loadText(options));
  return errors;
}
