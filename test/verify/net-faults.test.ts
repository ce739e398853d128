// FaultyLink, the proxy multi-node --buggify runs put between nodes: bytes pass in order
// even when chunks are held back, resets cut both sides, and heal() ends the faults.
import { describe, it, expect, afterEach } from "vitest";
import net from "node:net";
import { FaultyLink } from "../../src/verify/net-faults.js";

const closers: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

async function echoServer(): Promise<number> {
  const srv = net.createServer((s) => s.pipe(s));
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  closers.push(() => new Promise((r) => srv.close(r)));
  return (srv.address() as net.AddressInfo).port;
}

function exchange(port: number, parts: string[], want: number): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    let text = "";
    const done = (closed: boolean) => {
      s.destroy();
      resolve({ text, closed });
    };
    s.on("data", (d) => {
      text += d.toString("latin1");
      if (text.length >= want) done(false);
    });
    s.on("close", () => done(true));
    s.on("error", () => {});
    let i = 0;
    const next = () => {
      if (i < parts.length) {
        s.write(parts[i++]);
        setTimeout(next, 2);
      }
    };
    s.on("connect", next);
  });
}

describe("FaultyLink", () => {
  it("delivers every byte in order while holding chunks back", async () => {
    const link = new FaultyLink(await echoServer(), 1, 0, { delayProbability: 1, maxDelayMs: 10, resetProbability: 0, partitionProbability: 0, maxPartitionMs: 0 });
    closers.push(() => link.close());
    const port = await link.listen();
    const parts = Array.from({ length: 20 }, (_, i) => `chunk-${i};`);
    const r = await exchange(port, parts, parts.join("").length);
    expect(r.text).toBe(parts.join(""));
    expect(link.stats.delayed).toBeGreaterThan(0);
  });

  it("resets a connection when the fault fires, and passes everything once healed", async () => {
    const link = new FaultyLink(await echoServer(), 2, 0, { delayProbability: 0, maxDelayMs: 0, resetProbability: 1, partitionProbability: 0, maxPartitionMs: 0 });
    closers.push(() => link.close());
    const port = await link.listen();
    const cut = await exchange(port, ["hello"], 5);
    expect(cut.closed).toBe(true);
    expect(link.stats.resets).toBe(1);
    link.heal();
    expect((await exchange(port, ["hello"], 5)).text).toBe("hello");
  });
});
