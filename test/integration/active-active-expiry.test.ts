// crdt-peer-gc-timeout between real server processes: a node frozen (SIGSTOP) longer than the
// timeout leaves the other nodes' tombstone-GC quorum, so they collect without it; when it
// resumes, that incarnation is refused (INFO crdt, the log) and gets nothing more; restarted
// empty, it is a new incarnation and converges by a full copy. The frozen node runs without
// the timeout itself: on waking it must not first expire its peers (then it would fall
// silent and there would be nothing to refuse), which with the timeout set would depend on
// whether its timer or its socket reads run first. The timeout (15 s) is well above how often
// idle nodes hear from each other (each peer's anti-entropy round, 1 s per peer, both ways),
// with room for a loaded machine's event-loop stalls: A and B must not expire each other.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated, infoNumber } from "../helpers/crdt-wait.js";

const info = async (r: Redis, name: string): Promise<number> => infoNumber(await r.info("crdt"), name);
const infoText = async (r: Redis, name: string): Promise<string> => new RegExp(`^${name}:(.*)\r?$`, "m").exec(await r.info("crdt"))?.[1] ?? "";

describe("active-active peer GC timeout (3 processes)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const bus: number[] = [];

  const start = async (i: number) => {
    const peers = bus.filter((_, j) => j !== i).flatMap((p) => ["--peer", `127.0.0.1:${p}`]);
    const timeout = i < 2 ? ["--crdt-peer-gc-timeout", "15"] : [];
    servers[i] = await startServer(["--crdt-node-id", `x${i}`, "--crdt-bus-port", String(bus[i]), "--crdt-gc-grace-ms", "300", ...timeout, ...peers]);
    clients[i] = await connectClient(servers[i].port);
  };

  afterAll(async () => {
    for (const c of clients) c?.disconnect();
    for (const s of servers) { try { process.kill(s.proc.pid!, "SIGCONT"); } catch { /* gone */ } await s?.stop(); }
  });

  it("a node frozen past the timeout stops holding GC back, is refused when it resumes, and rejoins once restarted empty", async () => {
    for (let i = 0; i < 3; i++) bus.push(await freePort());
    for (let i = 0; i < 3; i++) await start(i);
    const [a, b] = clients;
    const everywhere = (what: string, check: (r: Redis) => Promise<boolean>, on = clients, stallRounds = 20) =>
      untilReplicated(what, on, async () => (await Promise.all(on.map(check))).every(Boolean), { stallRounds });

    // every link up and identified (a link still dialling when its peer freezes would expire
    // unidentified, and there would be no incarnation to refuse)
    await everywhere("links up", async (r) => ((await r.info("crdt")).match(/^peer\d:.*,id=x\d~[^,]+,link=up,/gm) ?? []).length === 2);
    await clients[2].sadd("s", "a", "b");
    await clients[2].set("doomed", "1");
    await everywhere("seeded", async (r) => (await r.scard("s")) === 2 && (await r.get("doomed")) === "1");
    const staleId = await infoText(clients[2], "crdt_node_id");

    const pid = servers[2].proc.pid!;
    process.kill(pid, "SIGSTOP");
    try {
      await b.srem("s", "a");
      await b.del("doomed");
      // without the timeout the frozen node would hold these two tombstones forever
      // (nothing changes until the timeout, ~15 rounds of each node: the stall bound is doubled)
      await everywhere("collected without the frozen node", async (r) =>
        (await info(r, "crdt_peers_expired")) === 1 && (await info(r, "crdt_tombstones")) === 0, [a, b], 40);
      expect(servers[0].output()).toContain(`(${staleId}) not heard from for 15 s`);
      await a.set("later", "1");
    } finally {
      process.kill(pid, "SIGCONT");
    }
    // the resumed incarnation talks to its peers; they refuse it, and it learns so
    await untilReplicated("the resumed node refused by both peers", clients, async () =>
      (await infoText(clients[2], "crdt_refused_by")).split(",").filter(Boolean).length === 2);
    for (const r of [a, b]) {
      expect(await info(r, "crdt_refused_messages")).toBeGreaterThan(0);
      expect(await r.smembers("s")).toEqual(["b"]);
      expect(await r.exists("doomed")).toBe(0);
    }
    expect(await clients[2].exists("later")).toBe(0);
    expect(servers[0].output()).toContain(`refused messages from ${staleId}`);
    expect(servers[2].output()).toContain("refuses this node");

    // restarted empty (a new incarnation on the same bus port): accepted, converges by a full copy
    clients[2].disconnect();
    await servers[2].stop();
    await start(2);
    await everywhere("the restarted node converged", async (r) =>
      (await r.smembers("s")).join() === "b" && (await r.exists("doomed")) === 0 && (await r.get("later")) === "1");
    const freshId = await infoText(clients[2], "crdt_node_id");
    expect(freshId).not.toBe(staleId);
    const accepted = new RegExp(`^peer\\d:[^\\r\\n]*,id=${freshId},link=up,[^\\r\\n]*,expired=0\\r?$`, "m");
    await everywhere("the new incarnation linked and not expired", async (r) => r === clients[2] || accepted.test(await r.info("crdt")));
    // and it is in the quorum again: a removal is collected everywhere, the new node included
    await a.del("later");
    await everywhere("collected with the restarted node", async (r) => (await r.exists("later")) === 0 && (await info(r, "crdt_tombstones")) === 0);
  }, 300_000);
});
