// Peer links: the replication bus. A node listens on its bus port (crdt-bus-port) and opens
// one outbound connection to every peer's bus port. Frames are u32 length + payload; the
// first frame on a connection is HELLO with the sender's node id, every later frame is a
// gossip message (gossip.ts). Deltas and digests a node originates travel on its outbound
// connection; the peer answers (acks, ranges) on the same connection.
//
// A link that drops reconnects with exponential backoff; gossip resends what was not
// acknowledged. Malformed input closes the connection, never the server.
//
// TLS (tls-replication yes): outbound links are TLS (the server's client-side options,
// src/server/tls.ts: the listener's certificate is checked against tls-ca-cert-file/dir) and
// the listener is a TLS server with the server's certificate that asks connecting peers for
// theirs as tls-auth-clients says (default yes: a peer without a certificate the CA signed
// fails the handshake before any frame).
//
// Authentication, both optional and independent of TLS:
// - crdt-secret: HELLO also carries a nonce and an HMAC-SHA256 of (node id, nonce) under the
//   shared secret. The listener closes a connection whose HELLO lacks a valid proof, and
//   answers with its own; an outbound link sends nothing and accepts nothing until the
//   listener's HELLO proves the secret too. The secret itself never crosses the wire.
// - ACL (crdt-user / crdt-password, like masteruser / masterauth): the listener checks the
//   user and password in HELLO against its ACL users exactly as AUTH would (no credentials =
//   the default user with no password, which passes only while the default user is nopass),
//   and the user must be allowed to run CRDT.PEER. The password crosses the wire as Redis's
//   AUTH does: encrypted only over TLS.
import net from "node:net";
import tls from "node:tls";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Gossip, Send } from "./gossip.js";
import { Reader, Writer } from "./codec.js";

const MSG_HELLO = 0;
const MAX_FRAME = 512 << 20;

function frame(payload: Buffer): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32LE(payload.length, 0);
  return Buffer.concat([head, payload]);
}

/** Splits a byte stream into frames. */
class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  constructor(private readonly onFrame: (f: Buffer) => void) {}
  push(d: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    while (this.buf.length >= 4) {
      const n = this.buf.readUInt32LE(0);
      if (n > MAX_FRAME) throw new Error("replication frame too large");
      if (this.buf.length < 4 + n) return;
      const f = this.buf.subarray(4, 4 + n);
      this.buf = this.buf.subarray(4 + n);
      this.onFrame(f);
    }
  }
}

/** Calls go once the socket's buffer has drained (or the socket is gone). */
function afterDrain(sock: net.Socket, go: () => void): void {
  if (sock.destroyed || !sock.writableNeedDrain) { setImmediate(go); return; }
  const done = () => { sock.off("drain", done); sock.off("close", done); go(); };
  sock.on("drain", done);
  sock.on("close", done);
}

function proof(secret: string, nodeId: string, nonce: Buffer): Buffer {
  return createHmac("sha256", secret).update("latticekv-crdt-hello\0").update(nodeId, "utf8").update("\0").update(nonce).digest();
}

/** HELLO flags: which optional parts follow the node id. */
const HELLO_PROOF = 1, HELLO_USER = 2;

/** What a node proves about itself on connecting. */
export interface Credentials { secret: string; user: string; password: string }

export const NO_CREDENTIALS: Credentials = { secret: "", user: "", password: "" };

function hello(nodeId: string, cred: Credentials, withUser: boolean): Buffer {
  const w = new Writer();
  w.u8(MSG_HELLO);
  w.node(nodeId);
  const user = withUser && (cred.user !== "" || cred.password !== "");
  w.u8((cred.secret ? HELLO_PROOF : 0) | (user ? HELLO_USER : 0));
  if (cred.secret) { const nonce = randomBytes(16); w.bytes(nonce); w.bytes(proof(cred.secret, nodeId, nonce)); }
  if (user) { w.bytes(Buffer.from(cred.user || "default", "utf8")); w.bytes(Buffer.from(cred.password, "utf8")); }
  return frame(w.done());
}

interface Hello { id: string; user?: Buffer; password?: Buffer }

/** Reads a HELLO frame, or null when a secret is set and the proof is missing or wrong (or it is malformed). */
function readHello(f: Buffer, secret: string): Hello | null {
  try {
    const r = new Reader(f);
    if (r.u8() !== MSG_HELLO) return null;
    const id = r.node();
    const flags = r.u8();
    const out: Hello = { id };
    if (flags & HELLO_PROOF) {
      const nonce = r.bytes(), mac = r.bytes();
      const want = secret ? proof(secret, id, nonce) : undefined;
      if (want && !(mac.length === want.length && timingSafeEqual(mac, want))) return null;
    } else if (secret) return null;
    if (flags & HELLO_USER) { out.user = r.bytes(); out.password = r.bytes(); }
    return out;
  } catch {
    return null;
  }
}

/** How outbound links connect: plain TCP, or TLS with the server's client-side options. */
export interface Dialer { dial(port: number, host: string): net.Socket; secure: boolean }

const PLAIN: Dialer = { dial: (port, host) => net.connect({ port, host }), secure: false };

/** One configured peer: an outbound connection kept up with backoff. */
export class PeerLink {
  private sock?: net.Socket;
  private retryMs = 100;
  private timer?: NodeJS.Timeout;
  private closed = false;
  connected = false;
  remoteId = "";

  constructor(readonly host: string, readonly port: number, private readonly gossip: Gossip, private readonly nodeId: string,
              private readonly cred: Credentials = NO_CREDENTIALS, private readonly dialer: Dialer = PLAIN) {
    gossip.addPeer(this.key, this.outlet).reset = () => this.sock?.destroy();
    this.connect();
  }

  /** How gossip sends on this link: the current connection, with its buffer's state (gossip.ts Send). */
  private readonly outlet: Send = Object.assign((m: Buffer) => this.send(m), {
    backlogged: () => !!this.sock && this.connected && this.sock.writableNeedDrain,
    whenDrained: (go: () => void) => { if (this.sock) afterDrain(this.sock, go); else setImmediate(go); },
    closed: () => !this.connected,
  });

  get key(): string { return `${this.host}:${this.port}`; }

  private send(m: Buffer): void {
    if (this.connected && this.sock) this.sock.write(frame(m));
  }

  private connect(): void {
    if (this.closed) return;
    const sock = this.dialer.dial(this.port, this.host);
    this.sock = sock;
    sock.setNoDelay(true);
    // The link is up once the listener's HELLO arrives (with a secret, proving it): that is
    // when the listener has accepted us — our certificate, secret and ACL user (a TLS 1.3
    // client finishes its handshake before the server has checked the client's certificate).
    let proven = false;
    const up = () => {
      this.connected = true;
      this.retryMs = 100;
      const p = this.gossip.peers.get(this.key);
      if (p) { p.connected = true; p.connects++; if (p.expired === undefined) this.gossip.antiEntropyWith(p); } // (an expired incarnation gets nothing)
    };
    const reader = new FrameReader((f) => {
      if (f[0] === MSG_HELLO) {
        const h = readHello(f, this.cred.secret);
        if (h === null) throw new Error("peer failed authentication");
        this.remoteId = h.id;
        this.gossip.linkIdentified(this.key, h.id);
        if (!proven) { proven = true; up(); }
        return;
      }
      if (!proven) throw new Error("message before authentication");
      this.gossip.onMessage(this.key, f, this.outlet);
    });
    // (over TLS, nothing is sent before the handshake proved the listener's certificate)
    sock.on(this.dialer.secure ? "secureConnect" : "connect", () => {
      sock.write(hello(this.nodeId, this.cred, true));
    });
    sock.on("data", (d) => {
      try { reader.push(d); } catch { sock.destroy(); }
    });
    sock.on("error", () => {});
    sock.on("close", () => {
      this.connected = false;
      const p = this.gossip.peers.get(this.key);
      if (p) p.connected = false;
      if (this.closed) return;
      this.timer = setTimeout(() => this.connect(), this.retryMs);
      this.timer.unref();
      this.retryMs = Math.min(5000, this.retryMs * 2);
    });
  }

  /**
   * Drops the connection and dials again (CONFIG SET tls-replication: the next connection
   * is made in the new mode, the dialer says which).
   */
  redial(): void {
    if (this.closed) return;
    this.retryMs = 100;
    if (this.sock && !this.sock.destroyed) { this.sock.destroy(); return; } // (its close handler dials again)
    if (this.timer) clearTimeout(this.timer);
    this.connect();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.sock?.destroy();
    this.gossip.removePeer(this.key);
  }
}

/** What the bus listener accepts. */
export interface BusOptions {
  secret: string;
  /** TLS server options (tls-replication yes); undefined = plain TCP. */
  tls?: tls.TlsOptions;
  /** Checks HELLO's user and password (undefined: no user given); a string says why it is refused. */
  checkUser?: (user: Buffer | undefined, password: Buffer | undefined) => string | null;
  /** Logs a refused peer. */
  refused?: (why: string) => void;
}

/** Each bus listener's open connections (closeBus ends them with it). */
const busConnections = new WeakMap<net.Server, Set<net.Socket>>();

/** Closes a bus listener and every connection it accepted. */
export function closeBus(srv: net.Server): Promise<void> {
  for (const s of busConnections.get(srv) ?? []) s.destroy();
  return new Promise((r) => srv.close(() => r()));
}

/** The bus listener: inbound connections from peers' outbound links. */
export function listenBus(gossip: Gossip, nodeId: string, host: string | undefined, port: number,
  opts: BusOptions = { secret: "" }): Promise<net.Server> {
  const open = new Set<net.Socket>();
  const onConnection = (sock: net.Socket) => {
    open.add(sock);
    sock.on("close", () => open.delete(sock));
    sock.setNoDelay(true);
    let from = "";
    const reply: Send = Object.assign((m: Buffer) => { if (!sock.destroyed) sock.write(frame(m)); }, {
      backlogged: () => sock.writableNeedDrain,
      whenDrained: (go: () => void) => afterDrain(sock, go),
      closed: () => sock.destroyed,
    });
    const reader = new FrameReader((f) => {
      if (!from) {
        const h = readHello(f, opts.secret);
        if (h === null) throw new Error("expected an authenticated HELLO");
        const why = opts.checkUser?.(h.user, h.password) ?? null;
        if (why !== null) throw new Error(why);
        from = h.id || "?";
        gossip.linkIdentified(`in:${from}`, from);
        sock.write(hello(nodeId, { secret: opts.secret, user: "", password: "" }, false));
        return;
      }
      gossip.onMessage(`in:${from}`, f, reply);
    });
    sock.on("data", (d) => {
      try { reader.push(d); } catch (e) { opts.refused?.((e as Error).message); sock.destroy(); }
    });
    sock.on("error", () => {});
  };
  const srv = opts.tls
    ? tls.createServer(opts.tls, onConnection).on("tlsClientError", (e) => opts.refused?.(`TLS handshake failed: ${e.message}`))
    : net.createServer(onConnection);
  busConnections.set(srv, open);
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, host, () => { srv.off("error", reject); resolve(srv); });
  });
}
