// Redis's stringmatchlen (assembly/util/glob.ts) through the kernel's stringMatch export.
// glob-vectors.json holds [pattern, string, matched] triples recorded from a real
// redis-server 7.0.15 (KEYS <pattern> against a db holding only <string>; latin1). The
// pattern "*" is left out: KEYS and SCAN short-circuit it, so KEYS * lists the empty key
// although stringmatchlen("*", "") is false.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { TestKernel } from "./keyspace-harness.js";

const vectors: [string, string, boolean][] = JSON.parse(
  readFileSync(new URL("./glob-vectors.json", import.meta.url), "utf8"));

describe("stringmatchlen", () => {
  const t = new TestKernel();

  it(`agrees with redis-server 7.0.15 on ${vectors.length} pattern/string pairs`, () => {
    const wrong = vectors.filter(([p, s, m]) => t.match(p, s) !== m);
    expect(wrong).toEqual([]);
  });

  it("never reads past the pattern's end (the harness pads it with '*')", () => {
    expect(t.match("a", "ab")).toBe(false);
    expect(t.match("a[", "ab")).toBe(false);
    expect(t.match("ab\\", "ab")).toBe(false);
  });

  it("escapes and classes", () => {
    expect(t.match("a\\*b", "a*b")).toBe(true);
    expect(t.match("a\\*b", "axb")).toBe(false);
    expect(t.match("[a-c]x", "bx")).toBe(true);
    expect(t.match("[c-a]x", "bx")).toBe(true);
    expect(t.match("[^a-c]x", "bx")).toBe(false);
    expect(t.match("[\\]]", "]")).toBe(true);
  });

  it("nocase folds ASCII letters, in classes and ranges too", () => {
    expect(t.match("HeLLo", "hello", true)).toBe(true);
    expect(t.match("HeLLo", "hello", false)).toBe(false);
    expect(t.match("h[A-Z]llo", "hello", true)).toBe(true);
    expect(t.match("h[E]llo", "hello", true)).toBe(true);
    expect(t.match("h[^E]llo", "hello", true)).toBe(false);
    expect(t.match("maxmemory-*", "MAXMEMORY-POLICY", true)).toBe(true);
  });

  it("KEYS * lists the empty key (Redis's all-keys shortcut); stringmatchlen itself does not match it", () => {
    t.r("set", "", "v");
    expect(t.r("keys", "*")).toEqual([""]);
    expect(t.match("*", "")).toBe(false);
    expect(t.r("keys", "**")).toEqual([]);
  });

  it("a pathological pattern fails fast instead of backtracking exponentially", () => {
    expect(t.match("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "a".repeat(60))).toBe(false);
  });
});
