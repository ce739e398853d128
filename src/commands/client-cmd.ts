// CLIENT ID / SETNAME / GETNAME / LIST / INFO / KILL / NO-EVICT / REPLY / HELP, as
// Redis 7.0's networking.c. CLIENT LIST lines carry Redis's fields in Redis's order; the
// fields of features other families own (pub/sub counts, MULTI, flags such as P x b t)
// come from clientInfoProviders, which those families extend.
import { queryBufferFree, queryBufferUsed } from "../server/querybuf.js";
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import type { Client } from "../server/client.js";
import type { Server } from "../server/server.js";
import { replyHelp } from "./help.js";
import { clientMemoryUsage, multiMemory } from "../server/client-eviction.js";
import { ERR, parseInteger } from "./context.js";
import { unixSocketPath } from "../server/unix-socket.js";

/** What other families report about a client in CLIENT LIST (defaults: an idle normal client). */
export const clientInfoProviders = {
  /** Extra flag letters (sorted into Redis's order O S M P x b t R B d c u A U r e); "" when none. */
  flags: [] as ((c: Client) => string)[],
  sub: (_c: Client) => 0,
  psub: (_c: Client) => 0,
  ssub: (_c: Client) => 0,
  /** Commands queued in MULTI, or -1 outside MULTI. */
  multi: (_c: Client) => -1,
  /** CLIENT LIST TYPE / KILL TYPE: normal, pubsub, replica (slave) or master. */
  type: (_c: Client) => "normal",
  /** redir= (CLIENT TRACKING REDIRECT), -1 when tracking is off. */
  redir: (_c: Client) => -1,
};

// b: waiting in a blocking command (src/types/blocking.ts).
clientInfoProviders.flags.push((c) => (c.blocked ? "b" : ""));
clientInfoProviders.flags.push((c) => (unixSocketPath(c.socket) !== undefined ? "U" : "")); // src/server/unix-socket.ts

/** Redis's catClientInfoString writes the flag letters in this order. */
const FLAG_ORDER = "OSMPxbtRBdcuAUre";
function flagRank(letter: string): number {
  const i = FLAG_ORDER.indexOf(letter);
  return i < 0 ? FLAG_ORDER.length : i;
}

/** Users CLIENT KILL USER may name (only "default" until ACL lands; the ACL family replaces it). */
export const userDirectory = { exists: (name: string): boolean => name === "default" };

const CLIENT_TYPES = new Set(["normal", "slave", "replica", "pubsub", "master"]);

function normalizeType(t: string): string | null {
  const v = t.toLowerCase();
  if (!CLIENT_TYPES.has(v)) return null;
  return v === "replica" ? "slave" : v;
}

function clientType(c: Client): string {
  const t = clientInfoProviders.type(c);
  return t === "replica" ? "slave" : t;
}

/** Redis's catClientInfoString. */
export function clientInfoString(server: Server, c: Client): string {
  const now = Date.now();
  let flags = clientInfoProviders.flags.map((f) => f(c)).join("");
  if (c.closeAfterReply) flags += "c";
  if (c.noEvict) flags += "e";
  // Providers register in module-load order; the letters go out in Redis's.
  flags = [...flags].sort((a, b) => flagRank(a) - flagRank(b)).join("");
  if (flags === "") flags = "N";
  const qbuf = queryBufferUsed(c);
  const omem = c.outputBufferLength;
  const argvMem = c.currentArgvBytes;
  const fd = (c.socket as unknown as { _handle?: { fd?: number } })._handle?.fd ?? -1;
  return `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=${fd} name=${c.name} ` +
    `age=${Math.floor((now - c.createdAt) / 1000)} idle=${Math.floor((now - c.lastInteraction) / 1000)} ` +
    `flags=${flags} db=${c.db} sub=${clientInfoProviders.sub(c)} psub=${clientInfoProviders.psub(c)} ` +
    `ssub=${clientInfoProviders.ssub(c)} multi=${clientInfoProviders.multi(c)} qbuf=${qbuf} ` +
    `qbuf-free=${queryBufferFree(c)} argv-mem=${argvMem} multi-mem=${multiMemory(c)} rbs=${c.replyBuffer.usable} rbp=${c.replyBuffer.peak} ` +
    `obl=0 oll=0 omem=${omem} tot-mem=${clientMemoryUsage(c)} events=r cmd=${c.lastCommand} ` +
    `user=${c.user} redir=${clientInfoProviders.redir(c)} resp=${c.resp}`;
  void server;
}

/**
 * Part of serverCron (Redis's clientsCronHandleTimeout): closes normal clients idle for
 * longer than `timeout` seconds. Pub/sub, replica and blocked clients are exempt.
 */
export function clientsCron(server: Server): void {
  const timeout = server.config.getNumber("timeout");
  if (timeout <= 0) return;
  const now = Date.now();
  for (const c of server.clients.values()) {
    if (clientType(c) !== "normal" || clientInfoProviders.flags.some((f) => f(c).includes("b"))) continue;
    if (now - c.lastInteraction > timeout * 1000) {
      c.kill();
      server.clients.delete(c.id);
    }
  }
}

/** Redis's validateClientName: printable ASCII without spaces. */
export function validClientName(name: Buffer): boolean {
  for (const b of name) if (b < 0x21 || b > 0x7e) return false;
  return true;
}
export const CLIENT_NAME_ERROR = "Client names cannot contain spaces, newlines or special characters.";

function parseId(s: Buffer): number | null {
  const str = s.toString("latin1");
  if (!/^(0|-?[1-9][0-9]*)$/.test(str)) return null;
  const v = Number(str);
  return Number.isSafeInteger(v) ? v : null;
}

function clientKill(ctx: CommandContext): void {
  const { server, client, argv, reply } = ctx;
  let addr: string | undefined;
  let laddr: string | undefined;
  let user: string | undefined;
  let type: string | undefined;
  let id = 0;
  let skipme = true;
  if (argv.length === 3) {
    addr = argv[2].toString("latin1");
    skipme = false;
  } else {
    for (let i = 2; i < argv.length; i += 2) {
      const opt = argv[i].toString("latin1").toLowerCase();
      const more = argv.length > i + 1;
      if (!more) return reply.error("syntax error");
      const val = argv[i + 1];
      if (opt === "id") {
        const v = parseId(val);
        if (v === null || v < 1) return reply.error("client-id should be greater than 0");
        id = v;
      } else if (opt === "type") {
        const t = normalizeType(val.toString("latin1"));
        if (!t) return reply.error(`Unknown client type '${val.toString("latin1")}'`);
        type = t;
      } else if (opt === "addr") addr = val.toString("latin1");
      else if (opt === "laddr") laddr = val.toString("latin1");
      else if (opt === "user") {
        user = val.toString("latin1");
        if (!userDirectory.exists(user)) return reply.error(`No such user '${user}'`);
      } else if (opt === "skipme") {
        const v = val.toString("latin1").toLowerCase();
        if (v === "yes") skipme = true;
        else if (v === "no") skipme = false;
        else return reply.error("syntax error");
      } else return reply.error("syntax error");
    }
  }
  let killed = 0;
  let closeSelf = false;
  for (const c of [...server.clients.values()]) {
    if (addr !== undefined && c.addr !== addr) continue;
    if (laddr !== undefined && c.laddr !== laddr) continue;
    if (type !== undefined && clientType(c) !== type) continue;
    if (id !== 0 && c.id !== id) continue;
    if (user !== undefined && c.user !== user) continue;
    if (c === client && skipme) continue;
    if (c === client) closeSelf = true;
    else {
      c.kill();
      server.clients.delete(c.id);
    }
    killed++;
  }
  if (argv.length === 3) {
    if (killed === 0) reply.error("No such client");
    else reply.ok();
  } else reply.integer(killed);
  if (closeSelf) client.closeAfterReply = true;
}

export function registerClientCommands(t: CommandTable): void {
  t.define("client|id", ({ client, reply }) => reply.integer(client.id));

  t.define("client|setname", ({ client, argv, reply }) => {
    if (!validClientName(argv[2])) return reply.error(CLIENT_NAME_ERROR);
    client.name = argv[2].toString("latin1");
    reply.ok();
  });

  t.define("client|getname", ({ client, reply }) => {
    if (client.name) reply.bulk(Buffer.from(client.name, "latin1"));
    else reply.nullBulk();
  });

  t.define("client|info", ({ server, client, reply }) => reply.verbatim(clientInfoString(server, client) + "\n"));

  t.define("client|list", ({ server, argv, reply }) => {
    let clients = [...server.clients.values()];
    if (argv.length === 4 && argv[2].toString("latin1").toLowerCase() === "type") {
      const type = normalizeType(argv[3].toString("latin1"));
      if (!type) return reply.error(`Unknown client type '${argv[3].toString("latin1")}'`);
      clients = clients.filter((c) => clientType(c) === type);
    } else if (argv.length > 3 && argv[2].toString("latin1").toLowerCase() === "id") {
      const picked: Client[] = [];
      for (let j = 3; j < argv.length; j++) {
        const id = parseId(argv[j]);
        if (id === null) return reply.error("Invalid client ID");
        const c = server.clients.get(id);
        if (c) picked.push(c);
      }
      clients = picked;
    } else if (argv.length !== 2) {
      return reply.error("syntax error");
    }
    reply.verbatim(clients.map((c) => clientInfoString(server, c) + "\n").join(""));
  });

  t.define("client|kill", clientKill);

  t.define("client|reply", ({ client, argv, reply }) => {
    const mode = argv[2].toString("latin1").toLowerCase();
    if (mode === "on") {
      client.replyOff = false;
      client.skipNextReply = false;
      reply.ok();
    } else if (mode === "off") {
      client.replyOff = true;
    } else if (mode === "skip") {
      if (!client.replyOff) client.skipNextReply = true;
    } else {
      reply.error("syntax error");
    }
  });

  // CLIENT UNBLOCK id [TIMEOUT|ERROR]: the blocked client answers as if it timed out, or
  // with -UNBLOCKED; replies 1 when the client was blocked.
  t.define("client|unblock", ({ server, argv, reply }) => {
    let how: "timeout" | "error" = "timeout";
    if (argv.length === 4) {
      const r = argv[3].toString("latin1").toLowerCase();
      if (r === "error") how = "error";
      else if (r !== "timeout") return reply.error("CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
    }
    const id = parseInteger(argv[2]);
    if (id === null) return reply.error(ERR.notInteger);
    const target = server.clients.get(Number(id));
    reply.integer(target && server.blocking.unblock(target, how) ? 1 : 0);
  });

  t.define("client|no-evict", ({ client, argv, reply }) => {
    const mode = argv[2].toString("latin1").toLowerCase();
    if (mode === "on") client.noEvict = true;
    else if (mode === "off") client.noEvict = false;
    else return reply.error("syntax error");
    reply.ok();
  });

  t.define("client|help", (ctx) => replyHelp(ctx, [
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
  ]));
}
