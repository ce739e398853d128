// The bug report Redis writes to its log when it crashes (debug.c: bugReportStart,
// logStackTrace, printCrashReport, bugReportEnd), for the ways LatticeKV can crash: a fatal
// signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, as setupSigSegvAction catches), a
// JavaScript exception nothing caught, and DEBUG SEGFAULT / PANIC / ASSERT. The stack trace is
// the JavaScript stack where the crash was noticed (for a signal sent from outside, the
// signal handler's own; for DEBUG and exceptions, the code that failed). Then the process dies
// as Redis's does: by the same signal re-raised with its default action, or by abort().
import { LATTICEKV_VERSION, type Server } from "./server.js";
import type { Client } from "./client.js";
import { log, logSettings } from "./log.js";
import { genInfo } from "../commands/info.js";
import { clientInfoString } from "../commands/client-cmd.js";
import { constants } from "node:os";

/** The client whose command crashed the server, and that command. */
export interface Current { client: Client; argv: Buffer[] }

const FATAL_SIGNALS: NodeJS.Signals[] = ["SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT"];

let reportStarted = false;

/** Installs the fatal-signal and uncaught-exception handlers (Redis's setupSigSegvAction). */
export function installCrashHandlers(server: Server): void {
  for (const sig of FATAL_SIGNALS) {
    process.on(sig, () => crashBySignal(server, sig, new Error().stack ?? ""));
  }
  process.on("uncaughtException", (e) => {
    bugReport(server, [`Guru Meditation: uncaught exception: ${e?.message ?? String(e)}`], e?.stack ?? String(e));
    process.abort();
  });
}

/** A fatal signal: the report, then the default action of the same signal (core, exit status). */
export function crashBySignal(server: Server, sig: NodeJS.Signals, stack: string, current?: Current): never {
  bugReport(server, [`LatticeKV ${LATTICEKV_VERSION} crashed by signal: ${constants.signals[sig]}, si_code: 0`], stack, current);
  process.removeAllListeners(sig);
  process.kill(process.pid, sig);
  // (Delivered asynchronously: nothing else may run in between.)
  process.abort();
}

/** serverPanic: "Guru Meditation", the report, abort(). */
export function panic(server: Server, msg: string, current?: Current): never {
  bugReport(server, ["------------------------------------------------",
    "!!! Software Failure. Press left mouse button to continue", `Guru Meditation: ${msg}`], new Error().stack ?? "", current);
  process.removeAllListeners("SIGABRT");
  process.abort();
}

/** serverAssert: "ASSERTION FAILED", the report, abort(). */
export function assertionFailed(server: Server, expr: string, current?: Current): never {
  bugReport(server, ["=== ASSERTION FAILED ===", `==> '${expr}' is not true`], new Error().stack ?? "", current);
  process.removeAllListeners("SIGABRT");
  process.abort();
}

/** Writes the report (once: a crash while reporting only adds its cause). */
function bugReport(server: Server, headline: string[], stack: string, current?: Current): void {
  const raw = (text: string) => logSettings.write(text);
  const first = !reportStarted;
  // Redis's own header and footer: its Tcl harness (instances.tcl log_crashes, util.tcl
  // crashlog_from_file) and users' log tooling look for "REDIS BUG REPORT START".
  if (first) raw("\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n");
  reportStarted = true;
  for (const line of headline) log("warning", line);
  if (!first || !server.config.getBool("crash-log-enabled")) return end(raw);
  raw("\n------ STACK TRACE ------\n");
  raw(stack.split("\n").slice(1).map((l) => l.trim()).join("\n") + "\n");
  // Each part on its own: the state that crashed may make one of them fail too.
  section(raw, "INFO OUTPUT", () => genInfo(server, ["all"]).replace(/\r\n/g, "\n"));
  section(raw, "CLIENT LIST OUTPUT", () => [...server.clients.values()].map((c) => clientInfoString(server, c)).join("\n"));
  if (current) {
    section(raw, "CURRENT CLIENT INFO", () => clientInfoString(server, current.client) + "\n" +
      current.argv.map((a, j) => `argv[${j}]: '${JSON.stringify(a.toString("latin1"))}'`).join("\n"));
  }
  end(raw);
}

function section(raw: (t: string) => void, title: string, body: () => string): void {
  raw(`\n------ ${title} ------\n`);
  try {
    raw(body() + "\n");
  } catch (e) {
    raw(`(failed: ${(e as Error).message})\n`);
  }
}

function end(raw: (t: string) => void): void {
  raw("\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n" +
    "       Please report the crash by opening an issue with LatticeKV,\n" +
    "       with the report above and the commands that led to it.\n\n");
}
