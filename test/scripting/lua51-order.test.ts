// The model of Lua 5.1's table layout (src/scripting/lua51-order.ts) against traversal orders
// recorded from redis-server 7.0.15 (`redis-cli eval "<script>" 0`). The differential test
// (test/integration/differential.test.ts) draws such scripts against a live redis-server too.
import { describe, it, expect } from "vitest";
import { Lua51Table, lua51Order, stringHash, type Key51 } from "../../src/scripting/lua51-order.js";

const str = (s: string): Key51 => ({ kind: "string", bytes: Buffer.from(s) });
const num = (n: number): Key51 => ({ kind: "number", n });
const name = (k: Key51) => (k.kind === "string" ? Buffer.from(k.bytes).toString() : k.kind === "number" ? String(k.n) : k.kind === "boolean" ? String(k.b) : "?");
const walk = (keys: Key51[], na = 0, nh = 0) => lua51Order(keys, na, nh).map((i) => name(keys[i])).join(",");

describe("Lua 5.1 table order", () => {
  it("a constructor's keys: cjson.encode({k = 1, n = 2, a = 3}) is {\"a\":3,\"k\":1,\"n\":2} in Redis", () => {
    expect(walk([str("k"), str("n"), str("a")], 0, 3)).toBe("a,k,n");
  });

  it("keys added one by one, through rehashes", () => {
    // local t = {} for i = 1, 12 do t['key'..i] = i end
    const keys = Array.from({ length: 12 }, (_, i) => str(`key${i + 1}`));
    expect(walk(keys)).toBe("key6,key9,key2,key1,key10,key12,key11,key5,key7,key3,key4,key8");
  });

  it("long strings (Redis hashes every byte), doubles, negatives and booleans", () => {
    // t[string.rep('x',40)]=1 t[string.rep('y',33)]=2 t.a=3 t[1.5]=4 t[-7]=5 t[true]=6
    const keys = [str("x".repeat(40)), str("y".repeat(33)), str("a"), num(1.5), num(-7), { kind: "boolean", b: true } as Key51];
    expect(walk(keys)).toBe(`a,true,-7,${"x".repeat(40)},1.5,${"y".repeat(33)}`);
    expect(stringHash(Buffer.from(""))).toBe(0);
  });

  it("a deleted key keeps its node, and set again takes it back", () => {
    // local t = {a=1,b=2,c=3,d=4,e=5} t.c = nil t.f = 6 t.c = 7
    const t = new Lua51Table(0, 5);
    const ids = ["a", "b", "c", "d", "e"].map((k) => t.insert(str(k)));
    t.remove(ids[2]);
    const f = t.insert(str("f"));
    t.revive(ids[2]);
    const names = ["a", "b", "c", "d", "e"];
    names[f] = "f";
    expect(t.order().map((i) => names[i]).join(",")).toBe("a,c,b,e,d,f");
  });

  it("#t finds the border 5.1 finds in a table with holes", () => {
    const present = (keys: number[]) => (n: number) => keys.includes(n);
    // local t = {1, 2, 3, 4, 5, 6, 7, 8} t[8] = nil t[4] = nil return #t  --> 3
    const t = new Lua51Table(8, 0);
    const ids = [1, 2, 3, 4, 5, 6, 7, 8].map((n) => t.insert(num(n)));
    t.remove(ids[7]);
    t.remove(ids[3]);
    expect(t.getn(present([1, 2, 3, 5, 6, 7]))).toBe(3);
    // local t = {n = 1} t[1] = 1 t[3] = 3 return #t  --> 1
    const u = new Lua51Table(0, 1);
    for (const k of [str("n"), num(1), num(3)]) u.insert(k);
    expect(u.getn(present([1, 3]))).toBe(1);
  });
});
