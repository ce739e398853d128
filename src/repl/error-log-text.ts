// The error text Redis's afterErrorReply logs in its "== CRITICAL == ... sending an error to its
// master/replica: '<text>'" line. afterErrorReply gets the string the command gave: addReplyError
// ("message") adds "-ERR " to the reply but not to that string, so the log shows the message
// alone; an error with its own code ("-WRONGTYPE ...") and Redis's shared error objects
// (server.c createSharedObjects, sent with addReplyErrorObject) are logged whole, "-ERR" included.
// From the reply bytes alone, the shared "-ERR" objects are told apart by their exact text.
// The line ends with the command's name as lookupCommand found it (loggedCommandName).

import type { CommandTable } from "../commands/table.js";
import { lookupCommandBytes } from "../server/command-lookup.js";

const SHARED_ERR_REPLIES = new Set([
  "-ERR",
  "-ERR no such key",
  "-ERR syntax error",
  "-ERR source and destination objects are the same",
  "-ERR index out of range",
]);

/** Redis caps the logged error at 4096 bytes. */
const MAX_LOGGED = 4096;

/** The text afterErrorReply logs for an error reply (its first line, without the CRLF). */
export function loggedErrorText(reply: Buffer): string {
  let end = reply.indexOf("\r\n");
  if (end < 0) end = reply.length;
  const line = reply.toString("latin1", 0, end);
  const plainErr = line.startsWith("-ERR ") && !SHARED_ERR_REPLIES.has(line);
  return plainErr ? line.slice(5, 5 + MAX_LOGGED) : line.slice(0, MAX_LOGGED);
}

/**
 * The command name afterErrorReply logs in that line (c->lastcmd->fullname): the row
 * lookupCommand found — the subcommand's ("config|get") when the command has subcommands and
 * was given an argument — even when the call then failed on its arity; '<unknown>' when the
 * lookup found nothing (an unknown command or subcommand leaves c->lastcmd NULL).
 */
export function loggedCommandName(table: CommandTable, argv: Uint8Array[]): string {
  const spec = lookupCommandBytes(table, argv[0]);
  if (spec === undefined) return "<unknown>";
  if (spec.subcommands.size === 0 || argv.length < 2) return spec.name;
  const sub = spec.subcommands.get(Buffer.from(argv[1]).toString("latin1").toLowerCase());
  return sub !== undefined ? sub.name : "<unknown>";
}
