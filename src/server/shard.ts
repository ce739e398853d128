// Shard: one kernel instance plus the host's bookkeeping around it (input region,
// nested calls, freed handles). A shard owns a range of the 16384 slots.
import { Kernel, STATUS_DONE, STATUS_HOST, STATUS_PROTO_ERROR, STATUS_YIELD } from "../kernel/kernel.js";
import { loadKernel } from "../kernel/load.js";
import type { CommandTable } from "../commands/table.js";

export { STATUS_DONE, STATUS_HOST, STATUS_PROTO_ERROR, STATUS_YIELD };

export class Shard {
  readonly kernel: Kernel;
  private inputPtr = 0;
  private inputCap = 0;
  /** Called with the handles of host-side values the kernel dropped. */
  onFreedHandles: (handles: number[]) => void = () => {};

  constructor(readonly index: number, databases: number, seed?: number) {
    this.kernel = loadKernel({ databases, seed });
  }

  /** Binds every kernel command to its table row (arity, write flag). */
  bindCommands(table: CommandTable): void {
    for (const name of this.kernel.commandNames()) {
      const spec = table.find(name);
      if (!spec) throw new Error(`kernel implements ${name}, which Redis 7.0 does not have`);
      const flags = spec.flags.has("write") ? 1 : 0;
      spec.kernelIndex = this.kernel.bindCommand(name, spec.arity, flags);
    }
  }

  /** Copies bytes into the shard's input region and returns its address. */
  load(bytes: Uint8Array): number {
    if (bytes.length > this.inputCap) {
      if (this.inputPtr) this.kernel.x.free(this.inputPtr);
      this.inputCap = Math.max(bytes.length, 64 * 1024);
      this.inputPtr = this.kernel.x.alloc(this.inputCap);
    }
    this.kernel.mem.set(bytes, this.inputPtr);
    return this.inputPtr;
  }

  /** Releases host values the last kernel call dropped. */
  afterCall(): void {
    const freed = this.kernel.takeFreedHandles();
    if (freed.length) this.onFreedHandles(freed);
  }

  /**
   * Runs one kernel command outside a client's input stream (MULTI/EXEC, Lua, fan-out)
   * and returns its RESP reply. Uses its own memory so an outer process() in progress is
   * not disturbed.
   */
  call(argv: Uint8Array[], db: number, nowMs: number): Uint8Array {
    const req = encodeCommand(argv);
    const x = this.kernel.x;
    const p = x.alloc(req.length);
    try {
      this.kernel.mem.set(req, p);
      const st = x.process(p, p + req.length, db, nowMs);
      if (st === STATUS_HOST) throw new Error("Shard.call used for a command the kernel does not own");
      return this.kernel.output().slice();
    } finally {
      x.free(p);
      this.afterCall();
    }
  }
}

const enc = new TextEncoder();

/** RESP multibulk encoding of an argv. */
export function encodeCommand(argv: Uint8Array[]): Uint8Array {
  let size = 16;
  for (const a of argv) size += a.length + 16;
  const out = new Uint8Array(size);
  let o = 0;
  const put = (s: string) => { o += enc.encodeInto(s, out.subarray(o)).written; };
  put(`*${argv.length}\r\n`);
  for (const a of argv) {
    put(`$${a.length}\r\n`);
    out.set(a, o);
    o += a.length;
    put("\r\n");
  }
  return out.subarray(0, o);
}
