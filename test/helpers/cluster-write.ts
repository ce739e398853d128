// Writes through an ioredis Cluster client while the cluster changes under it.
import { expect } from "vitest";
import type { Cluster } from "ioredis";

/** Retries a cluster write until it is acknowledged (a slot's node may be failing over or restarting). */
export async function setAcked(cluster: Cluster, key: string, value: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      expect(await cluster.set(key, value)).toBe("OK");
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Writers that keep setting keys through an ioredis Cluster client while the cluster changes
 * under them (a reshard, a node killed and restarted), each recording what was acknowledged.
 * Writer w sets keyOf(w, n) for n = 0, 1, 2, ..., one write in flight at a time, each write a
 * new value: a key's writes are ordered, so its last acknowledged value is known. A write that
 * fails (connection lost, too many redirections, -CLUSTERDOWN) may or may not have been applied:
 * its value is kept as a possible later value of the key until the key's next acknowledged write.
 */
export class Writers {
  /** Each key's last acknowledged value. */
  readonly acked = new Map<string, string>();
  /** Values of writes that failed after the key's last acknowledged one. */
  private readonly unsure = new Map<string, string[]>();
  /** Writes started by each writer (its n). */
  readonly started: number[];
  acks = 0;
  failures = 0;
  lastFailure = "";
  /** The first failures: when (Date.now()), the key and the error. */
  readonly failureLog: { at: number; key: string; error: string }[] = [];
  private stopping = false;
  private readonly done: Promise<void[]>;

  constructor(cluster: Cluster, writers: number, keyOf: (w: number, n: number) => string) {
    this.started = new Array(writers).fill(0);
    this.done = Promise.all(this.started.map((_, w) => this.run(cluster, w, keyOf)));
  }

  private async run(cluster: Cluster, w: number, keyOf: (w: number, n: number) => string): Promise<void> {
    while (!this.stopping) {
      const n = this.started[w]++;
      const key = keyOf(w, n);
      const value = `w${w}n${n}`;
      try {
        const reply = await cluster.set(key, value);
        if (reply !== "OK") throw new Error(`SET replied ${String(reply)}`);
        this.acked.set(key, value);
        this.unsure.delete(key);
        this.acks++;
      } catch (e) {
        this.failures++;
        this.lastFailure = (e as Error).message;
        if (this.failureLog.length < 20) this.failureLog.push({ at: Date.now(), key, error: this.lastFailure });
        if (!this.unsure.has(key)) this.unsure.set(key, []);
        this.unsure.get(key)!.push(value);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Waits until every writer has started `n` more writes than `since` (its `started` then). */
  async progressed(what: string, since: number[], n: number, ms = 60_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.started.some((s, w) => s < since[w] + n)) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}: started ${this.started.join(",")} since ${since.join(",")}, ` +
          `${this.acks} acknowledged, ${this.failures} failed (last: ${this.lastFailure})`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.done;
  }

  /**
   * Acknowledged keys that `read` (another client, after stop()) does not find holding their
   * last acknowledged value (nor the value of a failed write after it), as "key: got, want".
   */
  async lost(read: Cluster): Promise<string[]> {
    const keys = [...this.acked.keys()];
    const bad: string[] = [];
    for (let i = 0; i < keys.length; i += 500) {
      const chunk = keys.slice(i, i + 500);
      const got = await Promise.all(chunk.map((k) => read.get(k)));
      chunk.forEach((k, j) => {
        const want = this.acked.get(k)!;
        if (got[j] !== want && !this.unsure.get(k)?.includes(got[j] as string)) bad.push(`${k}: ${String(got[j])}, want ${want}`);
      });
    }
    return bad;
  }
}
