#!/usr/bin/env node
// The server's entry: runs the start-up bundle (dist/src/bundle.cjs, every host module of
// src/main.ts in one CommonJS file, made by scripts/bundle.mjs) with V8's code cache.
//
// Why: most of a start's CPU was V8 compiling the ~1.2 MB bundle, not our code (#13: ~165 ms
// of CPU to "Ready" against redis-server's ~8 ms; a cluster node that restarts is down that
// long, and the tests start hundreds of servers). V8 can save the bytecode it compiled
// (vm.Script#createCachedData) and take it back on the next start (the cachedData option)
// instead of compiling again. Node 20 has no such cache for ES modules (no
// module.enableCompileCache before node 22), hence the CommonJS bundle run through vm.Script.
//
// The cache file (dist/src/bundle.cjs.cache) is made by the build (scripts/bundle.mjs runs
// `node dist/src/cli.js --version`) and again by any start that finds it missing, made for
// another bundle or refused by V8 (another node version or V8 flags): it is written after the
// bundle has run its start-up, so it also holds the functions the start called. A cache that
// cannot be read or written (a read-only install) only costs the compile, never the start.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

// CommonJS require of built-ins: cheaper at start-up than ES imports of them.
const require = createRequire(import.meta.url);
const fs = require("node:fs") as typeof import("node:fs");
const vm = require("node:vm") as typeof import("node:vm");
const path = require("node:path") as typeof import("node:path");

const bundle = fileURLToPath(new URL("./bundle.cjs", import.meta.url));
const cacheFile = `${bundle}.cache`;

const source = fs.readFileSync(bundle, "utf8");
// V8 checks a cache against the source's length only, so a rebuilt bundle of the same length
// would run the old bytecode: the cache's first line names the bundle it was made from.
const stat = fs.statSync(bundle);
const key = `latticekv-code-cache ${stat.size} ${stat.mtimeMs} ${process.version} ${process.arch}\n`;

let cachedData: Buffer | undefined;
try {
  const file = fs.readFileSync(cacheFile);
  if (file.subarray(0, key.length).toString("latin1") === key) cachedData = file.subarray(key.length);
} catch { /* no cache yet: compile */ }

// Node's own CommonJS wrapper, on the bundle's first line so that line numbers stay the file's.
const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
  filename: bundle,
  cachedData,
});
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, path.dirname(bundle));

// The bundle's main() has run to its first wait (the listen): what it compiled goes in too.
if (cachedData === undefined || script.cachedDataRejected) {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, Buffer.concat([Buffer.from(key, "latin1"), script.createCachedData()]));
    fs.renameSync(tmp, cacheFile); // whole or not at all, also with other servers starting at once
  } catch {
    try { fs.unlinkSync(tmp); } catch { /* never written */ }
  }
}
