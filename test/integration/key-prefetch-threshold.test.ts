// When the kernel prefetches a pipelined read's keys (assembly/keyspace/prefetch.ts): once the
// process's dataset is 2 MiB or more, each shard estimating it as its own dataset times the
// shard count (so with 4 shards a shard of ~1 MiB prefetches), and not below. Runs in both
// vitest projects; INFO kernel's kernel_prefetched_reads counts the reads (and hand-off lists)
// prefetched, summed over the shards.
import { it, expect } from "vitest";
import Redis from "ioredis";
import { useServer, rawExchange, SHARDS, type RunningServer } from "../helpers/server.js";
import { spreadKeys } from "../helpers/spread-keys.js";

let srv: RunningServer;
let r: Redis;
useServer((s, c) => { srv = s; r = c; });

const bulk = (v: string) => `$${v.length}\r\n${v}\r\n`;
const cmd = (...argv: string[]) => `*${argv.length}\r\n${argv.map(bulk).join("")}`;

/** Keys of the small dataset: over 1024 in each of 4 shards (prefetch.ts MIN_KEYS), ~0.4 MB in all. */
const KEYS = 6000;

async function prefetchedReads(): Promise<number> {
  return Number(/kernel_prefetched_reads:(\d+)/.exec(await r.info("kernel"))![1]);
}

/** 16 GETs of distinct keys in one read (in every shard: none is a one-key pipeline). */
async function readSixteen(from: number): Promise<void> {
  let req = "";
  let want = "";
  for (let i = from; i < from + 16; i++) {
    req += cmd("GET", `pt:${i}`);
    want += bulk(`v${i}`);
  }
  const { text } = await rawExchange(srv.port, req, { until: (t) => t.length >= want.length, timeoutMs: 10_000 });
  expect(text === want).toBe(true);
}

async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await r.info("memory"))![1]);
}

it("prefetches from a 2 MiB dataset, counted over all shards, and not below", async () => {
  const p = r.pipeline();
  for (let i = 0; i < KEYS; i++) p.set(`pt:${i}`, `v${i}`);
  await p.exec();
  const before = await prefetchedReads();
  await readSixteen(0);
  await readSixteen(100);
  expect(await prefetchedReads()).toBe(before);

  // 3.2 MB more, spread over the four quarters of the slot space: with 4 shards each holds
  // ~0.9 MB, under 2 MiB alone and over it times 4.
  for (const k of spreadKeys("pt:big", 4)) await r.set(k, "b".repeat(200_000));
  const used = await usedMemory();
  expect(used).toBeGreaterThan(2 * 2 ** 20);
  expect(used).toBeLessThan(16 * 2 ** 20);
  const mid = await prefetchedReads();
  await readSixteen(0);
  await readSixteen(100);
  const after = await prefetchedReads();
  expect(after).toBeGreaterThan(mid);
  // One shard: the two reads; four: each owner's hand-off list of two or more commands.
  if (SHARDS === 1) expect(after).toBe(mid + 2);

  // Below 2 MiB again: not prefetched.
  for (const k of spreadKeys("pt:big", 4)) await r.del(k);
  const last = await prefetchedReads();
  await readSixteen(0);
  expect(await prefetchedReads()).toBe(last);
});
