import { describe, it, expect } from "vitest";
import { crc64 } from "../../src/persistence/crc64.js";
import { createDumpPayload, verifyDumpPayload, loadDumpPayload } from "../../src/persistence/dump.js";
import { decodeZiplist, decodeListpack, decodeIntset, decodeZipmap } from "../../src/persistence/packed.js";
import { RdbFormatError } from "../../src/persistence/rdb-format.js";
import type { RdbValue } from "../../src/persistence/value-codec.js";

// DUMP payloads written by redis-server 7.0.15 (listpack, intset, quicklist of an LZF-compressed
// listpack, LZF string), captured with DUMP.
const REAL = {
  lzf: "00c30e4096016161e059000062e026000162620a00c27da001a54da893",
  list: "120102c3244067146700000006008161020101df3802f270110104f4ff8000047f09e04678e03c000148ff0a00c3f3d4b0e3633258",
  intset: "0b200800000003000000c063ffffffffffff0100000000000000005ed0b2000000000a002a2e791bdb0cc429",
  zset: "111d1d0000000600816202dffd0281610283312e350481630283696e6604ff0a00940d89edfbff19ab",
  hash: "1015150000000400816602817602816e02f27929ed04ff0a00fd96ce80fd7c2f1e",
};

const text = (v: unknown) => (typeof v === "string" ? v : Buffer.from(v as Uint8Array).toString("latin1"));

/** A value with every element as a latin1 string, for comparisons. */
function normalize(v: RdbValue): unknown {
  switch (v.type) {
    case "string": return { t: v.type, v: text(v.value) };
    case "list": return { t: v.type, v: v.items.map(text) };
    case "set": return { t: v.type, v: v.members.map(text) };
    // A skiplist is written from the greatest score down (as Redis does): compare in order.
    case "zset": return { t: v.type, v: v.entries.map((e) => [text(e.member), e.score]).sort((a, b) => (a[1] as number) - (b[1] as number)) };
    case "hash": return { t: v.type, v: v.pairs.map(text) };
    default: return v;
  }
}

function load(hex: string): RdbValue {
  const p = Buffer.from(hex, "hex");
  expect(verifyDumpPayload(p)).toBe(true);
  return loadDumpPayload(p);
}

describe("RDB value serialization", () => {
  it("computes Redis's CRC64 (Jones) test vector", () => {
    expect(crc64(Buffer.from("123456789")).value()).toBe(0xe9c6d914c4b8d9can);
  });

  it("loads an LZF-compressed string dumped by Redis 7.0", () => {
    const v = load(REAL.lzf);
    expect(v.type).toBe("string");
    expect(text((v as { value: Uint8Array }).value)).toBe("a".repeat(100) + "b".repeat(50));
  });

  it("loads a quicklist of a compressed listpack with every integer width", () => {
    const v = load(REAL.list) as { items: Uint8Array[] };
    expect(v.items.map(text)).toEqual(["a", "1", "-200", "70000", "9223372036854775807", "x".repeat(70)]);
  });

  it("loads an intset of 64-bit members", () => {
    const v = load(REAL.intset) as { members: Uint8Array[] };
    expect(v.members.map(text)).toEqual(["-40000", "1", "3000000000"]);
  });

  it("loads a listpack zset with integer and inf scores", () => {
    const v = load(REAL.zset) as { entries: { member: Uint8Array; score: number }[] };
    expect(v.entries.map((e) => [text(e.member), e.score])).toEqual([["b", -3], ["a", 1.5], ["c", Infinity]]);
  });

  it("loads a listpack hash", () => {
    const v = load(REAL.hash) as { pairs: Uint8Array[] };
    expect(v.pairs.map(text)).toEqual(["f", "v", "n", "-1234567"]);
  });

  it("round-trips every type through its own DUMP payload", () => {
    const values: RdbValue[] = [
      { type: "string", value: Buffer.from("hello") },
      { type: "string", value: "-2147483648" },
      { type: "string", value: "12345678901234567890" },
      { type: "list", items: ["a", "", "7", "\u00ff\u0000"] },
      { type: "set", members: ["x", "1", "-5"] },
      { type: "zset", entries: [{ member: "a", score: -Infinity }, { member: "b", score: 0.1 }] },
      { type: "hash", pairs: ["f", "1", "g", "two"] },
    ];
    for (const v of values) {
      expect(normalize(loadDumpPayload(createDumpPayload(v)))).toEqual(normalize(v));
    }
  });

  it("writes what Redis 7.0 wrote: LZF string, quicklist of listpacks, intset, listpack zset and hash", () => {
    const packed = (v: RdbValue): RdbValue => (v.type === "set" || v.type === "zset" || v.type === "hash" ? { ...v, packed: true } : v);
    for (const [name, hex] of Object.entries(REAL)) {
      expect(createDumpPayload(packed(load(hex)), true).toString("hex"), name).toBe(hex);
    }
  });

  it("refuses a payload whose checksum or version is wrong", () => {
    const p = Buffer.from(REAL.hash, "hex");
    const flipped = Buffer.from(p);
    flipped[5] ^= 1;
    expect(verifyDumpPayload(flipped)).toBe(false);
    const newer = Buffer.from(p);
    newer[newer.length - 10] = 11;
    expect(verifyDumpPayload(newer)).toBe(false);
    expect(verifyDumpPayload(Buffer.from("short"))).toBe(false);
  });

  it("throws RdbFormatError on a truncated or corrupt object, never reading past it", () => {
    const good = createDumpPayload({ type: "list", items: ["a", "b", "c"] });
    const body = good.subarray(0, good.length - 10);
    for (let cut = 1; cut < body.length; cut++) {
      expect(() => loadDumpPayload(Buffer.concat([body.subarray(0, cut), good.subarray(good.length - 10)]))).toThrow(RdbFormatError);
    }
    expect(() => loadDumpPayload(Buffer.concat([Buffer.from([0x63]), good.subarray(good.length - 10)]))).toThrow(RdbFormatError);
  });

  it("decodes a ziplist (Redis before 7.0) with every entry encoding", () => {
    // entries: "ab" (6-bit str), 5 (imm), -2 (int8), 1000 (int16), 100000 (int24), 1e9 (int32), 2^40 (int64)
    const entries: number[][] = [
      [0x02, 0x61, 0x62], [0xf6], [0xfe, 0xfe], [0xc0, 0xe8, 0x03], [0xf0, 0xa0, 0x86, 0x01],
      [0xd0, 0x00, 0xca, 0x9a, 0x3b], [0xe0, 0, 0, 0, 0, 0, 1, 0, 0],
    ];
    const body: number[] = [];
    let prev = 0;
    for (const e of entries) { body.push(prev, ...e); prev = e.length + 1; }
    const zl = Buffer.alloc(10 + body.length + 1);
    zl.writeUInt32LE(zl.length, 0);
    zl.writeUInt32LE(10 + body.length - prev, 4); // zltail: the last entry
    zl.writeUInt16LE(entries.length, 8);
    Buffer.from(body).copy(zl, 10);
    zl[zl.length - 1] = 0xff;
    expect(decodeZiplist(zl).map(text)).toEqual(["ab", "5", "-2", "1000", "100000", "1000000000", String(2 ** 40)]);
  });

  // Redis's deep integrity checks (ziplistValidateIntegrity, lpValidateNext, intset's and
  // zipmap's): a payload that breaks one is "Bad data format", not a value that is wrong later.
  describe("integrity checks of packed blobs", () => {
    /** A ziplist of 1-byte-length strings "a", "b", with the given header and prevlen overrides. */
    function ziplist(o: { tail?: number; count?: number; prevlen2?: number } = {}): Buffer {
      const zl = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0x61, o.prevlen2 ?? 0x03, 0x01, 0x62, 0xff]);
      zl.writeUInt32LE(zl.length, 0);
      zl.writeUInt32LE(o.tail ?? 13, 4);
      zl.writeUInt16LE(o.count ?? 2, 8);
      return zl;
    }
    it("accepts a well-formed ziplist, and an unknown count (65535)", () => {
      expect(decodeZiplist(ziplist()).map(text)).toEqual(["a", "b"]);
      expect(decodeZiplist(ziplist({ count: 0xffff })).map(text)).toEqual(["a", "b"]);
    });
    it("refuses a ziplist whose prevlen, tail offset or count is wrong", () => {
      expect(() => decodeZiplist(ziplist({ prevlen2: 0x02 }))).toThrow(RdbFormatError);
      expect(() => decodeZiplist(ziplist({ tail: 10 }))).toThrow(RdbFormatError);
      expect(() => decodeZiplist(ziplist({ tail: 40 }))).toThrow(RdbFormatError);
      expect(() => decodeZiplist(ziplist({ count: 3 }))).toThrow(RdbFormatError);
    });
    it("refuses a listpack entry whose back length does not match", () => {
      // "a" (0x81 0x61, backlen 2) then "b" with a wrong backlen.
      const lp = (back2: number) => Buffer.from([13, 0, 0, 0, 2, 0, 0x81, 0x61, 0x02, 0x81, 0x62, back2, 0xff]);
      expect(decodeListpack(lp(0x02)).map(text)).toEqual(["a", "b"]);
      expect(() => decodeListpack(lp(0x03))).toThrow(RdbFormatError);
    });
    it("refuses an intset out of order, with a duplicate, or empty", () => {
      const intset = (...v: number[]) => {
        const b = Buffer.alloc(8 + 2 * v.length);
        b.writeUInt32LE(2, 0); b.writeUInt32LE(v.length, 4);
        v.forEach((x, i) => b.writeInt16LE(x, 8 + 2 * i));
        return b;
      };
      expect(decodeIntset(intset(-1, 5, 7)).map(text)).toEqual(["-1", "5", "7"]);
      expect(() => decodeIntset(intset(5, -1))).toThrow(RdbFormatError);
      expect(() => decodeIntset(intset(5, 5))).toThrow(RdbFormatError);
      expect(() => decodeIntset(intset())).toThrow(RdbFormatError);
    });
    it("refuses a zipmap that is empty or whose count is wrong", () => {
      const zipmap = (count: number) => Buffer.from([count, 1, 0x66, 1, 0, 0x76, 0xff]);
      expect(decodeZipmap(zipmap(1)).map(text)).toEqual(["f", "v"]);
      expect(decodeZipmap(zipmap(254)).map(text)).toEqual(["f", "v"]);
      expect(() => decodeZipmap(zipmap(2))).toThrow(RdbFormatError);
      expect(() => decodeZipmap(Buffer.from([0, 0xff]))).toThrow(RdbFormatError);
    });
  });
});
