// Which commands the kernel times on its own for the slow log and the latency monitor
// (assembly/command-timing.ts): each timed command costs a reading of the host's clock,
// counted here through performance.now, which the kernel imports as its monotonic clock.
import { describe, it, expect, vi, afterAll } from "vitest";
import { feed, shardKernel } from "./feed.js";

const clock = vi.spyOn(performance, "now");
afterAll(() => clock.mockRestore());

/** A 1-shard kernel (SET bound as a write, GET as a fast command) at slow threshold `ms`. */
function kernel(ms: number) {
  const k = shardKernel(0, 1);
  k.bindCommand("get", 2, 8, { firstKey: 1, lastKey: 1, keyStep: 1 });
  k.x.setSlowCommandThreshold(ms);
  return k;
}

/** Clock readings and recorded slow commands of one process() call over `text`. */
function readings(k: ReturnType<typeof kernel>, text: string) {
  const before = clock.mock.calls.length;
  const { out } = feed(k, text);
  return { reads: clock.mock.calls.length - before, slow: k.x.slowCommands(), out };
}

const set = (key: string, value: string, ...opts: string[]) => {
  const argv = ["SET", key, value, ...opts];
  return `*${argv.length}\r\n${argv.map((a) => `$${a.length}\r\n${a}\r\n`).join("")}`;
};

describe("kernel command timing", () => {
  it("from 1 ms up, reads no clock around a short SET with no option, nor around GET", () => {
    const k = kernel(10);
    const r = readings(k, set("a", "1").repeat(16) + "*2\r\n$3\r\nGET\r\n$1\r\na\r\n");
    expect(r.out).toBe("+OK\r\n".repeat(16) + "$1\r\n1\r\n");
    expect(r.reads).toBe(0);
  });

  it("from 1 ms up, times a SET with an option or a value over 16 KB", () => {
    const k = kernel(10);
    expect(readings(k, set("a", "1", "EX", "100").repeat(4)).reads).toBeGreaterThanOrEqual(4);
    expect(readings(k, set("a", "x".repeat(17 * 1024))).reads).toBeGreaterThanOrEqual(1);
    expect(readings(k, set("a", "x".repeat(15 * 1024))).reads).toBe(0);
  });

  it("under 1 ms every command is timed, and a threshold of 0 records each of them", () => {
    const k = kernel(0);
    const r = readings(k, set("a", "1").repeat(4));
    expect(r.reads).toBeGreaterThanOrEqual(4);
    expect(r.slow).toBe(4);
  });

  it("with timing off no clock is read", () => {
    const k = kernel(-1);
    expect(readings(k, set("a", "1", "EX", "100").repeat(4)).reads).toBe(0);
  });
});
