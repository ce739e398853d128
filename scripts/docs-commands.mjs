// Rewrites README.md's "Commands not yet supported" section from the command table
// (npm run docs:commands; needs a build). test/docs/readme-commands.test.ts checks it.
import { readFileSync, writeFileSync } from "node:fs";
import { Config } from "../dist/src/config/config.js";
import { Server } from "../dist/src/server/server.js";
import { withUnsupportedSection } from "../dist/src/commands/unsupported.js";

const readmeUrl = new URL("../README.md", import.meta.url);
const server = new Server(new Config());
const next = withUnsupportedSection(readFileSync(readmeUrl, "utf8"), server.table);
writeFileSync(readmeUrl, next);
console.log("README.md: unsupported-commands section regenerated");
process.exit(0);
