// The host's stringmatchlen (src/util/glob.ts: CONFIG GET patterns, COMMAND LIST FILTERBY
// PATTERN, later PSUBSCRIBE) against the vectors recorded from redis-server 7.0.15 that the
// kernel's copy is tested with (test/kernel/glob-vectors.json: KEYS <pattern> against a db
// holding only <string>).
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { stringMatch } from "../src/util/glob.js";

const vectors: [string, string, boolean][] = JSON.parse(
  readFileSync(new URL("./kernel/glob-vectors.json", import.meta.url), "utf8"));

describe("host stringmatchlen", () => {
  it(`agrees with redis-server 7.0.15 on ${vectors.length} pattern/string pairs`, () => {
    const wrong = vectors.filter(([p, s, m]) => stringMatch(Buffer.from(p, "latin1"), Buffer.from(s, "latin1")) !== m);
    expect(wrong).toEqual([]);
  });

  it("does not read past the pattern's end", () => {
    const buf = Buffer.from("a[*");
    expect(stringMatch(buf.subarray(0, 2), "ab")).toBe(false);
    expect(stringMatch(Buffer.from("ab\\*").subarray(0, 3), "ab")).toBe(false);
  });

  it("folds case when asked (CONFIG GET, COMMAND LIST)", () => {
    expect(stringMatch("MAXMEMORY*", "maxmemory-policy", true)).toBe(true);
    expect(stringMatch("MAXMEMORY*", "maxmemory-policy")).toBe(false);
    expect(stringMatch("[A-C]x", "bX", true)).toBe(true);
  });
});
