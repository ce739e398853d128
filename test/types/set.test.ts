// SetValue: encodings by Redis 7.0's rules, SSCAN's guarantee, and a seeded model check
// against a plain JS Set under random operation sequences.
import { describe, it, expect } from "vitest";
import { SetValue, isIntsetMember } from "../../src/types/set.js";
import { mulberry32, pick, int } from "./prng.js";

describe("isIntsetMember (string2ll)", () => {
  it("accepts canonical int64 decimals and refuses everything else", () => {
    for (const s of ["0", "-1", "123", "9223372036854775807", "-9223372036854775808"]) expect(isIntsetMember(s)).toBe(true);
    for (const s of ["", "01", "-0", "+1", " 1", "1 ", "1.0", "9223372036854775808", "-9223372036854775809", "abc", "1e3"])
      expect(isIntsetMember(s)).toBe(false);
  });
});

describe("SetValue encoding", () => {
  it("stays intset for integers and keeps them in numeric order", () => {
    const s = new SetValue();
    for (const m of ["10", "-5", "3", "9223372036854775807", "-9223372036854775808", "0"]) s.add(m);
    expect(s.enc).toBe("intset");
    expect(s.values()).toEqual(["-9223372036854775808", "-5", "0", "3", "10", "9223372036854775807"]);
    s.checkInvariants();
  });

  it("becomes hashtable on a non-integer member and never goes back", () => {
    const s = new SetValue();
    s.add("1"); s.add("2"); s.add("x");
    expect(s.enc).toBe("hashtable");
    s.remove("x");
    expect(s.enc).toBe("hashtable");
    expect([...s.values()].sort()).toEqual(["1", "2"]);
    s.checkInvariants();
  });

  it("becomes hashtable past set-max-intset-entries", () => {
    const s = new SetValue();
    for (let i = 0; i < 512; i++) s.add(String(i));
    expect(s.enc).toBe("intset");
    s.add("512");
    expect(s.enc).toBe("hashtable");
    const t = new SetValue();
    for (let i = 0; i < 5; i++) t.add(String(i), 4);
    expect(t.enc).toBe("hashtable");
    s.checkInvariants();
  });

  it("forFirstMember picks the encoding setTypeCreate would", () => {
    expect(SetValue.forFirstMember("12").enc).toBe("intset");
    expect(SetValue.forFirstMember("a").enc).toBe("hashtable");
  });

  it("add and remove report whether anything changed", () => {
    const s = new SetValue();
    expect(s.add("a")).toBe(true);
    expect(s.add("a")).toBe(false);
    expect(s.remove("b")).toBe(false);
    expect(s.remove("a")).toBe(true);
    expect(s.size).toBe(0);
  });

  it("removes from the middle of an intset", () => {
    const s = new SetValue();
    for (const m of ["5", "1", "3", "2", "4"]) s.add(m);
    expect(s.remove("3")).toBe(true);
    expect(s.values()).toEqual(["1", "2", "4", "5"]);
    expect(s.has("3")).toBe(false);
    s.checkInvariants();
  });

  it("clone is independent", () => {
    const s = new SetValue();
    s.add("a"); s.add("b");
    const c = s.clone();
    c.add("c"); s.remove("a");
    expect([...c.values()].sort()).toEqual(["a", "b", "c"]);
    expect([...s.values()]).toEqual(["b"]);
  });
});

describe("SetValue random and pop", () => {
  it("pop removes what it returns, until empty", () => {
    const s = new SetValue();
    for (const m of ["a", "b", "c", "d"]) s.add(m);
    const seen = new Set<string>();
    while (s.size) { const m = s.pop(); expect(seen.has(m)).toBe(false); seen.add(m); s.checkInvariants(); }
    expect([...seen].sort()).toEqual(["a", "b", "c", "d"]);
  });

  it("random reaches every member", () => {
    const s = new SetValue();
    for (let i = 0; i < 20; i++) s.add("m" + i);
    const rand = mulberry32(7);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) seen.add(s.random(rand));
    expect(seen.size).toBe(20);
  });
});

describe("SetValue scan", () => {
  it("returns an intset whole with cursor 0", () => {
    const s = new SetValue();
    for (const m of ["3", "1", "2"]) s.add(m);
    expect(s.scan(0, 1)).toEqual({ cursor: 0, members: ["1", "2", "3"] });
  });

  it("walks a hashtable in steps and ends at 0", () => {
    const s = new SetValue();
    for (let i = 0; i < 100; i++) s.add("k" + i);
    const got: string[] = [];
    let cursor = 0, calls = 0;
    do {
      const r = s.scan(cursor, 10);
      got.push(...r.members);
      cursor = r.cursor;
      calls++;
    } while (cursor !== 0);
    expect(calls).toBe(10);
    expect(got.sort()).toEqual([...s.values()].sort());
  });

  for (const seed of [1, 2, 3, 4, 5]) {
    it(`returns every member present for the whole scan while others come and go (seed ${seed})`, () => {
      const rand = mulberry32(seed);
      const s = new SetValue();
      for (let i = 0; i < 300; i++) s.add("base" + i);
      const stable = new Set<string>();
      for (let i = 0; i < 300; i += 3) stable.add("base" + i);
      const got = new Set<string>();
      let cursor = 0;
      let n = 0;
      do {
        const r = s.scan(cursor, int(rand, 1, 20));
        r.members.forEach((m) => got.add(m));
        cursor = r.cursor;
        // churn: remove non-stable members and add new ones
        for (let k = 0; k < 10; k++) {
          if (rand() < 0.5) s.add("new" + n++);
          else {
            const m = s.random(rand);
            if (!stable.has(m)) s.remove(m);
          }
        }
      } while (cursor !== 0);
      for (const m of stable) expect(got.has(m)).toBe(true);
      s.checkInvariants();
    });
  }
});

describe("SetValue model check", () => {
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    it(`agrees with a JS Set under random add/remove/pop (seed ${seed})`, () => {
      const rand = mulberry32(seed);
      const s = new SetValue();
      const model = new Set<string>();
      // Mostly integers so the intset path and its conversion are exercised.
      const universe = [...Array.from({ length: 40 }, (_, i) => String(i - 20)), "a", "b", "\u00ff\u0000", ""];
      const maxIntset = int(rand, 4, 64);
      for (let step = 0; step < 3000; step++) {
        const op = rand();
        const m = pick(rand, universe);
        if (op < 0.5) expect(s.add(m, maxIntset)).toBe(!model.has(m) && !!model.add(m));
        else if (op < 0.85) expect(s.remove(m)).toBe(model.delete(m));
        else if (op < 0.95) {
          if (model.size) { const p = s.pop(rand); expect(model.delete(p)).toBe(true); }
        } else expect(s.has(m)).toBe(model.has(m));
        expect(s.size).toBe(model.size);
        if (step % 100 === 0) s.checkInvariants();
      }
      expect([...s.values()].sort()).toEqual([...model].sort());
      s.checkInvariants();
    });
  }
});
