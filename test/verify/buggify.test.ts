// buggify's contract: inert unless enabled, the same seed fires the same faults, listing
// points activates exactly those, and the env variable parses as documented.
import { describe, it, expect, afterEach } from "vitest";
import { buggify, buggifyEnabled, buggifyStats, definePoint, disableBuggify, enableBuggify, parseBuggifyEnv, pointActive } from "../../src/util/buggify.js";

definePoint("test-a", "a test point", 0.5);
definePoint("test-b", "another test point", 0.5);

afterEach(() => disableBuggify());

const draws = (n: number, name = "test-a") => Array.from({ length: n }, () => buggify(name));

describe("buggify", () => {
  it("never fires while disabled", () => {
    disableBuggify();
    expect(buggifyEnabled()).toBe(false);
    expect(draws(1000).some(Boolean)).toBe(false);
  });

  it("fires the same sequence for the same seed, and a different one for another seed", () => {
    enableBuggify(42, { points: ["test-a"] });
    const a = draws(200);
    enableBuggify(42, { points: ["test-a"] });
    expect(draws(200)).toEqual(a);
    enableBuggify(43, { points: ["test-a"] });
    expect(draws(200)).not.toEqual(a);
    // probability 0.5: both outcomes occur
    expect(a.filter(Boolean).length).toBeGreaterThan(50);
    expect(a.filter(Boolean).length).toBeLessThan(150);
  });

  it("activates only the listed points, with their own probabilities", () => {
    enableBuggify(1, { points: ["test-b"], probabilities: { "test-b": 1 } });
    expect(pointActive("test-a")).toBe(false);
    expect(draws(100, "test-a").some(Boolean)).toBe(false);
    expect(draws(100, "test-b").every(Boolean)).toBe(true);
    expect(buggifyStats()["test-b"]).toEqual({ reached: 100, fired: 100, active: true });
  });

  it("switches each point on or off per run from the seed when none are listed", () => {
    const seen = new Set<boolean>();
    for (let seed = 0; seed < 40; seed++) {
      enableBuggify(seed);
      seen.add(pointActive("test-a"));
    }
    expect([...seen].sort()).toEqual([false, true]);
  });

  it("parses LATTICEKV_BUGGIFY as seed[:point[=p],...]", () => {
    expect(parseBuggifyEnv(undefined)).toBeUndefined();
    expect(parseBuggifyEnv("x")).toBeUndefined();
    expect(parseBuggifyEnv("7")).toEqual({ seed: 7, opts: {} });
    expect(parseBuggifyEnv("7:short-write=1,reply-delay")).toEqual({
      seed: 7,
      opts: { points: ["short-write", "reply-delay"], probabilities: { "short-write": 1 } },
    });
  });
});
