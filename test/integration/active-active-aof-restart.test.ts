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
import { describe, it, expect } from "vitest";
import { untilReplicated, infoNumber } from "../helpers/crdt-wait.js";
import { groupOfTwo, bothShowExpected, untilTombstonesCollected, writeThenCutOff, concurrentWrites, view, EXPECTED } from "../helpers/group-restart.js";

for (const shape of ["incremental", "preamble"] as const) {
  describe(`active-active: the whole group restarted from its AOFs, ${shape} (2 processes)`, () => {
    const { servers, clients, bus, start } = groupOfTwo(shape === "incremental" ? "ai" : "ap",
      ["--appendonly", "yes", "--appendfsync", shape === "incremental" ? "always" : "everysec"]);
    const stop = async (i: number, kill = false) => {
      clients[i].disconnect();
      if (kill) {
        const exited = new Promise((r) => servers[i].proc.once("exit", r));
        process.kill(servers[i].proc.pid!, "SIGKILL");
        await exited;
      }
      await servers[i].stop();
    };

    it("a key deleted on one node stays deleted, a concurrent write survives, counts from both nodes add up", async () => {
      const [a, b] = clients;
      await writeThenCutOff(clients, bus);
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
      await concurrentWrites(clients);
      for (let i = 0; i < 2; i++) await stop(i, shape === "incremental");

      // both back from their AOFs, each with the other as its peer
      for (let i = 0; i < 2; i++) await start(i);
      for (const r of clients) expect(infoNumber(await r.info("crdt"), "crdt_loaded_states")).toBeGreaterThan(0);
      // (and no key of the file is kept from the peers: replaying the AOF is not a set_repl write)
      await bothShowExpected(clients, "the group to converge after its restart");

      // and once more: what the first restart joined is in these files
      for (let i = 0; i < 2; i++) await stop(i);
      for (let i = 0; i < 2; i++) await start(i);
      await bothShowExpected(clients, "the group to converge after its second restart");
      // x's tombstone came back from B's file and is collected again (the incarnations it names departed)
      await untilTombstonesCollected(clients);
      for (const r of clients) expect(await view(r)).toBe(EXPECTED);
    }, 300_000);
  });
}
