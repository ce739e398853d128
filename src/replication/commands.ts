// CRDT.PEER ADD|DEL|FORGET host busport, CRDT.PEERS: managing active-active peers at runtime.
// DEL drops the link but tombstone GC keeps waiting for the peer (it may come back with old
// data); FORGET also drops it from the GC quorum.
// These are LatticeKV's own commands (not Redis's), so their table rows are made here.
import type { CommandTable, CommandSpec, HostHandler } from "../commands/table.js";
import type { Server } from "../server/server.js";
import { ActiveActive, REPLICA_REFUSES_PEERS } from "./active-active.js";
import { replicationOf } from "../repl/replication.js";

function row(name: string, arity: number, handler: HostHandler): CommandSpec {
  const flags = ["admin", "noscript", "loading", "stale"];
  return {
    name, arity, flags: new Set(flags), firstKey: 0, lastKey: 0, keyStep: 0, aclCategories: ["@admin", "@slow", "@dangerous"],
    info: [name, arity, flags.map((s) => ({ s })), 0, 0, 0, ["@admin", "@slow", "@dangerous"].map((s) => ({ s })), [], [], []],
    docs: ["summary", "Active-active replication peers (LatticeKV)", "since", "0.1.0", "group", "server", "complexity", "O(N)"],
    subcommands: new Map(), handler, kernelIndex: -1, calls: 0, failedCalls: 0, rejectedCalls: 0, usec: 0,
  };
}

/** The node's replication, started on first use when configuration did not start it. */
function ensure(server: Server): ActiveActive {
  if (!server.crdt) server.crdt = new ActiveActive(server, ActiveActive.defaultNodeId(server, ""));
  return server.crdt;
}

export function registerCrdtCommands(t: CommandTable): void {
  t.all.set("crdt.peer", row("crdt.peer", -2, ({ server, argv, reply }) => {
    const sub = argv[1].toString("latin1").toLowerCase();
    if ((sub === "add" || sub === "del" || sub === "forget") && argv.length === 4) {
      const host = argv[2].toString("latin1");
      const port = Number(argv[3].toString("latin1"));
      if (!Number.isInteger(port) || port <= 0 || port > 65535) return reply.error("Invalid port");
      if (sub === "add") {
        if (replicationOf(server).link !== null) return reply.error(REPLICA_REFUSES_PEERS);
        ensure(server).addPeer(host, port);
        return reply.ok();
      }
      if (sub === "forget") return reply.integer(server.crdt?.forgetPeer(host, port) ? 1 : 0);
      return reply.integer(server.crdt?.removePeer(host, port) ? 1 : 0);
    }
    reply.error(`unknown subcommand '${argv[1].toString("latin1")}'. Try CRDT.PEER ADD|DEL|FORGET host port.`);
  }));
  t.all.set("crdt.peers", row("crdt.peers", 1, ({ server, reply }) => {
    const links = server.crdt ? [...server.crdt.links.values()] : [];
    reply.arrayLen(links.length);
    for (const l of links) {
      const p = server.crdt!.gossip.peers.get(l.key);
      reply.mapLen(4);
      reply.bulk("addr"); reply.bulk(l.key);
      reply.bulk("id"); reply.bulk(l.remoteId);
      reply.bulk("link"); reply.bulk(l.connected ? "up" : "down");
      reply.bulk("backlog"); reply.integer(p?.backlog.length ?? 0);
    }
  }));
}
