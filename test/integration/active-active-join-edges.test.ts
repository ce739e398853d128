// What a client can do while its node joins a large anti-entropy answer in slices and serves it
// meanwhile (gossip.ts joinOpen: a node holding as many keys as the answer brings). Each case
// gets a node into such a join as active-active-join.test.ts does: A and B each hold 15,000
// keys or so, 12,000 of the names on both (A's written later: its values win), then CRDT.PEER ADD on
// both. B runs with the crdt-join-stall fault point (src/replication/faults.ts): its join's
// second slice comes 5 s after the first, so the commands below arrive mid-join whatever the
// machine's speed; each case checks crdt_joining:1 in a reply given after its mid-join
// commands, so a join that ended before them fails the test instead of passing it unseen.
// Keys that must not be in the join's first slice (64 keys of the lowest slots) are picked
// from high slots (lateKey).
import { describe, it, expect, afterEach } from "vitest";
import type Redis from "ioredis";
import calculateSlot from "cluster-key-slot";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated, infoNumber } from "../helpers/crdt-wait.js";
import { msetKeys } from "../helpers/dataset.js";

// (B holds a few more keys than A, so A's answer, with the keys a case adds on A, never brings
// more than B holds: that one is the -LOADING join, gossip.ts joinSliced)
const N = 12_000, OWN = 3_000, BOWN = OWN + 10;

/** The first `${prefix}:i` (i < N) whose slot is above 4,000: never among the first slice's keys. */
function lateKey(prefix: string, from = 0): string {
  for (let i = from; i < N; i++) if (calculateSlot(`${prefix}:${i}`) > 4000) return `${prefix}:${i}`;
  throw new Error("no late key");
}

const loading = (e: Error) => { if (/^LOADING/.test(e.message)) return "loading"; throw e; };

interface Pair { a: Redis; b: Redis; probe: Redis; busA: number; busB: number; servers: RunningServer[]; clients: Redis[] }

/**
 * Two nodes that will join each other's answers, B's join open and stalled. `before` runs after
 * the fill, before the peering (blocked clients, TTLs, extra keys); then the peering, and the
 * wait until B is mid-join.
 */
async function openJoin(servers: RunningServer[], clients: Redis[], before?: (p: Pair) => Promise<void>): Promise<Pair> {
  const [busA, busB] = [await freePort(), await freePort()];
  servers.push(await startServer(["--crdt-node-id", "ea", "--crdt-bus-port", String(busA)]));
  servers.push(await startServer(["--crdt-node-id", "eb", "--crdt-bus-port", String(busB)], { LATTICEKV_BUGGIFY: "1:crdt-join-stall=1" }));
  const [a, b, probe] = [await connectClient(servers[0].port), await connectClient(servers[1].port), await connectClient(servers[1].port)];
  clients.push(a, b, probe);
  await msetKeys(b, "key", "b", N);
  await msetKeys(b, "bkey", "b", BOWN);
  await msetKeys(a, "key", "a", N);
  await msetKeys(a, "akey", "a", OWN);
  const pair = { a, b, probe, busA, busB, servers, clients };
  if (before) await before(pair);
  expect(await b.call("crdt.peer", "add", "127.0.0.1", String(busA))).toBe("OK");
  expect(await a.call("crdt.peer", "add", "127.0.0.1", String(busB))).toBe("OK");
  await untilReplicated("B joining A's answer", [a, b], async () => {
    const info = await probe.info("crdt");
    if (infoNumber(info, "crdt_joining") === 1) return true;
    if (infoNumber(info, "crdt_open_joins") > 0) throw new Error("the join ended unseen");
    return false;
  });
  expect(infoNumber(await probe.info("crdt"), "crdt_open_joins")).toBe(1);
  return pair;
}

/** The INFO crdt in a pipeline's last reply says B was still joining when it ran. */
function stillJoining(res: [Error | null, unknown][] | null): void {
  const info = String(res![res!.length - 1][1]);
  expect(infoNumber(info, "crdt_joining")).toBe(1);
}

async function converge(p: Pair, what: string, state: (r: Redis) => Promise<unknown[]>, want: unknown[]): Promise<void> {
  const read = async (r: Redis) => JSON.stringify(await state(r).catch(loading));
  // (with B's joins over: an answer that comes after the first one, the states A sends back,
  // is joined in slices too, and its first slice stalls as well)
  const joined = async () => infoNumber(await p.b.info("crdt"), "crdt_joining") === 0;
  await untilReplicated(what, [p.a, p.b], async () => await joined() && await read(p.a) === JSON.stringify(want) && await read(p.b) === JSON.stringify(want),
    { snapshot: async () => await read(p.a) + " | " + await read(p.b) });
}

const values = (res: [Error | null, unknown][] | null) => res!.map(([e, v]) => { if (e) throw e; return v; });

describe("active-active: client commands while a node joins a large answer and serves clients (2 processes)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.disconnect();
    for (const s of servers.splice(0)) await s.stop();
  });

  it("blocked pops on keys the answer brings are served once with the joined value, and the pops replicate", async () => {
    const blocked: Promise<unknown>[] = [];
    const late = lateKey("blk-late");
    const p = await openJoin(servers, clients, async ({ a, b }) => {
      // only A holds these: B's clients block on them before the peering
      await a.rpush("blk:list", "x1", "x2");
      await a.rpush("blk:src", "s1");
      await a.zadd("blk:z", 1, "m1", 2, "m2");
      await a.rpush(late, "y1", "y2");
      const [c1, c2, c3] = [await connectClient(servers[1].port), await connectClient(servers[1].port), await connectClient(servers[1].port)];
      clients.push(c1, c2, c3);
      blocked.push(c1.blpop("blk:list", 0), c2.blmove("blk:src", "blk:dst", "LEFT", "RIGHT", 0), c3.bzpopmin("blk:z", 0));
      await untilReplicated("3 clients blocked on B", [a, b], async () => ((await b.client("LIST")) as string).split("\n").filter((l) => / flags=b /.test(l)).length === 3);
    });
    // a BLPOP mid-join on a key only the answer brings (not joined yet) has it joined first and
    // pops at once: the INFO after it in the pipeline still says joining (blocked until a slice
    // brought the key, it would be answered after the join's end)
    const res = await p.probe.pipeline().blpop(late, 0).info("crdt").exec();
    expect(res![0]).toEqual([null, [late, "y1"]]);
    stillJoining(res);
    // (served when the join has the keys in: waited for while the nodes make progress)
    let served: unknown[] | undefined;
    void Promise.all(blocked).then((r) => { served = r; });
    await untilReplicated("the blocked clients served", [p.a, p.b], async () => served !== undefined);
    const [p1, p2, p3] = served!;
    expect(p1).toEqual(["blk:list", "x1"]);
    expect(p2).toBe("s1");
    expect(p3).toEqual(["blk:z", "m1", "1"]);
    await converge(p, "the pops on both nodes", async (r) => values(await r.pipeline().lrange("blk:list", 0, -1).exists("blk:src")
      .lrange("blk:dst", 0, -1).zrange("blk:z", 0, -1, "WITHSCORES").lrange(late, 0, -1).exec()), [["x2"], 0, ["s1"], ["m2", "2"], ["y2"]]);
  }, 300_000);

  it("a client blocked on a key a slice brings is served at the join's end when no other command reaches the node", async () => {
    let served: unknown;
    const p = await openJoin(servers, clients, async ({ a, b }) => {
      await a.rpush("blk:quiet", "q1");
      const c = await connectClient(servers[1].port);
      clients.push(c);
      void c.blpop("blk:quiet", 0).then((r) => { served = r; });
      await untilReplicated("a client blocked on B", [a, b], async () => ((await b.client("LIST")) as string).includes(" flags=b "));
    });
    // (only A is asked while waiting: a command on B would serve the client after it anyway)
    await untilReplicated("the blocked client served", [p.a], async () => served !== undefined);
    expect(served).toEqual(["blk:quiet", "q1"]);
    await converge(p, "the pop on both nodes", async (r) => values(await r.pipeline().exists("blk:quiet").exec()), [0]);
  }, 300_000);

  it("keys expiring mid-join end as the CRDT rules say on both nodes; RENAME and WATCH/MULTI/EXEC of keys not yet joined", async () => {
    const ren = lateKey("key"), watched = lateKey("key", Number(ren.split(":")[1]) + 1);
    const [local, remote] = [lateKey("ttl-local"), lateKey("ttl-remote")];
    const p = await openJoin(servers, clients, async ({ a, b }) => {
      // B's short-TTL write, then A's later, concurrent write of the same key with a longer TTL:
      // B's expiry removes what B had seen, A's write survives (add-wins) — whether B's key
      // expires before the join reaches it or after (then A's value and longer TTL win)
      await b.set(local, "b", "PX", 1500);
      await a.set(local, "a", "PX", 600_000);
      // A's key whose TTL passes while it waits in the answer (or on A, before): gone on both
      await a.set(remote, "a", "PX", 3000);
    });
    // mid-join: RENAME has the answer's state of its keys joined first (A's value moves)
    stillJoining(await p.probe.pipeline().rename(ren, "renamed").info("crdt").exec());
    // WATCH a key the answer changes (not joined yet), then a MULTI: the queued write finishes
    // the join first, which changes the key after the WATCH, so EXEC aborts
    const w = await connectClient(servers[1].port);
    clients.push(w);
    stillJoining(await w.pipeline().watch(watched).info("crdt").exec());
    expect(await w.get(watched)).toBe(`b:${watched.split(":")[1]}`);
    expect(await w.multi().set(watched, "mine").exec()).toBeNull();
    await converge(p, "expiry, rename and watch", async (r) => values(await r.pipeline().get(local).exists(remote)
      .exists(ren).get("renamed").get(watched).exec()), ["a", 0, 0, `a:${ren.split(":")[1]}`, `a:${watched.split(":")[1]}`]);
  }, 300_000);

  it("EVAL with declared KEYS and a key it does not declare, mid-join: its DELs remove what the answer brought", async () => {
    const declared = lateKey("key"), undeclared = lateKey("key", Number(declared.split(":")[1]) + 1);
    const p = await openJoin(servers, clients);
    const script = "redis.call('DEL', KEYS[1]) redis.call('DEL', ARGV[1]) return redis.call('GET', ARGV[1])";
    const res = await p.probe.pipeline().info("crdt").eval(script, 1, declared, undeclared).info("crdt").exec();
    // (mid-join, and it finished the join before it ran: a script may write keys it does not name)
    expect(infoNumber(String(res![0][1]), "crdt_joining")).toBe(1);
    expect(res![1]).toEqual([null, null]);
    expect(infoNumber(String(res![2][1]), "crdt_joining")).toBe(0);
    await converge(p, "the script's DELs", async (r) => values(await r.pipeline().exists(declared, undeclared).dbsize().exec()),
      [0, N + OWN + BOWN - 2]);
  }, 300_000);

  it("FLUSHDB mid-join removes every key the node holds once the answer is in; another db's keys of the answer survive", async () => {
    const p = await openJoin(servers, clients, async ({ a }) => {
      await a.pipeline().select(1).set("one:a", "1").set("one:b", "2").select(0).exec();
    });
    const res = await p.probe.pipeline().info("crdt").flushdb().exec();
    expect(infoNumber(String(res![0][1]), "crdt_joining")).toBe(1);
    expect(res![1]).toEqual([null, "OK"]);
    await converge(p, "the flush", async (r) => values(await r.pipeline().dbsize().select(1).dbsize().get("one:b").select(0).exec()),
      [0, "OK", 2, "2", "OK"]);
  }, 300_000);

  it("FLUSHALL mid-join removes every key of every db on both nodes; a write after it survives", async () => {
    const p = await openJoin(servers, clients, async ({ a }) => {
      await a.pipeline().select(2).set("two:a", "1").select(0).exec();
    });
    const res = await p.probe.pipeline().info("crdt").flushall().set("after", "1").exec();
    expect(infoNumber(String(res![0][1]), "crdt_joining")).toBe(1);
    expect(values(res).slice(1)).toEqual(["OK", "OK"]);
    await converge(p, "the flush", async (r) => values(await r.pipeline().dbsize().select(2).dbsize().select(0).get("after").exec()),
      [1, "OK", 0, "OK", "1"]);
  }, 300_000);

  it("CRDT.PEER DEL and ADD again mid-join: the join ends and the two converge", async () => {
    const p = await openJoin(servers, clients);
    // a WATCH of a key the answer changes, made before a slice reaches it: the slice's join
    // aborts the EXEC as any write would (no command of this client finishes the join here)
    const watched = lateKey("key", 100), w = await connectClient(servers[1].port);
    clients.push(w);
    const seen = await w.pipeline().watch(watched).get(watched).info("crdt").exec();
    expect(seen![1]).toEqual([null, `b:${watched.split(":")[1]}`]); // (not joined yet)
    stillJoining(seen);
    stillJoining(await p.probe.pipeline().call("crdt.peer", "del", "127.0.0.1", String(p.busA)).info("crdt").exec());
    stillJoining(await p.probe.pipeline().call("crdt.peer", "add", "127.0.0.1", String(p.busA)).info("crdt").exec());
    const k = lateKey("key");
    await converge(p, "the pair after DEL and ADD", async (r) => values(await r.pipeline().dbsize().get(k).get(`bkey:${OWN - 1}`).get(`akey:${OWN - 1}`).exec()),
      [N + OWN + BOWN, `a:${k.split(":")[1]}`, `b:${OWN - 1}`, `a:${OWN - 1}`]);
    expect(await w.multi().set(watched, "mine").exec()).toBeNull();
    expect(await w.get(watched)).toBe(`a:${watched.split(":")[1]}`);
  }, 300_000);

  it("the peer killed mid-join: the node finishes the join it holds and serves writes", async () => {
    const p = await openJoin(servers, clients);
    p.a.disconnect(); // (no client left reconnecting to the killed node)
    servers[0].proc.kill("SIGKILL");
    const k = lateKey("key");
    await untilReplicated("B's join done", [p.b], async () => infoNumber(await p.b.info("crdt"), "crdt_joining") === 0);
    expect(values(await p.b.pipeline().dbsize().get(k).get(`akey:${OWN - 1}`).set("after", "1").get("after").exec()))
      .toEqual([N + OWN + BOWN, `a:${k.split(":")[1]}`, `a:${OWN - 1}`, "OK", "1"]);
  }, 300_000);
});
