// The watchdog's timer thread (src/server/watchdog.ts has the why). It plays the part of
// Redis's SIGALRM handler, watchdogSignalHandler: once the deadline the main thread armed has
// passed without a re-arm, it logs, as serverLogFromHandler does,
//   <pid>:signal-handler (<unixtime>) \n--- WATCHDOG TIMER EXPIRED ---
// then the main thread's stack (logStackTrace), then "--------\n". It fires at most once per
// arming (the itimer is one-shot) and writes the log itself, with synchronous writes to the
// log file or to fd 1, because the main thread it reports on may be the one that is stuck.
import { workerData } from "node:worker_threads";
import { Session } from "node:inspector";
import { appendFileSync, writeSync } from "node:fs";

const WD_GENERATION = 0;
/**
 * How long the main thread may take to stop for its stack to be read (it stops at its next
 * interrupt check; on a loaded machine the inspector's first use takes a while).
 */
const STACK_WAIT_MS = 3000;

// Atomics.waitAsync (V8, Node 16+) is newer than the TypeScript lib this project targets.
type WaitAsync = (a: Int32Array, i: number, v: number, t?: number) => { async: boolean; value: Promise<string> | string };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

interface WatchdogData { sab: SharedArrayBuffer; logfile: string }
const data = workerData as WatchdogData;
const gen = new Int32Array(data.sab, 0, 1);
const deadline = new BigInt64Array(data.sab, 8, 1);

/** serverLogFromHandler: "pid:signal-handler (unixtime) msg\n" to the log file, or stdout. */
function logFromHandler(msg: string): void {
  const line = `${process.pid}:signal-handler (${Math.floor(Date.now() / 1000)}) ${msg}\n`;
  try {
    if (data.logfile !== "") appendFileSync(data.logfile, line);
    else writeSync(1, line);
  } catch { /* as Redis: a log that cannot be written is skipped */ }
}

/** Raw lines (logStackTrace writes straight to the log's file descriptor, no prefix). */
function logRaw(text: string): void {
  try {
    if (data.logfile !== "") appendFileSync(data.logfile, text);
    else writeSync(1, text);
  } catch { /* skipped */ }
}

interface CallFrame { functionName: string; url: string; location: { scriptId: string; lineNumber: number; columnNumber: number } }

/**
 * The main thread's JavaScript stack, taken by pausing it through the inspector and resumed at
 * once. Resolves null when it does not stop within STACK_WAIT_MS (blocked inside native code).
 */
function mainThreadStack(): Promise<string[] | null> {
  return new Promise((resolve) => {
    const session = new Session();
    let settled = false;
    const finish = (frames: string[] | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // Disconnecting also resumes the main thread if a pause arrives after the timeout.
      session.post("Debugger.disable", () => { try { session.disconnect(); } catch { /* gone */ } });
      resolve(frames);
    };
    const timer = setTimeout(() => finish(null), STACK_WAIT_MS);
    try {
      session.connectToMainThread();
    } catch {
      finish(null);
      return;
    }
    // A frame of an ES module has no url of its own: Debugger.enable names every script first.
    const scripts = new Map<string, string>();
    session.on("Debugger.scriptParsed", (m) => { scripts.set(m.params.scriptId, m.params.url); });
    session.on("Debugger.paused", (m) => {
      const frames = (m.params.callFrames as CallFrame[]).map((f) => {
        const url = f.url || scripts.get(f.location.scriptId) || "";
        const where = `${url.replace(/^file:\/\//, "")}:${f.location.lineNumber + 1}:${f.location.columnNumber + 1}`;
        return `${f.functionName || "<anonymous>"} (${where})`;
      });
      session.post("Debugger.resume", () => finish(frames));
    });
    // Both at once: the main thread handles them in one interrupt (one round trip fewer).
    session.post("Debugger.enable", (err) => { if (err) finish(null); });
    session.post("Debugger.pause", (err) => { if (err) finish(null); });
  });
}

/** watchdogSignalHandler. */
async function expired(): Promise<void> {
  logFromHandler("\n--- WATCHDOG TIMER EXPIRED ---");
  const frames = await mainThreadStack();
  if (frames === null) {
    logFromHandler("Sorry: no support for backtrace().");
  } else {
    logRaw("\n------ STACK TRACE ------\n\nBacktrace:\n" + frames.join("\n") + "\n");
  }
  logFromHandler("--------\n");
}

async function run(): Promise<void> {
  let firedGen = -1;
  for (;;) {
    const g = Atomics.load(gen, WD_GENERATION);
    const due = Number(Atomics.load(deadline, 0));
    let wait: number | undefined;
    if (due !== 0 && g !== firedGen) {
      const left = due - Date.now();
      if (left <= 0) {
        firedGen = g;
        await expired();
        continue;
      }
      wait = left;
    }
    // Until the deadline, or until the main thread re-arms or disarms (a new generation).
    const r = waitAsync(gen, WD_GENERATION, g, wait);
    if (r.async) await r.value;
  }
}

// A pending Atomics.waitAsync is no libuv handle: without one the worker's event loop would
// end at once. This timer only keeps it running (the worker itself is unref'd).
setInterval(() => undefined, 1 << 30);
void run();
