// A TLS cluster (tls-cluster yes, src/cluster/ports.ts and the bus's transport in
// src/server/tls.ts): three nodes, each with a plain port and a tls-port, joined over a TLS
// bus with CLUSTER MEET. The bus refuses a peer without a certificate from the cluster's CA
// (whatever tls-auth-clients says); clients on a TLS connection are shown the tls-ports,
// clients on a plain one the plain ports (Redis's pport), in CLUSTER NODES/SLOTS/SHARDS and
// MOVED; ioredis's Cluster works over either.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import Redis, { Cluster } from "ioredis";
import { readFileSync } from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { hasOpenssl, makeCerts, type Certs } from "../helpers/certs.js";

const inCI = process.env.CI === "true" || process.env.CI === "1";
if (!hasOpenssl && inCI) throw new Error("cluster-tls test: openssl not found (it makes the test certificates)");

interface Node { srv: RunningServer; port: number; tlsPort: number; cport: number }

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Opens a TLS connection to a bus port and reports whether the handshake was accepted:
 * "accepted" when the server still talks to us after the handshake (it waits for our
 * first message), "refused" when it ends the connection (with TLS 1.3 a refused client
 * certificate is only seen on the first read).
 */
function busHandshake(port: number, opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ port, host: "127.0.0.1", checkServerIdentity: () => undefined, ...opts });
    let timer: NodeJS.Timeout | undefined;
    const done = (v: string) => { clearTimeout(timer); s.destroy(); resolve(v); };
    s.on("secureConnect", () => { timer = setTimeout(() => done("accepted"), 500); });
    s.on("error", () => done("refused"));
    s.on("close", () => done("refused"));
  });
}

describe.skipIf(!hasOpenssl)("TLS cluster (tls-cluster yes)", () => {
  let certs: Certs;
  const nodes: Node[] = [];
  let tlsOpts: tls.ConnectionOptions;
  const ranges = [[0, 5460], [5461, 10922], [10923, 16383]];

  const tlsClient = (n: Node) => connectClient(n.tlsPort, { tls: tlsOpts, protocol: 2 } as never);
  const plainClient = (n: Node) => connectClient(n.port, { protocol: 2 } as never);

  beforeAll(async () => {
    certs = makeCerts();
    tlsOpts = { ca: readFileSync(certs.ca), cert: readFileSync(certs.client), key: readFileSync(certs.clientKey),
      checkServerIdentity: () => undefined };
    for (let i = 0; i < 3; i++) {
      const tlsPort = await freePort(), cport = await freePort();
      // tls-auth-clients no: clients need no certificate, the bus still does.
      const srv = await startServer(["--cluster-enabled", "yes", "--cluster-port", String(cport), "--cluster-node-timeout", "3000",
        "--tls-port", String(tlsPort), "--tls-cluster", "yes", "--tls-auth-clients", "no",
        "--tls-cert-file", certs.server, "--tls-key-file", certs.serverKey, "--tls-ca-cert-file", certs.ca,
        "--tls-client-cert-file", certs.client, "--tls-client-key-file", certs.clientKey]);
      nodes.push({ srv, port: srv.port, tlsPort, cport });
    }
    const first = await tlsClient(nodes[0]);
    for (const n of nodes.slice(1)) expect(await first.call("cluster", "meet", "127.0.0.1", String(n.tlsPort), String(n.cport))).toBe("OK");
    first.disconnect();
    for (let i = 0; i < 3; i++) {
      const c = await tlsClient(nodes[i]);
      expect(await c.call("cluster", "addslotsrange", String(ranges[i][0]), String(ranges[i][1]))).toBe("OK");
      c.disconnect();
    }
    await waitFor("cluster_state:ok on every node", async () => {
      for (const n of nodes) {
        const c = await tlsClient(n);
        const info = String(await c.call("cluster", "info"));
        c.disconnect();
        if (!info.includes("cluster_state:ok") || !info.includes("cluster_known_nodes:3")) return false;
      }
      return true;
    });
  }, 120_000);

  afterAll(async () => {
    for (const n of nodes) await n.srv.stop();
  });

  it("joins over the TLS bus: every node knows the others by tls-port and bus port", async () => {
    const c = await tlsClient(nodes[2]);
    const lines = String(await c.call("cluster", "nodes")).trim().split("\n");
    c.disconnect();
    expect(lines).toHaveLength(3);
    for (const n of nodes) expect(lines.some((l) => l.includes(` 127.0.0.1:${n.tlsPort}@${n.cport} `) && / connected /.test(l))).toBe(true);
  });

  it("the bus port refuses a peer without a certificate, with one from another CA, and plain TCP", async () => {
    const cport = nodes[0].cport;
    // The positive control: the cluster's own client certificate is let in.
    expect(await busHandshake(cport, tlsOpts)).toBe("accepted");
    expect(await busHandshake(cport, { ca: readFileSync(certs.ca) })).toBe("refused");
    expect(await busHandshake(cport, { ca: readFileSync(certs.ca), cert: readFileSync(certs.rogue), key: readFileSync(certs.rogueKey) }))
      .toBe("refused");
    // A plain-text bus message is not TLS: the connection is dropped and no node is added.
    const plain = await new Promise<string>((resolve) => {
      const s = net.connect(cport, "127.0.0.1", () => {
        s.write(JSON.stringify({ type: "meet", sender: { id: "f".repeat(40), ip: "127.0.0.1", port: 1, cport: 2, configEpoch: 0, slots: [], master: null, offset: 0 },
          currentEpoch: 0, gossip: [] }) + "\n");
      });
      s.on("error", () => resolve("closed"));
      s.on("close", () => resolve("closed"));
      setTimeout(() => { s.destroy(); resolve("open"); }, 3000);
    });
    expect(plain).toBe("closed");
    const c = await tlsClient(nodes[0]);
    expect(String(await c.call("cluster", "nodes"))).not.toContain("f".repeat(40));
    c.disconnect();
  });

  it("shows a TLS client the tls-ports and a plain client the plain ports (NODES, SLOTS, SHARDS, MOVED)", async () => {
    const t = await tlsClient(nodes[0]);
    const p = await plainClient(nodes[0]);
    try {
      const tlsNodes = String(await t.call("cluster", "nodes"));
      const plainNodes = String(await p.call("cluster", "nodes"));
      for (const n of nodes) {
        expect(tlsNodes).toContain(` 127.0.0.1:${n.tlsPort}@${n.cport} `);
        expect(plainNodes).toContain(` 127.0.0.1:${n.port}@${n.cport} `);
      }
      const slotPorts = async (c: Redis) => ((await c.call("cluster", "slots")) as [number, number, [string, number]][])
        .sort((a, b) => a[0] - b[0]).map((s) => s[2][1]);
      expect(await slotPorts(t)).toEqual(nodes.map((n) => n.tlsPort));
      expect(await slotPorts(p)).toEqual(nodes.map((n) => n.port));
      // SHARDS shows both, whoever asks.
      const shards = (await p.call("cluster", "shards")) as unknown[][];
      const members = shards.map((s) => (s[3] as unknown[][])[0]).map((m) => {
        const o: Record<string, unknown> = {};
        for (let i = 0; i < m.length; i += 2) o[String(m[i])] = m[i + 1];
        return o;
      });
      for (const n of nodes) expect(members).toContainEqual(expect.objectContaining({ port: n.port, "tls-port": n.tlsPort }));
      // foo is in slot 12182: the third node's.
      await expect(t.set("foo", "1")).rejects.toThrow(`MOVED 12182 127.0.0.1:${nodes[2].tlsPort}`);
      await expect(p.set("foo", "1")).rejects.toThrow(`MOVED 12182 127.0.0.1:${nodes[2].port}`);
    } finally {
      t.disconnect();
      p.disconnect();
    }
  });

  it("ioredis's Cluster reads and writes over TLS, and over the plain ports too", async () => {
    const overTls = new Cluster([{ host: "127.0.0.1", port: nodes[0].tlsPort }], { redisOptions: { tls: tlsOpts } });
    const plain = new Cluster([{ host: "127.0.0.1", port: nodes[1].port }]);
    try {
      for (let i = 0; i < 60; i++) await overTls.set(`key:${i}`, `v${i}`);
      for (let i = 0; i < 60; i++) expect(await plain.get(`key:${i}`)).toBe(`v${i}`);
      // Every node got some of the keys.
      for (const n of nodes) {
        const c = await tlsClient(n);
        expect(await c.dbsize()).toBeGreaterThan(0);
        c.disconnect();
      }
    } finally {
      overTls.disconnect();
      plain.disconnect();
    }
  });
});
