// string2d's fast path for plain decimals (src/util/strtod.ts) must give exactly what the
// strtod path gives, sign of zero included, and refuse what Redis refuses.
import { describe, it, expect } from "vitest";
import { string2d, strtod } from "../../src/util/strtod.js";

describe("string2d", () => {
  it("parses plain decimals exactly as strtod does", () => {
    const cases = ["0", "-0", "+0", "1", "-1", "+7", "1.5", "-1.5", ".5", "-.5", "5.", "-5.", "0.1", "0.30000000000000004",
      "123456789012345678", "9007199254740993", "-9007199254740993", "3.14159265358979323", "1.7976931348623157",
      "00000000000000000001", "99999999999999999999", "0.000000000000000001"];
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let i = 0; i < 2000; i++) {
      const ip = String(rnd() % 1000000), fp = String(rnd()).slice(0, rnd() % 10);
      cases.push(`${rnd() % 2 ? "-" : ""}${ip}${fp ? "." + fp : ""}`);
    }
    for (const s of cases) {
      const want = strtod(s);
      expect(want.end).toBe(s.length);
      expect(Object.is(string2d(s), want.value), s).toBe(true);
    }
  });

  it("refuses what is not a whole float, as Redis's string2d", () => {
    for (const s of ["", "-", "+", ".", "-.", "1.2.3", "1-", " 1", "1 ", "1x", "--1", "nan", "1e999", "1e-999"]) {
      expect(string2d(s), JSON.stringify(s)).toBeNull();
    }
    expect(string2d("1e3")).toBe(1000);
    expect(string2d("-inf")).toBe(-Infinity);
    expect(string2d("0x10")).toBe(16);
  });
});
