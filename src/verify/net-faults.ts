// Network faults between replicating nodes, without touching the replication code: each
// node reaches each peer's bus through a proxy of ours that, from a seeded PRNG, delays
// chunks (order kept, as TCP keeps it), resets connections (the bus must reconnect and
// gossip resend what was not acknowledged), and partitions the link for a while (new
// connections are cut at once). Used by `npm run verify -- --nodes N --buggify`.
import net from "node:net";
import { fork, type Rand } from "./prng.js";

export interface LinkFaultOptions {
  /** Chance a chunk is held back, and for how long (ms). */
  delayProbability: number;
  maxDelayMs: number;
  /** Chance a chunk resets the connection instead of passing. */
  resetProbability: number;
  /** Chance, every 500 ms, that the link goes down, and for how long at most (ms). */
  partitionProbability: number;
  maxPartitionMs: number;
}

export const DEFAULT_LINK_FAULTS: LinkFaultOptions = {
  delayProbability: 0.2,
  maxDelayMs: 50,
  resetProbability: 0.01,
  partitionProbability: 0.05,
  maxPartitionMs: 1500,
};

export interface LinkStats {
  chunks: number;
  delayed: number;
  resets: number;
  partitions: number;
}

export class FaultyLink {
  readonly stats: LinkStats = { chunks: 0, delayed: 0, resets: 0, partitions: 0 };
  port = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private downUntil = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly rand: Rand;

  constructor(private readonly target: number, seed: number, stream: number, private o: LinkFaultOptions = DEFAULT_LINK_FAULTS) {
    this.rand = fork(seed, 1000 + stream);
    this.server = net.createServer((down) => this.accept(down));
    this.timer = setInterval(() => {
      if (Date.now() < this.downUntil || this.rand() >= o.partitionProbability) return;
      this.downUntil = Date.now() + 100 + this.rand() * o.maxPartitionMs;
      this.stats.partitions++;
      for (const s of this.sockets) s.destroy();
    }, 500);
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, "127.0.0.1", () => resolve((this.port = (this.server.address() as net.AddressInfo).port))));
  }

  private accept(down: net.Socket): void {
    if (Date.now() < this.downUntil) {
      down.destroy();
      return;
    }
    const up = net.connect(this.target, "127.0.0.1");
    for (const s of [down, up]) {
      this.sockets.add(s);
      s.on("error", () => {});
      s.on("close", () => {
        this.sockets.delete(s);
        down.destroy();
        up.destroy();
      });
    }
    this.pipe(down, up);
    this.pipe(up, down);
  }

  /** Forwards from → to, chunk by chunk, in order, with seeded delays and resets. */
  private pipe(from: net.Socket, to: net.Socket): void {
    let chain = Promise.resolve();
    from.on("data", (chunk: Buffer) => {
      this.stats.chunks++;
      if (this.rand() < this.o.resetProbability) {
        this.stats.resets++;
        from.destroy();
        to.destroy();
        return;
      }
      const delay = this.rand() < this.o.delayProbability ? 1 + this.rand() * this.o.maxDelayMs : 0;
      if (delay) this.stats.delayed++;
      chain = chain.then(
        () =>
          new Promise<void>((r) =>
            delay
              ? setTimeout(() => {
                  if (!to.destroyed) to.write(chunk);
                  r();
                }, delay)
              : (to.destroyed || to.write(chunk), r()),
          ),
      );
    });
  }

  /** Ends every fault (before waiting for convergence: quiescence means a healed network). */
  heal(): void {
    clearInterval(this.timer);
    this.downUntil = 0;
    this.o = { ...this.o, delayProbability: 0, resetProbability: 0 };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}
