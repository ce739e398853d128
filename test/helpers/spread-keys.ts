// Keys spread over the slot space, for tests of commands that span shards.
import { keySlot } from "../../src/server/router.js";

/** `perShard` keys named prefix:N in each quarter of the slot space (so in each of 4 shards). */
export function spreadKeys(prefix: string, perShard = 2): string[] {
  const out: string[] = [];
  const counts = [0, 0, 0, 0];
  for (let i = 0; out.length < perShard * 4; i++) {
    const k = `${prefix}:${i}`;
    const s = Math.floor(keySlot(Buffer.from(k)) / 4096);
    if (counts[s] < perShard) { counts[s]++; out.push(k); }
  }
  return out;
}
