// Config: the redis.conf directives LatticeKV implements, with Redis's defaults, read from
// a redis.conf-style file and `--name value` flags (redis-server's own command-line form),
// and changed at run time by CONFIG SET. Unknown directives are kept and warned about at
// start-up, not refused, so a real redis.conf loads.

export type DirectiveType = "int" | "memory" | "bool" | "string" | "enum";

export interface Directive {
  name: string;
  type: DirectiveType;
  default: string;
  /** Allowed values for enums. */
  values?: string[];
  min?: number;
  max?: number;
  /** CONFIG SET refuses it (Redis's IMMUTABLE_CONFIG). */
  immutable?: boolean;
  aliases?: string[];
}

// Redis 7.0 defaults (config.c). Extend this list as features land.
export const DIRECTIVES: Directive[] = [
  { name: "port", type: "int", default: "6379", min: 0, max: 65535, immutable: true },
  { name: "bind", type: "string", default: "* -::*", immutable: true },
  { name: "databases", type: "int", default: "16", min: 1, max: 0x7fffffff, immutable: true },
  { name: "dir", type: "string", default: "./" },
  { name: "dbfilename", type: "string", default: "dump.rdb" },
  { name: "save", type: "string", default: "3600 1 300 100 60 10000" },
  { name: "appendonly", type: "bool", default: "no" },
  { name: "hz", type: "int", default: "10", min: 0, max: 0x7fffffff },
  { name: "timeout", type: "int", default: "0", min: 0, max: 0x7fffffff },
  { name: "tcp-keepalive", type: "int", default: "300", min: 0, max: 0x7fffffff },
  { name: "loglevel", type: "enum", default: "notice", values: ["debug", "verbose", "notice", "warning"] },
  { name: "logfile", type: "string", default: "", immutable: true },
  { name: "daemonize", type: "bool", default: "no", immutable: true },
  { name: "pidfile", type: "string", default: "", immutable: true },
  { name: "protected-mode", type: "bool", default: "yes" },
  { name: "proto-max-bulk-len", type: "memory", default: "536870912", min: 1024 * 1024 },
  { name: "maxclients", type: "int", default: "10000", min: 1, max: 0x7fffffff },
  { name: "maxmemory", type: "memory", default: "0" },
  { name: "maxmemory-policy", type: "enum", default: "noeviction",
    values: ["volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"] },
  { name: "requirepass", type: "string", default: "" },
  { name: "appendfsync", type: "enum", default: "everysec", values: ["always", "everysec", "no"] },
];

const byName = new Map<string, Directive>();
for (const d of DIRECTIVES) {
  byName.set(d.name, d);
  for (const a of d.aliases ?? []) byName.set(a, d);
}

export function findDirective(name: string): Directive | undefined {
  return byName.get(name.toLowerCase());
}

/** Parses "1gb", "100mb", "10k" like Redis's memtoull; returns null when invalid. */
export function parseMemory(s: string): number | null {
  const m = /^(-?\d+)(k|kb|m|mb|g|gb|b)?$/i.exec(s.trim());
  if (!m) return null;
  const unit = (m[2] ?? "b").toLowerCase();
  const mul: Record<string, number> = { b: 1, k: 1000, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3 };
  return Number(m[1]) * mul[unit];
}

export class Config {
  private values = new Map<string, string>();
  /** Directives read from a file or flags that LatticeKV does not implement (start-up warning). */
  readonly unknown: string[] = [];
  configFile?: string;

  constructor() {
    for (const d of DIRECTIVES) this.values.set(d.name, d.default);
  }

  get(name: string): string {
    const d = findDirective(name);
    if (!d) throw new Error(`unknown config ${name}`);
    return this.values.get(d.name)!;
  }
  getString(name: string): string { return this.get(name); }
  getNumber(name: string): number {
    const d = findDirective(name)!;
    const v = this.get(name);
    return d.type === "memory" ? parseMemory(v)! : Number(v);
  }
  getBool(name: string): boolean { return this.get(name) === "yes"; }

  /** Validates and sets a directive; returns an error message (Redis's wording) or null. */
  set(name: string, args: string[], fromStartup: boolean): string | null {
    const d = findDirective(name);
    if (!d) {
      if (fromStartup) { this.unknown.push(name); return null; }
      return `Unknown option or number of arguments for CONFIG SET - '${name}'`;
    }
    if (!fromStartup && d.immutable) return `CONFIG SET failed (possibly related to argument '${name}') - can't set immutable config`;
    const value = d.name === "save" || d.name === "bind" ? args.join(" ") : args[0] ?? "";
    const err = validate(d, value);
    if (err) return `Invalid argument '${value}' for CONFIG SET '${name}' - ${err}`;
    this.values.set(d.name, normalize(d, value));
    return null;
  }

  /** Names and values matching a CONFIG GET pattern. */
  entries(): [string, string][] {
    return DIRECTIVES.map((d) => [d.name, this.values.get(d.name)!]);
  }

  /** Applies redis.conf text (one directive per line, # comments, "quoted args"). */
  loadText(text: string): string[] {
    const errors: string[] = [];
    text.split(/\r?\n/).forEach((line, i) => {
      const t = line.trim();
      if (!t || t.startsWith("#")) return;
      const words = splitConfigLine(t);
      if (!words) { errors.push(`line ${i + 1}: unbalanced quotes`); return; }
      const err = this.set(words[0], words.slice(1), true);
      if (err) errors.push(`line ${i + 1}: ${err}`);
    });
    return errors;
  }
}

function validate(d: Directive, v: string): string | null {
  switch (d.type) {
    case "int": {
      if (!/^-?\d+$/.test(v)) return "argument couldn't be parsed into an integer";
      const n = Number(v);
      if ((d.min !== undefined && n < d.min) || (d.max !== undefined && n > d.max)) {
        return `argument must be between ${d.min} and ${d.max} inclusive`;
      }
      return null;
    }
    case "memory": {
      const n = parseMemory(v);
      if (n === null) return "argument must be a memory value";
      if (d.min !== undefined && n < d.min) return `argument must be between ${d.min} and 9223372036854775807 inclusive`;
      return null;
    }
    case "bool":
      return /^(yes|no)$/i.test(v) ? null : "argument must be 'yes' or 'no'";
    case "enum":
      return d.values!.includes(v.toLowerCase()) ? null : `argument(s) must be one of the following: ${d.values!.join(", ")}`;
    default:
      return null;
  }
}

function normalize(d: Directive, v: string): string {
  if (d.type === "bool" || d.type === "enum") return v.toLowerCase();
  if (d.type === "memory") return String(parseMemory(v));
  return v;
}

/** Splits a config line into words: spaces separate, "double" and 'single' quotes group. */
export function splitConfigLine(line: string): string[] | null {
  const out: string[] = [];
  const re = /\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+))/gy;
  let m: RegExpExecArray | null;
  let last = 0;
  while ((m = re.exec(line)) !== null) {
    if (m[0].trim() === "") break;
    out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, "$1") : m[2] !== undefined ? m[2] : m[3]);
    last = re.lastIndex;
  }
  return line.slice(last).trim() === "" ? out : null;
}

/**
 * redis-server's argv: an optional config file, then `--name value...` pairs (a value may
 * be several words until the next --flag, e.g. `--save 900 1`). Returns errors, if any.
 */
export function applyArgv(config: Config, argv: string[], readFile: (p: string) => string): string[] {
  let i = 0;
  const errors: string[] = [];
  if (argv[0] && !argv[0].startsWith("--")) {
    config.configFile = argv[0];
    errors.push(...config.loadText(readFile(argv[0])));
    i = 1;
  }
  let text = "";
  while (i < argv.length) {
    const a = argv[i];
    if (!a.startsWith("--")) { errors.push(`unexpected argument '${a}'`); i++; continue; }
    const name = a.slice(2);
    const vals: string[] = [];
    i++;
    while (i < argv.length && !argv[i].startsWith("--")) vals.push(argv[i++]);
    text += name + " " + vals.map((v) => `"${v.replace(/(["\\])/g, "\\$1")}"`).join(" ") + "\n";
  }
  errors.push(...config.loadText(text));
  return errors;
}
