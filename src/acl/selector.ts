// An ACL selector (Redis 7.0's aclSelector, acl.c): which commands, keys and channels a
// set of rules allows. Every user has a root selector (the rules outside parentheses) and
// may have more, written `(...)`; a command is allowed when any one selector allows it all.
//
// Commands are numbered once per command table (CommandIds): every Redis 7.0 command and
// subcommand, implemented or not, as Redis numbers its orig_commands. A selector holds one
// byte per id plus a last "future commands" byte that only +@all/allcommands sets, which is
// how ACL GETUSER/LIST know to describe the rules as +@all minus something.
//
// Strings (patterns, channels, first-args) are latin1 JS strings: one char per byte.
import type { CommandSpec, CommandTable } from "../commands/table.js";

/** Redis's ACLCommandCategories, in its order (ACL CAT, rule descriptions). */
export const CATEGORIES = [
  "keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
  "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous",
  "connection", "transaction", "scripting",
] as const;

export const KEY_READ = 1;
export const KEY_WRITE = 2;
export const KEY_ALL = KEY_READ | KEY_WRITE;

/** Why ACLSetSelector/ACLSetUser rejected an op (Redis sets errno; ACLSetUserStringError words it). */
export type AclOpError = "ENOENT" | "EINVAL" | "EEXIST" | "EISDIR" | "ENODEV" | "EBADMSG" | "EALREADY" | "ECHILD";

export class AclOpFailure extends Error {
  constructor(readonly code: AclOpError) { super(code); }
}

/** Command ids and category masks for one command table. */
export class CommandIds {
  readonly specs: CommandSpec[] = [];
  readonly ids = new Map<CommandSpec, number>();
  /** Bit i set: the command is in CATEGORIES[i]. */
  readonly categories: number[] = [];
  /** Top-level commands in table order; each one's subcommands follow it in ACL walks. */
  readonly top: CommandSpec[] = [];

  constructor(readonly table: CommandTable) {
    for (const spec of table.all.values()) {
      this.add(spec);
      this.top.push(spec);
      for (const sub of spec.subcommands.values()) this.add(sub);
    }
  }

  private add(spec: CommandSpec): void {
    this.ids.set(spec, this.specs.length);
    this.specs.push(spec);
    let mask = 0;
    for (const c of spec.aclCategories) {
      const i = CATEGORIES.indexOf(c.replace(/^@/, "") as (typeof CATEGORIES)[number]);
      if (i >= 0) mask |= 1 << i;
    }
    this.categories.push(mask);
  }

  get count(): number { return this.specs.length; }
  /** The reserved "future commands" slot (USER_COMMAND_BITS_COUNT-1 in Redis). */
  get futureId(): number { return this.specs.length; }

  /** Redis's ACLLookupCommand: "name" or "container|sub", case-insensitive, in the full table. */
  lookup(name: string): CommandSpec | undefined {
    const parts = name.toLowerCase().split("|");
    if (parts.length > 2) return undefined;
    const top = this.table.all.get(parts[0]);
    if (!top) return undefined;
    if (parts.length === 1) return top;
    return top.subcommands.get(parts[1]);
  }

  /** Visits every command with its subcommands right after it (orig_commands walk). */
  forEach(fn: (spec: CommandSpec, id: number) => void): void {
    for (const spec of this.top) {
      fn(spec, this.ids.get(spec)!);
      for (const sub of spec.subcommands.values()) fn(sub, this.ids.get(sub)!);
    }
  }
}

const idsByTable = new WeakMap<CommandTable, CommandIds>();
export function commandIds(table: CommandTable): CommandIds {
  let ids = idsByTable.get(table);
  if (!ids) idsByTable.set(table, (ids = new CommandIds(table)));
  return ids;
}

export interface KeyPattern { pattern: string; flags: number }

export class Selector {
  allKeys = false;
  allChannels = false;
  allCommands = false;
  /** One byte per command id, plus the future-commands byte at the end. */
  allowed: Uint8Array;
  /** Allowed first arguments of an otherwise blocked command ("+select|0"), by command id. */
  firstArgs: Map<number, string[]> | null = null;
  patterns: KeyPattern[] = [];
  channels: string[] = [];

  constructor(readonly ids: CommandIds, readonly root: boolean, allChannelsByDefault = false) {
    this.allowed = new Uint8Array(ids.count + 1);
    this.allChannels = allChannelsByDefault;
  }

  copy(): Selector {
    const s = new Selector(this.ids, this.root);
    s.allKeys = this.allKeys;
    s.allChannels = this.allChannels;
    s.allCommands = this.allCommands;
    s.allowed = this.allowed.slice();
    s.firstArgs = this.firstArgs ? new Map([...this.firstArgs].map(([k, v]) => [k, [...v]])) : null;
    s.patterns = this.patterns.map((p) => ({ ...p }));
    s.channels = [...this.channels];
    return s;
  }

  canRunFutureCommands(): boolean { return this.allowed[this.ids.futureId] === 1; }

  private setBit(id: number, on: boolean): void {
    this.allowed[id] = on ? 1 : 0;
    if (!on) this.allCommands = false;
  }

  /** ACLChangeSelectorPerm: a command and (for a container) all its subcommands. */
  changePerm(spec: CommandSpec, allow: boolean): void {
    const id = this.ids.ids.get(spec)!;
    this.setBit(id, allow);
    this.firstArgs?.delete(id);
    for (const sub of spec.subcommands.values()) this.setBit(this.ids.ids.get(sub)!, allow);
  }

  private setCategory(category: string, allow: boolean): boolean {
    const i = CATEGORIES.indexOf(category.toLowerCase() as (typeof CATEGORIES)[number]);
    if (i < 0) return false;
    const bit = 1 << i;
    this.ids.forEach((spec, id) => {
      if (this.ids.categories[id] & bit) this.changePerm(spec, allow);
    });
    return true;
  }

  /** Commands of a category this selector allows (on) and does not (off). */
  countCategory(i: number): { on: number; off: number } {
    let on = 0, off = 0;
    const bit = 1 << i;
    for (let id = 0; id < this.ids.count; id++) {
      if (!(this.ids.categories[id] & bit)) continue;
      if (this.allowed[id]) on++;
      else off++;
    }
    return { on, off };
  }

  /** Redis's ACLSetSelector: applies one rule, or throws AclOpFailure. */
  apply(op: string): void {
    const lower = op.toLowerCase();
    if (lower === "allkeys" || op === "~*") {
      this.allKeys = true;
      this.patterns = [];
    } else if (lower === "resetkeys") {
      this.allKeys = false;
      this.patterns = [];
    } else if (lower === "allchannels" || op === "&*") {
      this.allChannels = true;
      this.channels = [];
    } else if (lower === "resetchannels") {
      this.allChannels = false;
      this.channels = [];
    } else if (lower === "allcommands" || lower === "+@all") {
      this.allowed.fill(1);
      this.allCommands = true;
      this.firstArgs = null;
    } else if (lower === "nocommands" || lower === "-@all") {
      this.allowed.fill(0);
      this.allCommands = false;
      this.firstArgs = null;
    } else if (op[0] === "~" || op[0] === "%") {
      if (this.allKeys) throw new AclOpFailure("EEXIST");
      let flags = 0;
      let offset = 1;
      if (op[0] === "%") {
        for (; offset < op.length; offset++) {
          const ch = op[offset].toUpperCase();
          if (ch === "R" && !(flags & KEY_READ)) flags |= KEY_READ;
          else if (ch === "W" && !(flags & KEY_WRITE)) flags |= KEY_WRITE;
          else if (op[offset] === "~") { offset++; break; }
          else throw new AclOpFailure("EINVAL");
        }
      } else {
        flags = KEY_ALL;
      }
      const pattern = op.slice(offset);
      if (hasSpaces(pattern)) throw new AclOpFailure("EINVAL");
      const existing = this.patterns.find((p) => p.pattern === pattern);
      if (existing) existing.flags |= flags;
      else this.patterns.push({ pattern, flags });
      this.allKeys = false;
    } else if (op[0] === "&") {
      if (this.allChannels) throw new AclOpFailure("EISDIR");
      const pattern = op.slice(1);
      if (hasSpaces(pattern)) throw new AclOpFailure("EINVAL");
      if (!this.channels.includes(pattern)) this.channels.push(pattern);
      this.allChannels = false;
    } else if (op[0] === "+" && op[1] !== "@") {
      const bar = op.lastIndexOf("|");
      if (bar < 0) {
        const spec = this.ids.lookup(op.slice(1));
        if (!spec) throw new AclOpFailure("ENOENT");
        this.changePerm(spec, true);
        return;
      }
      const name = op.slice(1, bar);
      const sub = op.slice(bar + 1);
      const spec = this.ids.lookup(name);
      if (!spec) throw new AclOpFailure("ENOENT");
      if (spec.parent) throw new AclOpFailure("ECHILD");
      if (sub.length === 0) throw new AclOpFailure("EINVAL");
      if (spec.subcommands.size > 0) {
        const s = this.ids.lookup(op.slice(1));
        if (!s) throw new AclOpFailure("ENOENT");
        this.changePerm(s, true);
      } else {
        // SELECT|0, DEBUG|OBJECT: a first argument of a command without subcommands.
        const id = this.ids.ids.get(spec)!;
        this.firstArgs ??= new Map();
        const list = this.firstArgs.get(id) ?? [];
        if (!list.some((a) => a.toLowerCase() === sub.toLowerCase())) list.push(sub);
        this.firstArgs.set(id, list);
      }
    } else if (op[0] === "-" && op[1] !== "@") {
      const spec = this.ids.lookup(op.slice(1));
      if (!spec) throw new AclOpFailure("ENOENT");
      this.changePerm(spec, false);
    } else if ((op[0] === "+" || op[0] === "-") && op[1] === "@") {
      if (!this.setCategory(op.slice(2), op[0] === "+")) throw new AclOpFailure("ENOENT");
    } else {
      throw new AclOpFailure("EINVAL");
    }
  }

  /** Redis's ACLDescribeSelectorCommandRules: +@all/-@all, best-fit categories, then single commands. */
  describeCommands(): string {
    const ids = this.ids;
    const additive = !this.canRunFutureCommands();
    const rules: string[] = [additive ? "-@all" : "+@all"];
    const fake = new Selector(ids, false);
    fake.apply(additive ? "-@all" : "+@all");
    const temp = new Selector(ids, false);
    temp.allowed = this.allowed.slice();
    const applied = new Array(CATEGORIES.length).fill(false);
    for (;;) {
      let best = -1;
      let minDiff = Number.MAX_SAFE_INTEGER, maxSame = 0;
      for (let j = 0; j < CATEGORIES.length; j++) {
        if (applied[j]) continue;
        const { on, off } = temp.countCategory(j);
        const diff = additive ? off : on;
        const same = additive ? on : off;
        if (same > diff && (diff < minDiff || (diff === minDiff && same > maxSame))) {
          best = j;
          minDiff = diff;
          maxSame = same;
        }
      }
      if (best === -1) break;
      const op = (additive ? "+@" : "-@") + CATEGORIES[best];
      fake.apply(op);
      temp.apply((additive ? "-@" : "+@") + CATEGORIES[best]);
      rules.push(op);
      applied[best] = true;
    }
    // Single commands that still differ, and first-args of blocked commands.
    ids.forEach((spec, id) => {
      const userBit = this.allowed[id] === 1;
      const fakeBit = fake.allowed[id] === 1;
      if (userBit !== fakeBit) {
        rules.push((userBit ? "+" : "-") + spec.name);
        fake.changePerm(spec, userBit);
      }
      const args = this.firstArgs?.get(id);
      if (!userBit && args) for (const a of args) rules.push(`+${spec.name}|${a}`);
    });
    return rules.join(" ");
  }

  /** Redis's ACLDescribeSelector: keys, channels, commands. */
  describe(): string {
    const parts: string[] = [];
    if (this.allKeys) parts.push("~*");
    else for (const p of this.patterns) parts.push(patternString(p));
    if (this.allChannels) parts.push("&*");
    else {
      parts.push("resetchannels");
      for (const c of this.channels) parts.push("&" + c);
    }
    parts.push(this.describeCommands());
    return parts.join(" ");
  }
}

export function patternString(p: KeyPattern): string {
  const prefix = p.flags === KEY_ALL ? "~" : p.flags === KEY_READ ? "%R~" : "%W~";
  return prefix + p.pattern;
}

/** Redis's ACLStringHasSpaces: whitespace or NUL (user names, patterns). */
export function hasSpaces(s: string): boolean {
  return /[\s\0\v]/.test(s);
}
