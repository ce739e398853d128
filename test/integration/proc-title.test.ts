// The process title (src/server/proc-title.ts): proc-title-template expanded as Redis's
// expandProcTitleTemplate, set at start and on CONFIG SET, and what /proc/<pid>/cmdline shows
// is that title. bin/latticekv-server (npm start, the compat harness's src/redis-server) runs
// node under the name it was started as and with room for a long title.
import { describe, it, expect, afterEach } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { connectClient, freePort, startServer, SHARDS } from "../helpers/server.js";

const launcher = fileURLToPath(new URL("../../bin/latticekv-server", import.meta.url));
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** /proc/<pid>/cmdline without its trailing NULs (libuv clears the rest of the argv area). */
function cmdline(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0+$/, "");
}

/** Starts bin/latticekv-server through `program` (the launcher or a symlink to it), in `dir`. */
async function startLauncher(program: string, dir: string, args: string[]): Promise<{ proc: ChildProcess; port: number }> {
  const port = await freePort();
  const proc = spawn(program, [...args, "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", ""], {
    cwd: dir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LATTICEKV_NODE: process.execPath, LATTICEKV_SHARDS: String(SHARDS) },
  });
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  proc.stderr!.on("data", (d) => (out += d));
  cleanups.push(async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGKILL");
    await exited;
  });
  const deadline = Date.now() + 15_000;
  while (!out.includes("Ready to accept connections")) {
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start: ${out}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { proc, port };
}

describe("process title", { timeout: 30_000 }, () => {
  it("is Redis's default template at start and follows CONFIG SET, under the name the launcher was run as", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-title-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // As Redis's test harness runs it: a symlink named src/redis-server, with a config file.
    symlinkSync(launcher, join(dir, "redis-server"));
    const conf = join(dir, "redis.conf");
    writeFileSync(conf, `unixsocket ${join(dir, "socket")}\n`);
    const { proc, port } = await startLauncher("./redis-server", dir, [conf]);
    // Redis's default "{title} {listen-addr} {server-mode}", trimmed: argv[0] as executed.
    expect(cmdline(proc.pid!)).toBe(`./redis-server 127.0.0.1:${port}`);
    const r = await connectClient(port);
    cleanups.push(() => r.disconnect());
    // unit/other's "Process title set as expected": 200-odd bytes, longer than node's own command line.
    await r.config("set", "proc-title-template", "TEST {title} {listen-addr} {port} {tls-port} {unixsocket} {config-file}");
    expect(cmdline(proc.pid!)).toBe(`TEST ./redis-server 127.0.0.1:${port} ${port} 0 ${join(dir, "socket")} ${conf}`);
    // {{ is a literal brace; spaces around the expansion are trimmed.
    await r.config("set", "proc-title-template", "  {{x} {port}  ");
    expect(cmdline(proc.pid!)).toBe(`{x} ${port}`);
    expect(await r.config("get", "proc-title-template")).toEqual(["proc-title-template", "  {{x} {port}  "]);
  });

  it("refuses a template with an unknown variable, an unclosed brace or an empty expansion, with Redis's error", async () => {
    const { proc, r } = await (async () => {
      const srv = await startServer();
      cleanups.push(() => srv.stop());
      const r = await connectClient(srv.port);
      cleanups.push(() => r.disconnect());
      return { proc: srv.proc, r };
    })();
    const before = cmdline(proc.pid!);
    const err = "ERR CONFIG SET failed (possibly related to argument 'proc-title-template') - template format is invalid or contains unknown variables";
    for (const t of ["{invalid-var}", "{port", "x {", "   ", "{server-mode}", "{unixsocket}", ""]) {
      await expect(r.config("set", "proc-title-template", t), t).rejects.toThrow(err);
    }
    expect(cmdline(proc.pid!)).toBe(before);
    expect(await r.config("get", "proc-title-template")).toEqual(["proc-title-template", "{title} {listen-addr} {server-mode}"]);
  });

  it("with set-proc-title no, leaves the command line alone", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lkv-title-"));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const { proc, port } = await startLauncher(launcher, dir, ["--set-proc-title", "no"]);
    const original = cmdline(proc.pid!);
    expect(original).toBe([launcher, join(launcher, "../../dist/src/cli.js"), `--title-room=${" ".repeat(1024)}`,
      "--set-proc-title", "no", "--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save"].join("\0")); // (then --save's "": a NUL)
    const r = await connectClient(port);
    cleanups.push(() => r.disconnect());
    expect(await r.config("set", "proc-title-template", "TEST {port}")).toBe("OK");
    expect(cmdline(proc.pid!)).toBe(original);
  });
});
