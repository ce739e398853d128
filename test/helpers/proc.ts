// A process's children, read from /proc as tests/util.tcl's get_child_pid finds them (pgrep -P).
import { readdirSync, readFileSync } from "node:fs";

export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "latin1");
      // pid (comm) state ppid ...: comm may hold spaces, so split after its ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(d));
    } catch { /* exited meanwhile */ }
  }
  return out;
}
