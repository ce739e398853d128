// A preload for bench scripts (node --expose-gc --import ./bench/heap-probe.mjs dist/src/cli.js ...):
// on SIGUSR2 the server runs two full garbage collections and writes process.memoryUsage() (the
// live heap, not what garbage happens to be waiting) as JSON to $LKV_PROBE_DIR/probe-PID-N.json;
// with LKV_PROBE_SNAPSHOT=1 it also writes a heap snapshot there (heap-PID-N.heapsnapshot).
// Bench-only: the server itself has no such path. bench/crdt-memory.mjs uses it.
import { writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { writeHeapSnapshot } from "node:v8";

const dir = process.env.LKV_PROBE_DIR;
let n = 0;
if (dir) {
  process.on("SIGUSR2", () => {
    const i = n++;
    if (typeof globalThis.gc === "function") { globalThis.gc(); globalThis.gc(); }
    const mu = process.memoryUsage();
    if (process.env.LKV_PROBE_SNAPSHOT === "1") writeHeapSnapshot(join(dir, `heap-${process.pid}-${i}.heapsnapshot`));
    const f = join(dir, `probe-${process.pid}-${i}.json`);
    writeFileSync(f + ".tmp", JSON.stringify(mu));
    renameSync(f + ".tmp", f);
  });
}
