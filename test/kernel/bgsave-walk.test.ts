// The snapshot walk (assembly/persistence/bgsave.ts) uses the dict's scan cursor, so the
// keyspace may grow, shrink and rehash while a BGSAVE runs (Redis's resize policy, not a
// frozen table) and the image still holds every key live at the start exactly once, and
// no key created after it.
import { describe, it, expect } from "vitest";
import { TestKernel } from "./keyspace-harness.js";

/** Keys of the records in the walk's output region (u32 db, u32 keyLen, key, u32 n, entry). */
function drain(t: TestKernel, into: string[]): void {
  const x = t.k.x;
  const n = x.bgsaveOutLen();
  if (n === 0) return;
  const p = x.bgsaveOutPtr();
  const buf = Buffer.from(t.k.mem.subarray(p, p + n));
  let off = 0;
  while (off < buf.length) {
    const kl = buf.readUInt32LE(off + 4);
    into.push(buf.toString("latin1", off + 8, off + 8 + kl));
    off += 8 + kl;
    off += 4 + buf.readUInt32LE(off);
  }
  x.bgsaveDrained();
}

describe("BGSAVE's walk while the table resizes", () => {
  it("writes every key live at the start exactly once while the table grows, shrinks and rehashes", () => {
    const t = new TestKernel(13);
    const start: string[] = [];
    for (let i = 0; i < 3000; i++) { start.push(`s:${i}`); t.r("set", `s:${i}`, "v"); }
    const sizeAtStart = t.k.x.dbTableSize(0);
    t.k.x.bgsaveBegin();
    const written: string[] = [];
    const sizes = new Set<number>();
    let sawRehash = false;
    let step = 0;
    let extra = 0;
    while (!t.k.x.bgsaveStep(20)) {
      drain(t, written);
      step++;
      // Alternate: add thousands of new keys (the table grows), then delete them and most of
      // the starting keys' neighbours (it shrinks); a third of the starting keys are deleted
      // along the way (their pre-images are written on the way out).
      if (Math.floor(step / 8) % 2 === 0) {
        // Up to 500 new keys, stopping as soon as a resize starts so the walk's next step
        // meets a table mid-rehash.
        for (let j = 0; j < 500; j++) {
          t.r("set", `new:${extra++}`, "v");
          if (t.k.x.dbRehashTarget(0) !== 0) break;
        }
      } else {
        while (extra > 0) t.r("del", `new:${--extra}`);
      }
      if (step % 3 === 0 && step < 3000) t.r("del", `s:${step}`);
      sizes.add(t.k.x.dbTableSize(0));
      if (t.k.x.dbRehashTarget(0) !== 0) sawRehash = true;
    }
    drain(t, written);
    t.k.x.bgsaveEnd();
    expect(written.filter((k) => k.startsWith("new:"))).toEqual([]);
    expect(written.length).toBe(start.length);
    expect(new Set(written)).toEqual(new Set(start));
    // The walk really crossed resizes in both directions and a rehash in progress.
    expect(Math.max(...sizes)).toBeGreaterThan(sizeAtStart);
    expect(Math.min(...sizes)).toBeLessThanOrEqual(sizeAtStart);
    expect(sawRehash).toBe(true);
  });
});
