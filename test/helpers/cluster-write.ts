// Writes through an ioredis Cluster client (or a MemberFirstClient) while the cluster changes under it.
import { expect } from "vitest";
import { Redis, type Cluster } from "ioredis";

/** What Writers writes through: an ioredis Cluster, or a MemberFirstClient. */
export interface SetClient { set(key: string, value: string): Promise<unknown> }

/**
 * Sends every write first to the node `home(key)` names, then follows that command's -MOVED
 * and -ASK like `redis-cli -c`, keeping no slot table: so each write starts at the member a
 * test picks (an active-active group's member that is not running a migration), where an
 * ioredis Cluster client would go wherever its last CLUSTER SLOTS pointed.
 */
export class MemberFirstClient implements SetClient {
  private readonly conns = new Map<string, Redis>();
  redirects = 0;

  constructor(private readonly home: (key: string) => number) {}

  private conn(addr: string): Redis {
    let r = this.conns.get(addr);
    if (!r) {
      const [host, port] = [addr.slice(0, addr.lastIndexOf(":")), Number(addr.slice(addr.lastIndexOf(":") + 1))];
      r = new Redis({ host, port, maxRetriesPerRequest: 2, protocol: 2 } as never);
      r.on("error", () => {}); // (a node killed by the test: the command fails, the writer counts it)
      this.conns.set(addr, r);
    }
    return r;
  }

  async set(key: string, value: string): Promise<unknown> {
    let addr = `127.0.0.1:${this.home(key)}`;
    let asking = false;
    for (let hop = 0; hop < 16; hop++) {
      const r = this.conn(addr);
      try {
        if (!asking) return await r.set(key, value);
        const replies = (await r.pipeline().asking().set(key, value).exec())!;
        if (replies[1][0]) throw replies[1][0];
        return replies[1][1];
      } catch (e) {
        const m = /^(MOVED|ASK) \d+ (\S+)/.exec((e as Error).message);
        if (m) {
          this.redirects++;
          addr = m[2];
          asking = m[1] === "ASK";
          continue;
        }
        if (!/^(TRYAGAIN|CLUSTERDOWN|LOADING)/.test((e as Error).message)) throw e;
        asking = false;
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    throw new Error(`too many redirections for ${key}`);
  }

  disconnect(): void {
    for (const r of this.conns.values()) r.disconnect();
  }
}

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

  constructor(cluster: SetClient, writers: number, keyOf: (w: number, n: number) => string) {
    this.started = new Array(writers).fill(0);
    this.done = Promise.all(this.started.map((_, w) => this.run(cluster, w, keyOf)));
  }

  private async run(cluster: SetClient, w: number, keyOf: (w: number, n: number) => string): Promise<void> {
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
