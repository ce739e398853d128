// TLS (Redis's tls.c, on node:tls): the tls-port listener next to the plain port, the
// server-side context built from the tls-* directives, and the client-side options that
// outgoing links (a replica's link to its master, with tls-replication) use.
//
// As in Redis, the context is rebuilt whenever a tls-* directive changes (CONFIG SET), and
// a context that fails to build leaves the old one in place ("Unable to update TLS
// configuration. Check server logs." with the reason in the log). tls-auth-clients is read
// per connection: "yes" refuses a client without a valid certificate during the handshake,
// "optional" asks for one and refuses only an invalid one, "no" does not ask.
import net from "node:net";
import tls from "node:tls";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Server } from "./server.js";
import type { Client } from "./client.js";
import type { Config } from "../config/config.js";
import { log } from "./log.js";
import { constants as cryptoConstants } from "node:crypto";
import { TlsSessionCache } from "./tls-session-cache.js";
import { sourceAddressFor, resolveSourceAddr } from "./source-addr.js";
import { listenAll, StartupError, type ListenerGroup } from "./listeners.js";

/** The directives whose change rebuilds the context (Redis's applyTlsCfg). */
const CONTEXT_DIRECTIVES = [
  "tls-session-cache-size", "tls-session-cache-timeout", "tls-cluster", "tls-replication",
  "tls-prefer-server-ciphers", "tls-session-caching", "tls-cert-file", "tls-key-file",
  "tls-key-file-pass", "tls-client-cert-file", "tls-client-key-file", "tls-client-key-file-pass",
  "tls-dh-params-file", "tls-ca-cert-file", "tls-ca-cert-dir", "tls-protocols", "tls-ciphers",
  "tls-ciphersuites",
];

const UPDATE_FAILED = "Unable to update TLS configuration. Check server logs.";

/** A configuration Redis's tlsConfigure refuses; the message is what Redis logs. */
class TlsConfigError extends Error {}

const PROTOCOLS: Record<string, tls.SecureVersion> = {
  "tlsv1": "TLSv1", "tlsv1.1": "TLSv1.1", "tlsv1.2": "TLSv1.2", "tlsv1.3": "TLSv1.3",
};
const ORDER: tls.SecureVersion[] = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];

/** OpenSSL's switch that turns one version off inside node's min..max range. */
const NO_VERSION: Record<tls.SecureVersion, number> = {
  "TLSv1": cryptoConstants.SSL_OP_NO_TLSv1, "TLSv1.1": cryptoConstants.SSL_OP_NO_TLSv1_1,
  "TLSv1.2": cryptoConstants.SSL_OP_NO_TLSv1_2, "TLSv1.3": cryptoConstants.SSL_OP_NO_TLSv1_3,
};

/**
 * tls-protocols ("TLSv1.2 TLSv1.3", any case) as node's version range plus the OpenSSL
 * options that switch off a version inside it: Redis enables exactly the listed versions,
 * so "TLSv1.1 TLSv1.3" leaves TLS 1.2 out.
 */
export function protocolRange(value: string): { minVersion: tls.SecureVersion; maxVersion: tls.SecureVersion; secureOptions: number } {
  const versions: tls.SecureVersion[] = [];
  for (const word of value.split(" ")) {
    if (word === "") continue;
    const v = PROTOCOLS[word.toLowerCase()];
    if (!v) throw new TlsConfigError("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.");
    versions.push(v);
  }
  if (versions.length === 0) return { minVersion: "TLSv1.2", maxVersion: "TLSv1.3", secureOptions: 0 };
  versions.sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
  const min = ORDER.indexOf(versions[0]), max = ORDER.indexOf(versions[versions.length - 1]);
  let secureOptions = 0;
  for (let i = min + 1; i < max; i++) if (!versions.includes(ORDER[i])) secureOptions |= NO_VERSION[ORDER[i]];
  return { minVersion: ORDER[min], maxVersion: ORDER[max], secureOptions };
}

/** Every PEM certificate in tls-ca-cert-dir (OpenSSL's hashed directory, read whole). */
function readCaDir(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    try {
      if (!statSync(path).isFile()) continue;
      const text = readFileSync(path, "utf8");
      if (text.includes("-----BEGIN CERTIFICATE-----")) out.push(text);
    } catch { /* unreadable entries are skipped, as OpenSSL's lookup skips them */ }
  }
  return out;
}

function readFile(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new TlsConfigError(`Failed to load ${what}: ${path}: ${(e as Error).message}`);
  }
}

/** tls-ciphers (TLS 1.2 and below) and tls-ciphersuites (TLS 1.3) as node's one cipher string. */
function cipherString(c: Config): string | undefined {
  const ciphers = c.get("tls-ciphers");
  const suites = c.get("tls-ciphersuites");
  if (ciphers === "" && suites === "") return undefined;
  // node keeps its TLS 1.3 defaults when the list names none, and its TLS 1.2 list
  // when tls-ciphers is unset (OpenSSL's defaults in Redis).
  const below13 = ciphers !== "" ? ciphers : tls.DEFAULT_CIPHERS.split(":").filter((x) => !x.startsWith("TLS_")).join(":");
  return [suites, below13].filter(Boolean).join(":");
}

function commonOptions(c: Config): tls.SecureContextOptions {
  const ca: (string | Buffer)[] = [];
  if (c.get("tls-ca-cert-file") !== "") ca.push(readFile(c.get("tls-ca-cert-file"), "CA certificate(s) file"));
  if (c.get("tls-ca-cert-dir") !== "") {
    try {
      ca.push(...readCaDir(c.get("tls-ca-cert-dir")));
    } catch (e) {
      throw new TlsConfigError(`Failed to configure CA certificate(s) file/directory: ${(e as Error).message}`);
    }
  }
  return {
    ...protocolRange(c.get("tls-protocols")),
    ca: ca.length ? ca : undefined,
    ciphers: cipherString(c),
  };
}

/** The server side context's options (Redis's tlsConfigure + createSSLContext). */
export function serverContextOptions(c: Config): tls.SecureContextOptions {
  if (c.get("tls-cert-file") === "") throw new TlsConfigError("No tls-cert-file configured!");
  if (c.get("tls-key-file") === "") throw new TlsConfigError("No tls-key-file configured!");
  if ((c.get("tls-auth-clients") !== "no" || c.getBool("tls-cluster") || c.getBool("tls-replication")) &&
      c.get("tls-ca-cert-file") === "" && c.get("tls-ca-cert-dir") === "") {
    throw new TlsConfigError("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication or tls-auth-clients are enabled!");
  }
  const common = commonOptions(c);
  const opts: tls.SecureContextOptions = {
    ...common,
    cert: readFile(c.get("tls-cert-file"), "certificate"),
    key: readFile(c.get("tls-key-file"), "private key"),
    passphrase: c.get("tls-key-file-pass") || undefined,
    honorCipherOrder: c.getBool("tls-prefer-server-ciphers"),
    // Session resumption (Redis's tls-session-caching): session IDs from TlsSessionCache and
    // tickets, both living tls-session-cache-timeout seconds; "no" turns both off.
    sessionTimeout: c.getNumber("tls-session-cache-timeout"),
    sessionIdContext: "redis",
    secureOptions: (common.secureOptions ?? 0) | (c.getBool("tls-session-caching") ? 0 : cryptoConstants.SSL_OP_NO_TICKET),
  };
  if (c.get("tls-dh-params-file") !== "") opts.dhparam = readFile(c.get("tls-dh-params-file"), "DH params file");
  return opts;
}

/**
 * Options for an outgoing TLS link: tls-client-cert-file/key-file when both are set, else
 * the server's own certificate (as Redis). The peer is verified against the CA, but not its
 * host name (Redis does not check it either).
 */
export function clientConnectOptions(c: Config): tls.ConnectionOptions {
  const own = c.get("tls-client-cert-file") !== "" && c.get("tls-client-key-file") !== "";
  const certFile = own ? c.get("tls-client-cert-file") : c.get("tls-cert-file");
  const keyFile = own ? c.get("tls-client-key-file") : c.get("tls-key-file");
  const pass = own ? c.get("tls-client-key-file-pass") : c.get("tls-key-file-pass");
  return {
    ...commonOptions(c),
    cert: certFile ? readFile(certFile, "certificate") : undefined,
    key: keyFile ? readFile(keyFile, "private key") : undefined,
    passphrase: pass || undefined,
    rejectUnauthorized: true,
    checkServerIdentity: () => undefined,
  };
}

/** Validates the whole TLS configuration by building both contexts (throws TlsConfigError or node's error). */
function buildContexts(c: Config): tls.SecureContextOptions {
  const opts = serverContextOptions(c);
  tls.createSecureContext(opts);
  const client = clientConnectOptions(c);
  tls.createSecureContext(client);
  return opts;
}

function logConfigError(e: unknown): void {
  if (e instanceof TlsConfigError) log("warning", e.message);
  else log("warning", `Failed to configure TLS: ${(e as Error).message}`);
}

export class Tls {
  /** The tls-port's listening sockets, one per bind address. */
  private listeners?: ListenerGroup;
  /** The last context options that built (the listener keeps using them when a change fails). */
  private options?: tls.SecureContextOptions;
  /** The cluster bus's TLS listening sockets (tls-cluster yes), which get each rebuilt context too. */
  private readonly busServers = new Set<tls.Server>();
  /** Session-ID resumption for the listener (tls-session-caching, -cache-size, -cache-timeout). */
  readonly sessions: TlsSessionCache;

  constructor(private readonly server: Server) {
    const c = server.config;
    this.sessions = new TlsSessionCache(() => ({
      enabled: c.getBool("tls-session-caching"),
      size: c.getNumber("tls-session-cache-size"),
      timeoutSec: c.getNumber("tls-session-cache-timeout"),
    }));
    c.onApply("tls-session-caching", (cfg) => { if (!cfg.getBool("tls-session-caching")) this.sessions.clear(); });
    // A host-name bind-source-addr for dial(), resolved ahead (src/server/source-addr.ts).
    resolveSourceAddr(c.getString("bind-source-addr"));
    c.onApply("bind-source-addr", (cfg) => resolveSourceAddr(cfg.getString("bind-source-addr")));
    const reconfigure = (cfg: Config) => {
      if (cfg.getNumber("tls-port") === 0 && !cfg.getBool("tls-replication") && !cfg.getBool("tls-cluster")) return;
      this.configure();
    };
    for (const name of CONTEXT_DIRECTIVES) c.onApply(name, reconfigure);
    c.onApply("tls-port", (cfg) => this.changePort(cfg.getNumber("tls-port")));
    // Read for each new connection, as Redis reads it in connTLSAccept (no context rebuild).
    c.onApply("tls-auth-clients", () => { for (const srv of this.servers()) this.applyAuthClients(srv); });
  }

  /** True once a context has been built (Redis's isTlsConfigured). */
  get configured(): boolean { return this.options !== undefined; }

  /** Builds the contexts from the config and installs them; throws UPDATE_FAILED (logged) when it cannot. */
  configure(): void {
    let opts: tls.SecureContextOptions;
    try {
      opts = buildContexts(this.server.config);
    } catch (e) {
      logConfigError(e);
      throw new Error(UPDATE_FAILED);
    }
    this.options = opts;
    for (const srv of [...this.servers(), ...this.busServers]) srv.setSecureContext(opts);
  }

  private servers(): tls.Server[] {
    return (this.listeners?.servers ?? []) as tls.Server[];
  }

  /** Start-up: listens on tls-port (when set) after configuring TLS. Rejects with a reason to log. */
  async start(bind: string): Promise<void> {
    const c = this.server.config;
    const port = c.getNumber("tls-port");
    if (port === 0 && !c.getBool("tls-replication") && !c.getBool("tls-cluster")) return;
    try {
      this.options = buildContexts(c);
    } catch (e) {
      logConfigError(e);
      throw new TlsStartError("Failed to configure TLS. Check logs for more info.");
    }
    if (port === 0) return;
    try {
      await this.listen(port, bind);
    } catch (e) {
      throw Object.assign(e as Error, { tlsPort: port });
    }
  }

  /** The port the TLS listener is bound to (0: none). */
  get port(): number { return this.listeners?.port ?? 0; }

  /** The bind addresses the tls-port listens on (undefined: not listening). */
  get bind(): string | undefined { return this.listeners?.bind; }

  /** Listens on `port` at every address of `bind` (also CONFIG SET bind: src/server/bind.ts). */
  async listen(port: number, bind: string): Promise<void> {
    this.listeners = await listenAll(() => this.createListener(), port, bind, "TLS");
  }

  private createListener(): tls.Server {
    const srv = tls.createServer({ ...this.options });
    this.applyAuthClients(srv);
    srv.on("secureConnection", (sock: tls.TLSSocket) => {
      // "optional": a client that shows a certificate must show a valid one.
      if (this.server.config.get("tls-auth-clients") === "optional" && !sock.authorized &&
          sock.authorizationError !== undefined && hasPeerCertificate(sock)) {
        log("verbose", `Error accepting a client connection: ${sock.authorizationError}`);
        sock.destroy();
        return;
      }
      this.server.accept(sock);
    });
    srv.on("newSession", (id: Buffer, data: Buffer, done: () => void) => {
      this.sessions.store(id, data);
      done();
    });
    srv.on("resumeSession", (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      done(null, this.sessions.fetch(id));
    });
    srv.on("tlsClientError", (err) => {
      log("verbose", `Error accepting a client connection: ${err.message}`);
    });
    return srv;
  }

  /**
   * A listening socket for the cluster bus (src/cluster/bus.ts): plain TCP, or with
   * tls-cluster yes TLS from the server context that always requires a valid client
   * certificate: Redis accepts bus links with TLS_CLIENT_AUTH_YES whatever
   * tls-auth-clients says, since only nodes of the cluster may talk on the bus.
   */
  createBusListener(onSocket: (socket: net.Socket) => void): net.Server {
    if (!this.server.config.getBool("tls-cluster")) return net.createServer(onSocket);
    const srv = tls.createServer({ ...this.options, requestCert: true, rejectUnauthorized: true }, onSocket);
    srv.on("tlsClientError", (err) => log("verbose", `Error accepting cluster node connection: ${err.message}`));
    this.busServers.add(srv);
    srv.on("close", () => this.busServers.delete(srv));
    return srv;
  }

  private applyAuthClients(srv: tls.Server): void {
    const mode = this.server.config.get("tls-auth-clients");
    // node's tls.Server reads these two fields for every connection it wraps.
    const live = srv as unknown as { requestCert: boolean; rejectUnauthorized: boolean };
    live.requestCert = mode !== "no";
    live.rejectUnauthorized = mode === "yes";
  }

  /**
   * CONFIG SET tls-port (Redis's applyTLSPort → changeListenPort): configures TLS if it was
   * not, binds the new port and only then closes the old listener, so a port that cannot be
   * bound leaves the old one serving (CONFIG SET's rollback then asks for the port still
   * listened on: a no-op). CONFIG SET answers once binding is done (noteListenerMove).
   */
  private changePort(port: number): void {
    if (!this.server.listening) return; // start-up: start() does it
    if (!this.configured) this.configure();
    const server = this.server;
    if (port !== 0 && port === this.port) return;
    if (port === 0) {
      void this.close();
      server.port = server.tcpPort;
      return;
    }
    const old = this.listeners;
    const bound = listenAll(() => this.createListener(), port, server.config.getString("bind"), "TLS").then((group) => {
      void old?.close();
      this.listeners = group;
      server.port = server.tcpPort || this.port;
    });
    noteListenerMove(server, "tls-port", this.port, bound);
  }

  /** Stops listening (at once: a handshake still under way must not hold up shutdown). */
  close(): Promise<void> {
    void this.listeners?.close();
    this.listeners = undefined;
    return Promise.resolve();
  }

  /**
   * Opens a link to another server (a replica's link to its master): TLS when
   * tls-replication is on, plain TCP otherwise.
   */
  dial(port: number, host: string, useTls: boolean): net.Socket {
    // bind-source-addr: the local address outgoing links connect from, when it can be bound
    // (Redis's anetTcpNonBlockBestEffortBindConnect: src/server/source-addr.ts).
    const localAddress = sourceAddressFor(this.server.config.getString("bind-source-addr"), host);
    if (!useTls) return net.connect({ port, host, localAddress });
    let opts: tls.ConnectionOptions;
    try {
      opts = clientConnectOptions(this.server.config);
    } catch (e) {
      logConfigError(e);
      opts = {};
    }
    // (node passes socket.connect options such as localAddress through; its types omit them)
    return tls.connect({ ...opts, port, host, localAddress } as tls.ConnectionOptions);
  }
}

/** The start-up failure Redis reports before exiting. */
export class TlsStartError extends StartupError {}

function hasPeerCertificate(sock: tls.TLSSocket): boolean {
  const cert = sock.getPeerCertificate();
  return cert !== null && Object.keys(cert).length > 0;
}

const states = new WeakMap<Server, Tls>();

export function tlsOf(server: Server): Tls {
  let t = states.get(server);
  if (!t) states.set(server, (t = new Tls(server)));
  return t;
}

/** A replica's connection to its master: TLS with tls-replication yes (src/repl/replica-link.ts). */
export function dialMaster(server: Server, port: number, host: string): net.Socket {
  return tlsOf(server).dial(port, host, server.config.getBool("tls-replication"));
}

/**
 * Listener moves CONFIG SET started (port, tls-port). Node binds asynchronously, so CONFIG
 * SET waits for them before it answers, as Redis's synchronous changeListenPort does: OK,
 * or "Unable to listen on this port" with the directive back at its old value.
 */
const pendingMoves = new WeakMap<Server, { name: string; old: number | string; done: Promise<void>; error: string }[]>();

export function noteListenerMove(server: Server, name: string, old: number | string, done: Promise<void>,
  error = "Unable to listen on this port. Check server logs."): void {
  done.catch(() => { /* reported by replyAfterListenerMoves */ });
  const list = pendingMoves.get(server) ?? [];
  list.push({ name, old, done, error });
  pendingMoves.set(server, list);
}

/** After a successful CONFIG SET: true when it answers later, once the listeners are bound. */
export function replyAfterListenerMoves(server: Server, client: Client, before: [string, string][] = []): boolean {
  const moves = pendingMoves.get(server);
  pendingMoves.delete(server);
  if (!moves?.length || client.denyBlocking) return false;
  client.blocked = true;
  void Promise.allSettled(moves.map((m) => m.done)).then((results) => {
    const failed = moves.filter((_, i) => results[i].status === "rejected");
    // Back to the port still listened on (its move is a no-op then), and every other value
    // the same CONFIG SET changed back to what it was (Redis's rollback on apply error).
    for (const m of failed) server.config.setMany([[m.name, String(m.old)]]);
    if (failed.length && before.length) server.config.setMany(before.filter(([n]) => !moves.some((m) => m.name === n)));
    pendingMoves.delete(server);
    client.blocked = false;
    if (failed.length) {
      client.reply.error(`CONFIG SET failed (possibly related to argument '${failed[0].name}') - ${failed[0].error}`);
    } else client.reply.ok();
    client.flushAndMaybeClose();
    client.resumeInput();
  });
  return true;
}

/**
 * MIGRATE's link to its target: TLS options with tls-cluster yes (Redis's migrateGetSocket
 * uses connCreateTLS then), null for plain TCP. Throws when the client side cannot be built.
 */
export function migrateTlsOptions(server: Server): tls.ConnectionOptions | null {
  if (!server.config.getBool("tls-cluster")) return null;
  try {
    return clientConnectOptions(server.config);
  } catch (e) {
    logConfigError(e);
    throw e;
  }
}

/**
 * The port a replica announces with REPLCONF listening-port (Redis's syncWithMaster):
 * replica-announce-port when set, else the tls-port when the link itself is TLS
 * (tls-replication yes), else the plain port.
 */
export function replicaAnnouncedPort(server: Server): number {
  const c = server.config;
  const announce = c.getNumber("replica-announce-port");
  if (announce) return announce;
  const tlsPort = tlsOf(server).port || c.getNumber("tls-port");
  if (c.getBool("tls-replication") && tlsPort) return tlsPort;
  return server.port;
}
