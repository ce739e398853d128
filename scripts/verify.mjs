#!/usr/bin/env node
// npm run verify -- [--nodes 1] [--seconds 30] [--rate 200] [--concurrency 10] [--seed S] ...
// Builds (unless --no-build), then runs the verification workload (src/verify/cli.ts):
// real server processes, concurrent clients, a linearizability check, a summary table.
// `npm run verify -- --help` lists every option.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const argv = process.argv.slice(2);
const noBuild = argv.includes("--no-build");
if (!noBuild && !argv.includes("--help") && !argv.includes("-h")) {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
}
const { main } = await import(pathToFileURL(join(root, "dist", "src", "verify", "cli.js")).href);
process.exitCode = await main(argv.filter((a) => a !== "--no-build"));
