// Tells every shard's kernel client-output-buffer-limit's normal hard limit, so that a
// command whose reply grows with an argument (HRANDFIELD with a huge negative count) stops
// producing it at the limit, as Redis's does once the client is marked CLOSE_ASAP; the
// client is then closed by Client's own output-limit check (assembly/commands/output-limit.ts).
import type { Server } from "./server.js";
import type { Client } from "./client.js";
import { parseClientLimits } from "./server.js";
import { scriptCaller } from "../commands/scripting.js";

export function installReplyLimit(server: Server): void {
  const apply = () => {
    const hard = parseClientLimits(server.config.getString("client-output-buffer-limit"), "").normalOutput.hard;
    for (const shard of server.shards) shard.kernel.x.setClientReplyLimit(hard);
  };
  apply();
  server.config.onApply("client-output-buffer-limit", apply);
}

/**
 * A kernel command run for the client goes into its output as it is (its own command, or
 * one of EXEC's), so the kernel may stop a huge reply at the limit and the client is then
 * closed; not while a script runs it (redis.call reads the reply).
 */
export function replyGoesToClient(server: Server, client: Client): boolean {
  return scriptCaller(server) !== client;
}
