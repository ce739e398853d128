// What a replica sends its master once SYNC/PSYNC made it a replica (Redis's CLIENT_SLAVE
// connection). A well-behaved replica sends only REPLCONF ACK (no reply) and, while it loads
// a big RDB, bare newlines, which Redis counts as a sign of life (processInlineBuffer sets
// repl_ack_time). Anything that produces a reply is a rogue use of the replication link:
// Redis writes no reply to it, logs "Replica generated a reply to command '<cmd>',
// disconnecting it: <client info>" and drops the connection; a command that touches the
// keyspace is refused first ("Replica can't interact with the keyspace"), which is logged as
// an error the master sends its replica.
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import { log } from "../server/log.js";
import { clientInfoString } from "../commands/client-cmd.js";
import { mayReplicate } from "../commands/may-replicate.js";
import { parseCommand } from "./replica-link.js";
import { loggedCommandName, loggedErrorText } from "./error-log-text.js";

/** Takes over client's input from now on; `alive` is called for every newline it sends. */
export function tapReplicaInput(server: Server, client: Client, alive: () => void): void {
  let buf: Buffer = Buffer.alloc(0);
  // A command pipelined after SYNC/PSYNC in the same read is the replica's too.
  client.tapTakesRest = true;
  client.inputTap = (chunk: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (buf.length && !client.closed) {
      if (buf[0] === 0x0a || (buf[0] === 0x0d && buf[1] === 0x0a)) {
        buf = buf.subarray(buf[0] === 0x0a ? 1 : 2);
        alive();
        continue;
      }
      const cmd = parseCommand(buf);
      if (!cmd) return;
      if ("error" in cmd) {
        // Inline text is a command from a replica (only a master may not send it)...
        const e = cmd.inline ? buf.indexOf("\n") : -1;
        if (e < 0) { client.kill(); return; } // ...anything else malformed drops it
        const words = buf.toString("latin1", 0, e).trim().split(/\s+/).filter(Boolean).map((w) => Buffer.from(w, "latin1"));
        buf = buf.subarray(e + 1);
        runFromReplica(server, client, words);
        continue;
      }
      buf = buf.subarray(cmd.len);
      if (cmd.argv.length === 0) continue;
      runFromReplica(server, client, cmd.argv);
    }
  };
}

function runFromReplica(server: Server, client: Client, argv: Buffer[]): void {
  const found = server.resolveCommand(argv);
  const spec = found.error === undefined ? found.spec : undefined;
  // c->lastcmd's name, which the log lines give: set by the lookup even for an arity error.
  const name = loggedCommandName(server.table, argv);
  if (spec && (spec.flags.has("write") || spec.flags.has("readonly") || mayReplicate(spec))) {
    // processCommand: a replica is exempt from CLIENT PAUSE, so it may not touch the keyspace.
    logErrorToReplica("Replica can't interact with the keyspace", name);
    return rogue(server, client, name);
  }
  server.execCommand(client, argv, false);
  const out = client.reply.take();
  if (out.length === 0) return; // REPLCONF ACK: the only thing a replica should send
  if (out[0] === 0x2d) {
    logErrorToReplica(loggedErrorText(out), name);
  }
  rogue(server, client, name);
}

/** Redis's afterErrorReply for a replica client. */
function logErrorToReplica(text: string, name: string): void {
  log("warning", `== CRITICAL == This master is sending an error to its replica: '${text}' after processing the command '${name}'`);
}

/** Redis's logInvalidUseAndFreeClientAsync: the reply is not sent, the connection goes. */
function rogue(server: Server, client: Client, name: string): void {
  log("warning", `Replica generated a reply to command '${name}', disconnecting it: ${clientInfoString(server, client)}`);
  client.kill();
}
