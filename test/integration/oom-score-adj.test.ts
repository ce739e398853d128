// oom-score-adj (src/server/oom-score-adj.ts): the OOM killer's score of the server and of its
// background child follows the role, as Redis's setOOMScoreAdj writes it.
import { describe, it, expect } from "vitest";
import { readFileSync } from "node:fs";
import { useServer } from "../helpers/server.js";
import { childrenOf } from "../helpers/proc.js";
import { until } from "../helpers/wait.js";
import type Redis from "ioredis";
import type { RunningServer } from "../helpers/server.js";

const score = (pid: number) => Number(readFileSync(`/proc/${pid}/oom_score_adj`, "latin1").trim());

describe.runIf(process.platform === "linux")("oom-score-adj", () => {
  let srv: RunningServer, r: Redis;
  useServer((s, c) => { srv = s; r = c; });

  it("relative scores by role (master, replica, background child), absolute, and the original restored on no", async () => {
    const pid = srv.proc.pid!;
    const base = score(pid);
    await r.config("SET", "oom-score-adj-values", "10 20 30");
    await r.config("SET", "oom-score-adj", "yes");
    expect(score(pid)).toBe(base + 10);
    await r.config("SET", "oom-score-adj-values", "15 20 30");
    expect(score(pid)).toBe(base + 15);
    await r.replicaof("127.0.0.1", "1");
    expect(score(pid)).toBe(base + 20);
    await r.replicaof("NO", "ONE");
    expect(score(pid)).toBe(base + 15);
    await r.set("k", "v");
    await r.config("SET", "rdb-key-save-delay", "1000000");
    await r.bgsave();
    let child = 0;
    await until("the BGSAVE child", () => (child = childrenOf(pid)[0] ?? 0) > 0);
    await until("the child's score", () => score(child) === base + 30);
    await r.config("SET", "rdb-key-save-delay", "0");
    await r.config("SET", "oom-score-adj", "absolute");
    expect(score(pid)).toBe(15);
    await r.config("SET", "oom-score-adj", "no");
    expect(score(pid)).toBe(base);
    await expect(r.config("SET", "oom-score-adj-values", "-2001 0 0")).rejects.toThrow("must be between -2000 and 2000");
  });
});
