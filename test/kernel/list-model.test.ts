// Model check of the kernel's list (assembly/keyspace/list-value.ts, a quicklist of listpack
// nodes) through its commands: seeded random sequences of LPUSH/RPUSH/LPOP/RPOP (with
// counts), LINDEX, LSET, LINSERT, LREM, LTRIM, LRANGE, LPOS, LMOVE and COPY run against a
// plain array, and every reply and the final contents must agree. Each seed runs at several
// list-max-listpack-size settings (1 and 4 entries a node, 4 KiB and 8 KiB nodes) with
// elements from 1 byte to past a node's limit, so pushes and pops cross nodes at both ends,
// middle inserts split nodes, and big elements get nodes of their own. A failure prints its
// seed and step so it replays.
import { describe, it, expect } from "vitest";
import { newKernelRun, type KernelRun } from "./strings-harness.js";
import { mulberry32 } from "../types/prng.js";
import { arrayItems, bulkOf, integerOf } from "../../src/server/resp-read.js";

function elements(reply: string): string[] | null {
  const buf = Buffer.from(reply, "latin1");
  if (buf[0] === 0x2a && buf[1] === 0x2d) return null; // *-1
  const spans = arrayItems(buf);
  if (!spans) throw new Error(`not an array: ${reply.slice(0, 80)}`);
  return spans.map((s) => bulkOf(buf, s.start)!.toString("latin1"));
}

function ints(reply: string): number[] {
  const buf = Buffer.from(reply, "latin1");
  const spans = arrayItems(buf);
  if (!spans) throw new Error(`not an array: ${reply.slice(0, 80)}`);
  return spans.map((s) => integerOf(buf, s.start));
}

function bulk(reply: string): string | null {
  return bulkOf(Buffer.from(reply, "latin1"))?.toString("latin1") ?? null;
}

function int(reply: string): number {
  return integerOf(Buffer.from(reply, "latin1"));
}

function run(seed: number, fill: number, steps: number): void {
  const k: KernelRun = newKernelRun();
  k.kernel.x.setListLimits(fill, 0);
  const r = (...a: (string | number)[]) => k.run(...a.map(String));
  const rnd = mulberry32(seed);
  const rint = (n: number) => Math.floor(rnd() * n);
  // Few distinct short values, so LREM, LPOS and LINSERT find matches; sometimes a long one.
  const val = () => {
    const x = rnd();
    if (x < 0.5) return `v${rint(8)}`;
    if (x < 0.97) return `x${rint(100000)}`;
    return String.fromCharCode(97 + rint(26)).repeat(100 + rint(9000));
  };
  let m: string[] = [];
  for (let step = 0; step < steps; step++) {
    const where = `seed ${seed} fill ${fill} step ${step}`;
    const op = rint(15);
    const grow = step < steps / 2 ? 0.7 : 0.45;
    if (op < 4 && rnd() < grow) {
      const n = 1 + rint(op < 2 ? 3 : 150);
      const vs = Array.from({ length: n }, val);
      const head = op % 2 === 0;
      expect(int(r(head ? "LPUSH" : "RPUSH", "l", ...vs)), where).toBe(m.length + n);
      for (const v of vs) if (head) m.unshift(v); else m.push(v);
    } else if (op < 6) {
      const head = op === 4;
      if (rnd() < 0.5) {
        const got = bulk(r(head ? "LPOP" : "RPOP", "l"));
        expect(got, where).toBe((head ? m.shift() : m.pop()) ?? null);
      } else {
        const n = 1 + rint(120);
        const got = elements(r(head ? "LPOP" : "RPOP", "l", n));
        if (m.length === 0) expect(got, where).toBeNull();
        else {
          const want = head ? m.splice(0, n) : m.splice(Math.max(0, m.length - n)).reverse();
          expect(got, where).toEqual(want);
        }
      }
    } else if (op === 6) {
      const i = rint(m.length + 2) - 1 - (rnd() < 0.3 ? m.length : 0);
      const want = i < 0 ? m[m.length + i] : m[i];
      expect(bulk(r("LINDEX", "l", i)), where).toBe(want ?? null);
    } else if (op === 7 && m.length) {
      const i = rint(m.length), v = val();
      expect(r("LSET", "l", i, v), where).toBe("+OK\r\n");
      m[i] = v;
    } else if (op === 8 && m.length) {
      const pivot = m[rint(m.length)];
      const after = rnd() < 0.5;
      const n = 1 + rint(60);
      for (let j = 0; j < n; j++) {
        const v = val();
        const at = m.indexOf(pivot);
        expect(int(r("LINSERT", "l", after ? "AFTER" : "BEFORE", pivot, v)), where).toBe(m.length + 1);
        m.splice(after ? at + 1 : at, 0, v);
      }
    } else if (op === 9) {
      const v = `v${rint(8)}`, count = rint(7) - 3;
      let removed = 0;
      const limit = count === 0 ? Infinity : Math.abs(count);
      const idx = m.map((x, i) => (x === v ? i : -1)).filter((i) => i >= 0);
      const drop = new Set(count < 0 ? idx.reverse().slice(0, limit) : idx.slice(0, limit));
      m = m.filter((_, i) => !(drop.has(i) && ++removed));
      expect(int(r("LREM", "l", count, v)), where).toBe(removed);
    } else if (op === 10 && m.length && rnd() < 0.3) {
      const a = rint(m.length), b = a + rint(m.length - a);
      expect(r("LTRIM", "l", a, b), where).toBe("+OK\r\n");
      m = m.slice(a, b + 1);
    } else if (op === 11 && m.length) {
      const a = rint(m.length), b = a + rint(m.length - a);
      expect(elements(r("LRANGE", "l", a, b)), where).toEqual(m.slice(a, b + 1));
      expect(elements(r("LRANGE", "l", a - m.length, -1)), where).toEqual(m.slice(a));
    } else if (op === 12) {
      const v = `v${rint(8)}`;
      const rank = rnd() < 0.5 ? -1 - rint(2) : 1 + rint(2);
      const idx = m.map((x, i) => (x === v ? i : -1)).filter((i) => i >= 0);
      const ranked = rank < 0 ? idx.reverse().slice(-rank - 1) : idx.slice(rank - 1);
      expect(ints(r("LPOS", "l", v, "RANK", rank, "COUNT", 0)), where).toEqual(m.length ? ranked : []);
    } else if (op === 13 && m.length) {
      // LMOVE within the list (src == dst): one element from one end to the other.
      const fromLeft = rnd() < 0.5, toLeft = rnd() < 0.5;
      const v = fromLeft ? m.shift()! : m.pop()!;
      if (toLeft) m.unshift(v); else m.push(v);
      expect(bulk(r("LMOVE", "l", "l", fromLeft ? "LEFT" : "RIGHT", toLeft ? "LEFT" : "RIGHT")), where).toBe(v);
    } else if (op === 14 && m.length) {
      r("DEL", "c");
      expect(int(r("COPY", "l", "c")), where).toBe(1);
      r("LPUSH", "c", "only-in-copy");
      r("LSET", "c", m.length, "changed");
      expect(elements(r("LRANGE", "c", 0, -1)), where).toEqual(["only-in-copy", ...m.slice(0, -1), "changed"]);
    }
    expect(int(r("LLEN", "l")), where).toBe(m.length);
    expect(int(r("EXISTS", "l")), where).toBe(m.length ? 1 : 0);
  }
  expect(elements(r("LRANGE", "l", 0, -1)) ?? []).toEqual(m);
}

describe("a node's gap (LPUSH writes a node's first entry in place)", () => {
  it("keeps every element through 64 KiB nodes, gaps at their u16 limit and elements bigger than a gap", () => {
    const k: KernelRun = newKernelRun();
    k.kernel.x.setListLimits(-5, 0); // 64 KiB nodes: gaps can reach their 65535 limit
    const r = (...a: (string | number)[]) => k.run(...a.map(String));
    const m: string[] = [];
    const push = (head: boolean, v: string) => {
      r(head ? "LPUSH" : "RPUSH", "l", v);
      if (head) m.unshift(v); else m.push(v);
    };
    for (let i = 0; i < 30000; i++) push(true, `h${i}`);
    for (let i = 0; i < 3000; i++) push(i % 2 === 0, `a${i}`); // both ends of the same nodes
    expect(elements(r("LPOP", "l", 5000))).toEqual(m.splice(0, 5000)); // cut off into the gap
    for (let i = 0; i < 2000; i++) expect(bulk(r("LPOP", "l"))).toBe(m.shift());
    push(true, "y".repeat(70000)); // a node of its own, bigger than any gap
    push(true, "z");
    r("LINSERT", "l", "BEFORE", "z", "w".repeat(66000));
    m.splice(0, 0, "w".repeat(66000));
    r("LSET", "l", 3, "s".repeat(20000));
    m[3] = "s".repeat(20000);
    for (let i = 0; i < 500; i++) push(true, `t${i}`);
    expect(int(r("LLEN", "l"))).toBe(m.length);
    expect(elements(r("LRANGE", "l", 0, -1))).toEqual(m);
    expect(elements(r("LRANGE", "l", -7, -1))).toEqual(m.slice(-7));
  });
});

describe("the kernel's list agrees with an array under random commands", () => {
  for (const fill of [1, 4, -1, -2]) {
    for (const seed of [1, 2, 42, 1234]) {
      it(`seed ${seed}, list-max-listpack-size ${fill}`, () => run(seed, fill, 800));
    }
  }
});
