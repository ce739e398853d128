// CLUSTER and its subcommands, ASKING, READONLY, READWRITE (Redis's cluster.c
// clusterCommand). Without cluster-enabled yes they answer Redis's "This instance has
// cluster support disabled".
import type { CommandTable } from "./table.js";
import type { CommandContext } from "./context.js";
import { argLower, ERR, parseInteger } from "./context.js";
import { replyHelp, subcommandSyntaxError } from "./help.js";
import { keySlot } from "../server/router.js";
import { CLUSTER_SLOTS, isReplica, type ClusterNode } from "../cluster/state.js";
import type { Cluster } from "../cluster/cluster.js";
import type { ClusterClientFlags } from "../cluster/redirect.js";
import { bumpEpochWithoutConsensus } from "../cluster/failover.js";
import { defineDebug } from "./debug.js";
import { log } from "../server/log.js";
import { clientPort, usePport } from "../cluster/ports.js";
import { endpointMetadata, preferredEndpoint } from "../cluster/endpoints.js";

const DISABLED = "This instance has cluster support disabled";

type Handler = (ctx: CommandContext, cluster: Cluster) => void;

function clusterOnly(fn: Handler) {
  return (ctx: CommandContext) => {
    const cluster = ctx.server.cluster;
    if (!cluster) return ctx.reply.error(DISABLED);
    fn(ctx, cluster);
  };
}

function flagsOf(ctx: CommandContext): ClusterClientFlags {
  const c = ctx.client as typeof ctx.client & { cluster?: ClusterClientFlags };
  return (c.cluster ??= { asking: false, readonly: false });
}

/** Redis's getSlotOrReply. */
function slotOrReply(ctx: CommandContext, i: number): number | null {
  const v = parseInteger(ctx.argv[i]);
  if (v === null || v < 0n || v >= BigInt(CLUSTER_SLOTS)) {
    ctx.reply.error("Invalid or out of range slot");
    return null;
  }
  return Number(v);
}

function nodeArg(cluster: Cluster, ctx: CommandContext, i: number): ClusterNode | undefined {
  return cluster.state.nodes.get(ctx.argv[i].toString("latin1"));
}

/** ADDSLOTS / DELSLOTS and their RANGE forms: all slots are checked before any changes. */
function updateSlots(ctx: CommandContext, cluster: Cluster, del: boolean, ranges: boolean): void {
  const st = cluster.state;
  if (ranges && ctx.argv.length % 2 === 1) return ctx.reply.error(`wrong number of arguments for 'cluster|${argLower(ctx, 1)}' command`);
  const chosen = new Set<number>();
  for (let j = 2; j < ctx.argv.length; j += ranges ? 2 : 1) {
    const a = slotOrReply(ctx, j);
    if (a === null) return;
    let b = a;
    if (ranges) {
      const e = slotOrReply(ctx, j + 1);
      if (e === null) return;
      if (a > e) return ctx.reply.error(`start slot number ${a} is greater than end slot number ${e}`);
      b = e;
    }
    for (let s = a; s <= b; s++) {
      if (del && st.owner[s] === null) return ctx.reply.error(`Slot ${s} is already unassigned`);
      if (!del && st.owner[s] !== null) return ctx.reply.error(`Slot ${s} is already busy`);
      if (chosen.has(s)) return ctx.reply.error(`Slot ${s} specified multiple times`);
      chosen.add(s);
    }
  }
  for (const s of chosen) {
    st.assign(s, del ? null : st.myself);
    // Adding a slot we were importing closes the import (Redis's clusterUpdateSlots).
    if (!del) st.importing.delete(s);
  }
  cluster.changed();
  ctx.reply.ok();
}

function info(ctx: CommandContext, cluster: Cluster): void {
  const st = cluster.state;
  let assigned = 0, pfail = 0, fail = 0;
  for (const n of st.owner) {
    if (!n) continue;
    assigned++;
    if (n.fail) fail++;
    else if (n.pfail) pfail++;
  }
  const ok = st.stateOk(ctx.server.config.getBool("cluster-require-full-coverage"));
  const lines = [
    `cluster_state:${ok ? "ok" : "fail"}`,
    `cluster_slots_assigned:${assigned}`,
    `cluster_slots_ok:${assigned - pfail - fail}`,
    `cluster_slots_pfail:${pfail}`,
    `cluster_slots_fail:${fail}`,
    `cluster_known_nodes:${st.nodes.size}`,
    `cluster_size:${st.size()}`,
    `cluster_current_epoch:${st.currentEpoch}`,
    `cluster_my_epoch:${st.myself.configEpoch}`,
  ];
  let sent = 0, received = 0;
  for (const [type, n] of st.stats.sent) { lines.push(`cluster_stats_messages_${type}_sent:${n}`); sent += n; }
  lines.push(`cluster_stats_messages_sent:${sent}`);
  for (const [type, n] of st.stats.received) { lines.push(`cluster_stats_messages_${type}_received:${n}`); received += n; }
  lines.push(`cluster_stats_messages_received:${received}`, `total_cluster_links_buffer_limit_exceeded:${cluster.bus.linksBufferLimitExceeded}`);
  ctx.reply.verbatim(lines.join("\r\n") + "\r\n");
}

/** A node's replication offset as CLUSTER SHARDS shows it (our own is exact). */
function offsetOf(ctx: CommandContext, cluster: Cluster, n: ClusterNode): number {
  return n.myself ? cluster.replOffset() : n.replOffset;
}

/**
 * The masters with slots, one per shard: with active-active groups, one member per group
 * (the members' claims are the group's, so listing each would repeat every range).
 */
function shardHeads(cluster: Cluster): ClusterNode[] {
  const st = cluster.state;
  const seen = new Set<string>();
  const out: ClusterNode[] = [];
  for (const n of st.nodes.values()) {
    if (isReplica(n) || n.handshake) continue;
    if (n.group) {
      if (seen.has(n.group)) continue;
      seen.add(n.group);
    }
    out.push(n);
  }
  return out;
}

function slots(ctx: CommandContext, cluster: Cluster): void {
  const st = cluster.state;
  const rows: [number, number, ClusterNode][] = [];
  for (const n of shardHeads(cluster)) for (const [a, b] of st.claimRangesOf(n)) rows.push([a, b, n]);
  rows.sort((x, y) => x[0] - y[0]);
  const r = ctx.reply;
  const pport = usePport(ctx.server.config, ctx.client);
  const node = (n: ClusterNode) => {
    r.arrayLen(4);
    r.bulk(preferredEndpoint(ctx.server.config, n));
    r.integer(clientPort(n, pport));
    r.bulk(n.id);
    const meta = endpointMetadata(ctx.server.config, n);
    r.mapLen(meta.length);
    for (const [k, v] of meta) { r.bulk(k); r.bulk(v); }
  };
  r.arrayLen(rows.length);
  for (const [a, b, n] of rows) {
    // An active-active group's members all serve the range: the one to use first leads.
    const members = cluster.group.servers(n);
    // Replicas that failed or never synced are left out (Redis's isReplicaAvailable).
    const replicas = st.replicasOf(n).filter((x) => !x.fail && offsetOf(ctx, cluster, x) !== 0);
    r.arrayLen(2 + members.length + replicas.length);
    r.integer(a);
    r.integer(b);
    for (const m of members) node(m);
    for (const x of replicas) node(x);
  }
}

function shards(ctx: CommandContext, cluster: Cluster): void {
  const st = cluster.state;
  const masters = shardHeads(cluster);
  const r = ctx.reply;
  r.arrayLen(masters.length);
  for (const m of masters) {
    r.mapLen(2);
    r.bulk("slots");
    const ranges = st.claimRangesOf(m);
    r.arrayLen(ranges.length * 2);
    for (const [a, b] of ranges) { r.integer(a); r.integer(b); }
    r.bulk("nodes");
    // One shard per active-active group: every member is a master of its slots.
    const members = [...cluster.group.servers(m), ...st.replicasOf(m)];
    r.arrayLen(members.length);
    for (const n of members) {
      const offset = offsetOf(ctx, cluster, n);
      // A TLS cluster's nodes show "port" (plain text, when they have one) and "tls-port".
      const tlsCluster = ctx.server.config.getBool("tls-cluster");
      const plainPort = tlsCluster ? n.pport : n.port;
      const tlsPort = tlsCluster ? n.port : 0;
      r.mapLen(6 + (plainPort ? 1 : 0) + (tlsPort ? 1 : 0) + (n.hostname ? 1 : 0));
      r.bulk("id"); r.bulk(n.id);
      if (plainPort) { r.bulk("port"); r.integer(plainPort); }
      if (tlsPort) { r.bulk("tls-port"); r.integer(tlsPort); }
      r.bulk("ip"); r.bulk(n.ip);
      r.bulk("endpoint"); r.bulk(preferredEndpoint(ctx.server.config, n));
      if (n.hostname) { r.bulk("hostname"); r.bulk(n.hostname); }
      r.bulk("role"); r.bulk(n.master ? "replica" : "master");
      r.bulk("replication-offset"); r.integer(offset);
      r.bulk("health"); r.bulk(n.fail ? "fail" : n.master && offset === 0 ? "loading" : "online");
    }
  }
}

/** CLUSTER LINKS: each peer's link from us ("to") and to us ("from"), as Redis's clusterReplyLinks. */
function links(ctx: CommandContext, cluster: Cluster): void {
  const rows = cluster.bus.linksInfo();
  const r = ctx.reply;
  r.arrayLen(rows.length);
  for (const l of rows) {
    r.mapLen(6);
    r.bulk("direction"); r.bulk(l.direction);
    r.bulk("node"); r.bulk(l.node);
    r.bulk("create-time"); r.integer(l.createTime);
    r.bulk("events"); r.bulk(l.events);
    r.bulk("send-buffer-allocated"); r.integer(l.sendBufferAllocated);
    r.bulk("send-buffer-used"); r.integer(l.sendBufferUsed);
  }
}

function setslot(ctx: CommandContext, cluster: Cluster): void {
  const st = cluster.state;
  if (isReplica(st.myself)) return ctx.reply.error("Please use SETSLOT only with masters.");
  const slot = slotOrReply(ctx, 2);
  if (slot === null) return;
  const action = argLower(ctx, 3);
  const argc = ctx.argv.length;
  if (action === "migrating" && argc === 5) {
    // (A member of an active-active group owns its group's slots.)
    const owner = st.owner[slot];
    if (!owner || !st.sameGroup(owner, st.myself)) return ctx.reply.error(`I'm not the owner of hash slot ${slot}`);
    const n = nodeArg(cluster, ctx, 4);
    if (!n) return ctx.reply.error(`I don't know about node ${ctx.argv[4].toString("latin1")}`);
    if (isReplica(n)) return ctx.reply.error("Target node is not a master");
    st.migrating.set(slot, n);
    cluster.changed();
    // In an active-active group, OK only once the group's writes of the slot are all here.
    if (!cluster.migration.migrating(ctx.client, slot)) ctx.reply.ok();
    return;
  } else if (action === "importing" && argc === 5) {
    if (st.owner[slot] === st.myself) return ctx.reply.error(`I'm already the owner of hash slot ${slot}`);
    const n = nodeArg(cluster, ctx, 4);
    if (!n) return ctx.reply.error(`I don't know about node ${ctx.argv[4].toString("latin1")}`);
    if (isReplica(n)) return ctx.reply.error("Target node is not a master");
    st.importing.set(slot, n);
  } else if (action === "stable" && argc === 4) {
    st.importing.delete(slot);
    st.migrating.delete(slot);
  } else if (action === "node" && argc === 5) {
    const n = nodeArg(cluster, ctx, 4);
    if (!n) return ctx.reply.error(`Unknown node ${ctx.argv[4].toString("latin1")}`);
    if (isReplica(n)) return ctx.reply.error("Target node is not a master");
    const keys = cluster.countKeysInSlot(slot);
    // (A group member whose peer runs the slot's migration holds keys the peer's MIGRATE DELs
    // have not reached yet: it is not the one handing the slot off.)
    if (st.owner[slot] === st.myself && n !== st.myself && keys !== 0 && !st.groupMoving.has(slot)) {
      return ctx.reply.error(`Can't assign hashslot ${slot} to a different node while I still hold keys for this hash slot.`);
    }
    if (keys === 0) st.migrating.delete(slot);
    const slotWasMine = st.owner[slot] === st.myself;
    st.assign(slot, n);
    // A master left without slots turns into a replica of the new owner (with
    // cluster-allow-replica-migration, as Redis); a member of an active-active group never does.
    if (slotWasMine && n !== st.myself && st.numSlots(st.myself) === 0 &&
        ctx.server.config.getBool("cluster-allow-replica-migration") && !cluster.group.active) {
      log("warning", `Configuration change detected. Reconfiguring myself as a replica of ${n.id}`);
      cluster.becomeReplicaOf(n);
    }
    if (n === st.myself && st.importing.has(slot)) {
      // The slot was migrated by hand: a new epoch lets the new owner win everywhere
      // (Redis's clusterBumpConfigEpochWithoutConsensus), and the others hear of it at once.
      bumpEpoch(cluster);
      st.importing.delete(slot);
      cluster.bus.broadcast("pong");
    }
  } else {
    return ctx.reply.error("Invalid CLUSTER SETSLOT action or number of arguments. Try CLUSTER HELP");
  }
  cluster.changed();
  ctx.reply.ok();
}

/** Takes a new configEpoch unless ours is already the only greatest one; whether it did. */
function bumpEpoch(cluster: Cluster): boolean {
  return bumpEpochWithoutConsensus(cluster.state);
}

const HELP = [
  "ADDSLOTS <slot> [<slot> ...]", "    Assign slots to current node.",
  "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]", "    Assign slots which are between <start-slot> and <end-slot> to current node.",
  "BUMPEPOCH", "    Advance the cluster config epoch.",
  "COUNT-FAILURE-REPORTS <node-id>", "    Return number of failure reports for <node-id>.",
  "COUNTKEYSINSLOT <slot>", "    Return the number of keys in <slot>.",
  "DELSLOTS <slot> [<slot> ...]", "    Delete slots information from current node.",
  "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]", "    Delete slots information which are between <start-slot> and <end-slot> from current node.",
  "FAILOVER [FORCE|TAKEOVER]", "    Promote current replica node to being a master.",
  "FORGET <node-id>", "    Remove a node from the cluster.",
  "GETKEYSINSLOT <slot> <count>", "    Return key names stored by current node in a slot.",
  "FLUSHSLOTS", "    Delete current node own slots information.",
  "INFO", "    Return information about the cluster.",
  "KEYSLOT <key>", "    Return the hash slot for <key>.",
  "MEET <ip> <port> [<bus-port>]", "    Connect nodes into a working cluster.",
  "MYID", "    Return the node id.",
  "NODES", "    Return cluster configuration seen by node. Output format:",
  "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
  "REPLICATE <node-id>", "    Configure current node as replica to <node-id>.",
  "RESET [HARD|SOFT]", "    Reset current node (default: soft).",
  "SET-CONFIG-EPOCH <epoch>", "    Set config epoch of current node.",
  "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)", "    Set slot state.",
  "REPLICAS <node-id>", "    Return <node-id> replicas.",
  "SAVECONFIG", "    Force saving cluster configuration on disk.",
  "SLOTS", "    Return information about slots range mappings. Each range is made of:",
  "    start, end, master and replicas IP addresses, ports and ids",
  "SHARDS", "    Return information about slot range mappings and the nodes associated with them.",
  "LINKS", "    Return information about all network links between this node and its peers.",
  "    Output format is an array where each array element is a map containing attributes of a link",
];

export function registerClusterCommands(t: CommandTable): void {
  t.define("cluster|help", clusterOnly((ctx) => replyHelp(ctx, HELP)));
  t.define("cluster|info", clusterOnly(info));
  t.define("cluster|myid", clusterOnly((ctx, c) => ctx.reply.bulk(c.state.myself.id)));
  t.define("cluster|nodes", clusterOnly((ctx, c) => ctx.reply.verbatim(c.state.nodesText(usePport(ctx.server.config, ctx.client)))));
  t.define("cluster|slots", clusterOnly(slots));
  t.define("cluster|shards", clusterOnly(shards));
  t.define("cluster|links", clusterOnly(links));
  t.define("cluster|keyslot", clusterOnly((ctx) => ctx.reply.integer(keySlot(ctx.argv[2]))));
  t.define("cluster|countkeysinslot", clusterOnly((ctx, c) => {
    const v = parseInteger(ctx.argv[2]);
    if (v === null) return ctx.reply.error(ERR.notInteger);
    if (v < 0n || v >= BigInt(CLUSTER_SLOTS)) return ctx.reply.error("Invalid slot");
    ctx.reply.integer(c.countKeysInSlot(Number(v)));
  }));
  t.define("cluster|getkeysinslot", clusterOnly((ctx, c) => {
    const slot = parseInteger(ctx.argv[2]);
    if (slot === null) return ctx.reply.error(ERR.notInteger);
    const max = parseInteger(ctx.argv[3]);
    if (max === null) return ctx.reply.error(ERR.notInteger);
    if (slot < 0n || slot >= BigInt(CLUSTER_SLOTS) || max < 0n) return ctx.reply.error("Invalid slot or number of keys");
    ctx.reply.bulkArray(c.keysInSlot(Number(slot), Number(max)));
  }));
  t.define("cluster|addslots", clusterOnly((ctx, c) => updateSlots(ctx, c, false, false)));
  t.define("cluster|delslots", clusterOnly((ctx, c) => updateSlots(ctx, c, true, false)));
  t.define("cluster|addslotsrange", clusterOnly((ctx, c) => updateSlots(ctx, c, false, true)));
  t.define("cluster|delslotsrange", clusterOnly((ctx, c) => updateSlots(ctx, c, true, true)));
  t.define("cluster|flushslots", clusterOnly((ctx, c) => {
    if (ctx.server.shards.some((s) => s.kernel.x.dbSize(0) !== 0)) return ctx.reply.error("DB must be empty to perform CLUSTER FLUSHSLOTS.");
    for (let s = 0; s < CLUSTER_SLOTS; s++) if (c.state.owner[s] === c.state.myself) c.state.assign(s, null);
    c.changed();
    ctx.reply.ok();
  }));
  t.define("cluster|meet", clusterOnly((ctx, c) => {
    if (ctx.argv.length > 5) return ctx.reply.error("syntax error");
    const ip = ctx.argv[2].toString("latin1");
    const port = parseInteger(ctx.argv[3]);
    if (port === null || port < 0n || port > 65535n) return ctx.reply.error(`Invalid TCP base port specified: ${ctx.argv[3].toString("latin1")}`);
    let cport = Number(port) + 10000;
    if (ctx.argv.length === 5) {
      const b = parseInteger(ctx.argv[4]);
      if (b === null || b < 0n || b > 65535n) return ctx.reply.error(`Invalid TCP bus port specified: ${ctx.argv[4].toString("latin1")}`);
      cport = Number(b);
    }
    if (!/^[0-9a-fA-F:.]+$/.test(ip)) return ctx.reply.error(`Invalid node address specified: ${ip}:${port}`);
    c.bus.meet(ip, Number(port), cport);
    c.changed();
    ctx.reply.ok();
  }));
  t.define("cluster|forget", clusterOnly((ctx, c) => {
    const n = nodeArg(c, ctx, 2);
    if (!n) return ctx.reply.error(`Unknown node ${ctx.argv[2].toString("latin1")}`);
    if (n.myself) return ctx.reply.error("I tried hard but I can't forget myself...");
    if (c.state.myself.master === n) return ctx.reply.error("Can't forget my master!");
    c.bus.forget(n);
    c.bus.blacklist(n.id);
    c.group.forget(n);
    c.state.removeNode(n);
    c.changed();
    ctx.reply.ok();
  }));
  t.define("cluster|setslot", clusterOnly(setslot));
  t.define("cluster|set-config-epoch", clusterOnly((ctx, c) => {
    const epoch = parseInteger(ctx.argv[2]);
    if (epoch === null) return ctx.reply.error(ERR.notInteger);
    const st = c.state;
    if (epoch < 0n) return ctx.reply.error(`Invalid config epoch specified: ${epoch}`);
    if (st.nodes.size > 1) return ctx.reply.error("The user can assign a config epoch only when the node does not know any other node.");
    if (st.myself.configEpoch !== 0) return ctx.reply.error("Node config epoch is already non-zero");
    st.myself.configEpoch = Number(epoch);
    if (st.currentEpoch < Number(epoch)) st.currentEpoch = Number(epoch);
    c.changed();
    ctx.reply.ok();
  }));
  t.define("cluster|bumpepoch", clusterOnly((ctx, c) => {
    const bumped = bumpEpoch(c);
    c.changed();
    ctx.reply.status(`${bumped ? "BUMPED" : "STILL"} ${c.state.myself.configEpoch}`);
  }));
  t.define("cluster|saveconfig", clusterOnly((ctx, c) => {
    try { c.state.save(true); } catch (e) { return ctx.reply.error(`error saving the cluster node config: ${(e as Error).message}`); }
    ctx.reply.ok();
  }));
  t.define("cluster|count-failure-reports", clusterOnly((ctx, c) => {
    const n = nodeArg(c, ctx, 2);
    if (!n) return ctx.reply.error(`Unknown node ${ctx.argv[2].toString("latin1")}`);
    ctx.reply.integer(c.bus.failureReports(n));
  }));
  const replicas = clusterOnly((ctx, c) => {
    const n = nodeArg(c, ctx, 2);
    if (!n) return ctx.reply.error(`Unknown node ${ctx.argv[2].toString("latin1")}`);
    if (isReplica(n)) return ctx.reply.error("The specified node is not a master");
    const replicas = c.state.replicasOf(n);
    ctx.reply.arrayLen(replicas.length);
    for (const x of replicas) ctx.reply.bulk(c.state.describe(x, usePport(ctx.server.config, ctx.client)));
  });
  t.define("cluster|replicas", replicas);
  t.define("cluster|slaves", replicas);
  t.define("cluster|reset", clusterOnly((ctx, c) => {
    let hard = false;
    if (ctx.argv.length === 3) {
      const mode = argLower(ctx, 2);
      if (mode === "hard") hard = true;
      else if (mode !== "soft") return ctx.reply.error(ERR.syntax);
    }
    if (!c.state.myself.master && ctx.server.shards.some((s) => s.kernel.x.dbSize(0) !== 0)) {
      return ctx.reply.error("CLUSTER RESET can't be called with master nodes containing keys");
    }
    c.reset(hard);
    ctx.reply.ok();
  }));

  t.define("cluster|replicate", clusterOnly((ctx, c) => {
    const st = c.state;
    const n = nodeArg(c, ctx, 2);
    if (!n) return ctx.reply.error(`Unknown node ${ctx.argv[2].toString("latin1")}`);
    if (n.myself) return ctx.reply.error("Can't replicate myself");
    if (isReplica(n)) return ctx.reply.error("I can only replicate a master, not a replica.");
    // Members of an active-active group replicate through the CRDT layer, not PSYNC.
    if (c.group.active) return ctx.reply.error("This node is a member of an active-active group (cluster-group): it does not replicate a master");
    // A master must be empty and own no slots; a replica may switch masters freely.
    if (!st.myself.master && (st.numSlots(st.myself) !== 0 || ctx.server.shards.some((s) => s.kernel.x.dbSize(0) !== 0))) {
      return ctx.reply.error("To set a master the node must be empty and without assigned slots.");
    }
    c.becomeReplicaOf(n);
    ctx.reply.ok();
  }));
  t.define("cluster|failover", clusterOnly((ctx, c) => {
    let force = false, takeover = false;
    if (ctx.argv.length === 3) {
      const mode = argLower(ctx, 2);
      if (mode === "force") force = true;
      else if (mode === "takeover") force = takeover = true;
      else return ctx.reply.error(ERR.syntax);
    }
    const error = c.failover.manual(force, takeover);
    if (error) return ctx.reply.error(error);
    ctx.reply.ok();
  }));

  defineDebug("drop-cluster-packet-filter", 3, (ctx) => {
    const v = parseInteger(ctx.argv[2]);
    if (v === null) return ctx.reply.error(ERR.notInteger);
    if (ctx.server.cluster) ctx.server.cluster.bus.dropFilter = Number(v);
    ctx.reply.ok();
  });

  // DEBUG CLUSTERLINK KILL to|from|all <node-id>: frees our link to the node, the one it opened
  // to us, or both (the bus makes its own again on its next cron).
  defineDebug("clusterlink", 5, (ctx) => {
    if (argLower(ctx, 2) !== "kill") return subcommandSyntaxError(ctx);
    const c = ctx.server.cluster;
    if (!c) return ctx.reply.error("Debug option only available for cluster mode enabled setup!");
    const id = ctx.argv[4].toString("latin1");
    const n = c.state.nodes.get(id);
    if (!n) return ctx.reply.error(`Unknown node ${id}`);
    const dir = argLower(ctx, 3);
    if (dir === "from" || dir === "to" || dir === "all") c.bus.freeLinks(n, dir);
    else return ctx.reply.error(`Unknown direction ${ctx.argv[3].toString("latin1")}`);
    ctx.reply.ok();
  });

  t.define("asking", clusterOnly((ctx) => { flagsOf(ctx).asking = true; ctx.reply.ok(); }));
  t.define("readonly", clusterOnly((ctx) => { flagsOf(ctx).readonly = true; ctx.reply.ok(); }));
  t.define("readwrite", clusterOnly((ctx) => { flagsOf(ctx).readonly = false; ctx.reply.ok(); }));
}
