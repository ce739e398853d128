// CONFIG SET bind at run time (Redis's changeBindAddr): the plain port's and the tls-port's
// listening sockets are closed and opened again on the new addresses; connected clients
// stay. When a new address cannot be bound, the old addresses are listened on again and
// CONFIG SET answers "Failed to bind to specified addresses." with bind back at its old
// value (src/server/tls.ts replyAfterListenerMoves waits for the binds before it answers).
import net from "node:net";
import type { Server } from "./server.js";
import { listenAll } from "./listeners.js";
import { noteListenerMove, tlsOf } from "./tls.js";
import { log } from "./log.js";

export const BIND_FAILED = "Failed to bind to specified addresses.";

export function changeBindAddr(server: Server, bind: string): void {
  if (!server.listening) return; // start-up: listen() binds
  const tls = tlsOf(server);
  const tcp = server.tcpListener;
  const old = tcp?.bind ?? tls.bind;
  // The rollback of a failed change sets the value back: the old sockets are already back.
  if (old === undefined || old === bind) return;
  const tcpPort = tcp?.port ?? 0;
  const tlsPort = tls.port;
  void tcp?.close();
  server.tcpListener = undefined;
  void tls.close();
  const listen = async (addrs: string) => {
    if (tcp) server.tcpListener = await listenAll(() => net.createServer((s) => server.accept(s)), tcpPort, addrs, "TCP");
    if (tlsPort) {
      try {
        await tls.listen(tlsPort, addrs);
      } catch (e) {
        void server.tcpListener?.close();
        server.tcpListener = undefined;
        throw e;
      }
    }
  };
  noteListenerMove(server, "bind", old, listen(bind).catch(async (e: Error) => {
    log("warning", "Failed to bind");
    try {
      await listen(old);
    } catch (again) {
      log("warning", `Could not listen on the previous bind addresses again: ${(again as Error).message}`);
    }
    throw e;
  }), BIND_FAILED);
}
