// ReplyWriter.bulkBinaries* (src/server/bulk-encoder.ts) must give the very bytes that one
// bulkBinary per element gives: lengths of every digit count, elements around the char-by-char
// limit, every byte value, and runs long enough to be handed over in several parts or to
// need the fallback for an element longer than the encoder's buffer.
import { describe, it, expect } from "vitest";
import { ReplyWriter } from "../../src/server/reply-writer.js";

function both(items: string[]): [Buffer, Buffer] {
  const a = new ReplyWriter();
  a.arrayLen(items.length);
  for (const s of items) a.bulkBinary(s);
  const b = new ReplyWriter();
  b.arrayLen(items.length);
  b.bulkBinariesBegin();
  for (const s of items) b.bulkBinariesAdd(s);
  b.bulkBinariesEnd();
  expect(b.pending).toBe(a.pending);
  return [a.take(), b.take()];
}

const latin1 = (n: number, seed: number) => {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode((i * 31 + seed) & 255);
  return s;
};

describe("bulk encoder", () => {
  it("encodes short elements, empty ones and every byte value as bulkBinary does", () => {
    const items = ["", "a", "xxx", latin1(9, 1), latin1(10, 2), latin1(64, 3), latin1(65, 4), latin1(99, 5), latin1(100, 6), latin1(256, 7)];
    const [a, b] = both(items);
    expect(b.equals(a)).toBe(true);
  });

  it("hands over long runs in several parts and still matches", () => {
    const items: string[] = [];
    for (let i = 0; i < 3000; i++) items.push(latin1(i % 300, i));
    const [a, b] = both(items);
    expect(b.length).toBeGreaterThan(100_000);
    expect(b.equals(a)).toBe(true);
  });

  it("writes an element longer than its buffer (and ones around it) in order", () => {
    const items = ["before", latin1(100_000, 9), "after", latin1(12_345, 8), latin1(36_000, 7)];
    const [a, b] = both(items);
    expect(b.equals(a)).toBe(true);
  });
});
