// dist/src/bundle.cjs: the server's main module (dist/src/main.js, compiled by tsc) and every
// host module it imports, in one CommonJS file, run by the entry dist/src/cli.js (src/cli.ts)
// with V8's code cache. Node resolves, reads, compiles and links each module of an import
// graph on its own; for the ~220 modules of a server start that was ~100 ms of CPU, about 40%
// of the time from exec to "Ready to accept connections" (session 16, #13). CommonJS, because
// node 20 can cache V8's compiled code for a vm.Script but not for an ES module.
// Packages in node_modules (fengari, smol-toml) stay requires: fengari is required lazily and
// patched from its own files (src/scripting/fengari.ts). The modules still find the package's
// files from the bundle (src/util/package-files.ts). Run by `npm run build:host`, after tsc.
import { build } from "rolldown";
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
await build({
  cwd: root,
  input: "dist/src/main.js",
  platform: "node",
  // Bare specifiers (packages and node: built-ins) are not bundled.
  external: (id) => !id.startsWith(".") && !id.startsWith("/"),
  logLevel: "warn",
  output: {
    file: "dist/src/bundle.cjs",
    format: "cjs",
    strict: true, // the modules were ES modules: strict mode
    // Less source for node to read and V8 to scan at each start: without the comments
    // (the sources have them; the source map leads there) and in ASCII, which V8 keeps as
    // a one-byte string (a non-ASCII character, even in a comment, makes the file two-byte).
    comments: false,
    charset: "ascii",
    sourcemap: true,
  },
});

// The code cache for this bundle (src/cli.ts): made now, by a run that loads the bundle and
// answers --version, so that the first server start already has it.
rmSync(`${root}dist/src/bundle.cjs.cache`, { force: true });
execFileSync(process.execPath, [`${root}dist/src/cli.js`, "--version"], { stdio: "ignore" });
