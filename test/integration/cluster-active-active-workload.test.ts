// Issue #13's workload on the active-active layout, "a 6-node: 3 groups × 2": three groups of
// two members (src/cluster/group.ts), writers on every member (an ioredis Cluster client, and
// writers that start each write at the member not running the migration) going on while
// `redis-cli --cluster reshard` moves a slot range from one group to another and then while a
// member is SIGKILLed and restarted from its AOF; afterwards every acknowledged write is
// readable through a new client and from both members of its group, and
// `redis-cli --cluster check` passes. (The 2 × 2 file, cluster-active-active.test.ts, pins
// the layout's replies and convergence; this one is its own file so that file's cost, run
// in both shard modes, is not doubled.)
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { Cluster } from "ioredis";
import { rmSync } from "node:fs";
import { startGroupNode, call, formGroups, groupsHold, type GroupNode } from "../helpers/cluster-groups.js";
import { Writers, MemberFirstClient } from "../helpers/cluster-write.js";
import { redisCli, cliAsync, clusterCheckPasses } from "../helpers/redis-cli.js";
import { until } from "../helpers/wait.js";
import { keySlot } from "../../src/server/router.js";

const inCI = process.env.CI === "true" || process.env.CI === "1";
if (!redisCli) {
  if (inCI) throw new Error("cluster active-active workload test: redis-cli not found; CI installs redis-tools");
  console.warn("SKIPPED cluster active-active workload test: redis-cli (Debian's redis-tools) not found");
}

// 5 s, as cluster.test.ts: a member the load stalls is not marked FAIL mid-reshard (a failed
// node's group still serves its slots here, but the test does not need the noise).
const NODE_TIMEOUT = 5000;
// Writers of each kind (below): 2 + 2. With 4 + 4 the 40-slot reshard took 61-70 s at load ~30
// (every write of g1 from the member-first writers on b1 lengthens its CRDT stream to a1, which
// each SETSLOT MIGRATING waits for); with 2 + 2, 11.6 s at load ~26.
const WRITERS = 2;
// Each slot moved costs its keys' MIGRATEs (10 keys each) and a SETSLOT on every node: with a
// quarter of the writes in the moving slots, 100 slots took 44 s at load 20-30, 40 take 9-12 s.
const RESHARD_SLOTS = 40;
const RANGES = new Map<string, [number, number]>([["g1", [0, 5460]], ["g2", [5461, 10922]], ["g3", [10923, 16383]]]);
/** The slots the reshard moves from g1 to g2: g1's first (redis-cli's reshard takes a source's first slots). */
const MOVING: [number, number] = [0, RESHARD_SLOTS - 1];

describe.skipIf(!redisCli)("cluster mode, active-active groups (3 groups × 2 members) under a workload", () => {
  const nodes: GroupNode[] = [];
  const clients: Cluster[] = [];
  let writers: Writers | undefined;
  let memberWriters: Writers | undefined;
  const closers: (() => void)[] = [];

  beforeAll(async () => {
    for (const g of ["g1", "g1", "g2", "g2", "g3", "g3"]) nodes.push(await startGroupNode(g, NODE_TIMEOUT));
    await formGroups(nodes, RANGES);
  }, 120_000);

  afterAll(async () => {
    await writers?.stop();
    await memberWriters?.stop();
    for (const c of clients) c.disconnect();
    for (const close of closers) close();
    for (const n of nodes) {
      await n.srv.stop();
      rmSync(n.dir, { recursive: true, force: true });
    }
  });

  it("redis-cli --cluster check passes on the 3 × 2 layout", async () => {
    const out = await clusterCheckPasses(nodes[0].port);
    // Three masters with slots (a group's members share its range) and 3 × 2 nodes known.
    expect(out).toContain("[OK] All 16384 slots covered.");
    for (const n of nodes) expect(String(await call(n, "cluster", "info"))).toContain("cluster_known_nodes:6");
  });

  it("writers on every member going on across a reshard from g1 to g2 and a g2 member's SIGKILL and restart: every acknowledged write is readable, on both members of its group", async () => {
    const [a1, b1, a2, b2, , b3] = nodes;
    const id = async (n: GroupNode) => String(await call(n, "cluster", "myid"));
    // Each write a new key, so that every acknowledged write has one value to read back
    // (overwrites and their conflict rules are the active-active replication tests' subject).
    // Every fourth key is in the moving slots, so writes meet their slots mid-move.
    const next = Array.from({ length: 2 * WRITERS }, () => 0);
    const keyOf = (w: number, n: number): string => {
      const wantMoving = n % 4 === 0;
      for (;;) {
        const k = `w${w}:${next[w]++}`;
        const s = keySlot(Buffer.from(k));
        if ((s >= MOVING[0] && s <= MOVING[1]) === wantMoving) return k;
      }
    };
    // Two kinds of writers (README, Active-active groups: a client may write to any member).
    // - An ioredis Cluster client seeded at b1: it writes a slot to the first node the last
    //   CLUSTER SLOTS it read lists, and asks a random node on each refresh (each member lists
    //   itself first for its own group), so its writes drift between a group's members.
    // - MemberFirstClient writers: every write starts at the member of its key's group that
    //   runs no migration (b1 for g1 and, until the reshard is over, the moving slots; b2 for
    //   g2 and then the moved slots: the importing member's peer; b3 for g3) and follows that
    //   command's -MOVED / -ASK. While a1 migrates a slot, b1 must send its writes to a1; a write
    //   b1 took before it knew must reach a1 before a1 moves the slot's keys (group-migration.ts).
    //   Without that, this test's reshard stopped with "ERR Can't assign hashslot N to a
    //   different node while I still hold keys for this hash slot".
    const cluster = new Cluster([{ host: "127.0.0.1", port: b1.port }], { redisOptions: { protocol: 2 } as never });
    clients.push(cluster);
    let reshardDone = false;
    const homeOf = (key: string): number => {
      const s = keySlot(Buffer.from(key));
      if (s <= MOVING[1]) return reshardDone ? b2.port : b1.port;
      return s <= RANGES.get("g1")![1] ? b1.port : s <= RANGES.get("g2")![1] ? b2.port : b3.port;
    };
    const direct = new MemberFirstClient(homeOf);
    closers.push(() => direct.disconnect());
    writers = new Writers(cluster, WRITERS, keyOf);
    memberWriters = new Writers(direct, WRITERS, (w, n) => keyOf(WRITERS + w, n));
    await writers.progressed("the first writes", new Array(WRITERS).fill(0), 50);
    await memberWriters.progressed("the first member-first writes", new Array(WRITERS).fill(0), 50);
    // The g2 member the ioredis client sends g2's writes to (its slot table: the first node
    // listed for a slot is where it writes).
    const g2WriteTarget = () => {
      const port = Number(cluster.slots[RANGES.get("g2")![0]][0].split(":")[1]);
      return nodes.find((n) => n.port === port)!;
    };

    // The reshard runs as a child process: the writers go on while it moves the slots.
    const acksBefore = writers.acks + memberWriters.acks;
    const t0 = Date.now();
    const out = await cliAsync(["--cluster", "reshard", `127.0.0.1:${a1.port}`, "--cluster-from", await id(a1),
      "--cluster-to", await id(a2), "--cluster-slots", String(RESHARD_SLOTS), "--cluster-yes"]);
    expect(out).toContain(`Moving slot ${MOVING[1]} from`);
    const acksInReshard = writers.acks + memberWriters.acks - acksBefore;
    reshardDone = true;
    const reshardMs = Date.now() - t0;
    expect(acksInReshard).toBeGreaterThan(0);
    await clusterCheckPasses(a1.port);
    const groupOfSlot = (slot: number) => slot <= MOVING[1] ? "g2" : [...RANGES].find(([, [lo, hi]]) => slot >= lo && slot <= hi)![0];
    for (const n of nodes.filter((x) => x.group === "g2")) {
      const mine = String(await call(n, "cluster", "nodes")).split("\n").find((l) => l.includes("myself"))!;
      expect(mine).toContain(` 0-${MOVING[1]}`);
    }

    // SIGKILL the g2 member the writers write to now (a2 unless a slot-table refresh chose its
    // peer: both hold the moved keys), and restart it from its AOF and nodes.conf; the
    // writers' g2 writes go to its peer meanwhile.
    const victim = g2WriteTarget();
    const victimSets = /cmdstat_set:calls=(\d+)/.exec(String(await call(victim, "info", "commandstats")))?.[1] ?? "0";
    const t1 = Date.now();
    victim.srv.proc.kill("SIGKILL");
    await new Promise((r) => victim.srv.proc.once("exit", r));
    nodes[nodes.indexOf(victim)] = await startGroupNode("g2", NODE_TIMEOUT, victim);
    await until("cluster_state:ok and the CRDT links up on every node after the restart", async () => {
      for (const n of nodes) {
        if (!String(await call(n, "cluster", "info")).includes("cluster_state:ok")) return false;
        if (!/peer0:.*link=up/.test(String(await call(n, "info", "crdt")))) return false;
      }
      return true;
    }, 60_000, 100);
    const restartMs = Date.now() - t1;
    await writers.progressed("more writes after the restart", [...writers.started], 100);
    await memberWriters.progressed("more member-first writes after the restart", [...memberWriters.started], 100);
    await writers.stop();
    await memberWriters.stop();
    const t2 = Date.now();
    console.log(`cluster active-active workload: ioredis Cluster ${writers.acks} writes acknowledged, ${writers.failures} failed ` +
      `(last: ${writers.lastFailure}); member-first ${memberWriters.acks} acknowledged, ${memberWriters.failures} failed ` +
      `(last: ${memberWriters.lastFailure}), ${direct.redirects} redirections followed; ${acksInReshard} acknowledged during ` +
      `the reshard (${reshardMs} ms); killed ${victim === a2 ? "the importing member" : "its peer"} after ${victimSets} SETs; ` +
      `whole again ${restartMs} ms after the kill`);

    const fresh = new Cluster([{ host: "127.0.0.1", port: nodes[5].port }], { redisOptions: { protocol: 2 } as never });
    clients.push(fresh);
    expect(await writers.lost(fresh)).toEqual([]);
    expect(await memberWriters.lost(fresh)).toEqual([]);
    const acked = new Map([...writers.acked, ...memberWriters.acked]);
    let held: true | string = "";
    await until("both members of each key's group to hold every acknowledged write", async () =>
      (held = await groupsHold(acked, nodes, groupOfSlot)) === true, 60_000, 200)
      .catch((e: Error) => { throw new Error(`${e.message} ${held}`); });
    await clusterCheckPasses(a1.port);
    console.log(`cluster active-active workload: read back and checked in ${Date.now() - t2} ms`);
  }, 240_000);
});
