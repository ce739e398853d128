// Redis's software watchdog (debug.c: applyWatchdogPeriod, watchdogScheduleSignal; server.c:
// serverCron re-arms it on every tick). `watchdog-period` N (ms, 0 = off) arms a one-shot
// timer that serverCron pushes back by N on every tick; when the main thread does not come
// back to serverCron within N ms (DEBUG SLEEP, a long command, a blocking load: Redis runs no
// serverCron while loading or running a busy script, and neither do we) the timer expires and
// the log gets "--- WATCHDOG TIMER EXPIRED ---" with a stack trace of what the main thread was
// doing.
//
// Redis uses setitimer + SIGALRM. A Node process has no signal that interrupts its own main
// thread, so the timer lives in a worker thread (src/server/watchdog-worker.ts): the main
// thread writes the deadline into a SharedArrayBuffer and bumps a generation counter; the
// worker sleeps until the deadline or the next generation, and fires once per generation, as
// the one-shot itimer does. The worker takes the main thread's stack through the inspector
// (Debugger.pause from a worker session interrupts even Atomics.wait or a WASM loop).
import { Worker } from "node:worker_threads";
import { hostModuleFile } from "../util/package-files.js";
import type { Server } from "./server.js";

/** Layout of the shared words: the generation (Int32) and the deadline in ms since the epoch (BigInt64, 0 = disarmed). */
export const WD_GENERATION = 0;
export const WD_DEADLINE = 1;

export class Watchdog {
  private worker: Worker | null = null;
  private readonly sab = new SharedArrayBuffer(16);
  private readonly gen = new Int32Array(this.sab, 0, 1);
  private readonly deadline = new BigInt64Array(this.sab, 8, 1);
  /** The effective period in ms (0: off), after applyWatchdogPeriod's minimum. */
  period = 0;

  constructor(private readonly server: Server) {}

  /**
   * Redis's applyWatchdogPeriod: 0 stops the timer; otherwise the period is raised to two
   * serverCron intervals ((1000/hz)*2, the config keeps the raised value, as CONFIG GET
   * shows in Redis) and the timer is armed at once.
   */
  apply(): void {
    const cfg = this.server.config;
    let period = cfg.getNumber("watchdog-period");
    if (period === 0) {
      this.period = 0;
      this.schedule(0);
      return;
    }
    const hz = Math.max(1, Math.min(500, cfg.getNumber("hz")));
    const minPeriod = Math.trunc(1000 / hz) * 2;
    if (period < minPeriod) {
      period = minPeriod;
      cfg.setByServer("watchdog-period", String(period));
    }
    this.period = period;
    this.ensureWorker();
    this.schedule(period);
  }

  /** serverCron's first step: the timer is pushed back by one period. */
  rearm(): void {
    if (this.period !== 0) this.schedule(this.period);
  }

  /** Redis's watchdogScheduleSignal: (re)arms the one-shot timer `period` ms from now; 0 disarms it. */
  private schedule(period: number): void {
    Atomics.store(this.deadline, 0, period === 0 ? 0n : BigInt(Date.now() + period));
    Atomics.add(this.gen, WD_GENERATION, 1);
    Atomics.notify(this.gen, WD_GENERATION);
  }

  private ensureWorker(): void {
    if (this.worker) return;
    const cfg = this.server.config;
    const worker = new Worker(hostModuleFile("server/watchdog-worker"), {
      // LatticeKV never daemonizes, so serverLogFromHandler's "no stdout when daemonized"
      // does not arise: the log file, or stdout.
      workerData: { sab: this.sab, logfile: cfg.get("logfile") },
    });
    // The watchdog never keeps the process alive.
    worker.unref();
    worker.on("error", () => { if (this.worker === worker) this.worker = null; });
    worker.on("exit", () => { if (this.worker === worker) this.worker = null; });
    this.worker = worker;
  }

  close(): void {
    this.schedule(0);
    void this.worker?.terminate();
    this.worker = null;
  }
}

const states = new WeakMap<Server, Watchdog>();

export function watchdogOf(server: Server): Watchdog {
  let w = states.get(server);
  if (!w) states.set(server, (w = new Watchdog(server)));
  return w;
}

/** Wires watchdog-period to the server (its minimum is read from hz when it is set, as in Redis). */
export function installWatchdog(server: Server): void {
  const w = watchdogOf(server);
  server.config.onApply("watchdog-period", () => w.apply());
}
