// Active-active cluster groups (src/cluster/group.ts, README "Active-active groups") of real
// server processes: a member started in its group with AOF and appendfsync always (restartable
// where it ran), one command on a fresh connection, the groups joined with CLUSTER MEET and
// given their slots with ADDSLOTSRANGE, and whether every member of each key's group holds
// the key's value.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient, type RunningServer } from "./server.js";
import { until } from "./wait.js";
import { keySlot } from "../../src/server/router.js";

export interface GroupNode { srv: RunningServer; port: number; cport: number; dir: string; group: string }

/** A member of `group`; `at` restarts one where it ran (its port, bus port, AOF and nodes.conf); `env` for its process. */
export async function startGroupNode(group: string, nodeTimeoutMs: number, at?: GroupNode, env: Record<string, string> = {}): Promise<GroupNode> {
  const port = at?.port ?? await freePort();
  const cport = at?.cport ?? await freePort();
  const dir = at?.dir ?? mkdtempSync(join(tmpdir(), "lkv-cluster-aa-"));
  const srv = await startServer(["--cluster-enabled", "yes", "--cluster-port", String(cport), "--cluster-group", group,
    "--cluster-node-timeout", String(nodeTimeoutMs), "--appendonly", "yes", "--appendfsync", "always"], env, { port, dir });
  return { srv, port, cport, dir, group };
}

/** One command on its own connection. */
export async function call(n: GroupNode, ...args: string[]): Promise<unknown> {
  const r = await connectClient(n.port, { protocol: 2 } as never);
  try {
    return await r.call(args[0], ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

export type SlotRow = [number, number, ...[string, number, string][]];

/**
 * Joins `nodes` into one cluster (MEET from the first), gives each group's first member its
 * range (the group's other members claim it from the group), and waits until every node is
 * cluster_state:ok, lists one SLOTS row per group with all its members, and has its CRDT link up.
 */
export async function formGroups(nodes: GroupNode[], ranges: Map<string, [number, number]>): Promise<void> {
  for (const n of nodes.slice(1)) {
    if (await call(nodes[0], "cluster", "meet", "127.0.0.1", String(n.port), String(n.cport)) !== "OK") throw new Error("MEET refused");
  }
  for (const [group, [lo, hi]] of ranges) {
    const first = nodes.find((n) => n.group === group)!;
    if (await call(first, "cluster", "addslotsrange", String(lo), String(hi)) !== "OK") throw new Error("ADDSLOTSRANGE refused");
  }
  // A SLOTS row's members: those of the group whose range holds its first slot.
  const membersAt = (slot: number) => nodes.filter((n) => { const r = ranges.get(n.group); return r && slot >= r[0] && slot <= r[1]; }).length;
  await until("every node: cluster_state:ok, each group's range served by all its members, CRDT links up", async () => {
    for (const n of nodes) {
      if (!String(await call(n, "cluster", "info")).includes("cluster_state:ok")) return false;
      const slots = (await call(n, "cluster", "slots")) as SlotRow[];
      if (slots.length !== ranges.size || slots.some((s) => s.length !== 2 + membersAt(s[0]))) return false;
      // (a group of one member has no CRDT peer)
      if (nodes.filter((m) => m.group === n.group).length > 1 && !/peer0:.*link=up/.test(String(await call(n, "info", "crdt")))) return false;
    }
    return true;
  }, 60_000, 100);
}

/**
 * GETs of `keys` on `n`, one connection and one pipeline; the error's text instead if `n`
 * answers -CLUSTERDOWN (a restarted master does until its cluster state is ok again, at least
 * 2 s after it starts, as Redis's clusterUpdateState).
 */
async function getAll(n: GroupNode, keys: string[]): Promise<unknown[] | string> {
  const r = await connectClient(n.port, { protocol: 2 } as never);
  try {
    const pipe = r.pipeline();
    for (const k of keys) pipe.get(k);
    const replies = (await pipe.exec())!;
    const got: unknown[] = [];
    for (const [err, value] of replies) {
      if (!err) { got.push(value); continue; }
      if (!/^CLUSTERDOWN/.test(err.message)) throw err;
      return `(:${n.port} says ${err.message})`;
    }
    return got;
  } finally {
    r.disconnect();
  }
}

/**
 * Whether every member of each key's group (`groupOfSlot`) holds the key's value in `want`:
 * true, or the first difference seen. Each member is read with one connection and one pipeline
 * of GETs: a connection, a GET and a CLUSTER KEYSLOT per key and member made one round over
 * 800 keys take 1.5-2 s of the machine at load 0.5, so at load 30 one round outlasted the
 * whole wait and the test timed out on a cluster that had converged.
 */
export async function groupsHold(want: Map<string, string>, nodes: GroupNode[],
                                 groupOfSlot: (slot: number) => string): Promise<true | string> {
  const byGroup = new Map<string, [string, string][]>();
  for (const [k, v] of want) {
    const g = groupOfSlot(keySlot(Buffer.from(k)));
    if (!byGroup.has(g)) byGroup.set(g, []);
    byGroup.get(g)!.push([k, v]);
  }
  for (const [g, pairs] of byGroup) {
    for (const m of nodes.filter((n) => n.group === g)) {
      const got = await getAll(m, pairs.map(([k]) => k));
      if (typeof got === "string") return got;
      const i = pairs.findIndex(([, v], j) => got[j] !== v);
      if (i >= 0) return `(${pairs[i][0]} on :${m.port} is ${String(got[i])}, want ${pairs[i][1]})`;
    }
  }
  return true;
}
