// FUNCTION: only FLUSH so far (there are no function libraries until scripting lands, so
// flushing is a no-op). Redis's Tcl harness calls FUNCTION FLUSH before every external-mode
// unit, which is why it exists before the rest of the family.
import type { CommandTable } from "./table.js";
import { subcommandSyntaxError } from "./help.js";

export function registerFunctionCommands(t: CommandTable): void {
  t.define("function|flush", (ctx) => {
    const { argv, reply } = ctx;
    if (argv.length > 3) return subcommandSyntaxError(ctx);
    if (argv.length === 3) {
      const mode = argv[2].toString("latin1").toLowerCase();
      if (mode !== "sync" && mode !== "async") return reply.error("FUNCTION FLUSH only supports SYNC|ASYNC option");
    }
    reply.ok();
  });
}
