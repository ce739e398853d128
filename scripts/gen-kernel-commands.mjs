#!/usr/bin/env node
// Writes src/embed/kernel-commands.ts: the command-table rows (arity, kernel flags, key
// positions) of every command the kernel implements, so the embedded kernel can bind its
// commands in a browser without the 1 MB redis-commands.json or node:fs. Run after
// `npm run build`; test/embed/kernel-commands.test.ts fails when the file is stale.
import { writeFileSync } from "node:fs";
import { kernelCommandRows, renderKernelCommands } from "../dist/src/embed/kernel-commands-source.js";

const out = new URL("../src/embed/kernel-commands.ts", import.meta.url);
writeFileSync(out, renderKernelCommands(kernelCommandRows()));
console.log(`wrote ${out.pathname}`);
