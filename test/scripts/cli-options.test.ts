// The command line's own options, as redis-server's: --version prints and exits 0, --help
// prints the usage to stderr and exits 1; neither starts a server (a timeout fails the test).
import { describe, it, expect } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../../dist/src/cli.js", import.meta.url));
const run = (arg: string) => spawnSync(process.execPath, [cli, arg], { encoding: "utf8", timeout: 20_000 });

describe("latticekv's command-line options", () => {
  for (const arg of ["--help", "-h"]) {
    it(`${arg} prints the usage to stderr and exits 1, as redis-server`, () => {
      const r = run(arg);
      expect(r.error).toBeUndefined();
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^Usage: latticekv \[\/path\/to\/redis\.conf\] \[options\]/);
      expect(r.stdout).toBe("");
    });
  }
  for (const arg of ["--version", "-v"]) {
    it(`${arg} prints the version and exits 0`, () => {
      const r = run(arg);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain("LatticeKV server v=");
    });
  }
});
