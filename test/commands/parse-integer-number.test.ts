// parseIntegerNumber reads short integers from bytes itself; it must accept and refuse exactly
// what parseInteger (Redis's string2ll) does, and give the same value.
import { describe, it, expect } from "vitest";
import { parseInteger, parseIntegerNumber } from "../../src/commands/context.js";

describe("parseIntegerNumber", () => {
  it("agrees with parseInteger on valid, invalid and edge inputs", () => {
    const inputs = ["0", "-0", "00", "01", "-01", "1", "-1", "9", "10", "99", "-100", "+1", " 1", "1 ", "", "-", "--1", "1-",
      "1a", "a1", "0x10", "1.0", "1e3", "123456789012345", "-12345678901234", "1234567890123456", "-123456789012345",
      "9007199254740993", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
      "18446744073709551616", "\u00001", "1\u0000", "٣"];
    for (let i = 0; i < 2000; i++) inputs.push(String(Math.floor((Math.random() - 0.5) * 10 ** (1 + (i % 16)))));
    for (const s of inputs) {
      const b = Buffer.from(s, "latin1");
      const want = parseInteger(b);
      expect(parseIntegerNumber(b), JSON.stringify(s)).toBe(want === null ? null : Number(want));
    }
  });
});
