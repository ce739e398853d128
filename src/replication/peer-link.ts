// Peer links over TCP: the replication bus. A node listens on its bus port (crdt-bus-port)
// and opens one outbound connection to every peer's bus port. Frames are u32 length +
// payload; the first frame on a connection is HELLO with the sender's node id, every later
// frame is a gossip message (gossip.ts). Deltas and digests a node originates travel on its
// outbound connection; the peer answers (acks, ranges) on the same connection.
//
// A link that drops reconnects with exponential backoff; gossip resends what was not
// acknowledged. Malformed input closes the connection, never the server.
//
// Authentication (crdt-secret): with a shared secret configured, HELLO also carries a nonce
// and an HMAC-SHA256 of (node id, nonce) under the secret. The listener closes a connection
// whose first frame is not a HELLO with a valid proof, and answers with its own; an outbound
// link sends nothing and accepts nothing until the listener's HELLO proves the secret too.
// The secret itself never crosses the wire; the traffic is not encrypted.
import net from "node:net";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Gossip } from "./gossip.js";
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

function proof(secret: string, nodeId: string, nonce: Buffer): Buffer {
  return createHmac("sha256", secret).update("latticekv-crdt-hello\0").update(nodeId, "utf8").update("\0").update(nonce).digest();
}

function hello(nodeId: string, secret: string): Buffer {
  const w = new Writer();
  w.u8(MSG_HELLO);
  w.node(nodeId);
  if (secret) { const nonce = randomBytes(16); w.bytes(nonce); w.bytes(proof(secret, nodeId, nonce)); }
  return frame(w.done());
}

/** Reads a HELLO frame: the node id, or null when a secret is set and the proof is missing or wrong. */
function readHello(f: Buffer, secret: string): string | null {
  const r = new Reader(f);
  if (r.u8() !== MSG_HELLO) return null;
  const id = r.node();
  if (!secret) return id;
  try {
    const nonce = r.bytes(), mac = r.bytes();
    const want = proof(secret, id, nonce);
    return mac.length === want.length && timingSafeEqual(mac, want) ? id : null;
  } catch {
    return null;
  }
}

/** One configured peer: an outbound connection kept up with backoff. */
export class PeerLink {
  private sock?: net.Socket;
  private retryMs = 100;
  private timer?: NodeJS.Timeout;
  private closed = false;
  connected = false;
  remoteId = "";

  constructor(readonly host: string, readonly port: number, private readonly gossip: Gossip, private readonly nodeId: string,
              private readonly secret = "") {
    gossip.addPeer(this.key, (m) => this.send(m)).reset = () => this.sock?.destroy();
    this.connect();
  }

  get key(): string { return `${this.host}:${this.port}`; }

  private send(m: Buffer): void {
    if (this.connected && this.sock) this.sock.write(frame(m));
  }

  private connect(): void {
    if (this.closed) return;
    const sock = net.connect({ host: this.host, port: this.port });
    this.sock = sock;
    sock.setNoDelay(true);
    let proven = !this.secret;
    const up = () => {
      this.connected = true;
      this.retryMs = 100;
      const p = this.gossip.peers.get(this.key);
      if (p) { p.connected = true; this.gossip.antiEntropyWith(p); }
    };
    const reader = new FrameReader((f) => {
      if (f[0] === MSG_HELLO) {
        const id = readHello(f, this.secret);
        if (id === null) throw new Error("peer failed authentication");
        this.remoteId = id;
        if (!proven) { proven = true; up(); }
        return;
      }
      if (!proven) throw new Error("message before authentication");
      this.gossip.onMessage(this.key, f, (m) => this.send(m));
    });
    sock.on("connect", () => {
      sock.write(hello(this.nodeId, this.secret));
      if (proven) up(); // no secret: the link is up at once
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

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.sock?.destroy();
    this.gossip.removePeer(this.key);
  }
}

/** The bus listener: inbound connections from peers' outbound links. */
export function listenBus(gossip: Gossip, nodeId: string, host: string | undefined, port: number, secret = ""): Promise<net.Server> {
  const srv = net.createServer((sock) => {
    sock.setNoDelay(true);
    let from = "";
    const reply = (m: Buffer) => { if (!sock.destroyed) sock.write(frame(m)); };
    const reader = new FrameReader((f) => {
      if (!from) {
        const id = readHello(f, secret);
        if (id === null) throw new Error("expected an authenticated HELLO");
        from = id || "?";
        sock.write(hello(nodeId, secret));
        return;
      }
      gossip.onMessage(`in:${from}`, f, reply);
    });
    sock.on("data", (d) => {
      try { reader.push(d); } catch { sock.destroy(); }
    });
    sock.on("error", () => {});
  });
  return new Promise((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(port, host, () => { srv.off("error", reject); resolve(srv); });
  });
}
