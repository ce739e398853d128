// maxmemory and the shared replication buffer (Redis's freeMemoryGetNotCountedMemory): eviction
// counts the buffer up to repl-backlog-size and leaves out what a lagging replica holds beyond
// it (INFO mem_not_counted_for_evict), so writes fed to a stopped replica evict no keys while
// the backlog itself does count.
import { describe, it, expect, afterAll } from "vitest";
import type Redis from "ioredis";
import { serverGroup } from "../helpers/server.js";
import { until } from "../helpers/wait.js";

const num = async (r: Redis, name: string) => Number((await r.info()).match(new RegExp(`^${name}:(.*)$`, "m"))?.[1]);

describe("maxmemory and the replication buffer", { timeout: 90_000 }, () => {
  const servers = serverGroup(["--repl-diskless-sync-delay", "0"]);
  afterAll(() => servers.stopAll());

  async function setup(backlog: string) {
    const { r: m, srv: msrv } = await servers.start();
    for (let j = 0; j < 100; j++) await m.setrange(`key:${j}`, 10000, "asdf");
    await m.config("SET", "maxmemory-policy", "allkeys-random");
    await m.config("SET", "client-output-buffer-limit", "replica 0 0 0");
    await m.config("SET", "repl-backlog-size", backlog);
    const { r: s, srv: ssrv } = await servers.start();
    await s.replicaof("127.0.0.1", String(msrv.port));
    await until("link up", async () => (await s.info("replication")).includes("master_link_status:up"));
    const counted = (await num(m, "used_memory")) - (await num(m, "mem_not_counted_for_evict"));
    return { m, ssrv, counted };
  }

  it("what a stopped replica holds beyond repl-backlog-size evicts no keys", async () => {
    const { m, ssrv, counted } = await setup("16384");
    await m.config("SET", "maxmemory", String(counted + 64 * 1024));
    process.kill(ssrv.proc.pid!, "SIGSTOP");
    try {
      // Some megabytes go into the sockets' kernel buffers; the rest waits in ours. One
      // command at a time (as Redis's test with eviction on), so no query buffer piles up.
      const value = "A".repeat(10000);
      for (let k = 0; k < 2500; k++) await m.setrange("key:0", 0, value); // 25 MB: the kernel buffers take some MB
      expect(await m.dbsize()).toBe(100);
      expect(await num(m, "evicted_keys")).toBe(0);
      const info = await m.info("memory");
      const slaves = Number(/mem_clients_slaves:(\d+)/.exec(info)![1]);
      expect(slaves).toBeGreaterThan(1024 * 1024);
      expect(Number(/mem_not_counted_for_evict:(\d+)/.exec(info)![1])).toBe(slaves);
    } finally {
      process.kill(ssrv.proc.pid!, "SIGCONT");
    }
  });

  it("the backlog itself counts, up to repl-backlog-size", async () => {
    const { m, counted } = await setup("1mb");
    await m.config("SET", "maxmemory", String(counted + 256 * 1024));
    const value = "A".repeat(10000);
    for (let k = 0; k < 250; k++) await m.setrange("key:0", 0, value); // no query buffer piles up
    expect(await num(m, "repl_backlog_histlen")).toBeGreaterThan(900 * 1024);
    expect(await num(m, "evicted_keys")).toBeGreaterThan(0);
  });
});
