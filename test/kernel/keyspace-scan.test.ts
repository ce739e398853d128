// SCAN's guarantee (Redis's dictScan reverse-binary cursor): every key present for the whole
// scan is returned at least once, even while the table grows, shrinks or is mid-rehash
// between calls.
import { describe, it, expect } from "vitest";
import { TestKernel } from "./keyspace-harness.js";

function scanOnce(t: TestKernel, cursor: string, count: number): [string, string[]] {
  return t.r("scan", cursor, "count", count);
}

describe("SCAN guarantee under resizing", () => {
  it("returns every stable key while the table grows and shrinks between calls", () => {
    const t = new TestKernel(11);
    const stable: string[] = [];
    for (let i = 0; i < 500; i++) { stable.push(`stable:${i}`); t.r("set", `stable:${i}`, "v"); }
    const sizes = new Set<number>();
    let sawRehash = false;
    const seen = new Set<string>();
    let cursor = "0";
    let calls = 0;
    let extra = 0;
    do {
      const [next, keys] = scanOnce(t, cursor, 7);
      for (const k of keys) seen.add(k);
      cursor = next;
      calls++;
      // Alternate phases: grow by a few thousand transient keys, then delete them all.
      const phase = Math.floor(calls / 6) % 2;
      if (phase === 0) {
        for (let j = 0; j < 400; j++) t.r("set", `tmp:${extra++}`, "v");
      } else {
        while (extra > 0) t.r("del", `tmp:${--extra}`);
      }
      sizes.add(t.k.x.dbTableSize(0));
      if (t.k.x.dbRehashTarget(0) !== 0) sawRehash = true;
    } while (cursor !== "0" && calls < 10_000);
    expect(cursor).toBe("0");
    for (const k of stable) expect(seen.has(k), k).toBe(true);
    // The walk really crossed resizes in both directions and a rehash in progress.
    expect(Math.max(...sizes)).toBeGreaterThanOrEqual(4096);
    expect(Math.min(...sizes)).toBeLessThanOrEqual(1024);
    expect(sawRehash).toBe(true);
  });

  it("a scan of a stable table returns each key exactly once", () => {
    const t = new TestKernel(3);
    for (let i = 0; i < 1000; i++) t.r("set", `k${i}`, "v");
    const all: string[] = [];
    let cursor = "0";
    do {
      const [next, keys] = scanOnce(t, cursor, 10);
      all.push(...keys);
      cursor = next;
    } while (cursor !== "0");
    expect(all.length).toBe(1000);
    expect(new Set(all).size).toBe(1000);
  });

  it("a scan started on a big table finishes with every key after the table shrinks", () => {
    const t = new TestKernel(5);
    for (let i = 0; i < 5000; i++) t.r("set", `k${i}`, "v");
    const big = t.k.x.dbTableSize(0);
    const seen = new Set<string>();
    let [cursor, keys] = scanOnce(t, "0", 50);
    keys.forEach((k) => seen.add(k));
    for (let i = 100; i < 5000; i++) t.r("del", `k${i}`);
    // Finish any rehash so the walk continues on the small table only.
    for (let i = 0; i < 200; i++) t.r("exists", "k0");
    expect(t.k.x.dbTableSize(0)).toBeLessThan(big);
    while (cursor !== "0") {
      [cursor, keys] = scanOnce(t, cursor, 50);
      keys.forEach((k) => seen.add(k));
    }
    for (let i = 0; i < 100; i++) expect(seen.has(`k${i}`), `k${i}`).toBe(true);
  });

  it("COUNT bounds the work, MATCH filters after the walk, TYPE filters by type", () => {
    const t = new TestKernel(9);
    for (let i = 0; i < 100; i++) t.r("set", `s${i}`, "v");
    for (let i = 0; i < 100; i++) t.r("hset", `h${i}`, "f", "v");
    const [, few] = scanOnce(t, "0", 1);
    expect(few.length).toBeLessThanOrEqual(5);
    const collect = (...opts: (string | number)[]) => {
      const out: string[] = [];
      let c = "0";
      do {
        const [n, k] = t.r("scan", c, ...opts);
        out.push(...k);
        c = n;
      } while (c !== "0");
      return out.sort();
    };
    expect(collect("match", "s1*")).toEqual(["s1", ...Array.from({ length: 10 }, (_, i) => `s1${i}`)].sort());
    expect(collect("type", "hash").length).toBe(100);
    expect(collect("type", "HASH", "match", "h9*").length).toBe(11);
    expect(collect("type", "list")).toEqual([]);
  });

  it("cursor parsing follows strtoul: sign allowed, blanks and junk refused", () => {
    const t = new TestKernel();
    t.r("set", "a", "1");
    expect(t.r("scan", "-1")[0]).toBe("0");
    expect(t.r("scan", "")[1]).toEqual(["a"]);
    expect(t.r("scan", "+0")[1]).toEqual(["a"]);
    for (const bad of [" 1", "1 ", "1x", "x", "18446744073709551616", "-"]) {
      expect(t.r("scan", bad), bad).toEqual({ err: "ERR invalid cursor" });
    }
    expect(t.r("scan", "18446744073709551615")[0]).toBe("0");
    expect(t.r("scan", "0", "count", 0)).toEqual({ err: "ERR syntax error" });
    expect(t.r("scan", "0", "count", "x")).toEqual({ err: "ERR value is not an integer or out of range" });
    expect(t.r("scan", "0", "match")).toEqual({ err: "ERR syntax error" });
  });

  it("a COUNT so large that COUNT*10 wraps scans everything in one call (as Redis's C does)", () => {
    const t = new TestKernel();
    for (let i = 0; i < 50; i++) t.r("set", `k${i}`, "v");
    const [cursor, keys] = t.r("scan", "0", "count", "1000000000000000000");
    expect(cursor).toBe("0");
    expect(keys.length).toBe(50);
  });

  it("SCAN of an empty db answers cursor 0 and no keys", () => {
    const t = new TestKernel();
    expect(t.r("scan", "12345")).toEqual(["0", []]);
  });
});
