// HandleRegistry remembers the last value got and the last handle noted as written (a
// pipeline on one key skips a hash lookup each): freeing must forget both, and bytes()
// must still re-measure a value written again after it was measured.
import { describe, it, expect } from "vitest";
import { HandleRegistry } from "../../src/types/registry.js";
import { SetValue } from "../../src/types/set.js";

function setOf(members: string[]): SetValue {
  const v = new SetValue();
  for (const m of members) v.add(m);
  return v;
}

describe("HandleRegistry", () => {
  it("does not return a freed value from its last-got memory", () => {
    const r = new HandleRegistry();
    const h = r.add(setOf(["a"]));
    expect(r.get(h)).toBeDefined();
    expect(r.get(h)).toBeDefined();
    r.free([h]);
    expect(r.get(h)).toBeUndefined();
  });

  it("re-measures a value noted again after bytes() measured it", () => {
    const r = new HandleRegistry();
    const l = setOf(["a"]);
    const h = r.add(l);
    const first = r.bytes();
    r.noteWrite(h);
    for (let i = 0; i < 1000; i++) l.add("x".repeat(100) + i);
    const second = r.bytes();
    expect(second).toBeGreaterThan(first);
    // Noted again (the same handle as last time): must be measured again, not skipped.
    r.noteWrite(h);
    for (let i = 0; i < 1000; i++) l.add("y".repeat(100) + i);
    expect(r.bytes()).toBeGreaterThan(second);
  });
});
