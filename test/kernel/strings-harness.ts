// A kernel with every command bound from the real command table, and run(...argv) (string
// arguments are taken as latin1, one byte per char, so tests can spell binary) that
// returns the raw RESP reply (latin1, binary-safe). Shared by the strings kernel tests.
import { loadKernel } from "../../src/kernel/load.js";
import { Kernel } from "../../src/kernel/kernel.js";
import { CommandTable } from "../../src/commands/table.js";
import { encodeCommand } from "../../src/server/shard.js";

const table = new CommandTable();

export interface KernelRun {
  kernel: Kernel;
  /** The time (ms) passed to the next command. */
  nowMs: number;
  run(...argv: (string | Uint8Array)[]): string;
  /** argv of each write command the last run() recorded in the effect log (effects on). */
  effects(): string[][];
}

export function newKernelRun(): KernelRun {
  const k = loadKernel({ seed: 7 });
  for (const name of k.commandNames()) {
    const spec = table.find(name)!;
    k.bindCommand(name, spec.arity, spec.flags.has("write") ? 1 : 0);
  }
  const self: KernelRun = {
    kernel: k,
    nowMs: 1_700_000_000_000,
    run(...argv) {
      const req = encodeCommand(argv.map((a) => (typeof a === "string" ? Buffer.from(a, "latin1") : a)));
      const p = k.x.alloc(req.length);
      k.mem.set(req, p);
      k.x.process(p, p + req.length, 0, self.nowMs);
      k.x.free(p);
      return Buffer.from(k.output()).toString("latin1");
    },
    effects() {
      const mem = Buffer.from(k.mem.buffer, k.x.effectsPtr(), k.x.effectsLen());
      const out: string[][] = [];
      for (let o = 0; o < mem.length; o += mem.readUInt32LE(o)) {
        const rec: string[] = [];
        let p = o + 12;
        for (let i = 0, n = mem.readUInt32LE(o + 8); i < n; i++) {
          const l = mem.readUInt32LE(p);
          rec.push(mem.toString("latin1", p + 4, p + 4 + l));
          p += 4 + l;
        }
        out.push(rec);
      }
      return out;
    },
  };
  return self;
}

export const bulk = (s: string) => `$${Buffer.byteLength(s, "latin1")}\r\n${s}\r\n`;
export const int = (n: number | bigint) => `:${n}\r\n`;
export const arr = (...items: string[]) => `*${items.length}\r\n${items.join("")}`;
export const NIL = "$-1\r\n";
export const OK = "+OK\r\n";
export const err = (m: string) => `-${m}\r\n`;
