// The active-active bus over TLS (tls-replication yes, src/replication/peer-link.ts): two
// nodes with certificates from one CA replicate both ways over TLS; a third node whose
// certificate another CA signed is refused by the listener during the handshake (its link
// stays down and nothing it writes arrives), a client without a certificate is refused, and
// a plain-TCP HELLO gets nothing back from a TLS bus.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import net from "node:net";
import tls from "node:tls";
import { readFileSync, rmSync } from "node:fs";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { hasOpenssl, makeCerts, type Certs } from "../helpers/certs.js";
import { until } from "../helpers/wait.js";

const inCI = process.env.CI === "true" || process.env.CI === "1";
if (!hasOpenssl) {
  if (inCI) throw new Error("active-active-tls test: openssl not found (it makes the test certificates)");
  console.warn("SKIPPED active-active TLS tests: openssl not found");
}

/** Connects to a bus port and reports "refused" when the server ends the connection (TLS 1.3: on the first read). */
function probe(connect: () => net.Socket, hello: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = connect();
    let got = 0;
    const done = (v: string) => { clearTimeout(timer); s.destroy(); resolve(v); };
    const timer = setTimeout(() => done(got ? "answered" : "silent"), 4000);
    s.on(s instanceof tls.TLSSocket ? "secureConnect" : "connect", () => s.write(hello));
    s.on("data", (d) => { got += d.length; });
    s.on("error", () => done("refused"));
    s.on("close", () => done(got ? "answered" : "refused"));
  });
}

/** A HELLO frame as peer-link.ts writes it without credentials: type 0, node id, flags 0. */
function bareHello(id: string): Buffer {
  const p = Buffer.concat([Buffer.from([0, id.length]), Buffer.from(id), Buffer.from([0])]);
  const h = Buffer.alloc(4);
  h.writeUInt32LE(p.length);
  return Buffer.concat([h, p]);
}

// One set of test certificates for both groups (six RSA keys: seconds of CPU on a loaded
// machine), and hooks that may take longer than the default 30 s: they start three servers
// and wait for TLS links while other suites load the machine.
let sharedCerts: Certs | undefined;
const testCerts = (): Certs => (sharedCerts ??= makeCerts());
const HOOK_MS = 120_000;
afterAll(() => { if (sharedCerts) rmSync(sharedCerts.dir, { recursive: true, force: true }); });

describe.skipIf(!hasOpenssl)("active-active replication over TLS (tls-replication yes)", () => {
  let certs: Certs;
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const bus: number[] = [];

  beforeAll(async () => {
    certs = testCerts();
    for (let i = 0; i < 3; i++) bus.push(await freePort());
    const tlsArgs = (i: number) => {
      // n0 and n1: the CA's generic certificate; n2 trusts the real CA (so it would accept
      // n0's certificate), but its own was signed by another
      const [cert, key] = i < 2 ? [certs.redis, certs.redisKey] : [certs.rogue, certs.rogueKey];
      return ["--tls-replication", "yes", "--tls-cert-file", cert, "--tls-key-file", key, "--tls-ca-cert-file", certs.ca];
    };
    const peersOf = (i: number) => (i === 2 ? [0] : [1 - i]).flatMap((j) => ["--peer", `127.0.0.1:${bus[j]}`]);
    for (let i = 0; i < 3; i++) {
      servers.push(await startServer(["--crdt-node-id", `t${i}`, "--crdt-bus-port", String(bus[i]), ...tlsArgs(i), ...peersOf(i)]));
    }
    for (const s of servers) clients.push(await connectClient(s.port));
  }, HOOK_MS);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
  }, HOOK_MS);

  it("two nodes with certificates from the trusted CA link up and converge both ways", async () => {
    await until("links up", async () => (await clients[0].info("crdt")).includes("link=up") && (await clients[1].info("crdt")).includes("link=up"));
    await clients[0].set("over-tls", "from-0");
    await clients[1].sadd("tls-set", "x");
    await clients[0].sadd("tls-set", "y");
    await clients[1].incr("tls-counter");
    await clients[0].incr("tls-counter");
    await until("converged", async () => {
      const [g, m, n] = await Promise.all([clients[1].get("over-tls"), clients[1].smembers("tls-set"), clients[0].smembers("tls-set")]);
      const [c0, c1] = await Promise.all([clients[0].get("tls-counter"), clients[1].get("tls-counter")]);
      return g === "from-0" && m.length === 2 && n.length === 2 && c0 === "2" && c1 === "2";
    });
    expect((await clients[1].smembers("tls-set")).sort()).toEqual(["x", "y"]);
  });

  it("a node whose certificate another CA signed is refused: its link stays down and its writes do not arrive", async () => {
    await clients[2].set("from-rogue", "1");
    await clients[0].set("after-rogue", "1");
    await until("n1 has after-rogue", async () => (await clients[1].get("after-rogue")) === "1");
    // n2 has retried its link for as long as the two other nodes took to link and replicate
    expect(await clients[2].info("crdt")).toMatch(new RegExp(`addr=127\\.0\\.0\\.1:${bus[0]},id=,link=down`));
    expect(await clients[0].get("from-rogue")).toBeNull();
    expect(await clients[1].get("from-rogue")).toBeNull();
    expect(await clients[0].ping()).toBe("PONG");
  });

  it("the TLS bus refuses a client without a certificate, and a plain-TCP HELLO gets no answer", async () => {
    const noCert = await probe(() => tls.connect({ port: bus[0], host: "127.0.0.1", ca: readFileSync(certs.ca), checkServerIdentity: () => undefined }), bareHello("intruder"));
    expect(noCert).toBe("refused");
    const plain = await probe(() => net.connect(bus[0], "127.0.0.1"), bareHello("intruder"));
    expect(plain).not.toBe("answered");
    // a trusted certificate gets the listener's HELLO back (the probe itself is sound)
    const ok = await probe(() => tls.connect({
      port: bus[0], host: "127.0.0.1", ca: readFileSync(certs.ca), cert: readFileSync(certs.redis),
      key: readFileSync(certs.redisKey), checkServerIdentity: () => undefined,
    }), bareHello("probe"));
    expect(ok).toBe("answered");
    expect(await clients[0].ping()).toBe("PONG");
  });
});

describe.skipIf(!hasOpenssl)("CONFIG SET tls-replication moves the bus and the links", () => {
  let certs: Certs;
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const bus: number[] = [];
  const tlsProbe = (port: number) => probe(() => tls.connect({
    port, host: "127.0.0.1", ca: readFileSync(certs.ca), cert: readFileSync(certs.redis),
    key: readFileSync(certs.redisKey), checkServerIdentity: () => undefined,
  }), bareHello("probe"));
  const plainProbe = (port: number) => probe(() => net.connect(port, "127.0.0.1"), bareHello("probe"));
  const linksUp = async () => (await clients[0].info("crdt")).includes("link=up") && (await clients[1].info("crdt")).includes("link=up");

  beforeAll(async () => {
    certs = testCerts();
    for (let i = 0; i < 2; i++) bus.push(await freePort());
    for (let i = 0; i < 2; i++) {
      servers.push(await startServer(["--crdt-node-id", `m${i}`, "--crdt-bus-port", String(bus[i]), "--peer", `127.0.0.1:${bus[1 - i]}`,
        "--tls-cert-file", certs.redis, "--tls-key-file", certs.redisKey, "--tls-ca-cert-file", certs.ca]));
    }
    for (const s of servers) clients.push(await connectClient(s.port));
  }, HOOK_MS);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
  }, HOOK_MS);

  it("plain, then TLS after CONFIG SET tls-replication yes on both nodes, then plain again: replicating throughout", async () => {
    await until("plain links up", linksUp);
    expect(await plainProbe(bus[0])).toBe("answered");
    await clients[0].set("phase", "plain");
    await until("plain write arrived", async () => (await clients[1].get("phase")) === "plain");

    for (const c of clients) expect(await c.config("SET", "tls-replication", "yes")).toBe("OK");
    // the listener now speaks TLS only: a plain HELLO gets nothing, a certificate from the CA is answered
    await until("bus moved to TLS", async () => (await tlsProbe(bus[0])) === "answered" && (await tlsProbe(bus[1])) === "answered");
    expect(await plainProbe(bus[0])).not.toBe("answered");
    await until("TLS links up", linksUp);
    await clients[1].set("phase", "tls");
    await clients[0].incr("n");
    await clients[1].incr("n");
    await until("TLS writes arrived", async () =>
      (await clients[0].get("phase")) === "tls" && (await clients[0].get("n")) === "2" && (await clients[1].get("n")) === "2");

    for (const c of clients) expect(await c.config("SET", "tls-replication", "no")).toBe("OK");
    await until("bus back to plain", async () => (await plainProbe(bus[0])) === "answered" && (await plainProbe(bus[1])) === "answered");
    await until("plain links up again", linksUp);
    await clients[0].set("phase", "plain-again");
    await until("plain write arrived again", async () => (await clients[1].get("phase")) === "plain-again");
  });
});
