#!/usr/bin/env node
// A tiny static server for the browser examples (npm run examples, after npm run build):
// serves examples/browser/ at /, and the compiled kernel glue (/dist/src/) and
// /build/kernel.wasm they import. Loopback only. `--port N` (default 8080; 0 = any free).
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const portArg = process.argv.indexOf("--port");
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 8080;

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".map": "application/json",
  ".css": "text/css",
};

/** URL path -> file under one of the served roots, or null. */
function resolve(urlPath) {
  const path = normalize(decodeURIComponent(urlPath.split("?")[0]));
  const mounts = [["/dist/src/", "dist/src/"], ["/build/kernel.wasm", "build/kernel.wasm"], ["/", "examples/browser/"]];
  for (const [prefix, dir] of mounts) {
    if (!path.startsWith(prefix)) continue;
    const rest = path.slice(prefix.length) || (prefix === "/" ? "index.html" : "");
    const file = join(root, dir, rest);
    // normalize() already resolved any "..": stay inside the mount all the same.
    if (!file.startsWith(join(root, dir))) return null;
    return file;
  }
  return null;
}

const server = createServer(async (req, res) => {
  const file = resolve(req.url ?? "/");
  try {
    if (!file) throw new Error("outside the served roots");
    const body = await readFile(file);
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(body);
  } catch {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  }
});

server.listen(port, "127.0.0.1", () => {
  console.log(`examples: http://127.0.0.1:${server.address().port}/ (REPL) and /worker.html (Web Worker)`);
});
