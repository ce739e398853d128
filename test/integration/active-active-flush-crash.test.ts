// FLUSHALL and a crash before its walk ends (issue #7: "never the KeyDB failure mode where a
// deleted key comes back"; "kill -9 and restart a node").
//
// FLUSHALL answers at once and its per-key CRDT deletes are recorded by a walk, a slice per
// event-loop turn (Replicator.deleteAll). A node killed mid-walk restarts from an AOF holding
// FLUSHALL and, for the keys the walk had not reached, their older live CRDT states. Those keys
// are absent from the loaded keyspace; the live states used to be left out (or joined as writes,
// when a peer's state for the key had come first), so the peers' live states brought every such
// key back, on this node and everywhere (reproduced with 60,000 keys: 59,232 came back).
//
// Two real processes. A runs appendonly yes with appendfsync always and the crdt-walk-stall
// fault point (src/replication/faults.ts), which holds a walk's next slice back 5 s: FLUSHALL's
// deletes stop after the first slice (256 keys), deterministically. A and B are cut off from each
// other (CRDT.PEER DEL both ways) and B writes concurrently: it overwrites one of the keys and adds
// one A never saw. A flushes, INFO shows its walk under way, A is SIGKILLed and restarted from its
// AOF, and the link comes back. Both nodes must end with exactly B's two concurrent writes (a
// write the flush did not observe survives it: add-wins).
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated, infoNumber } from "../helpers/crdt-wait.js";
import { scratchDir } from "../helpers/scratch.js";

const N = 2000;

describe("active-active: FLUSHALL, then the node killed before its walk ends (2 processes, AOF)", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of cleanup.reverse()) await c().catch(() => {}); });

  it("the flushed keys stay deleted on both nodes after the restart; writes the flush did not see survive", async () => {
    const busA = await freePort(), busB = await freePort(), portA = await freePort();
    const dirA = scratchDir("aa-flushcrash");
    const argsA = ["--crdt-node-id", "fa", "--crdt-bus-port", String(busA), "--peer", `127.0.0.1:${busB}`,
      "--appendonly", "yes", "--appendfsync", "always"];
    const envA = { LATTICEKV_BUGGIFY: "1:crdt-walk-stall=1" };
    let a: RunningServer = await startServer(argsA, envA, { port: portA, dir: dirA });
    const b = await startServer(["--crdt-node-id", "fb", "--crdt-bus-port", String(busB), "--peer", `127.0.0.1:${busA}`]);
    let ca: Redis = await connectClient(portA);
    const cb = await connectClient(b.port);
    cleanup.push(async () => { ca.disconnect(); cb.disconnect(); await a.stop(); await b.stop(); });

    const p = ca.pipeline();
    for (let i = 0; i < N; i++) p.set(`k:${i}`, "v");
    await p.exec();
    await untilReplicated("B holds A's keys", [ca, cb], async () => (await cb.dbsize()) === N);

    // cut off; B writes what A's flush cannot have seen
    expect(await ca.call("crdt.peer", "del", "127.0.0.1", String(busB))).toBe(1);
    expect(await cb.call("crdt.peer", "del", "127.0.0.1", String(busA))).toBe(1);
    await cb.set("k:7", "from-b");
    await cb.set("b:only", "1");

    expect(await ca.flushall()).toBe("OK");
    // (the walk's next slice is held back: most deletes are not recorded yet)
    expect(infoNumber(await ca.info("crdt"), "crdt_walking")).toBe(1);
    ca.disconnect();
    const exited = new Promise((r) => a.proc.once("exit", r));
    process.kill(a.proc.pid!, "SIGKILL");
    await exited;
    await a.stop();

    a = await startServer(argsA, envA, { port: portA, dir: dirA });
    ca = await connectClient(portA);
    expect(infoNumber(await ca.info("crdt"), "crdt_loaded_states")).toBeGreaterThan(0);
    expect(await cb.call("crdt.peer", "add", "127.0.0.1", String(busA))).toBe("OK");

    const expected = JSON.stringify([2, "from-b", "1"]);
    const show = async (r: Redis) => JSON.stringify([await r.dbsize(), await r.get("k:7"), await r.get("b:only")]);
    await untilReplicated("both nodes hold only B's concurrent writes", [ca, cb],
      async () => (await show(ca)) === expected && (await show(cb)) === expected,
      { snapshot: async () => (await show(ca)) + (await show(cb)) });
    // and still do after two more anti-entropy rounds of each (a key sent back late would show by then)
    const rounds = await Promise.all([ca, cb].map(async (r) => infoNumber(await r.info("crdt"), "crdt_anti_entropy_rounds")));
    await untilReplicated("two more rounds of each node", [ca, cb], async () =>
      (await Promise.all([ca, cb].map(async (r, i) => infoNumber(await r.info("crdt"), "crdt_anti_entropy_rounds") >= rounds[i] + 2))).every(Boolean));
    expect(await show(ca)).toBe(expected);
    expect(await show(cb)).toBe(expected);
    const info = await ca.info("crdt");
    expect(infoNumber(info, "crdt_loaded_keys_pending")).toBe(0);
    // (the keys the walk had not reached: their file states, recorded as deleted at the load's end)
    expect(infoNumber(info, "crdt_loaded_states_deleted")).toBeGreaterThanOrEqual(N - 1000);
    // (and the check is over: INFO says so, crdt_loaded_checking)
    expect(infoNumber(info, "crdt_loaded_checking")).toBe(0);
  }, 120_000);
});
