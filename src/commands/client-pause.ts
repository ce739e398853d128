// CLIENT PAUSE timeout [WRITE|ALL] and CLIENT UNPAUSE (networking.c's clientCommand); the
// pause itself is src/server/pause.ts.
import type { CommandTable } from "./table.js";
import { parseInteger } from "./context.js";
import { PAUSE_ALL, PAUSE_WRITE } from "../server/pause.js";

export function registerClientPauseCommands(t: CommandTable): void {
  t.define("client|pause", ({ server, argv, reply }) => {
    if (argv.length > 4) {
      return reply.error(`unknown subcommand or wrong number of arguments for '${argv[1].toString("latin1").slice(0, 128)}'. Try CLIENT HELP.`);
    }
    let type = PAUSE_ALL;
    if (argv.length === 4) {
      const mode = argv[3].toString("latin1").toLowerCase();
      if (mode === "write") type = PAUSE_WRITE;
      else if (mode !== "all") return reply.error("CLIENT PAUSE mode must be WRITE or ALL");
    }
    // getTimeoutFromObjectOrReply in milliseconds: 0 ends at once (an end time of 0).
    const ms = parseInteger(argv[2]);
    if (ms === null) return reply.error("timeout is not an integer or out of range");
    if (ms < 0n) return reply.error("timeout is negative");
    const end = ms > 0n ? Number(ms) + server.now() : 0;
    server.pause.pause(end, type);
    reply.ok();
  });

  t.define("client|unpause", ({ server, reply }) => {
    server.pause.unpause();
    reply.ok();
  });
}
