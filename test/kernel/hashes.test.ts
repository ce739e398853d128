// The hash command family, driven directly through the WASM boundary (no server).
import { describe, it, expect, beforeEach } from "vitest";
import { loadKernel } from "../../src/kernel/load.js";
import { Kernel } from "../../src/kernel/kernel.js";
import { CommandTable } from "../../src/commands/table.js";

type Reply = string | number | null | Buffer | Reply[] | { err: string };

const table = new CommandTable();

function newKernel(seed = 7): Kernel {
  const k = loadKernel({ seed });
  for (const name of k.commandNames()) {
    const spec = table.find(name);
    if (spec) k.bindCommand(name, spec.arity, spec.flags.has("write") ? 1 : 0);
  }
  return k;
}

function encode(args: (string | Buffer | number)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** Parses one RESP2 reply at pos; bulk strings come back as Buffers. */
function parse(buf: Buffer, pos: { i: number }): Reply {
  const type = String.fromCharCode(buf[pos.i]);
  const eol = buf.indexOf("\r\n", pos.i);
  const line = buf.toString("latin1", pos.i + 1, eol);
  pos.i = eol + 2;
  switch (type) {
    case "+": return line;
    case "-": return { err: line };
    case ":": return Number(line);
    case "$": {
      const n = Number(line);
      if (n < 0) return null;
      const b = buf.subarray(pos.i, pos.i + n);
      pos.i += n + 2;
      return Buffer.from(b);
    }
    case "*": {
      const n = Number(line);
      if (n < 0) return null;
      const out: Reply[] = [];
      for (let j = 0; j < n; j++) out.push(parse(buf, pos));
      return out;
    }
  }
  throw new Error(`bad reply type ${type}`);
}

/** Runs one command; bulk strings are decoded as UTF-8 strings unless raw is set. */
function run(k: Kernel, args: (string | Buffer | number)[], raw = false): any {
  const bytes = encode(args);
  const p = k.x.alloc(bytes.length);
  k.mem.set(bytes, p);
  k.x.process(p, p + bytes.length, 0, 1_000_000);
  const out = Buffer.from(k.output());
  k.x.free(p);
  const r = parse(out, { i: 0 });
  return raw ? r : text(r);
}

/** The raw RESP bytes of one command's reply. */
function rawReply(k: Kernel, args: (string | Buffer | number)[]): string {
  const bytes = encode(args);
  const p = k.x.alloc(bytes.length);
  k.mem.set(bytes, p);
  k.x.process(p, p + bytes.length, 0, 1_000_000);
  const out = Buffer.from(k.output()).toString("latin1");
  k.x.free(p);
  return out;
}

function text(r: Reply): any {
  if (Buffer.isBuffer(r)) return r.toString("utf8");
  if (Array.isArray(r)) return r.map(text);
  return r;
}

let k: Kernel;
beforeEach(() => { k = newKernel(); });

const WRONGTYPE = { err: "WRONGTYPE Operation against a key holding the wrong kind of value" };

describe("HSET / HGET / HLEN / HMSET / HSETNX", () => {
  it("HSET counts only new fields and HGET reads them back", () => {
    expect(run(k, ["hset", "h", "a", "1", "b", "2"])).toBe(2);
    expect(run(k, ["hset", "h", "a", "10", "c", "3"])).toBe(1);
    expect(run(k, ["hget", "h", "a"])).toBe("10");
    expect(run(k, ["hget", "h", "nope"])).toBeNull();
    expect(run(k, ["hget", "nokey", "a"])).toBeNull();
    expect(run(k, ["hlen", "h"])).toBe(3);
    expect(run(k, ["hlen", "nokey"])).toBe(0);
  });

  it("odd field/value counts get the arity-style error naming the command", () => {
    expect(run(k, ["hset", "h", "a", "1", "b"])).toEqual({ err: "ERR wrong number of arguments for 'hset' command" });
    expect(run(k, ["hmset", "h", "a", "1", "b"])).toEqual({ err: "ERR wrong number of arguments for 'hmset' command" });
    expect(k.x.dbSize(0)).toBe(0);
  });

  it("HMSET replies OK", () => {
    expect(run(k, ["hmset", "h", "a", "1", "b", "2"])).toBe("OK");
    expect(run(k, ["hmget", "h", "a", "x", "b"])).toEqual(["1", null, "2"]);
  });

  it("HSETNX sets only a missing field", () => {
    expect(run(k, ["hsetnx", "h", "f", "v1"])).toBe(1);
    expect(run(k, ["hsetnx", "h", "f", "v2"])).toBe(0);
    expect(run(k, ["hget", "h", "f"])).toBe("v1");
  });

  it("fields and values are binary-safe", () => {
    const f = Buffer.from([0, 13, 10, 255, 0]);
    const v = Buffer.from([255, 0, 13, 10]);
    expect(run(k, ["hset", "h", f, v, Buffer.from([0]), Buffer.alloc(0)])).toBe(2);
    expect(run(k, ["hget", "h", f], true)).toEqual(v);
    expect(run(k, ["hget", "h", Buffer.from([0])], true)).toEqual(Buffer.alloc(0));
    expect(run(k, ["hget", "h", Buffer.from([0, 13, 10, 255])])).toBeNull();
    expect(run(k, ["hstrlen", "h", f])).toBe(4);
  });

  it("updates a value in the middle of a listpack to a longer and a shorter one", () => {
    run(k, ["hset", "h", "a", "1", "b", "2", "c", "3"]);
    run(k, ["hset", "h", "b", "a much longer value"]);
    expect(run(k, ["hgetall", "h"])).toEqual(["a", "1", "b", "a much longer value", "c", "3"]);
    run(k, ["hset", "h", "b", ""]);
    expect(run(k, ["hgetall", "h"])).toEqual(["a", "1", "b", "", "c", "3"]);
  });
});

describe("reads on missing keys and other types", () => {
  it("each command answers a missing key as Redis does", () => {
    expect(rawReply(k, ["hget", "no", "f"])).toBe("$-1\r\n");
    expect(rawReply(k, ["hmget", "no", "a", "b"])).toBe("*2\r\n$-1\r\n$-1\r\n");
    expect(rawReply(k, ["hlen", "no"])).toBe(":0\r\n");
    expect(rawReply(k, ["hstrlen", "no", "f"])).toBe(":0\r\n");
    expect(rawReply(k, ["hexists", "no", "f"])).toBe(":0\r\n");
    expect(rawReply(k, ["hkeys", "no"])).toBe("*0\r\n");
    expect(rawReply(k, ["hvals", "no"])).toBe("*0\r\n");
    expect(rawReply(k, ["hgetall", "no"])).toBe("*0\r\n");
    expect(rawReply(k, ["hdel", "no", "f"])).toBe(":0\r\n");
    expect(rawReply(k, ["hrandfield", "no"])).toBe("$-1\r\n");
    expect(rawReply(k, ["hrandfield", "no", "5"])).toBe("*0\r\n");
    expect(rawReply(k, ["hrandfield", "no", "-5", "withvalues"])).toBe("*0\r\n");
    expect(rawReply(k, ["hscan", "no", "0"])).toBe("*2\r\n$1\r\n0\r\n*0\r\n");
    expect(k.x.dbSize(0)).toBe(0);
  });

  it("every hash command on a string key is WRONGTYPE, and writes leave it alone", () => {
    run(k, ["set", "s", "x"]);
    for (const args of [
      ["hset", "s", "a", "1"], ["hmset", "s", "a", "1"], ["hsetnx", "s", "a", "1"], ["hget", "s", "a"],
      ["hmget", "s", "a"], ["hdel", "s", "a"], ["hlen", "s"], ["hstrlen", "s", "a"], ["hexists", "s", "a"],
      ["hkeys", "s"], ["hvals", "s"], ["hgetall", "s"], ["hincrby", "s", "a", "1"],
      ["hincrbyfloat", "s", "a", "1"], ["hrandfield", "s"], ["hrandfield", "s", "3"], ["hscan", "s", "0"],
    ]) {
      expect(run(k, args), args.join(" ")).toEqual(WRONGTYPE);
    }
    expect(run(k, ["get", "s"])).toBe("x");
  });
});

describe("HDEL", () => {
  it("counts removed fields and deletes the key with its last field", () => {
    run(k, ["hset", "h", "a", "1", "b", "2", "c", "3"]);
    expect(run(k, ["hdel", "h", "x", "y"])).toBe(0);
    expect(run(k, ["hdel", "h", "a", "c", "f"])).toBe(2);
    expect(run(k, ["hgetall", "h"])).toEqual(["b", "2"]);
    expect(run(k, ["hdel", "h", "b", "b"])).toBe(1);
    expect(k.x.dbSize(0)).toBe(0);
    expect(run(k, ["hlen", "h"])).toBe(0);
  });

  it("deletes a big (hashtable) hash's key when it empties", () => {
    const args = ["hset", "big"];
    for (let i = 0; i < 300; i++) args.push(`f${i}`, `v${i}`);
    run(k, args);
    const del = ["hdel", "big"];
    for (let i = 0; i < 300; i++) del.push(`f${i}`);
    expect(run(k, del)).toBe(300);
    expect(k.x.dbSize(0)).toBe(0);
  });

  it("counts dirty once per deleted field", () => {
    run(k, ["hset", "h", "a", "1", "b", "2", "c", "3"]);
    const before = k.x.statDirty();
    run(k, ["hdel", "h", "a", "b", "zz"]);
    expect(k.x.statDirty() - before).toBe(2);
  });
});

describe("HKEYS / HVALS / HGETALL / HEXISTS / HSTRLEN", () => {
  it("return every pair in both encodings", () => {
    for (const n of [5, 500]) {
      const args: string[] = ["hset", `h${n}`];
      for (let i = 0; i < n; i++) args.push(`field:${i}`, `value:${i}`);
      run(k, args);
      const keys: string[] = run(k, ["hkeys", `h${n}`]);
      const vals: string[] = run(k, ["hvals", `h${n}`]);
      const all: string[] = run(k, ["hgetall", `h${n}`]);
      expect(keys.length).toBe(n);
      expect(new Set(keys).size).toBe(n);
      expect(vals.sort()).toEqual(keys.map((f) => f.replace("field", "value")).sort());
      for (let i = 0; i < all.length; i += 2) expect(all[i + 1]).toBe(all[i].replace("field", "value"));
      expect(run(k, ["hexists", `h${n}`, "field:3"])).toBe(1);
      expect(run(k, ["hexists", `h${n}`, "field:x"])).toBe(0);
      expect(run(k, ["hstrlen", `h${n}`, "field:3"])).toBe("value:3".length);
      expect(run(k, ["hstrlen", `h${n}`, "field:x"])).toBe(0);
    }
  });
});

describe("HINCRBY / HINCRBYFLOAT", () => {
  it("HINCRBY creates, increments and rejects non-integers and overflow", () => {
    expect(run(k, ["hincrby", "h", "n", "5"])).toBe(5);
    expect(run(k, ["hincrby", "h", "n", "-7"])).toBe(-2);
    expect(run(k, ["hget", "h", "n"])).toBe("-2");
    run(k, ["hset", "h", "s", " 11"]);
    expect(run(k, ["hincrby", "h", "s", "1"])).toEqual({ err: "ERR hash value is not an integer" });
    expect(run(k, ["hincrby", "h", "n", "1.5"])).toEqual({ err: "ERR value is not an integer or out of range" });
    run(k, ["hset", "h", "big", "-9223372036854775484"]);
    expect(run(k, ["hincrby", "h", "big", "-1"])).toBe(-9223372036854775485);
    expect(run(k, ["hincrby", "h", "big", "-10000"])).toEqual({ err: "ERR increment or decrement would overflow" });
    run(k, ["hset", "h", "max", "9223372036854775807"]);
    expect(run(k, ["hincrby", "h", "max", "1"])).toEqual({ err: "ERR increment or decrement would overflow" });
    expect(run(k, ["hget", "h", "max"])).toBe("9223372036854775807");
  });

  it("HINCRBY of a bad increment on a missing key creates nothing", () => {
    expect(run(k, ["hincrby", "h", "n", "x"])).toEqual({ err: "ERR value is not an integer or out of range" });
    expect(run(k, ["hincrbyfloat", "h", "n", "x"])).toEqual({ err: "ERR value is not a valid float" });
    expect(run(k, ["hincrbyfloat", "h", "n", "+inf"])).toEqual({ err: "ERR value is NaN or Infinity" });
    expect(k.x.dbSize(0)).toBe(0);
  });

  it("HINCRBYFLOAT formats results as Redis does", () => {
    expect(run(k, ["hincrbyfloat", "h", "f", "1.23"])).toBe("1.23");
    expect(run(k, ["hincrbyfloat", "h", "f", "0.77"])).toBe("2");
    expect(run(k, ["hincrbyfloat", "h", "f", "-0.1"])).toBe("1.9");
    expect(run(k, ["hget", "h", "f"])).toBe("1.9");
    run(k, ["hset", "h", "i", "17179869184"]);
    expect(run(k, ["hincrbyfloat", "h", "i", "17179869184"])).toBe("34359738368");
    expect(run(k, ["hincrbyfloat", "h", "e", "5e3"])).toBe("5000");
  });

  it("HINCRBYFLOAT adds in long double like Redis on x86-64", () => {
    expect(run(k, ["hincrbyfloat", "h", "f", "0.1"])).toBe("0.1");
    expect(run(k, ["hincrbyfloat", "h", "f", "0.2"])).toBe("0.3");
    expect(run(k, ["hincrbyfloat", "h", "g", "1e308"])).toMatch(/^99999999999999999996685879655845645660560099847415567207797047994921734868838061872100126921888539320446747225054013223/);
    // Doubles would overflow here; long doubles do not.
    expect(run(k, ["hincrbyfloat", "h", "g", "1e308"])).toMatch(/^1999999999999999999933717593116912913211201996948311344155940959898434697376761237442/);
    expect(run(k, ["hincrbyfloat", "h", "x", "0x10"])).toBe("16");
    expect(run(k, ["hincrbyfloat", "h", "x", "-3.0000000000000000001"])).toBe("13");
  });

  it("HINCRBYFLOAT rejects non-float values and infinite results", () => {
    run(k, ["hset", "h", "s", "11 ", "z", "1\u00002"]);
    expect(run(k, ["hincrbyfloat", "h", "s", "1"])).toEqual({ err: "ERR hash value is not a float" });
    expect(run(k, ["hincrbyfloat", "h", "z", "1"])).toEqual({ err: "ERR hash value is not a float" });
    run(k, ["hset", "h", "huge", "1.1e4932"]);
    expect(run(k, ["hincrbyfloat", "h", "huge", "1.1e4932"])).toEqual({ err: "ERR increment would produce NaN or Infinity" });
    expect(run(k, ["hincrbyfloat", "h", "x", "1e5000"])).toEqual({ err: "ERR value is not a valid float" });
  });

  it("HINCRBYFLOAT is recorded as HSET with the final value", () => {
    k.x.setEffectsEnabled(1);
    const bytes = encode(["hincrbyfloat", "h", "f", "2.5"]);
    const p = k.x.alloc(bytes.length);
    k.mem.set(bytes, p);
    k.x.process(p, p + bytes.length, 0, 1_000_000);
    k.x.free(p);
    const mem = Buffer.from(k.mem.subarray(k.x.effectsPtr(), k.x.effectsPtr() + k.x.effectsLen()));
    const argc = mem.readUInt32LE(8);
    const args: string[] = [];
    let off = 12;
    for (let i = 0; i < argc; i++) {
      const len = mem.readUInt32LE(off);
      args.push(mem.toString("utf8", off + 4, off + 4 + len));
      off += 4 + len;
    }
    expect(args).toEqual(["HSET", "h", "f", "2.5"]);
  });
});

describe("encodings: listpack up to the limits, then hashtable", () => {
  function scanOnce(key: string): [string, string[]] {
    return run(k, ["hscan", key, "0", "count", "1"]);
  }

  it("a 128-field hash answers HSCAN in one go; the 129th field converts it", () => {
    const args = ["hset", "h"];
    for (let i = 0; i < 128; i++) args.push(`f${i}`, "v");
    run(k, args);
    let [cursor, items] = scanOnce("h");
    expect(cursor).toBe("0");
    expect(items.length).toBe(256);
    run(k, ["hset", "h", "f128", "v"]);
    [cursor, items] = scanOnce("h");
    expect(cursor).not.toBe("0");
    expect(items.length).toBeLessThan(258);
    expect(run(k, ["hlen", "h"])).toBe(129);
  });

  it("a value or field longer than 64 bytes converts it", () => {
    run(k, ["hset", "v", "a", "1", "b", "x".repeat(65)]);
    run(k, ["hset", "f", "a", "1", "y".repeat(65), "1"]);
    run(k, ["hset", "ok", "a", "1", "b", "x".repeat(64)]);
    for (const key of ["v", "f", "ok"]) {
      for (let i = 0; i < 40; i++) run(k, ["hset", key, `n${i}`, "1"]);
    }
    expect(scanOnce("v")[0]).not.toBe("0");
    expect(scanOnce("f")[0]).not.toBe("0");
    expect(scanOnce("ok")[0]).toBe("0");
  });

  it("HINCRBYFLOAT's result can convert it, as in Redis", () => {
    k.x.setHashListpackLimits(128, 8);
    run(k, ["hset", "small", "tmp", "0"]);
    run(k, ["hset", "big", "tmp", "0"]);
    run(k, ["hincrbyfloat", "small", "tmp", "0.000005"]); // 8 bytes
    run(k, ["hincrbyfloat", "big", "tmp", "0.0000005"]); // 9 bytes
    for (const key of ["small", "big"]) for (let i = 0; i < 30; i++) run(k, ["hset", key, `n${i}`, "1"]);
    expect(scanOnce("small")[0]).toBe("0");
    expect(scanOnce("big")[0]).not.toBe("0");
  });

  it("a listpack keeps fields and values whose lengths cross every length-prefix size", () => {
    k.x.setHashListpackLimits(1000, 1e9);
    const lens = [0, 1, 127, 128, 129, 16383, 16384, 70000, 2097152];
    const want = new Map<string, string>();
    for (const [i, n] of lens.entries()) {
      const f = `f${i}:` + "k".repeat(n % 300);
      want.set(f, String.fromCharCode(97 + i).repeat(n));
      run(k, ["hset", "h", f, want.get(f)!]);
    }
    // Rewrite each value with another size class, in the middle of the block.
    for (const [i, f] of [...want.keys()].entries()) {
      const v = "z".repeat(lens[(i + 3) % lens.length]);
      want.set(f, v);
      expect(run(k, ["hset", "h", f, v])).toBe(0);
    }
    expect(scanOnce("h")[0]).toBe("0"); // still a listpack
    const all: string[] = run(k, ["hgetall", "h"]);
    expect(new Map(all.flatMap((x, j) => (j % 2 ? [] : [[x, all[j + 1]] as [string, string]])))).toEqual(want);
    for (const f of [...want.keys()].filter((_, j) => j % 2 === 0)) {
      expect(run(k, ["hdel", "h", f])).toBe(1);
      want.delete(f);
    }
    for (const [f, v] of want) {
      expect(run(k, ["hstrlen", "h", f])).toBe(v.length);
      expect(run(k, ["hget", "h", f])).toBe(v);
    }
    expect(run(k, ["hlen", "h"])).toBe(want.size);
  });

  it("the entries limit comes from the host", () => {
    k.x.setHashListpackLimits(4, 64);
    run(k, ["hset", "h", "a", "1", "b", "2", "c", "3", "d", "4"]);
    expect(scanOnce("h")[0]).toBe("0");
    for (let i = 0; i < 40; i++) run(k, ["hset", "h", `n${i}`, "1"]);
    expect(scanOnce("h")[0]).not.toBe("0");
    expect(run(k, ["hget", "h", "c"])).toBe("3");
  });
});

/** Pearson's chi-square statistic of draws against a uniform distribution over `fields`. */
function chiSquare(draws: string[], fields: string[]): number {
  const counts = new Map<string, number>(fields.map((f) => [f, 0]));
  for (const d of draws) counts.set(d, (counts.get(d) ?? 0) + 1);
  const expected = draws.length / fields.length;
  let x2 = 0;
  for (const c of counts.values()) x2 += (c - expected) ** 2 / expected;
  return x2;
}

describe("HRANDFIELD", () => {
  const small = ["a", "b", "c", "d", "e", "6", "7", "8", "9", "10"];

  function makeHash(key: string, fields: string[]) {
    const args = ["hset", key];
    for (const f of fields) args.push(f, `v-${f}`);
    run(k, args);
  }

  it("count 0 is an empty array and the count must be in range", () => {
    makeHash("h", small);
    expect(rawReply(k, ["hrandfield", "h", "0"])).toBe("*0\r\n");
    expect(run(k, ["hrandfield", "h", "-9223372036854775808"])).toEqual({
      err: "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
    });
    expect(run(k, ["hrandfield", "h", "-9223372036854770000", "withvalues"])).toEqual({ err: "ERR value is out of range" });
    expect(run(k, ["hrandfield", "h", "3", "withscores"])).toEqual({ err: "ERR syntax error" });
    expect(run(k, ["hrandfield", "h", "3", "withvalues", "x"])).toEqual({ err: "ERR syntax error" });
    expect(run(k, ["hrandfield", "h", "x"])).toEqual({ err: "ERR value is not an integer or out of range" });
  });

  for (const [encoding, fields] of [
    ["listpack", small],
    ["hashtable", [...small.slice(0, 9), "x".repeat(80)]],
  ] as const) {
    describe(encoding, () => {
      beforeEach(() => makeHash("h", [...fields]));

      it("without a count returns one existing field", () => {
        const seen = new Set<string>();
        for (let i = 0; i < 200; i++) seen.add(run(k, ["hrandfield", "h"]));
        expect([...seen].sort()).toEqual([...fields].sort());
      });

      it("negative counts repeat fields; values pair with their fields", () => {
        expect(run(k, ["hrandfield", "h", "-1001"]).length).toBe(1001);
        const wv: string[] = run(k, ["hrandfield", "h", "-20", "withvalues"]);
        expect(wv.length).toBe(40);
        for (let i = 0; i < wv.length; i += 2) expect(wv[i + 1]).toBe(`v-${wv[i]}`);
      });

      it("negative-count draws are uniform (chi-square, df=9, p=0.00001)", () => {
        const draws: string[] = run(k, ["hrandfield", "h", "-10000"]);
        expect(chiSquare(draws, [...fields])).toBeLessThan(40);
      });

      it("positive counts return distinct fields, the whole hash when count >= size", () => {
        for (const n of [10, 20]) expect(run(k, ["hrandfield", "h", String(n)]).sort()).toEqual([...fields].sort());
        for (const n of [8, 2]) {
          const many: string[] = [];
          for (let round = 0; round < 500; round++) {
            const r: string[] = run(k, ["hrandfield", "h", String(n)]);
            expect(r.length).toBe(n);
            expect(new Set(r).size).toBe(n);
            many.push(...r);
          }
          expect(chiSquare(many, [...fields])).toBeLessThan(40);
          const wv: string[] = run(k, ["hrandfield", "h", String(n), "withvalues"]);
          expect(wv.length).toBe(2 * n);
          for (let i = 0; i < wv.length; i += 2) expect(wv[i + 1]).toBe(`v-${wv[i]}`);
        }
      });
    });
  }

  it("a negative count whose reply could not fit in kernel memory is refused, not a trap", () => {
    makeHash("h", small);
    expect(run(k, ["hrandfield", "h", "-4611686018427387903", "withvalues"])).toEqual({ err: "ERR HRANDFIELD reply would exceed 536870912 bytes" });
    expect(run(k, ["hrandfield", "h", "-100000000"])).toEqual({ err: "ERR HRANDFIELD reply would exceed 536870912 bytes" });
    // A large count that fits is served (read raw: parsing 2M bulk strings into Buffers took
    // the test past 30 s on a loaded machine).
    const big = rawReply(k, ["hrandfield", "h", "-2000000"]);
    expect(big.startsWith("*2000000\r\n")).toBe(true);
    let bulks = 0;
    for (let at = big.indexOf("\r\n$"); at >= 0; at = big.indexOf("\r\n$", at + 3)) bulks++;
    expect(bulks).toBe(2000000);
  });

  it("positive counts on a large hashtable pick distinct fields uniformly", () => {
    const fields = Array.from({ length: 1000 }, (_, i) => `f${i}`);
    makeHash("big", fields);
    const counts = new Map<string, number>();
    for (let round = 0; round < 200; round++) {
      const r: string[] = run(k, ["hrandfield", "big", "50"]);
      expect(new Set(r).size).toBe(50);
      for (const f of r) counts.set(f, (counts.get(f) ?? 0) + 1);
    }
    expect(counts.size).toBeGreaterThan(990);
  });
});

describe("RESP3 replies (after HELLO 3)", () => {
  it("HGETALL is a map, nulls are _, HRANDFIELD WITHVALUES nests pairs", () => {
    run(k, ["hset", "h", "a", "1"]);
    k.x.setProtocol(3);
    expect(rawReply(k, ["hgetall", "h"])).toBe("%1\r\n$1\r\na\r\n$1\r\n1\r\n");
    expect(rawReply(k, ["hgetall", "nokey"])).toBe("%0\r\n");
    expect(rawReply(k, ["hkeys", "nokey"])).toBe("*0\r\n");
    expect(rawReply(k, ["hget", "h", "x"])).toBe("_\r\n");
    expect(rawReply(k, ["hmget", "h", "x", "a"])).toBe("*2\r\n_\r\n$1\r\n1\r\n");
    expect(rawReply(k, ["hrandfield", "nokey"])).toBe("_\r\n");
    expect(rawReply(k, ["hrandfield", "nokey", "3"])).toBe("*0\r\n");
    expect(rawReply(k, ["hrandfield", "h", "-2", "withvalues"])).toBe("*2\r\n" + "*2\r\n$1\r\na\r\n$1\r\n1\r\n".repeat(2));
    expect(rawReply(k, ["hrandfield", "h", "5", "withvalues"])).toBe("*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    expect(rawReply(k, ["hrandfield", "h", "-2"])).toBe("*2\r\n$1\r\na\r\n$1\r\na\r\n");
    k.x.setProtocol(2);
    expect(rawReply(k, ["hgetall", "h"])).toBe("*2\r\n$1\r\na\r\n$1\r\n1\r\n");
    expect(rawReply(k, ["hrandfield", "h", "-1", "withvalues"])).toBe("*2\r\n$1\r\na\r\n$1\r\n1\r\n");
  });
});

describe("HSCAN", () => {
  it("parses cursors like strtoul and rejects options Redis rejects", () => {
    run(k, ["hset", "h", "a", "1"]);
    expect(run(k, ["hscan", "h", " 1"])).toEqual({ err: "ERR invalid cursor" });
    expect(run(k, ["hscan", "h", "1x"])).toEqual({ err: "ERR invalid cursor" });
    expect(run(k, ["hscan", "h", "18446744073709551616"])).toEqual({ err: "ERR invalid cursor" });
    expect(run(k, ["hscan", "h", "18446744073709551615"])).toEqual(["0", ["a", "1"]]);
    expect(run(k, ["hscan", "h", "-1"])).toEqual(["0", ["a", "1"]]);
    expect(run(k, ["hscan", "h", "0", "count", "0"])).toEqual({ err: "ERR syntax error" });
    expect(run(k, ["hscan", "h", "0", "count", "x"])).toEqual({ err: "ERR value is not an integer or out of range" });
    expect(run(k, ["hscan", "h", "0", "type", "string"])).toEqual({ err: "ERR syntax error" });
    expect(run(k, ["hscan", "h", "0", "match"])).toEqual({ err: "ERR syntax error" });
  });

  it("a huge COUNT returns the whole hashtable in one call, as Redis's wrapping arithmetic does", () => {
    const args = ["hset", "h"];
    for (let i = 0; i < 300; i++) args.push(`f${i}`, "v");
    run(k, args);
    for (const count of ["9223372036854775807", "4611686018427387904"]) {
      const [cursor, items] = run(k, ["hscan", "h", "0", "count", count]);
      if (count === "4611686018427387904") {
        // count*2*10 wraps to 0: one bucket visited, then the cursor to continue from.
        expect(cursor).not.toBe("0");
      } else {
        expect(cursor).toBe("0");
        expect(items.length).toBe(600);
      }
    }
  });

  it("MATCH filters fields with Redis's glob rules", () => {
    run(k, ["hset", "h", "foo", "1", "fao", "2", "bar", "3", "f*o", "4", "f[x]", "5"]);
    const fields = (pat: string) => (run(k, ["hscan", "h", "0", "match", pat])[1] as string[]).filter((_, i) => i % 2 === 0).sort();
    expect(fields("f?o")).toEqual(["f*o", "fao", "foo"]);
    expect(fields("f[a-f]o")).toEqual(["fao"]);
    expect(fields("f[^a]o")).toEqual(["f*o", "foo"]);
    expect(fields("f\\*o")).toEqual(["f*o"]);
    expect(fields("*")).toEqual(["bar", "f*o", "f[x]", "fao", "foo"]);
    expect(fields("*r")).toEqual(["bar"]);
    expect(fields("f\\[x]")).toEqual(["f[x]"]);
  });

  it("iterates a hashtable with a cursor and returns every field once per full scan", () => {
    const n = 1000;
    const args = ["hset", "h"];
    for (let i = 0; i < n; i++) args.push(`f${i}`, `v${i}`);
    run(k, args);
    const seen = new Map<string, string>();
    let cursor = "0";
    let calls = 0;
    do {
      const [next, items] = run(k, ["hscan", "h", cursor, "count", "20"]) as [string, string[]];
      for (let i = 0; i < items.length; i += 2) seen.set(items[i], items[i + 1]);
      cursor = next;
      calls++;
    } while (cursor !== "0");
    expect(seen.size).toBe(n);
    expect(seen.get("f123")).toBe("v123");
    expect(calls).toBeGreaterThan(10);
  });

  it("returns every field present for the whole scan while the hash grows and shrinks", () => {
    const args = ["hset", "h"];
    for (let i = 0; i < 300; i++) args.push(`keep${i}`, "1");
    run(k, args);
    const seen = new Set<string>();
    let cursor = "0";
    let round = 0;
    do {
      const [next, items] = run(k, ["hscan", "h", cursor, "count", "7"]) as [string, string[]];
      for (let i = 0; i < items.length; i += 2) seen.add(items[i]);
      cursor = next;
      // Grow hard (forcing table resizes mid-scan), then delete the extras again.
      const add = ["hset", "h"];
      for (let j = 0; j < 40; j++) add.push(`tmp${round}_${j}`, "x");
      run(k, add);
      if (round % 5 === 4) {
        const del = ["hdel", "h"];
        for (let r = round - 4; r <= round; r++) for (let j = 0; j < 40; j++) del.push(`tmp${r}_${j}`);
        run(k, del);
      }
      round++;
    } while (cursor !== "0");
    for (let i = 0; i < 300; i++) expect(seen.has(`keep${i}`), `keep${i}`).toBe(true);
  });
});

describe("a hash's value held in its key's entry (no object around it)", () => {
  it("RENAME and COPY move or copy both encodings; the copy is independent of its source", () => {
    const small = ["hset", "s"];
    for (let i = 0; i < 5; i++) small.push(`f${i}`, `v${i}`);
    run(k, small);
    const big = ["hset", "b"];
    for (let i = 0; i < 200; i++) big.push(`f${i}`, `v${i}`);
    run(k, big);
    expect(run(k, ["object", "encoding", "s"])).toBe("listpack");
    expect(run(k, ["object", "encoding", "b"])).toBe("hashtable");
    for (const key of ["s", "b"]) {
      run(k, ["hkeys", key]);
      expect(run(k, ["rename", key, `${key}2`])).toBe("OK");
      expect(run(k, ["copy", `${key}2`, `${key}3`])).toBe(1);
      run(k, ["hset", `${key}2`, "f0", "changed", "extra", "x"]);
      expect(run(k, ["hget", `${key}3`, "f0"])).toBe("v0");
      expect(run(k, ["hexists", `${key}3`, "extra"])).toBe(0);
      expect(run(k, ["hget", `${key}2`, "f0"])).toBe("changed");
      expect(run(k, ["object", "encoding", `${key}3`])).toBe(key === "s" ? "listpack" : "hashtable");
    }
    expect(run(k, ["hlen", "s2"])).toBe(6);
    expect(run(k, ["hlen", "s3"])).toBe(5);
    expect(run(k, ["hlen", "b3"])).toBe(200);
  });

  it("a hash deleted and created again under the same key reads only its new pairs", () => {
    for (let round = 0; round < 20; round++) {
      const args = ["hset", "h"];
      const n = 3 + (round % 4);
      for (let i = 0; i < n; i++) args.push(`r${round}f${i}`, "v".repeat(1 + ((round * 7 + i) % 30)));
      run(k, args);
      // Walk it to the end (pairAt's cursor), then draw single fields at random.
      expect(run(k, ["hkeys", "h"])).toHaveLength(n);
      for (let j = 0; j < 10; j++) expect(run(k, ["hrandfield", "h"])).toMatch(new RegExp(`^r${round}f\\d$`));
      expect(run(k, ["hdel", "h", ...Array.from({ length: n }, (_, i) => `r${round}f${i}`)])).toBe(n);
      expect(run(k, ["exists", "h"])).toBe(0);
    }
  });

  it("a listpack emptied field by field and refilled keeps its pairs", () => {
    const args = ["hset", "h"];
    for (let i = 0; i < 100; i++) args.push(`field${i}`, "x".repeat(60));
    run(k, args);
    for (let i = 0; i < 99; i++) expect(run(k, ["hdel", "h", `field${i}`])).toBe(1);
    expect(run(k, ["hgetall", "h"])).toEqual(["field99", "x".repeat(60)]);
    run(k, ["hset", "h", "a", "1", "b", "22"]);
    expect(run(k, ["hgetall", "h"])).toEqual(["field99", "x".repeat(60), "a", "1", "b", "22"]);
    expect(run(k, ["object", "encoding", "h"])).toBe("listpack");
  });
});
