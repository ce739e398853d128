// Harness mode: Redis's runtest starts the server itself (src/redis-server <generated
// redis.conf>) for each test group, as in Redis's own CI, so the tests that restart or
// reconfigure the server run too (auth, acl, acl-v2 need it). This lays out a private copy
// of the suite whose src/ holds the programs runtest calls:
//   src/redis-server  the server under test: a symlink to its program when that is one file
//                     (ours: bin/latticekv-server; Redis: the real binary), so it runs under
//                     the name src/redis-server as in Redis's own tree (Redis's {title} in the
//                     process title is that argv[0]); else a launcher that execs the command
//                     (exec: runtest reads the PID it spawned from the server's log, so the PID
//                     must stay the same)
//   src/redis-cli, src/redis-benchmark, src/redis-check-aof, src/redis-check-rdb
//                     Debian's real tools from /usr/bin (when installed)
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";

const TOOLS = ["redis-cli", "redis-benchmark", "redis-check-aof", "redis-check-rdb"];

/**
 * Returns the root of a harness tree for `target` ("latticekv" or "redis") under cacheDir,
 * (re)building it from the suite at suiteRoot. serverCommand is the argv that starts the
 * server under test, before the config file argument; name is the tree's directory
 * (cluster.mjs lays out its own).
 */
export function layoutHarness(suiteRoot, cacheDir, target, serverCommand, name = `harness-${target}`) {
  const root = join(cacheDir, name);
  // Fresh each run: a previous run's tests/tmp and a stale launcher must not leak in.
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, "src"), { recursive: true });
  cpSync(join(suiteRoot, "runtest"), join(root, "runtest"));
  cpSync(join(suiteRoot, "tests"), join(root, "tests"), { recursive: true });
  // Some helpers (e.g. tests/helpers/*) are read from the suite's own utils/ too.
  if (existsSync(join(suiteRoot, "utils"))) cpSync(join(suiteRoot, "utils"), join(root, "utils"), { recursive: true });
  const launcher = join(root, "src", "redis-server");
  if (serverCommand.length === 1 && isAbsolute(serverCommand[0])) {
    symlinkSync(serverCommand[0], launcher);
  } else {
    writeFileSync(launcher, `#!/bin/sh\nexec ${serverCommand.map(shellQuote).join(" ")} "$@"\n`);
    chmodSync(launcher, 0o755);
  }
  for (const tool of TOOLS) {
    const real = join("/usr/bin", tool);
    if (existsSync(real)) symlinkSync(real, join(root, "src", tool));
  }
  return root;
}

function shellQuote(s) {
  return /^[A-Za-z0-9_./=:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const CERT_FILES = ["ca.crt", "ca.key", "client.crt", "client.key", "server.crt", "server.key", "redis.crt", "redis.key", "redis.dh"];

/**
 * --tls: runtest reads tests/tls/{ca,client,server,redis}.{crt,key} and redis.dh, which
 * Redis's utils/gen-test-certs.sh makes with openssl. They are made once into
 * cacheDir/tls-certs (the 2048-bit DH parameters take a while) and copied into the tree.
 */
export function ensureTestCerts(tree, cacheDir) {
  const cache = join(cacheDir, "tls-certs");
  if (!CERT_FILES.every((f) => existsSync(join(cache, f)))) {
    execFileSync("bash", ["utils/gen-test-certs.sh"], { cwd: tree, stdio: "ignore" });
    mkdirSync(cache, { recursive: true });
    for (const f of CERT_FILES) cpSync(join(tree, "tests", "tls", f), join(cache, f));
  }
  mkdirSync(join(tree, "tests", "tls"), { recursive: true });
  for (const f of CERT_FILES) cpSync(join(cache, f), join(tree, "tests", "tls", f));
}

/** runtest --tls needs Tcl's tls package (Debian's tcl-tls). */
export function hasTclTls() {
  const r = spawnSync("tclsh", [], { input: "puts [package require tls]\n", encoding: "utf8" });
  return r.status === 0 && /^\d/.test(r.stdout.trim());
}
