// A node that starts empty next to a peer holding many keys gets them all in one anti-entropy
// answer, which it joins a slice per event-loop turn, answering its clients -LOADING until
// the last key is in (gossip.ts joinSliced, from 10,000 keys): the answer's keys become
// visible together, and the node's event loop is not held for the whole join.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated, infoNumber } from "../helpers/crdt-wait.js";
import { msetKeys } from "../helpers/dataset.js";

describe("active-active: a large answer joined in slices (2 processes)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
  });

  it("a new node joins a 12,000-key full copy over several turns and then holds every key", async () => {
    const bus = [await freePort(), await freePort()];
    // (B names A as its peer, A does not name B: configured with B from the start, A kept its
    // writes as delta batches for B, which now and then reached B ahead of the answer, so that
    // the answer's differing ranges held too few keys to be sliced: crdt_sliced_joins 0, twice
    // at load ~17. B, empty, asks A for its whole state in its catch-up round; A answers a
    // node it does not name as it answers any.)
    servers.push(await startServer(["--crdt-node-id", "j0", "--crdt-bus-port", String(bus[0])]));
    const a = await connectClient(servers[0].port);
    clients.push(a);
    for (let i = 0; i < 12; i++) {
      const p = a.pipeline();
      for (let j = 0; j < 1000; j++) p.set(`key:${i * 1000 + j}`, `v${i * 1000 + j}`);
      await p.exec();
    }
    servers.push(await startServer(["--crdt-node-id", "j1", "--crdt-bus-port", String(bus[1]), "--peer", `127.0.0.1:${bus[0]}`]));
    const b = await connectClient(servers[1].port);
    clients.push(b);
    // DBSIZE is answered -LOADING while the join is under way, and INFO says loading:1 then, as
    // Redis's does while a replica loads its master's copy: asked in one pipeline (one turn),
    // the two agree. (A second client polls as fast as it is answered, so a join spanning
    // turns is seen.)
    const pairs: [boolean, string][] = [];
    let polling = true;
    const probe = await connectClient(servers[1].port);
    clients.push(probe);
    const poller = (async () => {
      while (polling) {
        const [[dbErr], [, persistence]] = (await probe.pipeline().dbsize().info("persistence").exec())!;
        pairs.push([/^LOADING/.test(String(dbErr?.message)), String(persistence)]);
      }
    })();
    const count = async () => b.dbsize().catch((e: Error) => { if (/^LOADING/.test(e.message)) return -1; throw e; });
    await untilReplicated("B holds every key", clients, async () => (await count()) === 12000);
    polling = false;
    await poller;
    for (const [loading, persistence] of pairs) {
      expect(persistence).toMatch(loading ? /\r\nloading:1\r\n/ : /\r\nloading:0\r\n/);
      if (loading) expect(persistence).toMatch(/\r\nloading_total_bytes:[1-9]\d*\r\n[^]*loading_loaded_perc:\d+\.\d\d\r\n/);
    }
    console.log(`active-active-join: ${pairs.filter(([l]) => l).length} of ${pairs.length} polls during the join`);
    // (a second copy that arrives after the first is in — the states A sends back — is joined
    // too, in slices while B serves clients since B now holds as many keys: gossip.ts joinOpen)
    await untilReplicated("B's joins done", clients, async () => infoNumber(await b.info("crdt"), "crdt_joining") === 0);
    const info = await b.info("crdt");
    expect(infoNumber(info, "crdt_sliced_joins")).toBeGreaterThanOrEqual(1);
    expect(await b.get("key:0")).toBe("v0");
    expect(await b.get("key:11999")).toBe("v11999");
    // (how many keys A sent is logged: 12,000 in each of 6 runs since A stopped naming B)
    const sentByA = infoNumber(await a.info("crdt"), "crdt_anti_entropy_keys_sent");
    console.log(`active-active-join: A sent ${sentByA} keys in anti-entropy answers`);
    expect(sentByA).toBeGreaterThanOrEqual(12000);
  }, 300_000);
});

// CRDT.PEER ADD on a node that already holds data records every key as its write, and SWAPDB
// records both dbs' keys again (and the keys gone from each): a walk of the keyspace with
// SCAN, a slice per event-loop turn (Replicator.walkDbs), so clients are served meanwhile. A
// walk of every key in one turn (KEYS * and a sync of each) answered no command until it
// ended: then no INFO could show a walk under way.
describe("active-active: CRDT.PEER ADD on a node holding data, then SWAPDB and FLUSHDB (2 processes)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
  });

  it("sends every key, serving clients during the walk, and replicates a SWAPDB of the walked dbs and a FLUSHDB", async () => {
    const busB = await freePort();
    servers.push(await startServer(["--enable-debug-command", "yes"]));
    servers.push(await startServer(["--crdt-node-id", "w1", "--crdt-bus-port", String(busB)]));
    const [a, b, probe] = [await connectClient(servers[0].port), await connectClient(servers[1].port), await connectClient(servers[0].port)];
    clients.push(a, b, probe);
    expect(await a.call("debug", "populate", "6000", "k")).toBe("OK");
    expect(await a.pipeline().select(1).call("debug", "populate", "1000", "one").select(0).exec()).toBeTruthy();
    await b.set("b-own", "1");
    // INFO from a second client, as fast as A answers, from before the ADD until the walk is done
    let polling = true;
    const seen: number[] = [];
    const poller = (async () => {
      while (polling) seen.push(infoNumber(await probe.info("crdt").catch(() => ""), "crdt_walking"));
    })();
    expect(await a.call("crdt.peer", "add", "127.0.0.1", String(busB))).toBe("OK");
    const dbsizes = async (r: Redis) => (await r.pipeline().dbsize().select(1).dbsize().select(0).exec())!.filter((_, i) => i !== 1 && i !== 3).map(([, n]) => n);
    await untilReplicated("B holds A's keys", clients.slice(0, 2), async () => JSON.stringify(await dbsizes(b)) === "[6001,1000]");
    polling = false;
    await poller;
    console.log(`active-active-join: ${seen.filter((w) => w === 1).length} of ${seen.length} INFOs during the walk`);
    expect(seen.filter((w) => w === 1).length).toBeGreaterThan(0); // (a walk in one turn: never seen)
    const info = await a.info("crdt");
    expect(infoNumber(info, "crdt_walking")).toBe(0);
    expect(infoNumber(info, "crdt_walked_keys")).toBeGreaterThanOrEqual(7000);
    expect(await b.get("k:5999")).toBe("value:5999");
    await untilReplicated("A holds B's key", clients.slice(0, 2), async () => (await a.get("b-own")) === "1");
    // SWAPDB: db 0's keys (A's 6,000 and B's one) move to db 1 and db 1's to db 0, on B too
    expect(await a.swapdb(0, 1)).toBe("OK");
    await untilReplicated("the swap on B", clients.slice(0, 2), async () => JSON.stringify(await dbsizes(b)) === "[1000,6001]");
    expect(await b.get("one:999")).toBe("value:999");
    expect((await b.pipeline().select(1).get("k:0").get("b-own").select(0).exec())!.slice(1, 3).map(([, v]) => v)).toEqual(["value:0", "1"]);
    expect(JSON.stringify(await dbsizes(a))).toBe("[1000,6001]");
    // FLUSHDB of db 1 (those 6,001 keys), and k:0 written again right behind it in the same
    // pipeline: the flush's deletes are recorded a slice at a time, and the write survives them
    const flushed = await a.pipeline().select(1).flushdb().set("k:0", "after").select(0).exec();
    expect(flushed!.map(([e]) => e)).toEqual([null, null, null, null]);
    const db1 = async (r: Redis) => (await r.pipeline().select(1).dbsize().get("k:0").select(0).exec())!.slice(1, 3).map(([, v]) => v);
    await untilReplicated("the flush on B", clients.slice(0, 2), async () => JSON.stringify(await db1(b)) === '[1,"after"]');
    expect(JSON.stringify(await db1(a))).toBe('[1,"after"]');
    expect(JSON.stringify(await dbsizes(b))).toBe("[1000,1]");
  }, 300_000);
});

// A large answer to a node that holds more keys than it brings (back from a partition, or
// restarted from its file) is joined in slices too, but the node keeps answering its clients
// (gossip.ts joinOpen): each key is either before or after its join, and a client's write has
// the answer's states of the keys it names joined first, so it comes after them. Joined in
// one turn, 100k states held such a node 4.5 s, answering nothing. The crdt-join-stall fault
// point (src/replication/faults.ts) holds the join's second slice back 5 s, so the join spans
// turns, and the commands below arrive mid-join, whatever the machine's speed.
describe("active-active: a large answer to a node holding data, joined while it serves clients (2 processes)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
  });

  it("answers commands mid-join; a DEL mid-join removes the answer's writes of its keys; a peer's write mid-join lands", async () => {
    const N = 12_000, OWN = 3_000;
    const [busA, busB] = [await freePort(), await freePort()];
    servers.push(await startServer(["--crdt-node-id", "oa", "--crdt-bus-port", String(busA)]));
    servers.push(await startServer(["--crdt-node-id", "ob", "--crdt-bus-port", String(busB)], { LATTICEKV_BUGGIFY: "1:crdt-join-stall=1" }));
    const [a, b, probe] = [await connectClient(servers[0].port), await connectClient(servers[1].port), await connectClient(servers[1].port)];
    clients.push(a, b, probe);
    // Each holds N + OWN keys, so neither answer brings more keys than its receiver holds (not
    // the -LOADING join); the N names are A's and B's, A's written later (its values win)
    await msetKeys(b, "key", "b", N);
    await msetKeys(b, "bkey", "b", OWN);
    await msetKeys(a, "key", "a", N);
    await msetKeys(a, "akey", "a", OWN);
    expect(await b.call("crdt.peer", "add", "127.0.0.1", String(busA))).toBe("OK");
    expect(await a.call("crdt.peer", "add", "127.0.0.1", String(busB))).toBe("OK");
    // A reply that says crdt_joining:1 was given mid-join (the join in one turn: never seen)
    let seen = false;
    await untilReplicated("B joining A's answer", clients.slice(0, 2), async () => {
      const info = await probe.info("crdt");
      seen = infoNumber(info, "crdt_joining") === 1;
      if (!seen && infoNumber(info, "crdt_open_joins") > 0) throw new Error("the join ended unseen");
      return seen;
    });
    // (the join under way is one that serves clients: B's only sliced join, and an open one)
    expect(infoNumber(await probe.info("crdt"), "crdt_open_joins")).toBe(1);
    expect(infoNumber(await probe.info("crdt"), "crdt_sliced_joins")).toBe(1);
    // mid-join: a read sees each key before or after its join; a DEL of every key:N has the
    // answer's states of them joined first (else those not yet joined came back with A's value)
    const [[, got], [, deleted]] = (await probe.pipeline().get(`key:${N - 1}`).del(...Array.from({ length: N }, (_, i) => `key:${i}`)).exec())!;
    expect([`a:${N - 1}`, `b:${N - 1}`]).toContain(got);
    expect(deleted).toBe(N);
    // a write on A that B's DEL did not see (concurrent with it) survives it on both nodes (A
    // answers -LOADING while it joins B's answer, if that is one that brings more than A holds)
    const loading = (e: Error) => { if (/^LOADING/.test(e.message)) return "loading"; throw e; };
    await untilReplicated("A takes a write", clients.slice(0, 2), async () => await a.set("key:0", "a-late").catch(loading) === "OK");
    const state = async (r: Redis) => JSON.stringify(await r.pipeline().dbsize().get("key:0").get(`key:${N - 1}`).get(`akey:${OWN - 1}`)
      .get(`bkey:${OWN - 1}`).exec().then((res) => res!.map(([e, v]) => e ? loading(e) : v)));
    const want = JSON.stringify([2 * OWN + 1, "a-late", null, `a:${OWN - 1}`, `b:${OWN - 1}`]);
    await untilReplicated("A and B agree", clients.slice(0, 2), async () => await state(a) === want && await state(b) === want,
      { snapshot: async () => await state(a) + await state(b) });
    const info = await b.info("crdt");
    expect(infoNumber(info, "crdt_joining")).toBe(0);
    expect(infoNumber(info, "crdt_open_joins")).toBeGreaterThanOrEqual(1);
    expect(infoNumber(info, "crdt_join_slices")).toBeGreaterThanOrEqual(2);
  }, 300_000);
});
