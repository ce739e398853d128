// masterauth / masteruser over a TLS replication link (tls-replication yes) to a TLS-only
// primary that requires AUTH: the replica authenticates inside the TLS session before
// REPLCONF and PSYNC, syncs and follows the stream; a wrong password leaves the link down
// with Redis's "Unable to AUTH to MASTER" log line. Both directions with real Redis 7.0.15 too.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { rmSync } from "node:fs";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis, type RealRedis } from "../helpers/real-redis.js";
import { hasOpenssl, makeCerts, type Certs } from "../helpers/certs.js";
import { until, infoField as field } from "../helpers/wait.js";

describe.skipIf(!hasOpenssl)("masterauth over TLS replication", { timeout: 90_000 }, () => {
  let certs: Certs;
  const stops: (() => Promise<void>)[] = [];
  const clients: Redis[] = [];
  beforeAll(() => { certs = makeCerts(); });
  afterAll(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    for (const s of stops.splice(0).reverse()) await s();
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  /** tls-port with the generic certificate (it doubles as the client one) and tls-replication yes. */
  const tlsRepl = (tlsPort: number) => ["--tls-port", String(tlsPort), "--tls-cert-file", certs.redis, "--tls-key-file", certs.redisKey,
    "--tls-ca-cert-file", certs.ca, "--tls-replication", "yes"];

  /** password: the client's (the server's requirepass). */
  async function ours(args: string[], password?: string): Promise<{ srv: RunningServer; r: Redis }> {
    const srv = await startServer(args);
    stops.push(() => srv.stop());
    const r = await connectClient(srv.port, { password });
    clients.push(r);
    return { srv, r };
  }

  async function real(args: string[], password?: string): Promise<{ srv: RealRedis; r: Redis }> {
    const srv = await startRealRedis(args);
    stops.push(() => srv.stop(true));
    const r = await connectClient(srv.port, { password });
    clients.push(r);
    return { srv, r };
  }

  it("a replica with masteruser/masterauth syncs from a TLS-only primary that requires AUTH; a wrong password keeps the link down", async () => {
    const pTls = await freePort();
    // The plain port is for this test's client; the replica can only reach the tls-port.
    const p = await ours([...tlsRepl(pTls), "--requirepass", "secret"], "secret");
    await p.r.call("acl", "setuser", "repl", "on", ">replpass", "+psync", "+replconf", "+ping");
    await p.r.set("k", "v1");
    const bad = await ours([...tlsRepl(await freePort()), "--masterauth", "wrong"]);
    await bad.r.replicaof("127.0.0.1", String(pTls));
    await until("the AUTH is refused", () => bad.srv.output().includes("Unable to AUTH to MASTER"), 15_000);
    expect(await field(bad.r, "master_link_status")).toBe("down");
    // Default user by password, and a named user (AUTH user pass).
    for (const auth of [["--masterauth", "secret"], ["--masteruser", "repl", "--masterauth", "replpass"]]) {
      const s = await ours([...tlsRepl(await freePort()), ...auth]);
      await s.r.replicaof("127.0.0.1", String(pTls));
      await until("link up over TLS", async () => (await field(s.r, "master_link_status")) === "up", 20_000);
      expect(await s.r.get("k")).toBe("v1");
    }
    await p.r.set("k", "v2");
    await until("both replicas follow", async () => (await field(p.r, "connected_slaves")) === "2");
    expect(await p.r.get("k")).toBe("v2");
  });

  it.skipIf(!hasRealRedis)("with real Redis 7.0.15 both ways: ours authenticates to its TLS primary, and it to ours", async () => {
    const [rootTls, midTls, leafTls] = [await freePort(), await freePort(), await freePort()];
    const root = await real([...tlsRepl(rootTls), "--requirepass", "rootpass"], "rootpass");
    await root.r.set("chain", "v1");
    const mid = await ours([...tlsRepl(midTls), "--requirepass", "midpass", "--masterauth", "rootpass"], "midpass");
    const leaf = await real([...tlsRepl(leafTls), "--masterauth", "midpass"]);
    expect(await mid.r.replicaof("127.0.0.1", String(rootTls))).toBe("OK");
    expect(await leaf.r.replicaof("127.0.0.1", String(midTls))).toBe("OK");
    await until("the chain syncs", async () => (await leaf.r.get("chain")) === "v1", 20_000);
    await root.r.set("chain", "v2");
    await until("the write reaches the leaf", async () => (await leaf.r.get("chain")) === "v2", 20_000);
    expect(await field(mid.r, "master_link_status")).toBe("up");
    expect(await field(leaf.r, "master_link_status")).toBe("up");
  });
});
