// The linearizability checker on hand-made histories (known answers) and on simulated ones
// (linearizable by construction, then with one planted anomaly).
import { describe, it, expect } from "vitest";
import { checkHistory } from "../../src/verify/linearizability.js";
import { counterModel, registerModel } from "../../src/verify/models.js";
import { renderHtml, renderText } from "../../src/verify/render.js";
import { ctr, reg, simulatedCounter, simulatedRegister } from "./histories.js";

const check = (ops: ReturnType<typeof reg>[]) => checkHistory(registerModel, ops);

describe("register: linearizable histories pass", () => {
  it("accepts an empty history and a read of nil before any write", () => {
    expect(check([]).verdict).toBe("ok");
    expect(check([reg(0, 0, 0, 1, { f: "read" }, null)]).verdict).toBe("ok");
  });

  it("accepts a read concurrent with a write seeing either the old or the new value", () => {
    const w = reg(0, 0, 0, 10, { f: "write", value: "a" });
    expect(check([w, reg(1, 1, 2, 5, { f: "read" }, null)]).verdict).toBe("ok");
    expect(check([w, reg(1, 1, 2, 5, { f: "read" }, "a")]).verdict).toBe("ok");
  });

  it("accepts reads that order two concurrent writes either way, consistently", () => {
    const h = [
      reg(0, 0, 0, 10, { f: "write", value: "a" }),
      reg(1, 1, 0, 10, { f: "write", value: "b" }),
      reg(2, 2, 11, 12, { f: "read" }, "a"),
      reg(3, 2, 13, 14, { f: "read" }, "a"),
    ];
    expect(check(h).verdict).toBe("ok");
  });

  it("accepts a successful CAS and a failed one that saw a different value", () => {
    const h = [
      reg(0, 0, 0, 1, { f: "write", value: "a" }),
      reg(1, 0, 2, 3, { f: "cas", from: "a", to: "b" }, true),
      reg(2, 1, 4, 5, { f: "cas", from: "a", to: "c" }, false),
      reg(3, 1, 6, 7, { f: "read" }, "b"),
    ];
    expect(check(h).verdict).toBe("ok");
  });

  it("lets a write that never completed take effect late, or never", () => {
    const w = reg(0, 0, 0, undefined, { f: "write", value: "a" });
    expect(check([w, reg(1, 1, 5, 6, { f: "read" }, null)]).verdict).toBe("ok");
    expect(check([w, reg(1, 1, 5, 6, { f: "read" }, "a")]).verdict).toBe("ok");
    expect(check([w, reg(1, 1, 5, 6, { f: "read" }, null), reg(2, 1, 100, 101, { f: "read" }, "a")]).verdict).toBe("ok");
  });

  it("ignores ops that failed with no effect", () => {
    const failed = { ...reg(0, 0, 0, 1, { f: "write", value: "a" }), failed: true };
    expect(check([failed, reg(1, 1, 2, 3, { f: "read" }, null)]).verdict).toBe("ok");
  });

  it("treats ops on different keys independently", () => {
    const h = [
      reg(0, 0, 0, 1, { f: "write", value: "a" }, undefined, "x"),
      reg(1, 0, 2, 3, { f: "read" }, null, "y"),
      reg(2, 0, 4, 5, { f: "read" }, "a", "x"),
    ];
    const r = check(h);
    expect(r.verdict).toBe("ok");
    expect(r.partitions.map((p) => p.key).sort()).toEqual(["x", "y"]);
  });
});

describe("register: violations fail", () => {
  it("rejects a stale read after a completed overwrite", () => {
    const h = [
      reg(0, 0, 0, 1, { f: "write", value: "a" }),
      reg(1, 0, 2, 3, { f: "write", value: "b" }),
      reg(2, 1, 4, 5, { f: "read" }, "a"),
    ];
    const r = check(h);
    expect(r.verdict).toBe("illegal");
    expect(r.partitions[0].fragment!.map((o) => o.id).sort()).toEqual([0, 1, 2]);
  });

  it("rejects a value that was never written", () => {
    const h = [reg(0, 0, 0, 1, { f: "write", value: "a" }), reg(1, 1, 0, 5, { f: "read" }, "zzz")];
    const r = check(h);
    expect(r.verdict).toBe("illegal");
    expect(r.partitions[0].fragment!.map((o) => o.id)).toEqual([1]);
  });

  it("rejects a lost CAS: two CASes from the same value both succeed", () => {
    const h = [
      reg(0, 0, 0, 1, { f: "write", value: "a" }),
      reg(1, 0, 2, 3, { f: "cas", from: "a", to: "b" }, true),
      reg(2, 1, 4, 5, { f: "cas", from: "a", to: "c" }, true),
    ];
    expect(check(h).verdict).toBe("illegal");
  });

  it("rejects a CAS that reports success while its effect is never seen", () => {
    const h = [
      reg(0, 0, 0, 1, { f: "write", value: "a" }),
      reg(1, 0, 2, 3, { f: "cas", from: "a", to: "b" }, true),
      reg(2, 1, 4, 5, { f: "read" }, "a"),
    ];
    expect(check(h).verdict).toBe("illegal");
  });

  it("rejects a failed CAS when the value it expected was certainly there", () => {
    const h = [reg(0, 0, 0, 1, { f: "write", value: "a" }), reg(1, 1, 2, 3, { f: "cas", from: "a", to: "b" }, false)];
    expect(check(h).verdict).toBe("illegal");
  });

  it("rejects an incomplete write seen and then unseen", () => {
    const h = [
      reg(0, 0, 0, undefined, { f: "write", value: "a" }),
      reg(1, 1, 5, 6, { f: "read" }, "a"),
      reg(2, 1, 7, 8, { f: "read" }, null),
    ];
    expect(check(h).verdict).toBe("illegal");
  });
});

describe("counter", () => {
  it("accepts concurrent increments answering in either order", () => {
    const h = [ctr(0, 0, 0, 10, { f: "incr", by: 1 }, 2), ctr(1, 1, 0, 10, { f: "incr", by: 1 }, 1), ctr(2, 2, 11, 12, { f: "read" }, 2)];
    expect(checkHistory(counterModel, h).verdict).toBe("ok");
  });

  it("rejects two increments answering the same value (a lost update)", () => {
    const h = [ctr(0, 0, 0, 10, { f: "incr", by: 1 }, 1), ctr(1, 1, 0, 10, { f: "incr", by: 1 }, 1)];
    expect(checkHistory(counterModel, h).verdict).toBe("illegal");
  });

  it("rejects a read that goes backwards", () => {
    const h = [ctr(0, 0, 0, 1, { f: "incr", by: 5 }, 5), ctr(1, 1, 2, 3, { f: "read" }, 0)];
    expect(checkHistory(counterModel, h).verdict).toBe("illegal");
  });

  it("lets an increment that never completed count or not", () => {
    const pending = ctr(0, 0, 0, undefined, { f: "incr", by: 5 });
    expect(checkHistory(counterModel, [pending, ctr(1, 1, 2, 3, { f: "read" }, 0)]).verdict).toBe("ok");
    expect(checkHistory(counterModel, [pending, ctr(1, 1, 2, 3, { f: "read" }, 5)]).verdict).toBe("ok");
  });
});

describe("simulated histories (thousands of ops)", () => {
  for (const seed of [1, 2, 3]) {
    it(`accepts a linearizable register history of 4000 ops, 8 clients, 3 keys (seed ${seed})`, () => {
      const h = simulatedRegister(seed, 4000, 8, ["a", "b", "c"]);
      const r = checkHistory(registerModel, h, { timeoutMs: 20_000 });
      expect(r.verdict).toBe("ok");
      expect(r.ops).toBeGreaterThan(3000);
    });
  }

  it("accepts a linearizable counter history of 3000 ops, 8 clients", () => {
    expect(checkHistory(counterModel, simulatedCounter(7, 3000, 8), { timeoutMs: 20_000 }).verdict).toBe("ok");
  });

  it("finds a planted stale read in 4000 ops and shrinks it to a small fragment that still fails", () => {
    const h = simulatedRegister(4, 4000, 8, ["a", "b", "c"]);
    // A read that began after some write w2 completed, where w2 began after an earlier
    // write w1 completed: any answer but w1's is possible, w1's never is.
    const writes = h.filter((o) => o.key === "a" && o.input.f === "write");
    let planted: (typeof h)[number] | undefined;
    let stale = "";
    for (const r of h.filter((o) => o.key === "a" && o.input.f === "read" && o.id > 2000)) {
      const w2 = writes.find((w) => w.ret! < r.call && writes.some((w1) => w1.ret! < w.call && w1.input.f === "write" && (stale = w1.input.value)));
      if (w2) {
        planted = r;
        break;
      }
    }
    expect(planted).toBeDefined();
    planted!.output = stale;
    const r = checkHistory(registerModel, h);
    expect(r.verdict).toBe("illegal");
    const bad = r.partitions.find((p) => p.verdict === "illegal")!;
    expect(bad.key).toBe("a");
    expect(bad.fragment!.some((o) => o.id === planted!.id)).toBe(true);
    expect(bad.fragment!.length).toBeLessThan(40);
    expect(checkHistory(registerModel, bad.fragment!).verdict).toBe("illegal");
  });

  it("finds a planted lost update in a counter history", () => {
    const h = simulatedCounter(8, 2000, 6);
    const incrs = h.filter((o) => o.input.f === "incr");
    const victim = incrs[Math.floor(incrs.length * 0.75)];
    victim.output = victim.output! - (victim.input as { by: number }).by; // answered the old value
    expect(checkHistory(counterModel, h).verdict).toBe("illegal");
  });
});

describe("rendering a failure", () => {
  it("draws the fragment as a text timeline and a standalone HTML page", () => {
    const h = [
      reg(0, 0, 0, 10, { f: "write", value: "a" }),
      reg(1, 1, 12, 20, { f: "write", value: "b" }),
      reg(2, 2, 25, 30, { f: "read" }, "a"),
      reg(3, 3, 1, undefined, { f: "write", value: "c" }),
    ];
    const r = check(h);
    expect(r.verdict).toBe("illegal");
    const p = r.partitions[0];
    const text = renderText(registerModel, p);
    expect(text).toContain("NOT linearizable");
    expect(text).toContain('#2 GET → "a"');
    expect(text).toContain("longest legal order found");
    const html = renderHtml(registerModel, [p], "planted");
    expect(html.startsWith("<!doctype html>")).toBe(true);
    expect(html).toContain("#2 GET → &quot;a&quot;");
  });
});
