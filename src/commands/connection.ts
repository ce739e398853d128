// Connection commands (PING, ECHO, SELECT, QUIT).
import type { CommandTable } from "./table.js";
import { ERR, parseInteger } from "./context.js";

export function registerConnectionCommands(t: CommandTable): void {
  t.define("ping", ({ argv, reply, client }) => {
    if (argv.length > 2) return reply.error("wrong number of arguments for 'ping' command");
    // A subscribed RESP2 client gets ["pong", message] (Redis's pingCommand).
    if (client.subscriptions > 0 && client.resp === 2) {
      reply.arrayLen(2);
      reply.bulk("pong");
      reply.bulk(argv.length === 2 ? argv[1] : "");
      return;
    }
    if (argv.length === 2) reply.bulk(argv[1]);
    else reply.status("PONG");
  });

  t.define("echo", ({ argv, reply }) => reply.bulk(argv[1]));

  t.define("select", ({ argv, reply, client, server }) => {
    // getIntFromObjectOrReply: an i64, then an int.
    const v = parseInteger(argv[1]);
    if (v === null) return reply.error("value is not an integer or out of range");
    if (v < -2147483648n || v > 2147483647n) return reply.error("value is out of range, value must between -2147483648 and 2147483647");
    const id = Number(v);
    if (server.cluster && id !== 0) return reply.error("SELECT is not allowed in cluster mode");
    if (id < 0 || id >= server.config.getNumber("databases")) return reply.error(ERR.dbIndexOutOfRange);
    client.db = id;
    reply.ok();
  });

  t.define("quit", ({ reply, client }) => {
    reply.ok();
    client.closeAfterReply = true;
  });
}
