// The start-up warning "Ignoring config directives LatticeKV does not implement" comes from
// IMPLEMENTED (src/config/config.ts). A directive the code reads by name is one we act on:
// this scans src/ for config reads of literal directive names and checks each is listed, so
// the warning cannot call a working directive (repl-diskless-sync-delay, maxmemory...) ignored.
import { describe, it, expect } from "vitest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DIRECTIVES, IMPLEMENTED, findDirective } from "../src/config/config.js";

const srcDir = fileURLToPath(new URL("../src", import.meta.url));

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith(".ts") ? [p] : [];
  });
}

describe("IMPLEMENTED lists the directives the server reads", () => {
  it("every directive read by name in src/ (get/getNumber/getBool/getString/onApply) is listed", () => {
    const read = new Set<string>();
    for (const f of tsFiles(srcDir)) {
      for (const m of readFileSync(f, "utf8").matchAll(/\.(?:get|getNumber|getBool|getString|onApply)\("([a-z0-9-]+)"/g)) {
        const d = findDirective(m[1]);
        if (d) read.add(d.name);
      }
    }
    expect(read.size).toBeGreaterThan(50);
    expect([...read].filter((n) => !IMPLEMENTED.has(n)).sort()).toEqual([]);
  });

  it("every listed name is a directive", () => {
    const names = new Set(DIRECTIVES.map((d) => d.name));
    expect([...IMPLEMENTED].filter((n) => !names.has(n))).toEqual([]);
  });
});
