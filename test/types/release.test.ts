// HostValue.release: the synchronous free the active expire cycle does when
// lazyfree-lazy-expire is no (src/server/active-expire.ts). A released value is empty, and
// stays usable as an empty value (nothing dangles).
import { describe, it, expect } from "vitest";
import { SetValue } from "../../src/types/set.js";
import { ZSetValue } from "../../src/types/zset.js";
import { QuickList } from "../../src/types/list.js";

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

  it("empties a quicklist", () => {
    const l = QuickList.from(Array.from({ length: 1000 }, (_, i) => String(i)));
    l.release();
    expect(l.length).toBe(0);
    expect(l.range(0, -1)).toEqual([]);
  });
});
