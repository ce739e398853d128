// A pair of active-active processes restarted as a whole group from their files, for the
// group-restart tests (active-active-group-restart.test.ts from RDB files,
// active-active-aof-restart.test.ts from AOFs): the nodes, how they start and stop, what each
// shows of the scenario's keys, and the wait for both to show what the scenario expects.
import { beforeAll, afterAll, expect } from "vitest";
import type Redis from "ioredis";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer, freePort, connectClient, type RunningServer } from "./server.js";
import { untilReplicated, infoNumber } from "./crdt-wait.js";

/**
 * Two nodes, `${tag}0` and `${tag}1`, each the other's peer, each with its own dir and port
 * kept across restarts (start(i) starts node i again from its files); started before the
 * describe's tests, stopped and their dirs removed after them.
 */
export function groupOfTwo(tag: string, extra: string[] = []) {
  const g = {
    servers: [] as RunningServer[],
    clients: [] as Redis[],
    dirs: [0, 1].map((i) => mkdtempSync(join(tmpdir(), `lkv-aa-${tag}${i}-`))),
    ports: [] as number[],
    bus: [] as number[],
    start: async (i: number) => {
      const args = ["--crdt-node-id", `${tag}${i}`, "--crdt-bus-port", String(g.bus[i]), "--peer", `127.0.0.1:${g.bus[1 - i]}`,
        "--crdt-gc-grace-ms", "200", ...extra];
      g.servers[i] = await startServer(args, {}, { port: g.ports[i], dir: g.dirs[i] });
      g.clients[i] = await connectClient(g.ports[i]);
    },
  };
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) { g.ports.push(await freePort()); g.bus.push(await freePort()); }
    for (let i = 0; i < 2; i++) await g.start(i);
  });
  afterAll(async () => {
    for (const c of g.clients) c.disconnect();
    for (const s of g.servers) await s.stop();
    for (const d of g.dirs) rmSync(d, { recursive: true, force: true });
  });
  return g;
}

/** What a node shows of the scenario's keys: x deleted on one node, w written concurrently, counter c, set s, y. */
export const view = async (r: Redis) => JSON.stringify([
  await r.exists("x"), await r.get("w"), await r.get("c"), (await r.smembers("s")).sort(), await r.get("y"),
]);
export const EXPECTED = JSON.stringify([0, "new", "7", ["a-only", "b-only", "m"], "from-a"]);

/**
 * Both nodes show EXPECTED, and still do after two more anti-entropy rounds of each (a key sent
 * back late, by a restarted node's decision about its file, would show by then); none has keys
 * waiting for that decision, nor keys it keeps from its peers.
 */
export async function bothShowExpected(clients: Redis[], what: string): Promise<void> {
  await untilReplicated(what, clients, async () => (await view(clients[0])) === EXPECTED && (await view(clients[1])) === EXPECTED,
    { snapshot: async () => (await view(clients[0])) + (await view(clients[1])) });
  const rounds = await Promise.all(clients.map(async (r) => infoNumber(await r.info("crdt"), "crdt_anti_entropy_rounds")));
  await untilReplicated("two more rounds of each node", clients, async () =>
    (await Promise.all(clients.map(async (r, i) => infoNumber(await r.info("crdt"), "crdt_anti_entropy_rounds") >= rounds[i] + 2))).every(Boolean));
  for (const r of clients) {
    expect(await view(r)).toBe(EXPECTED);
    const info = await r.info("crdt");
    expect([infoNumber(info, "crdt_loaded_keys_pending"), infoNumber(info, "crdt_local_only_keys")]).toEqual([0, 0]);
  }
}

/** Until every node's tombstones are collected. */
export async function untilTombstonesCollected(clients: Redis[]): Promise<void> {
  await untilReplicated("the tombstones collected", clients, async () =>
    (await Promise.all(clients.map(async (r) => infoNumber(await r.info("crdt"), "crdt_tombstones") === 0))).every(Boolean));
}

/**
 * The scenario's writes up to the cut-off: x, w and s written on A, c counted on both (5), all on
 * both nodes; then neither node has the other as a peer (CRDT.PEER DEL both ways: a cut-off
 * link, which also keeps tombstones from being collected).
 */
export async function writeThenCutOff(clients: Redis[], bus: number[]): Promise<void> {
  const [a, b] = clients;
  await a.set("x", "1");
  await a.set("w", "old");
  await a.sadd("s", "m");
  for (let i = 0; i < 3; i++) await a.incr("c");
  for (let i = 0; i < 2; i++) await b.incr("c");
  await untilReplicated("written on both", clients, async () =>
    (await Promise.all(clients.map(async (r) => (await r.get("c")) === "5" && (await r.get("x")) === "1" && (await r.get("w")) === "old" && (await r.sismember("s", "m")) === 1))).every(Boolean));
  expect(await a.call("crdt.peer", "del", "127.0.0.1", String(bus[1]))).toBe(1);
  expect(await b.call("crdt.peer", "del", "127.0.0.1", String(bus[0]))).toBe(1);
}

/** The concurrent writes after the cut-off (B's DEL of x and w comes before, in the test). */
export async function concurrentWrites(clients: Redis[]): Promise<void> {
  const [a, b] = clients;
  await a.incr("c");
  await b.incr("c");
  await a.sadd("s", "a-only");
  await b.sadd("s", "b-only");
  await a.set("y", "from-a");
  expect(await a.get("x")).toBe("1");
  expect(await b.exists("x")).toBe(0);
}
