// dist/src/cli.js: the server's entry (dist/src/main.js, compiled by tsc) and every host module
// it imports, in one ES module file. Node resolves, reads, compiles and links each module of
// an import graph on its own; for the ~220 modules of a server start that was ~100 ms of CPU,
// about 40% of the time from exec to "Ready to accept connections" (session 16, #13). A
// cluster node that restarts is down that long, and test harnesses start hundreds of servers.
// Packages in node_modules (fengari, smol-toml) stay imports: fengari is required lazily and
// patched from its own files (src/scripting/fengari.ts). The modules still find the package's
// files from the bundle (src/util/package-files.ts). Run by `npm run build:host`, after tsc.
import { build } from "rolldown";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
await build({
  cwd: root,
  input: "dist/src/main.js",
  platform: "node",
  // Bare specifiers (packages and node: built-ins) are not bundled.
  external: (id) => !id.startsWith(".") && !id.startsWith("/"),
  logLevel: "warn",
  output: { file: "dist/src/cli.js", format: "esm", sourcemap: true },
});
