// Three active-active peers for a describe, each peering with the other two, node ids
// `${tag}0`..`${tag}2`. Node 2 ("C") runs from a dir of its own on a fixed port, so restartC()
// starts it again there (a new incarnation; from its files, if it saved any).
import { beforeAll, afterAll } from "vitest";
import type Redis from "ioredis";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient, type RunningServer } from "./server.js";
import { untilReplicated } from "./crdt-wait.js";

/** Started before the describe's tests, stopped (and C's dir removed) after them. extra: flags for every node. */
export function restartableTrio(tag: string, dirName: string, extra: string[] = []) {
  const trio = {
    servers: [] as RunningServer[],
    clients: [] as Redis[],
    bus: [] as number[],
    portC: 0,
    dirC: mkdtempSync(join(tmpdir(), `lkv-aa-${dirName}-`)),
    args: (i: number) => ["--crdt-node-id", `${tag}${i}`, "--crdt-bus-port", String(trio.bus[i]), ...extra,
      ...trio.bus.filter((_, j) => j !== i).flatMap((p) => ["--peer", `127.0.0.1:${p}`])],
    /** Stops C; `meanwhile` runs; C starts again from its dir and port (more: flags for this start), with a new client. */
    restartC: async (meanwhile: () => Promise<void> = async () => {}, more: string[] = []) => {
      trio.clients[2].disconnect();
      await trio.servers[2].stop();
      await meanwhile();
      trio.servers[2] = await startServer([...trio.args(2), ...more], {}, { port: trio.portC, dir: trio.dirC });
      trio.clients[2] = await connectClient(trio.portC);
    },
    /** Waits (untilReplicated) until check holds on every node. */
    everywhere: (what: string, check: (r: Redis) => Promise<boolean>) =>
      untilReplicated(what, trio.clients, async () => (await Promise.all(trio.clients.map(check))).every(Boolean)),
  };
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) trio.bus.push(await freePort());
    trio.portC = await freePort();
    for (let i = 0; i < 3; i++) trio.servers.push(await startServer(trio.args(i), {}, i === 2 ? { port: trio.portC, dir: trio.dirC } : undefined));
    for (const s of trio.servers) trio.clients.push(await connectClient(s.port));
  });
  afterAll(async () => {
    for (const c of trio.clients) c.disconnect();
    for (const s of trio.servers) await s.stop();
    rmSync(trio.dirC, { recursive: true, force: true });
  });
  return trio;
}
