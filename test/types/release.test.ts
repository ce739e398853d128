// HostValue.release: the synchronous free the active expire cycle does when
// lazyfree-lazy-expire is no (src/server/active-expire.ts). A released value is empty, and
// stays usable as an empty value (nothing dangles).
import { describe, it, expect } from "vitest";
import { SetValue } from "../../src/types/set.js";
import { ZSetValue } from "../../src/types/zset.js";

describe("HostValue.release", () => {
  it("empties a hashtable set and an intset", () => {
    const ht = new SetValue();
    for (let i = 0; i < 1000; i++) ht.add("m" + i);
    const is = new SetValue();
    for (let i = 0; i < 10; i++) is.add(String(i));
    for (const s of [ht, is]) {
      s.release();
      expect(s.length).toBe(0);
      expect(s.has("m1") || s.has("1")).toBe(false);
    }
  });

  it("empties a skiplist sorted set, unlinking its nodes", () => {
    const z = new ZSetValue();
    for (let i = 0; i < 500; i++) z.set("m" + i, i);
    const second = z.first()!.next()!;
    z.release();
    expect(z.length).toBe(0);
    expect(z.first()).toBeNull();
    expect(z.last()).toBeNull();
    expect(second.next()).toBeNull();
    expect(z.score("m3")).toBeUndefined();
  });
});

describe("HostValue.releaseSome (lazy free's background slices)", () => {
  it("frees a hashtable set and a skiplist a budget at a time, empty only at the end", () => {
    const s = new SetValue();
    for (let i = 0; i < 2500; i++) s.add("m" + i);
    const z = new ZSetValue();
    for (let i = 0; i < 2500; i++) z.set("m" + i, i);
    for (const v of [s, z]) {
      expect(v.releaseSome(1000)).toBe(false);
      expect(v.length).toBe(1500);
      expect(v.releaseSome(1000)).toBe(false);
      expect(v.length).toBe(500);
      expect(v.releaseSome(1000)).toBe(true);
      expect(v.length).toBe(0);
    }
    expect(z.first()).toBeNull();
  });
});
