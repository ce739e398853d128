// Checks a workload's histories and condenses the outcome into one table row.
import type { CounterInput, CounterOutput, Operation, RegisterInput, RegisterOutput, RegisterValue } from "./history.js";
import { checkHistory, type CheckOptions, type CheckResult } from "./linearizability.js";
import { counterModel, registerModel } from "./models.js";
import { renderHtml, renderText } from "./render.js";
import type { WorkloadRun } from "./workload.js";

export interface Summary {
  nodes: number;
  seconds: number;
  ops: number;
  readsOk: number;
  writesOk: number;
  casOk: number;
  casFailed: number;
  incrsOk: number;
  /** Ops that never answered (outcome unknown) and ops refused with an error (no effect). */
  unknown: number;
  errors: number;
  linearizable: "yes" | "no" | "unknown";
  /** Keys whose history is not linearizable (each is one anomaly with its own fragment). */
  anomalies: number;
  checkMs: number;
}

export interface CheckedRun {
  summary: Summary;
  register: CheckResult<RegisterValue, RegisterInput, RegisterOutput>;
  counter: CheckResult<number, CounterInput, CounterOutput>;
}

export function checkRun(run: WorkloadRun, nodes: number, opts: CheckOptions = {}): CheckedRun {
  const register = checkHistory(registerModel, run.register, opts);
  const counter = checkHistory(counterModel, run.counter, opts);
  const all: Operation<{ f: string }, unknown>[] = [...run.register, ...run.counter];
  const done = (f: string, ok?: (o: Operation<{ f: string }, unknown>) => boolean) =>
    all.filter((o) => o.input.f === f && o.ret !== undefined && !o.failed && (!ok || ok(o))).length;
  const verdicts = [register.verdict, counter.verdict];
  return {
    register,
    counter,
    summary: {
      nodes,
      seconds: run.ms / 1000,
      ops: all.length,
      readsOk: done("read"),
      writesOk: done("write"),
      casOk: done("cas", (o) => o.output === true),
      casFailed: done("cas", (o) => o.output === false),
      incrsOk: done("incr"),
      unknown: all.filter((o) => o.ret === undefined).length,
      errors: all.filter((o) => o.failed).length,
      linearizable: verdicts.includes("illegal") ? "no" : verdicts.includes("unknown") ? "unknown" : "yes",
      anomalies: [...register.partitions, ...counter.partitions].filter((p) => p.verdict === "illegal").length,
      checkMs: register.ms + counter.ms,
    },
  };
}

const COLUMNS: [string, (s: Summary) => string][] = [
  ["nodes", (s) => String(s.nodes)],
  ["seconds", (s) => s.seconds.toFixed(1)],
  ["ops", (s) => String(s.ops)],
  ["reads ok", (s) => String(s.readsOk)],
  ["writes ok", (s) => String(s.writesOk)],
  ["CAS ok/fail", (s) => `${s.casOk}/${s.casFailed}`],
  ["incr ok", (s) => String(s.incrsOk)],
  ["unknown", (s) => String(s.unknown)],
  ["errors", (s) => String(s.errors)],
  ["linearizable", (s) => s.linearizable],
  ["anomalies", (s) => String(s.anomalies)],
  ["check ms", (s) => s.checkMs.toFixed(0)],
];

/** A fixed-width table, one row per run. */
export function formatTable(rows: Summary[]): string {
  const cells = [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => f(r)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((c) => c[i].length)));
  const line = (c: string[]) => "| " + c.map((x, i) => x.padStart(widths[i])).join(" | ") + " |";
  const sep = "|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|";
  return [line(cells[0]), sep, ...cells.slice(1).map(line)].join("\n");
}

/** Text timelines of every failing key. */
export function describeFailures(c: CheckedRun): string {
  const parts: string[] = [];
  for (const p of c.register.partitions) if (p.verdict === "illegal") parts.push(renderText(registerModel, p));
  for (const p of c.counter.partitions) if (p.verdict === "illegal") parts.push(renderText(counterModel, p));
  for (const p of [...c.register.partitions, ...c.counter.partitions])
    if (p.verdict === "unknown") parts.push(`key ${JSON.stringify(p.key)}: the search gave up (too many interleavings); verdict unknown`);
  return parts.join("\n\n");
}

/** One HTML page with every failing key's timeline. */
export function failuresHtml(c: CheckedRun, title: string): string {
  const reg = c.register.partitions.filter((p) => p.verdict === "illegal");
  const ctr = c.counter.partitions.filter((p) => p.verdict === "illegal");
  const page = renderHtml(registerModel, reg, title);
  if (!ctr.length) return page;
  // Counter sections rendered with their own model, spliced into the same page.
  const counterPage = renderHtml(counterModel, ctr, title);
  const body = counterPage.slice(counterPage.indexOf("<section>"), counterPage.lastIndexOf("</body>"));
  return page.replace("</body>", `${body}</body>`);
}
