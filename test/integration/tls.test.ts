// TLS (src/server/tls.ts) through real processes: a server with a plain port and a tls-port
// at once, certificates made here with openssl the way Redis's utils/gen-test-certs.sh makes
// them, ioredis and redis-cli --tls as clients; tls-auth-clients yes/optional/no, the
// tls-protocols / tls-ciphers / tls-prefer-server-ciphers directives through CONFIG SET,
// a TLS-only server (port 0), moving the tls-port, and a replica linked over TLS.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import net from "node:net";
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { constants } from "node:crypto";
import Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { hasRealRedis, startRealRedis } from "../helpers/real-redis.js";
import { hasOpenssl, makeCerts, type Certs } from "../helpers/certs.js";

const inCI = process.env.CI === "true" || process.env.CI === "1";
const redisCli = ["/usr/bin/redis-cli", "/usr/local/bin/redis-cli"].find((p) => existsSync(p));
if (!hasOpenssl) {
  if (inCI) throw new Error("tls test: openssl not found (it makes the test certificates)");
  console.warn("SKIPPED TLS tests: openssl not found (it makes the test certificates)");
}
if (!redisCli) {
  if (inCI) throw new Error("tls test: redis-cli not found; CI installs redis-tools");
  console.warn("SKIPPED redis-cli --tls test: redis-cli (Debian's redis-tools) not found");
}

const pem = (path: string) => readFileSync(path);

function tlsArgs(c: Certs, tlsPort: number): string[] {
  return ["--tls-port", String(tlsPort), "--tls-cert-file", c.server, "--tls-key-file", c.serverKey, "--tls-ca-cert-file", c.ca];
}

/**
 * A raw TLS client: sends PING and resolves to what came back ("+PONG") or to "refused" when
 * the server ended the connection (a refused certificate ends the handshake, which with
 * TLS 1.3 the client only learns on its first read).
 */
function tlsPing(port: number, opts: tls.ConnectionOptions = {}): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false, ...opts });
    let text = "";
    const done = (v: string) => { s.destroy(); resolve(v); };
    const timer = setTimeout(() => done(text || "timeout"), 5000);
    s.on("secureConnect", () => s.write("PING\r\n"));
    s.on("data", (d) => {
      text += d.toString();
      if (text.endsWith("\r\n")) { clearTimeout(timer); done(text.trim()); }
    });
    s.on("error", () => { clearTimeout(timer); done("refused"); });
    s.on("close", () => { clearTimeout(timer); done(text ? text.trim() : "refused"); });
  });
}

/**
 * Connects, PINGs, keeps the session the server handed out (session ID or ticket) and
 * connects again offering it: true when the server resumed it.
 */
async function resumes(port: number, opts: tls.ConnectionOptions): Promise<boolean> {
  const connect = (session?: Buffer) => new Promise<{ reused: boolean; session?: Buffer }>((resolve, reject) => {
    const s = tls.connect({ port, host: "127.0.0.1", checkServerIdentity: () => undefined, ...opts, session });
    let saved: Buffer | undefined;
    let ponged = false;
    const finish = () => { const reused = s.isSessionReused(); s.destroy(); resolve({ reused, session: saved }); };
    s.on("session", (sess: Buffer) => { saved = sess; if (ponged) finish(); });
    s.on("secureConnect", () => s.write("PING\r\n"));
    // TLS 1.3 tickets arrive after the handshake; give them a moment past the reply.
    s.on("data", () => { ponged = true; setTimeout(finish, 200); });
    // (finish may run twice: the second resolve is a no-op.)
    s.on("error", reject);
  });
  const first = await connect();
  if (!first.session) return false;
  return (await connect(first.session)).reused;
}

function waitFor(what: string, cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  const loop = async (): Promise<void> => {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
    return loop();
  };
  return loop();
}

describe.skipIf(!hasOpenssl)("TLS", () => {
  let certs: Certs;
  let srv: RunningServer;
  let tlsPort: number;
  let plain: Redis;
  const withCert = () => ({ ca: pem(certs.ca), cert: pem(certs.client), key: pem(certs.clientKey) });

  beforeAll(async () => {
    certs = makeCerts();
    tlsPort = await freePort();
    srv = await startServer(tlsArgs(certs, tlsPort));
    plain = await connectClient(srv.port);
  }, 60_000);

  afterAll(async () => {
    plain?.disconnect();
    await srv?.stop();
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });

  it("serves the plain port and the tls-port at once, over one keyspace", async () => {
    const r = await connectClient(tlsPort, { tls: { ...withCert(), checkServerIdentity: () => undefined } });
    try {
      expect(await r.set("tls:k", "over tls")).toBe("OK");
      expect(await plain.get("tls:k")).toBe("over tls");
      expect(await r.call("config", "get", "tls-port")).toEqual(["tls-port", String(tlsPort)]);
    } finally {
      r.disconnect();
    }
  });

  it("refuses a plain-text client on the tls-port", async () => {
    const r = new Redis({ port: tlsPort, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 3000 });
    r.on("error", () => {});
    await expect(r.connect().then(() => r.ping())).rejects.toThrow();
    r.disconnect();
  });

  it("tls-auth-clients yes refuses a client without a certificate; optional and no accept it", async () => {
    expect(await tlsPing(tlsPort, withCert())).toBe("+PONG");
    expect(await tlsPing(tlsPort, { ca: pem(certs.ca) })).toBe("refused");
    expect(await plain.config("SET", "tls-auth-clients", "optional")).toBe("OK");
    expect(await tlsPing(tlsPort, { ca: pem(certs.ca) })).toBe("+PONG");
    // optional still checks a certificate that is shown: one from another CA is refused.
    expect(await tlsPing(tlsPort, { cert: pem(certs.rogue), key: pem(certs.rogueKey) })).toBe("refused");
    expect(await tlsPing(tlsPort, withCert())).toBe("+PONG");
    expect(await plain.config("SET", "tls-auth-clients", "no")).toBe("OK");
    expect(await tlsPing(tlsPort, { ca: pem(certs.ca) })).toBe("+PONG");
    expect(await plain.config("SET", "tls-auth-clients", "yes")).toBe("OK");
    expect(await tlsPing(tlsPort, { ca: pem(certs.ca) })).toBe("refused");
  });

  it("redis-cli --tls connects with the client certificate", { skip: !redisCli }, () => {
    const out = execFileSync(redisCli!, ["-p", String(tlsPort), "--tls", "--cacert", certs.ca, "--cert", certs.client,
      "--key", certs.clientKey, "ping"], { encoding: "utf8", timeout: 10_000 });
    expect(out.trim()).toBe("PONG");
  });

  it("tls-protocols, tls-ciphers and tls-prefer-server-ciphers take effect on CONFIG SET", async () => {
    try {
      expect(await plain.config("SET", "tls-protocols", "TLSv1.2")).toBe("OK");
      expect(await tlsPing(tlsPort, { ...withCert(), minVersion: "TLSv1.3" })).toBe("refused");
      expect(await tlsPing(tlsPort, { ...withCert(), maxVersion: "TLSv1.2" })).toBe("+PONG");
      expect(await plain.config("SET", "tls-ciphers", "DEFAULT:-AES128-SHA256")).toBe("OK");
      expect(await tlsPing(tlsPort, { ...withCert(), ciphers: "AES128-SHA256" })).toBe("refused");
      expect(await tlsPing(tlsPort, { ...withCert(), ciphers: "AES256-SHA256" })).toBe("+PONG");
      // The server's order wins only with tls-prefer-server-ciphers yes.
      await plain.config("SET", "tls-ciphers", "AES128-SHA256:AES256-SHA256");
      const cipherOf = () => new Promise<string>((resolve, reject) => {
        const s = tls.connect({ port: tlsPort, host: "127.0.0.1", ...withCert(), ciphers: "AES256-SHA256:AES128-SHA256",
          checkServerIdentity: () => undefined }, () => { resolve(s.getCipher().standardName); s.destroy(); });
        s.on("error", reject);
      });
      expect(await cipherOf()).toBe("TLS_RSA_WITH_AES_256_CBC_SHA256");
      expect(await plain.config("SET", "tls-prefer-server-ciphers", "yes")).toBe("OK");
      expect(await cipherOf()).toBe("TLS_RSA_WITH_AES_128_CBC_SHA256");
    } finally {
      await plain.config("SET", "tls-protocols", "", "tls-ciphers", "DEFAULT", "tls-prefer-server-ciphers", "no");
    }
  });

  it("tls-protocols with a gap leaves the version in between out, as Redis enables exactly the listed ones", async () => {
    try {
      expect(await plain.config("SET", "tls-protocols", "TLSv1.1 TLSv1.3")).toBe("OK");
      expect(await tlsPing(tlsPort, { ...withCert(), maxVersion: "TLSv1.2" })).toBe("refused");
      expect(await tlsPing(tlsPort, { ...withCert(), minVersion: "TLSv1.3" })).toBe("+PONG");
    } finally {
      await plain.config("SET", "tls-protocols", "");
    }
    expect(await tlsPing(tlsPort, { ...withCert(), maxVersion: "TLSv1.2" })).toBe("+PONG");
  });

  it("tls-ca-cert-dir alone trusts the certificates in that directory", async () => {
    const caDir = mkdtempSync(join(tmpdir(), "lkv-ca-"));
    copyFileSync(certs.ca, join(caDir, "ca.pem"));
    try {
      // Without a CA the configuration would be refused (tls-auth-clients yes needs one).
      expect(await plain.config("SET", "tls-ca-cert-file", "", "tls-ca-cert-dir", caDir)).toBe("OK");
      expect(await tlsPing(tlsPort, withCert())).toBe("+PONG");
      expect(await tlsPing(tlsPort, { cert: pem(certs.rogue), key: pem(certs.rogueKey) })).toBe("refused");
    } finally {
      await plain.config("SET", "tls-ca-cert-file", certs.ca, "tls-ca-cert-dir", "");
      rmSync(caDir, { recursive: true, force: true });
    }
  });

  it("a TLS configuration that cannot load is refused and the old one stays", async () => {
    await expect(plain.config("SET", "tls-protocols", "SSLv3")).rejects.toThrow(
      "ERR CONFIG SET failed (possibly related to argument 'tls-protocols') - Unable to update TLS configuration. Check server logs.");
    await expect(plain.config("SET", "tls-cert-file", join(certs.dir, "missing.crt"))).rejects.toThrow("Unable to update TLS configuration");
    expect(await plain.config("GET", "tls-cert-file")).toEqual(["tls-cert-file", certs.server]);
    expect(await tlsPing(tlsPort, withCert())).toBe("+PONG");
  });

  it("CONFIG SET tls-port moves the TLS listener before it answers", async () => {
    const moved = await freePort();
    expect(await plain.config("SET", "tls-port", String(moved))).toBe("OK");
    expect(await tlsPing(moved, withCert())).toBe("+PONG");
    expect(await plain.config("SET", "tls-port", String(tlsPort))).toBe("OK");
    expect(await tlsPing(tlsPort, withCert())).toBe("+PONG");
  });

  it("CONFIG SET tls-port to a port in use fails and the old TLS listener never stops serving", async () => {
    // Redis binds the new port before closing the old one. Closing first and re-binding on
    // rollback left a moment with no TLS listener around the error reply (networking.tcl's
    // "CONFIG SET port number" saw its connection refused): probe the port all along.
    const refused = (port: number) => new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => { s.destroy(); resolve(false); });
      s.on("error", () => resolve(true));
    });
    let refusals = 0;
    for (let round = 0; round < 10; round++) {
      let answered = false;
      const reply = plain.config("SET", "tls-port", String(srv.port)).then(() => "OK", (e: Error) => e.message)
        .finally(() => { answered = true; });
      while (!answered) if (await refused(tlsPort)) refusals++;
      expect(await reply).toMatch(/^ERR CONFIG SET failed \(possibly related to argument 'tls-port'\) - Unable to listen on this port/);
      if (await refused(tlsPort)) refusals++;
    }
    expect(refusals).toBe(0);
    expect(await tlsPing(tlsPort, withCert())).toBe("+PONG");
    expect(await plain.config("GET", "tls-port")).toEqual(["tls-port", String(tlsPort)]);
  });

  it("CONFIG SET bind moves the tls-port's listener too", async () => {
    expect(await plain.config("SET", "bind", "127.0.0.2")).toBe("OK");
    try {
      expect(await tlsPing(tlsPort, { ...withCert(), host: "127.0.0.2" })).toBe("+PONG");
      expect(await tlsPing(tlsPort, withCert())).toBe("refused");
    } finally {
      expect(await plain.config("SET", "bind", "127.0.0.1")).toBe("OK");
    }
    expect(await tlsPing(tlsPort, withCert())).toBe("+PONG");
  });

  it("port 0 with a tls-port serves TLS only, and INFO tcp_port shows the tls-port", async () => {
    const only = await freePort();
    const s = await startServer(["--port", "0", ...tlsArgs(certs, only)]);
    try {
      const r = await connectClient(only, { tls: { ...withCert(), checkServerIdentity: () => undefined } });
      try {
        expect(await r.info("server")).toMatch(new RegExp(`tcp_port:${only}\\r\\n`));
      } finally {
        r.disconnect();
      }
    } finally {
      await s.stop();
    }
  });

  it("a replica with tls-replication yes syncs from a TLS-only primary, presenting tls-cert-file", async () => {
    const primaryPort = await freePort();
    const primary = await startServer(["--port", "0", ...tlsArgs(certs, primaryPort), "--tls-replication", "yes"]);
    const replicaTls = await freePort();
    // No tls-client-cert-file: the generic certificate doubles as the client one (as in Redis).
    const replica = await startServer(["--tls-port", String(replicaTls), "--tls-cert-file", certs.redis,
      "--tls-key-file", certs.redisKey, "--tls-ca-cert-file", certs.ca, "--tls-replication", "yes"]);
    const tlsOpts = { tls: { ...withCert(), checkServerIdentity: () => undefined } };
    let p: Redis | undefined, r: Redis | undefined;
    try {
      p = await connectClient(primaryPort, tlsOpts);
      r = await connectClient(replica.port);
      await p!.set("repl:k", "v1");
      expect(await r!.replicaof("127.0.0.1", primaryPort)).toBe("OK");
      await waitFor("the TLS replication link", async () => /master_link_status:up/.test(await r!.info("replication")));
      await p!.set("repl:k", "v2");
      await waitFor("the write to replicate", async () => (await r!.get("repl:k")) === "v2");
      // REPLCONF listening-port: with tls-replication the replica announces its tls-port.
      expect(await p!.info("replication")).toMatch(new RegExp(`slave0:ip=127\\.0\\.0\\.1,port=${replicaTls},`));
    } finally {
      p?.disconnect();
      r?.disconnect();
      await replica.stop();
      await primary.stop();
    }
  }, 30_000);

  it("MIGRATE with tls-cluster yes moves keys to a TLS-only target, presenting tls-client-cert-file", async () => {
    const targetPort = await freePort();
    const target = await startServer(["--port", "0", ...tlsArgs(certs, targetPort), "--tls-auth-clients", "yes"]);
    const tlsOpts = { tls: { ...withCert(), checkServerIdentity: () => undefined } };
    let t: Redis | undefined;
    try {
      t = await connectClient(targetPort, tlsOpts);
      await plain.set("mig:a", "1");
      await plain.set("mig:b", "2");
      // Plain TCP to a TLS port: the target drops the connection, as for Redis without tls-cluster.
      await expect(plain.migrate("127.0.0.1", String(targetPort), "mig:a", "0", "2000")).rejects.toThrow(/^IOERR/);
      expect(await plain.exists("mig:a")).toBe(1);
      // A target whose certificate the CA does not vouch for fails the handshake: "connecting".
      expect(await plain.config("SET", "tls-cluster", "yes", "tls-ca-cert-file", join(certs.dir, "rogue-ca.crt"))).toBe("OK");
      await expect(plain.migrate("127.0.0.1", String(targetPort), "mig:a", "0", "2000"))
        .rejects.toThrow("IOERR error or timeout connecting to the client");
      expect(await plain.config("SET", "tls-ca-cert-file", certs.ca, "tls-client-cert-file", certs.client,
        "tls-client-key-file", certs.clientKey)).toBe("OK");
      expect(await plain.migrate("127.0.0.1", String(targetPort), "mig:a", "0", "5000")).toBe("OK");
      expect(await plain.migrate("127.0.0.1", String(targetPort), "", "0", "5000", "COPY", "KEYS", "mig:b")).toBe("OK");
      expect(await t!.mget("mig:a", "mig:b")).toEqual(["1", "2"]);
      expect(await plain.exists("mig:a", "mig:b")).toBe(1);
      // Both MIGRATEs went over one connection, kept for the next (Redis's socket cache).
      expect(await plain.info("stats")).toMatch(/migrate_cached_sockets:1\r\n/);
    } finally {
      await plain.config("SET", "tls-cluster", "no", "tls-client-cert-file", "", "tls-client-key-file", "",
        "tls-ca-cert-file", certs.ca);
      t?.disconnect();
      await target.stop();
    }
  }, 30_000);

  it("tls-session-caching resumes sessions by ID and ticket; no turns resumption off", async () => {
    const byId = { ...withCert(), maxVersion: "TLSv1.2" as const, secureOptions: constants.SSL_OP_NO_TICKET };
    const byTicket = { ...withCert(), minVersion: "TLSv1.3" as const };
    expect(await resumes(tlsPort, byId)).toBe(true);
    expect(await resumes(tlsPort, byTicket)).toBe(true);
    expect(await plain.config("SET", "tls-session-caching", "no")).toBe("OK");
    try {
      expect(await resumes(tlsPort, byId)).toBe(false);
      expect(await resumes(tlsPort, byTicket)).toBe(false);
    } finally {
      await plain.config("SET", "tls-session-caching", "yes");
    }
    expect(await resumes(tlsPort, byId)).toBe(true);
  });

  it("over TLS, a LatticeKV replica syncs from a real Redis 7.0.15 primary and a real Redis replica syncs from it; each announces its tls-port",
    { skip: !hasRealRedis }, async () => {
      const tlsRepl = ["--tls-cert-file", certs.redis, "--tls-key-file", certs.redisKey, "--tls-ca-cert-file", certs.ca,
        "--tls-replication", "yes"];
      const [rootTls, oursTls, leafTls] = [await freePort(), await freePort(), await freePort()];
      const root = await startRealRedis(["--tls-port", String(rootTls), ...tlsRepl]);
      const ours = await startServer(["--tls-port", String(oursTls), ...tlsRepl]);
      const leaf = await startRealRedis(["--tls-port", String(leafTls), ...tlsRepl]);
      const clients: Redis[] = [];
      try {
        const [r, o, l] = await Promise.all([root.port, ours.port, leaf.port].map((p) => connectClient(p)));
        clients.push(r, o, l);
        await r.set("chain:k", "v1");
        expect(await o.replicaof("127.0.0.1", String(rootTls))).toBe("OK");
        expect(await l.replicaof("127.0.0.1", String(oursTls))).toBe("OK");
        await waitFor("the whole chain to sync", async () => (await l.get("chain:k")) === "v1");
        await r.set("chain:k", "v2");
        await waitFor("the write to reach the leaf", async () => (await l.get("chain:k")) === "v2");
        expect(await r.info("replication")).toMatch(new RegExp(`slave0:ip=127\\.0\\.0\\.1,port=${oursTls},state=online`));
        expect(await o.info("replication")).toMatch(new RegExp(`slave0:ip=127\\.0\\.0\\.1,port=${leafTls},state=online`));
      } finally {
        for (const c of clients) c.disconnect();
        await leaf.stop(true);
        await ours.stop();
        await root.stop(true);
      }
    }, 60_000);
});
