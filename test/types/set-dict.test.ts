// SetDict (src/types/set-dict.ts) as a hashtable set's only index: membership, back links and
// table counts stay right through growth, shrinking and incremental rehashing (also while the
// resize policy is AVOID, as during a BGSAVE), and SSCAN keeps dictScan's guarantee mid-rehash.
import { describe, it, expect, afterEach } from "vitest";
import { SetValue } from "../../src/types/set.js";
import { setHostDictResizePolicy, RESIZE_ENABLE, RESIZE_AVOID } from "../../src/types/set-dict.js";
import { mulberry32, int } from "./prng.js";

afterEach(() => setHostDictResizePolicy(RESIZE_ENABLE));

describe("SetDict as a hashtable set's index", () => {
  for (const seed of [21, 22, 23, 24]) {
    it(`agrees with a JS Set through growth, shrink and rehash (seed ${seed})`, () => {
      const rand = mulberry32(seed);
      const s = SetValue.forFirstMember("x");
      const model = new Set<string>();
      let sawRehash = false, sawShrink = false, peak = 0;
      for (let round = 0; round < 6; round++) {
        // The policy flips as a BGSAVE child would start and end.
        setHostDictResizePolicy(round % 3 === 1 ? RESIZE_AVOID : RESIZE_ENABLE);
        const grow = round % 2 === 0;
        const steps = int(rand, 1500, 4000);
        for (let i = 0; i < steps; i++) {
          const m = "m" + int(rand, 0, 6000);
          const op = rand();
          if (op < (grow ? 0.7 : 0.05)) expect(s.add(m)).toBe(!model.has(m) && !!model.add(m));
          else if (op < (grow ? 0.85 : 0.15)) expect(s.remove(m)).toBe(model.delete(m));
          else if (op < 0.93) {
            if (model.size) expect(model.delete(s.pop(rand))).toBe(true);
          } else expect(s.has(m)).toBe(model.has(m));
          sawRehash ||= s.dict!.isRehashing;
          peak = Math.max(peak, s.dict!.t0.length);
          sawShrink ||= s.dict!.t0.length < peak;
          if (i % 250 === 0) s.checkInvariants();
        }
        expect(s.size).toBe(model.size);
        s.checkInvariants();
      }
      expect(sawRehash).toBe(true);
      expect(sawShrink).toBe(true);
      expect([...s.values()].sort()).toEqual([...model].sort());
      for (const m of model) expect(s.has(m)).toBe(true);
    });
  }

  it("SSCAN returns every member present for the whole scan while the table rehashes", () => {
    const rand = mulberry32(5);
    const s = SetValue.forFirstMember("x");
    s.remove("x");
    for (let i = 0; i < 2000; i++) s.add("stable" + i);
    const got = new Set<string>();
    let cursor = 0, n = 0, rehashingSeen = 0;
    do {
      const r = s.scan(cursor, int(rand, 1, 30));
      r.members.forEach((m) => got.add(m));
      cursor = r.cursor;
      // Grow past the table, then let it shrink again: scans see both directions of rehash.
      for (let k = 0; k < 40; k++) s.add("churn" + n++);
      if (n > 6000) for (let k = 0; k < 60; k++) s.remove("churn" + (n - 6000 + k));
      if (s.dict!.isRehashing) rehashingSeen++;
    } while (cursor !== 0);
    expect(rehashingSeen).toBeGreaterThan(0);
    for (let i = 0; i < 2000; i++) expect(got.has("stable" + i)).toBe(true);
    s.checkInvariants();
  });

  it("a rehash stalls under AVOID unless the tables are 5x apart, as dictRehash's check", () => {
    const s = SetValue.forFirstMember("a0");
    for (let i = 0; i < 5; i++) s.add("a" + i); // the 5th member: table 4 -> 8 started
    setHostDictResizePolicy(RESIZE_AVOID);
    const d = s.dict!;
    const before = d.rehashIdx;
    expect(d.isRehashing).toBe(true);
    for (let i = 0; i < 50; i++) s.has("a1");
    expect(d.rehashIdx).toBe(before);
    setHostDictResizePolicy(RESIZE_ENABLE);
    for (let i = 0; i < 50; i++) s.has("a1");
    expect(d.isRehashing).toBe(false);
    s.checkInvariants();
  });
});
