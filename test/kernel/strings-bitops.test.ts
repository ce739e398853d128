// Bit commands on strings through the WASM kernel; expected replies checked against
// redis-server 7.0.15.
import { describe, it, expect, beforeEach } from "vitest";
import { newKernelRun, bulk, int, arr, NIL, OK, err, type KernelRun } from "./strings-harness.js";

let kr: KernelRun;
const run = (...argv: string[]) => kr.run(...argv);
beforeEach(() => { kr = newKernelRun(); });

describe("BITCOUNT", () => {
  it("counts set bits in byte and bit ranges, negative indices from the end", () => {
    run("set", "s", "foobar");
    expect(run("bitcount", "s")).toBe(int(26));
    expect(run("bitcount", "s", "0", "0")).toBe(int(4));
    expect(run("bitcount", "s", "1", "1")).toBe(int(6));
    expect(run("bitcount", "s", "1", "1", "byte")).toBe(int(6));
    expect(run("bitcount", "s", "5", "30", "bit")).toBe(int(17));
    expect(run("bitcount", "s", "-2", "-1")).toBe(int(7));
    expect(run("bitcount", "s", "-1", "-2")).toBe(int(0));
    expect(run("bitcount", "nokey")).toBe(int(0));
  });

  it("rejects a lone start and unknown units", () => {
    run("set", "s", "foobar");
    expect(run("bitcount", "s", "0")).toBe(err("ERR syntax error"));
    expect(run("bitcount", "s", "0", "1", "nibble")).toBe(err("ERR syntax error"));
    expect(run("bitcount", "s", "x", "1")).toBe(err("ERR value is not an integer or out of range"));
  });
});

describe("BITPOS", () => {
  it("finds the first 1 or 0, treating the right as zero-padded unless an end is given", () => {
    run("set", "s", "\xff\xf0\x00");
    expect(run("bitpos", "s", "0")).toBe(int(12));
    expect(run("bitpos", "s", "1", "2")).toBe(int(-1));
    run("set", "f", "\xff\xff\xff");
    expect(run("bitpos", "f", "0")).toBe(int(24));
    expect(run("bitpos", "f", "0", "0", "-1")).toBe(int(-1));
    expect(run("bitpos", "s", "1", "7", "15", "bit")).toBe(int(7));
    expect(run("bitpos", "s", "0", "7", "11", "bit")).toBe(int(-1));
    expect(run("bitpos", "nokey", "0")).toBe(int(0));
    expect(run("bitpos", "nokey", "1")).toBe(int(-1));
    expect(run("bitpos", "s", "2")).toBe(err("ERR The bit argument must be 1 or 0."));
  });
});

describe("BITOP", () => {
  it("combines sources of different lengths, missing keys as empty", () => {
    run("set", "a", "abc");
    run("set", "b", "12"); // int-encoded: operates on its digits
    expect(run("bitop", "and", "d", "a", "b", "nokey")).toBe(int(3));
    expect(run("get", "d")).toBe(bulk("\0\0\0"));
    expect(run("bitop", "or", "d", "a", "b")).toBe(int(3));
    expect(run("get", "d")).toBe(bulk("qrc"));
    expect(run("bitop", "xor", "d", "a", "b")).toBe(int(3));
    expect(run("get", "d")).toBe(bulk("PPc"));
    expect(run("bitop", "not", "d", "a")).toBe(int(3));
    expect(run("get", "d")).toBe(bulk("\x9e\x9d\x9c"));
  });

  it("deletes the destination when every source is empty, and clears its TTL otherwise", () => {
    run("set", "d", "x", "ex", "100");
    expect(run("bitop", "or", "d", "nokey")).toBe(int(0));
    expect(run("get", "d")).toBe(NIL);
    run("set", "d", "x", "ex", "1");
    run("set", "a", "a");
    run("bitop", "or", "d", "a");
    kr.nowMs += 2000;
    expect(run("get", "d")).toBe(bulk("a"));
  });

  it("gives Redis's errors", () => {
    expect(run("bitop", "not", "d", "a", "b")).toBe(err("ERR BITOP NOT must be called with a single source key."));
    expect(run("bitop", "nand", "d", "a")).toBe(err("ERR syntax error"));
    run("hset", "h", "f", "v");
    expect(run("bitop", "or", "d", "h")).toBe(err("WRONGTYPE Operation against a key holding the wrong kind of value"));
  });
});

describe("BITFIELD", () => {
  it("SET returns the old value, GET reads past the end as zeros, #N scales by width", () => {
    expect(run("bitfield", "b", "set", "i8", "0", "-100", "get", "i8", "0")).toBe(arr(int(0), int(-100)));
    expect(run("bitfield", "b", "set", "u8", "#1", "65", "get", "u16", "0", "get", "u8", "100")).toBe(
      arr(int(0), int(0x9c41), int(0)));
    expect(run("get", "b")).toBe(bulk("\x9cA"));
  });

  it("wraps, saturates or fails on overflow", () => {
    expect(run("bitfield", "w", "set", "u8", "0", "250", "incrby", "u8", "0", "10")).toBe(arr(int(0), int(4)));
    expect(run("bitfield", "w", "overflow", "sat", "incrby", "u8", "0", "300", "incrby", "i8", "8", "-200")).toBe(
      arr(int(255), int(-128)));
    expect(run("bitfield", "w", "overflow", "fail", "incrby", "u8", "0", "1", "get", "u8", "0")).toBe(arr(NIL, int(255)));
    expect(run("bitfield", "w64", "set", "i64", "0", "9223372036854775807", "incrby", "i64", "0", "1")).toBe(
      arr(int(0), int("-9223372036854775808")));
  });

  it("gives Redis's errors", () => {
    const badType = err("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.");
    expect(run("bitfield", "b", "get", "u64", "0")).toBe(badType);
    expect(run("bitfield", "b", "get", "i65", "0")).toBe(badType);
    expect(run("bitfield", "b", "get", "I8", "0")).toBe(badType);
    expect(run("bitfield", "b", "overflow", "foo")).toBe(err("ERR Invalid OVERFLOW type specified"));
    expect(run("bitfield", "b", "get", "u8")).toBe(err("ERR syntax error"));
    expect(run("bitfield", "b", "get", "u8", "-1")).toBe(err("ERR bit offset is not an integer or out of range"));
    expect(run("bitfield_ro", "b", "set", "u8", "0", "1")).toBe(err("ERR BITFIELD_RO only supports the GET subcommand"));
    expect(run("bitfield_ro", "b", "get", "u8", "0")).toBe(arr(int(0)));
    expect(run("bitfield", "b")).toBe(arr());
  });
});

it("SETBIT on a missing key creates it; SET then SETBIT works on the value's text", () => {
  expect(run("setbit", "k", "7", "1")).toBe(int(0));
  expect(run("get", "k")).toBe(bulk("\x01"));
  expect(run("set", "k", "1")).toBe(OK);
  expect(run("setbit", "k", "7", "0")).toBe(int(1));
  expect(run("get", "k")).toBe(bulk("0"));
});
