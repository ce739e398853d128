// The server's ACL state (Redis's Users, DefaultUser, ACLLog, UsersToLoad) and the hooks the
// server calls: a new connection (initClient), every command a client sends (checkDispatch),
// every command EXEC or a script runs (checkNested), and protected mode (acceptsConnection).
//
// Clients whose user can run everything (the default user out of the box) are not checked
// at all: client.aclGuarded is false, and the kernel runs their commands itself. A guarded
// client (not authenticated, or a user with limits) has every command handed back by the
// kernel (Shard.useQueueing), so the check happens in one place, Server.dispatch.
import { readFileSync, renameSync, writeFileSync, unlinkSync } from "node:fs";
import type { Server } from "../server/server.js";
import type { Client } from "../server/client.js";
import type { CommandSpec } from "../commands/table.js";
import { clientInfoString, userDirectory } from "../commands/client-cmd.js";
import { authenticator } from "../commands/server-cmds.js";
import { scriptingOf } from "../commands/scripting.js";
import { log } from "../server/log.js";
import { commandIds, hasSpaces, AclOpFailure, KEY_READ, type AclOpError, type CommandIds } from "./selector.js";
import { User, mergeSelectorArgs } from "./user.js";
import { checkCommand, channelInList, userHasUnrestrictedKeyAccess, ACL_OK, ACL_DENIED_CMD, ACL_DENIED_KEY, ACL_DENIED_CHANNEL, ACL_DENIED_AUTH } from "./check.js";

/** ACLSetUserStringError. */
export function opErrorText(code: AclOpError | undefined): string {
  switch (code) {
    case "ENOENT": return "Unknown command or category name in ACL";
    case "EINVAL": return "Syntax error";
    case "EEXIST": return "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
    case "EISDIR": return "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
    case "ENODEV": return "The password you are trying to remove from the user does not exist";
    case "EBADMSG": return "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
    case "EALREADY": return "Duplicate user found. A user can only be defined once in config files";
    case "ECHILD": return "Allowing first-arg of a subcommand is not supported";
    default: return "Wrong format";
  }
}

function opCode(e: unknown): AclOpError | undefined {
  if (e instanceof AclOpFailure) return e.code;
  throw e;
}

export type LogContext = "toplevel" | "multi" | "lua" | "module";

export interface AclLogEntry {
  count: number;
  reason: number;
  context: LogContext;
  object: string;
  username: string;
  ctime: number;
  cinfo: string;
}

export class Acl {
  readonly ids: CommandIds;
  users = new Map<string, User>();
  readonly defaultUser: User;
  readonly log: AclLogEntry[] = [];

  constructor(readonly server: Server) {
    this.ids = commandIds(server.table);
    this.defaultUser = this.createDefaultUser();
    this.users.set("default", this.defaultUser);
  }

  get pubsubDefault(): boolean {
    return this.server.config.getString("acl-pubsub-default") === "allchannels";
  }

  newUser(name: string): User {
    return new User(name, this.ids, this.pubsubDefault);
  }

  private createDefaultUser(): User {
    const u = this.newUser("default");
    for (const op of ["+@all", "~*", "&*", "on", "nopass"]) u.apply(op, this.pubsubDefault);
    return u;
  }

  /** Users sorted as Redis's rax iterates them (bytewise). */
  sortedUsers(): User[] {
    return [...this.users.values()].sort((a, b) => Buffer.compare(Buffer.from(a.name, "latin1"), Buffer.from(b.name, "latin1")));
  }

  /**
   * ACLStringSetUser: applies every rule to a copy and, if all are valid, to the user
   * (creating it). Returns an error message or null.
   */
  setUser(name: string, args: string[]): string | null {
    const merged = mergeSelectorArgs(args);
    if ("unmatched" in merged) return `Unmatched parenthesis in acl selector starting at '${args[merged.unmatched]}'.`;
    const existing = this.users.get(name);
    const temp = existing ? existing.clone() : this.newUser(name);
    for (const op of merged.rules) {
      try {
        temp.apply(op, this.pubsubDefault);
      } catch (e) {
        return `Error in ACL SETUSER modifier '${op}': ${opErrorText(opCode(e))}`;
      }
    }
    if (existing) {
      this.killPubsubClientsIfNeeded(temp, existing);
      existing.copyFrom(temp);
    } else {
      this.users.set(name, temp);
    }
    this.refreshClients();
    return null;
  }

  /** ACL DELUSER of one user: its clients are disconnected. */
  deleteUser(name: string, current: Client): boolean {
    if (!this.users.delete(name)) return false;
    // The client running DELUSER gets its reply first (CLIENT_CLOSE_AFTER_COMMAND).
    this.disconnectUser(name, current);
    this.refreshClients();
    return true;
  }

  /**
   * ACLKillPubsubClientsIfNeeded: when a user's channel permissions stop covering what its
   * subscribers hold (a channel, shard channel or pattern), those clients are disconnected.
   * Nothing is checked when the new rules allow all channels or keep every old pattern.
   */
  killPubsubClientsIfNeeded(updated: User, original: User): void {
    if (updated.selectors.some((s) => s.allChannels)) return;
    const upcoming = updated.selectors.flatMap((s) => s.channels);
    const superset = !original.selectors.some((s) => s.allChannels) &&
      original.selectors.every((s) => s.channels.every((ch) => upcoming.includes(ch)));
    if (superset) return;
    const pubsub = this.server.pubsub;
    const denied = (names: Buffer[], isPattern: boolean) =>
      names.some((n) => !channelInList(upcoming, n.toString("latin1"), isPattern));
    for (const c of this.server.clients.values()) {
      if (c.user !== original.name || c.subscriptions === 0) continue;
      if (denied(pubsub.subscribedTo(c, "pattern"), true) || denied(pubsub.subscribedTo(c, "channel"), false) ||
          denied(pubsub.subscribedTo(c, "shard"), false)) {
        c.kill();
      }
    }
  }

  userOf(c: Client): User {
    return this.users.get(c.user) ?? this.defaultUser;
  }

  /** Redis's authRequired. */
  authRequired(c: Client): boolean {
    const d = this.defaultUser;
    return (!d.nopass || !d.enabled) && !c.authenticated;
  }

  /** Recomputes which clients need checks, after any change to users. */
  refreshClients(): void {
    for (const c of this.server.clients.values()) this.refreshClient(c);
  }

  refreshClient(c: Client): void {
    c.aclGuarded = this.authRequired(c) || !this.userOf(c).unrestricted;
  }

  /** ACLAuthenticateUser: on success the client is that user; a failure is logged. */
  authenticate(c: Client, username: Buffer, password: Buffer, cmdName = "AUTH"): boolean {
    const name = username.toString("latin1");
    const u = this.users.get(name);
    if (u && u.checkPassword(password)) {
      c.user = name;
      c.authenticated = true;
      this.refreshClient(c);
      return true;
    }
    this.addLogEntry(c, ACL_DENIED_AUTH, c.multi !== null ? "multi" : "toplevel", cmdName, name);
    return false;
  }

  /** addACLLogEntry. */
  addLogEntry(c: Client, reason: number, context: LogContext, object: string, username?: string): void {
    const entry: AclLogEntry = {
      count: 1, reason, context, object,
      username: username ?? c.user,
      ctime: Date.now(),
      cinfo: clientInfoString(this.server, c),
    };
    for (let i = 0; i < Math.min(10, this.log.length); i++) {
      const e = this.log[i];
      if (e.reason === entry.reason && e.context === entry.context && Math.abs(e.ctime - entry.ctime) <= 60000 &&
          e.object === entry.object && e.username === entry.username) {
        this.log.splice(i, 1);
        e.cinfo = entry.cinfo;
        e.ctime = entry.ctime;
        e.count++;
        this.log.unshift(e);
        return;
      }
    }
    this.log.unshift(entry);
    const max = this.server.config.getNumber("acllog-max-len");
    while (this.log.length > max) this.log.pop();
  }

  /** The object a denial logs: the command's full name, or the denied key/channel. */
  private logDenial(c: Client, spec: CommandSpec, argv: Buffer[], result: number, index: number, context: LogContext): void {
    const object = result === ACL_DENIED_CMD ? spec.name : argv[index].toString("latin1");
    this.addLogEntry(c, result, context, object);
  }

  // ---- the hooks the server calls ------------------------------------------------------------

  /**
   * A command from the client's input (Server.dispatch), before MULTI queueing: NOAUTH, then
   * the ACL check (Redis's processCommand). Returns true when it replied with the rejection.
   * A command the server would reject anyway (unknown, wrong arity) is left to it.
   */
  checkDispatch(c: Client, argv: Buffer[]): boolean {
    const server = this.server;
    const found = server.resolveCommand(argv);
    if (found.error !== undefined) return false;
    const spec = found.spec!;
    const inMulti = c.multi !== null;
    if (this.authRequired(c) && !spec.flags.has("no_auth")) {
      c.lastCommand = spec.name;
      server.rejectCommand(c, "NOAUTH Authentication required.", spec);
      if (inMulti) c.dirtyExec = true;
      return true;
    }
    if (inMulti && spec.flags.has("no_multi")) return false;
    const r = checkCommand(this.userOf(c), spec, argv);
    if (r.result === ACL_OK) return false;
    c.lastCommand = spec.name;
    this.logDenial(c, spec, argv, r.result, r.index, inMulti ? "multi" : "toplevel");
    server.rejectCommand(c, topLevelDenial(r.result, spec), spec);
    if (inMulti) c.dirtyExec = true;
    return true;
  }

  /**
   * A command EXEC or a script runs for the client (Server.execCommand): ACL rules may have
   * changed since it was queued; a script's calls are checked here too. Returns true when
   * it replied with the rejection.
   */
  checkNested(c: Client, spec: CommandSpec, argv: Buffer[]): boolean {
    const r = checkCommand(this.userOf(c), spec, argv);
    if (r.result === ACL_OK) return false;
    const scripting = scriptingOf(this.server);
    const inScript = scripting.caller === c && scripting.run !== null;
    this.logDenial(c, spec, argv, r.result, r.index, inScript ? "lua" : "multi");
    if (inScript) c.reply.error(`The user executing the script ${scriptDenial(r.result)}`);
    else c.reply.error(`NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: ${execDenial(r.result)}`);
    this.server.countError(c.reply.lastErrorCode);
    return true;
  }

  /** Whether the client's user may read every key with this command (SORT's BY and GET). */
  hasFullReadAccess(c: Client, spec: CommandSpec, argv: Buffer[]): boolean {
    if (!c.aclGuarded) return true;
    return userHasUnrestrictedKeyAccess(this.userOf(c), spec, argv, KEY_READ);
  }

  /** Protected mode: with no password on the default user, only loopback clients are served. */
  acceptsConnection(c: Client): boolean {
    if (!this.server.config.getBool("protected-mode") || !this.defaultUser.nopass || c.isLocal) return true;
    return false;
  }

  // ---- configuration: requirepass, user lines, aclfile ---------------------------------------

  /** ACLUpdateDefaultUserPassword (requirepass). */
  setRequirePass(pass: string): void {
    this.defaultUser.apply("resetpass", this.pubsubDefault);
    if (pass !== "") this.defaultUser.apply(">" + pass, this.pubsubDefault);
    else this.defaultUser.apply("nopass", this.pubsubDefault);
    this.refreshClients();
  }

  /** ACLLoadUsersAtStartup: `user` lines, or the aclfile, not both. Returns a fatal error or null. */
  loadUsersAtStartup(): string | null {
    const file = this.server.config.getString("aclfile");
    const toLoad = this.server.config.userLines;
    if (file !== "" && toLoad.length) {
      return "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.";
    }
    for (const [name, ...args] of toLoad) {
      if (hasSpaces(name)) return "Spaces not allowed in ACL usernames";
      const merged = mergeSelectorArgs(args);
      if ("unmatched" in merged) return `Error in user declaration '${args[merged.unmatched]}': ${opErrorText(undefined)}`;
      let u = this.users.get(name);
      if (!u) this.users.set(name, (u = this.newUser(name)));
      else u.apply("reset", this.pubsubDefault);
      for (const r of merged.rules) {
        try {
          u.apply(r, this.pubsubDefault);
        } catch (e) {
          log("warning", `Error loading ACL rule '${r}' for the user named '${name}': ${opErrorText(opCode(e))}`);
          return "Critical error while loading ACLs. Exiting.";
        }
      }
      if (!u.enabled) log("notice", `The user '${name}' is disabled (there is no 'on' modifier in the user description). Make sure this is not a configuration error.`);
    }
    if (file !== "") {
      const errors = this.loadFromFile(file);
      if (errors) return `Aborting Redis startup because of ACL errors: ${errors}`;
    }
    this.refreshClients();
    return null;
  }

  /** The `user` lines CONFIG REWRITE writes (rewriteConfigUserOption): none with an aclfile. */
  configUserLines(): string[] {
    if (this.server.config.getString("aclfile") !== "") return [];
    return this.sortedUsers().map((u) => `user ${u.name} ${u.describe()}`);
  }

  /** ACLLoadFromFile: all or nothing. Returns the errors, or null when loaded. */
  loadFromFile(filename: string, current?: Client): string | null {
    let text: string;
    try {
      text = readFileSync(filename, "latin1");
    } catch (e) {
      return `Error loading ACLs, opening file '${filename}': ${errnoText(e)}`;
    }
    const aclName = this.server.config.getString("aclfile");
    const users = new Map<string, User>();
    let errors = "";
    const lines = text.split("\n");
    lines.forEach((raw, i) => {
      const linenum = i + 1;
      const line = raw.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
      if (line === "") return;
      const argv = line.split(" ").filter((w) => w !== "");
      if (argv.length === 0) return;
      if (argv[0] !== "user" || argv.length < 2) {
        errors += `${aclName}:${linenum} should start with user keyword followed by the username. `;
        return;
      }
      if (hasSpaces(argv[1])) {
        errors += `'${aclName}:${linenum}: username '${argv[1]}' contains invalid characters. `;
        return;
      }
      if (users.has(argv[1])) {
        errors += `WARNING: Duplicate user '${argv[1]}' found on line ${linenum}. `;
        return;
      }
      const u = this.newUser(argv[1]);
      users.set(argv[1], u);
      const merged = mergeSelectorArgs(argv.slice(2));
      if ("unmatched" in merged) {
        errors += `${aclName}:${linenum}: Unmatched parenthesis in selector definition.`;
        return;
      }
      let syntaxError = false;
      for (const rule of merged.rules) {
        const op = rule.replace(/^[\t\r\n]+|[\t\r\n]+$/g, "");
        try {
          u.apply(op, this.pubsubDefault);
        } catch (e) {
          const code = opCode(e);
          if (code === "ENOENT") errors += `${aclName}:${linenum}: Error in applying operation '${op}': ${opErrorText(code)}. `;
          else if (!syntaxError) {
            errors += `${aclName}:${linenum}: ${opErrorText(code)}. `;
            syntaxError = true;
          }
        }
      }
    });
    if (errors !== "") return errors + "WARNING: ACL errors detected, no change to the previously active ACL rules was performed";
    // The default user object stays (clients refer to it); it takes the file's rules.
    const newDefault = users.get("default") ?? this.createDefaultUser();
    this.defaultUser.copyFrom(newDefault);
    users.set("default", this.defaultUser);
    const old = this.users;
    this.users = users;
    for (const [name] of old) if (!users.has(name)) this.disconnectUser(name, current);
    // Users that still exist were replaced: Redis frees the old ones and kills their clients.
    for (const [name] of old) if (name !== "default" && users.has(name)) this.disconnectUser(name, current);
    this.refreshClients();
    return null;
  }

  /** The user's clients are closed; the one running the command (ACL LOAD) gets its reply first. */
  private disconnectUser(name: string, current?: Client): void {
    for (const c of this.server.clients.values()) {
      if (c.user !== name) continue;
      c.user = "default";
      c.authenticated = false;
      if (c === current) c.closeAfterReply = true;
      else c.kill();
    }
  }

  /** ACLSaveToFile. */
  saveToFile(filename: string): boolean {
    const text = this.sortedUsers().map((u) => `user ${u.name} ${u.describe()}\n`).join("");
    const tmp = `${filename}.tmp-${process.pid}-${Date.now()}`;
    try {
      writeFileSync(tmp, text, "latin1");
      renameSync(tmp, filename);
      return true;
    } catch (e) {
      log("warning", `Writing ACL file for ACL SAVE: ${errnoText(e)}`);
      try { unlinkSync(tmp); } catch { /* nothing to clean */ }
      return false;
    }
  }
}

function topLevelDenial(result: number, spec: CommandSpec): string {
  switch (result) {
    case ACL_DENIED_CMD: return `NOPERM this user has no permissions to run the '${spec.name}' command`;
    case ACL_DENIED_KEY: return "NOPERM this user has no permissions to access one of the keys used as arguments";
    case ACL_DENIED_CHANNEL: return "NOPERM this user has no permissions to access one of the channels used as arguments";
    default: return "no permission";
  }
}

function execDenial(result: number): string {
  switch (result) {
    case ACL_DENIED_CMD: return "no permission to execute the command or subcommand";
    case ACL_DENIED_KEY: return "no permission to touch the specified keys";
    case ACL_DENIED_CHANNEL: return "no permission to access one of the channels used as arguments";
    default: return "no permission";
  }
}

/** getAclErrorMessage. */
function scriptDenial(result: number): string {
  switch (result) {
    case ACL_DENIED_CMD: return "can't run this command or subcommand";
    case ACL_DENIED_KEY: return "can't access at least one of the keys mentioned in the command arguments";
    case ACL_DENIED_CHANNEL: return "can't publish to the channel mentioned in the command";
    default: return "lacking the permissions for the command";
  }
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "No such file or directory";
  if (code === "EACCES") return "Permission denied";
  return (e as Error).message;
}

const states = new WeakMap<Server, Acl>();

/** The server's ACL state, created with the server's hooks installed on first use. */
export function aclOf(server: Server): Acl {
  let acl = states.get(server);
  if (!acl) {
    acl = new Acl(server);
    states.set(server, acl);
    const a = acl;
    userDirectory.exists = (name: string) => a.users.has(name);
    authenticator.check = (srv, user, pass, client) =>
      aclOf(srv).authenticate(client, Buffer.from(user, "latin1"), Buffer.from(pass, "latin1"), "HELLO");
    authenticator.required = (srv, c) => aclOf(srv).authRequired(c);
    server.config.onApply("requirepass", (cfg) => a.setRequirePass(cfg.getString("requirepass")));
    a.setRequirePass(server.config.getString("requirepass"));
  }
  return acl;
}

const PROTECTED_MODE_ERROR = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/**
 * A new connection (Server.accept): refused in protected mode (Redis's
 * clientAcceptHandlerCommon), else starts as the default user, authenticated when that
 * user needs no password. Returns false when the connection was refused.
 */
export function aclAccept(server: Server, c: Client): boolean {
  const acl = aclOf(server);
  if (!acl.acceptsConnection(c)) {
    c.socket.on("error", () => {});
    c.socket.end(PROTECTED_MODE_ERROR);
    c.closed = true;
    server.stats.rejectedConnections++;
    return false;
  }
  c.user = "default";
  c.authenticated = acl.defaultUser.nopass && acl.defaultUser.enabled;
  acl.refreshClient(c);
  return true;
}
