// While a node joins a large anti-entropy answer over several event-loop turns (gossip.ts
// joinSliced: a new, restarted or far-behind node receiving most of the group's state), its
// clients are answered -LOADING, as Redis answers them while a replica loads its master's
// copy: the answer's keys must become visible together (a client must not see one node's
// write without the writes it had seen, on other keys of the same answer), and joined in one
// turn a 300k-key answer held the event loop for 13-60 s. Commands Redis allows while loading
// (the `loading` flag: INFO, CONFIG, CLIENT...) still run.
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";

/** Raises the gate; the function returned lowers it (a gate raised after this one stays). */
export function raiseLoadingGate(server: Server): () => void {
  const previous = server.inputGate;
  let up = true;
  const gate = (client: Client, argv: Buffer[]): boolean => {
    if (up) {
      const found = server.resolveCommand(argv);
      if (found.error === undefined && !found.spec!.flags.has("loading")) {
        server.rejectCommand(client, "-LOADING Redis is loading the dataset in memory", found.spec);
        return true;
      }
    }
    return previous ? previous(client, argv) : false;
  };
  server.inputGate = gate;
  return () => {
    up = false;
    if (server.inputGate === gate) server.inputGate = previous;
  };
}
