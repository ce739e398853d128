// The entry's V8 code cache (src/cli.ts): dist/src/bundle.cjs.cache is made when missing, kept
// when V8 takes it, and made again when it names another bundle or V8 refuses it; a cache that
// cannot be written never stops a start. Each case runs a copy of dist/src/cli.js and
// bundle.cjs in a scratch package (the rest linked to this one), so the build's own cache,
// used by every other test's servers, is not touched.
import { describe, it, expect, beforeEach, afterEach } from "vitest";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, connectClient } from "../helpers/server.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
let pkg: string;
let cache: string;

beforeEach(() => {
  pkg = mkdtempSync(join(tmpdir(), "lkv-code-cache-"));
  mkdirSync(join(pkg, "dist/src"), { recursive: true });
  for (const f of ["cli.js", "bundle.cjs"]) copyFileSync(join(root, "dist/src", f), join(pkg, "dist/src", f));
  for (const f of ["package.json", "node_modules", "build", "src", "perf_config.toml"]) symlinkSync(join(root, f), join(pkg, f));
  cache = join(pkg, "dist/src/bundle.cjs.cache");
});
afterEach(() => rmSync(pkg, { recursive: true, force: true }));

const version = () => execFileSync(process.execPath, [join(pkg, "dist/src/cli.js"), "--version"], { encoding: "utf8" });
const keyLine = () => readFileSync(cache).toString("latin1").split("\n")[0];

describe("the entry's code cache", () => {
  it("is written by a run that has none, then kept: V8 takes it", () => {
    expect(version()).toContain("LatticeKV server v=");
    const bundle = statSync(join(pkg, "dist/src/bundle.cjs"));
    expect(keyLine()).toBe(`latticekv-code-cache ${bundle.size} ${bundle.mtimeMs} ${process.version} ${process.arch}`);
    expect(statSync(cache).size).toBeGreaterThan(10_000);
    const made = statSync(cache).ino;
    expect(version()).toContain("LatticeKV server v=");
    // A refused or stale cache is written again (a new file, renamed over the old one).
    expect(statSync(cache).ino).toBe(made);
  });

  it("a cache made for another bundle is not used, and is made again", () => {
    version();
    const before = keyLine();
    // Same length, another build: V8's own check (the source's length) would take it.
    const t = new Date(Date.now() + 5000);
    utimesSync(join(pkg, "dist/src/bundle.cjs"), t, t);
    expect(version()).toContain("LatticeKV server v=");
    expect(keyLine()).not.toBe(before);
    expect(keyLine()).toContain(String(statSync(join(pkg, "dist/src/bundle.cjs")).mtimeMs));
  });

  it("a cache V8 refuses only costs the compile, and is made again", () => {
    version();
    const key = keyLine();
    writeFileSync(cache, Buffer.concat([Buffer.from(`${key}\n`, "latin1"), Buffer.alloc(50_000, 7)]));
    const bad = statSync(cache).ino;
    expect(version()).toContain("LatticeKV server v=");
    expect(statSync(cache).ino).not.toBe(bad);
    expect(statSync(cache).size).toBeGreaterThan(10_000);
  });

  it("a cache that cannot be written does not stop a start", () => {
    mkdirSync(cache); // the rename over it fails
    expect(version()).toContain("LatticeKV server v=");
    expect(statSync(cache).isDirectory()).toBe(true);
    expect(readdirSync(join(pkg, "dist/src")).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });
});

describe("a server started from the cached bundle", () => {
  it("serves", async () => {
    // The build made dist/src/bundle.cjs.cache; this server (like every test's) runs with it.
    const made = statSync(join(root, "dist/src/bundle.cjs.cache")).ino;
    const srv = await startServer();
    try {
      const r = await connectClient(srv.port);
      expect(await r.set("k", "v")).toBe("OK");
      expect(await r.get("k")).toBe("v");
      r.disconnect();
    } finally {
      await srv.stop();
    }
    expect(statSync(join(root, "dist/src/bundle.cjs.cache")).ino).toBe(made);
  });
});
