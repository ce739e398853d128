// redis.set_repl inside a script (src/server/effects.ts propagateTo): the writes after
// set_repl(REPL_NONE) reach neither the replicas nor the AOF, after REPL_AOF only the AOF,
// after REPL_ALL both; the master itself has them all. As Tcl unit/scripting's "Test
// selective replication of certain Redis commands from Lua".
import { describe, it, expect } from "vitest";
import { startServer, connectClient } from "../helpers/server.js";

async function waitFor(what: string, cond: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("redis.set_repl", () => {
  it("keeps REPL_NONE writes from the replica and the AOF, and REPL_AOF writes from the replica", async () => {
    const master = await startServer(["--appendonly", "yes", "--enable-debug-command", "yes"]);
    const replica = await startServer([]);
    const m = await connectClient(master.port);
    const r = await connectClient(replica.port);
    try {
      expect(await r.replicaof("127.0.0.1", String(master.port))).toBe("OK");
      await waitFor("the replica to sync", async () => (await r.info("replication")).includes("master_link_status:up"));
      await m.eval(`
        redis.call('set','a','1');
        redis.set_repl(redis.REPL_NONE);
        redis.call('set','b','2');
        redis.set_repl(redis.REPL_AOF);
        redis.call('set','c','3');
        redis.set_repl(redis.REPL_ALL);
        redis.call('set','d','4');`, 0);
      // A later write after the script reaches the replica as usual: once it is there, so is
      // everything before it that was meant for the replica.
      await m.set("done", "1");
      await waitFor("the write after the script", async () => (await r.get("done")) === "1");
      expect(await r.mget("a", "b", "c", "d")).toEqual(["1", null, null, "4"]);
      expect(await m.mget("a", "b", "c", "d")).toEqual(["1", "2", "3", "4"]);
      // The next script propagates everywhere again (set_repl lasts one script).
      await m.eval("redis.call('set','e','5')", 0);
      await waitFor("the next script's write", async () => (await r.get("e")) === "5");
      // Reloading the AOF: b was never written to it.
      expect(await m.call("debug", "loadaof")).toBe("OK");
      expect(await m.mget("a", "b", "c", "d", "e")).toEqual(["1", null, "3", "4", "5"]);
    } finally {
      m.disconnect();
      r.disconnect();
      await replica.stop();
      await master.stop();
    }
  });
});
