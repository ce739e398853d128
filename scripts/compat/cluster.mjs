// Cluster mode: Redis's tests/cluster suite, driven by its own runner, runtest-cluster. The
// runner starts N cluster-enabled instances (tests/cluster/run.tcl: 20 in Redis) from
// ../../../src/redis-server, then sources each test file matched by --single; every file
// first resets and re-joins all N instances (tests/includes/init-tests.tcl). Its output is
// not runtest's: a test prints "HH:MM:SS> name: OK", or "FAILED: ..." after which the file
// is abandoned ("Jumping to next unit"), and an error outside an assertion prints
// "FAILED: caught an error in the test".
//
// The tree is the harness tree (harness.mjs: src/redis-server launches the server under
// test) plus runtest-cluster, with the instances' base port moved to the run's baseport
// (instances.tcl hard-codes 30000; bus ports are port+10000, kept below Linux's ephemeral
// range: clusterBaseport) and, with `nodes`, fewer
// instances than Redis's 20 where the files allow it (they use at most 2 × their
// create_cluster size); the files that need more get 20 whatever `nodes` is
// (TWENTY_INSTANCE_FILES, set per file by runClusterFile).
import { spawn } from "node:child_process";
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { layoutHarness } from "./harness.mjs";

/** How many ports above the base port the instances may take (instances.tcl's redis_port_count). */
const PORT_COUNT = 400;
/** Linux's default ephemeral range starts here (net.ipv4.ip_local_port_range 32768 60999). */
const EPHEMERAL_LOW = 32768;

/**
 * The instances' base port for a run's baseport. An instance's bus port is its port + 10000
 * (init-tests.tcl MEETs with no bus port, so it cannot move), and a bus port inside the
 * ephemeral range may be held by any outgoing connection's source port when a killed
 * instance restarts (04-resharding: "Address already in use" on bus port 35000 with
 * baseport 25000), which is Redis's own hazard too. So the base moves down by 20000 until
 * every bus port is below 32768: CI's default 27000 runs at 7000 (buses 17000-17399),
 * 21000 stays 21000 (buses 31000-31399); baseports less than 20000 apart stay apart.
 */
export function clusterBaseport(baseport) {
  let base = baseport;
  while (base + 10000 + PORT_COUNT > EPHEMERAL_LOW) base -= 20000;
  if (base < 1024) throw new Error(`compat: no cluster base port below the ephemeral range for baseport ${baseport}`);
  return base;
}

/**
 * Files that create more than 10 nodes (create_cluster 5 10 and up, or 27's 20-node layout):
 * they run with 20 instances, Redis's own count, even when the tree was laid out with fewer.
 */
export const TWENTY_INSTANCE_FILES = new Set(["05-slave-selection", "07-replica-migration", "12-replica-migration-2",
  "12.1-replica-migration-3", "15-cluster-slots", "27-endpoints", "28-cluster-shards"]);

/** The instance count each tree was laid out with (runClusterFile sets it per file). */
const layoutNodes = new Map();

/** The instances a file runs with in a tree laid out with `nodes`. */
export function instancesFor(file, nodes) {
  return TWENTY_INSTANCE_FILES.has(file) ? Math.max(nodes, 20) : nodes;
}

/** Lays out (fresh) the runtest-cluster tree under cacheDir for target; returns its root. */
export function layoutCluster(suiteRoot, cacheDir, target, serverCommand, { baseport, nodes }) {
  const root = layoutHarness(suiteRoot, cacheDir, target, serverCommand, `cluster-${target}`);
  cpSync(join(suiteRoot, "runtest-cluster"), join(root, "runtest-cluster"));
  patch(join(root, "tests", "instances.tcl"), [
    [/set ::redis_base_port \d+/, `set ::redis_base_port ${clusterBaseport(baseport)}`],
    [/set ::redis_port_count \d+/, `set ::redis_port_count ${PORT_COUNT}`],
  ]);
  patch(join(root, "tests", "cluster", "run.tcl"), [[/set ::instances_count \d+/, `set ::instances_count ${nodes}`]]);
  layoutNodes.set(root, nodes);
  return root;
}

function patch(file, edits) {
  let text = readFileSync(file, "utf8");
  for (const [re, to] of edits) {
    if (!re.test(text)) throw new Error(`compat: ${file} has no ${re} to patch (not Redis 7.0's suite?)`);
    text = text.replace(re, to);
  }
  writeFileSync(file, text);
}

const ANSI = /\x1b\[[0-9;]*m/g;
const TEST_LINE = /^\d\d:\d\d:\d\d> (.*)$/;

/** Counts one file's OK / FAILED / caught errors from runtest-cluster's output. */
export function parseClusterOutput(text) {
  const r = { ok: 0, err: 0, exception: 0, skipped: 0, ignored: 0, errors: [], exceptions: [], last: null };
  for (const raw of text.replace(ANSI, "").split("\n")) {
    const line = raw.trimEnd();
    const t = TEST_LINE.exec(line);
    if (t) {
      r.last = t[1];
      // Progress dots ("W", ".") may precede the verdict on the same line.
      if (/: [^:]*OK$/.test(line)) r.ok++, (r.last = null);
      else if (line.includes(": FAILED: ")) {
        r.err++;
        r.errors.push(t[1].slice(0, 300));
        r.last = null;
      }
      continue;
    }
    // A server restarted mid-test may print to the terminal before its verdict arrives.
    if (r.last !== null && /OK$/.test(line)) {
      r.ok++;
      r.last = null;
      continue;
    }
    if (line.startsWith("FAILED: caught an error in the test")) {
      r.exception++;
      r.exceptions.push(line.slice(8, 500));
    }
  }
  return r;
}

/**
 * Runs `./runtest-cluster --single <file>` (with --tls: a TLS cluster) in tree; killed (its whole process group: the
 * runner and every instance it started) after timeoutMs or when it ends, so no instance
 * outlives the run (instances.tcl leaves one behind when a start-up times out).
 */
export function runClusterFile(tree, file, { timeoutMs, tls = false }) {
  if (layoutNodes.has(tree)) {
    patch(join(tree, "tests", "cluster", "run.tcl"), [[/set ::instances_count \d+/, `set ::instances_count ${instancesFor(file, layoutNodes.get(tree))}`]]);
  }
  return new Promise((resolve) => {
    const started = Date.now();
    const proc = spawn("./runtest-cluster", ["--single", file, ...(tls ? ["--tls"] : [])], {
      cwd: tree, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TERM: "dumb" },
    });
    let output = "";
    proc.stdout.on("data", (d) => (output += d));
    proc.stderr.on("data", (d) => (output += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(proc.pid);
    }, timeoutMs);
    // Every instance inherits runtest-cluster's stdout, so one it lost track of (a start-up
    // that timed out) would hold the pipe open: the group goes as soon as the runner exits.
    proc.on("exit", () => killGroup(proc.pid));
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      killGroup(proc.pid);
      const r = parseClusterOutput(output);
      if (timedOut && r.last) r.exceptions.push(`hung at: ${r.last}`);
      resolve({ ...r, timedOut, exitCode: code, signal, seconds: (Date.now() - started) / 1000, output });
    });
  });
}

function killGroup(pid) {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}
