// The command table: one row per command, the single source for COMMAND output, arity
// errors, key extraction, write tracking and (later) ACL categories and cluster routing.
//
// Rows come from redis-commands.json, generated from a real Redis 7.0.15 by
// scripts/gen-command-table.mjs, so names, arities, flags, key specs and categories are
// Redis's own. A row is *supported* when it has an implementation: a kernel handler
// (bound at start-up, see server/shard.ts) or a host handler registered with
// defineHostCommand(). Unsupported rows stay invisible: COMMAND does not list them and
// calling them answers "unknown command", like Redis for a command it does not have.

import { readFileSync } from "node:fs";
import { packageFile } from "../util/package-files.js";
import type { CommandContext } from "./context.js";
import type { Server } from "../server/server.js";

export type HostHandler = (ctx: CommandContext) => void;

/** A RESP value as stored in redis-commands.json: {s} is a simple string. */
export type RespJson = string | number | null | { s: string } | RespJson[];

export interface CommandSpec {
  /** Lowercase name; "config|get" for a subcommand. */
  name: string;
  arity: number;
  flags: Set<string>;
  firstKey: number;
  lastKey: number;
  keyStep: number;
  aclCategories: string[];
  /** The row exactly as Redis's COMMAND INFO replies it. */
  info: RespJson[];
  docs: RespJson[];
  subcommands: Map<string, CommandSpec>;
  parent?: CommandSpec;
  /** Host implementation, if any. */
  handler?: HostHandler;
  /** Kernel implementation index per shard kernel (same on all shards), or -1. */
  kernelIndex: number;
  /** Kernel calls beyond one that the router's fan-out made for one client call (commandstats). */
  fanOutCalls?: number;
  // Stats for INFO commandstats (host-run commands; kernel keeps its own counters).
  calls: number;
  failedCalls: number;
  rejectedCalls: number;
  usec: number;
  /** Latency histogram for INFO latencystats (commands/stats.ts), created at the first call. */
  latency?: { record(ns: number): void; recordTimes(ns: number, times: number): void; valueAt(p: number): number };
  /**
   * Runs after each call of the command, however it ran (kernel, routed, EXEC, script):
   * FLUSHALL's synchronous save when save points are set (src/commands/persistence.ts).
   */
  afterCall?: (server: Server) => void;
  /** The flags a script's call of this row checks, as bits (src/commands/scripting.ts scriptFlagsOf), set at its first such call. */
  scriptFlags?: number;
}

interface GeneratedFile { redisVersion: string; commands: { info: RespJson[]; docs: RespJson[] }[] }

// tsc does not copy JSON into dist/, so the compiled file reads it from src/.
const generatedPath = packageFile("src/commands/redis-commands.json");

function simple(v: RespJson): string {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v.s : String(v);
}

/**
 * What a row says, derived once per process and shared by every Server's spec of it (nothing
 * changes these after): each Server builds its own specs, for their per-server counters and
 * handlers, and the simulator boots many servers per run (deriving them per Server was ~4% of
 * a seed's CPU).
 */
interface RowFacts extends Pick<CommandSpec, "name" | "arity" | "flags" | "firstKey" | "lastKey" | "keyStep" | "aclCategories"> {
  /** The subcommands' rows, each with its docs. */
  subs: { info: RespJson[]; docs: RespJson[] }[];
}
const rowFacts = new WeakMap<RespJson[], RowFacts>();

function factsOf(info: RespJson[], docs: RespJson[]): RowFacts {
  let f = rowFacts.get(info);
  if (f !== undefined) return f;
  const subDocs = new Map<string, RespJson[]>();
  const subDocsFlat = docFieldOf(docs, "subcommands");
  if (Array.isArray(subDocsFlat)) {
    for (let i = 0; i + 1 < subDocsFlat.length; i += 2) subDocs.set(String(subDocsFlat[i]), subDocsFlat[i + 1] as RespJson[]);
  }
  f = {
    name: String(info[0]),
    arity: Number(info[1]),
    flags: new Set((info[2] as RespJson[]).map(simple)),
    firstKey: Number(info[3]),
    lastKey: Number(info[4]),
    keyStep: Number(info[5]),
    aclCategories: (info[6] as RespJson[]).map(simple),
    subs: ((info[9] as RespJson[] | undefined) ?? []).map((sub) => {
      const row = sub as RespJson[];
      return { info: row, docs: subDocs.get(String(row[0])) ?? [] };
    }),
  };
  rowFacts.set(info, f);
  return f;
}

function toSpec(info: RespJson[], docs: RespJson[], parent?: CommandSpec): CommandSpec {
  const f = factsOf(info, docs);
  const spec: CommandSpec = {
    name: f.name,
    arity: f.arity,
    flags: f.flags,
    firstKey: f.firstKey,
    lastKey: f.lastKey,
    keyStep: f.keyStep,
    aclCategories: f.aclCategories,
    info,
    docs,
    subcommands: new Map(),
    parent,
    kernelIndex: -1,
    calls: 0,
    failedCalls: 0,
    rejectedCalls: 0,
    usec: 0,
  };
  for (const sub of f.subs) {
    const s = toSpec(sub.info, sub.docs, spec);
    spec.subcommands.set(s.name.split("|")[1], s);
  }
  return spec;
}

function docFieldOf(docs: RespJson[], field: string): RespJson | undefined {
  for (let i = 0; i + 1 < docs.length; i += 2) if (docs[i] === field) return docs[i + 1];
  return undefined;
}

/**
 * The generated file, read and parsed once per process: every Server builds its table from it
 * (the rows are only read), and the simulator boots a few servers per run.
 */
let generated: GeneratedFile | undefined;
function generatedFile(): GeneratedFile {
  return (generated ??= JSON.parse(readFileSync(generatedPath, "utf8")) as GeneratedFile);
}

/** Every Redis 7.0.15 command name (top level, lower case), supported here or not. */
export function redisCommandNames(): string[] {
  const file = generatedFile();
  return file.commands.map((c) => String(c.info[0]).toLowerCase());
}

export class CommandTable {
  readonly all = new Map<string, CommandSpec>();
  readonly redisVersion: string;
  /** Commands renamed or removed by rename-command (the kernel's ones cannot take client input as is). */
  readonly renamed = new Set<CommandSpec>();
  /** Bumped when a name stops finding its command (rename-command): lookup caches compare it. */
  version = 0;

  constructor() {
    const file = generatedFile();
    this.redisVersion = file.redisVersion;
    for (const c of file.commands) {
      const spec = toSpec(c.info, c.docs);
      this.all.set(spec.name, spec);
    }
  }

  /** Registers a host implementation for a command (or "parent|sub" subcommand). */
  define(name: string, handler: HostHandler): void {
    const spec = this.find(name);
    if (!spec) throw new Error(`no Redis command named ${name} in redis-commands.json`);
    // Two families claiming one command would silently shadow each other.
    if (spec.handler) throw new Error(`${name} is defined twice`);
    spec.handler = handler;
  }

  /**
   * rename-command (config.c): the command answers to `to` instead of `from`; to "" it is
   * gone. Names were checked when the directive was read (Config.addRename).
   */
  rename(from: string, to: string): void {
    const spec = this.all.get(from.toLowerCase());
    if (!spec) return;
    this.all.delete(from.toLowerCase());
    if (to !== "") this.all.set(to.toLowerCase(), spec);
    this.renamed.add(spec);
    this.version++;
  }

  /** Whether a command the kernel runs was renamed: client input must all go through the host. */
  kernelRenamed(): boolean {
    for (const s of this.renamed) if (s.kernelIndex >= 0 || [...s.subcommands.values()].some((c) => c.kernelIndex >= 0)) return true;
    return false;
  }

  find(name: string): CommandSpec | undefined {
    const [top, sub] = name.split("|");
    const spec = this.all.get(top);
    return sub === undefined ? spec : spec?.subcommands.get(sub);
  }

  /** The supported command (case-insensitive) or undefined. */
  lookup(name: string): CommandSpec | undefined {
    const spec = this.all.get(name.toLowerCase());
    return spec && isSupported(spec) ? spec : undefined;
  }

  supported(): CommandSpec[] {
    return [...this.all.values()].filter(isSupported);
  }
}

export function isSupported(spec: CommandSpec): boolean {
  if (spec.handler || spec.kernelIndex >= 0) return true;
  for (const s of spec.subcommands.values()) if (s.handler || s.kernelIndex >= 0) return true;
  return false;
}

/** Redis's arity rule: positive means exactly, negative means at least |arity| (name included). */
export function arityOk(spec: CommandSpec, argc: number): boolean {
  return spec.arity >= 0 ? argc === spec.arity : argc >= -spec.arity;
}

/** Positions of the key arguments by first/last/step (enough for every command we host so far). */
export function keyPositions(spec: CommandSpec, argc: number): number[] {
  if (spec.firstKey <= 0) return [];
  const last = spec.lastKey < 0 ? argc + spec.lastKey : spec.lastKey;
  const out: number[] = [];
  for (let i = spec.firstKey; i <= last && i < argc; i += spec.keyStep || 1) out.push(i);
  return out;
}
