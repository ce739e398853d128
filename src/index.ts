// latticekv: the server as a library (start it in-process) and the embedded kernel.
export { Server } from "./server/server.js";
export { Config } from "./config/config.js";
export * from "./embed/index.js";
