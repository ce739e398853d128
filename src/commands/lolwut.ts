// LOLWUT [VERSION v]: Redis 7.0 answers versions other than 5 and 6 with just its version
// line (lolwutUnstableCommand); 5 and 6 draw art before that line, which we do not draw,
// so every version answers the plain line.
import type { CommandTable } from "./table.js";
import { ERR, parseInteger } from "./context.js";

export function registerLolwutCommand(t: CommandTable): void {
  t.define("lolwut", ({ argv, reply }) => {
    if (argv.length >= 3 && argv[1].toString("latin1").toLowerCase() === "version" && parseInteger(argv[2]) === null) {
      return reply.error(ERR.notInteger);
    }
    reply.verbatim("Redis ver. 7.0.15\n");
  });
}
