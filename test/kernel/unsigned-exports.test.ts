// Addresses and lengths cross the WASM boundary as i32, which JS reads as signed: every
// export returning usize/u32 must be in UNSIGNED_EXPORTS so addresses past 2 GiB stay
// positive (a shard of that size otherwise sends wrong reply bytes).
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { UNSIGNED_EXPORTS, withUnsignedResults } from "../../src/kernel/kernel.js";

const root = new URL("../../assembly/", import.meta.url);
const unsignedReturn = /export function (\w+)\([^)]*\):\s*(?:usize|u32)\b/g;

function unsignedExportsOf(file: string, only?: Set<string>): string[] {
  const src = readFileSync(new URL(file, root), "utf8");
  return [...src.matchAll(unsignedReturn)].map((m) => m[1]).filter((n) => !only || only.has(n));
}

describe("kernel exports with unsigned results", () => {
  it("are all read back as unsigned by the host wrapper", () => {
    const index = readFileSync(new URL("index.ts", root), "utf8");
    const expected = new Set(unsignedExportsOf("index.ts"));
    for (const m of index.matchAll(/export \{([^}]+)\} from "\.\/([^"]+)"/g)) {
      const names = new Set(m[1].split(",").map((n) => n.trim().split(/\s+as\s+/).pop()!));
      for (const n of unsignedExportsOf(m[2] + ".ts", names)) expected.add(n);
    }
    expect([...expected].sort()).toEqual([...UNSIGNED_EXPORTS].sort());
  });

  it("turns a negative i32 result into the unsigned address", () => {
    // -939361280 is what a shard past 2 GiB returned for outputPtr() before this wrapper.
    const fake: Record<string, unknown> = {};
    for (const n of UNSIGNED_EXPORTS) fake[n] = () => -939361280;
    fake.dbSize = () => -1;
    const x = withUnsignedResults(fake as WebAssembly.Exports) as Record<string, () => number>;
    expect(x.outputPtr()).toBe(3355606016);
    expect(x.alloc()).toBe(3355606016);
    expect(x.dbSize()).toBe(-1); // signed results are left alone
  });
});
