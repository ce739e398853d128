// Every node of a group restarted from its AOF at once (issue #7: "never the KeyDB failure mode
// where a deleted key comes back"), as active-active-group-restart.test.ts does from RDB files.
// An AOF's commands say what the keys hold, not what the node knew: without the keys' CRDT
// state in the AOF, the restarted nodes converged on the union of their files, so a key one
// node deleted came back from the AOF of the node that had not seen the delete, and a counter
// incremented on both nodes came back as one node's value. The AOF now carries that state
// (src/replication/saved-state.ts): the RDB preamble of a rewrite holds the state of its
// snapshot, and the incr file a `#CRDT` annotation per batch of writes after the commands.
//
// Two real processes, each with its own dir, appendonly yes and no RDB save points. The nodes
// stop exchanging (CRDT.PEER DEL both ways: a cut-off link, which also keeps tombstones from
// being collected), write concurrently, and both stop; then both start from their AOFs with
// their peer configured, and the group restarts once more (what the first restart joined is
// in the files by then). Two AOF shapes:
// - incremental: no rewrite since the first start, appendfsync always, both killed with
//   SIGKILL (the state of every acknowledged write is in the file);
// - preamble: a BGREWRITEAOF on both after the delete (its base holds the tombstone and the
//   first counts), the later writes in the incr file after it, a clean shutdown.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { untilReplicated, infoNumber } from "../helpers/crdt-wait.js";

for (const shape of ["incremental", "preamble"] as const) {
  describe(`active-active: the whole group restarted from its AOFs, ${shape} (2 processes)`, () => {
    const servers: RunningServer[] = [];
    const clients: Redis[] = [];
    const dirs = [0, 1].map((i) => mkdtempSync(join(tmpdir(), `lkv-aa-aof${i}-`)));
    const ports: number[] = [];
    const bus: number[] = [];
    const args = (i: number) => ["--crdt-node-id", `ar${i}`, "--crdt-bus-port", String(bus[i]), "--peer", `127.0.0.1:${bus[1 - i]}`,
      "--crdt-gc-grace-ms", "200", "--appendonly", "yes", "--appendfsync", shape === "incremental" ? "always" : "everysec"];
    const start = async (i: number) => {
      servers[i] = await startServer(args(i), {}, { port: ports[i], dir: dirs[i] });
      clients[i] = await connectClient(ports[i]);
    };
    const stop = async (i: number, kill = false) => {
      clients[i].disconnect();
      if (kill) {
        const exited = new Promise((r) => servers[i].proc.once("exit", r));
        process.kill(servers[i].proc.pid!, "SIGKILL");
        await exited;
      }
      await servers[i].stop();
    };

    beforeAll(async () => {
      for (let i = 0; i < 2; i++) { ports.push(await freePort()); bus.push(await freePort()); }
      for (let i = 0; i < 2; i++) await start(i);
    });

    afterAll(async () => {
      for (const c of clients) c.disconnect();
      for (const s of servers) await s.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    /** What a node shows of the test's keys. */
    const view = async (r: Redis) => JSON.stringify([
      await r.exists("x"), await r.get("w"), await r.get("c"), (await r.smembers("s")).sort(), await r.get("y"),
    ]);
    const expected = JSON.stringify([0, "new", "7", ["a-only", "b-only", "m"], "from-a"]);

    /** Both nodes show the expected keys, and still do after two more anti-entropy rounds of each. */
    async function bothShowExpected(what: string): Promise<void> {
      await untilReplicated(what, clients, async () => (await view(clients[0])) === expected && (await view(clients[1])) === expected,
        { snapshot: async () => (await view(clients[0])) + (await view(clients[1])) });
      // (a key sent back late, by a restarted node's decision about its file, would show by now)
      const rounds = await Promise.all(clients.map(async (r) => infoNumber(await r.info("crdt"), "crdt_anti_entropy_rounds")));
      await untilReplicated("two more rounds of each node", clients, async () =>
        (await Promise.all(clients.map(async (r, i) => infoNumber(await r.info("crdt"), "crdt_anti_entropy_rounds") >= rounds[i] + 2))).every(Boolean));
      for (const r of clients) {
        expect(await view(r)).toBe(expected);
        const info = await r.info("crdt");
        // (and no key of the file is kept from the peers: replaying the AOF is not a set_repl write)
        expect([infoNumber(info, "crdt_loaded_keys_pending"), infoNumber(info, "crdt_local_only_keys")]).toEqual([0, 0]);
      }
    }

    it("a key deleted on one node stays deleted, a concurrent write survives, counts from both nodes add up", async () => {
      const [a, b] = clients;
      await a.set("x", "1");
      await a.set("w", "old");
      await a.sadd("s", "m");
      for (let i = 0; i < 3; i++) await a.incr("c");
      for (let i = 0; i < 2; i++) await b.incr("c");
      await untilReplicated("written on both", clients, async () =>
        (await Promise.all(clients.map(async (r) => (await r.get("c")) === "5" && (await r.get("x")) === "1" && (await r.get("w")) === "old" && (await r.sismember("s", "m")) === 1))).every(Boolean));

      // cut off: neither node has the other as a peer any more
      expect(await a.call("crdt.peer", "del", "127.0.0.1", String(bus[1]))).toBe(1);
      expect(await b.call("crdt.peer", "del", "127.0.0.1", String(bus[0]))).toBe(1);
      // B deletes x (A still holds it) and w; A writes w concurrently
      await b.del("x", "w");
      await a.set("w", "new");
      if (shape === "preamble") {
        for (const r of clients) expect(await r.bgrewriteaof()).toMatch(/rewriting started/);
        await untilReplicated("the rewrites done", clients, async () =>
          (await Promise.all(clients.map(async (r) => /aof_rewrite_in_progress:0/.test(await r.info("persistence"))))).every(Boolean));
        for (const r of clients) expect(await r.info("persistence")).toMatch(/aof_last_bgrewrite_status:ok/);
      }
      // both count and add members (after the rewrite: in the incr file)
      await a.incr("c");
      await b.incr("c");
      await a.sadd("s", "a-only");
      await b.sadd("s", "b-only");
      await a.set("y", "from-a");
      expect(await a.get("x")).toBe("1");
      expect(await b.exists("x")).toBe(0);
      for (let i = 0; i < 2; i++) await stop(i, shape === "incremental");

      // both back from their AOFs, each with the other as its peer
      for (let i = 0; i < 2; i++) await start(i);
      for (const r of clients) expect(infoNumber(await r.info("crdt"), "crdt_loaded_states")).toBeGreaterThan(0);
      await bothShowExpected("the group to converge after its restart");

      // and once more: what the first restart joined is in these files
      for (let i = 0; i < 2; i++) await stop(i);
      for (let i = 0; i < 2; i++) await start(i);
      await bothShowExpected("the group to converge after its second restart");
      // x's tombstone came back from B's file and is collected again (the incarnations it names departed)
      await untilReplicated("the tombstones collected", clients, async () =>
        (await Promise.all(clients.map(async (r) => infoNumber(await r.info("crdt"), "crdt_tombstones") === 0))).every(Boolean));
      for (const r of clients) expect(await view(r)).toBe(expected);
    }, 300_000);
  });
}
