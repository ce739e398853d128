// Cluster mode's per-slot key counts and index (assembly/cluster/slot-index.ts): CLUSTER
// COUNTKEYSINSLOT and GETKEYSINSLOT agree with the keyspace after every way a key comes and
// goes (writes, DEL, RENAME, expiry, RESTORE, lists, FLUSHALL), and the commands that would
// move keys between databases are refused in cluster mode as in Redis.
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

describe("cluster mode: keys per slot", () => {
  let srv: RunningServer;
  let r: Redis;
  beforeAll(async () => {
    srv = await startServer(["--cluster-enabled", "yes", "--cluster-port", String(await freePort())]);
    r = await connectClient(srv.port, { protocol: 2 } as never);
  });
  afterAll(async () => {
    r?.disconnect();
    await srv?.stop();
  });

  /** Every slot's keys by brute force (KEYS + CLUSTER KEYSLOT) against the index. */
  async function expectIndexMatchesKeyspace(): Promise<void> {
    const bySlot = new Map<number, string[]>();
    for (const k of await r.keys("*")) {
      const s = Number(await r.call("cluster", "keyslot", k));
      bySlot.set(s, [...(bySlot.get(s) ?? []), k]);
    }
    for (const [slot, keys] of bySlot) {
      expect(await r.call("cluster", "countkeysinslot", slot)).toBe(keys.length);
      const got = (await r.call("cluster", "getkeysinslot", slot, 1000)) as string[];
      expect([...got].sort()).toEqual([...keys].sort());
    }
  }

  it("counts keys per slot through writes, deletes, renames, expiry, RESTORE and FLUSHALL", async () => {
    expect(await r.call("cluster", "addslotsrange", "0", "16383")).toBe("OK");
    // A master turns its state ok no sooner than 2 s after starting, as Redis's clusterUpdateState.
    await until("cluster_state:ok", async () => String(await r.call("cluster", "info")).includes("cluster_state:ok"));
    expect(await r.call("cluster", "countkeysinslot", 0)).toBe(0);
    expect(await r.call("cluster", "getkeysinslot", 0, 10)).toEqual([]);
    for (let i = 0; i < 200; i++) await r.set(`k${i}`, "v");
    for (let i = 0; i < 30; i++) await r.set(`{tag}${i}`, "v");
    await r.rpush("{tag}list", "a");
    await r.hset("{tag}hash", "f", "v");
    await expectIndexMatchesKeyspace();
    const tagSlot = Number(await r.call("cluster", "keyslot", "{tag}"));
    expect(await r.call("cluster", "countkeysinslot", tagSlot)).toBe(32);
    expect(await r.call("cluster", "getkeysinslot", tagSlot, 5)).toHaveLength(5);

    for (let i = 0; i < 50; i++) await r.del(`k${i}`);
    await r.rename("{tag}0", "{tag}renamed");
    await r.lpop("{tag}list"); // the list's last element: the key goes
    await r.set("{tag}short", "v", "PX", 1);
    await new Promise((res) => setTimeout(res, 20));
    expect(await r.get("{tag}short")).toBeNull(); // reclaimed on access
    const dump = (await r.callBuffer("dump", "k60")) as Buffer;
    await r.del("k60");
    await r.call("restore", "k60", "0", dump);
    await expectIndexMatchesKeyspace();
    expect(await r.call("cluster", "countkeysinslot", tagSlot)).toBe(31);

    await r.flushall();
    expect(await r.call("cluster", "countkeysinslot", tagSlot)).toBe(0);
    expect(await r.call("cluster", "getkeysinslot", tagSlot, 10)).toEqual([]);
  });

  it("GETKEYSINSLOT returns exactly a big slot's keys while the dict grows, shrinks and after FLUSHALL", async () => {
    const slot = Number(await r.call("cluster", "keyslot", "{big}"));
    const p = r.pipeline();
    for (let i = 0; i < 3000; i++) p.set(`{big}${i}`, "v");
    for (let i = 0; i < 3000; i++) p.set(`other${i}`, "v");
    await p.exec();
    const all = (await r.call("cluster", "getkeysinslot", slot, 10_000)) as string[];
    expect(all).toHaveLength(3000);
    expect(new Set(all).size).toBe(3000);
    expect(all.every((k) => k.startsWith("{big}"))).toBe(true);
    const d = r.pipeline();
    for (let i = 0; i < 3000; i += 2) d.del(`{big}${i}`);
    for (let i = 0; i < 3000; i++) d.del(`other${i}`);
    await d.exec();
    const left = (await r.call("cluster", "getkeysinslot", slot, 10_000)) as string[];
    expect([...left].sort()).toEqual(Array.from({ length: 1500 }, (_, j) => `{big}${2 * j + 1}`).sort());
    expect(await r.call("cluster", "countkeysinslot", slot)).toBe(1500);
    await r.flushall();
    expect(await r.call("cluster", "getkeysinslot", slot, 10)).toEqual([]);
    await r.set("{big}again", "v");
    expect(await r.call("cluster", "getkeysinslot", slot, 10)).toEqual(["{big}again"]);
    await r.flushall();
  });

  it("MEMORY STATS counts the slot index's bytes under db.0's slot-to-keys, growing with the keys", async () => {
    const slotToKeys = async () => {
      const flat = (await r.call("memory", "stats")) as unknown[];
      const db0 = flat[flat.indexOf("db.0") + 1] as unknown[];
      return db0[db0.indexOf("overhead.hashtable.slot-to-keys") + 1] as number;
    };
    await r.flushall();
    await r.set("one", "v");
    const small = await slotToKeys();
    expect(small).toBeGreaterThan(0);
    const p = r.pipeline();
    for (let i = 0; i < 5000; i++) p.set(`many${i}`, "v");
    await p.exec();
    expect(await slotToKeys()).toBeGreaterThan(small + 5000 * 4);
    await r.flushall();
  });

  it("refuses MOVE, SWAPDB and COPY to another db, as Redis in cluster mode", async () => {
    await r.set("{x}a", "1");
    await expect(r.call("move", "{x}a", "1")).rejects.toThrow("MOVE is not allowed in cluster mode");
    await expect(r.call("swapdb", "0", "1")).rejects.toThrow("SWAPDB is not allowed in cluster mode");
    await expect(r.call("copy", "{x}a", "{x}b", "db", "1")).rejects.toThrow("Copying to another database is not allowed in cluster mode");
    expect(await r.call("copy", "{x}a", "{x}b")).toBe(1);
  });
});
