// Node-side loading of the compiled kernel (build/kernel.wasm, produced by `npm run build:kernel`).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Kernel, type KernelOptions } from "./kernel.js";

let compiled: WebAssembly.Module | undefined;

export function kernelWasmPath(): string {
  // dist/src/kernel/load.js -> build/kernel.wasm (also from src/ under vitest)
  const up = import.meta.url.includes("/dist/") ? "../../../build/kernel.wasm" : "../../build/kernel.wasm";
  return fileURLToPath(new URL(up, import.meta.url));
}

export function loadKernel(opts: KernelOptions = {}): Kernel {
  compiled ??= new WebAssembly.Module(readFileSync(kernelWasmPath()));
  return Kernel.fromModule(compiled, opts);
}
