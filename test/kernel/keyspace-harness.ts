// A kernel driven directly through the WASM boundary with a fake clock: each command runs
// in its own process() call at the harness's `now`, which tests move by hand.
import { loadKernel } from "../../src/kernel/load.js";
import { Kernel } from "../../src/kernel/kernel.js";
import { CommandTable } from "../../src/commands/table.js";

export type Reply = string | number | null | Reply[] | { err: string };

const table = new CommandTable();

function encode(args: (string | number | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = a instanceof Uint8Array ? Buffer.from(a) : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

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
      const s = buf.toString("latin1", pos.i, pos.i + n);
      pos.i += n + 2;
      return s;
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

export class TestKernel {
  readonly k: Kernel;
  /** The fake clock (unix ms) passed to every call. */
  now = 1_700_000_000_000;
  db = 0;
  freed: number[] = [];

  constructor(seed = 7) {
    this.k = loadKernel({ seed });
    for (const name of this.k.commandNames()) {
      const spec = table.find(name);
      if (spec) this.k.bindCommand(name, spec.arity, spec.flags.has("write") ? 1 : 0);
    }
  }

  /** Runs one command and returns its decoded reply. */
  r(...args: (string | number | Uint8Array)[]): any {
    const bytes = encode(args);
    const x = this.k.x;
    const p = x.alloc(bytes.length);
    this.k.mem.set(bytes, p);
    const st = x.process(p, p + bytes.length, this.db, this.now);
    const out = Buffer.from(this.k.output());
    x.free(p);
    this.freed.push(...this.k.takeFreedHandles());
    if (st !== 0) throw new Error(`process status ${st} for ${args[0]}`);
    return parse(out, { i: 0 });
  }

  /** Stores a host-held value (list, set...) under key, as the host's type layer would. */
  setHandle(key: string, type: number, handle: number): void {
    const b = Buffer.from(key, "latin1");
    const p = this.k.x.alloc(Math.max(1, b.length));
    this.k.mem.set(b, p);
    this.k.x.setKeyHandle(this.db, p, b.length, type, handle, this.now);
    this.k.x.free(p);
    this.freed.push(...this.k.takeFreedHandles());
  }

  /** Effect records of the last call, as [kind, db, ...argv] (effects must be enabled). */
  effects(): (string | number)[][] {
    const x = this.k.x;
    const mem = Buffer.from(this.k.mem.buffer, x.effectsPtr(), x.effectsLen());
    const out: (string | number)[][] = [];
    let o = 0;
    while (o < mem.length) {
      const len = mem.readUInt32LE(o);
      const rec: (string | number)[] = [mem[o + 4], mem[o + 5]];
      let p = o + 12;
      for (let i = 0, n = mem.readUInt32LE(o + 8); i < n; i++) {
        const l = mem.readUInt32LE(p);
        rec.push(mem.toString("latin1", p + 4, p + 4 + l));
        p += 4 + l;
      }
      out.push(rec);
      o += len;
    }
    return out;
  }

  /** Runs a key export (keyType, keyDelete, keyHandle) with the key copied into kernel memory. */
  withKey<T>(key: string, fn: (ptr: number, len: number) => T): T {
    const b = Buffer.from(key, "latin1");
    const p = this.k.x.alloc(Math.max(1, b.length));
    this.k.mem.set(b, p);
    try {
      return fn(p, b.length);
    } finally {
      this.k.x.free(p);
      this.freed.push(...this.k.takeFreedHandles());
    }
  }

  activeExpire(maxSamples = 200): number {
    const n = this.k.x.activeExpireCycle(this.now, maxSamples);
    this.freed.push(...this.k.takeFreedHandles());
    return n;
  }

  /** Redis's stringmatchlen through the kernel export. */
  match(pattern: string | Buffer, s: string | Buffer, nocase = false): boolean {
    const pb = Buffer.isBuffer(pattern) ? pattern : Buffer.from(pattern, "latin1");
    const sb = Buffer.isBuffer(s) ? s : Buffer.from(s, "latin1");
    const x = this.k.x;
    // Pad the pattern with '*' so a read past its end would change the answer.
    const pp = x.alloc(pb.length + 8);
    this.k.mem.set(pb, pp);
    this.k.mem.fill(0x2a, pp + pb.length, pp + pb.length + 8);
    const sp = x.alloc(sb.length + 1);
    this.k.mem.set(sb, sp);
    const r = x.stringMatch(pp, pb.length, sp, sb.length, nocase ? 1 : 0);
    x.free(pp);
    x.free(sp);
    return r !== 0;
  }
}

export const OBJ_LIST = 1;
export const OBJ_SET = 2;
export const OBJ_ZSET = 3;
