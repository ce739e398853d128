// While a node joins a large anti-entropy answer over several event-loop turns (gossip.ts
// joinSliced: a new, restarted or far-behind node receiving most of the group's state), its
// clients are answered -LOADING, as Redis answers them while a replica loads its master's
// copy: the answer's keys must become visible together (a client must not see one node's
// write without the writes it had seen, on other keys of the same answer), and joined in one
// turn a 300k-key answer held the event loop for 13-60 s. Commands Redis allows while loading
// (the `loading` flag: INFO, CONFIG, CLIENT...) still run, and INFO shows the join as Redis
// shows a replica's load: loading:1, loading_total_bytes (the answer's encoded size),
// loading_loaded_bytes, loading_loaded_perc, loading_eta_seconds... (so a client that waits
// for loading:0, as ioredis's ready check does, waits for the join).
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import { showLoading } from "../persistence/persistence.js";

/** What INFO shows of a join: its start (ms), its size and how much of it is in (bytes). */
export interface LoadProgress { startedAt: number; totalBytes: number; loadedBytes: number }

/**
 * Raises the gate; the function returned lowers it (a gate raised after this one stays).
 * INFO shows `progress` as the load under way meanwhile.
 */
export function raiseLoadingGate(server: Server, progress: LoadProgress): () => void {
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
  showLoading(server, progress);
  return () => {
    up = false;
    if (server.inputGate === gate) server.inputGate = previous;
    showLoading(server, null);
  };
}
