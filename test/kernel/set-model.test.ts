// Model check of the kernel's small sets (assembly/keyspace/set-value.ts) through SADD, SREM,
// SPOP, SISMEMBER, SMISMEMBER, SCARD and SMEMBERS (assembly/commands/sets.ts): seeded random
// commands against a model of the host's SetValue order (an intset ascending; a hashtable in
// insertion order, a removed member's place taken by the last), at set-max-intset-entries 3
// and 512 so intsets convert. Members mix canonical integers, non-canonical ones ("007",
// "-0") and words. Where the kernel leaves a command to the host (the set would pass
// KERNEL_SET_MAX members or a member KERNEL_SET_MAX_BYTES, SPOP's count) it must hand it back
// untouched. A failure prints its seed and step.
import { describe, it, expect } from "vitest";
import { newKernelRun, type KernelRun } from "./strings-harness.js";
import { encodeCommand } from "../../src/server/shard.js";
import { STATUS_DONE, STATUS_HOST } from "../../src/kernel/kernel.js";
import { mulberry32 } from "../types/prng.js";

const MAX = 128; // KERNEL_SET_MAX
const MAX_BYTES = 64; // KERNEL_SET_MAX_BYTES

function call(k: KernelRun, ...argv: string[]): { st: number; reply: string } {
  const req = encodeCommand(argv.map((a) => Buffer.from(a, "latin1")));
  const x = k.kernel.x;
  const p = x.alloc(req.length);
  k.kernel.mem.set(req, p);
  const st = x.process(p, p + req.length, 0, k.nowMs);
  x.free(p);
  return { st, reply: Buffer.from(k.kernel.output()).toString("latin1") };
}

const bulk = (s: string) => `$${s.length}\r\n${s}\r\n`;
const isInt = (s: string) => /^(0|-?[1-9][0-9]{0,18})$/.test(s) && BigInt(s) >= -(2n ** 63n) && BigInt(s) < 2n ** 63n;

/** The host's SetValue order, by Redis 7.0's encoding rules. */
class Model {
  members: string[] = [];
  intset = true;
  constructor(private readonly maxIntset: number) {}
  add(m: string): boolean {
    if (this.members.includes(m)) return false;
    if (this.intset && isInt(m)) {
      this.members.push(m);
      this.members.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      if (this.members.length > this.maxIntset) this.intset = false;
      return true;
    }
    this.intset = false;
    this.members.push(m);
    return true;
  }
  remove(m: string): boolean {
    const i = this.members.indexOf(m);
    if (i < 0) return false;
    if (this.intset) this.members.splice(i, 1);
    else {
      const last = this.members.pop()!;
      if (i < this.members.length) this.members[i] = last;
    }
    return true;
  }
}

function run(seed: number, maxIntset: number, steps: number): void {
  const k = newKernelRun();
  k.kernel.x.setSetIntsetLimit(maxIntset);
  const rnd = mulberry32(seed);
  const rint = (n: number) => Math.floor(rnd() * n);
  const member = () => {
    const x = rnd();
    if (x < 0.5) return String(rint(40) - 20);
    if (x < 0.55) return ["007", "-0", "+1", "9223372036854775808"][rint(4)];
    if (x < 0.99) return `w${rint(30)}`;
    return "x".repeat(MAX_BYTES + 1);
  };
  let key = "s0", keyNo = 0;
  let m: Model | null = null;
  const handBack = (r: { st: number; reply: string }, where: string) => {
    expect(r, where).toEqual({ st: STATUS_HOST, reply: "" });
    key = `s${++keyNo}`;
    m = null;
  };
  for (let step = 0; step < steps; step++) {
    const where = `seed ${seed} max-intset ${maxIntset} step ${step}`;
    const op = rint(12);
    const size = m?.members.length ?? 0;
    if (op < 5) {
      const ms = Array.from({ length: 1 + rint(step % 97 === 0 ? 60 : 4) }, member);
      const r = call(k, "SADD", key, ...ms);
      if (ms.some((x) => x.length > MAX_BYTES) || size + ms.length > MAX) { handBack(r, where); continue; }
      if (!m) { m = new Model(maxIntset); m.intset = isInt(ms[0]); }
      let added = 0;
      for (const x of ms) if (m.add(x)) added++;
      expect(r, where).toEqual({ st: STATUS_DONE, reply: `:${added}\r\n` });
      expect(call(k, "OBJECT", "ENCODING", key).reply, where).toBe(bulk(m.intset ? "intset" : "hashtable"));
    } else if (op < 7) {
      const ms = Array.from({ length: 1 + rint(3) }, member);
      const r = call(k, "SREM", key, ...ms);
      let n = 0;
      if (m) for (const x of ms) { if (m.remove(x)) n++; if (m.members.length === 0) break; }
      if (m && m.members.length === 0) m = null;
      expect(r, where).toEqual({ st: STATUS_DONE, reply: `:${n}\r\n` });
    } else if (op < 8) {
      const r = call(k, "SPOP", key);
      if (!m) { expect(r.reply, where).toBe("$-1\r\n"); continue; }
      const got = r.reply.split("\r\n")[1];
      expect(m.members, where).toContain(got);
      m.remove(got);
      if (m.members.length === 0) m = null;
    } else if (op < 9) {
      const x = member();
      expect(call(k, "SISMEMBER", key, x).reply, where).toBe(m?.members.includes(x) ? ":1\r\n" : ":0\r\n");
    } else if (op < 10) {
      const xs = [member(), member()];
      expect(call(k, "SMISMEMBER", key, ...xs).reply, where).toBe(`*2\r\n${xs.map((x) => (m?.members.includes(x) ? ":1\r\n" : ":0\r\n")).join("")}`);
      expect(call(k, "SCARD", key).reply, where).toBe(`:${m?.members.length ?? 0}\r\n`);
    } else if (op < 11) {
      const mem = m?.members ?? [];
      expect(call(k, "SMEMBERS", key).reply, where).toBe(`*${mem.length}\r\n${mem.map(bulk).join("")}`);
    } else {
      expect(call(k, "SPOP", key, "1"), where).toEqual({ st: STATUS_HOST, reply: "" });
    }
  }
}

describe("kernel sets (small sets in the kernel)", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    for (const maxIntset of [3, 512]) {
      it(`seed ${seed}, set-max-intset-entries ${maxIntset}: replies and order match the host's SetValue`, () => run(seed, maxIntset, 1500));
    }
  }

  it("records SPOP as SREM key member, copies, and keeps members and encoding through a migrate blob", () => {
    const k = newKernelRun();
    k.kernel.x.setEffectsEnabled(1);
    expect(call(k, "SADD", "s", "5", "1", "3").reply).toBe(":3\r\n");
    const popped = call(k, "SPOP", "s").reply.split("\r\n")[1];
    expect(k.effects()).toEqual([["SREM", "s", popped]]);
    k.kernel.x.setEffectsEnabled(0);
    expect(call(k, "COPY", "s", "s2").reply).toBe(":1\r\n");
    const x = k.kernel.x;
    const kp = x.alloc(2);
    k.kernel.mem.set(Buffer.from("s2"), kp);
    const n = x.migrateOut(0, kp, 2, 1);
    const blob = k.kernel.mem.slice(x.migrateBlobPtr(), x.migrateBlobPtr() + n);
    const p = x.alloc(2 + blob.length);
    k.kernel.mem.set(Buffer.from("s3"), p);
    k.kernel.mem.set(blob, p + 2);
    x.migrateIn(0, p, 2, p + 2, blob.length);
    const left = ["1", "3", "5"].filter((v) => v !== popped);
    expect(call(k, "SMEMBERS", "s3").reply).toBe(`*2\r\n${left.map(bulk).join("")}`);
    expect(call(k, "OBJECT", "ENCODING", "s3").reply).toBe(bulk("intset"));
    expect(call(k, "SADD", "h", "b", "a").reply).toBe(":2\r\n");
    expect(call(k, "OBJECT", "ENCODING", "h").reply).toBe(bulk("hashtable"));
    expect(call(k, "SET", "str", "v").reply).toBe("+OK\r\n");
    expect(call(k, "SADD", "str", "a").reply).toMatch(/^-WRONGTYPE/);
    expect(call(k, "SCARD", "str").reply).toMatch(/^-WRONGTYPE/);
  });

  it("SRANDMEMBER without a count answers in the kernel, every member in turn; with one it is the host's", () => {
    const k = newKernelRun();
    for (const [key, members] of [["i", ["7", "-2", "40"]], ["h", ["x", "y", "z", "1"]]] as const) {
      call(k, "SADD", key, ...members);
      const seen = new Set<string>();
      for (let i = 0; i < 200; i++) {
        const r = call(k, "SRANDMEMBER", key);
        expect(r.st).toBe(STATUS_DONE);
        seen.add(r.reply.split("\r\n")[1]);
      }
      expect([...seen].sort()).toEqual([...members].sort());
      expect(call(k, "SCARD", key).reply).toBe(`:${members.length}\r\n`);
      expect(call(k, "SRANDMEMBER", key, "2")).toEqual({ st: STATUS_HOST, reply: "" });
    }
    expect(call(k, "SRANDMEMBER", "none")).toEqual({ st: STATUS_DONE, reply: "$-1\r\n" });
    expect(call(k, "SRANDMEMBER", "i", "1", "2").reply).toBe("-ERR syntax error\r\n");
    call(k, "SET", "str", "v");
    expect(call(k, "SRANDMEMBER", "str").reply).toMatch(/^-WRONGTYPE/);
  });
});

describe("kernel sets: SSCAN", () => {
  it("replies every member of an intset in one go with cursor 0, MATCH on the decimal form", () => {
    const k = newKernelRun();
    call(k, "SADD", "s", "10", "-5", "2", "9223372036854775807", "12");
    const all = call(k, "SSCAN", "s", "9");
    expect(all.st).toBe(STATUS_DONE);
    expect(all.reply).toBe("*2\r\n$1\r\n0\r\n*5\r\n" + ["-5", "2", "10", "12", "9223372036854775807"].map(bulk).join(""));
    expect(call(k, "SSCAN", "s", "0", "MATCH", "1*", "COUNT", "3").reply).toBe("*2\r\n$1\r\n0\r\n*2\r\n" + ["10", "12"].map(bulk).join(""));
    expect(call(k, "SSCAN", "nokey", "0").reply).toBe("*2\r\n$1\r\n0\r\n*0\r\n");
    expect(call(k, "SSCAN", "s", " 1").reply).toBe("-ERR invalid cursor\r\n");
    expect(call(k, "SSCAN", "s", "0", "COUNT", "0").reply).toBe("-ERR syntax error\r\n");
  });

  it("leaves a hashtable-encoded set's SSCAN to the host (its cursor walks the host's table)", () => {
    const k = newKernelRun();
    call(k, "SADD", "h", "a", "b");
    expect(call(k, "SSCAN", "h", "0")).toEqual({ st: STATUS_HOST, reply: "" });
  });
});
