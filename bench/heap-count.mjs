#!/usr/bin/env node
// node --max-old-space-size=8000 bench/heap-count.mjs FILE.heapsnapshot [--per N] [--top 30] [--base FILE2]
// Counts a V8 heap snapshot's objects by kind (type:constructor, e.g. "object:OneEntry",
// "object:Map", "hidden:system / Map", "string") with their count and self size; --per N divides
// both by N (keys: objects per key); --base FILE2 subtracts another snapshot's counts (a node
// holding the same data without replication). bench/crdt-memory.mjs --snapshot writes them.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { per: { type: "string", default: "1" }, top: { type: "string", default: "30" }, base: { type: "string" } },
});

function count(file) {
  const snap = JSON.parse(readFileSync(file, "utf8"));
  const meta = snap.snapshot.meta;
  const F = meta.node_fields.length;
  const iType = meta.node_fields.indexOf("type"), iName = meta.node_fields.indexOf("name"), iSize = meta.node_fields.indexOf("self_size");
  const types = meta.node_types[iType];
  const out = new Map();
  const nodes = snap.nodes, strings = snap.strings;
  for (let i = 0; i < nodes.length; i += F) {
    const t = types[nodes[i + iType]];
    const name = t === "string" || t === "concatenated string" || t === "sliced string" || t === "number" || t === "code" ? "" : strings[nodes[i + iName]];
    const k = `${t}:${name.length > 60 ? name.slice(0, 60) : name}`;
    let c = out.get(k);
    if (!c) out.set(k, (c = { n: 0, size: 0 }));
    c.n++; c.size += nodes[i + iSize];
  }
  return out;
}

const per = Number(opts.per);
const a = count(positionals[0]);
const b = opts.base ? count(opts.base) : new Map();
const rows = [];
let total = 0, totalN = 0;
for (const k of new Set([...a.keys(), ...b.keys()])) {
  const x = a.get(k) ?? { n: 0, size: 0 }, y = b.get(k) ?? { n: 0, size: 0 };
  const n = x.n - y.n, size = x.size - y.size;
  total += size; totalN += n;
  rows.push([k, n, size]);
}
rows.sort((p, q) => Math.abs(q[2]) - Math.abs(p[2]));
console.log(`total: ${(totalN / per).toFixed(2)} objects, ${(total / per).toFixed(1)} bytes${per !== 1 ? " per key" : ""}`);
for (const [k, n, size] of rows.slice(0, Number(opts.top))) console.log(`${(n / per).toFixed(2).padStart(10)} ${(size / per).toFixed(1).padStart(10)}  ${k}`);
