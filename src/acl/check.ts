// Permission checks (Redis's ACLCheckAllUserCommandPerm and ACLSelectorCheckCmd): may a
// user run this command with these arguments? Keys come from the command table's key specs
// (with Redis's flags: ACCESS needs read permission, INSERT/DELETE/UPDATE need write), and
// channels from Redis's fixed table of pub/sub commands.
import type { CommandSpec } from "../commands/table.js";
import type { RespJson } from "../commands/table.js";
import { keysFromSpecs, variableFlags as variableKeyFlags, sortKeys as sortKeyRefs, migrateKeys } from "../commands/command.js";
import { stringMatch } from "../util/glob.js";
import { KEY_READ, KEY_WRITE, type Selector } from "./selector.js";
import type { User } from "./user.js";

export const ACL_OK = 0;
export const ACL_DENIED_CMD = 1;
export const ACL_DENIED_KEY = 2;
export const ACL_DENIED_AUTH = 3;
export const ACL_DENIED_CHANNEL = 4;

export interface CheckResult { result: number; /** argv index of the key or channel denied */ index: number }

interface KeyRef { pos: number; flags: number }

const CHANNEL_PUBLISH = 1, CHANNEL_SUBSCRIBE = 2, CHANNEL_PATTERN = 4;

/** Redis's commands_with_channels (db.c), only the ones ACL checks (publish, subscribe). */
const CHANNEL_COMMANDS: Record<string, { flags: number; start: number; count: number }> = {
  subscribe: { flags: CHANNEL_SUBSCRIBE, start: 1, count: -1 },
  ssubscribe: { flags: CHANNEL_SUBSCRIBE, start: 1, count: -1 },
  psubscribe: { flags: CHANNEL_PATTERN | CHANNEL_SUBSCRIBE, start: 1, count: -1 },
  publish: { flags: CHANNEL_PUBLISH, start: 1, count: 1 },
  spublish: { flags: CHANNEL_PUBLISH, start: 1, count: 1 },
};

function flagNames(flags: RespJson[]): string[] {
  return flags.map((f) => (typeof f === "object" && f && !Array.isArray(f) ? f.s : String(f)).toLowerCase());
}

/** ACCESS → read; INSERT, DELETE, UPDATE → write (ACLSelectorCheckKey). */
function aclKeyFlags(flags: RespJson[]): number {
  let f = 0;
  for (const n of flagNames(flags)) {
    if (n === "access") f |= KEY_READ;
    else if (n === "insert" || n === "delete" || n === "update") f |= KEY_WRITE;
  }
  return f;
}

/** Whether the command has key arguments at all (doesCommandHaveKeys). */
function hasKeys(spec: CommandSpec): boolean {
  const specs = (spec.info[8] as RespJson[] | undefined) ?? [];
  if (spec.flags.has("movablekeys")) return true;
  for (const ks of specs) {
    const a = ks as RespJson[];
    const i = a.indexOf("flags");
    if (i < 0 || !flagNames(a[i + 1] as RespJson[]).includes("not_key")) return true;
  }
  return false;
}

/** getKeysFromCommandWithSpecs: positions and ACL flags of argv's keys. */
export function commandKeys(spec: CommandSpec, argv: Buffer[]): KeyRef[] {
  const name = spec.name;
  if (name === "migrate" || name === "sort" || name === "sort_ro") {
    const refs = name === "migrate" ? migrateKeys(argv) : keysFromSpecs(spec, argv) ?? sortKeyRefs(argv);
    return refs.map((k) => ({ pos: k.pos, flags: aclKeyFlags(k.flags) }));
  }
  const refs = keysFromSpecs(spec, argv) ?? [];
  const varFlags = variableKeyFlags(name, argv);
  return refs.map((k) => ({ pos: k.pos, flags: aclKeyFlags(varFlags ?? k.flags) }));
}

function checkKey(s: Selector, key: string, flags: number): boolean {
  if (s.allKeys) return true;
  for (const p of s.patterns) {
    if ((p.flags & flags) !== flags) continue;
    if (stringMatch(p.pattern, key)) return true;
  }
  return false;
}

/** ACLCheckChannelAgainstList: a pattern must be listed as is, a channel match a listed pattern. */
export function channelInList(list: string[], channel: string, isPattern: boolean): boolean {
  return checkChannel(list, channel, isPattern);
}

function checkChannel(list: string[], channel: string, isPattern: boolean): boolean {
  for (const p of list) {
    if (isPattern ? p === channel : stringMatch(p, channel)) return true;
  }
  return false;
}

/** ACLSelectorCheckCmd. keys is computed once for all selectors. */
function selectorCheck(s: Selector, spec: CommandSpec, id: number, argv: Buffer[], keys: () => KeyRef[]): CheckResult {
  if (!s.allCommands && !spec.flags.has("no_auth")) {
    if (!s.allowed[id]) {
      const args = s.firstArgs?.get(id);
      if (argv.length < 2 || !args) return { result: ACL_DENIED_CMD, index: 0 };
      const first = argv[spec.parent ? 2 : 1]?.toString("latin1").toLowerCase();
      if (first === undefined || !args.some((a) => a.toLowerCase() === first)) return { result: ACL_DENIED_CMD, index: 0 };
    }
  }
  if (!s.allKeys && hasKeys(spec)) {
    for (const k of keys()) {
      if (!checkKey(s, argv[k.pos].toString("latin1"), k.flags)) return { result: ACL_DENIED_KEY, index: k.pos };
    }
  }
  const ch = CHANNEL_COMMANDS[spec.name];
  if (!s.allChannels && ch) {
    const stop = ch.count === -1 ? argv.length : Math.min(argv.length, ch.start + ch.count);
    for (let i = ch.start; i < stop; i++) {
      if (!checkChannel(s.channels, argv[i].toString("latin1"), (ch.flags & CHANNEL_PATTERN) !== 0)) {
        return { result: ACL_DENIED_CHANNEL, index: i };
      }
    }
  }
  return { result: ACL_OK, index: 0 };
}

/**
 * ACLCheckAllUserCommandPerm: OK when any selector allows the whole command; otherwise
 * the most relevant denial (a key or channel over the command itself, the last one found).
 */
export function checkCommand(user: User, spec: CommandSpec, argv: Buffer[]): CheckResult {
  const id = user.ids.ids.get(spec)!;
  let cached: KeyRef[] | null = null;
  const keys = () => (cached ??= commandKeys(spec, argv));
  let relevant = ACL_DENIED_CMD;
  let lastIdx = 0;
  for (const s of user.selectors) {
    const r = selectorCheck(s, spec, id, argv, keys);
    if (r.result === ACL_OK) return r;
    if (r.result > relevant || (r.result === relevant && r.index > lastIdx)) {
      relevant = r.result;
      lastIdx = r.index;
    }
  }
  return { result: relevant, index: lastIdx };
}

/** ACLUserCheckChannelPerm (for pub/sub families re-checking a subscription). */
export function userCanAccessChannel(user: User, channel: string, isPattern: boolean): boolean {
  for (const s of user.selectors) {
    if (s.allChannels) return true;
    if (checkChannel(s.channels, channel, isPattern)) return true;
  }
  return false;
}

/**
 * ACLUserCheckCmdWithUnrestrictedKeyAccess: some selector allows the command and has the
 * given access (KEY_READ / KEY_WRITE) to every key (SORT's BY and GET patterns need it).
 */
export function userHasUnrestrictedKeyAccess(user: User, spec: CommandSpec, argv: Buffer[], flags: number): boolean {
  const id = user.ids.ids.get(spec)!;
  let cached: KeyRef[] | null = null;
  const keys = () => (cached ??= commandKeys(spec, argv));
  for (const s of user.selectors) {
    if (selectorCheck(s, spec, id, argv, keys).result !== ACL_OK) continue;
    if (s.allKeys) return true;
    if (s.patterns.some((p) => (p.flags & flags) === flags && p.pattern === "*")) return true;
  }
  return false;
}
