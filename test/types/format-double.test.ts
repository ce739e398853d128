// formatDouble is Redis's "%.17g" (addReplyDouble): checked against C's printf through
// vectors produced by redis-server 7.0.15 (ZADD then ZRANGE ... WITHSCORES).
import { describe, it, expect } from "vitest";
import { formatDouble } from "../../src/server/reply-writer.js";
import { d2string } from "../../src/commands/zsets.js";

describe("formatDouble (%.17g)", () => {
  it("matches redis-server's replies", () => {
    const vectors: [number, string][] = [
      [7.3932111297702469e-05, "7.3932111297702469e-05"],
      [1.5e-7, "1.4999999999999999e-07"],
      [1e-5, "1.0000000000000001e-05"],
      [0.1, "0.10000000000000001"],
      [123.456, "123.456"],
      [1e300, "1.0000000000000001e+300"],
      [1e20, "1e+20"],
      [123456789012345678, "1.2345678901234568e+17"],
      [3, "3"],
      // -0 keeps its sign (redis-server: ZINCRBY z -0 new -> "-0"; ZSCORE of a skiplist's -0).
      [-0, "-0"],
      [0, "0"],
      [1e16, "10000000000000000"],
      [0.0001, "0.0001"],
      [0.00012, "0.00012"],
      [1e-320, "9.9998886718268301e-321"],
      [Infinity, "inf"],
      [-Infinity, "-inf"],
      // exact ties at the 17th digit round half to even, as printf does (ZSCORE on redis-server)
      [629310171879781.625, "629310171879781.62"],
      [-227155327796936.625, "-227155327796936.62"],
      [258090257644653.125, "258090257644653.12"],
      [258090257644653.375, "258090257644653.38"],
    ];
    for (const [d, s] of vectors) expect(formatDouble(d), String(d)).toBe(s);
  });

  it("d2string (ZSCAN) prints integral scores that fit a long long as integers", () => {
    expect(d2string(123456789012345678)).toBe("123456789012345680");
    expect(d2string(1e20)).toBe("1e+20");
    expect(d2string(2.5)).toBe("2.5");
    expect(d2string(-Infinity)).toBe("-inf");
    expect(d2string(-0)).toBe("-0"); // ZSCAN of a skiplist member scored -0, as redis-server
    expect(d2string(0)).toBe("0");
  });
});
