// Redis's addReplyHelp: the "<CMD> <subcommand> ..." header, the lines, then HELP's own entry.
import type { CommandContext } from "./context.js";

export function replyHelp(ctx: CommandContext, lines: string[]): void {
  const { reply, argv } = ctx;
  reply.arrayLen(lines.length + 3);
  reply.status(`${argv[0].toString("latin1").toUpperCase()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`);
  for (const l of lines) reply.status(l);
  reply.status("HELP");
  reply.status("    Prints this help.");
}

/** Redis's addReplySubcommandSyntaxError. */
export function subcommandSyntaxError(ctx: CommandContext): void {
  const cmd = ctx.argv[0].toString("latin1").toUpperCase();
  const sub = ctx.argv[1].toString("latin1").slice(0, 128);
  ctx.reply.error(`unknown subcommand or wrong number of arguments for '${sub}'. Try ${cmd} HELP.`);
}
