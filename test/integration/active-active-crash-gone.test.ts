// Keys a node's file holds CRDT states for, gone from the keyspace it loads, after a kill -9
// (issue #7: "kill -9 and restart a node"; "never the KeyDB failure mode where a deleted key
// comes back"). At the load's end each such live state is recorded as the node's delete of what
// it saw (src/replication/loaded-keys.ts takeSaved), before any peer's state is applied; the
// FLUSHALL case is active-active-flush-crash.test.ts. Two more ways a file gets there:
// - SWAPDB, whose moves are recorded by a walk (Replicator.walkDbs), a slice per turn: killed
//   mid-walk (the crdt-walk-stall fault point holds its next slice back 5 s), the AOF holds the
//   SWAPDB and the keys' states of before it;
// - a TTL that passed while the node was down: no expiry recorded it before the stop. (The AOF's
//   replay keeps the key with its past TTL, as Redis's does while loading, and it expires
//   right after: the expiry's delete adopts the file state, Replicator.adoptWaiting. A file
//   without the key is the check's case. Either way the delete is of what the file saw.)
// Two real processes, A with appendonly yes and appendfsync always; A and B are cut off from
// each other (CRDT.PEER DEL both ways) before the change B does not see, and B writes
// concurrently. After A's restart from its AOF and the link's return, both nodes must hold the
// same keys: the moved or expired ones deleted where they were, B's concurrent writes kept
// (add-wins).
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated, infoNumber } from "../helpers/crdt-wait.js";
import { scratchDir } from "../helpers/scratch.js";

describe("active-active: a node killed, its file's states for keys gone at the restart (2 processes, AOF)", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterAll(async () => { for (const c of cleanup.reverse()) await c().catch(() => {}); });

  /** A (AOF, appendfsync always, `envA`) and B, linked; kill() SIGKILLs A and restart() brings it back from its AOF. */
  const pair = async (name: string, envA: Record<string, string> = {}) => {
    const busA = await freePort(), busB = await freePort(), portA = await freePort();
    const dirA = scratchDir(name);
    const argsA = ["--crdt-node-id", "ga", "--crdt-bus-port", String(busA), "--peer", `127.0.0.1:${busB}`,
      "--appendonly", "yes", "--appendfsync", "always"];
    const p = {
      a: await startServer(argsA, envA, { port: portA, dir: dirA }) as RunningServer,
      b: await startServer(["--crdt-node-id", "gb", "--crdt-bus-port", String(busB), "--peer", `127.0.0.1:${busA}`]),
      ca: undefined as unknown as Redis,
      cb: undefined as unknown as Redis,
      cut: async () => {
        expect(await p.ca.call("crdt.peer", "del", "127.0.0.1", String(busB))).toBe(1);
        expect(await p.cb.call("crdt.peer", "del", "127.0.0.1", String(busA))).toBe(1);
      },
      kill: async () => {
        p.ca.disconnect();
        const exited = new Promise((r) => p.a.proc.once("exit", r));
        process.kill(p.a.proc.pid!, "SIGKILL");
        await exited;
        await p.a.stop();
      },
      restart: async () => {
        p.a = await startServer(argsA, envA, { port: portA, dir: dirA });
        p.ca = await connectClient(portA);
        expect(await p.cb.call("crdt.peer", "add", "127.0.0.1", String(busA))).toBe("OK");
      },
      /** Both nodes show `expected` (from show), and still do after two more anti-entropy rounds of each. */
      settled: async (what: string, show: (r: Redis) => Promise<string>, expected: string) => {
        const both = [p.ca, p.cb];
        await untilReplicated(what, both, async () => (await show(p.ca)) === expected && (await show(p.cb)) === expected,
          { snapshot: async () => (await show(p.ca)) + " / " + (await show(p.cb)) });
        const rounds = await Promise.all(both.map(async (r) => infoNumber(await r.info("crdt"), "crdt_anti_entropy_rounds")));
        await untilReplicated("two more rounds of each node", both, async () =>
          (await Promise.all(both.map(async (r, i) => infoNumber(await r.info("crdt"), "crdt_anti_entropy_rounds") >= rounds[i] + 2))).every(Boolean));
        expect(await show(p.ca)).toBe(expected);
        expect(await show(p.cb)).toBe(expected);
      },
    };
    p.ca = await connectClient(portA);
    p.cb = await connectClient(p.b.port);
    cleanup.push(async () => { p.ca.disconnect(); p.cb.disconnect(); await p.a.stop(); await p.b.stop(); });
    return p;
  };

  it("SWAPDB, then the node killed before its walk ends: each key is where the swap put it, on both nodes", async () => {
    const N = 2000, M = 10;
    const p = await pair("aa-swapcrash", { LATTICEKV_BUGGIFY: "1:crdt-walk-stall=1" });
    const { ca } = p;
    const w = ca.pipeline();
    for (let i = 0; i < N; i++) w.set(`k:${i}`, "v");
    w.select(1);
    for (let i = 0; i < M; i++) w.set(`one:${i}`, "1");
    w.select(0);
    await w.exec();
    await untilReplicated("B holds A's keys", [ca, p.cb], async () => (await p.cb.dbsize()) === N);

    await p.cut();
    await p.cb.set("k:7", "from-b"); // (concurrent with the swap: it stays in db 0)
    expect(await ca.swapdb(0, 1)).toBe("OK");
    // (the walk's next slice is held back: most moves are not recorded yet)
    expect(infoNumber(await ca.info("crdt"), "crdt_walking")).toBe(1);
    await p.kill();
    await p.restart();

    const show = async (r: Redis) => {
      const db0 = [await r.dbsize(), await r.get("k:7"), await r.get("one:3")];
      await r.select(1);
      const db1 = [await r.dbsize(), await r.get("k:7"), await r.get("k:1999"), await r.get("one:3")];
      await r.select(0);
      return JSON.stringify([db0, db1]);
    };
    await p.settled("db 0 holds db 1's keys and B's write, db 1 db 0's keys", show,
      JSON.stringify([[M + 1, "from-b", "1"], [N, "v", "v", null]]));
    // (the db 0 keys the walk had not reached: their file states, recorded as deleted at the load's end)
    expect(infoNumber(await p.ca.info("crdt"), "crdt_loaded_states_deleted")).toBeGreaterThanOrEqual(N - 1000);
  }, 120_000);

  it("keys whose TTL passed while the node was down stay deleted on both nodes; B's later write survives", async () => {
    const p = await pair("aa-downexpiry");
    const { ca } = p;
    for (const k of ["e:1", "e:2", "p:1"]) await ca.set(k, "v");
    await untilReplicated("B holds A's keys", [ca, p.cb], async () => (await p.cb.dbsize()) === 3);

    // (B never hears of the TTLs: without A's delete at the restart, B's live e:2 would come back to A)
    await p.cut();
    expect(await ca.pexpire("e:1", 1500)).toBe(1);
    expect(await ca.pexpire("e:2", 1500)).toBe(1);
    const due = Date.now() + 1500;
    await p.kill();
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now()) + 200));
    await p.cb.set("e:1", "late"); // (B's write after the TTL, which A's file did not see)
    await p.restart();

    const show = async (r: Redis) => JSON.stringify([await r.dbsize(), await r.get("e:1"), await r.get("e:2"), await r.get("p:1"), await r.pttl("e:1")]);
    await p.settled("e:2 deleted, e:1 B's, p:1 A's, on both nodes", show, JSON.stringify([2, "late", null, "v", -1]));
  }, 120_000);
});
