// The write gate: while it is up, every shard's kernel hands write commands back to the host
// (Shard.useReadOnly), so Server.dispatch can refuse them before they run or are queued.
// Two reasons raise it: a read-only replica (-READONLY, src/commands/replication.ts) and a
// persistence error under stop-writes-on-bgsave-error or a failed AOF write (-MISCONF,
// src/persistence/persistence.ts). Each owner sets its own reason; the gate is up while any is.
import type { Server } from "../server/server.js";

export type WriteGateReason = "replica" | "disk";

const reasons = new WeakMap<Server, Set<WriteGateReason>>();

export function setWriteGate(server: Server, reason: WriteGateReason, on: boolean): void {
  let set = reasons.get(server);
  if (!set) reasons.set(server, (set = new Set()));
  if (on) set.add(reason);
  else set.delete(reason);
  for (const s of server.shards) s.useReadOnly(set.size > 0);
}

/** Whether dispatch must check writes (either reason is up). */
export function writeGateUp(server: Server): boolean {
  return (reasons.get(server)?.size ?? 0) > 0;
}
