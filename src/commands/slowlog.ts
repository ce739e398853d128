// SLOWLOG GET [count] / LEN / RESET / HELP (Redis's slowlogCommand); the log is
// src/server/slowlog.ts.
import type { CommandTable } from "./table.js";
import { replyHelp } from "./help.js";
import { parseInteger } from "./context.js";

export function registerSlowlogCommands(t: CommandTable): void {
  t.define("slowlog|get", ({ server, argv, reply }) => {
    const entries = server.slowlog.entries;
    let count = 10;
    if (argv.length === 3) {
      const n = parseInteger(argv[2]);
      if (n === null || n < -1n || n > 9223372036854775807n) return reply.error("count should be greater than or equal to -1");
      count = n === -1n ? entries.length : Number(n > BigInt(entries.length) ? entries.length : n);
    } else if (argv.length > 3) {
      return reply.error(`unknown subcommand or wrong number of arguments for '${argv[1].toString("latin1").slice(0, 128)}'. Try SLOWLOG HELP.`);
    }
    const sent = entries.slice(0, count);
    reply.arrayLen(sent.length);
    for (const e of sent) {
      reply.arrayLen(6);
      reply.integer(e.id);
      reply.integer(e.time);
      reply.integer(e.duration);
      reply.bulkArray(e.argv);
      reply.bulk(e.peer);
      reply.bulk(e.name);
    }
  });

  t.define("slowlog|len", ({ server, reply }) => reply.integer(server.slowlog.entries.length));

  t.define("slowlog|reset", ({ server, reply }) => {
    server.slowlog.reset();
    reply.ok();
  });

  t.define("slowlog|help", (ctx) => replyHelp(ctx, [
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
  ]));
}
