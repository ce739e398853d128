// latticekv/kernel: the WASM kernel as a library (README "Embedding the kernel").
// Browser-safe: nothing here imports node:* or uses Buffer. In Node, latticekv/kernel/node
// adds createKernel(), which reads kernel.wasm from the package.
export { EmbeddedKernel, encodeArgv, type EmbeddedKernelOptions, type Arg } from "./embedded-kernel.js";
export { ReplyError, decodeReply, type Reply } from "./reply.js";
export { Kernel, type KernelOptions } from "../kernel/kernel.js";
