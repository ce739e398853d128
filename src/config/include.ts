// redis.conf's `include PATH` (Redis 7.0 config.c loadServerConfig): PATH is read as a config
// file at that point of the including one, its own line numbers in its errors. A PATH with a
// glob character (* ? [) names every match, in sorted order, and matching nothing is no error;
// a plain PATH that cannot be read is fatal ("Fatal error, can't open config file ...").
import { readdirSync } from "node:fs";
import { isAbsolute, join, sep } from "node:path";
import { stringMatch } from "../util/glob.js";

const GLOB_CHARS = /[*?[]/;

/** The files `include PATH` reads, in order. */
export function includedFiles(path: string): string[] {
  if (!GLOB_CHARS.test(path)) return [path];
  const parts = path.split(sep);
  let bases = [isAbsolute(path) ? sep : "."];
  for (let i = isAbsolute(path) ? 1 : 0; i < parts.length; i++) {
    const part = parts[i];
    if (part === "") continue;
    if (!GLOB_CHARS.test(part)) { bases = bases.map((b) => join(b, part)); continue; }
    // Redis's own matcher (util/glob.ts) reads the pattern as glob(3) does, but for glob(3)'s
    // "[!set]" negation, which it spells "[^set]".
    const pattern = part.replace(/\[!/g, "[^");
    const next: string[] = [];
    for (const b of bases) {
      let names: string[];
      try { names = readdirSync(b); } catch { continue; }
      // glob(3) leaves out dot files unless the pattern starts with a dot.
      for (const n of names.sort()) if (stringMatch(pattern, n) && (n[0] !== "." || part[0] === ".")) next.push(join(b, n));
    }
    bases = next;
  }
  return bases;
}
