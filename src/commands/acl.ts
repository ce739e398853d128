// ACL and AUTH (Redis 7.0's aclCommand and authCommand, acl.c) over the server's ACL state
// (src/acl/acl.ts). Replies and errors are Redis's to the letter.
import { randomBytes } from "node:crypto";
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { parseInteger } from "./context.js";
import { replyHelp, subcommandSyntaxError } from "./help.js";
import { aclOf } from "../acl/acl.js";
import { CATEGORIES, hasSpaces, patternString, type Selector } from "../acl/selector.js";
import { checkCommand, ACL_OK, ACL_DENIED_CMD, ACL_DENIED_KEY, ACL_DENIED_CHANNEL, ACL_DENIED_AUTH } from "../acl/check.js";
import { arityOk } from "./table.js";

const latin1 = (b: Buffer) => b.toString("latin1");

const NO_ACL_FILE = "This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/** aclAddReplySelectorDescription: commands, keys, channels (3 fields). */
function replySelector(ctx: CommandContext, s: Selector): void {
  const r = ctx.reply;
  r.bulk("commands");
  r.bulkBinary(s.describeCommands());
  r.bulk("keys");
  r.bulkBinary(s.allKeys ? "~*" : s.patterns.map(patternString).join(" "));
  r.bulk("channels");
  r.bulkBinary(s.allChannels ? "&*" : s.channels.map((c) => "&" + c).join(" "));
}

export function registerAclCommands(t: CommandTable): void {
  t.define("acl|setuser", ({ server, argv, reply }) => {
    const name = latin1(argv[2]);
    if (hasSpaces(name)) return reply.error("Usernames can't contain spaces or null characters");
    const err = aclOf(server).setUser(name, argv.slice(3).map(latin1));
    if (err === null) reply.ok();
    else reply.error(err);
  });

  t.define("acl|deluser", ({ server, client, argv, reply }) => {
    const acl = aclOf(server);
    for (let j = 2; j < argv.length; j++) {
      if (latin1(argv[j]) === "default") return reply.error("The 'default' user cannot be removed");
    }
    let deleted = 0;
    for (let j = 2; j < argv.length; j++) if (acl.deleteUser(latin1(argv[j]), client)) deleted++;
    reply.integer(deleted);
  });

  t.define("acl|getuser", (ctx) => {
    const { server, argv, reply } = ctx;
    const u = aclOf(server).users.get(latin1(argv[2]));
    if (!u) return reply.nullBulk();
    reply.mapLen(6);
    reply.bulk("flags");
    const flags = u.flagNames();
    reply.setLen(flags.length);
    for (const f of flags) reply.bulk(f);
    reply.bulk("passwords");
    reply.arrayLen(u.passwords.length);
    for (const p of u.passwords) reply.bulk(p);
    replySelector(ctx, u.root);
    reply.bulk("selectors");
    reply.arrayLen(u.selectors.length - 1);
    for (let i = 1; i < u.selectors.length; i++) {
      reply.mapLen(3);
      replySelector(ctx, u.selectors[i]);
    }
  });

  t.define("acl|list", ({ server, reply }) => {
    const users = aclOf(server).sortedUsers();
    reply.arrayLen(users.length);
    for (const u of users) reply.bulkBinary(`user ${u.name} ${u.describe()}`);
  });

  t.define("acl|users", ({ server, reply }) => {
    const users = aclOf(server).sortedUsers();
    reply.arrayLen(users.length);
    for (const u of users) reply.bulkBinary(u.name);
  });

  t.define("acl|whoami", ({ client, reply }) => reply.bulkBinary(client.user));

  t.define("acl|load", ({ server, client, reply }) => {
    const file = server.config.getString("aclfile");
    if (file === "") return reply.error(NO_ACL_FILE);
    const errors = aclOf(server).loadFromFile(file, client);
    if (errors === null) reply.ok();
    else reply.error(errors);
  });

  t.define("acl|save", ({ server, reply }) => {
    const file = server.config.getString("aclfile");
    if (file === "") return reply.error(NO_ACL_FILE);
    if (aclOf(server).saveToFile(file)) reply.ok();
    else reply.error("There was an error trying to save the ACLs. Please check the server logs for more information");
  });

  t.define("acl|cat", (ctx) => {
    const { server, argv, reply } = ctx;
    if (argv.length > 3) return subcommandSyntaxError(ctx);
    if (argv.length === 2) {
      reply.arrayLen(CATEGORIES.length);
      for (const c of CATEGORIES) reply.bulk(c);
      return;
    }
    const name = latin1(argv[2]);
    const i = CATEGORIES.indexOf(name.toLowerCase() as (typeof CATEGORIES)[number]);
    if (i < 0) return reply.error(`Unknown category '${name.slice(0, 128)}'`);
    const ids = aclOf(server).ids;
    const names: string[] = [];
    ids.forEach((spec, id) => { if (ids.categories[id] & (1 << i)) names.push(spec.name); });
    reply.bulkArray(names);
  });

  t.define("acl|genpass", (ctx) => {
    const { argv, reply } = ctx;
    if (argv.length > 3) return subcommandSyntaxError(ctx);
    let bits = 256;
    if (argv.length === 3) {
      const v = parseInteger(argv[2]);
      if (v === null) return reply.error("value is not an integer or out of range");
      bits = Number(v);
    }
    if (bits <= 0 || bits > 4096) {
      return reply.error("ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096");
    }
    const chars = Math.floor((bits + 3) / 4);
    reply.bulk(randomBytes(Math.ceil(chars / 2)).toString("hex").slice(0, chars));
  });

  t.define("acl|log", (ctx) => {
    const { server, argv, reply } = ctx;
    if (argv.length > 3) return subcommandSyntaxError(ctx);
    const acl = aclOf(server);
    let count = 10;
    if (argv.length === 3) {
      if (latin1(argv[2]).toLowerCase() === "reset") {
        acl.log.length = 0;
        return reply.ok();
      }
      const v = parseInteger(argv[2]);
      if (v === null) return reply.error("value is not an integer or out of range");
      count = Number(v) < 0 ? 0 : Number(v);
    }
    count = Math.min(count, acl.log.length);
    reply.arrayLen(count);
    const now = Date.now();
    for (let i = 0; i < count; i++) {
      const e = acl.log[i];
      reply.mapLen(7);
      reply.bulk("count"); reply.integer(e.count);
      reply.bulk("reason"); reply.bulk(REASONS[e.reason] ?? "unknown");
      reply.bulk("context"); reply.bulk(e.context);
      reply.bulk("object"); reply.bulkBinary(e.object);
      reply.bulk("username"); reply.bulkBinary(e.username);
      reply.bulk("age-seconds"); reply.double((now - e.ctime) / 1000);
      reply.bulk("client-info"); reply.bulk(e.cinfo);
    }
  });

  t.define("acl|dryrun", ({ server, argv, reply }) => {
    const acl = aclOf(server);
    const u = acl.users.get(latin1(argv[2]));
    if (!u) return reply.error(`User '${latin1(argv[2])}' not found`);
    const args = argv.slice(3);
    // lookupCommand: the subcommand's row when the command has subcommands.
    let spec = server.table.find(latin1(args[0]).toLowerCase());
    if (spec && spec.subcommands.size > 0) spec = args.length >= 2 ? spec.subcommands.get(latin1(args[1]).toLowerCase()) : undefined;
    if (!spec) return reply.error(`Command '${latin1(args[0])}' not found`);
    if (!arityOk(spec, args.length)) return reply.error(`wrong number of arguments for '${spec.name}' command`);
    const r = checkCommand(u, spec, args);
    if (r.result === ACL_OK) return reply.ok();
    if (r.result === ACL_DENIED_CMD) reply.bulk(`This user has no permissions to run the '${spec.name}' command`);
    else if (r.result === ACL_DENIED_KEY) reply.bulkBinary(`This user has no permissions to access the '${latin1(args[r.index])}' key`);
    else if (r.result === ACL_DENIED_CHANNEL) reply.bulkBinary(`This user has no permissions to access the '${latin1(args[r.index])}' channel`);
  });

  t.define("acl|help", (ctx) => replyHelp(ctx, [
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
  ]));

  t.define("auth", ({ server, client, argv, reply }) => {
    if (argv.length > 3) return reply.error("syntax error");
    const acl = aclOf(server);
    let user: Buffer, pass: Buffer;
    if (argv.length === 2) {
      if (acl.defaultUser.nopass) {
        return reply.error("AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
      }
      user = Buffer.from("default");
      pass = argv[1];
    } else {
      user = argv[1];
      pass = argv[2];
    }
    if (acl.authenticate(client, user, pass, latin1(argv[0]))) reply.ok();
    else reply.error("WRONGPASS invalid username-password pair or user is disabled.");
  });
}

const REASONS: Record<number, string> = {
  [ACL_DENIED_CMD]: "command",
  [ACL_DENIED_KEY]: "key",
  [ACL_DENIED_CHANNEL]: "channel",
  [ACL_DENIED_AUTH]: "auth",
};
