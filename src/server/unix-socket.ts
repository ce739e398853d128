// The unixsocket listener (Redis's unixsocket / unixsocketperm): clients on it are local
// (protected mode lets them in), CLIENT LIST shows them as addr=<path>:0 laddr=<path>:0 with
// flag U, and the socket file is removed at shutdown. Both directives are immutable.
import net from "node:net";
import { chmodSync, unlinkSync } from "node:fs";
import type { Server } from "./server.js";
import { log } from "./log.js";
import { TlsStartError } from "./tls.js";

/** The socket path, on sockets accepted from the unix socket. */
const UNIX_PATH = Symbol("unixsocket");

const listeners = new WeakMap<Server, { srv: net.Server; path: string }>();

/** The unix socket a client came in on, or undefined for a TCP/TLS client. */
export function unixSocketPath(sock: net.Socket): string | undefined {
  return (sock as net.Socket & { [UNIX_PATH]?: string })[UNIX_PATH];
}

/** Start-up: listens on unixsocket when set. Rejects with Redis's reason (the server exits). */
export async function listenUnixSocket(server: Server): Promise<void> {
  const path = server.config.getString("unixsocket");
  if (path === "") return;
  try { unlinkSync(path); } catch { /* no stale socket file */ }
  const srv = net.createServer((sock) => {
    (sock as net.Socket & { [UNIX_PATH]?: string })[UNIX_PATH] = path;
    server.accept(sock);
  });
  await new Promise<void>((resolve, reject) => {
    // A start-up failure the CLI logs as is before exiting (Redis: "Failed opening Unix socket").
    srv.once("error", (e) => reject(new TlsStartError(`Failed opening Unix socket: ${e.message}`)));
    srv.listen(path, () => resolve());
  });
  srv.on("error", (e) => log("warning", `Unix socket listener: ${e.message}`));
  const perm = server.config.getNumber("unixsocketperm");
  if (perm) chmodSync(path, perm);
  listeners.set(server, { srv, path });
  log("notice", `The server is now ready to accept connections at ${path}`);
}

/** Shutdown: stops listening and removes the socket file (as Redis's prepareForShutdown). */
export function closeUnixSocket(server: Server): void {
  const l = listeners.get(server);
  if (!l) return;
  listeners.delete(server);
  l.srv.close();
  try { unlinkSync(l.path); } catch { /* already gone */ }
}
