// HELLO, RESET, TIME, SHUTDOWN: connection handshake and server lifecycle, as Redis 7.0.
// HELLO 3 switches the connection to RESP3 (host replies through ReplyWriter.resp, kernel
// replies through Shard.useProtocol before each run). Families that keep per-connection
// state (MULTI, WATCH, pub/sub, tracking) register what RESET must clear in resetHooks.
import type { CommandTable } from "./table.js";
import type { Client } from "../server/client.js";
import type { Server } from "../server/server.js";
import { validClientName, CLIENT_NAME_ERROR } from "./client-cmd.js";
import { replicationOf } from "../repl/replication.js";
import type { ClusterClientFlags } from "../cluster/redirect.js";
import { aclOf } from "../acl/acl.js";
import { shutdownOf, SHUTDOWN_FORCE, SHUTDOWN_NOSAVE, SHUTDOWN_NOW, SHUTDOWN_SAVE } from "../server/shutdown.js";

/** Run by RESET (Redis's clearClientConnectionState) for state other families own. */
export const resetHooks: ((c: Client) => void)[] = [];

/**
 * HELLO's AUTH and authentication state; src/acl/acl.ts installs the real ones (these are
 * Redis's behaviour with no ACL configured: a default user with requirepass as its password).
 */
export const authenticator = {
  /** Authenticates the client as user (ACLAuthenticateUser); false: WRONGPASS. */
  check(server: Server, user: string, pass: string, client: Client): boolean {
    void client;
    if (user !== "default") return false;
    const required = server.config.get("requirepass");
    return required === "" || required === pass;
  },
  /** The client must still authenticate (HELLO without AUTH answers NOAUTH). */
  required(server: Server, client: Client): boolean {
    void server; void client;
    return false;
  },
};

/** The connection's protocol: host replies and (at the next kernel run) kernel replies follow it. */
export function setProtocol(c: Client, resp: number): void {
  c.resp = resp;
  c.reply.resp = resp;
}

function helloReply(server: Server, c: Client): void {
  const r = c.reply;
  r.mapLen(7);
  r.bulk("server"); r.bulk("redis");
  r.bulk("version"); r.bulk("7.0.15");
  r.bulk("proto"); r.integer(c.resp);
  r.bulk("id"); r.integer(c.id);
  r.bulk("mode"); r.bulk(server.cluster ? "cluster" : "standalone");
  r.bulk("role"); r.bulk("master");
  r.bulk("modules"); r.arrayLen(0);
  void server;
}

export function registerServerCommands(t: CommandTable): void {
  t.define("hello", ({ server, client, argv, reply }) => {
    let ver = 0;
    if (argv.length >= 2) {
      const s = argv[1].toString("latin1");
      if (!/^(0|-?[1-9][0-9]*)$/.test(s) || !Number.isSafeInteger(Number(s))) {
        return reply.error("Protocol version is not an integer or out of range");
      }
      ver = Number(s);
      if (ver < 2 || ver > 3) return reply.error("NOPROTO unsupported protocol version");
    }
    let user: string | undefined;
    let pass: string | undefined;
    let name: Buffer | undefined;
    for (let j = 2; j < argv.length; j++) {
      const more = argv.length - 1 - j;
      const opt = argv[j].toString("latin1");
      if (opt.toLowerCase() === "auth" && more >= 2) {
        user = argv[j + 1].toString("latin1");
        pass = argv[j + 2].toString("latin1");
        j += 2;
      } else if (opt.toLowerCase() === "setname" && more >= 1) {
        name = argv[j + 1];
        if (!validClientName(name)) return reply.error(CLIENT_NAME_ERROR);
        j++;
      } else {
        return reply.error(`Syntax error in HELLO option '${opt}'`);
      }
    }
    if (user !== undefined && pass !== undefined) {
      if (!authenticator.check(server, user, pass, client)) {
        return reply.error("WRONGPASS invalid username-password pair or user is disabled.");
      }
      client.user = user;
    }
    if (name !== undefined) client.name = name.toString("latin1");
    if (authenticator.required(server, client)) {
      return reply.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
    }
    if (ver) setProtocol(client, ver);
    helloReply(server, client);
  });

  // Redis's resetCommand + clearClientConnectionState: a monitor stops monitoring (before
  // the monitors are fed RESET itself), and the client is the default user again,
  // authenticated only if that user needs no password. CLIENT NO-EVICT stays as it is.
  t.define("reset", ({ server, client, reply }) => {
    const repl = replicationOf(server);
    if (repl.replicas.has(client)) return reply.error("can only reset normal client connections");
    server.monitors.delete(client);
    for (const h of resetHooks) h(client);
    client.db = 0;
    setProtocol(client, 2);
    const acl = aclOf(server);
    client.user = "default";
    client.authenticated = acl.defaultUser.nopass && acl.defaultUser.enabled;
    acl.refreshClient(client);
    client.name = "";
    client.replyOff = false;
    client.skipNextReply = false;
    const cluster = (client as Client & { cluster?: ClusterClientFlags }).cluster;
    if (cluster) cluster.asking = cluster.readonly = false;
    reply.status("RESET");
  });

  t.define("time", ({ reply }) => {
    const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    reply.arrayLen(2);
    reply.bulk(String(Math.floor(us / 1e6)));
    reply.bulk(String(us % 1e6));
  });

  // SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] (db.c shutdownCommand); the sequence, the
  // wait for lagging replicas and the signals are in src/server/shutdown.ts.
  t.define("shutdown", ({ server, argv, reply, client }) => {
    let flags = 0, abort = false;
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i].toString("latin1").toLowerCase();
      if (a === "nosave") flags |= SHUTDOWN_NOSAVE;
      else if (a === "save") flags |= SHUTDOWN_SAVE;
      else if (a === "now") flags |= SHUTDOWN_NOW;
      else if (a === "force") flags |= SHUTDOWN_FORCE;
      else if (a === "abort") abort = true;
      else return reply.error("syntax error");
    }
    if ((abort && flags !== 0) || ((flags & SHUTDOWN_NOSAVE) && (flags & SHUTDOWN_SAVE))) return reply.error("syntax error");
    const shutdown = shutdownOf(server);
    if (abort) return shutdown.abort() ? reply.ok() : reply.error("No shutdown in progress.");
    // Blocked until the shutdown ends: no reply when the process exits, an error when it fails.
    const err = shutdown.command(client, flags);
    if (err) reply.error(err);
  });
}
