// oom-score-adj / oom-score-adj-values (Redis's setOOMScoreAdj, server.c): the Linux OOM
// killer's preference for this process by role, written to /proc/<pid>/oom_score_adj. The
// values are for a master, a replica and a background child; "relative" adds them to the score
// the process had when LatticeKV first took control (restored when oom-score-adj goes back to
// no), "absolute" writes them as they are. The background child is the writer process of
// BGSAVE / BGREWRITEAOF (src/persistence/child-writer.ts): Redis's fork child sets its own
// score; here the server writes it for the child right after starting it.
import { readFileSync, writeFileSync } from "node:fs";
import type { Server } from "./server.js";
import { log } from "./log.js";
import { replicationOf } from "../repl/replication.js";

export const OOM_MASTER = 0;
export const OOM_REPLICA = 1;
export const OOM_BGCHILD = 2;

/** The score this process had before LatticeKV adjusted it; null while not adjusted. */
let base: number | null = null;

function values(server: Server): number[] {
  return server.config.getString("oom-score-adj-values").trim().split(/\s+/).map(Number);
}

/** The score for a class, or null when oom-score-adj is off. */
function scoreFor(server: Server, processClass: number): number | null {
  const mode = server.config.getString("oom-score-adj");
  if (mode === "no") return null;
  let val = values(server)[processClass];
  if (mode !== "absolute") val += base ?? 0;
  return Math.max(-1000, Math.min(1000, val));
}

/**
 * Sets this process's score for its role (master or replica), or restores the original one
 * when oom-score-adj was turned off. False (and a log line) when /proc refused.
 */
export function setOomScoreAdj(server: Server): boolean {
  if (process.platform !== "linux") return true;
  try {
    let val: number;
    if (server.config.getString("oom-score-adj") !== "no") {
      if (base === null) base = Number(readFileSync("/proc/self/oom_score_adj", "latin1").trim());
      val = scoreFor(server, replicationOf(server).link ? OOM_REPLICA : OOM_MASTER)!;
    } else if (base !== null) {
      val = base;
      base = null;
    } else {
      return true;
    }
    writeFileSync("/proc/self/oom_score_adj", `${val}\n`);
    return true;
  } catch (e) {
    log("warning", `Unable to write oom_score_adj: ${(e as Error).message}`);
    return false;
  }
}

/** A background child just started: its score is the child class's. */
export function setChildOomScoreAdj(server: Server, pid: number): void {
  if (process.platform !== "linux" || pid <= 0 || base === null) return;
  const val = scoreFor(server, OOM_BGCHILD);
  if (val === null) return;
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, `${val}\n`);
  } catch (e) {
    log("warning", `Unable to write oom_score_adj of the background child: ${(e as Error).message}`);
  }
}
