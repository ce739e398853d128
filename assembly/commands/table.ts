// The kernel's half of the command table. The declarative table lives in the host
// (src/commands/table.ts, one row per command: arity, flags, keys, ACL categories); the
// kernel only knows which handlers it implements. At start-up the host binds each of its
// rows whose name the kernel implements, passing the row's arity and flags, so arity
// errors and write tracking come from the one table. A command with no kernel binding goes
// back to the host.

import { Dict } from "../keyspace/dict";
import { hashBytes } from "../keyspace/hash";

export type Handler = () => void;

export const CMD_WRITE: u32 = 1;
/** With several shards, always hand this command back to the host's router (keyspace-wide
 *  commands such as DBSIZE/KEYS/SCAN/FLUSHALL, and commands whose keys the first/last/step
 *  positions do not describe). */
export const CMD_ROUTE_HOST: u32 = 2;
/** The command may grow memory (Redis's denyoom): refused while the server is over maxmemory. */
export const CMD_DENYOOM: u32 = 4;
/** Redis's fast flag (O(1) or O(log N)): not timed on its own from a 1 ms slow threshold up (assembly/command-timing.ts). */
export const CMD_FAST: u32 = 8;
/** Kernel-side, given at defineCommand: the command touches no key or keyspace (PING, ECHO),
 *  so whichever shard parsed it runs it, never handed back for routing. */
export const CMD_ANY_SHARD: u32 = 16;
/** Kernel-side, given at defineCommand: sent with no optional argument (argc equal to its
 *  minimum arity), the command's work grows only with its own request's bytes, never with
 *  what the keyspace holds (plain SET: the old value is left to the collector). With a short
 *  request it is then as cheap as a fast command and timed as one (assembly/command-timing.ts). */
export const CMD_BARE_BOUNDED: u32 = 32;

export class KernelCommand {
  next: KernelCommand | null = null;
  key: ArrayBuffer;
  hash: u32;
  arity: i32 = 0;
  flags: u32 = 0;
  /** Key positions as in the host's table row (Redis's first/last/step; last < 0 counts from the end). */
  firstKey: i32 = 0;
  lastKey: i32 = 0;
  keyStep: i32 = 0;
  bound: bool = false;
  calls: i64 = 0;
  failedCalls: i64 = 0;
  /** Refused before running (wrong arity): INFO commandstats rejected_calls. */
  rejectedCalls: i64 = 0;
  /** Position in `commands` (what the host's bindCommand got back). */
  index: i32 = 0;
  /** Flags the kernel gives the command itself (CMD_ANY_SHARD), kept when the host binds it. */
  ownFlags: u32 = 0;
  /** The host wants this command back while hand-back is on (setHandBack in index.ts): CRDT
   *  replication reads the key a write touched back right after it (src/replication/). */
  handBack: bool = false;
  /** A subcommand's statistics row (defineStatsRow): never run by its name. */
  statsOnly: bool = false;
  constructor(public name: string, public handler: Handler) {
    this.key = String.UTF8.encode(name);
    this.hash = hashBytes(changetype<usize>(this.key), <usize>this.key.byteLength);
  }
}

const byName = new Dict<KernelCommand>();
export const commands = new Array<KernelCommand>();

/** Called by each command family at start-up: "this kernel implements `name`". */
export function defineCommand(name: string, handler: Handler, ownFlags: u32 = 0): void {
  const c = new KernelCommand(name, handler);
  c.ownFlags = ownFlags;
  c.flags = ownFlags;
  c.index = commands.length;
  byName.add(c);
  commands.push(c);
}

/** Marks the command at `index` to be handed back to the host while hand-back is on. */
export function setCommandHandBack(index: i32, on: bool): void {
  if (index >= 0 && index < commands.length) commands[index].handBack = on;
}

/**
 * A container command's subcommand ("object|encoding") as a row of its own for INFO
 * commandstats, the latency histograms and CLIENT LIST's cmd=, which Redis keeps per
 * subcommand. The parent's handler runs and names the row with countAs; a client that sends
 * the row's name as a command gets the host's unknown-command error (statsOnly).
 */
export function defineStatsRow(name: string): KernelCommand {
  defineCommand(name, noHandler);
  const c = commands[commands.length - 1];
  c.statsOnly = true;
  return c;
}

function noHandler(): void {}

let countedAs: KernelCommand | null = null;
let countedHow: i32 = 0;
/** countAs: a call of the row (calls, failed_calls). */
export const COUNT_CALL: i32 = 0;
/** countAs: refused before it ran, as processCommand's arity check (rejected_calls). */
export const COUNT_REJECTED: i32 = 1;
/** countAs: no command row at all (an unknown subcommand: Redis rejects it before lookup). */
export const COUNT_NONE: i32 = 2;

/** The running command counts as `row` (a bound defineStatsRow row) instead of itself. */
export function countAs(row: KernelCommand | null, how: i32 = COUNT_CALL): void {
  countedAs = row;
  countedHow = how;
}

/**
 * The row the command that just ran counts in (itself, unless it called countAs), and forgets
 * it; null when it counts nowhere. countedRejected() says whether it counts as rejected.
 */
export function takeCountedAs(cmd: KernelCommand): KernelCommand | null {
  const row = countedAs;
  const how = countedHow;
  countedAs = null;
  countedHow = COUNT_CALL;
  lastRejected = how == COUNT_REJECTED;
  if (how == COUNT_NONE) return null;
  return row != null && row.bound ? row : cmd;
}

let lastRejected = false;
/** Whether the row takeCountedAs just gave counts the command as rejected. */
export function countedRejected(): bool { return lastRejected; }

/** Host-side binding of a handler to its table row; returns the command's index or -1. */
export function bindCommand(namePtr: usize, nameLen: usize, arity: i32, flags: u32,
                            firstKey: i32, lastKey: i32, keyStep: i32): i32 {
  const c = byName.find(namePtr, nameLen, hashBytes(namePtr, nameLen));
  if (c == null) return -1;
  c.arity = arity;
  c.flags = flags | c.ownFlags;
  c.firstKey = firstKey;
  c.lastKey = lastKey;
  c.keyStep = keyStep;
  c.bound = true;
  return commands.indexOf(c);
}

// Command names are matched case-insensitively: lowercase into this scratch first.
const lowerScratch = heap.alloc(64);

// A pipeline mostly repeats one command (a client's burst of SETs, redis-benchmark -P 16):
// the command found last is compared first, byte by byte, before the name is lowercased,
// hashed and looked up (which showed as ~2% of a SET pipeline's server time).
let lastFound: KernelCommand | null = null;

/** Whether [ptr, ptr+len) in any case is c's (lowercase) name. */
function namedAs(c: KernelCommand, ptr: usize, len: usize): bool {
  if (<usize>c.key.byteLength != len) return false;
  const name = changetype<usize>(c.key);
  for (let i: usize = 0; i < len; i++) {
    let b = load<u8>(ptr + i);
    if (b >= 0x41 && b <= 0x5a) b += 32;
    if (b != load<u8>(name + i)) return false;
  }
  return true;
}

/** The bound kernel command named by [ptr, ptr+len) in any case, or null. */
export function lookupCommand(ptr: usize, len: usize): KernelCommand | null {
  if (len == 0 || len > 64) return null;
  const last = lastFound;
  if (last != null && namedAs(last, ptr, len)) return last.bound ? last : null;
  for (let i: usize = 0; i < len; i++) {
    let c = load<u8>(ptr + i);
    if (c >= 0x41 && c <= 0x5a) c += 32;
    store<u8>(lowerScratch + i, c);
  }
  const c = byName.find(lowerScratch, len, hashBytes(lowerScratch, len));
  if (c == null) return null;
  lastFound = c;
  return c.bound ? c : null;
}

/** Redis's arity rule: positive = exactly, negative = at least |arity| (name included). */
@inline export function arityOk(c: KernelCommand, argc: i32): bool {
  return c.arity >= 0 ? argc == c.arity : argc >= -c.arity;
}
