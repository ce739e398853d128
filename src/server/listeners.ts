// Listening on every address of the `bind` directive (Redis's listenToPort): the plain port
// and the tls-port each get one listening socket per address. An address prefixed with "-"
// is optional: it is skipped when the machine does not have it (EADDRNOTAVAIL) or the
// protocol is unsupported, as Redis skips it. "*" is every IPv4 address, "::*" every IPv6
// address (IPv6 only, so "* ::*" does not bind 0.0.0.0 twice). An empty bind list listens
// nowhere (clients can still come in over the unix socket in Redis).
import net from "node:net";
import { log } from "./log.js";

export interface BindAddress { host: string; ipv6Only: boolean; optional: boolean; text: string }

/** The bind directive's value as addresses to listen on. */
export function parseBind(value: string): BindAddress[] {
  return value.split(/\s+/).filter(Boolean).map((word) => {
    const optional = word.startsWith("-");
    const text = optional ? word.slice(1) : word;
    if (text === "*") return { host: "0.0.0.0", ipv6Only: false, optional, text };
    if (text === "::*") return { host: "::", ipv6Only: true, optional, text };
    return { host: text, ipv6Only: false, optional, text };
  });
}

/** Errors that skip an address instead of failing (Redis's listenToPort): a protocol this
 * machine lacks, always; an address it lacks, when optional. */
const UNSUPPORTED = new Set(["EAFNOSUPPORT", "EPROTONOSUPPORT", "ENOPROTOOPT", "ESOCKTNOSUPPORT", "EPFNOSUPPORT"]);

/** A start-up failure whose message is the line Redis logs before it exits (src/cli.ts). */
export class StartupError extends Error {}

/** The sockets one port listens on, one per bind address. */
export class ListenerGroup {
  constructor(readonly servers: net.Server[], readonly port: number, readonly bind: string) {}

  /** Stops listening at once (the ports are free when this returns). */
  close(): Promise<void> {
    return Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined);
  }
}

function listenOne(srv: net.Server, port: number, a: BindAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen({ port, host: a.host, ipv6Only: a.ipv6Only }, () => { srv.off("error", reject); resolve(); });
  });
}

/**
 * Listens on `port` at every address of `bind`, each socket from `create()`. Port 0 picks a
 * free port on the first address and uses it for the others. Rejects (with every socket it
 * opened closed again) when a required address cannot be bound; `what` names the listener
 * in the log line ("TCP" or "TLS"), as Redis's "Could not create server TCP listening socket".
 */
export async function listenAll(create: () => net.Server, port: number, bind: string, what: string): Promise<ListenerGroup> {
  const opened: net.Server[] = [];
  let bound = port;
  for (const a of parseBind(bind)) {
    const srv = create();
    try {
      await listenOne(srv, bound, a);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const code = err.code ?? "";
      const why = code === "EADDRINUSE" ? "Address already in use" : code === "EADDRNOTAVAIL" ? "Cannot assign requested address" : err.message;
      log("warning", `Warning: Could not create server ${what} listening socket ${a.text}:${port}: bind: ${why}`);
      if (UNSUPPORTED.has(code) || (a.optional && code === "EADDRNOTAVAIL")) continue;
      // A free port picked on the first address may be taken on an optional other one.
      if (a.optional && port === 0 && code === "EADDRINUSE") continue;
      await new ListenerGroup(opened, bound, bind).close();
      throw err;
    }
    srv.on("error", (e) => log("warning", `${what} listener ${a.text}:${bound}: ${e.message}`));
    opened.push(srv);
    if (bound === 0) bound = (srv.address() as net.AddressInfo).port;
  }
  return new ListenerGroup(opened, bound, bind);
}
