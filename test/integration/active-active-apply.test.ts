// How a node applies a peer's string writes to its keyspace (replicator.ts materialize), seen in
// INFO commandstats, which counts the commands replication runs there as Redis counts those a
// replica runs for its master: a key it held no state for costs one SET ... NX, a key it
// already holds a GET and, when the value differs, a SET; a key of a type that is not
// replicated stays as it is.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";
import { commandCalls } from "../helpers/crdt-wait.js";

describe("active-active: applying a peer's strings (2 processes)", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
  });

  it("a new key costs one SET NX, an overwrite GET and SET, a new hash no DEL, and a stream of the same name stays", async () => {
    const bus = [await freePort(), await freePort()];
    for (let i = 0; i < 2; i++) {
      servers.push(await startServer(["--crdt-node-id", `ap${i}`, "--crdt-bus-port", String(bus[i]), "--peer", `127.0.0.1:${bus[1 - i]}`]));
      clients.push(await connectClient(servers[i].port));
    }
    const [a, b] = clients;
    // A stream on B only (streams are not replicated), under a name A then writes a string to.
    await b.xadd("shared", "*", "f", "v");
    await b.config("RESETSTAT");
    const p = a.pipeline();
    for (let i = 0; i < 100; i++) p.set(`new:${i}`, `v${i}`);
    for (let i = 0; i < 20; i++) p.set(`ttl:${i}`, `t${i}`, "PX", 600_000);
    p.set("shared", "string");
    p.hset("hash", "f", "v");
    await p.exec();
    await until("B applied A's strings and hash", async () => {
      const st = await b.info("commandstats");
      return commandCalls(st, "set") === 121 && commandCalls(st, "hset") === 1;
    });
    let stats = await b.info("commandstats");
    // 121 SET NX, the stream's among them (answered nil: that key alone is then read, with
    // GET twice, WRONGTYPE both times, and left as it is); the hash read as missing with one
    // GET, then written with no DEL before its HSET.
    expect(commandCalls(stats, "get")).toBe(3);
    expect(commandCalls(stats, "del")).toBe(0);
    expect(await b.type("shared")).toBe("stream");
    expect(await b.get("new:7")).toBe("v7");
    expect(await b.pttl("ttl:3")).toBeGreaterThan(500_000);
    expect(await b.exists(...Array.from({ length: 100 }, (_, i) => `new:${i}`), ...Array.from({ length: 20 }, (_, i) => `ttl:${i}`))).toBe(120);

    // Overwrites of keys B holds: each is read back first, then written.
    const q = a.pipeline();
    for (let i = 0; i < 10; i++) q.set(`new:${i}`, `w${i}`);
    await b.config("RESETSTAT");
    await q.exec();
    await until("B applied all ten", async () => commandCalls(await b.info("commandstats"), "set") === 10);
    stats = await b.info("commandstats");
    expect(commandCalls(stats, "get")).toBe(10);
    expect(await b.mget("new:0", "new:5", "new:50")).toEqual(["w0", "w5", "v50"]);
  });
});
