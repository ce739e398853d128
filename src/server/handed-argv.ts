// The arguments of a command a kernel handed back, as Buffers the host may keep: what a host
// command's handler, a routed command (src/server/router.ts) and a deferred command a shard
// declined (src/server/deferred-runs.ts) run from.
import { Buffer } from "node:buffer";
import type { Kernel } from "../kernel/kernel.js";

/**
 * The arguments of a command the kernel handed back, copied out of kernel memory (the next
 * kernel call reuses it). Each argument is its own Buffer.allocUnsafe, which for small sizes
 * is a slice of Node's shared pool (no ArrayBuffer per argument: that showed in profiles as
 * garbage-collector time); short ones are copied byte by byte, which for the few bytes of a
 * typical argument beats a subarray view plus set() (and beats one copied span sliced into
 * views: every view is a typed-array construction too).
 */
export function handedBackArgv(k: Kernel): Buffer[] {
  const n = k.x.argc();
  const mem = k.mem;
  let a = k.x.argvPtr();
  const argv = new Array<Buffer>(n);
  for (let i = 0; i < n; i++, a += 8) {
    const p = (mem[a] | (mem[a + 1] << 8) | (mem[a + 2] << 16) | (mem[a + 3] << 24)) >>> 0;
    const len = (mem[a + 4] | (mem[a + 5] << 8) | (mem[a + 6] << 16) | (mem[a + 7] << 24)) >>> 0;
    if (i === 0 && len === lastName.length && sameBytes(mem, p, lastName)) {
      // A pipeline repeats its command: the name's Buffer of the last command handed back
      // is used again (argv Buffers are never changed in place), one allocation less.
      argv[0] = lastName;
      continue;
    }
    const b = Buffer.allocUnsafe(len);
    if (len <= 32) {
      for (let j = 0; j < len; j++) b[j] = mem[p + j];
    } else {
      b.set(mem.subarray(p, p + len));
    }
    argv[i] = b;
    if (i === 0 && len <= 32) lastName = b;
  }
  return argv;
}

/** argv[0] of the last command handed back (handedBackArgv). */
let lastName: Buffer = Buffer.alloc(0);

function sameBytes(mem: Uint8Array, p: number, b: Buffer): boolean {
  for (let j = 0; j < b.length; j++) if (mem[p + j] !== b[j]) return false;
  return true;
}
