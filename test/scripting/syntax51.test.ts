// Lua 5.1's syntax where fengari (5.3) is more lenient (src/scripting/syntax51.ts): the
// first 5.3-only token outside strings and comments, and the messages recorded from
// redis-server 7.0.15 for them (the differential test compares live ones too).
import { describe, it, expect } from "vitest";
import { scan53Tokens, compileError51, source51 } from "../../src/scripting/syntax51.js";

const scan = (s: string) => scan53Tokens(Buffer.from(s));

describe("Lua 5.1 syntax", () => {
  it("finds //, & | ~ << >> and :: where 5.1 stops, not inside strings or comments", () => {
    expect(scan("return 7 // 2")).toEqual({ line: 1, offset: 10, near: "/" });
    expect(scan("local a = 1\nlocal b = a | 2")).toEqual({ line: 2, offset: 24, near: "|" });
    expect(scan("return 1 ~= 2")).toBeNull();
    expect(scan("return ~1")?.near).toBe("~");
    expect(scan("return 1 << 2")).toEqual({ line: 1, offset: 10, near: "<" });
    expect(scan("::top:: return 1")?.near).toBe(":");
    expect(scan("local s = 'a // b & c' -- x // y\nreturn s .. [[a|b]] .. [==[x~y]==] --[[ & ]]")).toBeNull();
    expect(scan("local s = \"a\\\"//\" return 1e+5 .. 0x10")).toBeNull();
    expect(scan("--[[ a\nb ]] return 1\r\n// 2")).toEqual({ line: 3, offset: 23, near: "/" });
  });

  it("words fengari's errors as 5.1 does", () => {
    expect(compileError51("user_script:1: syntax error near <eof>")).toBe("user_script:1: '=' expected near '<eof>'");
    expect(compileError51("user_script:1: syntax error near 'x'")).toBe("user_script:1: '=' expected near 'x'");
    expect(compileError51("user_script:1: syntax error near '='")).toBe("user_script:1: syntax error near '='");
    expect(compileError51("user_script:1: <eof> expected near '&'")).toBe("user_script:1: '<eof>' expected near '&'");
  });

  it("drops the backslash of escapes 5.1 does not know, in quoted strings only", () => {
    const r = (x: string) => Buffer.from(source51(Buffer.from(x))).toString("latin1");
    expect(r("return '\\x41\\z  b' .. \"a\\qb\\n\\65\\\\\"")).toBe("return 'x41z  b' .. \"aqb\\n\\65\\\\\"");
    expect(r("return [[\\x41]] -- '\\x'")).toBe("return [[\\x41]] -- '\\x'");
  });
});
