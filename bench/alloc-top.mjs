#!/usr/bin/env node
// node bench/alloc-top.mjs FILE.heapprofile [--per N] [--top 30]
// Sums a sampling heap profile (bench/alloc-sampler.mjs) by function: self bytes sampled
// (allocated there) and, with --per N, bytes per N (e.g. the run's SET count). Sampled, so
// small entries are estimates (one sample stands for ~samplingInterval bytes).
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { per: { type: "string" }, top: { type: "string", default: "30" }, callers: { type: "string" } },
});
const prof = JSON.parse(readFileSync(positionals[0], "utf8"));
const self = new Map();
let total = 0;
(function walk(n) {
  const f = n.callFrame;
  const name = `${f.functionName || "(anonymous)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
  const s = n.selfSize;
  total += s;
  if (s) self.set(name, (self.get(name) ?? 0) + s);
  for (const c of n.children) walk(c);
})(prof.head);
const per = opts.per ? Number(opts.per) : 0;
console.log(`total sampled ${(total / 1048576).toFixed(1)} MB${per ? `, ${(total / per).toFixed(0)} B per op` : ""}`);
for (const [name, s] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(opts.top))) {
  console.log(`${(100 * s / total).toFixed(1).padStart(5)}%  ${(s / 1048576).toFixed(1).padStart(8)} MB${per ? `  ${(s / per).toFixed(0).padStart(6)} B/op` : ""}  ${name}`);
}
// --callers NAME: also where NAME's allocations were made from (its callers' names, summed)
if (process.argv.includes("--callers")) {
  const want = process.argv[process.argv.indexOf("--callers") + 1];
  const by = new Map();
  (function walk(n, parents) {
    const f = n.callFrame;
    if ((f.functionName || "(anonymous)") === want && n.selfSize) {
      const p = parents.slice(-3).map((q) => `${q.functionName || "(anon)"}:${q.lineNumber + 1}`).join(" < ");
      by.set(p, (by.get(p) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, [...parents, f]);
  })(prof.head, []);
  console.log(`\n${want} called from (last 3 frames, innermost last):`);
  for (const [p, s] of [...by].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${(100 * s / total).toFixed(1).padStart(5)}%  ${per ? `${(s / per).toFixed(0).padStart(6)} B/op` : ""}  ${p}`);
}
