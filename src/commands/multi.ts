// Transactions (Redis's multi.c): MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//
// In MULTI, every command a client sends is checked now (unknown command, wrong arity,
// no-multi flag: an error reply, and EXEC will answer EXECABORT) and queued, answered
// +QUEUED; the kernel hands all of them back while the client is in MULTI
// (Shard.useQueueing), so kernel commands are queued too. EXEC runs the queue through
// Server.execCommand, synchronously: nothing of another client runs in between, whichever
// shards the commands touch (a script in the queue that runs past busy-reply-threshold
// pauses the transaction with it; only allow-busy commands of others run meanwhile). Errors inside EXEC do not roll anything back. WATCHed keys are
// tracked by src/server/watch.ts from effect records.
//
// Client state: client.multi (the queue, null outside MULTI), client.dirtyExec
// (CLIENT_DIRTY_EXEC), client.dirtyCas (CLIENT_DIRTY_CAS), client.denyBlocking
// (CLIENT_DENY_BLOCKING, set while EXEC runs so blocking commands answer as timed out).
import type { CommandTable } from "./table.js";
import type { Client } from "../server/client.js";
import type { Server } from "../server/server.js";
import { resetHooks } from "./server-cmds.js";
import { clientInfoProviders } from "./client-cmd.js";
import { scriptPaused, afterScript } from "./scripting.js";

/** Commands that run at once even in MULTI (Redis's processCommand). */
const NOT_QUEUED = new Set(["exec", "discard", "multi", "watch", "quit", "reset"]);

/**
 * Called for each command of a client in MULTI before it runs: queues it (or rejects it
 * and flags the transaction) and returns true, or returns false for the commands that run
 * now (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
 */
export function queueCommand(server: Server, client: Client, argv: Buffer[]): boolean {
  const found = server.resolveCommand(argv);
  if (found.error !== undefined) {
    client.lastCommand = argv[0].toString("latin1").toLowerCase();
    server.rejectCommand(client, found.error, found.spec);
    client.dirtyExec = true;
    return true;
  }
  const spec = found.spec!;
  const top = spec.parent ?? spec;
  if (NOT_QUEUED.has(top.name)) return false;
  client.lastCommand = spec.name;
  if (spec.flags.has("no_multi")) {
    server.rejectCommand(client, "Command not allowed inside a transaction", spec);
    client.dirtyExec = true;
    return true;
  }
  // Once the transaction is doomed, keeping its commands is pointless (as Redis).
  if (!client.dirtyExec && !client.dirtyCas) client.multi!.push(argv);
  client.reply.status("QUEUED");
  return true;
}

/** Leaves MULTI and forgets the watched keys (Redis's discardTransaction). */
export function discardTransaction(server: Server, client: Client): void {
  client.multi = null;
  client.dirtyExec = false;
  client.dirtyCas = false;
  server.watches.unwatchAll(client);
}

export function registerMultiCommands(t: CommandTable): void {
  t.define("multi", ({ client, reply }) => {
    if (client.multi !== null) return reply.error("MULTI calls can not be nested");
    client.multi = [];
    reply.ok();
  });

  t.define("discard", ({ server, client, reply }) => {
    if (client.multi === null) return reply.error("DISCARD without MULTI");
    discardTransaction(server, client);
    reply.ok();
  });

  t.define("exec", ({ server, client, reply }) => {
    const queue = client.multi;
    if (queue === null) return reply.error("EXEC without MULTI");
    // A watched key that was live at WATCH and is now past its TTL fails EXEC too.
    if (server.watches.anyExpired(client)) client.dirtyCas = true;
    if (client.dirtyExec || client.dirtyCas) {
      if (client.dirtyExec) reply.error("EXECABORT Transaction discarded because of previous errors.");
      else reply.nullArray();
      discardTransaction(server, client);
      return;
    }
    server.watches.unwatchAll(client);
    const denied = client.denyBlocking;
    client.denyBlocking = true;
    // AOF and replication apply a transaction's effects as one unit.
    server.effects.beginGroup();
    reply.arrayLen(queue.length);
    const runFrom = (i: number): void => {
      let paused = false;
      try {
        for (; i < queue.length; i++) {
          server.execCommand(client, queue[i]);
          // A script past busy-reply-threshold goes on in later ticks: the rest of the
          // transaction runs when it ends, still before any other client's command.
          if (scriptPaused(server)) {
            const next = i + 1;
            afterScript(server, () => runFrom(next));
            paused = true;
            return;
          }
        }
      } finally {
        if (!paused) {
          server.effects.endGroup();
          client.denyBlocking = denied;
          discardTransaction(server, client);
        }
      }
    };
    runFrom(0);
  });

  t.define("watch", ({ server, client, argv, reply }) => {
    if (client.multi !== null) return reply.error("WATCH inside MULTI is not allowed");
    // No point in watching once a watched key was touched.
    if (!client.dirtyCas) for (let i = 1; i < argv.length; i++) server.watches.watch(client, client.db, argv[i]);
    reply.ok();
  });

  t.define("unwatch", ({ server, client, reply }) => {
    server.watches.unwatchAll(client);
    client.dirtyCas = false;
    reply.ok();
  });
}

resetHooks.push((c) => discardTransaction(c.server, c));
// CLIENT LIST: flags=x in MULTI (Redis's order puts it before b) and multi=<queued commands>.
clientInfoProviders.flags.unshift((c) => (c.multi !== null ? "x" : ""));
clientInfoProviders.multi = (c) => (c.multi !== null ? c.multi.length : -1);
