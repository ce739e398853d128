// MONITOR (Redis's replicationFeedMonitors): every command run, as one status line per
// command, to each client that asked. While any monitor is connected the kernel hands every
// command back (Client's queueing check), so kernel-run commands pass through Server.run and
// are logged here too; with no monitor, the hot path is untouched.
//
// Order is Redis 7.0's: a command is logged after it ran (so MULTI, SET, EXEC), except the
// script commands (flag skip_monitor: EVAL*, FCALL*), which log themselves before their body
// so that "eval" precedes the "[0 lua]" lines of what the script called. Admin commands are
// never shown.
import { catRepr } from "../util/repr.js";
import { redactArgv } from "../server/redact.js";
import type { CommandTable } from "./table.js";
import type { CommandSpec } from "./table.js";
import type { Client } from "../server/client.js";
import type { Server } from "../server/server.js";
import { clientInfoProviders } from "./client-cmd.js";

// CLIENT LIST flag O (first in Redis's order).
clientInfoProviders.flags.unshift((c) => (c.server.monitors.has(c) ? "O" : ""));

/** Specs of the commands running now, outermost first (a script's calls are nested in it). */
const running: CommandSpec[] = [];

function isScript(spec: CommandSpec): boolean {
  return (spec.parent ?? spec).flags.has("skip_monitor");
}

function feed(server: Server, client: Client, argv: Buffer[]): void {
  const now = Date.now();
  const usec = String((now % 1000) * 1000 + Math.floor((performance.now() * 1000) % 1000)).padStart(6, "0");
  // `running` holds the commands enclosing this one (not itself).
  const inScript = running.some(isScript);
  const who = inScript ? `[${client.db} lua]` : `[${client.db} ${client.addr}]`;
  const line = Buffer.from(`+${Math.floor(now / 1000)}.${usec} ${who} ${redactArgv(argv).map(catRepr).join(" ")}\r\n`, "latin1");
  for (const m of server.monitors) if (!m.closed) m.writePush(line);
}

/** Server.run calls this before a command's handler. */
export function monitorBefore(server: Server, client: Client, spec: CommandSpec, argv: Buffer[]): void {
  if (server.monitors.size > 0 && isScript(spec)) feed(server, client, argv);
  running.push(spec);
}

/** Server.run calls this after a command's handler. */
export function monitorAfter(server: Server, client: Client, spec: CommandSpec, argv: Buffer[]): void {
  running.pop();
  if (server.monitors.size === 0 || isScript(spec)) return;
  if ((spec.parent ?? spec).flags.has("admin") || spec.flags.has("admin")) return;
  feed(server, client, argv);
}

export function registerMonitorCommand(t: CommandTable): void {
  t.define("monitor", ({ server, client, reply }) => {
    if (client.denyBlocking) return reply.error("MONITOR isn't allowed for DENY BLOCKING client");
    if (server.monitors.has(client)) return;
    server.monitors.add(client);
    client.socket.once("close", () => server.monitors.delete(client));
    reply.ok();
  });
}
