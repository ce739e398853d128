// A node without crdt-node-id makes up its name at its first start and keeps it in dir's
// crdt-node-id file (src/replication/active-active.ts persistedNodeName): a restart is the
// same node to its peers, and two hosts never share a name. The default was node-<port>, so
// nodes on the same port of different hosts were one node to each other and exchanged
// nothing; here two hosts are 127.0.0.2 and 127.0.0.3, on the same client and bus ports.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient, type RunningServer } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

describe("active-active node names without crdt-node-id", () => {
  const servers: RunningServer[] = [];
  const clients: Redis[] = [];
  const dirs: string[] = [];

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    for (const s of servers) await s.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const nameOf = async (c: Redis) => /crdt_node_id:([^\r]+)/.exec(await c.info("crdt"))![1];

  it("two hosts on the same ports get names of their own, replicate, and keep their names across a restart", async () => {
    const port = await freePort(), bus = await freePort();
    const hosts = ["127.0.0.2", "127.0.0.3"];
    const start = async (i: number) => {
      const s = await startServer(["--bind", hosts[i], "--crdt-bus-port", String(bus), "--peer", `${hosts[1 - i]}:${bus}`], {}, { port, dir: dirs[i] });
      servers[i] = s;
      clients[i] = await connectClient(port, { host: hosts[i] });
    };
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), "lkv-node-name-")));
    await start(0);
    await start(1);
    const [a, b] = [await nameOf(clients[0]), await nameOf(clients[1])];
    const [nameA, nameB] = [a.split("~")[0], b.split("~")[0]];
    expect(nameA).toMatch(/^[0-9a-f]{16}$/);
    expect(nameB).toMatch(/^[0-9a-f]{16}$/);
    expect(nameA).not.toBe(nameB);
    expect(readFileSync(join(dirs[0], "crdt-node-id"), "latin1").trim()).toBe(nameA);

    await clients[0].set("from-a", "1");
    await clients[1].set("from-b", "2");
    await until("a's write on b", async () => (await clients[1].get("from-a")) === "1");
    await until("b's write on a", async () => (await clients[0].get("from-b")) === "2");

    // The same dir: the same name, a new incarnation.
    clients[0].disconnect();
    await servers[0].stop();
    await start(0);
    const again = await nameOf(clients[0]);
    expect(again.split("~")[0]).toBe(nameA);
    expect(again).not.toBe(a);
    await until("the restarted node rejoined", async () => (await clients[0].get("from-b")) === "2");
  }, 60_000);
});
