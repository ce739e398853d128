// bind-source-addr, best effort: outgoing links (a replica's link to its master, the cluster
// bus, src/server/tls.ts's dial) connect from that local address when this machine can bind
// it, and from no particular address otherwise, as Redis's
// anetTcpNonBlockBestEffortBindConnect retries without the source address when binding it
// fails. Node reports a failed bind only as the connection's error, so the check is made up
// front: the address must be one of this machine's interface addresses (any address of a
// loopback network, which Linux lets a socket bind: 127.0.0.2), or a wildcard, and of the
// same family as the address connected to.
//
// A host name (Redis passes it to getaddrinfo and binds the first address that binds) is
// resolved when the directive is set (resolveSourceAddr: at start and on CONFIG SET) and again
// after each use, as Node resolves only asynchronously and dial() must return its socket now;
// until the first answer, links connect from no particular address (the best-effort fallback).
import net from "node:net";
import { lookup } from "node:dns";
import { networkInterfaces } from "node:os";

/** bind-source-addr host names and the addresses they last resolved to. */
const resolved = new Map<string, string[]>();

/** Starts resolving a host-name bind-source-addr (nothing to do for an address or ""). */
export function resolveSourceAddr(name: string): void {
  if (name === "" || net.isIP(name) !== 0) return;
  lookup(name, { all: true }, (err, addrs) => {
    if (err) resolved.delete(name);
    else resolved.set(name, addrs.map((a) => a.address));
  });
}

function isLocal(addr: string): boolean {
  if (addr === "0.0.0.0" || addr === "::") return true;
  const family = net.isIPv6(addr) ? "ipv6" : "ipv4";
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) {
      if (i.address === addr) return true;
      if (!i.internal || !i.cidr) continue;
      const [base, bits] = i.cidr.split("/");
      const blocks = new net.BlockList();
      const ifFamily = net.isIPv6(base) ? "ipv6" : "ipv4";
      if (ifFamily !== family) continue;
      blocks.addSubnet(base, Number(bits), ifFamily);
      if (blocks.check(addr, family)) return true;
    }
  }
  return false;
}

/** The local address to connect to `host` from: bind-source-addr when usable, else undefined. */
export function sourceAddressFor(bindSourceAddr: string, host: string): string | undefined {
  if (bindSourceAddr === "") return undefined;
  if (net.isIP(bindSourceAddr) === 0) {
    const addrs = resolved.get(bindSourceAddr) ?? [];
    resolveSourceAddr(bindSourceAddr); // fresh for the next link
    return addrs.map((a) => usable(a, host)).find((a) => a !== undefined);
  }
  return usable(bindSourceAddr, host);
}

function usable(addr: string, host: string): string | undefined {
  const hostFamily = net.isIP(host);
  if (hostFamily !== 0 && hostFamily !== net.isIP(addr)) return undefined;
  return isLocal(addr) ? addr : undefined;
}
