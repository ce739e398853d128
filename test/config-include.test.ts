// redis.conf's include, sentinel and loadmodule lines, and names that are no directive, as
// redis-server 7.0.15 treats them (each case below was run against it):
// - `include FILE` loads FILE there; its errors name its own line; a missing FILE is fatal
//   ("Fatal error, can't open config file '...': No such file or directory");
// - `include` with a glob loads every match in sorted order, and no match is no error;
// - `include` with no or two paths, and an unknown name: "Bad directive or wrong number of arguments";
// - `sentinel ...` outside sentinel mode: "sentinel directive while not in sentinel mode";
// - `loadmodule` aborts the start (the module cannot load): exit status 1.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { Config, applyArgv } from "../src/config/config.js";
import { includedFiles } from "../src/config/include.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "lkv-include-"));
  writeFileSync(join(dir, "a.conf"), "hz 33\n");
  writeFileSync(join(dir, "b.conf"), "hz 44\n");
  writeFileSync(join(dir, "bad.conf"), "hz 55\nfoo\n");
  writeFileSync(join(dir, ".hidden.conf"), "hz 66\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const load = (text: string) => {
  const c = new Config();
  writeFileSync(join(dir, "main.conf"), text);
  return { c, errors: applyArgv(c, [join(dir, "main.conf")], (p) => readFileSync(p, "utf8")) };
};

describe("redis.conf include", () => {
  it("loads the file at that point (a later line wins)", () => {
    expect(load(`include ${dir}/a.conf\n`).c.get("hz")).toBe("33");
    const { c, errors } = load(`include ${dir}/a.conf\nhz 12\n`);
    expect(errors).toEqual([]);
    expect(c.get("hz")).toBe("12");
  });

  it("a glob loads every match in sorted order, dot files left out; no match is no error", () => {
    expect(includedFiles(`${dir}/[ab].conf`)).toEqual([join(dir, "a.conf"), join(dir, "b.conf")]);
    expect(includedFiles(`${dir}/*.conf`)).not.toContain(join(dir, ".hidden.conf"));
    expect(load(`include ${dir}/[ab].conf\n`).c.get("hz")).toBe("44");
    const none = load(`hz 20\ninclude ${dir}/nomatch*.conf\n`);
    expect(none.errors).toEqual([]);
    expect(none.c.get("hz")).toBe("20");
  });

  it("an error in the included file names that file's line; a missing file is fatal", () => {
    const { errors } = load(`hz 10\ninclude ${dir}/bad.conf\n`);
    expect(errors).toEqual(["Reading the configuration file, at line 2\n>>> 'foo'\nBad directive or wrong number of arguments"]);
    expect(load(`include ${dir}/none.conf\n`).errors).toEqual([`Fatal error, can't open config file '${dir}/none.conf': No such file or directory`]);
  });

  it("no path or two paths, a file including itself, sentinel lines", () => {
    expect(load("include\n").errors[0]).toContain("Bad directive or wrong number of arguments");
    expect(load(`include ${dir}/a.conf ${dir}/b.conf\n`).errors[0]).toContain("Bad directive or wrong number of arguments");
    writeFileSync(join(dir, "self.conf"), `include ${dir}/self.conf\n`);
    expect(load(`include ${dir}/self.conf\n`).errors[0]).toContain("too many levels of include");
    expect(load("sentinel monitor m 127.0.0.1 6379 1\n").errors[0]).toContain("sentinel directive while not in sentinel mode");
  });
});

describe("start-up refusals (real process)", () => {
  const cli = fileURLToPath(new URL("../dist/src/cli.js", import.meta.url));
  const start = (text: string) => {
    writeFileSync(join(dir, "start.conf"), `port 0\n${text}`);
    return spawnSync(process.execPath, [cli, join(dir, "start.conf")], { encoding: "utf8", timeout: 20_000 });
  };

  it("a name that is no directive: FATAL CONFIG FILE ERROR, exit status 1", () => {
    const r = start("foo bar\n");
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("*** FATAL CONFIG FILE ERROR");
    expect(r.stderr).toContain("Reading the configuration file, at line 2\n>>> 'foo bar'\nBad directive or wrong number of arguments");
  });

  it("loadmodule aborts the start as a module that fails to load does", () => {
    const r = start(`loadmodule ${dir}/x.so\n`);
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toContain(`Can't load module from ${dir}/x.so: server aborting`);
  });
});
