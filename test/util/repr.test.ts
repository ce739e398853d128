import { describe, it, expect } from "vitest";
import { catRepr } from "../../src/util/repr.js";

describe("catRepr (Redis's sdscatrepr)", () => {
  it("escapes quotes, backslashes and named controls, and other non-printables as \\xNN", () => {
    expect(catRepr('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(catRepr("\n\r\t\x07\x08")).toBe('"\\n\\r\\t\\a\\b"');
    expect(catRepr(Buffer.from([0x00, 0x1f, 0x7f, 0xff, 0x41]))).toBe('"\\x00\\x1f\\x7f\\xffA"');
  });

  it("takes a string as latin1 bytes, keeping characters no byte can hold", () => {
    expect(catRepr("caf\u00e9")).toBe('"caf\\xe9"');
    expect(catRepr("\u6771")).toBe('"\u6771"');
  });
});
