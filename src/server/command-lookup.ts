// Command lookup from the name's bytes, for the dispatch of commands the kernel hands back.
//
// CommandTable.lookup takes a string: turning argv[0] into one (a latin1 slice), lower-casing
// it and hashing it for the Map cost more, per command, than some of the commands it finds
// (profiles of redis-benchmark LPUSH -P 16). Clients send a handful of distinct names, so a
// small direct-mapped cache keyed by the bytes (compared ignoring ASCII case) answers almost
// every lookup without a string. Only found, supported commands are cached; a rename
// (which removes a name) empties the cache through the table's version.
import type { CommandSpec, CommandTable } from "../commands/table.js";

const SLOTS = 64;
const MAX_NAME = 32;

interface Slot { name: Uint8Array; spec: CommandSpec }

const caches = new WeakMap<CommandTable, Cache>();

type Cache = { version: number; slots: (Slot | undefined)[] };

// The last table's cache, so a lookup costs no WeakMap search (one server per process, usually).
let lastTable: CommandTable | null = null;
let lastCache: Cache | null = null;

function cacheOf(table: CommandTable): Cache {
  if (table === lastTable && lastCache!.version === table.version) return lastCache!;
  let cache = caches.get(table);
  if (cache === undefined || cache.version !== table.version) {
    cache = { version: table.version, slots: new Array(SLOTS) };
    caches.set(table, cache);
  }
  lastTable = table;
  lastCache = cache;
  return cache;
}

function slotOf(b: Uint8Array, s: number, n: number): number {
  return (n * 7 + ((b[s] | 0x20) * 13) + ((b[s + n - 1] | 0x20) * 3) + (n > 2 ? (b[s + (n >> 1)] | 0x20) : 0)) & (SLOTS - 1);
}

/** Whether a (lowercase) equals b[s, s + n) ignoring ASCII case. */
function sameName(a: Uint8Array, b: Uint8Array, s: number, n: number): boolean {
  if (n !== a.length) return false;
  for (let i = 0; i < n; i++) {
    let c = b[s + i];
    if (c >= 0x41 && c <= 0x5a) c += 32;
    if (a[i] !== c) return false;
  }
  return true;
}

/**
 * table.lookup(name.toString("latin1")), mostly without making the string. [start, end): where
 * the name is in `name` (a script's request: src/scripting/script-command.ts), without a view.
 */
export function lookupCommandBytes(table: CommandTable, name: Uint8Array, start = 0, end = name.length): CommandSpec | undefined {
  const n = end - start;
  if (n === 0 || n > MAX_NAME) return table.lookup(Buffer.from(name.subarray(start, end)).toString("latin1"));
  const cache = cacheOf(table);
  const i = slotOf(name, start, n);
  const hit = cache.slots[i];
  if (hit !== undefined && sameName(hit.name, name, start, n)) return hit.spec;
  const str = Buffer.from(name.buffer, name.byteOffset + start, n).toString("latin1");
  const spec = table.lookup(str);
  if (spec !== undefined) cache.slots[i] = { name: Buffer.from(str.toLowerCase(), "latin1"), spec };
  return spec;
}
