// latticekv/kernel/node: the embedded kernel for Node programs, loading the package's own
// build/kernel.wasm (compiled once per process).
import { readFileSync } from "node:fs";
import { kernelWasmPath } from "../kernel/load.js";
import { EmbeddedKernel, type EmbeddedKernelOptions } from "./embedded-kernel.js";

export * from "./index.js";

let compiled: WebAssembly.Module | undefined;

export function createKernel(opts: EmbeddedKernelOptions = {}): EmbeddedKernel {
  compiled ??= new WebAssembly.Module(readFileSync(kernelWasmPath()));
  return EmbeddedKernel.fromModule(compiled, opts);
}
