// String commands driven straight through the WASM kernel (no server): replies are the raw
// RESP bytes, so error strings, nil forms and number formatting are pinned to the letter.
// Expected values were checked against redis-server 7.0.15.
import { describe, it, expect, beforeEach } from "vitest";
import { newKernelRun, bulk, int, NIL, OK, err, type KernelRun } from "./strings-harness.js";

let kr: KernelRun;
const run = (...argv: string[]) => kr.run(...argv);
const NOT_INT = err("ERR value is not an integer or out of range");
const NOT_FLOAT = err("ERR value is not a valid float");

beforeEach(() => {
  kr = newKernelRun();
});

describe("INCR family", () => {
  it("INCR creates a missing key at 1 and counts on", () => {
    expect(run("incr", "n")).toBe(int(1));
    expect(run("incr", "n")).toBe(int(2));
    expect(run("get", "n")).toBe(bulk("2"));
  });

  it("INCRBY/DECRBY work past 32 bits and go negative", () => {
    run("set", "n", "17179869184");
    expect(run("incrby", "n", "17179869184")).toBe(int(34359738368));
    run("set", "n", "17179869184");
    expect(run("decrby", "n", "17179869185")).toBe(int(-1));
  });

  it("INCR/DECR at the i64 limits fail with Redis's overflow error and keep the value", () => {
    run("set", "max", "9223372036854775807");
    expect(run("incr", "max")).toBe(err("ERR increment or decrement would overflow"));
    expect(run("get", "max")).toBe(bulk("9223372036854775807"));
    run("set", "min", "-9223372036854775808");
    expect(run("decr", "min")).toBe(err("ERR increment or decrement would overflow"));
    expect(run("incrby", "min", "-1")).toBe(err("ERR increment or decrement would overflow"));
    expect(run("incrby", "min", "9223372036854775807")).toBe(int(-1));
  });

  it("DECRBY of i64 min is refused before it is negated", () => {
    run("set", "x", "0");
    expect(run("decrby", "x", "-9223372036854775808")).toBe(err("ERR decrement would overflow"));
  });

  it.each(["    11", "11    ", " 11 ", "011", "+1", "1.0", "", "9223372036854775808"])(
    "INCR refuses the non-canonical integer %j", (v) => {
      run("set", "s", v);
      expect(run("incr", "s")).toBe(NOT_INT);
    });

  it("INCRBY refuses a non-integer increment", () => {
    expect(run("incrby", "n", "1.5")).toBe(NOT_INT);
    expect(run("get", "n")).toBe(NIL);
  });

  it("INCR keeps a key's TTL", () => {
    run("set", "t", "5", "px", "10000");
    run("incr", "t");
    kr.nowMs += 10_001;
    expect(run("get", "t")).toBe(NIL);
  });
});

describe("INCRBYFLOAT prints like Redis's long double %.17Lf", () => {
  it.each([
    ["10.5", "0.1", "10.6"],
    ["0.1", "0.2", "0.3"],
    ["1", "-1.1", "-0.1"],
    ["17179869184", "1.5", "17179869185.5"],
    ["0", "1.5e20", "150000000000000000000"],
    ["0", "1e30", "1000000000000000000024696061952"],
    ["3.0", "0", "3"],
    ["0", "1e-20", "0"],
    ["0", "-1e-20", "0"],
    ["0", "0.000000000000000015", "0.00000000000000002"],
    ["0", "0.000000000000000025", "0.00000000000000002"],
    ["9223372036854775807", "1", "9223372036854775808"],
    ["0.333333333333333333333333", "0.333333333333333333333333", "0.66666666666666667"],
    ["0", "0x1.8p1", "3"],
    ["0", "1e400", "10000000000000000000281880683947586514586453433629052038625910693539685534008629862039363994848324160522094053927317616200295822777259255734023828976593340661017797447434546173917862448116674971723778943824391593338047470675026246684401359237513603830343735485505244955964979021825038280091068414947402456898653040951017512658092615827588920183472511643316591362664138176309734806343732497430221946880"],
  ])("%s + %s = %s", (start, incr, want) => {
    run("set", "f", start);
    expect(run("incrbyfloat", "f", incr)).toBe(bulk(want));
    expect(run("get", "f")).toBe(bulk(want));
  });

  it("a value and its negation sum to 0, never -0", () => {
    run("incrbyfloat", "z", "0.024390243902439025");
    expect(run("incrbyfloat", "z", "-0.024390243902439025")).toBe(bulk("0"));
  });

  it("refuses an increment that would reach infinity", () => {
    run("set", "f", "0");
    expect(run("incrbyfloat", "f", "+inf")).toBe(err("ERR increment would produce NaN or Infinity"));
    run("set", "f", "1e4932");
    expect(run("incrbyfloat", "f", "1e4932")).toBe(err("ERR increment would produce NaN or Infinity"));
  });

  it.each([" 11", "11 ", "1\x002", "nan", "1e", ".", "1e-5000", "1e5000", "0x", "abc"])(
    "refuses the stored value %j as not a valid float", (v) => {
      run("set", "f", v);
      expect(run("incrbyfloat", "f", "1")).toBe(NOT_FLOAT);
    });

  it("refuses a bad increment after checking the stored value", () => {
    expect(run("incrbyfloat", "f", "x")).toBe(NOT_FLOAT);
    expect(run("get", "f")).toBe(NIL);
  });
});

describe("bulk replies", () => {
  it("GET and LRANGE reply values of every short length byte for byte (the header and the short copy's cases)", () => {
    const values: string[] = [];
    for (let n = 0; n <= 40; n++) values.push(Array.from({ length: n }, (_, i) => String.fromCharCode(0x41 + ((n + i) % 26))).join(""));
    for (const v of values) {
      run("set", "s", v);
      expect(run("get", "s")).toBe(bulk(v));
    }
    run("rpush", "l", ...values);
    expect(run("lrange", "l", "0", "-1")).toBe(`*${values.length}\r\n` + values.map(bulk).join(""));
  });
});

describe("SET variants", () => {
  it("SETNX replies 1 then 0 and leaves the first value", () => {
    expect(run("setnx", "k", "a")).toBe(int(1));
    expect(run("setnx", "k", "b")).toBe(int(0));
    expect(run("get", "k")).toBe(bulk("a"));
  });

  it("SETEX/PSETEX set a TTL and check it like Redis", () => {
    expect(run("setex", "k", "10", "v")).toBe(OK);
    kr.nowMs += 9_999;
    expect(run("get", "k")).toBe(bulk("v"));
    kr.nowMs += 1;
    expect(run("get", "k")).toBe(NIL);
    expect(run("psetex", "k", "5", "v")).toBe(OK);
    expect(run("setex", "k", "0", "v")).toBe(err("ERR invalid expire time in 'setex' command"));
    expect(run("psetex", "k", "-1", "v")).toBe(err("ERR invalid expire time in 'psetex' command"));
    expect(run("setex", "k", "9223372036854775807", "v")).toBe(err("ERR invalid expire time in 'setex' command"));
    expect(run("setex", "k", "x", "v")).toBe(NOT_INT);
  });

  it("GETSET returns the old value and clears the TTL", () => {
    expect(run("getset", "k", "a")).toBe(NIL);
    run("set", "k", "b", "ex", "1");
    expect(run("getset", "k", "c")).toBe(bulk("b"));
    kr.nowMs += 5000;
    expect(run("get", "k")).toBe(bulk("c"));
  });

  it("GETDEL returns the value then the key is gone", () => {
    run("set", "k", "v");
    expect(run("getdel", "k")).toBe(bulk("v"));
    expect(run("getdel", "k")).toBe(NIL);
  });

  it("GETEX sets, replaces and removes TTLs; a past EXAT deletes", () => {
    run("set", "k", "v");
    expect(run("getex", "k", "px", "100")).toBe(bulk("v"));
    expect(run("getex", "k", "persist")).toBe(bulk("v"));
    kr.nowMs += 1000;
    expect(run("get", "k")).toBe(bulk("v"));
    expect(run("getex", "k", "exat", "1")).toBe(bulk("v"));
    expect(run("get", "k")).toBe(NIL);
  });

  it("GETEX option errors follow Redis's order", () => {
    run("set", "k", "v");
    expect(run("getex", "k", "foo")).toBe(err("ERR syntax error"));
    expect(run("getex", "k", "ex")).toBe(err("ERR syntax error"));
    expect(run("getex", "k", "persist", "ex", "1")).toBe(err("ERR syntax error"));
    expect(run("getex", "k", "ex", "1", "px", "1")).toBe(err("ERR syntax error"));
    expect(run("getex", "k", "ex", "0")).toBe(err("ERR invalid expire time in 'getex' command"));
    // The expire value is only checked once the key exists.
    expect(run("getex", "missing", "ex", "0")).toBe(NIL);
  });
});

describe("multi-key", () => {
  it("MSET/MGET any number of keys; MGET gives nil for missing keys", () => {
    const argv = ["mset"];
    for (let i = 0; i < 2000; i++) argv.push(`k${i}`, `v${i}`);
    expect(run(...argv)).toBe(OK);
    const got = run("mget", "k0", "nope", "k1999");
    expect(got).toBe(`*3\r\n${bulk("v0")}${NIL}${bulk("v1999")}`);
  });

  it("MSET/MSETNX with an odd pair count is an arity error", () => {
    expect(run("mset", "a", "1", "b")).toBe(err("ERR wrong number of arguments for 'mset' command"));
    expect(run("msetnx", "a", "1", "b")).toBe(err("ERR wrong number of arguments for 'msetnx' command"));
  });

  it("MSETNX sets all keys or none", () => {
    expect(run("msetnx", "a", "1", "b", "2")).toBe(int(1));
    expect(run("msetnx", "c", "3", "a", "9")).toBe(int(0));
    expect(run("get", "c")).toBe(NIL);
    expect(run("msetnx", "d", "x", "d", "y")).toBe(int(1));
    expect(run("get", "d")).toBe(bulk("y"));
  });
});

describe("byte edits", () => {
  it("APPEND creates, extends and works on int-encoded values", () => {
    expect(run("append", "a", "hello")).toBe(int(5));
    expect(run("append", "a", " world")).toBe(int(11));
    expect(run("get", "a")).toBe(bulk("hello world"));
    run("set", "i", "123");
    expect(run("append", "i", "456")).toBe(int(6));
    expect(run("incr", "i")).toBe(int(123457));
  });

  it("STRLEN counts bytes, including of int-encoded values", () => {
    expect(run("strlen", "none")).toBe(int(0));
    run("set", "i", "-555");
    expect(run("strlen", "i")).toBe(int(4));
    run("set", "s", "foozzz0123456789 baz");
    expect(run("strlen", "s")).toBe(int(20));
  });

  it("SETRANGE pads with zero bytes and creates nothing for an empty value", () => {
    expect(run("setrange", "k", "1", "foo")).toBe(int(4));
    expect(run("get", "k")).toBe(bulk("\0foo"));
    expect(run("setrange", "e", "0", "")).toBe(int(0));
    expect(run("get", "e")).toBe(NIL);
    run("set", "s", "foo");
    expect(run("setrange", "s", "4", "bar")).toBe(int(7));
    expect(run("get", "s")).toBe(bulk("foo\0bar"));
    expect(run("setrange", "s", "1", "XY")).toBe(int(7));
    expect(run("get", "s")).toBe(bulk("fXY\0bar"));
    run("set", "i", "1234");
    expect(run("setrange", "i", "0", "")).toBe(int(4));
    expect(run("setrange", "i", "5", "2")).toBe(int(6));
    expect(run("get", "i")).toBe(bulk("1234\x002"));
  });

  it("SETRANGE refuses negative offsets and results over 512MB", () => {
    run("set", "s", "hello");
    expect(run("setrange", "s", "-1", "x")).toBe(err("ERR offset is out of range"));
    const tooBig = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    expect(run("setrange", "s", String(512 * 1024 * 1024 - 4), "world")).toBe(tooBig);
    expect(run("setrange", "new", String(512 * 1024 * 1024 - 4), "world")).toBe(tooBig);
    expect(run("setrange", "s", "9223372036854775807", "A")).toBe(tooBig);
    expect(run("get", "new")).toBe(NIL);
  });

  it("GETRANGE clamps indices and counts negatives from the end", () => {
    run("set", "s", "Hello World");
    expect(run("getrange", "s", "0", "3")).toBe(bulk("Hell"));
    expect(run("getrange", "s", "-4", "-1")).toBe(bulk("orld"));
    expect(run("getrange", "s", "5", "3")).toBe(bulk(""));
    expect(run("getrange", "s", "-1", "-5")).toBe(bulk(""));
    expect(run("getrange", "s", "-5000", "10000")).toBe(bulk("Hello World"));
    expect(run("getrange", "s", "0", "4294967297")).toBe(bulk("Hello World"));
    expect(run("substr", "s", "6", "-1")).toBe(bulk("World"));
    expect(run("getrange", "none", "0", "-1")).toBe(bulk(""));
    run("set", "i", "1234");
    expect(run("getrange", "i", "-3", "-1")).toBe(bulk("234"));
    expect(run("getrange", "s", "x", "1")).toBe(NOT_INT);
  });
});

describe("SETBIT / GETBIT", () => {
  it("address bits from the most significant bit of byte 0", () => {
    expect(run("setbit", "b", "1", "1")).toBe(int(0));
    expect(run("get", "b")).toBe(bulk("\x40"));
    expect(run("setbit", "b", "1", "0")).toBe(int(1));
    run("set", "i", "1"); // "1" is 0x31
    expect(run("setbit", "i", "6", "1")).toBe(int(0));
    expect(run("get", "i")).toBe(bulk("3"));
    expect(run("getbit", "i", "2")).toBe(int(1));
    expect(run("getbit", "i", "100")).toBe(int(0));
  });

  it("refuse bad offsets and bit values", () => {
    expect(run("setbit", "b", String(4 * 1024 * 1024 * 1024), "1")).toBe(err("ERR bit offset is not an integer or out of range"));
    expect(run("setbit", "b", "-1", "1")).toBe(err("ERR bit offset is not an integer or out of range"));
    expect(run("setbit", "b", "0", "2")).toBe(err("ERR bit is not an integer or out of range"));
  });
});

describe("LCS", () => {
  it("returns the string, LEN, and IDX ranges as Redis", () => {
    run("set", "a", "ohmytext");
    run("set", "b", "mynewtext");
    expect(run("lcs", "a", "b")).toBe(bulk("mytext"));
    expect(run("lcs", "a", "b", "len")).toBe(int(6));
    expect(run("lcs", "a", "b", "idx", "minmatchlen", "4", "withmatchlen")).toBe(
      "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n");
    expect(run("lcs", "a", "b", "idx")).toBe(
      "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n");
  });

  it("treats missing keys as empty and rejects bad options", () => {
    expect(run("lcs", "x", "y")).toBe(bulk(""));
    run("set", "a", "abc");
    expect(run("lcs", "a", "b", "len", "idx")).toBe(err("ERR If you want both the length and indexes, please just use IDX."));
    expect(run("lcs", "a", "b", "foo")).toBe(err("ERR syntax error"));
    expect(run("lcs", "a", "b", "minmatchlen", "x")).toBe(NOT_INT);
  });
});

describe("WRONGTYPE", () => {
  const WRONGTYPE = err("WRONGTYPE Operation against a key holding the wrong kind of value");
  it.each([
    ["get", "h"], ["getset", "h", "v"], ["getdel", "h"], ["getex", "h"], ["getex", "h", "ex", "10"],
    ["append", "h", "x"], ["strlen", "h"], ["incr", "h"], ["decr", "h"], ["incrby", "h", "1"],
    ["decrby", "h", "1"], ["incrbyfloat", "h", "1"], ["setrange", "h", "0", "x"], ["setrange", "h", "0", ""],
    ["getrange", "h", "0", "-1"], ["substr", "h", "0", "-1"], ["set", "h", "v", "get"],
    ["setbit", "h", "0", "1"], ["getbit", "h", "0"],
  ])("%s on a hash key", (...argv) => {
    run("hset", "h", "f", "v");
    expect(run(...argv)).toBe(WRONGTYPE);
    expect(run("hget", "h", "f")).toBe(bulk("v"));
  });

  it("SET, SETEX, MSET overwrite any type; MGET gives nil; LCS refuses", () => {
    run("hset", "h", "f", "v");
    expect(run("mget", "h")).toBe(`*1\r\n${NIL}`);
    expect(run("lcs", "h", "x")).toBe(err("ERR The specified keys must contain string values"));
    expect(run("set", "h", "s")).toBe(OK);
    expect(run("get", "h")).toBe(bulk("s"));
    run("hset", "h2", "f", "v");
    expect(run("mset", "h2", "m")).toBe(OK);
    expect(run("get", "h2")).toBe(bulk("m"));
    expect(run("setnx", "h2", "n")).toBe(int(0));
  });
});

describe("SET option parsing", () => {
  it("accepts a repeated expire option (last wins) but not two different ones", () => {
    expect(run("set", "k", "v", "ex", "100", "ex", "10")).toBe(OK);
    kr.nowMs += 10_000;
    expect(run("get", "k")).toBe(NIL);
    expect(run("set", "k", "v", "ex", "10", "px", "10")).toBe(err("ERR syntax error"));
    expect(run("set", "k", "v", "ex", "10", "keepttl")).toBe(err("ERR syntax error"));
    expect(run("set", "k", "v", "nx", "xx")).toBe(err("ERR syntax error"));
    expect(run("set", "k", "v", "exat", "9223372036854775807")).toBe(err("ERR invalid expire time in 'set' command"));
  });
});

describe("effect log records what a command did", () => {
  const T = 1_700_000_000_000;
  it.each([
    [["set", "k", "v", "ex", "10"], ["SET", "k", "v", "PXAT", String(T + 10_000)]],
    [["set", "k", "v", "get", "px", "5", "GET"], ["SET", "k", "v", "PXAT", String(T + 5)]],
    [["set", "k", "v", "nx", "get"], ["set", "k", "v", "nx"]],
    [["setex", "k", "10", "v"], ["SET", "k", "v", "PXAT", String(T + 10_000)]],
    [["psetex", "k", "10", "v"], ["SET", "k", "v", "PXAT", String(T + 10)]],
    [["getset", "k", "v"], ["SET", "k", "v"]],
    [["incrbyfloat", "f", "0.1"], ["SET", "f", "0.1", "KEEPTTL"]],
    [["set", "k", "v"], ["set", "k", "v"]],
  ])("%j is recorded as %j", (argv, want) => {
    kr.kernel.x.setEffectsEnabled(1);
    kr.run(...argv);
    expect(kr.effects()).toEqual([want]);
  });

  it("GETDEL -> DEL, GETEX -> PEXPIREAT / PERSIST / DEL; no-op forms record nothing", () => {
    run("set", "k", "v", "ex", "100");
    kr.kernel.x.setEffectsEnabled(1);
    run("getex", "k");
    expect(kr.effects()).toEqual([]);
    run("getex", "k", "ex", "10");
    expect(kr.effects()).toEqual([["PEXPIREAT", "k", String(T + 10_000)]]);
    run("getex", "k", "persist");
    expect(kr.effects()).toEqual([["PERSIST", "k"]]);
    run("getex", "k", "persist");
    expect(kr.effects()).toEqual([]);
    run("getex", "k", "pxat", "1");
    expect(kr.effects()).toEqual([["DEL", "k"]]);
    run("set", "k", "v");
    run("getdel", "k");
    expect(kr.effects()).toEqual([["DEL", "k"]]);
    run("getdel", "k");
    expect(kr.effects()).toEqual([]);
  });
});

describe("values that grow in place", () => {
  it("10000 APPENDs build the exact string", () => {
    let want = "";
    for (let i = 0; i < 10000; i++) {
      const piece = String(i % 97);
      want += piece;
      expect(run("append", "log", piece)).toBe(int(want.length));
    }
    expect(run("get", "log")).toBe(bulk(want));
    expect(run("strlen", "log")).toBe(int(want.length));
  });

  it("a shorter SET over a longer value leaves no stale bytes for SETRANGE/APPEND/SETBIT to expose", () => {
    run("set", "k", "abcdefghijklmnopqrstuvwxyz0123");
    run("set", "k", "xyzxyzxyzxyzxyzxyzxyz"); // may reuse the block in place
    expect(run("setrange", "k", "25", "!")).toBe(int(26));
    expect(run("get", "k")).toBe(bulk("xyzxyzxyzxyzxyzxyzxyz\0\0\0\0!"));
    run("set", "k", "abcdefghijklmnopqrstuvwxyz0123");
    run("set", "k", "xyzxyzxyzxyzxyzxyzxyz");
    expect(run("setbit", "k", String(26 * 8 + 7), "1")).toBe(int(0));
    expect(run("get", "k")).toBe(bulk("xyzxyzxyzxyzxyzxyzxyz\0\0\0\0\0\x01"));
  });

  it("SET in place keeps int encoding rules and TTL rules", () => {
    run("set", "k", "abc", "ex", "10");
    expect(run("set", "k", "123")).toBe(OK);
    expect(run("incr", "k")).toBe(int(124));
    run("set", "k", "abc", "ex", "10");
    run("set", "k", "xyz");
    kr.nowMs += 20_000;
    expect(run("get", "k")).toBe(bulk("xyz"));
    run("set", "k", "abc", "ex", "10");
    run("set", "k", "xyz", "keepttl");
    kr.nowMs += 20_000;
    expect(run("get", "k")).toBe(NIL);
  });

  it("SETBIT with rising offsets grows a bitmap one byte at a time", () => {
    for (let i = 0; i < 4096; i += 3) run("setbit", "bm", String(i), "1");
    expect(run("strlen", "bm")).toBe(int(512));
    expect(run("bitcount", "bm")).toBe(int(1366));
    expect(run("getbit", "bm", "4095")).toBe(int(1));
    expect(run("getbit", "bm", "4094")).toBe(int(0));
  });
});

describe("RESP3 replies", () => {
  it("LCS IDX is a map and nils are RESP3 nulls", () => {
    kr.kernel.x.setProtocol(3);
    run("set", "a", "ohmytext");
    run("set", "b", "mynewtext");
    expect(run("lcs", "a", "b", "idx", "minmatchlen", "4", "withmatchlen")).toBe(
      "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n");
    expect(run("get", "nokey")).toBe("_\r\n");
    expect(run("mget", "a", "nokey")).toBe("*2\r\n$8\r\nohmytext\r\n_\r\n");
    expect(run("bitfield", "bf", "overflow", "fail", "incrby", "u2", "0", "9")).toBe("*1\r\n_\r\n");
  });
});

describe("OBJECT ENCODING of string values follows Redis", () => {
  const enc = (k: string) => run("object", "encoding", k);
  it.each([
    [["set", "k", "123"], "int"],
    [["set", "k", "hello"], "embstr"],
    [["set", "k", "x".repeat(45)], "raw"],
    [["incrbyfloat", "k", "1.5"], "embstr"],
    [["append", "k", "hello"], "embstr"],
    [["setrange", "k", "1", "x"], "raw"],
    [["setbit", "k", "1", "1"], "raw"],
  ])("%j gives %s", (argv, want) => {
    run(...argv);
    expect(enc("k")).toBe(bulk(want));
  });

  it("in-place edits make a short value raw; SET makes it embstr again", () => {
    run("set", "k", "hello");
    run("append", "k", "!");
    expect(enc("k")).toBe(bulk("raw"));
    run("set", "k", "hellO!");
    expect(enc("k")).toBe(bulk("embstr"));
    run("set", "i", "1234");
    run("setrange", "i", "0", "2");
    expect(enc("i")).toBe(bulk("raw"));
    run("set", "b", "hello");
    run("setbit", "b", "0", "0"); // no change, still unshared as RAW
    expect(enc("b")).toBe(bulk("raw"));
    run("rename", "b", "b2");
    expect(enc("b2")).toBe(bulk("raw"));
  });
});

describe("a raised proto-max-bulk-len", () => {
  it("still refuses values one kernel object cannot hold, with Redis's error", () => {
    kr.kernel.x.setProtoMaxBulkLen(4 * 1024 ** 3);
    const tooBig = err("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    expect(run("setrange", "k", String(1024 ** 3 + 10), "x")).toBe(tooBig);
    expect(run("setbit", "k", String((1024 ** 3 + 10) * 8), "1")).toBe(err("ERR bit offset is not an integer or out of range"));
    expect(run("set", "k", "v")).toBe(OK);
  });
});

describe("short values (copied without memory.copy, assembly/util/copy.ts)", () => {
  it("every length from 0 to 40 is stored and replied byte for byte, in place and over a longer value", () => {
    const value = (n: number, salt: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + ((i * 7 + salt) % 26))).join("");
    for (let n = 0; n <= 40; n++) {
      expect(run("set", `k${n}`, value(n, 0))).toBe(OK);
      expect(run("get", `k${n}`)).toBe(bulk(value(n, 0)));
      // Over the value stored before: the same entry's value area rewritten.
      expect(run("set", `k${n}`, value(n, 3))).toBe(OK);
      expect(run("get", `k${n}`)).toBe(bulk(value(n, 3)));
      expect(run("set", "shrink", value(40 - n, 5))).toBe(OK);
      expect(run("get", "shrink")).toBe(bulk(value(40 - n, 5)));
      expect(run("append", `a${n}`, value(n, 1))).toBe(int(n));
      expect(run("append", `a${n}`, value(n, 2))).toBe(int(2 * n));
      expect(run("get", `a${n}`)).toBe(bulk(value(n, 1) + value(n, 2)));
    }
  });
});
