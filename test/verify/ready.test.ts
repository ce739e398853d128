// Start-up readiness of verify's server processes (src/verify/ready.ts): a node that is not
// listening yet, answers PING late, or has its peer links up late is waited for until the
// deadline, and a node that never gets there fails with what was last seen.
import { describe, it, expect, afterEach } from "vitest";
import net from "node:net";
import { connectWhenUp, waitReady } from "../../src/verify/ready.js";
import { freePort } from "../../src/verify/server-process.js";

/** A RESP server on `port` that answers PING with `pong()` and INFO with `info()`. */
function fakeNode(port: number, pong: () => string, info: () => string): Promise<net.Server> {
  const srv = net.createServer((sock) => {
    let buf = "";
    sock.on("error", () => {});
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      for (;;) {
        const m = /^\*(\d+)\r\n/.exec(buf);
        if (!m) return;
        const parts: string[] = [];
        let pos = m[0].length;
        for (let i = 0; i < Number(m[1]); i++) {
          const h = /^\$(\d+)\r\n/.exec(buf.slice(pos));
          if (!h || buf.length < pos + h[0].length + Number(h[1]) + 2) return;
          parts.push(buf.slice(pos + h[0].length, pos + h[0].length + Number(h[1])));
          pos += h[0].length + Number(h[1]) + 2;
        }
        buf = buf.slice(pos);
        const cmd = parts[0].toLowerCase();
        if (cmd === "ping") sock.write(pong());
        else if (cmd === "info") { const t = info(); sock.write(`$${t.length}\r\n${t}\r\n`); }
        else sock.write("+OK\r\n");
      }
    });
  });
  return new Promise((resolve) => srv.listen(port, "127.0.0.1", () => resolve(srv)));
}

describe("verify start-up readiness", () => {
  const servers: net.Server[] = [];
  afterEach(() => { for (const s of servers.splice(0)) s.close(); });

  it("waits for a node that starts listening only after the first attempts are refused", async () => {
    const port = await freePort();
    let refused = 0;
    const late = new Promise<void>((resolve) => {
      const probe = () => {
        const c = net.connect(port, "127.0.0.1");
        c.on("error", () => { refused++; if (refused < 3) setTimeout(probe, 50); else void fakeNode(port, () => "+PONG\r\n", () => "").then((s) => { servers.push(s); resolve(); }); });
        c.on("connect", () => c.destroy());
      };
      probe();
    });
    const r = await connectWhenUp(port, Date.now() + 20_000);
    await late;
    expect(refused).toBe(3);
    expect(await r.ping()).toBe("PONG");
    r.disconnect();
  });

  it("waits until PING answers PONG and every peer link is up", async () => {
    const port = await freePort();
    let pings = 0, infos = 0;
    servers.push(await fakeNode(port,
      () => (++pings < 3 ? "-LOADING Redis is loading the dataset in memory\r\n" : "+PONG\r\n"),
      () => (++infos < 3 ? "# crdt\r\npeer0:link=up\r\npeer1:link=down\r\n" : "# crdt\r\npeer0:link=up\r\npeer1:link=up\r\n")));
    await waitReady(port, 2, Date.now() + 20_000);
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(infos).toBeGreaterThanOrEqual(3);
  });

  it("gives up at the deadline, saying what it last saw", async () => {
    const port = await freePort();
    servers.push(await fakeNode(port, () => "+PONG\r\n", () => "# crdt\r\npeer0:link=down\r\n"));
    await expect(waitReady(port, 1, Date.now() + 500)).rejects.toThrow(/0 of 1 peer links up/);
  });
});
