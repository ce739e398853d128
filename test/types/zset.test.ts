// ZSetValue: Redis's argument parsing (scores, score ranges, lex ranges), the skip list's
// rank/range queries, encodings by Redis 7.0's thresholds, ZSCAN's guarantee, and a seeded
// model check against a sorted array under random operation sequences.
import { describe, it, expect } from "vitest";
import { ZSetValue, parseScore, parseScoreRange, parseLexRange, LEX_MIN, LEX_MAX,
  type ScoreRange, type LexRange, scoreGteMin, scoreLteMax, lexGteMin, lexLteMax } from "../../src/types/zset.js";
import { strtod, string2d } from "../../src/util/strtod.js";
import { mulberry32, pick, int } from "./prng.js";

describe("score parsing", () => {
  it("string2d accepts what Redis accepts", () => {
    expect(parseScore("1")).toBe(1);
    expect(parseScore("-1.5")).toBe(-1.5);
    expect(parseScore("+2")).toBe(2);
    expect(parseScore(".5")).toBe(0.5);
    expect(parseScore("5.")).toBe(5);
    expect(parseScore("1e3")).toBe(1000);
    expect(parseScore("1E-2")).toBe(0.01);
    expect(parseScore("inf")).toBe(Infinity);
    expect(parseScore("+inf")).toBe(Infinity);
    expect(parseScore("-inf")).toBe(-Infinity);
    expect(parseScore("-Infinity")).toBe(-Infinity);
    expect(parseScore("0x10")).toBe(16);
    expect(parseScore("1e-310")).toBeCloseTo(1e-310); // subnormal: ERANGE but not zero
  });

  it("string2d refuses what Redis refuses", () => {
    for (const s of ["", " 1", "1 ", "abc", "1a", "nan", "NaN", "-nan", "1e400", "-1e400", "1e-400", "e5", ".", "-", "+", "inf1"]) {
      expect(parseScore(s), s).toBeNull();
    }
  });

  it("strtod reports how far it parsed", () => {
    expect(strtod("12abc")).toEqual({ value: 12, end: 2, erange: false });
    expect(strtod("  -3.5e2x").end).toBe(8);
    expect(strtod("x").end).toBe(0);
    expect(strtod("0x").end).toBe(1);
    expect(strtod("infinityx").end).toBe(8);
    expect(string2d("0")).toBe(0);
  });

  it("score ranges: ( is exclusive, inf spelled any way, NaN and trailing text refused", () => {
    expect(parseScoreRange("(1", "5")).toEqual({ min: 1, max: 5, minex: true, maxex: false });
    expect(parseScoreRange("-inf", "+inf")).toEqual({ min: -Infinity, max: Infinity, minex: false, maxex: false });
    expect(parseScoreRange("(-inf", "(inf")).toEqual({ min: -Infinity, max: Infinity, minex: true, maxex: true });
    expect(parseScoreRange("1e400", "0")).toEqual({ min: Infinity, max: 0, minex: false, maxex: false });
    expect(parseScoreRange("(", "1")).toEqual({ min: 0, max: 1, minex: true, maxex: false });
    expect(parseScoreRange("nan", "1")).toBeNull();
    expect(parseScoreRange("1", "(nan")).toBeNull();
    expect(parseScoreRange("1x", "2")).toBeNull();
    expect(parseScoreRange("[1", "2")).toBeNull();
  });

  it("lex ranges: - + ( [ and nothing else", () => {
    expect(parseLexRange("-", "+")).toEqual({ min: LEX_MIN, max: LEX_MAX, minex: false, maxex: false });
    expect(parseLexRange("(a", "[b")).toEqual({ min: "a", max: "b", minex: true, maxex: false });
    expect(parseLexRange("[", "(")).toEqual({ min: "", max: "", minex: false, maxex: true });
    for (const [a, b] of [["a", "+"], ["-", "b"], ["--", "+"], ["-", "++"], ["", "+"]]) expect(parseLexRange(a, b)).toBeNull();
  });
});

function build(pairs: [string, number][]): ZSetValue {
  const z = new ZSetValue();
  for (const [m, s] of pairs) z.set(m, s);
  return z;
}

describe("ZSetValue", () => {
  it("orders by score then member bytes", () => {
    const z = build([["b", 1], ["a", 1], ["c", 0], ["\u00ff", 1], ["", 1], ["x", -Infinity], ["y", Infinity]]);
    expect([...z].map((n) => n.ele)).toEqual(["x", "c", "", "a", "b", "\u00ff", "y"]);
    z.checkInvariants();
  });

  it("set updates scores in place or moves the member", () => {
    const z = build([["a", 1], ["b", 2], ["c", 3]]);
    expect(z.set("b", 2.5)).toBe(false);
    expect([...z].map((n) => n.ele)).toEqual(["a", "b", "c"]);
    z.set("a", 10);
    expect([...z].map((n) => n.ele)).toEqual(["b", "c", "a"]);
    expect(z.score("a")).toBe(10);
    z.checkInvariants();
  });

  it("rank and byRank agree", () => {
    const z = new ZSetValue();
    for (let i = 0; i < 500; i++) z.set("m" + i, i % 17);
    const order = [...z];
    order.forEach((n, i) => {
      expect(z.rank(n.ele)).toBe(i);
      expect(z.byRank(i)).toBe(n);
    });
    expect(z.byRank(500)).toBeNull();
    expect(z.byRank(-1)).toBeNull();
    expect(z.rank("nope")).toBeUndefined();
    z.checkInvariants();
  });

  it("score ranges find first/last and count, honouring exclusive ends", () => {
    const z = build([["a", 1], ["b", 2], ["c", 3], ["d", 4]]);
    const r = parseScoreRange("(1", "3")!;
    expect(z.firstInRange(r)?.ele).toBe("b");
    expect(z.lastInRange(r)?.ele).toBe("c");
    expect(z.countInRange(r)).toBe(2);
    expect(z.countInRange(parseScoreRange("(1", "(2")!)).toBe(0);
    expect(z.countInRange(parseScoreRange("2", "2")!)).toBe(1);
    expect(z.countInRange(parseScoreRange("(2", "2")!)).toBe(0);
    expect(z.countInRange(parseScoreRange("5", "1")!)).toBe(0);
    expect(z.countInRange(parseScoreRange("-inf", "+inf")!)).toBe(4);
  });

  it("lex ranges find first/last and count", () => {
    const z = build(["a", "b", "c", "d", "e"].map((m) => [m, 0] as [string, number]));
    expect(z.countInLexRange(parseLexRange("-", "+")!)).toBe(5);
    expect(z.countInLexRange(parseLexRange("(a", "[c")!)).toBe(2);
    expect(z.firstInLexRange(parseLexRange("[bb", "+")!)?.ele).toBe("c");
    expect(z.lastInLexRange(parseLexRange("-", "(c")!)?.ele).toBe("b");
    expect(z.countInLexRange(parseLexRange("+", "-")!)).toBe(0);
    expect(z.countInLexRange(parseLexRange("[c", "(c")!)).toBe(0);
  });

  it("encoding: listpack until 128 entries or a member over 64 bytes, then skiplist for good", () => {
    const z = new ZSetValue();
    for (let i = 0; i < 128; i++) z.set("m" + i, i);
    expect(z.enc).toBe("listpack");
    z.set("m128", 0);
    expect(z.enc).toBe("skiplist");
    z.remove("m128");
    expect(z.enc).toBe("skiplist");
    z.shrinkEncodingIfFits();
    expect(z.enc).toBe("listpack");
    const w = new ZSetValue();
    w.set("x".repeat(64), 1);
    expect(w.enc).toBe("listpack");
    w.set("x".repeat(65), 1);
    expect(w.enc).toBe("skiplist");
    expect(ZSetValue.create(1, 65).enc).toBe("skiplist");
    expect(ZSetValue.create(129, 1).enc).toBe("skiplist");
    expect(ZSetValue.create(1, 1, 0).enc).toBe("skiplist");
    expect(ZSetValue.create(1, 1).enc).toBe("listpack");
  });

  it("clone is independent and keeps the encoding", () => {
    const z = build([["a", 1], ["b", 2]]);
    z.enc = "skiplist";
    const c = z.clone();
    c.set("c", 3); z.remove("a");
    expect([...c].map((n) => n.ele)).toEqual(["a", "b", "c"]);
    expect(c.enc).toBe("skiplist");
    c.checkInvariants();
  });

  it("scan returns a listpack whole, in order, with cursor 0", () => {
    const z = build([["b", 2], ["a", 1]]);
    const r = z.scan(0, 1);
    expect(r.cursor).toBe(0);
    expect(r.items.map((n) => n.ele)).toEqual(["a", "b"]);
  });

  for (const seed of [21, 22, 23]) {
    it(`scan of a skiplist returns every member present for the whole scan (seed ${seed})`, () => {
      const rand = mulberry32(seed);
      const z = new ZSetValue();
      for (let i = 0; i < 400; i++) z.set("k" + i, i);
      expect(z.enc).toBe("skiplist");
      const stable = new Set<string>();
      for (let i = 0; i < 400; i += 4) stable.add("k" + i);
      const got = new Set<string>();
      let cursor = 0, n = 0;
      do {
        const r = z.scan(cursor, int(rand, 1, 25));
        r.items.forEach((x) => got.add(x.ele));
        cursor = r.cursor;
        for (let k = 0; k < 10; k++) {
          if (rand() < 0.5) z.set("n" + n++, rand() * 100);
          else { const x = z.random(rand).ele; if (!stable.has(x)) z.remove(x); else z.set(x, rand()); }
        }
      } while (cursor !== 0);
      for (const m of stable) expect(got.has(m)).toBe(true);
      z.checkInvariants();
    });
  }
});

// ---- model check ---------------------------------------------------------------------------

type Pair = [string, number];
function modelSort(m: Map<string, number>): Pair[] {
  return [...m].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

describe("ZSetValue model check", () => {
  for (const seed of [31, 32, 33, 34, 35, 36]) {
    it(`agrees with a sorted array under random set/remove and range queries (seed ${seed})`, () => {
      const rand = mulberry32(seed);
      const z = new ZSetValue(rand);
      const model = new Map<string, number>();
      const members = Array.from({ length: 60 }, (_, i) => String.fromCharCode(97 + (i % 26)).repeat(1 + Math.floor(i / 26)));
      members.push("", "\u00ff", "\u0000a");
      const scores = [-Infinity, Infinity, 0, -0.5, 1, 2, 3, 1.5, 10, -3];
      const rangeItem = () => {
        const v = pick(rand, scores);
        return { v, ex: rand() < 0.3 };
      };
      const lexItem = () => {
        const c = rand();
        if (c < 0.1) return { v: LEX_MIN, ex: false } as const;
        if (c < 0.2) return { v: LEX_MAX, ex: false } as const;
        return { v: pick(rand, members), ex: rand() < 0.5 };
      };
      for (let step = 0; step < 2500; step++) {
        const op = rand();
        const m = pick(rand, members);
        if (op < 0.45) {
          const s = pick(rand, scores);
          expect(z.set(m, s)).toBe(!model.has(m));
          model.set(m, s);
        } else if (op < 0.7) {
          expect(z.remove(m)).toBe(model.delete(m));
        } else {
          const sorted = modelSort(model);
          expect([...z].map((n) => [n.ele, n.score])).toEqual(sorted);
          // rank / byRank
          const i = sorted.findIndex((p) => p[0] === m);
          expect(z.rank(m)).toBe(i < 0 ? undefined : i);
          const k = int(rand, 0, sorted.length);
          expect(z.byRank(k)?.ele).toBe(sorted[k]?.[0]);
          // score range
          const a = rangeItem(), b = rangeItem();
          const r: ScoreRange = { min: a.v, max: b.v, minex: a.ex, maxex: b.ex };
          const inR = sorted.filter((p) => scoreGteMin(p[1], r) && scoreLteMax(p[1], r));
          expect(z.countInRange(r)).toBe(inR.length);
          expect(z.firstInRange(r)?.ele).toBe(inR[0]?.[0]);
          expect(z.lastInRange(r)?.ele).toBe(inR[inR.length - 1]?.[0]);
          // lex range (meaningful when scores are equal; the structure answers it anyway)
          const la = lexItem(), lb = lexItem();
          const lr: LexRange = { min: la.v, max: lb.v, minex: la.ex, maxex: lb.ex };
          const firstLex = z.firstInLexRange(lr);
          const same = sorted.every((p) => p[1] === sorted[0][1]);
          if (same) {
            const inL = sorted.filter((p) => lexGteMin(p[0], lr) && lexLteMax(p[0], lr));
            expect(z.countInLexRange(lr)).toBe(inL.length);
            expect(firstLex?.ele).toBe(inL[0]?.[0]);
          }
          // rangeByRank
          const s0 = int(rand, 0, Math.max(0, sorted.length - 1));
          const e0 = int(rand, s0, Math.max(s0, sorted.length - 1));
          expect(z.rangeByRank(s0, e0).map((n) => n.ele)).toEqual(sorted.slice(s0, e0 + 1).map((p) => p[0]));
        }
        expect(z.size).toBe(model.size);
        if (step % 250 === 0) z.checkInvariants();
      }
      z.checkInvariants();
    });
  }

  it("lex queries agree with the model when every score is equal", () => {
    const rand = mulberry32(99);
    const z = new ZSetValue(rand);
    const model: string[] = [];
    for (let i = 0; i < 200; i++) {
      const m = Math.floor(rand() * 1e6).toString(36);
      if (z.set(m, 0)) model.push(m);
    }
    model.sort();
    for (let q = 0; q < 300; q++) {
      const a = pick(rand, model) + (rand() < 0.3 ? "0" : "");
      const b = pick(rand, model);
      const lr: LexRange = { min: rand() < 0.1 ? LEX_MIN : a, max: rand() < 0.1 ? LEX_MAX : b, minex: rand() < 0.5, maxex: rand() < 0.5 };
      const inL = model.filter((m) => lexGteMin(m, lr) && lexLteMax(m, lr));
      expect(z.countInLexRange(lr)).toBe(inL.length);
      expect(z.firstInLexRange(lr)?.ele).toBe(inL[0]);
      expect(z.lastInLexRange(lr)?.ele).toBe(inL[inL.length - 1]);
    }
  });
});

describe("-0 scores", () => {
  it("a listpack-encoded set stores -0 as 0, a skiplist keeps -0 (redis-server 7.0.15's ZSCORE)", () => {
    const small = ZSetValue.create(0, 1, 128, 64);
    small.set("a", -0, 128, 64);
    small.set("b", 5, 128, 64);
    small.set("b", -0, 128, 64);
    expect(Object.is(small.score("a"), 0)).toBe(true);
    expect(Object.is(small.score("b"), 0)).toBe(true);
    const big = ZSetValue.create(0, 1, 128, 64);
    for (let i = 0; i < 200; i++) big.set(`m${i}`, i + 1, 128, 64);
    expect(big.enc).toBe("skiplist");
    big.set("c", -0, 128, 64);
    expect(Object.is(big.score("c"), -0)).toBe(true);
  });

  it("the member whose addition makes a skiplist keeps its -0; shrinking back to a listpack makes it 0", () => {
    const z = ZSetValue.create(0, 1, 2, 64);
    z.set("a", 1, 2, 64);
    z.set("b", 2, 2, 64);
    z.set("c", -0, 2, 64); // the third member converts first (zsetAdd), then is added
    expect(z.enc).toBe("skiplist");
    expect(Object.is(z.score("c"), -0)).toBe(true);
    z.remove("a");
    z.remove("b");
    z.shrinkEncodingIfFits(2, 64);
    expect(z.enc).toBe("listpack");
    expect(Object.is(z.score("c"), 0)).toBe(true);
  });
});
