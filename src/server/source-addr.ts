// bind-source-addr, best effort: outgoing links (a replica's link to its master, the cluster
// bus, src/server/tls.ts's dial) connect from that local address when this machine can bind
// it, and from no particular address otherwise, as Redis's
// anetTcpNonBlockBestEffortBindConnect retries without the source address when binding it
// fails. Node reports a failed bind only as the connection's error, so the check is made up
// front: the address must be one of this machine's interface addresses (any address of a
// loopback network, which Linux lets a socket bind: 127.0.0.2), or a wildcard, and of the
// same family as the address connected to.
import net from "node:net";
import { networkInterfaces } from "node:os";

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
  if (bindSourceAddr === "" || net.isIP(bindSourceAddr) === 0) return undefined;
  const hostFamily = net.isIP(host);
  if (hostFamily !== 0 && hostFamily !== net.isIP(bindSourceAddr)) return undefined;
  return isLocal(bindSourceAddr) ? bindSourceAddr : undefined;
}
