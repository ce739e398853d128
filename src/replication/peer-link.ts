// Peer links over TCP: the replication bus. A node listens on its bus port (crdt-bus-port)
// and opens one outbound connection to every peer's bus port. Frames are u32 length +
// payload; the first frame on a connection is HELLO with the sender's node id, every later
// frame is a gossip message (gossip.ts). Deltas and digests a node originates travel on its
// outbound connection; the peer answers (acks, ranges) on the same connection.
//
// A link that drops reconnects with exponential backoff; gossip resends what was not
// acknowledged. Malformed input closes the connection, never the server.
import net from "node:net";
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

function hello(nodeId: string): Buffer {
  const w = new Writer();
  w.u8(MSG_HELLO);
  w.node(nodeId);
  return frame(w.done());
}

/** One configured peer: an outbound connection kept up with backoff. */
export class PeerLink {
  private sock?: net.Socket;
  private retryMs = 100;
  private timer?: NodeJS.Timeout;
  private closed = false;
  connected = false;
  remoteId = "";

  constructor(readonly host: string, readonly port: number, private readonly gossip: Gossip, private readonly nodeId: string) {
    gossip.addPeer(this.key, (m) => this.send(m));
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
    const reader = new FrameReader((f) => {
      const r = new Reader(f);
      if (f[0] === MSG_HELLO) { r.u8(); this.remoteId = r.node(); return; }
      this.gossip.onMessage(this.key, f, (m) => this.send(m));
    });
    sock.on("connect", () => {
      this.connected = true;
      this.retryMs = 100;
      sock.write(hello(this.nodeId));
      const p = this.gossip.peers.get(this.key);
      if (p) { p.connected = true; this.gossip.antiEntropyWith(p); }
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
export function listenBus(gossip: Gossip, nodeId: string, host: string | undefined, port: number): Promise<net.Server> {
  const srv = net.createServer((sock) => {
    sock.setNoDelay(true);
    let from = "";
    const reply = (m: Buffer) => { if (!sock.destroyed) sock.write(frame(m)); };
    const reader = new FrameReader((f) => {
      if (!from) {
        const r = new Reader(f);
        if (r.u8() !== MSG_HELLO) throw new Error("expected HELLO");
        from = r.node() || "?";
        sock.write(hello(nodeId));
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
