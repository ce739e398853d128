// Runs one Tcl unit in external mode against a server and counts its outcome lines.
import { spawn } from "node:child_process";
import { RUNTEST_FLAGS, HARNESS_FLAGS } from "./units.mjs";

/**
 * Runs `./runtest --single unit/<unit>` in suiteRoot: in external mode against the server at
 * host:port, or, with harness (port omitted), letting runtest start src/redis-server itself. The run is killed (whole process
 * group: runtest starts a separate Tcl client) after timeoutMs, so a hang cannot stall CI.
 * Resolves to the counts and the full output.
 */
export function runUnit(suiteRoot, unit, { host = "127.0.0.1", port, baseport, timeoutMs, harness = false, tls = false }) {
  // Units are under tests/unit/ except the integration ones (named "integration/rdb").
  const single = unit.startsWith("integration/") ? unit : `unit/${unit}`;
  const args = harness
    ? ["--single", single, ...HARNESS_FLAGS, ...(tls ? ["--tls"] : []), "--baseport", String(baseport)]
    : ["--host", host, "--port", String(port), "--single", single, ...RUNTEST_FLAGS, "--baseport", String(baseport)];
  return new Promise((resolve) => {
    const started = Date.now();
    // TERM=dumb: runtest colours its tags only on xterm-like terminals.
    const proc = spawn("./runtest", args, {
      cwd: suiteRoot,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, TERM: "dumb" },
    });
    let output = "";
    proc.stdout.on("data", (d) => (output += d));
    proc.stderr.on("data", (d) => (output += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(proc.pid);
    }, timeoutMs);
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      // The Tcl client may outlive runtest after an abort; its group goes with it.
      killGroup(proc.pid);
      resolve({ ...parseOutput(output), timedOut, exitCode: code, signal, seconds: (Date.now() - started) / 1000, output });
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

const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Counts [ok], [err] and [exception] lines; keeps the names of failures, each [err] with the
 * line after it (the test suite's reason: "Expected ... (context: ...)"), so a CI log that
 * shows only compat's summary still says what failed and how.
 */
export function parseOutput(text) {
  const r = { ok: 0, err: 0, exception: 0, skipped: 0, ignored: 0, errors: [], exceptions: [] };
  const lines = text.replace(ANSI, "").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trimEnd();
    if (line.startsWith("[ok]: ")) r.ok++;
    else if (line.startsWith("[err]: ")) {
      r.err++;
      const reason = (lines[i + 1] ?? "").trim();
      r.errors.push(reason && !reason.startsWith("[") ? `${line.slice(7)}: ${reason.slice(0, 400)}` : line.slice(7));
    } else if (line.startsWith("[exception]: ")) {
      r.exception++;
      r.exceptions.push(line.slice(13));
    } else if (line.startsWith("[skip]: ")) r.skipped++;
    else if (line.startsWith("[ignore]: ")) r.ignored++;
    else if (line.startsWith("[TIMEOUT]")) {
      r.exception++;
      r.exceptions.push("runtest timeout (no progress)");
    }
  }
  return r;
}
