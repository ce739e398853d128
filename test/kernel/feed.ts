// Driving one kernel instance directly through the WASM boundary: the shard set-up and the
// one-call feed the kernel tests share.
import { loadKernel } from "../../src/kernel/load.js";
import type { Kernel } from "../../src/kernel/kernel.js";
import { slotRange } from "../../src/server/router.js";

const td = new TextDecoder();
const te = new TextEncoder();

/** A kernel owning shard i of n (the router's slot split), with SET/GET bound (key at 1). */
export function shardKernel(i: number, n: number, seed = 7 + i): Kernel {
  const k = loadKernel({ seed });
  k.bindCommand("set", -3, 1, { firstKey: 1, lastKey: 1, keyStep: 1 });
  k.bindCommand("get", 2, 0, { firstKey: 1, lastKey: 1, keyStep: 1 });
  setShard(k, i, n);
  return k;
}

/** Makes k shard i of n. */
export function setShard(k: Kernel, i: number, n: number): void {
  const [low, high] = slotRange(i, n);
  k.x.setSlotRange(low, high, n);
}

/**
 * Feeds bytes in one process() call; returns its status, the output text, and where the
 * last command started and how far it consumed (offsets into the input).
 */
export function feed(k: Kernel, text: string | Uint8Array) {
  const bytes = typeof text === "string" ? te.encode(text) : text;
  const p = k.x.alloc(Math.max(bytes.length, 1));
  k.mem.set(bytes, p);
  const st = k.x.process(p, p + bytes.length, 0, 1_000_000);
  const out = td.decode(k.output());
  const res = { st, out, start: k.x.commandStart() - p, consumed: k.x.consumedPos() - p };
  k.x.free(p);
  return res;
}
