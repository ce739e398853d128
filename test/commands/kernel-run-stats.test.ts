// recordKernelRun (src/commands/stats.ts): the commands of one kernel run share its time, and
// a run of the same command is recorded at once; each call must still count once in the
// command's usec, latency histogram and afterCall, and the last command is the run's last.
import { describe, it, expect } from "vitest";
import { recordKernelRun, LatencyHistogram } from "../../src/commands/stats.js";
import type { CommandSpec } from "../../src/commands/table.js";
import type { Server } from "../../src/server/server.js";

function spec(name: string): CommandSpec & { after: number } {
  const s = { name, usec: 0, after: 0, latency: undefined as LatencyHistogram | undefined } as unknown as CommandSpec & { after: number };
  s.afterCall = () => { s.after++; };
  return s;
}

describe("recordKernelRun", () => {
  it("counts every call of runs of the same command and of interleaved ones", () => {
    const get = spec("get"), set = spec("set");
    const server = { kernelSpecs: [undefined, get, set], latencyTracking: true } as unknown as Server;
    const ran = [1, 1, 2, 1, 1, 1, 2, 0];
    const mem = new Uint8Array(64);
    ran.forEach((v, i) => { mem[8 + 2 * i] = v & 255; mem[9 + 2 * i] = v >> 8; });
    const x = { ranCommands: () => ran.length, ranCommandsPtr: () => 8 };
    const last = recordKernelRun(server, x, mem, 0.008); // 8 commands in 8 µs: 1 µs each
    expect(last).toBe(set); // index 0 has no spec: the last one that has
    expect(get.latency!.count).toBe(5);
    expect(set.latency!.count).toBe(2);
    expect(get.after).toBe(5);
    expect(set.after).toBe(2);
    expect(get.usec).toBeCloseTo(5, 9);
    expect(set.usec).toBeCloseTo(2, 9);
    // Every value landed in the 1 µs bucket: p100 reports that bucket for both.
    expect(get.latency!.valueAt(100)).toBe(set.latency!.valueAt(100));
  });
});
