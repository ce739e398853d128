// What scripts and functions send to replicas and the AOF. redis.set_repl inside a script
// (src/server/effects.ts propagateTo): the writes after set_repl(REPL_NONE) reach neither the
// replicas nor the AOF, after REPL_AOF only the AOF, after REPL_ALL both; the master itself
// has them all (Tcl unit/scripting's "Test selective replication of certain Redis commands
// from Lua"). FUNCTION LOAD / DELETE / FLUSH / RESTORE propagate like writes (Tcl
// unit/functions' "creation is replicated to replica" and the ones after it).
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

  it("FUNCTION LOAD, RESTORE, DELETE and FLUSH reach the replica and the AOF", async () => {
    const master = await startServer(["--appendonly", "yes", "--enable-debug-command", "yes"]);
    const replica = await startServer([]);
    const m = await connectClient(master.port);
    const r = await connectClient(replica.port);
    // no-writes: a replica (read-only) runs only functions flagged so, as Redis 7.0 does
    // (a flagless one gets -READONLY there).
    const lib = (name: string) => `#!lua name=${name}\nredis.register_function{function_name='${name}f', callback=function() return '${name}' end, flags={'no-writes'}}`;
    const names = async (c: typeof m) => ((await c.call("function", "list")) as unknown[][]).map((l) => String(l[1])).sort();
    try {
      expect(await r.replicaof("127.0.0.1", String(master.port))).toBe("OK");
      await waitFor("the replica to sync", async () => (await r.info("replication")).includes("master_link_status:up"));
      expect(await m.call("function", "load", lib("one"))).toBe("one");
      await waitFor("FUNCTION LOAD on the replica", async () => (await names(r)).includes("one"));
      expect(await r.call("fcall", "onef", "0")).toBe("one");
      expect(await r.call("fcall_ro", "onef", "0")).toBe("one");
      expect(await m.call("function", "load", "#!lua name=w\nredis.register_function('wf', function() return 1 end)")).toBe("w");
      await waitFor("the flagless library on the replica", async () => (await names(r)).includes("w"));
      await expect(r.call("fcall", "wf", "0")).rejects.toThrow("READONLY You can't write against a read only replica.");
      expect(await m.call("function", "delete", "w")).toBe("OK");
      // RESTORE of a dump that holds "two" (made on the master after loading it, then deleted).
      expect(await m.call("function", "load", lib("two"))).toBe("two");
      const dump = await m.callBuffer("function", "dump");
      expect(await m.call("function", "delete", "two")).toBe("OK");
      await waitFor("FUNCTION DELETE on the replica", async () => !(await names(r)).includes("two"));
      expect(await m.call("function", "restore", dump, "replace")).toBe("OK");
      await waitFor("FUNCTION RESTORE on the replica", async () => (await names(r)).includes("two"));
      expect(await names(r)).toEqual(["one", "two"]);
      // The AOF replays them too.
      expect(await m.call("debug", "loadaof")).toBe("OK");
      expect(await names(m)).toEqual(["one", "two"]);
      expect(await m.call("function", "flush")).toBe("OK");
      await waitFor("FUNCTION FLUSH on the replica", async () => (await names(r)).length === 0);
    } finally {
      m.disconnect();
      r.disconnect();
      await replica.stop();
      await master.stop();
    }
  });
});
