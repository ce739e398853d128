// Log lines in redis-server's format: "pid:M 25 Nov 2026 16:10:01.123 * message" (S for
// a replica's lines; Redis's C, a fork child's, and X, Sentinel's, have no LatticeKV writer).
import { appendFileSync } from "node:fs";
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
export type LogLevel = "debug" | "verbose" | "notice" | "warning";
const LEVEL_CHAR: Record<LogLevel, string> = { debug: ".", verbose: "-", notice: "*", warning: "#" };
const LEVEL_RANK: Record<LogLevel, number> = { debug: 0, verbose: 1, notice: 2, warning: 3 };

export const logSettings = {
  level: "notice" as LogLevel,
  write: (line: string) => process.stdout.write(line),
  /** The letter after the pid (Redis's serverLogRaw): M as a master, S as a replica (src/main.ts sets it). */
  role: (): string => "M",
};

// `logfile` (immutable, like Redis's): every line from then on is appended to the file. The
// CLI calls this before its first line, so the start-up banner lands in the file too.
export function logToFile(path: string): void {
  logSettings.write = (line) => { appendFileSync(path, line); return true; };
}

export function log(level: LogLevel, msg: string): void {
  if (LEVEL_RANK[level] < LEVEL_RANK[logSettings.level]) return;
  const d = new Date();
  const p2 = (n: number) => String(n).padStart(2, "0");
  const ts = `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
  logSettings.write(`${process.pid}:${logSettings.role()} ${ts} ${LEVEL_CHAR[level]} ${msg}\n`);
}
