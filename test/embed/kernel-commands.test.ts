// src/embed/kernel-commands.ts is generated (scripts/gen-kernel-commands.mjs) so the
// embedded kernel can bind its commands without the command table's JSON; it must list
// every kernel command with the table's current arity, flags and key positions.
import { it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { kernelCommandRows, renderKernelCommands } from "../../src/embed/kernel-commands-source.js";

it("src/embed/kernel-commands.ts matches the kernel and the command table (else: npm run build && npm run gen:kernel-commands)", () => {
  const onDisk = readFileSync(new URL("../../src/embed/kernel-commands.ts", import.meta.url), "utf8");
  expect(onDisk).toBe(renderKernelCommands(kernelCommandRows()));
});
