// A client connection's TCP options: TCP_NODELAY and, when tcp-keepalive is above 0, keepalive
// (Redis's anetEnableTcpNoDelay and anetKeepAlive on every accepted socket), set once on the
// listening socket instead of on each connection where the kernel hands them down.
//
// Linux copies a listening socket's TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, TCP_KEEPINTVL and
// TCP_KEEPCNT to every socket it accepts, and arms an accepted socket's keepalive timer when it
// inherits SO_KEEPALIVE. Set per connection they were five setsockopt calls and two calls into
// the socket's handle for every client that connects (redis-benchmark -k 0, a connection per
// request: docs/speed-history.md). So the first plain TCP connection of a listener gets them
// per socket and sets them on the listener; the next ones inherit them, until CONFIG SET
// tcp-keepalive changes the value (Redis applies it to new connections too): the next
// connection then gets its own again and resets the listener's.
import type { Server as NetServer, Socket } from "node:net";

interface TcpHandle {
  setNoDelay(on: boolean): number;
  setKeepAlive(on: boolean, delaySeconds: number): number;
  constructor: { name: string };
}

/** The tcp-keepalive value each listener's accepted sockets inherit (absent: nothing is set on it). */
const inherited = new WeakMap<NetServer, number>();

const INHERITS = process.platform === "linux";

function tcpHandle(o: unknown): TcpHandle | null {
  const h = (o as { _handle?: TcpHandle | null })._handle;
  return h && h.constructor?.name === "TCP" && typeof h.setNoDelay === "function" &&
    typeof h.setKeepAlive === "function" ? h : null;
}

/** Gives an accepted socket TCP_NODELAY and tcp-keepalive's keepalive (seconds; 0: none). */
export function setClientSocketOptions(sock: Socket, keepalive: number): void {
  const listener = (sock as Socket & { server?: NetServer | null }).server ?? null;
  const own = listener !== null ? tcpHandle(sock) : null;
  if (own === null) {
    // TLS (its handle is the TLS wrap), unix sockets, sockets not from a listener.
    sock.setNoDelay(true);
    if (keepalive > 0) sock.setKeepAlive(true, keepalive * 1000);
    return;
  }
  const had = inherited.get(listener!);
  if (had === keepalive) return; // the kernel copied the listener's
  // The listener's options as they were when this socket was accepted: set its own.
  own.setNoDelay(true);
  if (keepalive > 0 || (had !== undefined && had > 0)) own.setKeepAlive(keepalive > 0, keepalive);
  if (!INHERITS) return;
  const lh = tcpHandle(listener);
  if (lh !== null && lh.setNoDelay(true) === 0 && lh.setKeepAlive(keepalive > 0, keepalive) === 0) {
    inherited.set(listener!, keepalive);
  } else {
    inherited.delete(listener!);
  }
}
