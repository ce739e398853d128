// COMMAND and its subcommands (COUNT, INFO, DOCS, LIST, GETKEYS, GETKEYSANDFLAGS, HELP).
// Every reply comes from the command table (rows as real Redis 7.0.15 replies them), limited
// to the commands LatticeKV supports; key extraction follows the rows' key specs, as
// Redis's getKeysUsingKeySpecs does.
import type { CommandTable, CommandSpec, RespJson } from "./table.js";
import { isSupported } from "./table.js";
import type { CommandContext } from "./context.js";
import type { ReplyWriter } from "../server/reply-writer.js";
import { stringMatch } from "../util/glob.js";
import { replyHelp } from "./help.js";

/** Writes a value stored in RESP-as-JSON form ({s} = simple string). */
export function writeRespJson(reply: ReplyWriter, v: RespJson): void {
  if (v === null) reply.nullBulk();
  else if (typeof v === "number") reply.integer(v);
  else if (typeof v === "string") reply.bulk(v);
  else if (Array.isArray(v)) {
    reply.arrayLen(v.length);
    for (const x of v) writeRespJson(reply, x);
  } else reply.status(v.s);
}

// RESP3 shapes of COMMAND INFO / DOCS (Redis's addReplyCommandInfo / addReplyCommandDocs):
// the table rows are stored as RESP2 arrays; these writers give flags, categories, tips and
// key specs as sets and the key-spec and docs pairs as maps, which mapLen/setLen turn back
// into the same arrays for RESP2.

/** A COMMAND INFO row (10 fields). */
function writeInfoRow(reply: ReplyWriter, row: RespJson[]): void {
  reply.arrayLen(10);
  reply.bulk(row[0] as string);
  reply.integer(row[1] as number);
  writeSet(reply, row[2]);
  reply.integer(row[3] as number);
  reply.integer(row[4] as number);
  reply.integer(row[5] as number);
  writeSet(reply, row[6]);
  writeSet(reply, row[7]);
  const specs = (row[8] as RespJson[] | undefined) ?? [];
  reply.setLen(specs.length);
  for (const ks of specs) writeKeySpec(reply, ks as RespJson[]);
  const subs = (row[9] as RespJson[] | undefined) ?? [];
  // No subcommands: an empty set; otherwise an array of rows.
  if (subs.length === 0) return reply.setLen(0);
  reply.arrayLen(subs.length);
  for (const sub of subs) writeInfoRow(reply, sub as RespJson[]);
}

function writeSet(reply: ReplyWriter, v: RespJson | undefined): void {
  const items = (v as RespJson[] | undefined) ?? [];
  reply.setLen(items.length);
  for (const x of items) writeRespJson(reply, x);
}

/** Flat [k, v, k, v...] pairs as a map whose values are written by `value`. */
function writePairs(reply: ReplyWriter, pairs: RespJson[], value: (key: string, v: RespJson) => void): void {
  reply.mapLen(pairs.length >> 1);
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    reply.bulk(String(pairs[i]));
    value(String(pairs[i]), pairs[i + 1]);
  }
}

function writeKeySpec(reply: ReplyWriter, ks: RespJson[]): void {
  writePairs(reply, ks, (key, v) => {
    if (key === "flags") writeSet(reply, v);
    else if (key === "begin_search" || key === "find_keys") {
      writePairs(reply, v as RespJson[], (k2, v2) => {
        if (k2 === "spec") writePairs(reply, v2 as RespJson[], (_k, v3) => writeRespJson(reply, v3));
        else writeRespJson(reply, v2);
      });
    } else writeRespJson(reply, v);
  });
}

/** A command's COMMAND DOCS map. */
function writeDocs(reply: ReplyWriter, docs: RespJson[]): void {
  writePairs(reply, docs, (key, v) => {
    if (key === "doc_flags") writeSet(reply, v);
    else if (key === "history") writeSet(reply, v);
    else if (key === "arguments") writeArgs(reply, v as RespJson[]);
    else if (key === "subcommands") writePairs(reply, v as RespJson[], (_k, sub) => writeDocs(reply, sub as RespJson[]));
    else writeRespJson(reply, v);
  });
}

function writeArgs(reply: ReplyWriter, args: RespJson[]): void {
  reply.arrayLen(args.length);
  for (const arg of args) {
    writePairs(reply, arg as RespJson[], (key, v) => {
      if (key === "flags") writeSet(reply, v);
      else if (key === "arguments") writeArgs(reply, v as RespJson[]);
      else writeRespJson(reply, v);
    });
  }
}

/** A subcommand is supported when it has an implementation, or its parent runs all of them (OBJECT in the kernel). */
function subSupported(s: CommandSpec): boolean {
  if (s.handler || s.kernelIndex >= 0) return true;
  const p = s.parent;
  return Boolean(p && (p.handler || p.kernelIndex >= 0));
}

/** The COMMAND INFO row, listing only the subcommands LatticeKV supports. */
function infoRow(spec: CommandSpec): RespJson[] {
  if (spec.subcommands.size === 0) return spec.info;
  const row = spec.info.slice();
  row[9] = [...spec.subcommands.values()].filter(subSupported).map((s) => s.info);
  return row;
}

/** Resolves "get" or "config|get" like Redis's lookupCommandBySds (supported commands only). */
export function lookupByFullName(table: CommandTable, name: string): CommandSpec | undefined {
  const parts = name.toLowerCase().split("|");
  if (parts.length > 2) return undefined;
  const top = table.all.get(parts[0]);
  if (!top || !isSupported(top)) return undefined;
  if (parts.length === 1) return top;
  const sub = top.subcommands.get(parts[1]);
  return sub && subSupported(sub) ? sub : undefined;
}

function docField(docs: RespJson[], field: string): RespJson | undefined {
  for (let i = 0; i + 1 < docs.length; i += 2) if (docs[i] === field) return docs[i + 1];
  return undefined;
}

// ---- key specs ------------------------------------------------------------------------------

interface KeyRef { pos: number; flags: RespJson[] }

function specMap(spec: RespJson): Map<string, RespJson> {
  const m = new Map<string, RespJson>();
  const a = spec as RespJson[];
  for (let i = 0; i + 1 < a.length; i += 2) m.set(String(a[i]), a[i + 1]);
  return m;
}

/**
 * Key positions from the command's key specs (Redis's getKeysUsingKeySpecs), or null when
 * a spec cannot be resolved (unknown/incomplete specs, bad numkeys).
 */
export function keysFromSpecs(spec: CommandSpec, argv: Buffer[], includeNotKeys = false): KeyRef[] | null {
  const specs = (spec.info[8] as RespJson[] | undefined) ?? [];
  const argc = argv.length;
  const out: KeyRef[] = [];
  for (const ks of specs) {
    const m = specMap(ks);
    const flags = (m.get("flags") as RespJson[]) ?? [];
    const flagNames = flags.map((f) => (typeof f === "object" && f && !Array.isArray(f) ? f.s : String(f)));
    // Shard channels (SSUBSCRIBE, SPUBLISH) are "not_key" specs; cluster routing asks for them.
    if (flagNames.includes("not_key") && !includeNotKeys) continue;
    const bs = specMap(m.get("begin_search")!);
    const bsSpec = specMap(bs.get("spec")!);
    let first = 0;
    if (bs.get("type") === "index") {
      first = Number(bsSpec.get("index"));
    } else if (bs.get("type") === "keyword") {
      const keyword = String(bsSpec.get("keyword")).toLowerCase();
      const startfrom = Number(bsSpec.get("startfrom"));
      const start = startfrom > 0 ? startfrom : argc + startfrom;
      const end = startfrom > 0 ? argc - 1 : 1;
      for (let i = start; i !== end; i = start <= end ? i + 1 : i - 1) {
        if (i >= argc || i < 1) break;
        if (argv[i].toString("latin1").toLowerCase() === keyword) { first = i + 1; break; }
      }
      if (!first) continue;
    } else {
      return null;
    }
    const fk = specMap(m.get("find_keys")!);
    const fkSpec = specMap(fk.get("spec")!);
    let last: number;
    let step: number;
    if (fk.get("type") === "range") {
      step = Number(fkSpec.get("keystep"));
      const lastkey = Number(fkSpec.get("lastkey"));
      const limit = Number(fkSpec.get("limit"));
      if (lastkey >= 0) last = first + lastkey;
      else if (!limit) last = argc + lastkey;
      else last = first + (Math.floor((argc - first) / limit) + lastkey);
    } else if (fk.get("type") === "keynum") {
      step = Number(fkSpec.get("keystep"));
      const idx = Number(fkSpec.get("keynumidx"));
      if (idx >= argc || first + idx >= argc) return null;
      const s = argv[first + idx].toString("latin1");
      if (!/^(0|-?[1-9][0-9]*)$/.test(s) || Number(s) < 0) return null;
      first += Number(fkSpec.get("firstkey"));
      last = first + Number(s) - 1;
    } else {
      return null;
    }
    if (last >= argc || last < first || first >= argc) return null;
    for (let i = first; i <= last; i += step) out.push({ pos: i, flags });
    if (flagNames.includes("incomplete")) return null;
  }
  return out;
}

/** Key flags of commands whose specs say variable_flags (Redis's setGetKeys, bitfieldGetKeys). */
export function variableFlags(name: string, argv: Buffer[]): RespJson[] | null {
  const rw: RespJson[] = [{ s: "RW" }, { s: "access" }, { s: "update" }];
  if (name === "set") {
    for (let i = 3; i < argv.length; i++) if (argv[i].toString("latin1").toLowerCase() === "get") return rw;
    return [{ s: "OW" }, { s: "update" }];
  }
  if (name === "bitfield") {
    for (let i = 2; i < argv.length; i++) {
      const a = argv[i].toString("latin1").toLowerCase();
      const rem = argv.length - i - 1;
      if (a === "get" && rem >= 2) i += 2;
      else if (a === "overflow" && rem >= 1) i += 1;
      else return rw;
    }
    return [{ s: "RO" }, { s: "access" }];
  }
  return null;
}

/**
 * MIGRATE's keys (Redis's migrateGetKeys; its KEYS spec is incomplete, so the specs cannot
 * say): the key argument, or, when it is "", the keys after KEYS. AUTH's password and AUTH2's
 * username and password are skipped, since they may read "KEYS". KEYS after a non-empty key
 * argument: no keys (MIGRATE itself refuses that form).
 */
export function migrateKeys(argv: Buffer[]): KeyRef[] {
  const flags: RespJson[] = [{ s: "RW" }, { s: "access" }, { s: "delete" }];
  for (let i = 6; i < argv.length; i++) {
    const word = argv[i].toString("latin1").toLowerCase();
    if (word === "auth") { i += 1; continue; }
    if (word === "auth2") { i += 2; continue; }
    if (word !== "keys") continue;
    if (argv[3].length > 0) return [];
    const out: KeyRef[] = [];
    for (let k = i + 1; k < argv.length; k++) out.push({ pos: k, flags });
    return out;
  }
  return argv.length > 3 ? [{ pos: 3, flags }] : [];
}

/** SORT's keys when the specs cannot say (Redis's sortGetKeys): the key and STORE target. */
export function sortKeys(argv: Buffer[]): KeyRef[] {
  const out: KeyRef[] = [{ pos: 1, flags: [{ s: "RO" }, { s: "access" }] }];
  const skip: Record<string, number> = { limit: 2, get: 1, by: 1 };
  let store = -1;
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i].toString("latin1").toLowerCase();
    if (a in skip) i += skip[a];
    else if (a === "store" && i + 1 < argv.length) { store = i + 1; i++; }
  }
  if (store > 0) out.push({ pos: store, flags: [{ s: "OW" }, { s: "update" }] });
  return out;
}

function getKeys(ctx: CommandContext, withFlags: boolean): void {
  const { server, argv, reply } = ctx;
  const args = argv.slice(2);
  const cmd = server.table.lookup(args[0].toString("latin1"));
  let target = cmd;
  if (cmd && cmd.subcommands.size > 0 && args.length >= 2) {
    target = cmd.subcommands.get(args[1].toString("latin1").toLowerCase());
    if (target && !subSupported(target)) target = undefined;
  }
  if (!target) return reply.error("Invalid command specified");
  const specs = (target.info[8] as RespJson[] | undefined) ?? [];
  const name = target.name;
  if (specs.length === 0 && name !== "sort" && name !== "sort_ro") return reply.error("The command has no key arguments");
  if ((target.arity > 0 && target.arity !== args.length) || args.length < -target.arity) {
    return reply.error("Invalid number of arguments specified for command");
  }
  let keys = name === "migrate" ? migrateKeys(args) : keysFromSpecs(target, args);
  if (keys === null && (name === "sort" || name === "sort_ro")) keys = sortKeys(args);
  if (keys !== null && keys.length === 0 && name === "migrate") keys = null; // getKeysSubcommandImpl: none found
  if (keys === null) {
    if (target.flags.has("no_mandatory_keys")) return reply.arrayLen(0);
    return reply.error("Invalid arguments specified for command");
  }
  const varFlags = variableFlags(name, args);
  reply.arrayLen(keys.length);
  for (const k of keys) {
    if (!withFlags) { reply.bulk(args[k.pos]); continue; }
    reply.arrayLen(2);
    reply.bulk(args[k.pos]);
    writeSet(reply, varFlags ?? k.flags);
  }
}

// ---- registration ------------------------------------------------------------------------------

export function registerCommandCommand(t: CommandTable): void {
  t.define("command", ({ server, reply }) => {
    const all = server.table.supported();
    reply.arrayLen(all.length);
    for (const c of all) writeInfoRow(reply, infoRow(c));
  });

  t.define("command|count", ({ server, reply }) => reply.integer(server.table.supported().length));

  t.define("command|info", ({ server, argv, reply }) => {
    if (argv.length === 2) {
      const all = server.table.supported();
      reply.arrayLen(all.length);
      for (const c of all) writeInfoRow(reply, infoRow(c));
      return;
    }
    reply.arrayLen(argv.length - 2);
    for (let i = 2; i < argv.length; i++) {
      const c = lookupByFullName(server.table, argv[i].toString("latin1"));
      if (c) writeInfoRow(reply, infoRow(c));
      else reply.nullBulk(); // addReplyNull: $-1 in RESP2
    }
  });

  t.define("command|docs", ({ server, argv, reply }) => {
    const found: CommandSpec[] = [];
    if (argv.length === 2) found.push(...server.table.supported());
    else {
      for (let i = 2; i < argv.length; i++) {
        const c = lookupByFullName(server.table, argv[i].toString("latin1"));
        if (c) found.push(c);
      }
    }
    reply.mapLen(found.length);
    for (const c of found) {
      reply.bulk(c.name);
      writeDocs(reply, docsOf(c));
    }
  });

  t.define("command|list", ({ server, argv, reply }) => {
    let filter: ((c: CommandSpec) => boolean) | null = null;
    for (let i = 2; i < argv.length; i++) {
      const more = argv.length - 1 - i;
      if (argv[i].toString("latin1").toLowerCase() === "filterby" && more === 2) {
        const type = argv[i + 1].toString("latin1").toLowerCase();
        const arg = argv[i + 2];
        if (type === "module") filter = () => false;
        else if (type === "aclcat") {
          const cat = "@" + arg.toString("latin1").toLowerCase();
          filter = (c) => c.aclCategories.includes(cat);
        } else if (type === "pattern") filter = (c) => stringMatch(arg, c.name, true);
        else return reply.error("syntax error");
        i += 2;
      } else {
        return reply.error("syntax error");
      }
    }
    const names: string[] = [];
    for (const c of server.table.supported()) {
      if (!filter || filter(c)) names.push(c.name);
      for (const s of c.subcommands.values()) if (subSupported(s) && (!filter || filter(s))) names.push(s.name);
    }
    reply.bulkArray(names);
  });

  t.define("command|getkeys", (ctx) => getKeys(ctx, false));
  t.define("command|getkeysandflags", (ctx) => getKeys(ctx, true));

  t.define("command|help", (ctx) => replyHelp(ctx, [
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
  ]));
}

/** A command's docs, listing only supported subcommands. */
function docsOf(c: CommandSpec): RespJson[] {
  const subs = docField(c.docs, "subcommands");
  if (!Array.isArray(subs)) return c.docs;
  const kept: RespJson[] = [];
  for (let i = 0; i + 1 < subs.length; i += 2) {
    const name = String(subs[i]).split("|")[1];
    const s = c.subcommands.get(name);
    if (s && subSupported(s)) kept.push(subs[i], subs[i + 1]);
  }
  const out = c.docs.slice();
  for (let i = 0; i + 1 < out.length; i += 2) if (out[i] === "subcommands") out[i + 1] = kept;
  return out;
}
