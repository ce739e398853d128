// The router's reading of shard replies (src/server/resp-read.ts): lengths and integers are
// read from their digits in place, and must read as Number() of their text did.
import { describe, it, expect } from "vitest";
import { arrayItems, integerOf, bulkOf, skipValue } from "../../src/server/resp-read.js";

const b = (s: string) => Buffer.from(s, "latin1");

describe("resp-read", () => {
  it("reads integer replies as Number() of their text", () => {
    for (const t of ["0", "7", "-1", "-0", "12345", "999999999999999", "1000000000000000", "9007199254740993",
      "-9223372036854775808", "9223372036854775807", "", "-", "+5", "1e3", " 4"]) {
      expect(Object.is(integerOf(b(`:${t}\r\n`)), Number(t))).toBe(true);
    }
  });

  it("splits an array of bulks, nulls and nested arrays, from an offset in a larger buffer", () => {
    const body = "*4\r\n$3\r\nabc\r\n$-1\r\n*2\r\n:10\r\n$0\r\n\r\n$12\r\nhello\r\nworld\r\n";
    const buf = b("xx" + body + "yy").subarray(2, 2 + body.length);
    const items = arrayItems(buf)!;
    expect(items.map((s) => buf.subarray(s.start, s.end).toString("latin1"))).toEqual(
      ["$3\r\nabc\r\n", "$-1\r\n", "*2\r\n:10\r\n$0\r\n\r\n", "$12\r\nhello\r\nworld\r\n"]);
    expect(bulkOf(buf, items[3].start)!.toString()).toBe("hello\r\nworld");
    expect(bulkOf(buf, items[1].start)).toBeNull();
    expect(skipValue(buf, 0)).toBe(body.length);
    expect(arrayItems(b("*-1\r\n"))).toBeNull();
  });
});
