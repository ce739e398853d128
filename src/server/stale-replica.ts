// replica-serve-stale-data no (Redis's processCommand): while a replica's link with its
// master is down, it answers only commands flagged `stale` (INFO, PING, REPLICAOF, CONFIG...)
// and refuses the others with -MASTERDOWN, EXEC of such a queued command included. Its
// kernels hand every command back meanwhile (Client.processRange asks staleReplica()), so
// reads the kernel would serve reach this check too.
import type { Server } from "./server.js";
import { replicationOf } from "../repl/replication.js";

export const MASTERDOWN_ERR = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.";

/** A replica whose master link is down, configured not to serve stale data. */
export function staleReplica(server: Server): boolean {
  const link = replicationOf(server).link;
  return link !== null && !link.connected && !server.config.getBool("replica-serve-stale-data");
}
