// Node-side loading of the compiled kernel (build/kernel.wasm, produced by `npm run build:kernel`).
import { readFileSync } from "node:fs";
import { packageFile } from "../util/package-files.js";
import { Kernel, type KernelOptions } from "./kernel.js";

let compiled: WebAssembly.Module | undefined;

export function kernelWasmPath(): string {
  return packageFile("build/kernel.wasm");
}

export function loadKernel(opts: KernelOptions = {}): Kernel {
  compiled ??= new WebAssembly.Module(readFileSync(kernelWasmPath()));
  return Kernel.fromModule(compiled, opts);
}
