// How a node's address is shown to clients (Redis 7.0's cluster-announce-hostname and
// cluster-preferred-endpoint-type): the endpoint in CLUSTER SLOTS, CLUSTER SHARDS and
// -MOVED / -ASK is the node's ip, its announced hostname ("?" when it has none), or "" for
// unknown-endpoint; CLUSTER SLOTS's metadata map holds the other known address (ip unless it
// is the endpoint, hostname when there is one and it is not the endpoint). A node announces
// its hostname in every bus header; CLUSTER NODES and nodes.conf show it as ip:port@cport,hostname.
import type { ClusterNode } from "./state.js";

interface Config { getString(name: string): string }

/** Redis's getPreferredEndpoint. */
export function preferredEndpoint(config: Config, n: ClusterNode): string {
  switch (config.getString("cluster-preferred-endpoint-type")) {
    case "hostname": return n.hostname ? n.hostname : "?";
    case "unknown-endpoint": return "";
    default: return n.ip;
  }
}

/** CLUSTER SLOTS's per-node metadata map (addNodeToNodeReply). */
export function endpointMetadata(config: Config, n: ClusterNode): [string, string][] {
  const type = config.getString("cluster-preferred-endpoint-type");
  const out: [string, string][] = [];
  if (type !== "ip") out.push(["ip", n.ip]);
  if (type !== "hostname" && n.hostname) out.push(["hostname", n.hostname]);
  return out;
}

/** cluster-announce-hostname's check (Redis's isValidAnnouncedHostname): the error, or null. */
export function announcedHostnameError(v: string): string | null {
  if (v.length >= 256) return "Hostnames must be less than 256 characters";
  if (!/^[a-zA-Z0-9.-]*$/.test(v)) return "Hostnames may only contain alphanumeric characters, hyphens or dots";
  return null;
}
