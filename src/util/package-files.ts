// The package's own files (build/kernel.wasm, the generated JSON tables, perf_config.toml, the
// worker scripts), found from wherever the host's code runs: the compiled modules
// (dist/src/<dir>/<file>.js), the start-up bundle (dist/src/cli.js, one file that holds every
// module of a server start: scripts/bundle.mjs), or the TypeScript sources under vitest
// (src/<dir>/<file>.ts). A path relative to each module's own import.meta.url is wrong in
// the bundle, where every module has the bundle's URL.
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(import.meta.url);
const distAt = here.lastIndexOf("/dist/src/");
/** Running compiled (dist/), bundled or not, rather than from the TypeScript sources. */
const compiled = distAt >= 0;

/** The package's root directory (the one with package.json). */
export const packageRoot = compiled ? here.slice(0, distAt) : here.slice(0, here.lastIndexOf("/src/"));

/** A file of the package by its path from the root: packageFile("build/kernel.wasm"). */
export function packageFile(path: string): string {
  return join(packageRoot, path);
}

/**
 * A host module's own file, to run in a worker thread: hostModuleFile("commands/migrate-link")
 * is dist/src/commands/migrate-link.js when compiled (also from the bundle, which the worker
 * must not run: it is the whole server), src/commands/migrate-link.ts from the sources.
 */
export function hostModuleFile(module: string): string {
  return compiled ? join(packageRoot, "dist/src", `${module}.js`) : join(packageRoot, "src", `${module}.ts`);
}
