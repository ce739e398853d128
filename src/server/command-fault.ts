// A fault in a command's own code: a JavaScript exception (a bug), not a Redis error reply.
//
// Redis stops with a bug report on a failed assertion. Here one client's command must not
// take the data of every other client down with the process, so the fault is logged with
// its stack (what Redis's bug report would give a developer) and only the client that sent
// the command pays: it gets an error reply if the command had written nothing yet, else its
// connection is closed, since a reply cut in the middle cannot be framed again. The
// scripting engine does the same for faults inside a script (src/scripting/engine.ts).
// A trap of the WASM kernel is not survived: the kernel's memory may be half-changed, so it
// is thrown on and ends the process as before.
import type { Client } from "./client.js";
import type { CommandSpec } from "../commands/table.js";
import { log } from "./log.js";

export function commandFault(client: Client, spec: CommandSpec, pendingBefore: number, e: unknown): void {
  if (e instanceof WebAssembly.RuntimeError) throw e;
  const name = spec.name;
  const err = e instanceof Error ? e : new Error(String(e));
  log("warning", `Internal error in the '${name}' command of client id=${client.id} addr=${client.addr}: ${err.stack ?? err.message}`);
  if (client.reply.pending === pendingBefore) {
    client.reply.error(`ERR internal error in '${name}': ${err.message.replace(/[\r\n]+/g, " ").slice(0, 200)}`);
  } else {
    client.closeAfterReply = true;
  }
}
