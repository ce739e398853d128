// BullMQ (its Lua scripts: cmsgpack, cjson, priorities as large numbers, streams with
// XADD/XREAD BLOCK, markers in zsets) run against our server as against Redis: a queue with
// plain, prioritized, delayed, retried and bulk jobs, a flow (parent waiting on a child), and
// QueueEvents reading the events stream. The priority case failed before Lua read
// 0x100000000 as 2^32 (fengari wrapped it at 32 bits).
import { describe, it, expect, afterAll } from "vitest";
import { Queue, Worker, QueueEvents, FlowProducer, type Job } from "bullmq";
import { startServer, type RunningServer } from "../helpers/server.js";

describe("BullMQ", () => {
  let srv: RunningServer | undefined;
  const closers: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await srv?.stop();
  });

  it("processes plain, prioritized, delayed, retried, bulk and flow jobs, with events", async () => {
    srv = await startServer();
    const connection = { host: "127.0.0.1", port: srv.port, maxRetriesPerRequest: null };
    const queue = new Queue("jobs", { connection });
    closers.push(() => queue.close());
    const events = new QueueEvents("jobs", { connection });
    closers.push(() => events.close());
    await events.waitUntilReady();
    const completedEvents = new Set<string>();
    events.on("completed", ({ jobId }) => completedEvents.add(jobId));

    // Added before any worker runs, so the order they are taken in is BullMQ's: the wait
    // list first, then prioritized jobs by priority (1 is the highest).
    await queue.add("p3", { n: 3 }, { priority: 3 });
    await queue.add("p1", { n: 1 }, { priority: 1 });
    await queue.add("plain", { n: 0 });
    await queue.add("p2", { n: 2 }, { priority: 2 });
    await queue.add("later", { n: 4 }, { delay: 300 });
    await queue.add("flaky", { n: 5 }, { attempts: 2, backoff: { type: "fixed", delay: 50 } });
    await queue.addBulk([{ name: "bulk1", data: { n: 6 } }, { name: "bulk2", data: { n: 7 } }]);
    expect(await queue.getJobCounts("waiting", "prioritized", "delayed")).toMatchObject({ waiting: 4, prioritized: 3, delayed: 1 });

    const order: string[] = [];
    const worker = new Worker("jobs", async (job: Job) => {
      order.push(job.name);
      if (job.name === "flaky") throw new Error(`attempt ${job.attemptsMade + 1} failed`);
      return job.data.n * 10;
    }, { connection, concurrency: 1 });
    closers.push(() => worker.close());
    const finished: Promise<void> = new Promise((resolve) => {
      let left = 9; // 8 jobs, the flaky one twice
      const tick = () => { if (--left === 0) resolve(); };
      worker.on("completed", tick);
      worker.on("failed", tick);
    });
    await finished;

    // What does not depend on timing: the wait list in the order it was filled, then the
    // prioritized jobs by priority (the delayed job and the retry join when they are due).
    expect(order.slice(0, 4)).toEqual(["plain", "flaky", "bulk1", "bulk2"]);
    expect(order.filter((n) => /^p\d$/.test(n))).toEqual(["p1", "p2", "p3"]);
    expect(order.filter((n) => n === "flaky")).toHaveLength(2);
    expect(order).toContain("later");
    const failed = await queue.getFailed();
    expect(failed.map((j) => [j.name, j.attemptsMade, j.failedReason])).toEqual([["flaky", 2, "attempt 2 failed"]]);
    const completed = await queue.getCompleted();
    expect(Object.fromEntries(completed.map((j) => [j.name, j.returnvalue]))).toEqual(
      { plain: 0, p1: 10, p2: 20, p3: 30, later: 40, bulk1: 60, bulk2: 70 });

    // A flow: the parent runs only after its child completed, and sees its result.
    const flow = new FlowProducer({ connection });
    closers.push(() => flow.close());
    const flowWorker = new Worker("flow", async (job: Job) => {
      if (job.name === "child") return "child-result";
      return Object.values(await job.getChildrenValues());
    }, { connection });
    closers.push(() => flowWorker.close());
    const parentResult = new Promise<unknown>((resolve) => flowWorker.on("completed", (job, rv) => { if (job.name === "parent") resolve(rv); }));
    await flow.add({ name: "parent", queueName: "flow", children: [{ name: "child", queueName: "flow", data: {} }] });
    expect(await parentResult).toEqual(["child-result"]);

    // QueueEvents saw every completion through the events stream (XREAD BLOCK).
    for (let i = 0; i < 100 && completedEvents.size < 7; i++) await new Promise((r) => setTimeout(r, 50));
    expect(completedEvents.size).toBe(7);
    expect(await queue.getJobCounts("completed", "failed", "waiting", "delayed", "active", "prioritized"))
      .toMatchObject({ completed: 7, failed: 1, waiting: 0, delayed: 0, active: 0, prioritized: 0 });
  }, 60_000);
});
