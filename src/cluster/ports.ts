// The ports a cluster node listens on and announces (Redis's deriveAnnouncedPorts), and which
// of a node's ports a client is shown. In a TLS cluster (tls-cluster yes) the bus is TLS and
// a node's `port` is its tls-port; its plain-text port travels on the bus as `pport`. A
// client on a plain-text connection is shown pport (when the node has one) in CLUSTER NODES,
// SLOTS, REPLICAS and MOVED/ASK redirects, a TLS client the tls-port (Redis's use_pport,
// decided by connGetType(c->conn)); CLUSTER SHARDS shows both, as "port" and "tls-port".
import tls from "node:tls";
import type { Config } from "../config/config.js";
import type { Client } from "../server/client.js";
import type { ClusterNode } from "./state.js";

/** Redis's CLUSTER_PORT_INCR: the bus port's default offset from the client port. */
export const CLUSTER_PORT_INCR = 10000;

export interface AnnouncedPorts { port: number; pport: number; cport: number }

/** The client port the cluster is built on: the tls-port with tls-cluster, else the plain port. */
function basePort(c: Config, plainPort: number, tlsPort: number): number {
  return c.getBool("tls-cluster") ? tlsPort : plainPort;
}

/** The port the bus listens on: cluster-port, else the base port + 10000. */
export function busListenPort(c: Config, plainPort: number, tlsPort: number): number {
  return c.getNumber("cluster-port") || basePort(c, plainPort, tlsPort) + CLUSTER_PORT_INCR;
}

/**
 * What this node announces on the bus and shows as itself (deriveAnnouncedPorts):
 * cluster-announce-tls-port (with tls-cluster) or cluster-announce-port override the client
 * port, cluster-announce-bus-port the bus port. With tls-cluster and
 * cluster-announce-tls-port set, pport is cluster-announce-port (0 when unset), as in Redis.
 */
export function deriveAnnouncedPorts(c: Config, plainPort: number, tlsPort: number): AnnouncedPorts {
  const tlsCluster = c.getBool("tls-cluster");
  const out: AnnouncedPorts = {
    port: basePort(c, plainPort, tlsPort),
    pport: tlsCluster ? plainPort : 0,
    cport: busListenPort(c, plainPort, tlsPort),
  };
  const announceTls = c.getNumber("cluster-announce-tls-port");
  const announce = c.getNumber("cluster-announce-port");
  if (tlsCluster && announceTls) {
    out.port = announceTls;
    out.pport = announce;
  } else if (announce) {
    out.port = announce;
  }
  const announceBus = c.getNumber("cluster-announce-bus-port");
  if (announceBus) out.cport = announceBus;
  return out;
}

/** Whether `client` is shown plain-text ports: a TLS cluster and a connection that is not TLS. */
export function usePport(c: Config, client: Client | undefined): boolean {
  return c.getBool("tls-cluster") && client !== undefined && !(client.socket instanceof tls.TLSSocket);
}

/** The port of `node` that client is shown (Redis's `use_pport && node->pport ? node->pport : node->port`). */
export function clientPort(node: ClusterNode, pport: boolean): number {
  return pport && node.pport ? node.pport : node.port;
}
