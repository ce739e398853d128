// A preload for bench scripts (node --import ./bench/alloc-sampler.mjs dist/src/cli.js ...):
// the first SIGUSR2 starts V8's sampling heap profiler with objects collected by minor and major
// GCs kept (so it samples what is allocated, not what survives: what makes the GC work), the
// second stops it and writes $LKV_ALLOC_DIR/alloc-PID.heapprofile (open in Chrome DevTools, or
// sum its self sizes per function with bench/alloc-top.mjs). Bench-only: the server itself has no
// such path. bench/crdt-write-cost.mjs --alloc-prof uses it.
import { Session } from "node:inspector";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.env.LKV_ALLOC_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  let on = false;
  process.on("SIGUSR2", () => {
    if (!on) {
      on = true;
      session.post("HeapProfiler.startSampling", {
        samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true,
      });
      return;
    }
    on = false;
    session.post("HeapProfiler.stopSampling", (err, r) => {
      if (err) { console.error("alloc-sampler:", err); return; }
      writeFileSync(join(dir, `alloc-${process.pid}.heapprofile`), JSON.stringify(r.profile));
    });
  });
}
